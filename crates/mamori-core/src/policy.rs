//! The basic policy (情報セキュリティ基本方針): its shipped structure, and the splitting of a
//! policy's full text into sections.
//!
//! mamori ships only the *structure* of the policy — section numbers and titles, the defined
//! terms, the threat classes, the scope — with short summaries written for mamori. The full
//! wording belongs to each government and is loaded by [`split_policy_text`], which reads the text
//! as the government publishes it (plain text or Markdown) and splits it by its own numbering.
//!
//! Most municipal policies follow the national guideline's ten-section layout, so
//! [`PolicyOutline`] describes any of them; [`PolicyOutline::default`] is the union's.

use serde::{Deserialize, Serialize};
use time::Date;

use crate::calendar;

// ---------------------------------------------------------------------------------------------
// Shipped structure
// ---------------------------------------------------------------------------------------------

/// What a top-level section of a basic policy is about, independent of its number, so pages can
/// link to "the scope section" whatever a government numbered it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SectionKey {
    /// 目的.
    Purpose,
    /// 定義.
    Definitions,
    /// 対象とする脅威.
    Threats,
    /// 適用範囲.
    Scope,
    /// 職員等の遵守義務.
    Duties,
    /// 情報セキュリティ対策.
    Measures,
    /// 情報セキュリティ監査及び自己点検の実施.
    AuditAndSelfInspection,
    /// 情報セキュリティポリシーの見直し.
    Review,
    /// 情報セキュリティ対策基準の策定.
    Standards,
    /// 情報セキュリティ実施手順の策定.
    Procedures,
}

/// A basic policy's structure: sections, defined terms, threats and scope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyOutline {
    /// The organisation the policy belongs to (峡南広域行政組合).
    pub organisation: String,
    /// The document's title (情報セキュリティ基本方針).
    pub title: String,
    /// The day the policy was adopted, when known.
    #[serde(with = "calendar::iso_date_option", default)]
    pub adopted: Option<Date>,
    /// Top-level sections in order.
    pub sections: Vec<SectionOutline>,
    /// The terms defined in the definitions section.
    pub terms: Vec<DefinedTerm>,
    /// The threat classes the measures are built against.
    pub threats: Vec<ThreatClass>,
    /// Which bodies and which kinds of asset the policy covers.
    pub scope: PolicyScope,
}

/// One top-level section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SectionOutline {
    /// The section's number as the policy writes it (1–10 in the guideline's layout).
    pub number: u32,
    /// What the section is about, when it is one of the guideline's sections.
    pub key: Option<SectionKey>,
    /// The section's title.
    pub title: String,
    /// A short summary written for mamori (not the policy's own words).
    pub summary: String,
    /// Numbered parts of the section worth naming on their own (the nine measures of §6).
    pub items: Vec<ItemOutline>,
}

/// A numbered part inside a section, such as 「6(3) 情報システム全体の強靱性の向上」.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemOutline {
    /// The item number, (1) → 1.
    pub number: u32,
    /// The item's title.
    pub title: String,
    /// A short summary written for mamori.
    pub summary: String,
}

/// A term the policy defines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DefinedTerm {
    /// The item number in the definitions section.
    pub number: u32,
    /// A stable key, shared with [`crate::glossary`] where the term appears in code.
    pub key: String,
    /// The term as written (マイナンバー利用事務系).
    pub term: String,
    /// Another name the policy gives in parentheses (個人番号利用事務系), if any.
    pub also_called: Option<String>,
    /// A short definition written for mamori.
    pub definition: String,
}

/// A class of threat the policy names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreatClass {
    /// The item number in the threats section.
    pub number: u32,
    /// A stable id used by risk analysis (`deliberate`, `accidental`, …).
    pub id: String,
    /// A short name.
    pub name: String,
    /// A short summary written for mamori.
    pub summary: String,
}

/// The policy's scope: bodies and asset kinds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyScope {
    /// The bodies (所属) the policy applies to.
    pub bodies: Vec<ScopeBody>,
    /// The kinds of information asset it covers.
    pub asset_kinds: Vec<ScopeAssetKind>,
}

/// A body the policy applies to (事務局, 消防, 慈生園).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeBody {
    /// A stable code, shared with [`crate::glossary`].
    pub code: String,
    /// The body's name as the policy writes it.
    pub name: String,
}

/// A kind of information asset in scope (①②③ of §4(2)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeAssetKind {
    /// The marker the policy uses (①).
    pub marker: String,
    /// A stable code, shared with [`crate::glossary`] (`system`, `information`, `document`).
    pub code: String,
    /// A short name.
    pub name: String,
    /// A short summary written for mamori.
    pub summary: String,
}

/// Section number, key, title, summary — the guideline's ten sections.
const SECTIONS: [(u32, SectionKey, &str, &str); 10] = [
    (
        1,
        SectionKey::Purpose,
        "目的",
        "組織が預かる情報資産（構成団体の住民の個人情報を含む）を、機密性・完全性・可用性の三つの面から守るために、取り組む対策の基本を示す。",
    ),
    (
        2,
        SectionKey::Definitions,
        "定義",
        "この方針で使う言葉の意味を決める。ネットワークや情報システム、守るべき三つの性質、三つのネットワーク領域、通信経路の分割と無害化通信など。",
    ),
    (
        3,
        SectionKey::Threats,
        "対象とする脅威",
        "対策の前提として想定する脅威を、意図的なもの、過失や不備によるもの、災害、疾病による人手不足、社会インフラの障害の五つに分けて挙げる。",
    ),
    (
        4,
        SectionKey::Scope,
        "適用範囲",
        "方針が及ぶ組織と、対象となる情報資産の種類（機器・システム、そこで扱う情報、システムの文書）を決める。",
    ),
    (
        5,
        SectionKey::Duties,
        "職員等の遵守義務",
        "雇用の形にかかわらず全ての職員等が、セキュリティの大切さを共有し、ポリシーと実施手順に従って仕事をする義務を負う。",
    ),
    (
        6,
        SectionKey::Measures,
        "情報セキュリティ対策",
        "脅威から情報資産を守る対策を、体制づくりから評価・見直しまでの九つの分野に分けて示す。",
    ),
    (
        7,
        SectionKey::AuditAndSelfInspection,
        "情報セキュリティ監査及び自己点検の実施",
        "ポリシーが守られているかを、定期的に、また必要なときに、監査と自己点検で確かめる。",
    ),
    (
        8,
        SectionKey::Review,
        "情報セキュリティポリシーの見直し",
        "監査や自己点検の結果、または状況の変化を受けて、脅威の起こりやすさと影響を分析し直し、ポリシーを改める。",
    ),
    (
        9,
        SectionKey::Standards,
        "情報セキュリティ対策基準の策定",
        "第6から第8の対策を実行するための具体的な守るべき事項と判断の基準を、対策基準として別に定める。",
    ),
    (
        10,
        SectionKey::Procedures,
        "情報セキュリティ実施手順の策定",
        "対策基準に沿った具体的な作業の手順を実施手順として定める。公開すると行政の運営に支障が出るおそれがあるため、実施手順は公開しない。",
    ),
];

