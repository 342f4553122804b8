//! The one error type of spreadsheet and CSV I/O.
//!
//! Every problem names where it is — row number as the user sees it in Excel, the column header,
//! the cell reference for xlsx, and the value — both in a Japanese message and as fields, so the
//! web app can place the message beside the cell and the CLI can print it as it is.

use std::fmt;

/// Values longer than this are shortened in messages; the full value stays in the file.
const MAX_VALUE_IN_MESSAGE: usize = 40;

/// One problem found while reading or writing a table.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct TabularError {
    /// 1-based row number as shown by Excel (the header row is row 1 when it is the first line).
    pub row: Option<usize>,
    /// The column header the value belongs to, as written in the file (or the schema's header).
    pub column: Option<String>,
    /// The cell reference for xlsx files (`C3`).
    pub cell: Option<String>,
    /// The offending value.
    pub value: Option<String>,
    /// What is wrong.
    pub kind: TabularErrorKind,
}

impl TabularError {
    /// A problem with the whole file.
    pub fn file(kind: TabularErrorKind) -> Self {
        TabularError {
            row: None,
            column: None,
            cell: None,
            value: None,
            kind,
        }
    }

    /// A problem on a row.
    pub fn row(row: usize, kind: TabularErrorKind) -> Self {
        TabularError {
            row: Some(row),
            column: None,
            cell: None,
            value: None,
            kind,
        }
    }

    /// A problem with one cell; use [`TabularErrorKind::Invalid`] for the caller's own checks
    /// (unknown unit code, duplicate 資産番号) so they read like the reader's own messages.
    pub fn cell(row: usize, column: &str, value: &str, kind: TabularErrorKind) -> Self {
        TabularError {
            row: Some(row),
            column: Some(column.to_owned()),
            cell: None,
            value: Some(value.to_owned()),
            kind,
        }
    }

    /// Adds the xlsx cell reference.
    pub fn at_cell(mut self, cell: Option<String>) -> Self {
        self.cell = cell;
        self
    }
}

impl fmt::Display for TabularError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut place = String::new();
        if let Some(row) = self.row {
            place.push_str(&format!("{row}行目"));
        }
        if let Some(column) = &self.column {
            place.push_str(&format!("「{column}」列"));
        }
        if let Some(cell) = &self.cell {
            place.push_str(&format!("（セル{cell}）"));
        }
        if let Some(value) = &self.value {
            let shown: String = value.chars().take(MAX_VALUE_IN_MESSAGE).collect();
            let more = if value.chars().count() > MAX_VALUE_IN_MESSAGE {
                "…"
            } else {
                ""
            };
            place.push_str(&format!("の値「{shown}{more}」"));
        }
        if place.is_empty() {
            write!(f, "{}", self.kind)
        } else {
            write!(f, "{place}: {}", self.kind)
        }
    }
}

