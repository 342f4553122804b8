//! 情報資産管理台帳の取込み・出力: the register as an Excel workbook or a CSV file (UTF-8 with
//! BOM, or CP932 as Excel in Japan writes it), with Japanese headers in the usual 台帳 order.
//!
//! Export writes [`COLUMNS`] in order, one asset per row, each value in the form a person types
//! it (unit codes, logins, 「自治体機密性3B」, 有/無, ISO dates), so an export re-imports with no
//! change. Every export is audited (`asset.export`).
//!
//! Import is read → [`plan`] → [`apply`], like the roster: reading and planning check every row
//! and collect every problem (row, column, cell, value, reason in Japanese), so a file is fixed
//! in one pass. A row is matched by 資産番号: an existing asset is updated (the plan lists each
//! changed field), an unknown number is created, and an identical row changes nothing. A column
//! absent from the file leaves that field as it is. Rows that would break a handling rule of
//! severity error are refused at planning, and again after writing inside the transaction
//! (the rules also look at held assets). [`apply`] writes everything in one transaction — batched
//! inserts, one audit entry per asset created or updated, one `asset.import` summary — or
//! nothing; it refuses a plan whose assets moved on since ([`ImportError::Stale`]), and a plan's
//! [`ImportPlan::digest`] lets a two-step page prove that what is applied is what was shown.

use std::collections::{HashMap, HashSet};

use mamori_core::asset::{Finding, Scheme, Severity};
use mamori_core::calendar::{format_iso, today_jst};
use mamori_core::permission::{Capability, Reach, can};
use mamori_core::text;
use mamori_core::zone::Zone;
use mamori_tabular::{
    Column, ExportFormat, ExportTable, Limits, SourceFormat, StreamColumn, StreamError, Table,
    TabularError, TabularErrorKind, TabularErrors, TextEncoding, XlsxStream,
};
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::AnyConnection;

use super::draft::{AssetDraft, Resolvers};
use super::{
    Asset, AssetFilter, AssetInput, INPUT_COLUMNS, INPUT_FIELDS, REFRESH_ALL_ABOVE, RuleContext,
    bind_input, bool_int, build_where, check_input, id_list, input_columns, json_input,
    note_context, refresh, review_cutoff, rows, set_holdings_in, settings_in, stored_form,
    write_update,
};
use crate::audit::{self, RenderedEntry};
use crate::import::{self, ImportFile};
use crate::json_rows::{self, Col, JsonRows};
use crate::org::{AuditCtx, UnitTree};
use crate::{Db, DbError, now_text, unique_violation, values_placeholders};

/// The register's columns in 台帳 order, with the headers other registers use for them.
pub const COLUMNS: [Column; 25] = [
    Column::required("asset_no", "資産番号").aliases(&[
        "資産No",
        "資産No.",
        "資産ナンバー",
        "管理番号",
        "asset_no",
    ]),
    Column::required("name", "名称").aliases(&["資産名", "情報資産名", "資産の名称", "name"]),
    Column::optional("business", "業務名").aliases(&["業務", "業務の名称", "business"]),
    Column::required("kind", "種別").aliases(&["資産の種別", "資産種別", "種類", "kind"]),
    Column::required("unit_id", "所管課").aliases(&[
        "所管課コード",
        "所管",
        "所管部署",
        "担当課",
        "unit",
    ]),
    Column::optional("manager_id", "管理者").aliases(&[
        "管理者ログインID",
        "資産管理者",
        "管理責任者",
        "manager",
    ]),
    Column::optional("medium", "媒体").aliases(&["保存媒体", "媒体の種類", "medium"]),
    Column::optional("location", "保存場所").aliases(&[
        "保管場所",
        "設置場所",
        "保存先",
        "location",
    ]),
    Column::optional("lockable", "施錠").aliases(&[
        "施錠の有無",
        "施錠可否",
        "施錠保管",
        "lockable",
    ]),
    Column::optional("zone", "ネットワーク区分").aliases(&[
        "ネットワーク",
        "ネットワーク系統",
        "接続系",
        "zone",
    ]),
    Column::required("confidentiality", "機密性").aliases(&[
        "機密性分類",
        "機密性区分",
        "confidentiality",
    ]),
    Column::required("integrity", "完全性").aliases(&["完全性分類", "完全性区分", "integrity"]),
    Column::required("availability", "可用性").aliases(&[
        "可用性分類",
        "可用性区分",
        "availability",
    ]),
    Column::optional("personal", "個人情報").aliases(&[
        "個人情報の有無",
        "個人情報有無",
        "personal",
    ]),
    Column::optional("personal_count", "件数").aliases(&[
        "個人情報件数",
        "個人情報の件数",
        "件数(個人情報)",
        "personal_count",
    ]),
    Column::optional("sensitive", "要配慮個人情報").aliases(&["要配慮", "sensitive"]),
    Column::optional("my_number", "特定個人情報").aliases(&[
        "特定個人情報(マイナンバー)",
        "マイナンバー",
        "my_number",
    ]),
    Column::optional("users_scope", "利用者範囲").aliases(&[
        "利用者の範囲",
        "アクセス範囲",
        "users_scope",
    ]),
    Column::optional("restrictions", "取扱制限").aliases(&[
        "取扱い制限",
        "取り扱い制限",
        "restrictions",
    ]),
    Column::optional("retention", "保存期間").aliases(&["保存年限", "retention"]),
    Column::optional("backup", "バックアップ").aliases(&["バックアップ方法", "backup"]),
    Column::optional("contractor", "委託先・クラウド").aliases(&[
        "委託先/クラウド",
        "委託先",
        "クラウド",
        "contractor",
    ]),
    Column::optional("exception_ref", "例外措置").aliases(&[
        "例外措置の承認番号",
        "例外承認番号",
        "exception_ref",
    ]),
    Column::optional("last_reviewed", "最終確認日")
        .aliases(&["確認日", "最終確認", "棚卸日", "last_reviewed"])
        .date(),
    Column::optional("note", "備考").aliases(&["メモ", "note"]),
];

/// What each column accepts, for the upload page, the CLI and the README:
/// (header, required, what it accepts).
pub const COLUMN_HELP: [(&str, bool, &str); 25] = [
    (
        "資産番号",
        true,
        "団体の中で一意の番号（40文字以内）。登録済みの番号の行は変更、ない番号の行は新規登録",
    ),
    ("名称", true, "情報資産の名称（200文字以内）"),
    ("業務名", false, "その資産を使う業務"),
    (
        "種別",
        true,
        "ネットワーク・情報システム・機器・電磁的記録媒体・情報（電子）・情報（紙）・システム関係文書",
    ),
    (
        "所管課",
        true,
        "組織コード。組織名でも構いません（同じ名前の組織が複数あるときはコードで）",
    ),
    (
        "管理者",
        false,
        "管理者のログインID。氏名でも構いません（同姓同名がいるときはログインIDで）。空欄は未設定",
    ),
    (
        "媒体",
        false,
        "紙・電子ファイル・DB・システム・記録媒体。空欄は種別から決まります",
    ),
    ("保存場所", false, "保管・設置の場所"),
    (
        "施錠",
        false,
        "保存場所が施錠できるか: 有／無（○／×、はい／いいえも可）",
    ),
    (
        "ネットワーク区分",
        false,
        "マイナンバー利用事務系・LGWAN接続系・インターネット接続系。紙は空欄",
    ),
    (
        "機密性",
        true,
        "自治体機密性3A・3B・3C・2・1（従前の分類の団体は機密性3・2・1）。「3B」「機密性２」のようにも書けます。自治体機密性の団体で「3」だけは 3A・3B・3C のどれか判断できないため誤りになります",
    ),
    ("完全性", true, "2 または 1（「完全性２」も可）"),
    ("可用性", true, "2 または 1（「可用性１」も可）"),
    ("個人情報", false, "有／無"),
    (
        "件数",
        false,
        "個人情報のおおよその件数。「1,200」「１２００件」も可",
    ),
    ("要配慮個人情報", false, "有／無"),
    (
        "特定個人情報",
        false,
        "有／無（マイナンバーを含む場合は有）",
    ),
    ("利用者範囲", false, "利用できる職員の範囲"),
    (
        "取扱制限",
        false,
        "複製禁止・配付禁止・持出禁止・暗号化必須・転送禁止・関係者限り・印刷禁止を「・」「、」で区切って",
    ),
    ("保存期間", false, "「5年」「永年」など"),
    ("バックアップ", false, "バックアップの方法・頻度"),
    (
        "委託先・クラウド",
        false,
        "保守・運用の委託先や利用するクラウド",
    ),
    ("例外措置", false, "例外措置の承認番号"),
    (
        "最終確認日",
        false,
        "2026-04-01、2026/4/1、令和8年4月1日、R8.4.1、Excel の日付。未来の日付は不可",
    ),
    ("備考", false, "自由記述（2,000文字以内）"),
];