/// The nine measures of §6.
const MEASURES: [(&str, &str); 9] = [
    (
        "組織体制",
        "組織全体で対策を進めるための責任と役割の体制を整える。",
    ),
    (
        "情報資産の分類と管理",
        "情報資産を機密性・完全性・可用性で格付けし、格付けに応じた扱い方で管理する。",
    ),
    (
        "情報システム全体の強靱性の向上",
        "システムをマイナンバー利用事務系・LGWAN接続系・インターネット接続系に分け、領域ごとに分離・無害化・監視の対策をとる。",
    ),
    (
        "物理的セキュリティ",
        "サーバ室、機器の設置場所、回線、職員等の端末を物理的に守る。",
    ),
    (
        "人的セキュリティ",
        "職員等が守る事項を決め、教育と啓発を十分に行う。",
    ),
    (
        "技術的セキュリティ",
        "機器の管理、アクセス制御、不正プログラム対策、不正アクセス対策などの技術的な手段をとる。",
    ),
    (
        "運用",
        "システムの監視、ポリシーの遵守状況の確認、委託時の安全確保を行い、事故に速やかに対処できるよう緊急時対応計画を作る。",
    ),
    (
        "業務委託と外部サービス(クラウドサービス)の利用",
        "委託先を選んで安全要件を契約に書き、その実施を確かめる。クラウドサービスの利用規定を整え、ソーシャルメディアは運用手順・発信できる情報・アカウントごとの責任者を決める。",
    ),
    (
        "評価・見直し",
        "監査と自己点検で遵守状況を確かめて運用を改善し、必要に応じてポリシーを見直す。",
    ),
];

/// Key, term, other name, definition — the twelve terms of §2.
const TERMS: [(&str, &str, Option<&str>, &str); 12] = [
    (
        "network",
        "ネットワーク",
        None,
        "コンピュータなどをつなぐ通信網と、それを形づくる機器やソフトウェア。",
    ),
    (
        "information_system",
        "情報システム",
        None,
        "コンピュータ、ネットワーク、電磁的記録媒体からなり、情報を処理する仕組み。",
    ),
    (
        "information_security",
        "情報セキュリティ",
        None,
        "情報資産の機密性・完全性・可用性を保つこと。",
    ),
    (
        "security_policy",
        "情報セキュリティポリシー",
        None,
        "基本方針と対策基準を合わせたもの（実施手順は含まない）。",
    ),
    (
        "confidentiality",
        "機密性",
        None,
        "見てよいと認められた人だけが情報を見られる状態。",
    ),
    (
        "integrity",
        "完全性",
        None,
        "情報が壊されたり、書き換えられたり、消されたりしていない状態。",
    ),
    (
        "availability",
        "可用性",
        None,
        "認められた人が、必要なときに途切れることなく情報を使える状態。",
    ),
    (
        "zone_mynumber",
        "マイナンバー利用事務系",
        Some("個人番号利用事務系"),
        "個人番号を使う事務（社会保障・地方税・防災）や戸籍事務などのシステムとそのデータ。",
    ),
    (
        "zone_lgwan",
        "LGWAN接続系",
        None,
        "LGWANにつながるシステムとそこで扱うデータ。マイナンバー利用事務系は含まない。",
    ),
    (
        "zone_internet",
        "インターネット接続系",
        None,
        "インターネットメールやホームページ管理など、インターネットにつながるシステムとそのデータ。",
    ),
    (
        "path_separation",
        "通信経路の分割",
        None,
        "マイナンバー利用事務系・LGWAN接続系とインターネット接続系の通信環境を分け、安全を確かめた通信だけを通すようにすること。",
    ),
    (
        "sanitized_communication",
        "無害化通信",
        None,
        "メール本文のテキスト化や画面転送などにより、不正プログラムが入り込まないようにした通信。",
    ),
];

/// Id, name, summary — the five threat classes of §3.
const THREATS: [(&str, &str, &str); 5] = [
    (
        "deliberate",
        "意図的な要因",
        "サイバー攻撃（不正アクセス、マルウェア、サービス妨害）、外部の者の侵入、内部不正などにより、情報が漏れ、壊され、書き換えられ、消され、だまし取られること。",
    ),
    (
        "accidental",
        "非意図的な要因",
        "無断持ち出しなどの規定違反、設計や設定の誤り、プログラムの欠陥、保守・監査・委託管理の不備、機器の故障などにより、情報が漏れ、壊され、消されること。",
    ),
    (
        "disaster",
        "災害",
        "地震、落雷、火災などで、サービスや業務が止まること。",
    ),
    (
        "pandemic",
        "疾病による要員不足",
        "広い範囲で病気が流行して担当者が足りなくなり、システムの運用が回らなくなること。",
    ),
    (
        "infrastructure",
        "インフラの障害",
        "電力、通信、水道などの供給が途絶え、その影響が業務やシステムに及ぶこと。",
    ),
];

/// Marker, code, name, summary — the three asset kinds of §4(2).
const ASSET_KINDS: [(&str, &str, &str, &str); 3] = [
    (
        "①",
        "system",
        "ネットワーク・情報システム・設備・記録媒体",
        "ネットワークと情報システム、それらの設備、電磁的記録媒体。",
    ),
    (
        "②",
        "information",
        "情報",
        "ネットワークや情報システムで扱う情報。印刷した文書も含む。",
    ),
    (
        "③",
        "document",
        "システム関連文書",
        "情報システムの仕様書やネットワーク図などの文書。",
    ),
];

/// The union's bodies (§4(1)).
const UNION_BODIES: [(&str, &str); 3] = [
    ("jimukyoku", "事務局"),
    ("shobo", "消防"),
    ("jiseien", "慈生園"),
];

