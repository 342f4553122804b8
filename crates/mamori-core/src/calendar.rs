//! Dates as a Japanese government writes them: 和暦 (令和8年4月1日), 西暦, and the 年度.
//!
//! Staff type dates in many shapes — `2026/4/1`, `R8.4.1`, `令和元年5月1日`, full-width digits —
//! and registers kept in Excel carry all of them. Parsing accepts every unambiguous shape and
//! answers anything else with a Japanese message that quotes the input, so an import can name the
//! cell. The 年度 (fiscal year, April–March) is a newtype so a period cannot be confused with a
//! calendar year.
//!
//! 和暦 is supported from 明治6年1月1日 (1873-01-01), the day Japan adopted the solar calendar:
//! earlier 明治 dates were lunisolar and do not map one-to-one onto the dates used here.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::{Date, Month};

/// The first date that can be written in 和暦 here (明治6年1月1日, solar calendar adopted).
const FIRST_WAREKI_YEAR: i32 = 1873;
/// The last calendar year a [`Date`] can hold without the `large-dates` feature.
const LAST_YEAR: i32 = 9999;
/// Longer input is not a date; refusing early keeps error messages short.
const MAX_INPUT_CHARS: usize = 64;

/// A Japanese era (元号) from 明治 on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Era {
    /// 明治 (from 1868-10-23; supported here from 明治6年 = 1873).
    Meiji,
    /// 大正 (from 1912-07-30).
    Taisho,
    /// 昭和 (from 1926-12-25).
    Showa,
    /// 平成 (from 1989-01-08).
    Heisei,
    /// 令和 (from 2019-05-01).
    Reiwa,
}

impl Era {
    /// Every era, oldest first.
    pub const ALL: [Era; 5] = [Era::Meiji, Era::Taisho, Era::Showa, Era::Heisei, Era::Reiwa];

    /// The era's name as written in documents (令和).
    pub fn name_ja(self) -> &'static str {
        match self {
            Era::Meiji => "明治",
            Era::Taisho => "大正",
            Era::Showa => "昭和",
            Era::Heisei => "平成",
            Era::Reiwa => "令和",
        }
    }

    /// The one-letter abbreviation used in forms (R8.4.1).
    pub fn letter(self) -> char {
        match self {
            Era::Meiji => 'M',
            Era::Taisho => 'T',
            Era::Showa => 'S',
            Era::Heisei => 'H',
            Era::Reiwa => 'R',
        }
    }

    /// Year, month and day of the era's first day in the Gregorian calendar.
    fn start_ymd(self) -> (i32, Month, u8) {
        match self {
            Era::Meiji => (1868, Month::October, 23),
            Era::Taisho => (1912, Month::July, 30),
            Era::Showa => (1926, Month::December, 25),
            Era::Heisei => (1989, Month::January, 8),
            Era::Reiwa => (2019, Month::May, 1),
        }
    }

    /// The era's first day (the day of the 改元).
    pub fn start(self) -> Date {
        let (y, m, d) = self.start_ymd();
        // The table above holds valid dates only; the fallback is unreachable but keeps the
        // function total without a panic.
        Date::from_calendar_date(y, m, d).unwrap_or(Date::MIN)
    }

    /// The era's last day, or `None` for the current era.
    pub fn end(self) -> Option<Date> {
        self.successor()
            .and_then(|next| next.start().previous_day())
    }

    /// The era that followed this one.
    pub fn successor(self) -> Option<Era> {
        match self {
            Era::Meiji => Some(Era::Taisho),
            Era::Taisho => Some(Era::Showa),
            Era::Showa => Some(Era::Heisei),
            Era::Heisei => Some(Era::Reiwa),
            Era::Reiwa => None,
        }
    }

    /// The 西暦 year of this era's year 1 (元年).
    fn first_year(self) -> i32 {
        self.start_ymd().0
    }

    /// The era in effect on `date`, or `None` before 明治6年1月1日.
    pub fn of(date: Date) -> Option<Era> {
        if date.year() < FIRST_WAREKI_YEAR {
            return None;
        }
        Era::ALL
            .iter()
            .rev()
            .copied()
            .find(|era| era.start() <= date)
    }

    /// Recognises an era by name, single-kanji abbreviation or letter (case-insensitive).
    fn from_prefix(s: &str) -> Option<Era> {
        Era::ALL.iter().copied().find(|era| {
            let name = era.name_ja();
            s == name
                || name
                    .chars()
                    .next()
                    .is_some_and(|c| s.chars().eq(std::iter::once(c)))
                || s.eq_ignore_ascii_case(&era.letter().to_string())
        })
    }
}

impl fmt::Display for Era {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name_ja())
    }
}

/// A date split into 元号, era year, month and day (令和8年4月1日).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WarekiDate {
    /// The era.
    pub era: Era,
    /// The year within the era; 1 is written 元年.
    pub year: u32,
    /// Month, 1–12.
    pub month: u8,
    /// Day of the month, 1–31.
    pub day: u8,
}

