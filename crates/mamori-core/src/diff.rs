//! Differences between two versions of a document, readable for Japanese text.
//!
//! Japanese has no spaces between words, so a word diff marks whole sentences as changed. The
//! comparison here is by line first (which lines were kept, removed, added), then, inside each
//! pair of changed lines, by character, so a reader sees exactly the characters that differ
//! (「ポリシー<ins>及び実施手順</ins>を遵守」).
//!
//! Both levels use a longest-common-subsequence table after trimming the common start and end.
//! The table is bounded ([`MAX_CELLS`]); a change too large for it is shown as whole lines
//! removed and added, which is still correct, only less precise.

/// Largest LCS table computed (lines × lines, or characters × characters of one pair).
pub const MAX_CELLS: usize = 4_000_000;

/// What happened to a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineOp {
    /// Present in both versions.
    Same,
    /// Only in the old version.
    Removed,
    /// Only in the new version.
    Added,
    /// Changed: the old line and the new line, with the characters that differ marked.
    Changed,
}

/// A run of characters, marked when it differs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// The characters.
    pub text: String,
    /// Whether they were removed (old side) or added (new side).
    pub changed: bool,
}

/// One row of a side-by-side diff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffRow {
    /// What happened.
    pub op: LineOp,
    /// 1-based line number in the old version, when the row has an old line.
    pub old_no: Option<usize>,
    /// 1-based line number in the new version, when the row has a new line.
    pub new_no: Option<usize>,
    /// The old line in segments (empty for an added line).
    pub old: Vec<Segment>,
    /// The new line in segments (empty for a removed line).
    pub new: Vec<Segment>,
}

/// A whole diff.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Diff {
    /// Rows in reading order.
    pub rows: Vec<DiffRow>,
}

impl Diff {
    /// Whether the two texts are the same.
    pub fn is_unchanged(&self) -> bool {
        self.rows.iter().all(|r| r.op == LineOp::Same)
    }