impl PolicyOutline {
    /// The guideline's ten-section structure for any organisation, with its own bodies.
    pub fn standard(organisation: &str, bodies: Vec<ScopeBody>, adopted: Option<Date>) -> Self {
        let sections = SECTIONS
            .iter()
            .map(|&(number, key, title, summary)| SectionOutline {
                number,
                key: Some(key),
                title: title.to_owned(),
                summary: summary.to_owned(),
                items: if key == SectionKey::Measures {
                    measure_items()
                } else {
                    Vec::new()
                },
            })
            .collect();
        let terms = (1..)
            .zip(TERMS.iter())
            .map(
                |(number, &(key, term, also_called, definition))| DefinedTerm {
                    number,
                    key: key.to_owned(),
                    term: term.to_owned(),
                    also_called: also_called.map(str::to_owned),
                    definition: definition.to_owned(),
                },
            )
            .collect();
        let threats = (1..)
            .zip(THREATS.iter())
            .map(|(number, &(id, name, summary))| ThreatClass {
                number,
                id: id.to_owned(),
                name: name.to_owned(),
                summary: summary.to_owned(),
            })
            .collect();
        let asset_kinds = ASSET_KINDS
            .iter()
            .map(|&(marker, code, name, summary)| ScopeAssetKind {
                marker: marker.to_owned(),
                code: code.to_owned(),
                name: name.to_owned(),
                summary: summary.to_owned(),
            })
            .collect();
        PolicyOutline {
            organisation: organisation.to_owned(),
            title: "情報セキュリティ基本方針".to_owned(),
            adopted,
            sections,
            terms,
            threats,
            scope: PolicyScope {
                bodies,
                asset_kinds,
            },
        }
    }

    /// The section about `key`, if the policy has one.
    pub fn section(&self, key: SectionKey) -> Option<&SectionOutline> {
        self.sections.iter().find(|s| s.key == Some(key))
    }

    /// The section numbered `number`.
    pub fn section_by_number(&self, number: u32) -> Option<&SectionOutline> {
        self.sections.iter().find(|s| s.number == number)
    }

    /// The threat class with this id.
    pub fn threat(&self, id: &str) -> Option<&ThreatClass> {
        self.threats.iter().find(|t| t.id == id)
    }

    /// The defined term with this key.
    pub fn term(&self, key: &str) -> Option<&DefinedTerm> {
        self.terms.iter().find(|t| t.key == key)
    }
}

fn measure_items() -> Vec<ItemOutline> {
    (1..)
        .zip(MEASURES.iter())
        .map(|(number, &(title, summary))| ItemOutline {
            number,
            title: title.to_owned(),
            summary: summary.to_owned(),
        })
        .collect()
}

impl Default for PolicyOutline {
    /// 峡南広域行政組合's basic policy, adopted 令和8年4月1日.
    fn default() -> Self {
        let bodies = UNION_BODIES
            .iter()
            .map(|&(code, name)| ScopeBody {
                code: code.to_owned(),
                name: name.to_owned(),
            })
            .collect();
        let adopted = Date::from_calendar_date(2026, time::Month::April, 1).ok();
        PolicyOutline::standard("峡南広域行政組合", bodies, adopted)
    }
}

// ---------------------------------------------------------------------------------------------
// Import of a policy's full text
// ---------------------------------------------------------------------------------------------

/// Limits on a policy text; a real basic policy is a few pages, so these leave ample room while
/// keeping a mistaken upload (a database dump, a binary file) from being processed at length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportLimits {
    /// Largest accepted text, in bytes.
    pub max_bytes: usize,
    /// Most lines.
    pub max_lines: usize,
    /// Longest line, in characters.
    pub max_line_chars: usize,
    /// Most top-level sections.
    pub max_sections: usize,
    /// Most numbered items in one section, at all depths.
    pub max_items_per_section: usize,
    /// Deepest nesting of numbered items ((1) → ① → (ア) → ア is four).
    pub max_depth: usize,
}

impl Default for ImportLimits {
    fn default() -> Self {
        ImportLimits {
            max_bytes: 1024 * 1024,
            max_lines: 20_000,
            max_line_chars: 10_000,
            max_sections: 100,
            max_items_per_section: 1_000,
            max_depth: 4,
        }
    }
}

/// A policy text split by its numbering.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportedPolicy {
    /// The document's title: the last heading line before the first section
    /// (「情報セキュリティ基本方針」), if there is one.
    pub title: Option<String>,
    /// Every line before the first section other than dates and the table of contents
    /// (organisation name, series name, title).
    pub front_matter: Vec<String>,
    /// Dated lines before the first section (「令和8年4月1日 策定」), in order.
    pub dates: Vec<PolicyDate>,
    /// Top-level sections in order.
    pub sections: Vec<ImportedSection>,
    /// How many table-of-contents lines were skipped.
    pub contents_lines_skipped: usize,
}

impl ImportedPolicy {
    /// The adoption date: the first dated line (策定), if any.
    pub fn adopted(&self) -> Option<Date> {
        self.dates.first().map(|d| d.date)
    }

    /// The latest dated line (the last 改定), if any.
    pub fn latest_date(&self) -> Option<Date> {
        self.dates.iter().map(|d| d.date).max()
    }

    /// The section numbered `number`.
    pub fn section(&self, number: u32) -> Option<&ImportedSection> {
        self.sections.iter().find(|s| s.number == number)
    }
}

/// A dated line such as 「令和8年4月1日 策定」.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyDate {
    /// 1-based line number in the text.
    pub line: usize,
    /// The date.
    #[serde(with = "calendar::iso_date")]
    pub date: Date,
    /// The word after the date (策定, 改定, 施行, …), or empty.
    pub event: String,
    /// The line as written.
    pub text: String,
}

/// One top-level section of an imported text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportedSection {
    /// The section number (「第3」 and 「3.」 are both 3).
    pub number: u32,
    /// The title after the number.
    pub title: String,
    /// 1-based line number of the heading.
    pub line: usize,
    /// Text before the first numbered item, paragraphs separated by a newline.
    pub body: String,
    /// Numbered items, nested by marker kind.
    pub items: Vec<ImportedItem>,
}

/// The kinds of item numbering found in Japanese documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemMarkerKind {
    /// (1) or （１）.
    ParenDigit,
    /// ①.
    Circled,
    /// (ア) or （ア）.
    ParenKana,
    /// ア followed by a space.
    Kana,
}

/// A numbered item inside a section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportedItem {
    /// The marker as written (「(1)」, 「①」).
    pub marker: String,
    /// The marker's kind.
    pub kind: ItemMarkerKind,
    /// The marker's ordinal: (3) → 3, ③ → 3, (ウ) → 3.
    pub number: u32,
    /// 1-based line number of the marker line.
    pub line: usize,
    /// The text on the marker line after the marker (a heading such as 「ネットワーク」, or the
    /// whole item).
    pub text: String,
    /// Following lines up to the next item or section.
    pub body: String,
    /// Items of a deeper marker kind.
    pub children: Vec<ImportedItem>,
}