/// Largest import file: 100,000 assets as xlsx are well under it.
pub const MAX_FILE_BYTES: usize = 64 * 1024 * 1024;

/// Most data rows in one file.
pub const MAX_ROWS: usize = 200_000;

/// Most problems reported for one file.
const MAX_ERRORS: usize = 200;

/// Rows per multi-row INSERT (25 values each; under every engine's parameter limit).
const INSERT_BATCH: usize = 500;

/// New assets per statement on PostgreSQL, where a batch is one JSON parameter.
const PG_INSERT_BATCH: usize = 2_000;

/// Audit entries appended per call while importing (bounds memory on large files).
const AUDIT_BATCH: usize = 2_000;

/// Ids per `IN (…)` list when looking up holders of updated assets.
const ID_BATCH: usize = 1_000;

/// The limits an import file is read with.
pub fn limits() -> Limits {
    Limits {
        max_file_bytes: MAX_FILE_BYTES,
        max_rows: MAX_ROWS,
        max_errors: MAX_ERRORS,
        ..Limits::default()
    }
}

/// An import file as read: its name, SHA-256 (for the audit trail) and rows.
pub type AssetFile = ImportFile;

/// Reads an import file (xlsx, or CSV in UTF-8 with or without BOM or in CP932) with
/// [`limits`].
pub fn read_file(bytes: &[u8], file_name: &str) -> Result<AssetFile, TabularErrors> {
    read_file_with(bytes, file_name, &limits())
}

/// [`read_file`] with other limits (a server configured for smaller uploads).
pub fn read_file_with(
    bytes: &[u8],
    file_name: &str,
    limits: &Limits,
) -> Result<AssetFile, TabularErrors> {
    import::read(
        bytes,
        file_name,
        &COLUMNS,
        limits,
        "見出し行の下に情報資産の行がありません",
    )
}

/// An empty register with the headers in order, for the downloadable template.
pub fn template() -> ExportTable {
    ExportTable::from_schema("情報資産管理台帳", &COLUMNS)
}

/// Why an import could not be planned or applied.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file is unreadable, or some rows are wrong: every problem is listed, nothing written.
    #[error("{0}")]
    Input(TabularErrors),
    /// The register changed after the plan was made (or the plan was made for another
    /// organisation or reach): nothing was written.
    #[error(
        "取込み内容の確認後に情報資産台帳が変更されたため、反映しませんでした。もう一度確認してから反映してください"
    )]
    Stale,
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<TabularErrors> for ImportError {
    fn from(e: TabularErrors) -> Self {
        ImportError::Input(e)
    }
}

impl From<sqlx::Error> for ImportError {
    fn from(e: sqlx::Error) -> Self {
        ImportError::Db(DbError::Sqlx(e))
    }
}

/// What an import does with one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RowAction {
    /// 新規: the 資産番号 is not registered.
    Create,
    /// 変更: some fields differ.
    Update,
    /// 変更なし.
    Unchanged,
}

impl RowAction {
    /// Japanese name.
    pub fn label_ja(self) -> &'static str {
        match self {
            RowAction::Create => "新規",
            RowAction::Update => "変更",
            RowAction::Unchanged => "変更なし",
        }
    }
}

pub use crate::import::FieldChange;

/// One row of the file and what happens to it.
#[derive(Debug, Clone, Serialize)]
pub struct PlanRow {
    /// Row number as Excel shows it.
    pub row: usize,
    /// 資産番号.
    pub asset_no: String,
    /// 名称 after the import.
    pub name: String,
    /// 新規, 変更 or 変更なし.
    pub action: RowAction,
    /// The registered asset, for 変更 and 変更なし.
    pub asset_id: Option<i64>,
    /// The fields that change (変更 only).
    pub changes: Vec<FieldChange>,
    /// The asset's edit counter the plan was made against.
    #[serde(skip)]
    version: i64,
    /// What is written (新規 and 変更).
    #[serde(skip)]
    input: Option<AssetInput>,
    /// What it replaces (変更), for the audit trail.
    #[serde(skip)]
    before: Option<AssetInput>,
}

/// Everything an import would do, computed against the register as it is.
#[derive(Debug, Clone, Serialize)]
pub struct ImportPlan {
    /// The organisation.
    pub org_id: i64,
    /// The importer's reach the plan was confined to.
    pub reach: Reach,
    /// The classification scheme the classes were read under.
    pub scheme: &'static str,
    /// The file's name.
    pub file_name: String,
    /// SHA-256 of the file.
    pub file_sha256: String,
    /// `xlsx` or `csv`.
    pub format: &'static str,
    /// For CSV: `utf8`, `utf8_bom` or `cp932`.
    pub encoding: Option<&'static str>,
    /// Headers that match no column (not read).
    pub ignored_headers: Vec<String>,
    /// Every data row, in file order.
    pub rows: Vec<PlanRow>,
    /// 新規.
    pub created: usize,
    /// 変更.
    pub updated: usize,
    /// 変更なし.
    pub unchanged: usize,
    /// SHA-256 over the file, the scheme and every row's action, target and content: equal
    /// digests mean equal plans.
    pub digest: String,
}

impl ImportPlan {
    /// Whether applying the plan would change nothing.
    pub fn is_empty(&self) -> bool {
        self.created == 0 && self.updated == 0
    }
}

/// What [`apply`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportSummary {
    /// Assets registered.
    pub created: usize,
    /// Assets changed.
    pub updated: usize,
    /// Rows that changed nothing.
    pub unchanged: usize,
    /// The `asset.import` audit entry.
    pub audit_seq: i64,
}

/// How the register writes a field: the words a person types.
struct Names<'a> {
    tree: &'a UnitTree,
    logins: HashMap<i64, String>,
    scheme: Scheme,
}

fn yes_no(b: bool) -> String {
    if b { "有" } else { "無" }.to_owned()
}