impl WarekiDate {
    /// Splits a date into its 和暦 parts; `None` before 明治6年1月1日.
    pub fn from_date(date: Date) -> Option<WarekiDate> {
        let era = Era::of(date)?;
        let year = u32::try_from(date.year() - era.first_year() + 1).ok()?;
        Some(WarekiDate {
            era,
            year,
            month: u8::from(date.month()),
            day: date.day(),
        })
    }

    /// The short form used in forms and spreadsheets: `R8.4.1`.
    pub fn short(&self) -> String {
        format!(
            "{}{}.{}.{}",
            self.era.letter(),
            self.year,
            self.month,
            self.day
        )
    }
}

impl fmt::Display for WarekiDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}{}月{}日",
            era_year_label(self.era, self.year),
            self.month,
            self.day
        )
    }
}

/// 「令和8年」 or 「令和元年」.
fn era_year_label(era: Era, year: u32) -> String {
    if year == 1 {
        format!("{}元年", era.name_ja())
    } else {
        format!("{}{}年", era.name_ja(), year)
    }
}

/// How the UI shows dates; a per-user or per-organisation setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DateStyle {
    /// 令和8年4月1日.
    #[default]
    Wareki,
    /// 2026年4月1日.
    Seireki,
    /// 2026-04-01.
    Iso,
}

/// Formats a date in the given style.
pub fn format_date(date: Date, style: DateStyle) -> String {
    match style {
        DateStyle::Wareki => format_wareki(date),
        DateStyle::Seireki => format_seireki(date),
        DateStyle::Iso => format_iso(date),
    }
}

/// 「令和8年4月1日」 (元年 for year 1). Dates before 明治6年 fall back to 西暦.
pub fn format_wareki(date: Date) -> String {
    match WarekiDate::from_date(date) {
        Some(w) => w.to_string(),
        None => format_seireki(date),
    }
}

/// 「R8.4.1」. Dates before 明治6年 fall back to `1872/1/1`.
pub fn format_wareki_short(date: Date) -> String {
    match WarekiDate::from_date(date) {
        Some(w) => w.short(),
        None => format_slash(date),
    }
}

/// 「2026年4月1日」.
pub fn format_seireki(date: Date) -> String {
    format!(
        "{}年{}月{}日",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

/// 「2026/4/1」, the shape Excel in Japan shows by default.
pub fn format_slash(date: Date) -> String {
    format!("{}/{}/{}", date.year(), u8::from(date.month()), date.day())
}

/// Today in Japan (JST, UTC+9): the day every date rule of a Japanese government runs on.
pub fn today_jst() -> Date {
    time::OffsetDateTime::now_utc()
        .to_offset(time::macros::offset!(+9))
        .date()
}

/// 「2026-04-01」 (ISO 8601), for files and APIs.
pub fn format_iso(date: Date) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

/// Why a typed date was refused. Every variant quotes the input so a message can stand alone.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DateError {
    /// Nothing was typed.
    #[error("日付が入力されていません")]
    Empty,
    /// Too long to be a date.
    #[error("「{input}」は日付として長すぎます")]
    TooLong {
        /// The first characters of the input.
        input: String,
    },
    /// Not a shape of date this parser knows.
    #[error(
        "「{input}」は日付として読み取れません（例: 2026-04-01、2026/4/1、令和8年4月1日、R8.4.1）"
    )]
    Unrecognised {
        /// The input as typed.
        input: String,
    },
    /// A two- or three-digit year without an era: 26/4/1 could be 2026 or 令和26年.
    #[error(
        "「{input}」は年が{digits}桁のため西暦か和暦か判断できません（2026/4/1 や R8.4.1 のように入力してください）"
    )]
    AmbiguousYear {
        /// The input as typed.
        input: String,
        /// How many digits the year had.
        digits: usize,
    },
    /// A time other than midnight was given where only a date is expected.
    #[error("「{input}」には時刻が含まれています。日付だけを入力してください")]
    HasTime {
        /// The input as typed.
        input: String,
    },
    /// The year is outside what mamori can hold.
    #[error("「{input}」の年は{min}年から{max}年の範囲で入力してください")]
    YearOutOfRange {
        /// The input as typed.
        input: String,
        /// The earliest accepted 西暦 year.
        min: i32,
        /// The latest accepted 西暦 year.
        max: i32,
    },
    /// Month or day does not exist (2026/2/30, 13月).
    #[error("「{input}」の{month}月{day}日は存在しない日付です")]
    NoSuchDate {
        /// The input as typed.
        input: String,
        /// Month as typed.
        month: u32,
        /// Day as typed.
        day: u32,
    },
    /// The era year 0 does not exist.
    #[error("「{input}」: 和暦の年は元年（1年）から始まります")]
    EraYearZero {
        /// The input as typed.
        input: String,
    },
    /// An era date outside the era's own span (平成31年5月1日, 昭和64年1月8日).
    #[error("「{input}」は{era}の期間外です（{era}は{from}から{to}まで）{hint}")]
    OutsideEra {
        /// The input as typed.
        input: String,
        /// The era named in the input.
        era: Era,
        /// First day of the era, in 和暦.
        from: String,
        /// Last day of the era, in 和暦, or 「現在」.
        to: String,
        /// A suggestion such as 「令和元年5月1日ではありませんか」, or empty.
        hint: String,
    },
    /// 明治 before the solar calendar: the date cannot be converted reliably.
    #[error("「{input}」は明治6年より前の旧暦の日付のため変換できません。西暦で入力してください")]
    BeforeSolarCalendar {
        /// The input as typed.
        input: String,
    },
}