/// Why a policy text could not be split; names the line where one is involved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{kind}", line.map(|l| format!("{l}行目: ")).unwrap_or_default())]
pub struct PolicyImportError {
    /// 1-based line number, when the problem is on a line.
    pub line: Option<usize>,
    /// What is wrong.
    pub kind: PolicyImportErrorKind,
}

/// What is wrong with a policy text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyImportErrorKind {
    /// Nothing but white space.
    #[error("本文が空です")]
    Empty,
    /// Larger than the limit.
    #[error("本文が大きすぎます（{bytes}バイト。上限は{max}バイト）")]
    TooLarge {
        /// Size of the text.
        bytes: usize,
        /// The limit.
        max: usize,
    },
    /// More lines than the limit.
    #[error("行数が多すぎます（上限は{max}行）")]
    TooManyLines {
        /// The limit.
        max: usize,
    },
    /// A line longer than the limit.
    #[error("行が長すぎます（{chars}文字。上限は{max}文字）")]
    LineTooLong {
        /// Length of the line.
        chars: usize,
        /// The limit.
        max: usize,
    },
    /// A control character that no text document contains (a binary file was given).
    #[error("制御文字 U+{code:04X} が含まれています。テキストファイルを指定してください")]
    ControlCharacter {
        /// The character's code point.
        code: u32,
    },
    /// No numbered section was found.
    #[error(
        "番号付きの節（「1. 目的」「第1 目的」「## 1. 目的」など）が見つかりません。節の見出しを番号付きで書いてください"
    )]
    NoSections,
    /// A section number was skipped.
    #[error("節の番号が飛んでいます（第{expected}節がないまま「{text}」があります）")]
    NumberGap {
        /// The number that should have come.
        expected: u32,
        /// The heading as written.
        text: String,
    },
    /// In Markdown, a numbered heading repeats or goes back.
    #[error("節の番号が重複しているか、順序が逆です（「{text}」。直前は第{previous}節）")]
    NumberOutOfOrder {
        /// The previous section's number.
        previous: u32,
        /// The heading as written.
        text: String,
    },
    /// More sections than the limit.
    #[error("節が多すぎます（上限は{max}）")]
    TooManySections {
        /// The limit.
        max: usize,
    },
    /// More items in one section than the limit.
    #[error("第{section}節の番号付き項目が多すぎます（上限は{max}）")]
    TooManyItems {
        /// The section number.
        section: u32,
        /// The limit.
        max: usize,
    },
    /// Items nested deeper than the limit.
    #[error("番号付き項目の入れ子が深すぎます（上限は{max}段）")]
    TooDeep {
        /// The limit.
        max: usize,
    },
    /// A line that announces a date (… 策定) whose date cannot be read.
    #[error("日付を読み取れません: {reason}")]
    BadDate {
        /// The date parser's message.
        reason: String,
    },
}

/// Splits a policy's full text with the default [`ImportLimits`].
///
/// Accepts plain text (like the text a word processor saves) and Markdown. Sections are numbered
/// lines — 「1. 目的」, 「１．目的」, 「第1 目的」, 「第一 目的」, 「## 1. 目的」 — and items inside them
/// are (1) / （１）, ①, (ア) and ア. A table of contents (a 目次 line and the entries after it, or
/// entries ending in a page number after a tab or leader dots) is skipped. Dated lines before the
/// first section (「令和8年4月1日 策定」) are read with [`calendar::parse_date`].
pub fn split_policy_text(text: &str) -> Result<ImportedPolicy, PolicyImportError> {
    split_policy_text_with(text, &ImportLimits::default())
}

/// Splits a policy's full text with explicit limits; see [`split_policy_text`].
pub fn split_policy_text_with(
    text: &str,
    limits: &ImportLimits,
) -> Result<ImportedPolicy, PolicyImportError> {
    let lines = checked_lines(text, limits)?;
    let headings: Vec<Option<Heading>> = lines.iter().map(|l| parse_heading(l)).collect();
    // Markdown is recognised by a numbered `#` heading; then only headings at that level start
    // sections, which keeps numbered lists in the body from being taken for sections.
    let markdown_level = headings
        .iter()
        .flatten()
        .filter(|h| !h.is_contents_entry)
        .find_map(|h| h.hashes);
    let mut builder = Builder::new(limits);
    // Inside a table of contents: the number of its last entry.
    let mut contents: Option<u32> = None;
    for (index, (line, heading)) in lines.iter().zip(headings).enumerate() {
        let number = index + 1;
        let trimmed = line.trim();
        if trimmed.is_empty() {
            continue;
        }
        let stripped = strip_markdown(trimmed);
        if crate::text::fold(stripped) == "目次" {
            contents = Some(0);
            builder.contents_lines_skipped += 1;
            continue;
        }
        if let Some(h) = heading.as_ref().filter(|h| h.is_contents_entry) {
            contents = contents.map(|_| h.number);
            builder.contents_lines_skipped += 1;
            continue;
        }
        if let Some(last) = contents {
            // Entries without page numbers are numbered titles that keep counting up; a number
            // that starts again, or any other line, is where the document itself begins.
            let entry = match heading.as_ref().map(|h| h.number) {
                Some(n) if n > last => Some(n),
                None if looks_like_contents_entry(stripped) => Some(last),
                _ => None,
            };
            contents = entry;
            if entry.is_some() {
                builder.contents_lines_skipped += 1;
                continue;
            }
        }
        let section_heading = heading.filter(|h| match markdown_level {
            Some(level) => h.hashes == Some(level),
            None => h.hashes.is_none() && is_standalone(&lines, index),
        });
        if let Some(h) = section_heading {
            builder.heading(h, number, markdown_level.is_some())?;
            continue;
        }
        builder.line(stripped, trimmed, number)?;
    }
    builder.finish()
}