/// What went wrong. Messages are Japanese and self-contained; the place is added by
/// [`TabularError`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TabularErrorKind {
    /// The file is larger than allowed.
    #[error("ファイルが大きすぎます（{bytes}バイト。上限は{max}バイト）")]
    FileTooLarge {
        /// Size of the file.
        bytes: usize,
        /// The limit.
        max: usize,
    },
    /// The file is empty.
    #[error("ファイルが空です")]
    EmptyFile,
    /// A file named .xlsx whose content is not an xlsx workbook.
    #[error(
        "ファイル名は .xlsx ですが、中身が xlsx 形式ではありません。Excel で開き「Excel ブック (*.xlsx)」として保存し直してください"
    )]
    NotXlsx,
    /// An Excel 97–2003 workbook or a password-protected workbook (both are OLE files).
    #[error(
        "xls 形式（Excel 97-2003）またはパスワード付きのブックは読み込めません。パスワードを外し「Excel ブック (*.xlsx)」として保存し直してください"
    )]
    LegacyOrEncrypted,
    /// A zip that is not an Office Open XML workbook (a .docx, an ordinary zip).
    #[error("zip ファイルですが Excel ブックではありません（{part} がありません）")]
    NotWorkbook {
        /// The part that is missing.
        part: String,
    },
    /// UTF-16 text (Excel's 「Unicode テキスト」).
    #[error(
        "UTF-16 のテキストは読み込めません。「CSV UTF-8 (コンマ区切り)」または「CSV (コンマ区切り)」で保存してください"
    )]
    Utf16,
    /// Bytes that are neither UTF-8 nor Shift_JIS (CP932).
    #[error(
        "文字コードを判別できません（UTF-8 としても Shift_JIS としても読めない文字があります）。「CSV UTF-8 (コンマ区切り)」で保存し直してください"
    )]
    Undecodable,
    /// A zip archive with too many entries.
    #[error("xlsx 内のファイル数が多すぎます（{count}個。上限は{max}個）")]
    TooManyEntries {
        /// Entries in the archive.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// An entry (or the archive) that would decompress to more than allowed.
    #[error("xlsx を展開すると大きすぎます（{entry}: {bytes}バイト以上。上限は合計{max}バイト）")]
    TooLargeUncompressed {
        /// The entry's name.
        entry: String,
        /// Size reached.
        bytes: u64,
        /// The limit.
        max: u64,
    },
    /// An entry compressed so well it is almost certainly a zip bomb.
    #[error(
        "xlsx 内の {entry} の圧縮率が異常です（{ratio}倍。上限は{max}倍）。zip 爆弾の疑いがあるため読み込みません"
    )]
    SuspiciousRatio {
        /// The entry's name.
        entry: String,
        /// Uncompressed size divided by compressed size.
        ratio: u64,
        /// The limit.
        max: u64,
    },
    /// A broken archive or workbook.
    #[error("xlsx ファイルが壊れています（{reason}）")]
    CorruptXlsx {
        /// What the reader reported.
        reason: String,
    },
    /// The requested sheet does not exist.
    #[error("シート「{name}」がありません（あるシート: {available}）")]
    SheetNotFound {
        /// The requested name.
        name: String,
        /// The sheets in the workbook.
        available: String,
    },
    /// CSV syntax the reader cannot follow (an unclosed quote).
    #[error("CSV の形式が正しくありません（{reason}）")]
    CsvSyntax {
        /// What the CSV reader reported.
        reason: String,
    },
    /// A row with a different number of cells than the header.
    #[error("列の数が見出し行と違います（見出しは{expected}列、この行は{found}列）")]
    RaggedRow {
        /// Cells in the header.
        expected: usize,
        /// Cells in this row.
        found: usize,
    },
    /// More rows than allowed.
    #[error("行数が多すぎます（上限は{max}行）")]
    TooManyRows {
        /// The limit.
        max: usize,
    },
    /// More columns than allowed.
    #[error("列数が多すぎます（{found}列。上限は{max}列）")]
    TooManyColumns {
        /// Columns found.
        found: usize,
        /// The limit.
        max: usize,
    },
    /// A cell longer than Excel allows.
    #[error("セルの文字数が多すぎます（{chars}文字。上限は{max}文字）")]
    CellTooLong {
        /// Length of the cell.
        chars: usize,
        /// The limit.
        max: usize,
    },
    /// A merged cell range; merged cells hide which row a value belongs to.
    #[error("結合されたセル（{range}）があります。セルの結合を解除し、各行に値を入れてください")]
    MergedCells {
        /// The merged range (`A2:A4`).
        range: String,
    },
    /// A formula; its cached result may be stale, so it is not trusted.
    #[error(
        "数式（={formula}）が入っています。数式ではなく値を入力してください（コピーして「値の貼り付け」）"
    )]
    Formula {
        /// The formula text without the leading `=`.
        formula: String,
    },
    /// An Excel error value such as #N/A.
    #[error("エラー値 {code} が入っています")]
    CellErrorValue {
        /// The error as Excel shows it.
        code: String,
    },
    /// No header row (the file has no non-blank row).
    #[error("見出し行がありません")]
    NoHeader,
    /// Required headers are missing (or renamed).
    #[error("必要な列がありません: {missing}（見つかった見出し: {found}）")]
    MissingColumns {
        /// The missing headers, joined by 「、」.
        missing: String,
        /// The headers found, joined by 「、」.
        found: String,
    },
    /// Two headers map to the same column.
    #[error("同じ列を表す見出しが2つあります（「{first}」と「{second}」）")]
    DuplicateColumn {
        /// The first header.
        first: String,
        /// The second header.
        second: String,
    },
    /// A date that cannot be read.
    #[error("{reason}")]
    InvalidDate {
        /// The date parser's message.
        reason: String,
    },
    /// A date serial number outside the supported range.
    #[error("日付のシリアル値として範囲外です")]
    InvalidDateSerial,
    /// A character the chosen encoding cannot hold.
    #[error(
        "文字「{character}」（U+{code:04X}）は Shift_JIS (CP932) で保存できません。別の文字に置き換えるか UTF-8 で出力してください"
    )]
    Unencodable {
        /// The character.
        character: char,
        /// Its code point.
        code: u32,
    },
    /// An export row whose length differs from the header.
    #[error("出力する行の列数が見出しと違います（見出しは{expected}列、この行は{found}列）")]
    ExportRagged {
        /// Cells in the header.
        expected: usize,
        /// Cells in this row.
        found: usize,
    },
    /// The xlsx writer failed.
    #[error("xlsx を作成できませんでした（{reason}）")]
    XlsxWrite {
        /// What the writer reported.
        reason: String,
    },
    /// A value the caller's own validation refused (unknown code, duplicate key …).
    #[error("{reason}")]
    Invalid {
        /// The reason, in Japanese.
        reason: String,
    },
}