/// Reads a date as a user types it: `2026-04-01`, `2026/4/1`, `2026.4.1`, `2026年4月1日`,
/// `20260401`, `令和8年4月1日`, `令和元年5月1日`, `R8.4.1`, `R8/4/1`, `H31.4.30`, `令8.4.1`,
/// full-width digits and letters, and a trailing midnight time as Excel writes it
/// (`2026/4/1 0:00:00`).
///
/// A two-digit year without an era, a date outside its era and a non-existent day are errors
/// that quote the input.
pub fn parse_date(input: &str) -> Result<Date, DateError> {
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Err(DateError::Empty);
    }
    if trimmed.chars().count() > MAX_INPUT_CHARS {
        return Err(DateError::TooLong {
            input: trimmed.chars().take(MAX_INPUT_CHARS).collect(),
        });
    }
    let original = trimmed.to_owned();
    let normalized = crate::text::normalize(trimmed);
    let without_time = strip_midnight(&normalized, &original)?;
    let compact: String = without_time
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let tokens = tokenize(&compact).ok_or_else(|| DateError::Unrecognised {
        input: original.clone(),
    })?;
    interpret(&tokens, &original)
}

/// Removes a trailing `0:00` / `00:00:00` that spreadsheet software appends to dates; any other
/// time is refused rather than silently dropped.
fn strip_midnight<'a>(s: &'a str, original: &str) -> Result<&'a str, DateError> {
    if !s.contains(':') {
        return Ok(s);
    }
    let Some((date_part, time_part)) = s.rsplit_once(char::is_whitespace) else {
        return Err(DateError::Unrecognised {
            input: original.to_owned(),
        });
    };
    let fields: Vec<&str> = time_part.split(':').collect();
    let well_formed = (2..=3).contains(&fields.len())
        && fields
            .iter()
            .all(|f| !f.is_empty() && f.len() <= 2 && f.bytes().all(|b| b.is_ascii_digit()));
    if !well_formed {
        return Err(DateError::Unrecognised {
            input: original.to_owned(),
        });
    }
    if fields.iter().all(|f| f.bytes().all(|b| b == b'0')) {
        Ok(date_part.trim_end())
    } else {
        Err(DateError::HasTime {
            input: original.to_owned(),
        })
    }
}

/// One piece of a compact date string.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// A run of ASCII digits (kept as text to know its length and leading zeros).
    Num(String),
    /// 元 (year one of an era).
    Gan,
    /// An era name, abbreviation or letter.
    Era(Era),
    /// A separator: `-`, `/`, `.`, 年, 月, 日.
    Sep(char),
}

fn tokenize(s: &str) -> Option<Vec<Token>> {
    let mut tokens = Vec::new();
    let mut rest = s;
    while let Some(c) = rest.chars().next() {
        if c.is_ascii_digit() {
            let end = rest
                .find(|ch: char| !ch.is_ascii_digit())
                .unwrap_or(rest.len());
            let (num, tail) = rest.split_at(end);
            tokens.push(Token::Num(num.to_owned()));
            rest = tail;
            continue;
        }
        let len = c.len_utf8();
        if matches!(c, '-' | '/' | '.' | '年' | '月' | '日') {
            tokens.push(Token::Sep(c));
            rest = rest.get(len..)?;
            continue;
        }
        if c == '元' {
            tokens.push(Token::Gan);
            rest = rest.get(len..)?;
            continue;
        }
        // Era names are two kanji; try the longest match first.
        let two: String = rest.chars().take(2).collect();
        if let Some(era) = Era::from_prefix(&two).filter(|_| two.chars().count() == 2) {
            tokens.push(Token::Era(era));
            rest = rest.get(two.len()..)?;
            continue;
        }
        let era = Era::from_prefix(&c.to_string())?;
        tokens.push(Token::Era(era));
        rest = rest.get(len..)?;
    }
    Some(tokens)
}

/// Checks the separators: 年/月/(日) in kanji style, or the same symbol twice.
fn separators_ok(first: char, second: char, trailing: Option<char>) -> bool {
    match (first, second, trailing) {
        ('年', '月', None | Some('日')) => true,
        (a, b, None) => a == b && matches!(a, '-' | '/' | '.'),
        _ => false,
    }
}