impl Names<'_> {
    /// The row of an asset, in [`COLUMNS`] order.
    fn cells(&self, i: &AssetInput) -> [String; 25] {
        [
            i.asset_no.clone(),
            i.name.clone(),
            i.business.clone(),
            i.kind.label_ja().to_owned(),
            self.tree
                .get(i.unit_id)
                .map(|u| u.code.clone())
                .unwrap_or_default(),
            i.manager_id
                .and_then(|m| self.logins.get(&m).cloned())
                .unwrap_or_default(),
            i.medium.label_ja().to_owned(),
            i.location.clone(),
            yes_no(i.lockable),
            i.zone.map(Zone::label_ja).unwrap_or_default().to_owned(),
            i.classes.confidentiality.label_in(self.scheme),
            i.classes.integrity.code().to_owned(),
            i.classes.availability.code().to_owned(),
            yes_no(i.personal.present),
            i.personal.count.map(|c| c.to_string()).unwrap_or_default(),
            yes_no(i.personal.sensitive),
            yes_no(i.personal.my_number),
            i.users_scope.clone(),
            i.restrictions.label_ja(),
            i.retention.clone(),
            i.backup.clone(),
            i.contractor.clone(),
            i.exception_ref.clone(),
            i.last_reviewed.map(format_iso).unwrap_or_default(),
            i.note.clone(),
        ]
    }
}

/// The text of a draft field by column key.
fn draft_field<'d>(d: &'d mut AssetDraft, key: &str) -> Option<&'d mut String> {
    Some(match key {
        "asset_no" => &mut d.asset_no,
        "name" => &mut d.name,
        "business" => &mut d.business,
        "kind" => &mut d.kind,
        "unit_id" => &mut d.unit,
        "manager_id" => &mut d.manager,
        "medium" => &mut d.medium,
        "location" => &mut d.location,
        "lockable" => &mut d.lockable,
        "zone" => &mut d.zone,
        "confidentiality" => &mut d.confidentiality,
        "integrity" => &mut d.integrity,
        "availability" => &mut d.availability,
        "personal" => &mut d.personal,
        "personal_count" => &mut d.personal_count,
        "sensitive" => &mut d.sensitive,
        "my_number" => &mut d.my_number,
        "users_scope" => &mut d.users_scope,
        "restrictions" => &mut d.restrictions,
        "retention" => &mut d.retention,
        "backup" => &mut d.backup,
        "contractor" => &mut d.contractor,
        "exception_ref" => &mut d.exception_ref,
        "last_reviewed" => &mut d.last_reviewed,
        "note" => &mut d.note,
        _ => return None,
    })
}

/// The free-text fields of an input, by column key (CP932 files may carry look-alikes of them).
fn text_field<'i>(i: &'i mut AssetInput, key: &str) -> Option<&'i mut String> {
    Some(match key {
        "name" => &mut i.name,
        "business" => &mut i.business,
        "location" => &mut i.location,
        "users_scope" => &mut i.users_scope,
        "retention" => &mut i.retention,
        "backup" => &mut i.backup,
        "contractor" => &mut i.contractor,
        "exception_ref" => &mut i.exception_ref,
        "note" => &mut i.note,
        _ => return None,
    })
}

// ------------------------------------------------------------------ export

/// The formats of an export, from the CLI's and the pages' words: `xlsx`, or `csv` with
/// `utf8` (the default, with BOM) or `cp932` (`sjis`, `shift_jis`).
pub fn export_format(format: &str, encoding: &str) -> Result<ExportFormat, String> {
    let encoding = encoding.trim().to_ascii_lowercase().replace(['-', '_'], "");
    match format.trim().to_ascii_lowercase().as_str() {
        "" | "xlsx" | "excel" => {
            if encoding.is_empty() || encoding == "utf8" {
                Ok(ExportFormat::Xlsx)
            } else {
                Err("xlsx には文字コードを指定できません".to_owned())
            }
        }
        "csv" => match encoding.as_str() {
            "" | "utf8" => Ok(ExportFormat::CsvUtf8),
            "cp932" | "sjis" | "shiftjis" => Ok(ExportFormat::CsvCp932),
            other => Err(format!(
                "文字コード「{other}」は指定できません（utf8 または cp932）"
            )),
        },
        other => Err(format!(
            "形式「{other}」は指定できません（xlsx または csv）"
        )),
    }
}

/// The words of a format for the audit trail and messages: (`xlsx`|`csv`, `utf8`|`cp932`).
pub fn format_words(format: ExportFormat) -> (&'static str, &'static str) {
    match format {
        ExportFormat::Xlsx => ("xlsx", "utf8"),
        ExportFormat::CsvUtf8 => ("csv", "utf8"),
        ExportFormat::CsvCp932 => ("csv", "cp932"),
    }
}

/// An export, ready to send or write.
#[derive(Debug, Clone)]
pub struct Export {
    /// The file.
    pub bytes: Vec<u8>,
    /// Assets exported.
    pub rows: usize,
    /// The format.
    pub format: ExportFormat,
    /// A file name to offer (`mamori-assets-20260401.xlsx`).
    pub file_name: String,
    /// The `asset.export` audit entry.
    pub audit_seq: i64,
}

/// Why an export was not made.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Cells CP932 cannot hold (each named), or a file Excel could not open: nothing was
    /// written and nothing audited.
    #[error("{0}")]
    Cells(TabularErrors),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<sqlx::Error> for ExportError {
    fn from(e: sqlx::Error) -> Self {
        ExportError::Db(DbError::Sqlx(e))
    }
}

async fn logins(conn: &mut AnyConnection, org: i64) -> Result<HashMap<i64, String>, DbError> {
    let rows: Vec<(i64, String)> = sqlx::query_as("SELECT id, login FROM person WHERE org_id = $1")
        .bind(org)
        .fetch_all(&mut *conn)
        .await?;
    Ok(rows.into_iter().collect())
}

/// Assets read per page while exporting or planning.
const PAGE_ROWS: usize = 5_000;

/// The sheet (and table) name of an export.
const SHEET: &str = "情報資産管理台帳";

/// An asset's row in [`COLUMNS`] order.
fn row_of(a: &Asset, names: &Names<'_>) -> Result<[String; 25], DbError> {
    let input = a.input().ok_or_else(|| DbError::Corrupt {
        table: "asset",
        column: "kind/medium/confidentiality",
        detail: a.asset_no.clone(),
    })?;
    Ok(names.cells(&input))
}

/// Where the rows of an export go as they are read: an xlsx workbook written as it grows, or a
/// table for the CSV writers (which check every cell before writing any).
enum Sink {
    /// The workbook, started with the first page (whose values size the columns); boxed, as
    /// the writer's buffers are large beside the table's handle.
    Xlsx {
        stream: Option<Box<XlsxStream<Vec<u8>>>>,
        rows: usize,
    },
    /// The table for CSV.
    Table(ExportTable),
}

fn xlsx_error(e: StreamError) -> ExportError {
    ExportError::Cells(TabularErrors::one(TabularError::file(
        TabularErrorKind::XlsxWrite {
            reason: e.to_string(),
        },
    )))
}

impl Sink {
    fn new(format: ExportFormat) -> Sink {
        match format {
            ExportFormat::Xlsx => Sink::Xlsx {
                stream: None,
                rows: 0,
            },
            ExportFormat::CsvUtf8 | ExportFormat::CsvCp932 => {
                Sink::Table(ExportTable::from_schema(SHEET, &COLUMNS))
            }
        }
    }

    fn push(&mut self, page: Vec<[String; 25]>) -> Result<(), ExportError> {
        match self {
            Sink::Xlsx { stream, rows } => {
                let x = match stream {
                    Some(x) => x,
                    None => stream.insert(Box::new(start_sheet(&page)?)),
                };
                for row in &page {
                    x.row(row).map_err(xlsx_error)?;
                }
                *rows += page.len();
            }
            Sink::Table(table) => table.rows.extend(page.into_iter().map(Vec::from)),
        }
        Ok(())
    }

    /// The file and the number of assets in it.
    fn finish(self, format: ExportFormat) -> Result<(Vec<u8>, usize), ExportError> {
        match self {
            Sink::Xlsx { stream, rows } => {
                let x = match stream {
                    Some(x) => *x,
                    None => start_sheet(&[])?,
                };
                Ok((x.finish().map_err(xlsx_error)?, rows))
            }
            Sink::Table(table) => {
                let bytes =
                    mamori_tabular::write_table(&table, format).map_err(ExportError::Cells)?;
                Ok((bytes, table.rows.len()))
            }
        }
    }
}

