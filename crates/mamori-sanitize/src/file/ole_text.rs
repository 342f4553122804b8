//! Text out of legacy Word and PowerPoint documents (97-2003), for the policy that turns a
//! document it cannot rebuild (macros, embedded objects) into plain text instead of blocking it.
//! Only text is read — formatting, objects, fields' instructions and macros never reach the
//! output. Every offset comes from the hostile file, so each read is bounds-checked and the
//! output is capped.

/// Largest text produced from one document, in bytes.
pub(super) const MAX_TEXT: usize = 64 * 1024 * 1024;

/// `N` bytes at `at`, if they are all there.
pub(super) fn bytes_at<const N: usize>(data: &[u8], at: usize) -> Option<[u8; N]> {
    data.get(at..)?.first_chunk::<N>().copied()
}

pub(super) fn u16_at(data: &[u8], at: usize) -> Option<u16> {
    bytes_at(data, at).map(u16::from_le_bytes)
}

pub(super) fn u32_at(data: &[u8], at: usize) -> Option<u32> {
    bytes_at(data, at).map(u32::from_le_bytes)
}

/// UTF-16LE text (an odd last byte is ignored, unpaired surrogates become U+FFFD).
fn utf16le(bytes: &[u8]) -> String {
    let units = bytes
        .chunks_exact(2)
        .filter_map(|c| c.first_chunk::<2>())
        .map(|pair| u16::from_le_bytes(*pair));
    char::decode_utf16(units)
        .map(|c| c.unwrap_or('\u{fffd}'))
        .collect()
}

/// The name of the table stream a Word document keeps its piece table in (`fWhichTblStm`).
pub(super) fn word_table_stream(word_document: &[u8]) -> &'static str {
    match u16_at(word_document, 0x0A) {
        Some(flags) if flags & 0x0200 != 0 => "1Table",
        _ => "0Table",
    }
}

/// The main text of a Word 97-2003 document from its `WordDocument` stream and its table stream
/// (see [`word_table_stream`]), read through the piece table. `None` when the streams do not hold
/// a Word 97 or later document.
pub(super) fn word_text(word_document: &[u8], table: &[u8]) -> Option<String> {
    let wd = word_document;
    // FIB: wIdent, then the counts that fix where fcClx sits in a Word 97 or later FIB.
    if u16_at(wd, 0)? != 0xA5EC || u16_at(wd, 0x20)? < 0x000E || u16_at(wd, 0x3E)? < 0x0016 {
        return None;
    }
    if u16_at(wd, 0x98)? < 0x005D {
        return None;
    }
    let ccp_text = usize::try_from(u32_at(wd, 0x4C)?).ok()?;
    let fc_clx = usize::try_from(u32_at(wd, 0x1A2)?).ok()?;
    let lcb_clx = usize::try_from(u32_at(wd, 0x1A6)?).ok()?;
    let clx = table.get(fc_clx..fc_clx.checked_add(lcb_clx)?)?;
    let plc = piece_table(clx)?;
    // PlcPcd: n + 1 character positions, then n piece descriptors of 8 bytes.
    let n = plc.len().checked_sub(4)? / 12;
    let mut raw = String::new();
    for i in 0..n {
        let cp_start = usize::try_from(u32_at(plc, i * 4)?).ok()?;
        let cp_end = usize::try_from(u32_at(plc, (i + 1) * 4)?).ok()?;
        if cp_start >= ccp_text || raw.len() >= MAX_TEXT {
            break;
        }
        let len = cp_end.min(ccp_text).saturating_sub(cp_start);
        let fc_raw = u32_at(plc, (n + 1) * 4 + i * 8 + 2)?;
        let compressed = fc_raw & 0x4000_0000 != 0;
        let fc = usize::try_from(fc_raw & 0x3FFF_FFFF).ok()?;
        if compressed {
            // 8-bit text at fc / 2 (Windows-1252).
            let start = fc / 2;
            let bytes = wd.get(start..start.saturating_add(len).min(wd.len()))?;
            raw.push_str(
                &encoding_rs::WINDOWS_1252
                    .decode_without_bom_handling(bytes)
                    .0,
            );
        } else {
            let bytes = wd.get(fc..fc.saturating_add(len.saturating_mul(2)).min(wd.len()))?;
            raw.push_str(&utf16le(bytes));
        }
    }
    Some(word_plain(&raw))
}

