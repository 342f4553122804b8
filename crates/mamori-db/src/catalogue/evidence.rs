//! Evidence files of a control (実施の証跡): checked by content before anything is stored,
//! SHA-256 recorded, append-only. Uploading a file under a name the control already has stores
//! the next version of that evidence; earlier versions stay as they were (the database refuses
//! updates and deletes of `std_evidence`).
//!
//! What the policy forbids bringing in is refused by what the bytes are, whatever the file is
//! called: executables (PE, ELF, Mach-O, Java archives, Windows shortcuts), scripts (a `#!`
//! line, or a script's extension), and macro-enabled Office documents (a `vbaProject.bin` part
//! in an OOXML zip, a `_VBA_PROJECT` storage in an OLE file).

use mamori_core::org::OrgId;
use mamori_core::permission::{Capability, can};
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::AnyConnection;

use super::{CatalogueError, control_in};
use crate::audit;
use crate::org::{AuditCtx, UnitTree};
use crate::{Db, DbError, DbResult, now_text};

/// The default largest evidence file (the server's setting may differ).
pub const DEFAULT_MAX_EVIDENCE_BYTES: usize = 20 * 1024 * 1024;
/// Longest file name kept.
pub const MAX_FILE_NAME_CHARS: usize = 200;

/// What an evidence file is, as far as its content tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceKind {
    /// PDF.
    Pdf,
    /// PNG, JPEG, GIF or WebP image.
    Image,
    /// Office Open XML (docx, xlsx, pptx) without macros.
    Office,
    /// Legacy Office (doc, xls) without macros.
    LegacyOffice,
    /// Another zip archive.
    Zip,
    /// Text (UTF-8 or Shift_JIS), CSV included.
    Text,
    /// Anything else that is not forbidden.
    Other,
}