/// A workbook with the register's sheet started: the header row bold, frozen and filtered, the
/// columns as wide as the header and the first rows need; every value in the shared-string
/// table, as spreadsheet programs write it.
fn start_sheet(first: &[[String; 25]]) -> Result<XlsxStream<Vec<u8>>, ExportError> {
    let columns = COLUMNS
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let values = first
                .iter()
                .filter_map(move |r| r.get(i))
                .map(String::as_str);
            StreamColumn::shared(c.header, mamori_tabular::fitted_width(c.header, values))
        })
        .collect();
    let mut x = XlsxStream::new(Vec::with_capacity(1 << 20));
    x.sheet(SHEET, columns).map_err(xlsx_error)?;
    Ok(x)
}

/// Exports the assets matching `filter` within the capability's reach, in 資産番号 order, and
/// records an `asset.export` entry (format, encoding, rows, filter). `filter_text` describes the
/// filter for the audit trail (the query string of the page). The register is read page by page
/// in one snapshot, and an xlsx file is written as the pages come, so neither the whole register
/// nor every cell of the workbook is held at once.
pub async fn export(
    db: &Db,
    cap: &Capability<can::ViewAssets>,
    ctx: &AuditCtx,
    tree: &UnitTree,
    filter: &AssetFilter,
    filter_text: &str,
    format: ExportFormat,
) -> Result<Export, ExportError> {
    let org = cap.org().0;
    let mut tx = rows::snapshot(db).await?;
    let settings = settings_in(&mut tx, org).await?;
    let names = Names {
        tree,
        logins: logins(&mut tx, org).await?,
        scheme: settings.scheme,
    };
    let cutoff = review_cutoff(today_jst(), settings.review_interval_days);
    let mut sink = Sink::new(format);
    if let Some(w) = build_where(cap, tree, filter, &cutoff) {
        let mut pages = rows::Pages::new(org, &w.sql, &w.texts, rows::Order::Number, PAGE_ROWS);
        while let Some(page) = pages.next(&mut tx).await? {
            let cells = page
                .iter()
                .map(|a| row_of(a, &names))
                .collect::<Result<Vec<_>, _>>()?;
            drop(page);
            sink.push(cells)?;
        }
    }
    tx.commit().await?;
    let (bytes, rows) = sink.finish(format)?;
    let (format_word, encoding) = format_words(format);
    let mut entry = ctx.entry("asset.export", "asset_export", format_word);
    entry.org_id = Some(org);
    entry.after = Some(json!({
        "format": format_word,
        "encoding": encoding,
        "rows": rows,
        "bytes": bytes.len(),
        "sha256": hex::encode(Sha256::digest(&bytes)),
        "filter": filter_text,
    }));
    let audit_seq = audit::record(db, entry).await?;
    let day = format_iso(today_jst()).replace('-', "");
    Ok(Export {
        file_name: format!("mamori-assets-{day}.{}", format.extension()),
        bytes,
        rows,
        format,
        audit_seq,
    })
}

// ------------------------------------------------------------------ plan

/// Persons of the organisation, as the 管理者 column may name them.
struct People {
    by_login: HashMap<String, i64>,
    /// Folded 氏名 → (id, active).
    by_name: HashMap<String, Vec<(i64, bool)>>,
    status: HashMap<i64, String>,
    logins: HashMap<i64, String>,
}

impl People {
    async fn load(conn: &mut AnyConnection, org: i64) -> Result<People, DbError> {
        let rows: Vec<(i64, String, String, String)> =
            sqlx::query_as("SELECT id, login, name, status FROM person WHERE org_id = $1")
                .bind(org)
                .fetch_all(&mut *conn)
                .await?;
        let mut people = People {
            by_login: HashMap::with_capacity(rows.len()),
            by_name: HashMap::new(),
            status: HashMap::with_capacity(rows.len()),
            logins: HashMap::with_capacity(rows.len()),
        };
        for (id, login, name, status) in rows {
            people
                .by_name
                .entry(text::fold(&name))
                .or_default()
                .push((id, status == "active"));
            people.by_login.insert(login.clone(), id);
            people.logins.insert(id, login);
            people.status.insert(id, status);
        }
        Ok(people)
    }

    /// A login, else a 氏名 naming one person (active persons first).
    fn resolve(&self, written: &str) -> Result<i64, String> {
        if let Some(id) = self.by_login.get(written) {
            return Ok(*id);
        }
        let candidates = self
            .by_name
            .get(&text::fold(written))
            .map(Vec::as_slice)
            .unwrap_or_default();
        let active: Vec<i64> = candidates
            .iter()
            .filter(|(_, a)| *a)
            .map(|(id, _)| *id)
            .collect();
        match (active.as_slice(), candidates) {
            ([one], _) | ([], [(one, _)]) => Ok(*one),
            ([], []) => Err(format!(
                "管理者「{written}」が見つかりません（ログインIDか氏名で指定してください）"
            )),
            _ => Err(format!(
                "管理者「{written}」に当たる職員が複数います。ログインIDで指定してください"
            )),
        }
    }
}

/// Units of the organisation, as the 所管課 column may name them.
struct Units<'a> {
    tree: &'a UnitTree,
    by_code: HashMap<String, i64>,
    by_name: HashMap<String, Vec<i64>>,
    reachable: HashSet<i64>,
}

impl<'a> Units<'a> {
    fn new(tree: &'a UnitTree, reach: &Reach) -> Self {
        let mut by_code = HashMap::new();
        let mut by_name: HashMap<String, Vec<i64>> = HashMap::new();
        for u in tree.units() {
            by_code.insert(text::fold(&u.code), u.id);
            let mut names = vec![text::fold(&u.name), text::fold(&tree.full_name(u.id))];
            names.dedup();
            for n in names {
                by_name.entry(n).or_default().push(u.id);
            }
        }
        Units {
            tree,
            by_code,
            by_name,
            reachable: tree.reachable(reach).into_iter().collect(),
        }
    }

    /// A unit code, else a unit name naming one unit; within reach.
    fn resolve(&self, written: &str) -> Result<i64, String> {
        if written.is_empty() {
            return Err(
                "所管課が入力されていません（組織コードか組織名を入力してください）".to_owned(),
            );
        }
        let folded = text::fold(written);
        let id = match self.by_code.get(&folded) {
            Some(id) => *id,
            None => match self.by_name.get(&folded).map(Vec::as_slice) {
                Some([one]) => *one,
                Some(many) if !many.is_empty() => {
                    let codes: Vec<String> = many
                        .iter()
                        .filter_map(|id| self.tree.get(*id).map(|u| u.code.clone()))
                        .collect();
                    return Err(format!(
                        "所管課「{written}」という名前の組織が複数あります。組織コード（{}）で指定してください",
                        codes.join("・")
                    ));
                }
                _ => {
                    return Err(format!(
                        "所管課「{written}」が見つかりません（組織コードか組織名で指定してください）"
                    ));
                }
            },
        };
        if self.reachable.contains(&id) {
            Ok(id)
        } else {
            Err(format!(
                "所管課「{written}」（{}）は取込みの権限の範囲外です",
                self.tree.full_name(id)
            ))
        }
    }
}

/// Collects problems up to [`MAX_ERRORS`].
struct Problems {
    errors: TabularErrors,
}

impl Problems {
    fn push(&mut self, e: TabularError) {
        if self.errors.errors.len() >= MAX_ERRORS {
            self.errors.truncated = true;
        } else {
            self.errors.errors.push(e);
        }
    }
}

