//! The 無害化 policy: what to do per file type and per construct, the limits every parser obeys,
//! and the mail settings. Read from TOML; every field has a safe default, so an empty file (or no
//! file) gives the strict behaviour described in `docs/sanitize.md`.

use serde::{Deserialize, Serialize};

/// What to do with a file type or a construct.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Rule {
    /// Keep it as it is.
    Allow,
    /// Remove or neutralise it and deliver the rest.
    Sanitize,
    /// Refuse the whole file.
    Block,
}

/// What happens to mail attachments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AttachmentMode {
    /// Every attachment is removed and listed in the notice.
    Remove,
    /// Each attachment goes through the file engine; rebuilt files are re-attached.
    Sanitize,
}

/// Charset of the delivered mail body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OutputCharset {
    /// UTF-8 (base64 transfer encoding).
    #[serde(rename = "utf-8")]
    Utf8,
    /// ISO-2022-JP, for old mail clients inside LGWAN.
    #[serde(rename = "iso-2022-jp")]
    Iso2022Jp,
}

/// The whole policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[derive(Default)]
pub struct Policy {
    /// Size, count, depth and time limits.
    pub limits: Limits,
    /// Mail conversion settings.
    pub mail: MailPolicy,
    /// Handling per file type.
    pub files: FileTypes,
    /// PDF constructs.
    pub pdf: PdfPolicy,
    /// OOXML constructs (docx, xlsx, pptx and their macro variants).
    pub ooxml: OoxmlPolicy,
    /// Legacy OLE documents (doc, xls, ppt).
    pub ole: OlePolicy,
    /// Archive constructs.
    pub archive: ArchivePolicy,
    /// CSV constructs.
    pub csv: CsvPolicy,
    /// Optional virus scan.
    pub scan: ScanPolicy,
}

/// Error reading a policy file.
#[derive(Debug, thiserror::Error)]
#[error("ポリシーを読み込めません (policy.invalid): {0}")]
pub struct PolicyError(String);

impl Policy {
    /// Parses a TOML policy; missing fields take their defaults, unknown fields are refused so a
    /// typo never silently weakens the policy.
    pub fn from_toml(text: &str) -> Result<Self, PolicyError> {
        let policy: Policy = toml::from_str(text).map_err(|e| PolicyError(e.to_string()))?;
        policy.limits.check()?;
        Ok(policy)
    }

    /// The default policy as commented TOML, as printed by `--print-default-policy`.
    pub fn default_toml() -> &'static str {
        DEFAULT_POLICY_TOML
    }
}

/// Limits every parser obeys; exceeding one blocks the input with a reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Largest accepted message, bytes.
    pub message_bytes: u64,
    /// Most MIME parts in one message.
    pub mime_parts: u32,
    /// Deepest MIME nesting (multiparts and attached messages).
    pub mime_depth: u32,
    /// Largest single file or attachment, bytes.
    pub file_bytes: u64,
    /// Deepest archive nesting.
    pub archive_depth: u32,
    /// Most entries in one archive (all levels together).
    pub archive_entries: u32,
    /// Largest total expanded size of one archive, bytes.
    pub archive_total_bytes: u64,
    /// Highest expanded/compressed ratio of one entry.
    pub archive_ratio: u32,
    /// Largest HTML body converted with structure, bytes; larger ones are tag-stripped.
    pub html_bytes: u64,
    /// Deepest HTML element nesting kept with structure; deeper content is flattened.
    pub html_depth: u32,
    /// Largest image, pixels.
    pub image_pixels: u64,
    /// Wall-clock seconds per attachment in the worker process.
    pub attachment_seconds: u32,
    /// Address-space limit of the worker process, MiB.
    pub attachment_memory_mib: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            message_bytes: 64 * 1024 * 1024,
            mime_parts: 500,
            mime_depth: 16,
            file_bytes: 64 * 1024 * 1024,
            archive_depth: 3,
            archive_entries: 2_000,
            archive_total_bytes: 512 * 1024 * 1024,
            archive_ratio: 200,
            html_bytes: 8 * 1024 * 1024,
            html_depth: 256,
            image_pixels: 50_000_000,
            attachment_seconds: 30,
            attachment_memory_mib: 1024,
        }
    }
}