fn interpret(tokens: &[Token], input: &str) -> Result<Date, DateError> {
    let unrecognised = || DateError::Unrecognised {
        input: input.to_owned(),
    };
    if let [Token::Num(all)] = tokens {
        if all.len() != 8 {
            return Err(unrecognised());
        }
        let year = all.get(0..4).and_then(|s| s.parse::<i32>().ok());
        let month = all.get(4..6).and_then(small);
        let day = all.get(6..8).and_then(small);
        return match (year, month, day) {
            (Some(y), Some(m), Some(d)) => seireki_date(y, m, d, input),
            _ => Err(unrecognised()),
        };
    }
    let (era, rest) = match tokens {
        [Token::Era(era), rest @ ..] => (Some(*era), rest),
        _ => (None, tokens),
    };
    let [
        year,
        Token::Sep(s1),
        Token::Num(m),
        Token::Sep(s2),
        Token::Num(d),
        tail @ ..,
    ] = rest
    else {
        return Err(unrecognised());
    };
    let trailing = trailing_sep(tail).ok_or_else(unrecognised)?;
    if !separators_ok(*s1, *s2, trailing) {
        return Err(unrecognised());
    }
    let month = small(m).ok_or_else(unrecognised)?;
    let day = small(d).ok_or_else(unrecognised)?;
    match (era, year) {
        (Some(era), _) => {
            let era_year = era_year_of(year).ok_or_else(unrecognised)?;
            era_date(era, era_year, month, day, input)
        }
        (None, Token::Num(y)) if y.len() < 4 => Err(DateError::AmbiguousYear {
            input: input.to_owned(),
            digits: y.len(),
        }),
        (None, Token::Num(y)) => {
            let year = y.parse::<i32>().map_err(|_| unrecognised())?;
            seireki_date(year, month, day, input)
        }
        (None, _) => Err(unrecognised()),
    }
}

/// The era year written after an era: digits or 元.
fn era_year_of(token: &Token) -> Option<u32> {
    match token {
        Token::Gan => Some(1),
        Token::Num(n) if n.len() <= 4 => n.parse().ok(),
        _ => None,
    }
}

/// `None` when the remainder is not empty or a single 日.
fn trailing_sep(rest: &[Token]) -> Option<Option<char>> {
    match rest {
        [] => Some(None),
        [Token::Sep('日')] => Some(Some('日')),
        _ => None,
    }
}

/// Month and day fields: at most two digits.
fn small(s: &str) -> Option<u32> {
    if s.is_empty() || s.len() > 2 {
        return None;
    }
    s.parse().ok()
}

fn ymd(year: i32, month: u32, day: u32, input: &str) -> Result<Date, DateError> {
    let no_such = || DateError::NoSuchDate {
        input: input.to_owned(),
        month,
        day,
    };
    let m = u8::try_from(month)
        .ok()
        .and_then(|m| Month::try_from(m).ok())
        .ok_or_else(no_such)?;
    let d = u8::try_from(day).map_err(|_| no_such())?;
    Date::from_calendar_date(year, m, d).map_err(|_| no_such())
}

fn seireki_date(year: i32, month: u32, day: u32, input: &str) -> Result<Date, DateError> {
    if !(FIRST_WAREKI_YEAR..=LAST_YEAR).contains(&year) {
        return Err(DateError::YearOutOfRange {
            input: input.to_owned(),
            min: FIRST_WAREKI_YEAR,
            max: LAST_YEAR,
        });
    }
    ymd(year, month, day, input)
}

fn era_date(era: Era, era_year: u32, month: u32, day: u32, input: &str) -> Result<Date, DateError> {
    if era_year == 0 {
        return Err(DateError::EraYearZero {
            input: input.to_owned(),
        });
    }
    let year = i64::from(era.first_year()) + i64::from(era_year) - 1;
    let year = i32::try_from(year)
        .ok()
        .filter(|y| *y <= LAST_YEAR)
        .ok_or_else(|| DateError::YearOutOfRange {
            input: input.to_owned(),
            min: FIRST_WAREKI_YEAR,
            max: LAST_YEAR,
        })?;
    if year < FIRST_WAREKI_YEAR {
        return Err(DateError::BeforeSolarCalendar {
            input: input.to_owned(),
        });
    }
    let date = ymd(year, month, day, input)?;
    if date < era.start() || era.end().is_some_and(|end| date > end) {
        let hint = match Era::of(date) {
            Some(actual) if actual != era => {
                format!("。{}ではありませんか", format_wareki(date))
            }
            _ => String::new(),
        };
        return Err(DateError::OutsideEra {
            input: input.to_owned(),
            era,
            from: format_wareki(era.start()),
            to: era.end().map_or_else(|| "現在".to_owned(), format_wareki),
            hint,
        });
    }
    Ok(date)
}