/// Validates size, lines and characters, and returns the lines.
fn checked_lines<'a>(
    text: &'a str,
    limits: &ImportLimits,
) -> Result<Vec<&'a str>, PolicyImportError> {
    let whole = |kind| PolicyImportError { line: None, kind };
    if text.len() > limits.max_bytes {
        return Err(whole(PolicyImportErrorKind::TooLarge {
            bytes: text.len(),
            max: limits.max_bytes,
        }));
    }
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim().is_empty() {
        return Err(whole(PolicyImportErrorKind::Empty));
    }
    // Lone CR (old Mac files) and form feeds (page breaks from PDF converters) end lines too.
    let lines: Vec<&str> = text.split(['\n', '\r', '\u{c}']).collect();
    // `\r\n` yields an empty piece between the two; counting pieces would double the line
    // numbers, so numbering follows `\n` when the text has any.
    let lines: Vec<&str> = if text.contains('\n') {
        text.split('\n')
            .map(|l| l.trim_end_matches(['\r', '\u{c}']))
            .collect()
    } else {
        lines
    };
    if lines.len() > limits.max_lines {
        return Err(whole(PolicyImportErrorKind::TooManyLines {
            max: limits.max_lines,
        }));
    }
    for (index, line) in lines.iter().enumerate() {
        let at = |kind| PolicyImportError {
            line: Some(index + 1),
            kind,
        };
        let chars = line.chars().count();
        if chars > limits.max_line_chars {
            return Err(at(PolicyImportErrorKind::LineTooLong {
                chars,
                max: limits.max_line_chars,
            }));
        }
        if let Some(c) = line
            .chars()
            .find(|&c| c.is_control() && c != '\t' && c != '\u{c}')
        {
            return Err(at(PolicyImportErrorKind::ControlCharacter {
                code: u32::from(c),
            }));
        }
    }
    Ok(lines)
}

/// A line that looks like a numbered section heading.
#[derive(Debug, Clone)]
struct Heading {
    number: u32,
    title: String,
    /// The number of `#` before it, for Markdown.
    hashes: Option<usize>,
    /// Ends in a page number: an entry of a table of contents.
    is_contents_entry: bool,
    /// The line as written, for messages.
    text: String,
}

/// In plain text a heading stands alone: the line before it is blank (or the start).
fn is_standalone(lines: &[&str], index: usize) -> bool {
    index == 0 || lines.get(index - 1).is_some_and(|l| l.trim().is_empty())
}

/// Removes Markdown heading marks and list bullets.
fn strip_markdown(line: &str) -> &str {
    let s = line.trim_start_matches('#').trim_start();
    for bullet in ["- ", "* ", "+ "] {
        if let Some(rest) = s.strip_prefix(bullet) {
            return rest.trim_start();
        }
    }
    s
}

/// Reads 「1. 目的」, 「第1 目的」, 「第一条 目的」, 「## 1. 目的」; `None` for anything else.
fn parse_heading(line: &str) -> Option<Heading> {
    let trimmed = line.trim();
    let hashes = trimmed.chars().take_while(|&c| c == '#').count();
    let after_hashes = trimmed.get(hashes..)?.trim_start();
    let normalized = crate::text::normalize(after_hashes);
    let (number, rest) = if let Some(rest) = normalized.strip_prefix('第') {
        let (number, rest) = leading_number(rest)?;
        // 「第三者」 is not a heading: the number must be followed by 条/章/節 or a space.
        let rest = rest
            .strip_prefix(['条', '章', '節'])
            .or_else(|| rest.starts_with(char::is_whitespace).then_some(rest))?;
        (number, rest)
    } else {
        let (number, rest) = leading_digits(&normalized)?;
        let rest = rest
            .strip_prefix(['.', '、'])
            .or_else(|| rest.starts_with(char::is_whitespace).then_some(rest))?;
        (number, rest)
    };
    let is_contents_entry = looks_like_contents_entry(after_hashes);
    let title = strip_page_number(rest).trim().to_owned();
    let sensible = !title.is_empty()
        && title.chars().count() <= 60
        && !title.contains('。')
        && !title.starts_with(|c: char| c.is_ascii_digit() || c == '.' || c == '/' || c == '-');
    if !sensible || number == 0 {
        return None;
    }
    Some(Heading {
        number,
        title,
        hashes: (hashes > 0).then_some(hashes),
        is_contents_entry,
        text: trimmed.to_owned(),
    })
}

/// Leading ASCII digits (at most three) and the rest.
fn leading_digits(s: &str) -> Option<(u32, &str)> {
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    if end == 0 || end > 3 {
        return None;
    }
    let (digits, rest) = s.split_at(end);
    Some((digits.parse().ok()?, rest))
}

/// Digits or kanji numerals up to 99 (一, 十, 十二, 二十三).
fn leading_number(s: &str) -> Option<(u32, &str)> {
    if let Some(found) = leading_digits(s) {
        return Some(found);
    }
    let digit = |c: char| "〇一二三四五六七八九".chars().position(|d| d == c);
    let mut value: u32 = 0;
    let mut current: Option<u32> = None;
    let mut consumed = 0;
    for c in s.chars() {
        if let Some(d) = digit(c) {
            current = Some(u32::try_from(d).ok()?);
        } else if c == '十' {
            value += current.unwrap_or(1) * 10;
            current = None;
        } else {
            break;
        }
        consumed += c.len_utf8();
    }
    if consumed == 0 {
        return None;
    }
    Some((value + current.unwrap_or(0), s.get(consumed..)?))
}

/// An entry of a table of contents ends in a page number after a tab, leader dots or a wide gap.
fn looks_like_contents_entry(line: &str) -> bool {
    let body = line.trim_end();
    let without_digits =
        body.trim_end_matches(|c: char| c.is_ascii_digit() || ('０'..='９').contains(&c));
    if without_digits.len() == body.len() || without_digits.is_empty() {
        return false;
    }
    without_digits.ends_with('\t')
        || without_digits.ends_with(['…', '‥', '・', '.', '．'])
        || without_digits.ends_with("  ")
        || without_digits.ends_with('　')
}

/// Removes a trailing page number and its leader from a contents entry's title.
fn strip_page_number(s: &str) -> &str {
    if !looks_like_contents_entry(s) {
        return s;
    }
    s.trim_end()
        .trim_end_matches(|c: char| c.is_ascii_digit())
        .trim_end_matches(|c: char| c.is_whitespace() || matches!(c, '…' | '‥' | '・' | '.'))
}