impl Limits {
    fn check(&self) -> Result<(), PolicyError> {
        if self.message_bytes == 0 || self.file_bytes == 0 || self.attachment_seconds == 0 {
            return Err(PolicyError(
                "limits の値に 0 は指定できません (message_bytes, file_bytes, attachment_seconds)"
                    .to_owned(),
            ));
        }
        Ok(())
    }
}

/// Mail conversion settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MailPolicy {
    /// Remove attachments, or sanitise and re-attach them.
    pub attachments: AttachmentMode,
    /// Domains of the organisation itself; mail from elsewhere is external.
    pub internal_domains: Vec<String>,
    /// Tag put in front of the subject of external mail; empty for none.
    pub subject_tag: String,
    /// Charset of the delivered body.
    pub output_charset: OutputCharset,
    /// Whether links are shown disabled (`hxxps://example[.]jp/`).
    pub disable_links: bool,
    /// What to do with a message that holds an encrypted archive (PPAP).
    pub encrypted_archive: Rule,
}

impl Default for MailPolicy {
    fn default() -> Self {
        MailPolicy {
            attachments: AttachmentMode::Remove,
            internal_domains: Vec::new(),
            subject_tag: "[外部]".to_owned(),
            output_charset: OutputCharset::Utf8,
            disable_links: true,
            encrypted_archive: Rule::Block,
        }
    }
}

/// Handling per detected file type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FileTypes {
    /// PDF.
    pub pdf: Rule,
    /// docx, xlsx, pptx and macro variants.
    pub ooxml: Rule,
    /// doc, xls, ppt.
    pub ole: Rule,
    /// JPEG, PNG, GIF, BMP, WebP.
    pub image: Rule,
    /// SVG (can carry script): `sanitize` rasterises it to PNG.
    pub svg: Rule,
    /// zip.
    pub zip: Rule,
    /// Other archives (7z, rar, gzip, tar, cab, lzh, iso).
    pub other_archive: Rule,
    /// Plain text.
    pub text: Rule,
    /// CSV / TSV.
    pub csv: Rule,
    /// HTML (converted to text when sanitised).
    pub html: Rule,
    /// Executables and scripts.
    pub executable: Rule,
    /// Everything not recognised (including RTF and OpenDocument for now).
    pub unknown: Rule,
}

impl Default for FileTypes {
    fn default() -> Self {
        FileTypes {
            pdf: Rule::Sanitize,
            ooxml: Rule::Sanitize,
            ole: Rule::Sanitize,
            image: Rule::Sanitize,
            svg: Rule::Block,
            zip: Rule::Sanitize,
            other_archive: Rule::Block,
            text: Rule::Sanitize,
            csv: Rule::Sanitize,
            html: Rule::Sanitize,
            executable: Rule::Block,
            unknown: Rule::Block,
        }
    }
}

/// PDF constructs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PdfPolicy {
    /// `/JS`, `/JavaScript` and JavaScript actions.
    pub javascript: Rule,
    /// `/OpenAction`.
    pub open_action: Rule,
    /// `/AA` additional actions.
    pub additional_actions: Rule,
    /// Launch actions.
    pub launch: Rule,
    /// Embedded files and file attachment annotations.
    pub embedded_files: Rule,
    /// RichMedia, Movie, Sound, Screen and 3D content.
    pub rich_media: Rule,
    /// XFA forms.
    pub xfa: Rule,
    /// SubmitForm / ImportData actions.
    pub form_actions: Rule,
    /// GoToR / GoToE actions (jumps to other files).
    pub remote_goto: Rule,
    /// URI actions (web links).
    pub uri: Rule,
    /// Encrypted PDFs that do not open with an empty password.
    pub encrypted: Rule,
}