/// A Japanese fiscal year (年度): April 1 to March 31, named by the 西暦 year it starts in.
///
/// Invalid values cannot be built: the year lies between 1873 and 9998, so both ends are dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "i32", into = "i32")]
pub struct FiscalYear(i32);

/// A year that cannot be a 年度, or text that does not name one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FiscalYearError {
    /// Nothing was typed.
    #[error("年度が入力されていません")]
    Empty,
    /// The year is outside the supported range.
    #[error("年度「{input}」は{min}年度から{max}年度の範囲で入力してください")]
    OutOfRange {
        /// The input as typed.
        input: String,
        /// Earliest accepted year.
        min: i32,
        /// Latest accepted year.
        max: i32,
    },
    /// Not a shape this parser knows.
    #[error("「{input}」は年度として読み取れません（例: 令和8年度、R8、2026年度、2026）")]
    Unrecognised {
        /// The input as typed.
        input: String,
    },
    /// A two- or three-digit year without an era.
    #[error(
        "「{input}」は西暦か和暦か判断できません（2026年度 や 令和8年度 のように入力してください）"
    )]
    AmbiguousYear {
        /// The input as typed.
        input: String,
    },
    /// An era year after that era ended or before it began (平成32年度).
    #[error("「{input}」は{era}の期間外です{hint}")]
    OutsideEra {
        /// The input as typed.
        input: String,
        /// The era named in the input.
        era: Era,
        /// A suggestion such as 「（令和2年度ではありませんか）」, or empty.
        hint: String,
    },
}

impl FiscalYear {
    /// The earliest supported 年度.
    pub const MIN_YEAR: i32 = FIRST_WAREKI_YEAR;
    /// The latest supported 年度 (its March 31 must still be a [`Date`]).
    pub const MAX_YEAR: i32 = LAST_YEAR - 1;

    /// The 年度 starting in April of `year`.
    pub fn new(year: i32) -> Result<FiscalYear, FiscalYearError> {
        if (Self::MIN_YEAR..=Self::MAX_YEAR).contains(&year) {
            Ok(FiscalYear(year))
        } else {
            Err(FiscalYearError::OutOfRange {
                input: year.to_string(),
                min: Self::MIN_YEAR,
                max: Self::MAX_YEAR,
            })
        }
    }

    /// The 年度 a date falls in (January–March belong to the previous year's 年度).
    ///
    /// Dates outside the supported range are clamped to its ends.
    pub fn of(date: Date) -> FiscalYear {
        let year = if u8::from(date.month()) >= 4 {
            date.year()
        } else {
            date.year() - 1
        };
        FiscalYear(year.clamp(Self::MIN_YEAR, Self::MAX_YEAR))
    }

    /// The 西暦 year the 年度 starts in (2026 for 令和8年度).
    pub fn year(self) -> i32 {
        self.0
    }

    /// April 1.
    pub fn start(self) -> Date {
        Date::from_calendar_date(self.0, Month::April, 1).unwrap_or(Date::MIN)
    }

    /// March 31 of the next calendar year.
    pub fn end(self) -> Date {
        Date::from_calendar_date(self.0 + 1, Month::March, 31).unwrap_or(Date::MAX)
    }

    /// Whether `date` lies in this 年度.
    pub fn contains(self, date: Date) -> bool {
        self.start() <= date && date <= self.end()
    }

    /// The following 年度, if supported.
    pub fn next(self) -> Option<FiscalYear> {
        FiscalYear::new(self.0 + 1).ok()
    }

    /// The preceding 年度, if supported.
    pub fn previous(self) -> Option<FiscalYear> {
        FiscalYear::new(self.0 - 1).ok()
    }

    /// The era and era year the 年度 is named by.
    ///
    /// A 年度 takes the era in effect on its April 1, except 2019: the era changed on May 1 and
    /// the government has since called that year 令和元年度.
    pub fn era_year(self) -> (Era, u32) {
        if self.0 == 2019 {
            return (Era::Reiwa, 1);
        }
        match WarekiDate::from_date(self.start()) {
            Some(w) => (w.era, w.year),
            // Unreachable for supported years (all start after 1873-01-01).
            None => (Era::Meiji, u32::try_from(self.0 - 1867).unwrap_or(1)),
        }
    }

    /// 「令和8年度」 (元年度 for year 1).
    pub fn label_wareki(self) -> String {
        let (era, year) = self.era_year();
        if year == 1 {
            format!("{}元年度", era.name_ja())
        } else {
            format!("{}{}年度", era.name_ja(), year)
        }
    }

    /// 「2026年度」.
    pub fn label_seireki(self) -> String {
        format!("{}年度", self.0)
    }

    /// 「R8」, the short form used in file names and lists.
    pub fn label_short(self) -> String {
        let (era, year) = self.era_year();
        format!("{}{}", era.letter(), year)
    }