/// Reads an item marker at the start of a line: the kind, ordinal, the marker as written and
/// the text after it.
fn parse_item_marker(line: &str) -> Option<(ItemMarkerKind, u32, String, String)> {
    let first = line.chars().next()?;
    if let Some(n) = circled_number(first) {
        let rest = line.get(first.len_utf8()..)?.trim_start();
        return Some((
            ItemMarkerKind::Circled,
            n,
            first.to_string(),
            rest.to_owned(),
        ));
    }
    // Parenthesised markers: ASCII or full-width parentheses around digits or one katakana.
    let open_len = match first {
        '(' | '（' => first.len_utf8(),
        _ => 0,
    };
    if open_len > 0 {
        let inner_and_rest = line.get(open_len..)?;
        let close = inner_and_rest.find([')', '）'])?;
        let inner = inner_and_rest.get(..close)?;
        let close_char = inner_and_rest.get(close..)?.chars().next()?;
        let rest = inner_and_rest
            .get(close + close_char.len_utf8()..)?
            .trim_start();
        let marker = line
            .get(..open_len + close + close_char.len_utf8())?
            .to_owned();
        let folded = crate::text::normalize(inner);
        if let Some((n, "")) = leading_digits(&folded) {
            return Some((ItemMarkerKind::ParenDigit, n, marker, rest.to_owned()));
        }
        let mut chars = folded.chars();
        if let (Some(k), None) = (chars.next(), chars.next())
            && let Some(n) = kana_number(k)
        {
            return Some((ItemMarkerKind::ParenKana, n, marker, rest.to_owned()));
        }
        return None;
    }
    if let Some(n) = kana_number(first) {
        let rest = line.get(first.len_utf8()..)?;
        if rest.starts_with(char::is_whitespace) {
            return Some((
                ItemMarkerKind::Kana,
                n,
                first.to_string(),
                rest.trim_start().to_owned(),
            ));
        }
    }
    None
}

/// ① → 1 … ⑳ → 20, ㉑ → 21 … ㉟ → 35, ㊱ → 36 … ㊿ → 50.
fn circled_number(c: char) -> Option<u32> {
    let code = u32::from(c);
    match code {
        0x2460..=0x2473 => Some(code - 0x2460 + 1),
        0x3251..=0x325F => Some(code - 0x3251 + 21),
        0x32B1..=0x32BF => Some(code - 0x32B1 + 36),
        _ => None,
    }
}

/// The ordinal of a katakana item marker in アイウエオ order.
fn kana_number(c: char) -> Option<u32> {
    const ORDER: &str = "アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワヲン";
    let position = ORDER.chars().position(|k| k == c)?;
    u32::try_from(position + 1).ok()
}

/// Assembles sections and items as lines arrive.
struct Builder<'l> {
    limits: &'l ImportLimits,
    front_matter: Vec<String>,
    dates: Vec<PolicyDate>,
    sections: Vec<ImportedSection>,
    /// Path of indices from the current section's item list to the open item, and each level's
    /// marker kind.
    open: Vec<(ItemMarkerKind, usize)>,
    items_in_section: usize,
    contents_lines_skipped: usize,
}

impl<'l> Builder<'l> {
    fn new(limits: &'l ImportLimits) -> Self {
        Builder {
            limits,
            front_matter: Vec::new(),
            dates: Vec::new(),
            sections: Vec::new(),
            open: Vec::new(),
            items_in_section: 0,
            contents_lines_skipped: 0,
        }
    }

    fn heading(&mut self, h: Heading, line: usize, strict: bool) -> Result<(), PolicyImportError> {
        let at = |kind| PolicyImportError {
            line: Some(line),
            kind,
        };
        let previous = self.sections.last().map_or(0, |s| s.number);
        if h.number == previous + 1 {
            if self.sections.len() >= self.limits.max_sections {
                return Err(at(PolicyImportErrorKind::TooManySections {
                    max: self.limits.max_sections,
                }));
            }
            self.sections.push(ImportedSection {
                number: h.number,
                title: h.title,
                line,
                body: String::new(),
                items: Vec::new(),
            });
            self.open.clear();
            self.items_in_section = 0;
            return Ok(());
        }
        if h.number > previous + 1 {
            return Err(at(PolicyImportErrorKind::NumberGap {
                expected: previous + 1,
                text: h.text,
            }));
        }
        if strict {
            return Err(at(PolicyImportErrorKind::NumberOutOfOrder {
                previous,
                text: h.text,
            }));
        }
        // A plain-text numbered line that does not continue the numbering is a list in the body.
        self.line(strip_markdown(&h.text), &h.text, line)
    }

    fn line(
        &mut self,
        stripped: &str,
        original: &str,
        line: usize,
    ) -> Result<(), PolicyImportError> {
        if self.sections.is_empty() {
            return self.front_line(stripped, line);
        }
        if let Some((kind, number, marker, text)) = parse_item_marker(stripped) {
            return self.item(kind, number, marker, text, line);
        }
        let text = original.trim();
        let target = match self.open_item() {
            Some(item) => &mut item.body,
            None => match self.sections.last_mut() {
                Some(section) => &mut section.body,
                None => return Ok(()),
            },
        };
        if !target.is_empty() {
            target.push('\n');
        }
        target.push_str(text);
        Ok(())
    }

    fn front_line(&mut self, stripped: &str, line: usize) -> Result<(), PolicyImportError> {
        match dated_line(stripped) {
            Some(Ok((date, event))) => {
                self.dates.push(PolicyDate {
                    line,
                    date,
                    event,
                    text: stripped.to_owned(),
                });
            }
            Some(Err(reason)) => {
                return Err(PolicyImportError {
                    line: Some(line),
                    kind: PolicyImportErrorKind::BadDate { reason },
                });
            }
            None => self.front_matter.push(stripped.to_owned()),
        }
        Ok(())
    }

    fn item(
        &mut self,
        kind: ItemMarkerKind,
        number: u32,
        marker: String,
        text: String,
        line: usize,
    ) -> Result<(), PolicyImportError> {
        let section_number = self.sections.last().map_or(0, |s| s.number);
        let at = |kind| PolicyImportError {
            line: Some(line),
            kind,
        };
        self.items_in_section += 1;
        if self.items_in_section > self.limits.max_items_per_section {
            return Err(at(PolicyImportErrorKind::TooManyItems {
                section: section_number,
                max: self.limits.max_items_per_section,
            }));
        }
        // A kind already open closes everything below it and adds a sibling; a new kind nests.
        if let Some(depth) = self.open.iter().position(|(k, _)| *k == kind) {
            self.open.truncate(depth);
        } else if self.open.len() >= self.limits.max_depth {
            return Err(at(PolicyImportErrorKind::TooDeep {
                max: self.limits.max_depth,
            }));
        }
        let item = ImportedItem {
            marker,
            kind,
            number,
            line,
            text,
            body: String::new(),
            children: Vec::new(),
        };
        let siblings = match self.open_item() {
            Some(parent) => &mut parent.children,
            None => match self.sections.last_mut() {
                Some(section) => &mut section.items,
                None => return Ok(()),
            },
        };
        siblings.push(item);
        let index = siblings.len() - 1;
        self.open.push((kind, index));
        Ok(())
    }