impl EvidenceKind {
    /// Stored code.
    pub fn code(self) -> &'static str {
        match self {
            EvidenceKind::Pdf => "pdf",
            EvidenceKind::Image => "image",
            EvidenceKind::Office => "office",
            EvidenceKind::LegacyOffice => "legacy_office",
            EvidenceKind::Zip => "zip",
            EvidenceKind::Text => "text",
            EvidenceKind::Other => "other",
        }
    }

    /// Japanese label for a stored code.
    pub fn label_for(code: &str) -> &'static str {
        match code {
            "pdf" => "PDF",
            "image" => "画像",
            "office" => "Office 文書",
            "legacy_office" => "Office 文書（旧形式）",
            "zip" => "zip",
            "text" => "テキスト",
            _ => "その他",
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

const SCRIPT_EXTENSIONS: &[&str] = &[
    "exe", "dll", "com", "scr", "msi", "msp", "bat", "cmd", "ps1", "psm1", "vbs", "vbe", "js",
    "jse", "wsf", "wsh", "hta", "sh", "jar", "lnk", "pif", "cpl", "reg", "docm", "dotm", "xlsm",
    "xltm", "xlam", "pptm", "potm", "ppsm",
];

/// Decides what a file is, refusing what the policy forbids; the error is the Japanese reason.
pub fn classify(bytes: &[u8], file_name: &str) -> Result<EvidenceKind, String> {
    let head = bytes.get(..bytes.len().min(8)).unwrap_or_default();
    let refuse = |what: &str| {
        Err(format!(
            "{what}は証跡として登録できません（ポリシーで持込みが禁止されている形式です）"
        ))
    };
    if head.starts_with(b"MZ") {
        return refuse("実行ファイル（Windows）");
    }
    if head.starts_with(b"\x7fELF") {
        return refuse("実行ファイル（ELF）");
    }
    if [
        b"\xfe\xed\xfa\xce",
        b"\xfe\xed\xfa\xcf",
        b"\xce\xfa\xed\xfe",
        b"\xcf\xfa\xed\xfe",
        b"\xca\xfe\xba\xbe",
    ]
    .iter()
    .any(|m| head.starts_with(*m))
    {
        return refuse("実行ファイル（macOS／Java）");
    }
    if head.starts_with(b"\x4c\x00\x00\x00\x01\x14\x02\x00") {
        return refuse("ショートカット（.lnk）");
    }
    let text_start = bytes
        .strip_prefix(b"\xef\xbb\xbf".as_slice())
        .unwrap_or(bytes);
    if text_start.starts_with(b"#!") {
        return refuse("スクリプト");
    }
    let ext = file_name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    if head.starts_with(b"PK\x03\x04") {
        if contains(bytes, b"vbaProject.bin") {
            return refuse("マクロ付きの Office 文書");
        }
        if contains(bytes, b"META-INF/MANIFEST.MF") {
            return refuse("Java アーカイブ");
        }
        if contains(bytes, b"[Content_Types].xml") {
            return Ok(EvidenceKind::Office);
        }
        return Ok(EvidenceKind::Zip);
    }
    if head.starts_with(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1") {
        let vba: Vec<u8> = "_VBA_PROJECT"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        if contains(bytes, &vba) || contains(bytes, b"_VBA_PROJECT") {
            return refuse("マクロ付きの Office 文書");
        }
        if ext == "msi" || ext == "msp" {
            return refuse("インストーラー");
        }
        return Ok(EvidenceKind::LegacyOffice);
    }
    if SCRIPT_EXTENSIONS.contains(&ext.as_str()) {
        return refuse(&format!("拡張子 .{ext} のファイル"));
    }
    if head.starts_with(b"%PDF-") {
        return Ok(EvidenceKind::Pdf);
    }
    if head.starts_with(b"\x89PNG")
        || head.starts_with(b"\xff\xd8\xff")
        || head.starts_with(b"GIF8")
        || (head.starts_with(b"RIFF") && bytes.get(8..12) == Some(b"WEBP".as_slice()))
    {
        return Ok(EvidenceKind::Image);
    }
    let sample = text_start
        .get(..text_start.len().min(4096))
        .unwrap_or_default();
    if !sample.contains(&0) {
        return Ok(EvidenceKind::Text);
    }
    Ok(EvidenceKind::Other)
}

/// A stored evidence file (without its bytes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Evidence {
    /// Id.
    pub id: i64,
    /// Organisation.
    pub org_id: i64,
    /// The control.
    pub control_id: i64,
    /// The evidence's name (the first upload's file name): later uploads under it are versions.
    pub name: String,
    /// Version, from 1.
    pub version_no: i64,
    /// The file name as uploaded.
    pub file_name: String,
    /// [`EvidenceKind::code`].
    pub kind: String,
    /// Bytes.
    pub size: i64,
    /// SHA-256, hex.
    pub sha256: String,
    /// Uploader.
    pub uploaded_by: Option<i64>,
    /// Uploader's name.
    pub uploader_name: Option<String>,
    /// Stored (UTC).
    pub created_at: String,
}

const COLUMNS: &str = "v.id, v.org_id, v.control_id, v.name, v.version_no, v.file_name, v.kind, \
     v.size, v.sha256, v.uploaded_by, p.name AS uploader_name, v.created_at";
const FROM: &str =
    "FROM std_evidence v LEFT JOIN person p ON p.id = v.uploaded_by AND p.org_id = v.org_id";

/// A file name as kept: its last path component, control characters removed, bounded.
pub fn clean_name(raw: &str) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_FILE_NAME_CHARS)
        .collect();
    let cleaned = cleaned.trim().to_owned();
    if cleaned.is_empty() {
        "evidence".to_owned()
    } else {
        cleaned
    }
}