/// The `PlcPcd` inside a CLX: property runs (`Prc`, 0x01) come first, then the piece table
/// (`Pcdt`, 0x02).
fn piece_table(clx: &[u8]) -> Option<&[u8]> {
    let mut pos = 0usize;
    loop {
        match clx.get(pos)? {
            0x01 => {
                let cb = usize::from(u16_at(clx, pos + 1)?);
                pos = pos.checked_add(3)?.checked_add(cb)?;
            }
            0x02 => {
                let lcb = usize::try_from(u32_at(clx, pos + 1)?).ok()?;
                let start = pos.checked_add(5)?;
                return clx.get(start..start.checked_add(lcb)?);
            }
            _ => return None,
        }
    }
}

/// Word's special characters as plain text: paragraph and line marks become line ends, table
/// cell marks tabs; a field keeps its result and loses its instruction (where DDE and other
/// commands live); object anchors and other controls are dropped.
fn word_plain(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    // One entry per open field: true while inside its instruction.
    let mut fields: Vec<bool> = Vec::new();
    for c in raw.chars() {
        match c {
            '\u{13}' => {
                fields.push(true);
                continue;
            }
            '\u{14}' => {
                if let Some(top) = fields.last_mut() {
                    *top = false;
                }
                continue;
            }
            '\u{15}' => {
                fields.pop();
                continue;
            }
            _ => {}
        }
        if fields.iter().any(|in_instruction| *in_instruction) {
            continue;
        }
        match c {
            '\r' | '\u{0b}' | '\u{0c}' => out.push('\n'),
            '\u{07}' => out.push('\t'),
            '\u{1e}' => out.push('-'),
            '\t' | '\n' => out.push(c),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// The text of a PowerPoint 97-2003 `PowerPoint Document` stream: every text atom of the slides
/// and notes in stream order, one paragraph per line. Master slides and handouts (template
/// placeholders) are skipped.
pub(super) fn powerpoint_text(stream: &[u8]) -> String {
    const MAIN_MASTER: u16 = 0x03F8;
    const HANDOUT: u16 = 0x0FC9;
    const TEXT_CHARS_ATOM: u16 = 0x0FA0;
    const TEXT_BYTES_ATOM: u16 = 0x0FA8;
    let mut out = String::new();
    let mut pos = 0usize;
    while let (Some(ver_inst), Some(kind), Some(len)) = (
        u16_at(stream, pos),
        u16_at(stream, pos + 2),
        u32_at(stream, pos + 4),
    ) {
        let len = usize::try_from(len).unwrap_or(usize::MAX);
        let body_start = pos + 8;
        let body_end = body_start.saturating_add(len).min(stream.len());
        let container = ver_inst & 0x000F == 0x000F;
        if container && kind != MAIN_MASTER && kind != HANDOUT {
            // Step into the container: its children follow its header.
            pos = body_start;
            continue;
        }
        let body = stream.get(body_start..body_end).unwrap_or_default();
        let text: Option<String> = match kind {
            TEXT_CHARS_ATOM => Some(utf16le(body)),
            // Each byte is the low byte of a UTF-16 code unit.
            TEXT_BYTES_ATOM => Some(body.iter().map(|b| char::from(*b)).collect()),
            _ => None,
        };
        if let Some(text) = text {
            for c in text.chars() {
                match c {
                    '\r' | '\u{0b}' => out.push('\n'),
                    '\t' | '\n' => out.push(c),
                    c if c.is_control() => {}
                    c => out.push(c),
                }
            }
            out.push('\n');
            if out.len() >= MAX_TEXT {
                break;
            }
        }
        if body_end <= pos {
            break;
        }
        pos = body_end;
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    fn utf16(s: &str) -> Vec<u8> {
        s.encode_utf16().flat_map(u16::to_le_bytes).collect()
    }

    /// A WordDocument stream and a table stream with two pieces: `first` as UTF-16 and
    /// `second` as 8-bit text.
    pub(crate) fn word_streams(first: &str, second: &str) -> (Vec<u8>, Vec<u8>) {
        let mut wd = vec![0u8; 0x400];
        wd[0..2].copy_from_slice(&0xA5ECu16.to_le_bytes());
        wd[0x0A..0x0C].copy_from_slice(&0x0200u16.to_le_bytes()); // 1Table
        wd[0x20..0x22].copy_from_slice(&0x000Eu16.to_le_bytes());
        wd[0x3E..0x40].copy_from_slice(&0x0016u16.to_le_bytes());
        wd[0x98..0x9A].copy_from_slice(&0x00B7u16.to_le_bytes());
        let a = utf16(first);
        let a_chars = first.encode_utf16().count();
        let fc_a = wd.len();
        wd.extend_from_slice(&a);
        let fc_b = wd.len();
        wd.extend_from_slice(second.as_bytes());
        let total = a_chars + second.len();
        wd[0x4C..0x50].copy_from_slice(&(total as u32).to_le_bytes());
        let mut plc = Vec::new();
        for cp in [0, a_chars, total] {
            plc.extend_from_slice(&(cp as u32).to_le_bytes());
        }
        for (fc, compressed) in [(fc_a, false), (fc_b * 2, true)] {
            plc.extend_from_slice(&[0, 0]);
            let v = fc as u32 | if compressed { 0x4000_0000 } else { 0 };
            plc.extend_from_slice(&v.to_le_bytes());
            plc.extend_from_slice(&[0, 0]);
        }
        let mut table = vec![0u8; 16];
        let fc_clx = table.len();
        table.extend_from_slice(&[0x01, 2, 0, 0xAA, 0xBB]); // one Prc
        table.push(0x02);
        table.extend_from_slice(&(plc.len() as u32).to_le_bytes());
        table.extend_from_slice(&plc);
        let lcb = table.len() - fc_clx;
        wd[0x1A2..0x1A6].copy_from_slice(&(fc_clx as u32).to_le_bytes());
        wd[0x1A6..0x1AA].copy_from_slice(&(lcb as u32).to_le_bytes());
        (wd, table)
    }

    #[test]
    fn word_text_through_the_piece_table() {
        let (wd, table) = word_streams(
            "お知らせ\r表\u{7}セル\u{7}\u{13} DDEAUTO cmd \u{14}結果\u{15}です\r",
            "Plain text\x0bnext",
        );
        assert_eq!(word_table_stream(&wd), "1Table");
        let t = word_text(&wd, &table).unwrap();
        assert_eq!(t, "お知らせ\n表\tセル\t結果です\nPlain text\nnext");
        assert!(!t.contains("DDE"));
    }

    #[test]
    fn word_text_refuses_other_streams_and_survives_every_prefix() {
        assert!(word_text(b"", b"").is_none());
        assert!(word_text(&[0u8; 0x400], &[0u8; 64]).is_none());
        let (wd, table) = word_streams("あいう\r", "abc");
        for cut in 0..wd.len() {
            let _ = word_text(&wd[..cut], &table);
        }
        for cut in 0..table.len() {
            let _ = word_text(&wd, &table[..cut]);
        }
        // Offsets and counts far past the ends.
        let mut huge = wd.clone();
        huge[0x4C..0x50].copy_from_slice(&u32::MAX.to_le_bytes());
        huge[0x1A6..0x1AA].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(word_text(&huge, &table).is_none());
    }

    fn record(ver_inst: u16, kind: u16, body: &[u8]) -> Vec<u8> {
        let mut r = ver_inst.to_le_bytes().to_vec();
        r.extend_from_slice(&kind.to_le_bytes());
        r.extend_from_slice(&(body.len() as u32).to_le_bytes());
        r.extend_from_slice(body);
        r
    }

    #[test]
    fn powerpoint_text_from_atoms_without_masters() {
        let slide = [
            record(0, 0x0FA0, &utf16("防災訓練のお知らせ\r集合場所")),
            record(0, 0x0FA8, b"Agenda"),
            record(0, 0x0FBA, &utf16("name not shown")),
        ]
        .concat();
        let master = record(0x000F, 0x03F8, &record(0, 0x0FA8, b"Click to edit"));
        let doc = [record(
            0x000F,
            0x03E8,
            &[master, record(0x000F, 0x03EE, &slide)].concat(),
        )]
        .concat();
        let t = powerpoint_text(&doc);
        assert_eq!(t, "防災訓練のお知らせ\n集合場所\nAgenda\n");
        for cut in 0..doc.len() {
            let _ = powerpoint_text(&doc[..cut]);
        }
        let mut bad = doc.clone();
        bad[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        let _ = powerpoint_text(&bad);
    }
}