    /// The innermost open item of the current section.
    fn open_item(&mut self) -> Option<&mut ImportedItem> {
        let section = self.sections.last_mut()?;
        let mut path = self.open.iter();
        let (_, first) = path.next()?;
        let mut item = section.items.get_mut(*first)?;
        for (_, index) in path {
            item = item.children.get_mut(*index)?;
        }
        Some(item)
    }

    fn finish(self) -> Result<ImportedPolicy, PolicyImportError> {
        if self.sections.is_empty() {
            return Err(PolicyImportError {
                line: None,
                kind: PolicyImportErrorKind::NoSections,
            });
        }
        Ok(ImportedPolicy {
            title: self.front_matter.last().cloned(),
            front_matter: self.front_matter,
            dates: self.dates,
            sections: self.sections,
            contents_lines_skipped: self.contents_lines_skipped,
        })
    }
}

/// Words that follow the date on a policy's dated lines.
const DATE_EVENTS: [&str; 7] = [
    "一部改正",
    "全部改正",
    "策定",
    "改定",
    "改正",
    "施行",
    "制定",
];

/// `Some(Ok)` for a dated line, `Some(Err)` for a line that announces a date it does not hold,
/// `None` for any other line.
fn dated_line(line: &str) -> Option<Result<(Date, String), String>> {
    let inner = line
        .trim()
        .trim_start_matches(['(', '（', '【', '['])
        .trim_end_matches([')', '）', '】', ']'])
        .trim();
    // The event word usually follows the date (令和8年4月1日 策定) but may lead (制定 令和8年4月1日).
    let suffix = DATE_EVENTS
        .iter()
        .find_map(|e| inner.strip_suffix(*e).map(|rest| (*e, rest)));
    let prefix = || {
        DATE_EVENTS
            .iter()
            .find_map(|e| inner.strip_prefix(*e).map(|rest| (*e, rest)))
    };
    let (event, date_part) = match suffix.or_else(prefix) {
        Some((e, rest)) => (Some(e), rest.trim()),
        None => (None, inner),
    };
    match calendar::parse_date(date_part) {
        Ok(date) => Some(Ok((date, event.map(str::to_owned).unwrap_or_default()))),
        // Only a line that ends with 策定 etc. and starts like a date is a broken dated line;
        // anything else is an ordinary front-matter line.
        Err(e) if event.is_some() && starts_like_date(date_part) => Some(Err(e.to_string())),
        Err(_) => None,
    }
}