/// The schema header of a column key.
fn header_of(key: &str) -> &'static str {
    COLUMNS
        .iter()
        .find(|c| c.key == key)
        .map_or("資産番号", |c| c.header)
}

/// A problem with one cell of the file (or, for a column the file lacks, with the field).
fn cell_error(table: &Table, row: usize, key: &str, value: &str, reason: String) -> TabularError {
    let header = table
        .column(key)
        .map_or(header_of(key), |c| c.header_as_written.as_str());
    TabularError::cell(row, header, value, TabularErrorKind::Invalid { reason })
        .at_cell(table.cell_ref(row, key))
}

/// The column a blocking rule is about, so its message lands on a cell.
fn rule_column(rule_id: &str) -> &'static str {
    match rule_id {
        "A001" => "my_number",
        "A002" => "zone",
        "A005" => "manager_id",
        "A007" => "personal",
        _ => "asset_no",
    }
}

/// An asset as it would be stored, for evaluating the rules before writing.
fn as_stored(id: i64, org: i64, input: &AssetInput) -> Asset {
    Asset {
        id,
        org_id: org,
        asset_no: input.asset_no.clone(),
        name: input.name.clone(),
        business: String::new(),
        kind: input.kind.code().to_owned(),
        unit_id: input.unit_id,
        manager_id: input.manager_id,
        manager_name: None,
        medium: input.medium.code().to_owned(),
        location: String::new(),
        lockable: bool_int(input.lockable),
        zone: input.zone.map(|z| z.code().to_owned()),
        confidentiality: input.classes.confidentiality.code().to_owned(),
        integrity: input.classes.integrity.number(),
        availability: input.classes.availability.number(),
        personal: bool_int(input.personal.present),
        personal_count: input.personal.count,
        sensitive: bool_int(input.personal.sensitive),
        my_number: bool_int(input.personal.my_number),
        users_scope: String::new(),
        restrictions: input.restrictions.to_codes(),
        retention: String::new(),
        backup: String::new(),
        contractor: String::new(),
        exception_ref: input.exception_ref.clone(),
        last_reviewed: input.last_reviewed.map(format_iso),
        note: String::new(),
        triage: String::new(),
        findings: String::new(),
        status: "active".to_owned(),
        disposed_on: None,
        disposed_by: None,
        disposal_method: String::new(),
        version: 0,
        created_at: String::new(),
        updated_at: String::new(),
    }
}

/// What a plan is computed against.
struct Register<'a> {
    org: i64,
    reach: Reach,
    scheme: Scheme,
    review_interval_days: i64,
    units: Units<'a>,
    people: People,
    existing: HashMap<String, Registered>,
    rules: RuleContext,
}

/// What planning needs of a registered asset: far less than an [`Asset`], so the whole
/// register fits in memory beside the file.
struct Registered {
    id: i64,
    version: i64,
    unit_id: i64,
    disposed: bool,
    /// Its fields, `None` when they cannot be read.
    input: Option<AssetInput>,
}

impl Registered {
    fn of(a: &Asset) -> Registered {
        Registered {
            id: a.id,
            version: a.version,
            unit_id: a.unit_id,
            disposed: a.is_disposed(),
            input: a.input(),
        }
    }
}

/// Compares a file with the register and returns what applying it would do, or every problem
/// of the file (row, column and value named). Rows whose unit — or, for a registered asset, its
/// current unit — lies outside the capability's reach are errors.
pub async fn plan(
    db: &Db,
    cap: &Capability<can::EditAssets>,
    tree: &UnitTree,
    file: AssetFile,
) -> Result<ImportPlan, ImportError> {
    let org = cap.org().0;
    let started = std::time::Instant::now();
    let mut tx = rows::snapshot(db).await?;
    let settings = settings_in(&mut tx, org).await?;
    let people = People::load(&mut tx, org).await?;
    let mut existing: HashMap<String, Registered> = HashMap::new();
    let mut pages = rows::Pages::new(org, " WHERE a.org_id = $1", &[], rows::Order::Id, PAGE_ROWS);
    while let Some(page) = pages.next(&mut tx).await? {
        existing.extend(
            page.into_iter()
                .map(|a| (a.asset_no.clone(), Registered::of(&a))),
        );
    }
    let rules = RuleContext::load(&mut tx, org, None, today_jst()).await?;
    tx.commit().await?;
    let register = Register {
        org,
        reach: cap.reach().clone(),
        scheme: settings.scheme,
        review_interval_days: settings.review_interval_days,
        units: Units::new(tree, cap.reach()),
        people,
        existing,
        rules,
    };
    tracing::debug!(elapsed = ?started.elapsed(), peak_kib = peak_kib(), "asset import: register loaded");
    let plan = compute(&register, tree, file);
    tracing::debug!(elapsed = ?started.elapsed(), peak_kib = peak_kib(), "asset import: planned");
    plan
}