impl Default for PdfPolicy {
    fn default() -> Self {
        PdfPolicy {
            javascript: Rule::Sanitize,
            open_action: Rule::Sanitize,
            additional_actions: Rule::Sanitize,
            launch: Rule::Sanitize,
            embedded_files: Rule::Sanitize,
            rich_media: Rule::Sanitize,
            xfa: Rule::Sanitize,
            form_actions: Rule::Sanitize,
            remote_goto: Rule::Sanitize,
            uri: Rule::Allow,
            encrypted: Rule::Block,
        }
    }
}

/// OOXML constructs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OoxmlPolicy {
    /// VBA projects and XLM macro sheets.
    pub macros: Rule,
    /// ActiveX controls.
    pub activex: Rule,
    /// OLE embeddings and packages.
    pub ole_objects: Rule,
    /// Relationships with `TargetMode="External"` other than hyperlinks.
    pub external_relationships: Rule,
    /// Hyperlinks (external relationships of the hyperlink type).
    pub hyperlinks: Rule,
    /// DDE fields.
    pub dde: Rule,
    /// External data connections, query tables and external workbook links.
    pub external_data: Rule,
    /// customUI parts (ribbon callbacks).
    pub custom_ui: Rule,
    /// altChunk imports.
    pub alt_chunk: Rule,
    /// Encrypted (password-protected) OOXML.
    pub encrypted: Rule,
}

impl Default for OoxmlPolicy {
    fn default() -> Self {
        OoxmlPolicy {
            macros: Rule::Sanitize,
            activex: Rule::Sanitize,
            ole_objects: Rule::Sanitize,
            external_relationships: Rule::Sanitize,
            hyperlinks: Rule::Allow,
            dde: Rule::Sanitize,
            external_data: Rule::Sanitize,
            custom_ui: Rule::Sanitize,
            alt_chunk: Rule::Sanitize,
            encrypted: Rule::Block,
        }
    }
}

/// Legacy OLE documents. Rebuilding them is not supported, so `sanitize` means `block`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OlePolicy {
    /// VBA macros and XLM macro sheets. `sanitize` converts the document to its text (a legacy
    /// document cannot be rebuilt without them).
    pub macros: Rule,
    /// Embedded OLE objects, Ole10Native, packages. `sanitize` as for macros.
    pub objects: Rule,
    /// Encrypted documents (`sanitize` blocks: the text cannot be read).
    pub encrypted: Rule,
}

impl Default for OlePolicy {
    fn default() -> Self {
        OlePolicy {
            macros: Rule::Block,
            objects: Rule::Block,
            encrypted: Rule::Block,
        }
    }
}

/// Archive constructs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ArchivePolicy {
    /// Encrypted entries (cannot be inspected).
    pub encrypted: Rule,
    /// Entries that are themselves blocked: `sanitize` drops them, `block` blocks the archive.
    pub blocked_entry: Rule,
}

impl Default for ArchivePolicy {
    fn default() -> Self {
        ArchivePolicy {
            encrypted: Rule::Block,
            blocked_entry: Rule::Sanitize,
        }
    }
}

/// CSV constructs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CsvPolicy {
    /// Cells beginning with `=`, `+`, `-`, `@`, tab or CR (formula injection).
    pub formula: Rule,
}

impl Default for CsvPolicy {
    fn default() -> Self {
        CsvPolicy {
            formula: Rule::Sanitize,
        }
    }
}

/// Optional virus scan through clamd.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScanPolicy {
    /// clamd address (`127.0.0.1:3310`); empty disables the scan.
    pub clamd: String,
    /// Whether an unreachable clamd blocks the attachment (fail closed) or is only flagged.
    pub required: bool,
}

impl Default for ScanPolicy {
    fn default() -> Self {
        ScanPolicy {
            clamd: String::new(),
            required: true,
        }
    }
}

/// The default policy, documented. A unit test checks it parses to `Policy::default()`.
pub const DEFAULT_POLICY_TOML: &str = r#"# mamori 無害化ポリシー (既定値)
# 値: "allow" = そのまま通す, "sanitize" = 除去・無害化して通す, "block" = 遮断