    /// Reads a 年度 as typed: 「令和8年度」, 「令和元年度」, 「R8」, 「R8年度」, 「2026」, 「2026年度」,
    /// full-width digits. 「平成31年度」 is accepted as 2019.
    pub fn parse(input: &str) -> Result<FiscalYear, FiscalYearError> {
        let original = input.trim().to_owned();
        if original.is_empty() {
            return Err(FiscalYearError::Empty);
        }
        let unrecognised = || FiscalYearError::Unrecognised {
            input: original.clone(),
        };
        if original.chars().count() > MAX_INPUT_CHARS {
            return Err(FiscalYearError::Unrecognised {
                input: original.chars().take(MAX_INPUT_CHARS).collect(),
            });
        }
        let compact: String = crate::text::normalize(&original)
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        let body = compact
            .strip_suffix("年度")
            .or_else(|| compact.strip_suffix('年'))
            .unwrap_or(&compact);
        let tokens = tokenize(body).ok_or_else(unrecognised)?;
        match tokens.as_slice() {
            [Token::Num(y)] => {
                if y.len() < 4 {
                    return Err(FiscalYearError::AmbiguousYear {
                        input: original.clone(),
                    });
                }
                let year = y.parse::<i32>().map_err(|_| unrecognised())?;
                FiscalYear::new(year).map_err(|_| FiscalYearError::OutOfRange {
                    input: original.clone(),
                    min: Self::MIN_YEAR,
                    max: Self::MAX_YEAR,
                })
            }
            [Token::Era(era), year] => {
                let era_year = era_year_of(year).ok_or_else(unrecognised)?;
                Self::from_era_year(*era, era_year, &original)
            }
            _ => Err(unrecognised()),
        }
    }

    fn from_era_year(era: Era, era_year: u32, input: &str) -> Result<FiscalYear, FiscalYearError> {
        if era_year == 0 {
            return Err(FiscalYearError::Unrecognised {
                input: input.to_owned(),
            });
        }
        let year = i64::from(era.first_year()) + i64::from(era_year) - 1;
        let fy = i32::try_from(year)
            .ok()
            .and_then(|y| FiscalYear::new(y).ok())
            .ok_or_else(|| FiscalYearError::OutOfRange {
                input: input.to_owned(),
                min: Self::MIN_YEAR,
                max: Self::MAX_YEAR,
            })?;
        // The 年度 must overlap the era: 平成31年度 (April 2019) is fine, 平成32年度 is not.
        let overlaps = fy.end() >= era.start() && era.end().is_none_or(|end| fy.start() <= end);
        if !overlaps {
            let hint = format!("（{}ではありませんか）", fy.label_wareki());
            return Err(FiscalYearError::OutsideEra {
                input: input.to_owned(),
                era,
                hint,
            });
        }
        Ok(fy)
    }
}

impl fmt::Display for FiscalYear {
    /// 「令和8年度」.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label_wareki())
    }
}

impl FromStr for FiscalYear {
    type Err = FiscalYearError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FiscalYear::parse(s)
    }
}

impl TryFrom<i32> for FiscalYear {
    type Error = FiscalYearError;

    fn try_from(year: i32) -> Result<Self, Self::Error> {
        FiscalYear::new(year)
    }
}

impl From<FiscalYear> for i32 {
    fn from(fy: FiscalYear) -> i32 {
        fy.0
    }
}

/// Serde helpers that write a [`Date`] as `2026-04-01` and read back anything [`parse_date`]
/// accepts, for use with `#[serde(with = "mamori_core::calendar::iso_date")]`.
pub mod iso_date {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::Date;

    /// Writes `2026-04-01`.
    pub fn serialize<S: Serializer>(date: &Date, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format_iso(*date))
    }

    /// Reads any shape [`super::parse_date`] accepts.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Date, D::Error> {
        let s = String::deserialize(d)?;
        super::parse_date(&s).map_err(serde::de::Error::custom)
    }
}

/// Like [`iso_date`], for `Option<Date>` (absent or `null` is `None`).
pub mod iso_date_option {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::Date;

    /// Writes `2026-04-01` or `null`.
    pub fn serialize<S: Serializer>(date: &Option<Date>, s: S) -> Result<S::Ok, S::Error> {
        match date {
            Some(d) => s.serialize_some(&super::format_iso(*d)),
            None => s.serialize_none(),
        }
    }