/// The pure heart of [`plan`]: read every row, match, diff, check the rules.
fn compute(
    reg: &Register<'_>,
    tree: &UnitTree,
    mut file: AssetFile,
) -> Result<ImportPlan, ImportError> {
    let rows = std::mem::take(&mut file.table.rows);
    let table = &file.table;
    let names = Names {
        tree,
        logins: reg.people.logins.clone(),
        scheme: reg.scheme,
    };
    let cp932 = table.encoding == Some(TextEncoding::ShiftJis);
    let today = today_jst();
    let mut problems = Problems {
        errors: TabularErrors::default(),
    };
    let mut seen: HashMap<String, usize> = HashMap::with_capacity(rows.len());
    let mut planned: Vec<PlanRow> = Vec::with_capacity(rows.len());
    let resolvers = Resolvers {
        unit: &|w: &str| reg.units.resolve(w),
        manager: &|w: &str| reg.people.resolve(w),
    };
    // Every column in the file: a row then needs nothing from the register to fill its draft.
    let all_columns = COLUMNS.iter().all(|c| table.column(c.key).is_some());
    for row in rows {
        let number = row.number;
        let asset_no = text::normalize(row.text("asset_no"));
        let existing = reg.existing.get(&asset_no);
        let before = existing.and_then(|e| e.input.as_ref());
        // Absent columns keep what the register has (nothing, for a new asset).
        let before_cells = if all_columns {
            None
        } else {
            before.map(|b| names.cells(b))
        };
        let mut draft = AssetDraft::default();
        for (i, column) in COLUMNS.iter().enumerate() {
            let value = match row.get(column.key) {
                Some(v) => v.to_owned(),
                None => before_cells
                    .as_ref()
                    .and_then(|c| c.get(i).cloned())
                    .unwrap_or_default(),
            };
            if let Some(field) = draft_field(&mut draft, column.key) {
                *field = value;
            }
        }
        let mut report = |key: &str, draft: &mut AssetDraft, reason: String| {
            let value = draft_field(draft, key)
                .map(|v| v.clone())
                .unwrap_or_default();
            problems.push(cell_error(table, number, key, &value, reason));
        };
        if let Some(first) = seen.get(&asset_no) {
            report(
                "asset_no",
                &mut draft,
                format!("資産番号が{first}行目と重複しています"),
            );
            continue;
        }
        if !asset_no.is_empty() {
            seen.insert(asset_no.clone(), number);
        }
        let mut input = match draft.read_with(reg.scheme, &resolvers) {
            Ok(input) => input,
            Err(found) => {
                for (key, reason) in found {
                    report(key, &mut draft, reason);
                }
                continue;
            }
        };
        let manager_status = input
            .manager_id
            .and_then(|m| reg.people.status.get(&m))
            .map(String::as_str);
        let mut found = check_input(reg.org, tree, reg.scheme, &input, manager_status);
        let cited = input.exception_ref.trim();
        if !cited.is_empty() && !reg.rules.exceptions.contains(cited) {
            found.push((
                "exception_ref",
                format!("例外措置「{cited}」は承認され適用中の例外措置ではありません"),
            ));
        }
        if !found.is_empty() {
            for (key, reason) in found {
                report(key, &mut draft, reason);
            }
            continue;
        }
        let (action, changes) = match (existing, before) {
            (Some(a), _) if !reg.units.reachable.contains(&a.unit_id) => {
                report(
                    "asset_no",
                    &mut draft,
                    format!(
                        "この資産番号の情報資産は所管課（{}）が取込みの権限の範囲外のため変更できません",
                        tree.full_name(a.unit_id)
                    ),
                );
                continue;
            }
            (Some(a), Some(b)) => {
                let changes = diff(&names, b, &mut input, cp932);
                if changes.is_empty() {
                    (RowAction::Unchanged, changes)
                } else if a.disposed {
                    report(
                        "asset_no",
                        &mut draft,
                        "廃棄済みの情報資産は変更できません".to_owned(),
                    );
                    continue;
                } else {
                    (RowAction::Update, changes)
                }
            }
            (Some(a), None) => {
                report(
                    "asset_no",
                    &mut draft,
                    format!(
                        "登録済みの情報資産（ID {}）の内容を読み取れないため変更できません",
                        a.id
                    ),
                );
                continue;
            }
            (None, _) => (RowAction::Create, Vec::new()),
        };
        if action != RowAction::Unchanged {
            let id = existing.map_or(0, |a| a.id);
            let stored = as_stored(id, reg.org, &input);
            let (_, findings) = reg.rules.evaluate(&stored, today, reg.review_interval_days);
            let mut blocked = false;
            for f in findings
                .iter()
                .filter(|f| f.rule.severity == Severity::Error)
            {
                report(
                    rule_column(f.rule.id),
                    &mut draft,
                    format!(
                        "取扱いルール［{}］に違反します: {}（{}）",
                        f.rule.id, f.rule.message, f.detail
                    ),
                );
                blocked = true;
            }
            if blocked {
                continue;
            }
        }
        planned.push(PlanRow {
            row: number,
            asset_no,
            name: input.name.clone(),
            action,
            asset_id: existing.map(|a| a.id),
            changes,
            version: existing.map_or(0, |a| a.version),
            before: if action == RowAction::Update {
                before.cloned()
            } else {
                None
            },
            input: (action != RowAction::Unchanged).then_some(input),
        });
    }
    if !problems.errors.is_empty() {
        // Cell checks and cross-row checks report in one pass, but stay in row order.
        problems.errors.errors.sort_by_key(|e| e.row);
        return Err(ImportError::Input(problems.errors));
    }
    let count = |a: RowAction| planned.iter().filter(|r| r.action == a).count();
    let mut plan = ImportPlan {
        org_id: reg.org,
        reach: reg.reach.clone(),
        scheme: reg.scheme.code(),
        file_name: file.name.clone(),
        file_sha256: file.sha256.clone(),
        format: match table.format {
            SourceFormat::Xlsx => "xlsx",
            SourceFormat::Csv => "csv",
        },
        encoding: table.encoding.map(|e| match e {
            TextEncoding::Utf8 => "utf8",
            TextEncoding::Utf8WithBom => "utf8_bom",
            TextEncoding::ShiftJis => "cp932",
        }),
        ignored_headers: table.ignored_headers.clone(),
        created: count(RowAction::Create),
        updated: count(RowAction::Update),
        unchanged: count(RowAction::Unchanged),
        rows: planned,
        digest: String::new(),
    };
    plan.digest = digest(&plan);
    Ok(plan)
}

/// The fields that differ between what the register holds and what the file says, compared as
/// the register writes them. A CP932 file cannot hold 〜 and the like: where the only difference
/// is such a look-alike, the register's text is kept.
fn diff(
    names: &Names<'_>,
    before: &AssetInput,
    after: &mut AssetInput,
    cp932: bool,
) -> Vec<FieldChange> {
    // Equal fields are written alike: the common case of a re-imported export costs no text.
    if before == after {
        return Vec::new();
    }
    let old = names.cells(before);
    let mut new = names.cells(after);
    if cp932 {
        for (i, column) in COLUMNS.iter().enumerate() {
            let (Some(o), Some(n)) = (old.get(i), new.get_mut(i)) else {
                continue;
            };
            if o != n && mamori_tabular::map_for_cp932(o) == *n {
                if let Some(field) = text_field(after, column.key) {
                    field.clone_from(o);
                }
                n.clone_from(o);
            }
        }
    }
    COLUMNS
        .iter()
        .zip(old.into_iter().zip(new))
        .filter(|(_, (o, n))| o != n)
        .map(|(c, (before, after))| FieldChange {
            field: c.key,
            label: c.header,
            before,
            after,
        })
        .collect()
}

/// SHA-256 over what a plan would do: the organisation, reach and scheme, the file, and for
/// every row its action, target, the target's version and what would be written.
fn digest(plan: &ImportPlan) -> String {
    let mut h = Sha256::new();
    h.update(b"mamori.assets.import.v1\n");
    h.update(
        format!(
            "{}|{:?}|{}|{}|{}\n",
            plan.org_id, plan.reach, plan.scheme, plan.file_sha256, plan.file_name
        )
        .as_bytes(),
    );
    let mut text = Vec::with_capacity(1024);
    for r in &plan.rows {
        h.update(format!("{}|{:?}|{:?}|{}|", r.row, r.action, r.asset_id, r.version).as_bytes());
        if let Some(input) = &r.input {
            // The audit JSON's text, written without building its tree.
            text.clear();
            if serde_json::to_writer(&mut text, &input.audit_fields()).is_ok() {
                h.update(&text);
            }
        }
        h.update(b"\n");
    }
    hex::encode(h.finalize())
}

// ------------------------------------------------------------------ apply