    /// Counts of removed, added and changed lines.
    pub fn counts(&self) -> (usize, usize, usize) {
        let count = |op| self.rows.iter().filter(|r| r.op == op).count();
        (
            count(LineOp::Removed),
            count(LineOp::Added),
            count(LineOp::Changed),
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Equal(usize, usize),
    Delete(usize),
    Insert(usize),
}

/// The edit script turning `a` into `b`.
fn script<T: PartialEq>(a: &[T], b: &[T]) -> Vec<Op> {
    let prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let a_rest = a.get(prefix..).unwrap_or_default();
    let b_rest = b.get(prefix..).unwrap_or_default();
    let suffix = a_rest
        .iter()
        .rev()
        .zip(b_rest.iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let a_mid = a_rest.get(..a_rest.len() - suffix).unwrap_or_default();
    let b_mid = b_rest.get(..b_rest.len() - suffix).unwrap_or_default();
    let mut ops: Vec<Op> = (0..prefix).map(|i| Op::Equal(i, i)).collect();
    ops.extend(middle(a_mid, b_mid).into_iter().map(|op| match op {
        Op::Equal(i, j) => Op::Equal(i + prefix, j + prefix),
        Op::Delete(i) => Op::Delete(i + prefix),
        Op::Insert(j) => Op::Insert(j + prefix),
    }));
    let (a_end, b_end) = (prefix + a_mid.len(), prefix + b_mid.len());
    ops.extend((0..suffix).map(|k| Op::Equal(a_end + k, b_end + k)));
    ops
}

/// LCS over the part that differs; removals before additions inside each changed run.
fn middle<T: PartialEq>(a: &[T], b: &[T]) -> Vec<Op> {
    let (n, m) = (a.len(), b.len());
    let whole = || {
        let mut v: Vec<Op> = (0..n).map(Op::Delete).collect();
        v.extend((0..m).map(Op::Insert));
        v
    };
    if n == 0 || m == 0 || (n + 1).saturating_mul(m + 1) > MAX_CELLS {
        return whole();
    }
    let width = m + 1;
    // table[i][j] = LCS length of a[i..] and b[j..].
    let mut table = vec![0u32; (n + 1) * width];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            let value = if a.get(i) == b.get(j) {
                table.get((i + 1) * width + j + 1).copied().unwrap_or(0) + 1
            } else {
                let down = table.get((i + 1) * width + j).copied().unwrap_or(0);
                let right = table.get(i * width + j + 1).copied().unwrap_or(0);
                down.max(right)
            };
            if let Some(cell) = table.get_mut(i * width + j) {
                *cell = value;
            }
        }
    }
    let at = |i: usize, j: usize| table.get(i * width + j).copied().unwrap_or(0);
    let mut ops = Vec::with_capacity(n + m);
    let (mut i, mut j) = (0, 0);
    let mut deletes = Vec::new();
    let mut inserts = Vec::new();
    while i < n || j < m {
        if i < n && j < m && a.get(i) == b.get(j) {
            ops.append(&mut deletes);
            ops.append(&mut inserts);
            ops.push(Op::Equal(i, j));
            i += 1;
            j += 1;
        } else if j < m && (i == n || at(i, j + 1) >= at(i + 1, j)) {
            inserts.push(Op::Insert(j));
            j += 1;
        } else {
            deletes.push(Op::Delete(i));
            i += 1;
        }
    }
    ops.append(&mut deletes);
    ops.append(&mut inserts);
    ops
}

/// Splits a line pair into marked segments, character by character.
fn char_segments(old: &str, new: &str) -> (Vec<Segment>, Vec<Segment>) {
    let a: Vec<char> = old.chars().collect();
    let b: Vec<char> = new.chars().collect();
    let mut old_segs: Vec<Segment> = Vec::new();
    let mut new_segs: Vec<Segment> = Vec::new();
    let push = |segs: &mut Vec<Segment>, c: char, changed: bool| match segs.last_mut() {
        Some(last) if last.changed == changed => last.text.push(c),
        _ => segs.push(Segment {
            text: c.to_string(),
            changed,
        }),
    };
    for op in script(&a, &b) {
        match op {
            Op::Equal(i, j) => {
                if let Some(&c) = a.get(i) {
                    push(&mut old_segs, c, false);
                }
                if let Some(&c) = b.get(j) {
                    push(&mut new_segs, c, false);
                }
            }
            Op::Delete(i) => {
                if let Some(&c) = a.get(i) {
                    push(&mut old_segs, c, true);
                }
            }
            Op::Insert(j) => {
                if let Some(&c) = b.get(j) {
                    push(&mut new_segs, c, true);
                }
            }
        }
    }
    (old_segs, new_segs)
}

fn plain(text: &str, changed: bool) -> Vec<Segment> {
    if text.is_empty() {
        Vec::new()
    } else {
        vec![Segment {
            text: text.to_owned(),
            changed,
        }]
    }
}

/// Compares two texts: lines, then characters inside changed lines. Line ends (`\n`, `\r\n`)
/// are not compared.
pub fn diff(old: &str, new: &str) -> Diff {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    let ops = script(&a, &b);
    let mut rows = Vec::with_capacity(ops.len());
    let mut k = 0;
    while let Some(op) = ops.get(k) {
        match *op {
            Op::Equal(i, j) => {
                let line = a.get(i).copied().unwrap_or_default();
                rows.push(DiffRow {
                    op: LineOp::Same,
                    old_no: Some(i + 1),
                    new_no: Some(j + 1),
                    old: plain(line, false),
                    new: plain(b.get(j).copied().unwrap_or_default(), false),
                });
                k += 1;
            }
            Op::Delete(_) | Op::Insert(_) => {
                // A run of removals then additions: pair them up as changed lines.
                let mut deleted = Vec::new();
                let mut inserted = Vec::new();
                while let Some(op) = ops.get(k) {
                    match *op {
                        Op::Delete(i) => deleted.push(i),
                        Op::Insert(j) => inserted.push(j),
                        Op::Equal(..) => break,
                    }
                    k += 1;
                }
                let pairs = deleted.len().min(inserted.len());
                for (&i, &j) in deleted.iter().zip(&inserted) {
                    let (old_line, new_line) = (
                        a.get(i).copied().unwrap_or_default(),
                        b.get(j).copied().unwrap_or_default(),
                    );
                    let (old, new) = char_segments(old_line, new_line);
                    rows.push(DiffRow {
                        op: LineOp::Changed,
                        old_no: Some(i + 1),
                        new_no: Some(j + 1),
                        old,
                        new,
                    });
                }
                for &i in deleted.iter().skip(pairs) {
                    rows.push(DiffRow {
                        op: LineOp::Removed,
                        old_no: Some(i + 1),
                        new_no: None,
                        old: plain(a.get(i).copied().unwrap_or_default(), true),
                        new: Vec::new(),
                    });
                }
                for &j in inserted.iter().skip(pairs) {
                    rows.push(DiffRow {
                        op: LineOp::Added,
                        old_no: None,
                        new_no: Some(j + 1),
                        old: Vec::new(),
                        new: plain(b.get(j).copied().unwrap_or_default(), true),
                    });
                }
            }
        }
    }
    Diff { rows }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marked(segs: &[Segment]) -> String {
        segs.iter()
            .map(|s| {
                if s.changed {
                    format!("[{}]", s.text)
                } else {
                    s.text.clone()
                }
            })
            .collect()
    }

    #[test]
    fn a_changed_japanese_line_marks_only_the_changed_characters() {
        let old = "第5 職員等の遵守義務\n職員等は、ポリシーを遵守しなければならない。\n以上";
        let new =
            "第5 職員等の遵守義務\n職員等は、ポリシー及び実施手順を遵守しなければならない。\n以上";
        let d = diff(old, new);
        assert_eq!(d.rows.len(), 3);
        let row = &d.rows[1];
        assert_eq!(row.op, LineOp::Changed);
        assert_eq!(
            marked(&row.new),
            "職員等は、ポリシー[及び実施手順]を遵守しなければならない。"
        );
        assert_eq!(
            marked(&row.old),
            "職員等は、ポリシーを遵守しなければならない。"
        );
        assert_eq!(d.counts(), (0, 0, 1));
    }

    #[test]
    fn removed_and_added_lines_are_told_apart() {
        let d = diff("一\n二\n三\n", "一\n三\n四\n");
        let ops: Vec<LineOp> = d.rows.iter().map(|r| r.op).collect();
        assert_eq!(
            ops,
            [LineOp::Same, LineOp::Removed, LineOp::Same, LineOp::Added]
        );
        assert_eq!(d.rows[1].old_no, Some(2));
        assert_eq!(d.rows[3].new_no, Some(3));
        assert!(diff("同じ\n", "同じ\n").is_unchanged());
        assert!(diff("", "").rows.is_empty());
    }

    #[test]
    fn replaced_characters_show_on_both_sides() {
        let (old, new) = char_segments("年1回実施する", "年2回実施する");
        assert_eq!(marked(&old), "年[1]回実施する");
        assert_eq!(marked(&new), "年[2]回実施する");
    }

    #[test]
    fn an_oversized_change_falls_back_to_whole_lines() {
        let old: String = (0..2_100).map(|i| format!("旧{i}\n")).collect();
        let new: String = (0..2_100).map(|i| format!("新{i}\n")).collect();
        let d = diff(&old, &new);
        assert_eq!(d.rows.len(), 2_100);
        assert!(d.rows.iter().all(|r| r.op == LineOp::Changed));
    }
}