fn starts_like_date(s: &str) -> bool {
    let folded = crate::text::normalize(s);
    folded.starts_with(|c: char| c.is_ascii_digit())
        || calendar::Era::ALL
            .iter()
            .any(|e| folded.starts_with(e.name_ja()))
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

    const SEED: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/seed/000_62a3e357c6c7787b.txt"
    );

    #[test]
    fn default_outline_is_the_unions() {
        let o = PolicyOutline::default();
        assert_eq!(o.organisation, "峡南広域行政組合");
        assert_eq!(o.sections.len(), 10);
        assert_eq!(o.terms.len(), 12);
        assert_eq!(o.threats.len(), 5);
        assert_eq!(o.scope.bodies.len(), 3);
        assert_eq!(o.scope.asset_kinds.len(), 3);
        assert_eq!(o.section(SectionKey::Measures).unwrap().items.len(), 9);
        assert_eq!(o.section(SectionKey::Scope).unwrap().number, 4);
        assert_eq!(o.term("zone_lgwan").unwrap().term, "LGWAN接続系");
        assert_eq!(o.threat("pandemic").unwrap().number, 4);
        assert_eq!(
            o.adopted.map(calendar::format_wareki).as_deref(),
            Some("令和8年4月1日")
        );
        let numbers: Vec<u32> = o.sections.iter().map(|s| s.number).collect();
        assert_eq!(numbers, (1..=10).collect::<Vec<_>>());
        // The outline travels as JSON between the layers.
        let json = serde_json::to_string(&o).unwrap();
        assert!(json.contains("\"adopted\":\"2026-04-01\""));
        assert_eq!(serde_json::from_str::<PolicyOutline>(&json).unwrap(), o);
    }

    #[test]
    fn outline_keys_are_unique() {
        let o = PolicyOutline::default();
        let mut keys: Vec<&str> = o.terms.iter().map(|t| t.key.as_str()).collect();
        keys.extend(o.threats.iter().map(|t| t.id.as_str()));
        keys.extend(o.scope.asset_kinds.iter().map(|k| k.code.as_str()));
        let count = keys.len();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), count);
    }

    #[test]
    fn splits_the_seed_policy_when_present() {
        let Ok(text) = std::fs::read_to_string(SEED) else {
            println!("note: seed policy not found at {SEED}; skipping");
            return;
        };
        let p = split_policy_text(&text).unwrap();
        assert_eq!(p.title.as_deref(), Some("情報セキュリティ基本方針"));
        assert_eq!(
            p.front_matter.first().map(String::as_str),
            Some("峡南広域行政組合")
        );
        assert_eq!(
            p.adopted().map(calendar::format_wareki).as_deref(),
            Some("令和8年4月1日")
        );
        assert_eq!(p.dates[0].event, "策定");
        assert_eq!(p.contents_lines_skipped, 11);
        assert_eq!(p.sections.len(), 10);
        let outline = PolicyOutline::default();
        for (got, shipped) in p.sections.iter().zip(&outline.sections) {
            assert_eq!(got.number, shipped.number);
            assert_eq!(got.title, shipped.title, "section {}", got.number);
        }
        let definitions = p.section(2).unwrap();
        assert_eq!(definitions.items.len(), 12);
        for (item, term) in definitions.items.iter().zip(&outline.terms) {
            assert_eq!(item.number, term.number);
            assert!(
                item.text.replace(' ', "").starts_with(&term.term),
                "{} / {}",
                item.text,
                term.term
            );
            assert!(!item.body.is_empty());
        }
        assert_eq!(p.section(3).unwrap().items.len(), 5);
        let scope = p.section(4).unwrap();
        assert_eq!(scope.items.len(), 2);
        assert_eq!(scope.items[1].children.len(), 3);
        assert_eq!(scope.items[1].children[2].marker, "③");
        let measures = p.section(6).unwrap();
        assert!(!measures.body.is_empty());
        assert_eq!(measures.items.len(), 9);
        assert_eq!(measures.items[2].children.len(), 3);
        assert_eq!(measures.items[7].body.lines().count(), 3);
        assert!(p.section(10).unwrap().body.contains('\n'));
    }

    #[test]
    fn splits_markdown_with_full_width_numbers_and_kanji_sections() {
        let md = "# ○○町 情報セキュリティ基本方針\n\n（令和元年5月1日 策定）\n令和6年4月1日 改定\n\n## １．目的\n本文。\n\n## 2. 定義\n\n### （１） ネットワーク\n通信網。\n1. 箇条書きは本文\n\n## 3. 範囲\n- ① 機器\n  - (ア) 端末\n  - (イ) サーバ\n- ② 情報\n";
        let p = split_policy_text(md).unwrap();
        assert_eq!(p.title.as_deref(), Some("○○町 情報セキュリティ基本方針"));
        assert_eq!(p.dates.len(), 2);
        assert_eq!(p.dates[1].event, "改定");
        assert_eq!(
            p.latest_date().map(calendar::format_iso).as_deref(),
            Some("2024-04-01")
        );
        assert_eq!(p.sections.len(), 3);
        assert_eq!(p.sections[0].title, "目的");
        let def = &p.sections[1];
        assert_eq!(def.items[0].marker, "（１）");
        assert_eq!(def.items[0].text, "ネットワーク");
        assert_eq!(def.items[0].body, "通信網。\n1. 箇条書きは本文");
        let scope = &p.sections[2];
        assert_eq!(scope.items.len(), 2);
        assert_eq!(scope.items[0].children.len(), 2);
        assert_eq!(scope.items[0].children[1].kind, ItemMarkerKind::ParenKana);
        assert_eq!(scope.items[0].children[1].number, 2);
    }

    #[test]
    fn splits_dai_style_and_skips_contents_with_leaders() {
        let text = "基本方針\n\n目次\n第一 目的……1\n第二 範囲……2\n\n第一 目的\n守る。\n\n第二 範囲\nア 事務局\nイ 消防\n";
        let p = split_policy_text(text).unwrap();
        assert_eq!(p.contents_lines_skipped, 3);
        assert_eq!(p.sections.len(), 2);
        assert_eq!(p.sections[1].title, "範囲");
        assert_eq!(p.sections[1].items.len(), 2);
        assert_eq!(p.sections[1].items[1].kind, ItemMarkerKind::Kana);
        assert_eq!(p.sections[1].items[1].text, "消防");
    }

    #[test]
    fn contents_without_page_numbers_and_leading_event_words() {
        let text = "○○市情報セキュリティ基本方針\n制定 令和7年4月1日\n\n目次\n1. 目的\n2. 定義\n\n1. 目的\n本文\n\n2. 定義\n本文\n";
        let p = split_policy_text(text).unwrap();
        assert_eq!(p.title.as_deref(), Some("○○市情報セキュリティ基本方針"));
        assert_eq!(p.dates[0].event, "制定");
        assert_eq!(p.contents_lines_skipped, 3);
        assert_eq!(p.sections.len(), 2);
        assert_eq!(p.sections[0].line, 8);
    }

    #[test]
    fn plain_numbered_list_inside_a_section_stays_body() {
        // 「1.」 after section 2 does not continue the numbering, so it is body text.
        let text = "題\n\n1. 目的\n本文\n\n2. 定義\n\n1. 箇条\n\n3. 範囲\n本文\r\n";
        let p = split_policy_text(text).unwrap();
        assert_eq!(p.sections.len(), 3);
        assert_eq!(p.sections[1].body, "1. 箇条");
    }

    #[test]
    fn errors_name_the_line() {
        let e = split_policy_text("題\n\n1. 目的\n\n3. 範囲\n").unwrap_err();
        assert_eq!(e.line, Some(5));
        assert!(matches!(
            e.kind,
            PolicyImportErrorKind::NumberGap { expected: 2, .. }
        ));
        assert_eq!(
            e.to_string(),
            "5行目: 節の番号が飛んでいます（第2節がないまま「3. 範囲」があります）"
        );

        let e = split_policy_text("# 題\n## 1. 目的\n## 1. 目的\n").unwrap_err();
        assert_eq!(e.line, Some(3));
        assert!(matches!(
            e.kind,
            PolicyImportErrorKind::NumberOutOfOrder { previous: 1, .. }
        ));

        let e = split_policy_text("題\n令和8年2月30日 策定\n\n1. 目的\n").unwrap_err();
        assert_eq!(e.line, Some(2));
        assert!(matches!(e.kind, PolicyImportErrorKind::BadDate { .. }));

        let e = split_policy_text("題\n\n1. 目的\nab\u{0}c\n").unwrap_err();
        assert_eq!(e.line, Some(4));
        assert!(e.to_string().contains("U+0000"));

        assert_eq!(
            split_policy_text(" \n\n").unwrap_err().kind,
            PolicyImportErrorKind::Empty
        );
        assert_eq!(
            split_policy_text("題だけ\n本文。\n").unwrap_err().kind,
            PolicyImportErrorKind::NoSections
        );
    }

    #[test]
    fn limits_are_enforced() {
        let small = ImportLimits {
            max_bytes: 10,
            ..ImportLimits::default()
        };
        assert!(matches!(
            split_policy_text_with("1. 目的\n本文本文本文", &small)
                .unwrap_err()
                .kind,
            PolicyImportErrorKind::TooLarge { .. }
        ));
        let limits = ImportLimits {
            max_line_chars: 5,
            ..ImportLimits::default()
        };
        let e = split_policy_text_with("1. 目的\n本文本文本文本文\n", &limits).unwrap_err();
        assert_eq!(e.line, Some(2));
        let limits = ImportLimits {
            max_items_per_section: 2,
            ..ImportLimits::default()
        };
        let e = split_policy_text_with("1. 目的\n(1) a\n(2) b\n(3) c\n", &limits).unwrap_err();
        assert_eq!(e.line, Some(4));
        let limits = ImportLimits {
            max_depth: 1,
            ..ImportLimits::default()
        };
        let e = split_policy_text_with("1. 目的\n(1) a\n① b\n", &limits).unwrap_err();
        assert!(matches!(e.kind, PolicyImportErrorKind::TooDeep { max: 1 }));
        let limits = ImportLimits {
            max_sections: 1,
            ..ImportLimits::default()
        };
        let e = split_policy_text_with("1. 目的\n\n2. 定義\n", &limits).unwrap_err();
        assert!(matches!(
            e.kind,
            PolicyImportErrorKind::TooManySections { max: 1 }
        ));
        let many = "\n".repeat(30_000);
        assert!(matches!(
            split_policy_text(&format!("1. 目的{many}"))
                .unwrap_err()
                .kind,
            PolicyImportErrorKind::TooManyLines { .. }
        ));
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "(\\PC|\n|[(（)）①#.．第一1-9 ]){0,200}") {
            let _ = split_policy_text(&s);
        }
    }
}