/// Applies a plan in one transaction: updates, then batched inserts, one audit entry per asset
/// written (`asset.import.update` / `asset.import.create`), the rules re-evaluated for every
/// asset written and the assets holding them, then one `asset.import` summary entry. Refuses
/// with [`ImportError::Stale`], writing nothing, when an asset changed or a 資産番号 was taken
/// since the plan was made, or the plan was made for another organisation, reach or scheme;
/// with [`ImportError::Input`] naming the rows when the written assets break a rule of severity
/// error.
pub async fn apply(
    db: &Db,
    cap: &Capability<can::EditAssets>,
    ctx: &AuditCtx,
    plan: ImportPlan,
) -> Result<ImportSummary, ImportError> {
    let org = cap.org().0;
    if plan.org_id != org || plan.reach != *cap.reach() {
        return Err(ImportError::Stale);
    }
    let started = std::time::Instant::now();
    let mut tx = db.begin_write().await?;
    if settings_in(&mut tx, org).await?.scheme.code() != plan.scheme {
        return Err(ImportError::Stale);
    }
    let summary_after = json!({
        "file_name": plan.file_name,
        "file_sha256": plan.file_sha256,
        "format": plan.format,
        "encoding": plan.encoding,
        "plan_digest": plan.digest,
        "rows": plan.rows.len(),
        "created": plan.created,
        "updated": plan.updated,
        "unchanged": plan.unchanged,
    });
    let (created, updated, unchanged) = (plan.created, plan.updated, plan.unchanged);
    let file_sha256 = plan.file_sha256.clone();
    // (id, row) of every asset written; the inputs are dropped as they are written.
    let mut written: Vec<(i64, usize)> = Vec::new();
    let mut entries: Vec<RenderedEntry> = Vec::new();
    let mut updated_ids: Vec<i64> = Vec::new();
    let mut creates: Vec<(usize, AssetInput)> = Vec::new();
    for r in plan.rows {
        let Some(input) = r.input else {
            continue;
        };
        match (r.action, r.asset_id) {
            (RowAction::Update, Some(id)) => {
                let done = write_update(&mut tx, org, id, r.version, &input, true)
                    .await
                    .map_err(|e| match e {
                        super::AssetError::Db(d) => ImportError::Db(d),
                        _ => ImportError::Stale,
                    })?;
                if done.is_none() {
                    return Err(ImportError::Stale);
                }
                if r.before.as_ref().is_none_or(|b| b.kind != input.kind) {
                    set_holdings_in(&mut tx, org, id, input.kind, None).await?;
                }
                let mut entry = ctx.entry("asset.import.update", "asset", id);
                entry.org_id = Some(org);
                entry.unit_id = Some(input.unit_id);
                entries.push(RenderedEntry {
                    entry,
                    before_json: r.before.as_ref().map(audit_text),
                    after_json: Some(audit_text(&input)),
                });
                flush(&mut tx, &mut entries, AUDIT_BATCH).await?;
                updated_ids.push(id);
                written.push((id, r.row));
            }
            _ => creates.push((r.row, input)),
        }
    }
    tracing::debug!(elapsed = ?started.elapsed(), peak_kib = peak_kib(), "asset import: updates written");
    // New assets hold nothing and are held by nothing, so their findings follow from their own
    // fields and what the rules read besides (loaded here, inside the transaction): they are
    // evaluated before writing and stored with the row, and no new asset is read back.
    let today = today_jst();
    let interval = settings_in(&mut tx, org).await?.review_interval_days;
    let rules = RuleContext::load(&mut tx, org, Some(&[]), today).await?;
    let mut create_errors: Vec<(usize, Finding)> = Vec::new();
    let now = now_text();
    let (mut inserting, mut auditing) = (std::time::Duration::ZERO, std::time::Duration::ZERO);
    let mut statement: Option<(usize, String)> = None;
    let postgres = !crate::is_sqlite(&tx);
    let json_sql = json_insert_sql();
    let mut json = JsonRows::new();
    let batch = if postgres {
        PG_INSERT_BATCH
    } else {
        INSERT_BATCH
    };
    let mut creates = creates.into_iter();
    loop {
        let chunk: Vec<(usize, AssetInput)> = creates.by_ref().take(batch).collect();
        if chunk.is_empty() {
            break;
        }
        let t = std::time::Instant::now();
        // Each new asset's findings, stored with it; errors are reported after the writes.
        let mut findings_of = |row: usize, input: &AssetInput| {
            let (_, findings) = rules.evaluate(&as_stored(0, org, input), today, interval);
            let stored = stored_form(&findings);
            create_errors.extend(
                findings
                    .into_iter()
                    .filter(|f| f.rule.severity == Severity::Error)
                    .map(|f| (row, f)),
            );
            stored
        };
        let sent = if postgres {
            // One JSON parameter per batch (`json_rows`).
            for (row, input) in &chunk {
                let stored = findings_of(*row, input);
                json.row().int(org);
                json_input(&mut json, input);
                json.text(&stored).text(&now).text(&now).end();
            }
            sqlx::query_as::<_, (i64, String)>(sqlx::AssertSqlSafe(json_sql.clone()))
                .bind(json.take())
                .fetch_all(&mut *tx)
                .await
        } else {
            let sql = match &statement {
                Some((n, sql)) if *n == chunk.len() => sql.clone(),
                _ => {
                    let sql = insert_sql(&tx, chunk.len());
                    statement = Some((chunk.len(), sql.clone()));
                    sql
                }
            };
            let mut q = sqlx::query_as::<_, (i64, String)>(sqlx::AssertSqlSafe(sql));
            for (row, input) in &chunk {
                let stored = findings_of(*row, input);
                q = bind_input!(q.bind(org), input)
                    .bind(stored)
                    .bind(&now)
                    .bind(&now);
            }
            q.fetch_all(&mut *tx).await
        };
        // The new ids come back with their 資産番号. The order of RETURNING rows is not
        // promised, though every engine keeps it: each is checked, and only when one is out of
        // place is a map built.
        let returned = sent.map_err(|e| match unique_violation(e, "資産番号") {
            DbError::Duplicate(_) => ImportError::Stale,
            other => ImportError::Db(other),
        })?;
        inserting += t.elapsed();
        let in_order = returned.len() == chunk.len()
            && returned
                .iter()
                .zip(&chunk)
                .all(|((_, no), (_, input))| *no == input.asset_no);
        let ids: HashMap<String, i64> = if in_order {
            HashMap::new()
        } else {
            returned.iter().map(|(id, no)| (no.clone(), *id)).collect()
        };
        for (i, (_, input)) in chunk.into_iter().enumerate() {
            let id = if in_order {
                returned.get(i).map(|(id, _)| *id)
            } else {
                ids.get(&input.asset_no).copied()
            }
            .ok_or(ImportError::Stale)?;
            let mut entry = ctx.entry("asset.import.create", "asset", id);
            entry.org_id = Some(org);
            entry.unit_id = Some(input.unit_id);
            entries.push(RenderedEntry {
                entry,
                before_json: None,
                after_json: Some(audit_text(&input)),
            });
        }
        let t = std::time::Instant::now();
        flush(&mut tx, &mut entries, AUDIT_BATCH).await?;
        auditing += t.elapsed();
    }
    flush(&mut tx, &mut entries, 1).await?;
    tracing::debug!(
        ?inserting,
        ?auditing,
        "asset import: time in INSERT and in audit appends"
    );
    tracing::debug!(elapsed = ?started.elapsed(), peak_kib = peak_kib(), "asset import: inserts and audit entries written");

    note_context(&mut tx, org, &rules).await?;
    drop(rules);
    // The rules again, now that the assets are written: for the updated ones and whatever holds
    // them (a held asset raises its holder's classes).
    let mut affected: Vec<i64> = written.iter().map(|(id, _)| *id).collect();
    affected.extend(holders_of(&mut tx, org, &updated_ids).await?);
    affected.sort_unstable();
    affected.dedup();
    let findings = if affected.len() > REFRESH_ALL_ABOVE {
        refresh(&mut tx, org, None).await?
    } else {
        refresh(&mut tx, org, Some(&affected)).await?
    };
    tracing::debug!(elapsed = ?started.elapsed(), peak_kib = peak_kib(), "asset import: rules evaluated");
    let mut problems = Problems {
        errors: TabularErrors::default(),
    };
    for (id, row) in &written {
        for f in findings
            .get(id)
            .into_iter()
            .flatten()
            .filter(|f| f.rule.severity == Severity::Error)
        {
            problems.push(rule_breach(*row, f));
        }
    }
    for (row, f) in create_errors {
        problems.push(rule_breach(row, &f));
    }
    if !problems.errors.is_empty() {
        problems.errors.errors.sort_by_key(|e| e.row);
        // Dropping the transaction rolls every write back.
        return Err(ImportError::Input(problems.errors));
    }
    let mut entry = ctx.entry("asset.import", "asset_import", &file_sha256);
    entry.org_id = Some(org);
    entry.after = Some(summary_after);
    let audit_seq = audit::append(&mut tx, entry).await?;
    tx.commit().await?;
    tracing::debug!(elapsed = ?started.elapsed(), peak_kib = peak_kib(), "asset import: committed");
    if created + updated >= super::BULK_ROWS {
        // The import has committed; a failure here only leaves the planner's statistics to the
        // database's own background analysis.
        if let Err(e) = super::refresh_statistics(db).await {
            tracing::warn!(error = %e, "statistics refresh after an asset import failed");
        }
    }
    Ok(ImportSummary {
        created,
        updated,
        unchanged,
        audit_seq,
    })
}