/// Every problem found in one file, in the order found; an import applies nothing unless this is
/// empty. Reading stops collecting after [`crate::Limits::max_errors`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TabularErrors {
    /// The problems.
    pub errors: Vec<TabularError>,
    /// More problems existed than were kept.
    pub truncated: bool,
}

impl TabularErrors {
    /// A single problem.
    pub fn one(error: TabularError) -> Self {
        TabularErrors {
            errors: vec![error],
            truncated: false,
        }
    }

    /// The problems.
    pub fn iter(&self) -> std::slice::Iter<'_, TabularError> {
        self.errors.iter()
    }

    /// Whether no problem was recorded.
    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// How many problems were kept.
    pub fn len(&self) -> usize {
        self.errors.len()
    }

    /// The first problem, if any.
    pub fn first(&self) -> Option<&TabularError> {
        self.errors.first()
    }
}

impl From<TabularError> for TabularErrors {
    fn from(error: TabularError) -> Self {
        TabularErrors::one(error)
    }
}

impl fmt::Display for TabularErrors {
    /// One problem per line; a last line says when more were left out.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        if self.truncated {
            write!(
                f,
                "\n（ほかにも問題があります。上記を直してから再度読み込んでください）"
            )?;
        }
        Ok(())
    }
}

impl std::error::Error for TabularErrors {}

/// Collects errors up to a limit.
#[derive(Debug)]
pub(crate) struct Collector {
    errors: TabularErrors,
    max: usize,
}

impl Collector {
    pub(crate) fn new(max: usize) -> Self {
        Collector {
            errors: TabularErrors::default(),
            max: max.max(1),
        }
    }

    /// Records an error; `false` once the limit is reached, so loops can stop early.
    pub(crate) fn push(&mut self, e: TabularError) -> bool {
        if self.errors.errors.len() >= self.max {
            self.errors.truncated = true;
            return false;
        }
        self.errors.errors.push(e);
        true
    }

    pub(crate) fn is_empty_so_far(&self) -> bool {
        self.errors.is_empty()
    }

    /// `Ok(value)` when nothing was recorded.
    pub(crate) fn finish<T>(self, value: T) -> Result<T, TabularErrors> {
        if self.errors.is_empty() {
            Ok(value)
        } else {
            Err(self.errors)
        }
    }
}