    /// Reads `null` or any shape [`super::parse_date`] accepts.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Date>, D::Error> {
        match Option::<String>::deserialize(d)? {
            Some(s) => super::parse_date(&s)
                .map(Some)
                .map_err(serde::de::Error::custom),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::date;

    #[test]
    fn era_boundaries() {
        assert_eq!(format_wareki(date!(2019 - 04 - 30)), "平成31年4月30日");
        assert_eq!(format_wareki(date!(2019 - 05 - 01)), "令和元年5月1日");
        assert_eq!(format_wareki(date!(1989 - 01 - 07)), "昭和64年1月7日");
        assert_eq!(format_wareki(date!(1989 - 01 - 08)), "平成元年1月8日");
        assert_eq!(format_wareki(date!(1926 - 12 - 24)), "大正15年12月24日");
        assert_eq!(format_wareki(date!(1926 - 12 - 25)), "昭和元年12月25日");
        assert_eq!(format_wareki(date!(1912 - 07 - 29)), "明治45年7月29日");
        assert_eq!(format_wareki(date!(1912 - 07 - 30)), "大正元年7月30日");
        assert_eq!(format_wareki(date!(1873 - 01 - 01)), "明治6年1月1日");
        assert_eq!(format_wareki(date!(1872 - 12 - 31)), "1872年12月31日");
        assert_eq!(Era::Heisei.end(), Some(date!(2019 - 04 - 30)));
        assert_eq!(Era::Reiwa.end(), None);
    }

    #[test]
    fn formats() {
        let d = date!(2026 - 04 - 01);
        assert_eq!(format_wareki(d), "令和8年4月1日");
        assert_eq!(format_wareki_short(d), "R8.4.1");
        assert_eq!(format_seireki(d), "2026年4月1日");
        assert_eq!(format_slash(d), "2026/4/1");
        assert_eq!(format_iso(d), "2026-04-01");
        assert_eq!(format_date(d, DateStyle::default()), "令和8年4月1日");
    }

    #[test]
    fn parses_every_documented_shape() {
        let d = date!(2026 - 04 - 01);
        for s in [
            "2026-04-01",
            "2026/4/1",
            "2026.4.1",
            "2026年4月1日",
            "2026年4月1",
            "20260401",
            "令和8年4月1日",
            "令和 8年 4月 1日",
            "R8.4.1",
            "R8/4/1",
            "r8-04-01",
            "R08.04.01",
            "令8.4.1",
            "令和8.4.1",
            "２０２６／４／１",
            "令和８年４月１日",
            "Ｒ８．４．１",
            "  2026/4/1  ",
            "2026/04/01 0:00:00",
            "2026/4/1 00:00",
        ] {
            assert_eq!(parse_date(s), Ok(d), "{s}");
        }
        assert_eq!(parse_date("H31.4.30"), Ok(date!(2019 - 04 - 30)));
        assert_eq!(parse_date("令和元年5月1日"), Ok(date!(2019 - 05 - 01)));
        assert_eq!(parse_date("R元.5.1"), Ok(date!(2019 - 05 - 01)));
        assert_eq!(parse_date("令和1年5月1日"), Ok(date!(2019 - 05 - 01)));
        assert_eq!(parse_date("S64.1.7"), Ok(date!(1989 - 01 - 07)));
        assert_eq!(parse_date("㍻31年4月30日"), Ok(date!(2019 - 04 - 30)));
    }

    /// The variant name, so a table can say which refusal each input gets.
    fn kind(e: &DateError) -> &'static str {
        match e {
            DateError::Empty => "Empty",
            DateError::TooLong { .. } => "TooLong",
            DateError::Unrecognised { .. } => "Unrecognised",
            DateError::AmbiguousYear { .. } => "AmbiguousYear",
            DateError::HasTime { .. } => "HasTime",
            DateError::YearOutOfRange { .. } => "YearOutOfRange",
            DateError::NoSuchDate { .. } => "NoSuchDate",
            DateError::EraYearZero { .. } => "EraYearZero",
            DateError::OutsideEra { .. } => "OutsideEra",
            DateError::BeforeSolarCalendar { .. } => "BeforeSolarCalendar",
        }
    }

    #[test]
    fn refuses_ambiguous_and_invalid_input_in_japanese() {
        let long = "1".repeat(100);
        let cases = [
            ("", "Empty"),
            ("26/4/1", "AmbiguousYear"),
            ("2026/2/30", "NoSuchDate"),
            ("2026/13/1", "NoSuchDate"),
            ("4/1", "Unrecognised"),
            ("2026/4-1", "Unrecognised"),
            ("X8.4.1", "Unrecognised"),
            ("2026/4/1 10:30", "HasTime"),
            ("明治5年1月1日", "BeforeSolarCalendar"),
            ("R0.4.1", "EraYearZero"),
            ("1800/1/1", "YearOutOfRange"),
            ("昭和64年1月8日", "OutsideEra"),
            ("令和元年4月30日", "OutsideEra"),
            (long.as_str(), "TooLong"),
        ];
        for (input, expected) in cases {
            let e = parse_date(input).unwrap_err();
            assert_eq!(kind(&e), expected, "{input}");
            // Every message quotes what was typed, so an import can show it beside the cell.
            if !input.is_empty() && input.len() < 64 {
                assert!(e.to_string().contains(input), "{e}");
            }
        }
        let e = parse_date("平成31年5月1日").unwrap_err();
        assert_eq!(
            e.to_string(),
            "「平成31年5月1日」は平成の期間外です（平成は平成元年1月8日から平成31年4月30日まで）。令和元年5月1日ではありませんか"
        );
    }