/// Stores an evidence file for a control: checked (size, forbidden types) before anything is
/// written; returns `(id, version)`. `name` groups versions (the evidence's name; empty: the
/// file name).
#[allow(clippy::too_many_arguments)]
pub async fn add(
    conn: &mut AnyConnection,
    cap: &Capability<can::EditControls>,
    ctx: &AuditCtx,
    tree: &UnitTree,
    control_id: i64,
    name: &str,
    file_name: &str,
    bytes: &[u8],
    max_bytes: usize,
) -> Result<(i64, i64), CatalogueError> {
    let org = cap.org().0;
    let control = control_in(conn, org, control_id).await?;
    if !cap.covers(&tree.path(control.unit_id)) {
        return Err(CatalogueError::Db(DbError::NotFound));
    }
    if bytes.is_empty() {
        return Err(CatalogueError::Invalid(
            "証跡ファイルを選択してください（空のファイルは登録できません）".into(),
        ));
    }
    if bytes.len() > max_bytes {
        return Err(CatalogueError::Invalid(format!(
            "証跡ファイルが大きすぎます（{} バイト。上限は {} バイト）",
            bytes.len(),
            max_bytes
        )));
    }
    let file_name = clean_name(file_name);
    let kind = classify(bytes, &file_name).map_err(CatalogueError::Invalid)?;
    let name = if name.trim().is_empty() {
        file_name.clone()
    } else {
        clean_name(name)
    };
    let last: Option<i64> = sqlx::query_scalar(
        "SELECT MAX(version_no) FROM std_evidence WHERE org_id = $1 AND control_id = $2 AND name = $3",
    )
    .bind(org)
    .bind(control_id)
    .bind(&name)
    .fetch_one(&mut *conn)
    .await?;
    let version = last.unwrap_or(0) + 1;
    let sha = hex::encode(Sha256::digest(bytes));
    let size = i64::try_from(bytes.len()).unwrap_or(i64::MAX);
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO std_evidence (org_id, control_id, name, version_no, file_name, kind, size, \
         sha256, content, uploaded_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
         RETURNING id",
    )
    .bind(org)
    .bind(control_id)
    .bind(&name)
    .bind(version)
    .bind(&file_name)
    .bind(kind.code())
    .bind(size)
    .bind(&sha)
    .bind(bytes)
    .bind(ctx.actor_id)
    .bind(now_text())
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| crate::unique_violation(e, format!("証跡 {name} 第{version}版")))?;
    let mut entry = ctx.entry("standards.evidence.upload", "std_control", control_id);
    entry.unit_id = Some(control.unit_id);
    entry.after = Some(json!({"evidence_id": id, "name": name, "version": version,
        "file_name": file_name, "size": size, "sha256": sha, "kind": kind.code()}));
    audit::append(conn, entry).await?;
    Ok((id, version))
}

/// Every evidence file of a control, newest version first within each name.
pub async fn of_control(db: &Db, org: OrgId, control_id: i64) -> DbResult<Vec<Evidence>> {
    let sql = format!(
        "SELECT {COLUMNS} {FROM} WHERE v.org_id = $1 AND v.control_id = $2 ORDER BY v.name, v.version_no DESC"
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(org.0)
        .bind(control_id)
        .fetch_all(db.pool())
        .await?)
}

/// One evidence file of the organisation with its bytes.
pub async fn content(db: &Db, org: OrgId, id: i64) -> DbResult<(Evidence, Vec<u8>)> {
    let sql = format!("SELECT {COLUMNS} {FROM} WHERE v.id = $1 AND v.org_id = $2");
    let meta: Evidence = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(org.0)
        .fetch_optional(db.pool())
        .await?
        .ok_or(DbError::NotFound)?;
    let bytes: Vec<u8> =
        sqlx::query_scalar("SELECT content FROM std_evidence WHERE id = $1 AND org_id = $2")
            .bind(id)
            .bind(org.0)
            .fetch_one(db.pool())
            .await?;
    Ok((meta, bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forbidden_types_are_refused_by_content() {
        assert!(classify(b"MZ\x90\x00rest", "report.pdf").is_err());
        assert!(classify(b"\x7fELF\x02\x01", "notes.txt").is_err());
        assert!(classify(b"#!/bin/sh\nrm -rf /\n", "readme.txt").is_err());
        assert!(classify(b"PK\x03\x04....xl/vbaProject.bin....", "book.xlsx").is_err());
        assert!(classify(b"echo hi", "run.bat").is_err());
        assert_eq!(
            classify(b"PK\x03\x04..[Content_Types].xml..", "a.docx"),
            Ok(EvidenceKind::Office)
        );
        assert_eq!(classify(b"%PDF-1.7\n", "x.bin"), Ok(EvidenceKind::Pdf));
        assert_eq!(
            classify("点検記録\n".as_bytes(), "memo.txt"),
            Ok(EvidenceKind::Text)
        );
    }

    #[test]
    fn names_are_base_names_without_control_characters() {
        assert_eq!(clean_name("C:\\Users\\a\\証跡.pdf"), "証跡.pdf");
        assert_eq!(clean_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_name("\u{7}"), "evidence");
    }
}