[limits]
message_bytes = 67108864        # メール 1 通の上限 (バイト)
mime_parts = 500                # MIME パート数の上限
mime_depth = 16                 # MIME 入れ子の深さの上限
file_bytes = 67108864           # ファイル 1 個の上限 (バイト)
archive_depth = 3               # 書庫の入れ子の深さの上限
archive_entries = 2000          # 書庫内のエントリ数の上限
archive_total_bytes = 536870912 # 書庫を展開した合計サイズの上限 (バイト)
archive_ratio = 200             # 圧縮率 (展開後/圧縮後) の上限
html_bytes = 8388608            # 構造を保って変換する HTML の上限 (超えるとタグ除去のみ)
html_depth = 256                # 構造を保つ HTML 入れ子の深さ
image_pixels = 50000000         # 画像の画素数の上限
attachment_seconds = 30         # 添付 1 個あたりの処理時間 (子プロセス)
attachment_memory_mib = 1024    # 子プロセスのメモリ上限 (MiB)

[mail]
attachments = "remove"          # "remove" = 削除して一覧表示, "sanitize" = 無害化して再添付
internal_domains = []           # 自組織のドメイン (例: ["example.lg.jp"])
subject_tag = "[外部]"          # 外部からのメールの件名に付ける印 ("" で付けない)
output_charset = "utf-8"        # "utf-8" または "iso-2022-jp"
disable_links = true            # リンクを hxxps://example[.]jp/ の形で無効化する
encrypted_archive = "block"     # 暗号化 ZIP (PPAP) の添付

[files]
pdf = "sanitize"
ooxml = "sanitize"
ole = "sanitize"
image = "sanitize"
svg = "block"                   # "sanitize" = PNG 画像に変換 (スクリプト等は残らない)
zip = "sanitize"
other_archive = "block"
text = "sanitize"
csv = "sanitize"
html = "sanitize"
executable = "block"
unknown = "block"

[pdf]
javascript = "sanitize"
open_action = "sanitize"
additional_actions = "sanitize"
launch = "sanitize"
embedded_files = "sanitize"
rich_media = "sanitize"
xfa = "sanitize"
form_actions = "sanitize"
remote_goto = "sanitize"
uri = "allow"
encrypted = "block"

[ooxml]
macros = "sanitize"
activex = "sanitize"
ole_objects = "sanitize"
external_relationships = "sanitize"
hyperlinks = "allow"
dde = "sanitize"
external_data = "sanitize"
custom_ui = "sanitize"
alt_chunk = "sanitize"
encrypted = "block"

[ole]                           # 旧形式 doc/xls/ppt は再構築できない
macros = "block"                # "sanitize" = 文書をテキスト (UTF-8) に変換して通す
objects = "block"               # 同上 (埋め込みオブジェクト・Ole10Native)
encrypted = "block"             # 中身を読めないため "sanitize" でも遮断

[archive]
encrypted = "block"
blocked_entry = "sanitize"      # 遮断されたエントリ: "sanitize" = そのエントリだけ除く, "block" = 書庫ごと遮断

[csv]
formula = "sanitize"            # = + - @ タブ CR で始まるセルを無害化

[scan]
clamd = ""                      # 例: "127.0.0.1:3310" (空なら検査しない)
required = true                 # clamd に接続できないとき遮断する
"#;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn default_toml_is_the_default_policy() {
        assert_eq!(
            Policy::from_toml(DEFAULT_POLICY_TOML).unwrap(),
            Policy::default()
        );
    }

    #[test]
    fn empty_policy_is_default_and_dotted_keys_work() {
        assert_eq!(Policy::from_toml("").unwrap(), Policy::default());
        let p =
            Policy::from_toml("pdf.javascript = \"block\"\narchive.encrypted = \"block\"").unwrap();
        assert_eq!(p.pdf.javascript, Rule::Block);
    }

    #[test]
    fn unknown_keys_are_refused() {
        assert!(Policy::from_toml("pdf.javascrpt = \"allow\"").is_err());
        assert!(Policy::from_toml("limits.file_bytes = 0").is_err());
    }
}