    #[test]
    fn fiscal_year_basics() {
        let fy = FiscalYear::of(date!(2027 - 03 - 31));
        assert_eq!(fy.year(), 2026);
        assert_eq!(FiscalYear::of(date!(2026 - 04 - 01)).year(), 2026);
        assert_eq!(fy.start(), date!(2026 - 04 - 01));
        assert_eq!(fy.end(), date!(2027 - 03 - 31));
        assert_eq!(fy.label_wareki(), "令和8年度");
        assert_eq!(fy.label_seireki(), "2026年度");
        assert_eq!(fy.label_short(), "R8");
        assert_eq!(fy.to_string(), "令和8年度");
        assert_eq!(FiscalYear::new(2019).unwrap().label_wareki(), "令和元年度");
        assert_eq!(FiscalYear::new(2018).unwrap().label_wareki(), "平成30年度");
        assert_eq!(FiscalYear::new(1988).unwrap().label_wareki(), "昭和63年度");
        assert_eq!(FiscalYear::new(1989).unwrap().label_wareki(), "平成元年度");
        assert!(FiscalYear::new(1872).is_err());
        assert!(FiscalYear::new(9999).is_err());
        assert_eq!(FiscalYear::new(9998).unwrap().end(), date!(9999 - 03 - 31));
    }

    #[test]
    fn fiscal_year_parse() {
        for s in [
            "令和8年度",
            "R8",
            "r8",
            "R8年度",
            "2026",
            "2026年度",
            "２０２６年度",
            "令和８年度",
            " 令和8年 ",
        ] {
            assert_eq!(FiscalYear::parse(s).map(FiscalYear::year), Ok(2026), "{s}");
        }
        assert_eq!(
            FiscalYear::parse("令和元年度").map(FiscalYear::year),
            Ok(2019)
        );
        assert_eq!(
            FiscalYear::parse("平成31年度").map(FiscalYear::year),
            Ok(2019)
        );
        assert!(matches!(
            FiscalYear::parse("平成32年度"),
            Err(FiscalYearError::OutsideEra { .. })
        ));
        assert!(
            FiscalYear::parse("平成32年度")
                .unwrap_err()
                .to_string()
                .contains("令和2年度")
        );
        assert!(matches!(
            FiscalYear::parse("26"),
            Err(FiscalYearError::AmbiguousYear { .. })
        ));
        assert!(matches!(
            FiscalYear::parse("来年度"),
            Err(FiscalYearError::Unrecognised { .. })
        ));
        assert_eq!(FiscalYear::parse(""), Err(FiscalYearError::Empty));
        assert!(matches!(
            FiscalYear::parse("1800"),
            Err(FiscalYearError::OutOfRange { .. })
        ));
    }

    #[test]
    fn fiscal_year_serde_is_the_year() {
        let fy = FiscalYear::new(2026).unwrap();
        assert_eq!(serde_json::to_string(&fy).unwrap(), "2026");
        assert_eq!(serde_json::from_str::<FiscalYear>("2026").unwrap(), fy);
        assert!(serde_json::from_str::<FiscalYear>("1").is_err());
    }

    fn any_date() -> impl Strategy<Value = Date> {
        let min = date!(1873 - 01 - 01).to_julian_day();
        let max = date!(9999 - 12 - 31).to_julian_day();
        (min..=max).prop_map(|jd| Date::from_julian_day(jd).unwrap())
    }

    proptest! {
        #[test]
        fn wareki_round_trips(d in any_date()) {
            prop_assert_eq!(parse_date(&format_wareki(d)), Ok(d));
            prop_assert_eq!(parse_date(&format_wareki_short(d)), Ok(d));
        }

        #[test]
        fn seireki_round_trips(d in any_date()) {
            prop_assert_eq!(parse_date(&format_seireki(d)), Ok(d));
            prop_assert_eq!(parse_date(&format_slash(d)), Ok(d));
            prop_assert_eq!(parse_date(&format_iso(d)), Ok(d));
        }

        #[test]
        fn fiscal_year_contains_its_dates(d in any_date()) {
            let fy = FiscalYear::of(d);
            if d.year() < 9999 && d >= date!(1873 - 04 - 01) {
                prop_assert!(fy.contains(d));
            }
        }

        #[test]
        fn fiscal_year_labels_round_trip(y in FiscalYear::MIN_YEAR..=FiscalYear::MAX_YEAR) {
            let fy = FiscalYear::new(y).unwrap();
            prop_assert_eq!(FiscalYear::parse(&fy.label_wareki()), Ok(fy));
            prop_assert_eq!(FiscalYear::parse(&fy.label_seireki()), Ok(fy));
            prop_assert_eq!(FiscalYear::parse(&fy.label_short()), Ok(fy));
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,40}") {
            let _ = parse_date(&s);
            let _ = FiscalYear::parse(&s);
        }
    }
}