/// The problem reported for row `row` of the file breaking an error rule.
fn rule_breach(row: usize, f: &Finding) -> TabularError {
    TabularError {
        row: Some(row),
        column: Some(header_of(rule_column(f.rule.id)).to_owned()),
        cell: None,
        value: None,
        kind: TabularErrorKind::Invalid {
            reason: format!(
                "取扱いルール［{}］に違反します: {}（{}）",
                f.rule.id, f.rule.message, f.detail
            ),
        },
    }
}

/// Peak resident memory of the process in KiB (Linux; 0 elsewhere), for the import's debug log.
fn peak_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// Appends the collected audit entries once there are at least `at_least` of them.
async fn flush(
    conn: &mut AnyConnection,
    entries: &mut Vec<RenderedEntry>,
    at_least: usize,
) -> Result<(), DbError> {
    if !entries.is_empty() && entries.len() >= at_least {
        audit::append_rendered(conn, std::mem::take(entries)).await?;
    }
    Ok(())
}

/// An asset's fields as the audit trail records them: the text of
/// [`AssetInput::audit_json`], written straight from the fields.
fn audit_text(input: &AssetInput) -> String {
    serde_json::to_string(&input.audit_fields()).unwrap_or_else(|_| input.audit_json().to_string())
}

/// `INSERT INTO asset (…) VALUES (…), (…)` for `rows` rows: org, the input fields, the stored
/// findings, the time twice (created and updated).
fn insert_sql(conn: &AnyConnection, rows: usize) -> String {
    format!(
        "INSERT INTO asset (org_id, {INPUT_COLUMNS}, findings, created_at, updated_at) VALUES {} \
         RETURNING id, asset_no",
        values_placeholders(conn, rows, INPUT_FIELDS + 4)
    )
}

/// [`insert_sql`] for PostgreSQL: the same columns from one JSON parameter (`json_rows`).
fn json_insert_sql() -> String {
    let mut columns = vec![("org_id", Col::Int)];
    columns.extend(input_columns());
    columns.extend([
        ("findings", Col::Text),
        ("created_at", Col::Text),
        ("updated_at", Col::Text),
    ]);
    json_rows::insert_sql("asset", &columns, "RETURNING id, asset_no")
}

/// The assets holding any of `ids`.
async fn holders_of(conn: &mut AnyConnection, org: i64, ids: &[i64]) -> Result<Vec<i64>, DbError> {
    let mut out = Vec::new();
    for chunk in ids.chunks(ID_BATCH) {
        let sql = format!(
            "SELECT holder_id FROM asset_holding WHERE org_id = $1 AND held_id IN ({})",
            id_list(chunk)
        );
        let holders: Vec<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .bind(org)
            .fetch_all(&mut *conn)
            .await?;
        out.extend(holders);
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    /// An input with every field set, optional ones present.
    fn sample_input() -> AssetInput {
        AssetInput {
            asset_no: "J-\"1\"".into(),
            name: "住民記録\n".into(),
            business: "b".into(),
            kind: mamori_core::asset::AssetKind::System,
            unit_id: 3,
            manager_id: None,
            medium: mamori_core::asset::Medium::System,
            location: "書庫".into(),
            lockable: true,
            zone: Some(Zone::Lgwan),
            classes: mamori_core::asset::Classes {
                confidentiality: mamori_core::asset::Confidentiality::C3B,
                integrity: mamori_core::asset::Grade::Two,
                availability: mamori_core::asset::Grade::One,
            },
            personal: mamori_core::asset::PersonalData {
                present: true,
                count: Some(12),
                sensitive: false,
                my_number: true,
            },
            users_scope: "u".into(),
            restrictions: mamori_core::asset::Restrictions::parse("持出禁止・複製禁止").unwrap(),
            retention: "5年".into(),
            backup: String::new(),
            contractor: "c".into(),
            exception_ref: "E-1".into(),
            last_reviewed: Some(time::macros::date!(2026 - 04 - 01)),
            note: "=1".into(),
        }
    }

    #[test]
    fn postgres_bulk_insert_writes_each_input_column_with_its_type() {
        let cols = input_columns();
        assert_eq!(cols.len(), INPUT_FIELDS);
        // One input with every optional value present, one with every one absent.
        let full = sample_input();
        let mut empty = sample_input();
        empty.manager_id = None;
        empty.zone = None;
        empty.personal.count = None;
        empty.last_reviewed = None;
        let mut rows = JsonRows::new();
        for input in [full, empty] {
            rows.row();
            json_input(&mut rows, &input);
            rows.end();
        }
        let parsed: serde_json::Value = serde_json::from_str(&rows.take()).unwrap();
        let parsed = parsed.as_array().unwrap();
        assert_eq!(parsed.len(), 2);
        for row in parsed {
            let values = row.as_array().unwrap();
            assert_eq!(values.len(), INPUT_FIELDS);
            for ((name, col), v) in cols.iter().zip(values) {
                match col {
                    Col::Int => assert!(v.is_i64() || v.is_null(), "{name}: {v}"),
                    Col::Text => assert!(v.is_string() || v.is_null(), "{name}: {v}"),
                }
            }
        }
        assert_eq!(parsed[0][0], "J-\"1\"");
        assert_eq!(parsed[0][1], "住民記録\n");
        assert_eq!(parsed[0][9], "lgwan");
        assert_eq!(parsed[0][14], 12);
        assert!(parsed[1][5].is_null() && parsed[1][9].is_null() && parsed[1][14].is_null());
        assert!(parsed[1][23].is_null());
        assert_eq!(parsed[0][23], "2026-04-01");
        assert!(json_insert_sql().starts_with("INSERT INTO asset (org_id, asset_no, name,"));
    }

    #[test]
    fn columns_are_in_register_order_with_help_for_each() {
        assert_eq!(COLUMNS.len(), COLUMN_HELP.len());
        for (c, (header, required, _)) in COLUMNS.iter().zip(COLUMN_HELP) {
            assert_eq!(c.header, header);
            assert_eq!(c.required, required, "{header}");
        }
        let keys: HashSet<&str> = COLUMNS.iter().map(|c| c.key).collect();
        assert_eq!(keys.len(), COLUMNS.len());
        // Every key is a field the draft and the problem reports know.
        let mut d = AssetDraft::default();
        for c in COLUMNS {
            assert!(draft_field(&mut d, c.key).is_some(), "{}", c.key);
        }
    }

    #[test]
    fn the_digest_writes_the_audit_json_text() {
        let input = sample_input();
        assert_eq!(
            serde_json::to_string(&input.audit_fields()).unwrap(),
            input.audit_json().to_string()
        );
    }

    #[test]
    fn export_formats_are_read_from_words() {
        assert_eq!(export_format("xlsx", ""), Ok(ExportFormat::Xlsx));
        assert_eq!(export_format("csv", ""), Ok(ExportFormat::CsvUtf8));
        assert_eq!(export_format("CSV", "UTF-8"), Ok(ExportFormat::CsvUtf8));
        assert_eq!(export_format("csv", "cp932"), Ok(ExportFormat::CsvCp932));
        assert_eq!(
            export_format("csv", "Shift_JIS"),
            Ok(ExportFormat::CsvCp932)
        );
        assert!(export_format("xlsx", "cp932").is_err());
        assert!(export_format("pdf", "").is_err());
        assert!(export_format("csv", "euc-jp").unwrap_err().contains("euc"));
    }
}
