//! 情報資産 (基本方針 §4(2), §6(2); 対策基準 2-2): what an asset is, how it is classified, the
//! handling each class demands, and the rules a register entry must satisfy.
//!
//! Everything here is data and pure functions: the database layer stores assets, the web layer
//! shows them, and both ask this module what a class means and which rules an asset breaks.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};
use time::Date;

use crate::text;
use crate::zone::Zone;

/// What kind of asset (§4(2) ①–③).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssetKind {
    /// ① ネットワーク.
    Network,
    /// ① 情報システム.
    System,
    /// ① 機器 (端末, サーバ, 複合機 …).
    Equipment,
    /// ① 電磁的記録媒体 (USB メモリ, 外付けディスク, DVD …).
    Medium,
    /// ② 情報（電子データ）.
    InformationElectronic,
    /// ② 情報（紙）.
    InformationPrinted,
    /// ③ システム関係文書 (仕様書, ネットワーク図 …).
    SystemDocument,
}

impl AssetKind {
    /// Every kind, in the order of §4(2).
    pub const ALL: [AssetKind; 7] = [
        AssetKind::Network,
        AssetKind::System,
        AssetKind::Equipment,
        AssetKind::Medium,
        AssetKind::InformationElectronic,
        AssetKind::InformationPrinted,
        AssetKind::SystemDocument,
    ];

    /// Stable code (files, URLs, database).
    pub fn code(self) -> &'static str {
        match self {
            AssetKind::Network => "network",
            AssetKind::System => "system",
            AssetKind::Equipment => "equipment",
            AssetKind::Medium => "medium",
            AssetKind::InformationElectronic => "info_electronic",
            AssetKind::InformationPrinted => "info_printed",
            AssetKind::SystemDocument => "system_document",
        }
    }

    /// Japanese name as used in registers.
    pub fn label_ja(self) -> &'static str {
        match self {
            AssetKind::Network => "ネットワーク",
            AssetKind::System => "情報システム",
            AssetKind::Equipment => "機器",
            AssetKind::Medium => "電磁的記録媒体",
            AssetKind::InformationElectronic => "情報（電子）",
            AssetKind::InformationPrinted => "情報（紙）",
            AssetKind::SystemDocument => "システム関係文書",
        }
    }

    /// Whether assets of this kind hold information assets (and so inherit their class).
    pub fn is_holder(self) -> bool {
        matches!(
            self,
            AssetKind::Network | AssetKind::System | AssetKind::Equipment | AssetKind::Medium
        )
    }

    /// Whether assets of this kind can be held by a system or medium.
    pub fn is_holdable(self) -> bool {
        matches!(
            self,
            AssetKind::InformationElectronic
                | AssetKind::InformationPrinted
                | AssetKind::SystemDocument
        )
    }

    /// Reads a code or a Japanese name (as typed in a register).
    pub fn parse(s: &str) -> Option<AssetKind> {
        let key = text::fold(s);
        let kind = match key.as_str() {
            "network" | "ネットワーク" | "nw" => AssetKind::Network,
            "system" | "情報システム" | "システム" => AssetKind::System,
            "equipment" | "機器" | "端末" | "機器・端末" => AssetKind::Equipment,
            "medium" | "電磁的記録媒体" | "記録媒体" | "媒体" | "外部記録媒体" => {
                AssetKind::Medium
            }
            "info_electronic" | "情報(電子)" | "電子情報" | "情報" | "電子データ" | "データ" => {
                AssetKind::InformationElectronic
            }
            "info_printed" | "情報(紙)" | "紙情報" | "紙文書" | "文書" | "書類" => {
                AssetKind::InformationPrinted
            }
            "system_document"
            | "システム関係文書"
            | "システム文書"
            | "システム関連文書"
            | "仕様書・設計書" => AssetKind::SystemDocument,
            _ => return None,
        };
        Some(kind)
    }
}

impl fmt::Display for AssetKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label_ja())
    }
}

/// 媒体: what the asset is recorded on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Medium {
    /// 紙.
    Paper,
    /// 電子ファイル.
    File,
    /// DB・システム.
    System,
    /// 記録媒体 (USB メモリ, DVD …).
    Removable,
}

impl Medium {
    /// Every medium.
    pub const ALL: [Medium; 4] = [
        Medium::Paper,
        Medium::File,
        Medium::System,
        Medium::Removable,
    ];

    /// Stable code.
    pub fn code(self) -> &'static str {
        match self {
            Medium::Paper => "paper",
            Medium::File => "file",
            Medium::System => "system",
            Medium::Removable => "removable",
        }
    }

    /// Japanese name.
    pub fn label_ja(self) -> &'static str {
        match self {
            Medium::Paper => "紙",
            Medium::File => "電子ファイル",
            Medium::System => "DB・システム",
            Medium::Removable => "記録媒体",
        }
    }

    /// Reads a code or a Japanese name.
    pub fn parse(s: &str) -> Option<Medium> {
        let key = text::fold(s);
        let m = match key.as_str() {
            "paper" | "紙" | "紙媒体" | "書面" => Medium::Paper,
            "file" | "電子ファイル" | "電子" | "ファイル" | "電子データ" => {
                Medium::File
            }
            "system" | "db・システム" | "db/システム" | "システム" | "db" | "データベース" => {
                Medium::System
            }
            "removable" | "記録媒体" | "外部記録媒体" | "電磁的記録媒体" | "usb" => {
                Medium::Removable
            }
            _ => return None,
        };
        Some(m)
    }
}

/// The classification scheme an organisation uses (setting).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scheme {
    /// 令和6年10月改定の分類: 自治体機密性3A / 3B / 3C / 2 / 1.
    R6,
    /// 従前の分類: 機密性3 / 2 / 1.
    Legacy,
}

impl Scheme {
    /// Stable code (`r6` / `legacy`), as stored on the organisation.
    pub fn code(self) -> &'static str {
        match self {
            Scheme::R6 => "r6",
            Scheme::Legacy => "legacy",
        }
    }

    /// Reads a stored code.
    pub fn from_code(s: &str) -> Option<Scheme> {
        match s {
            "r6" => Some(Scheme::R6),
            "legacy" => Some(Scheme::Legacy),
            _ => None,
        }
    }

    /// Japanese name.
    pub fn label_ja(self) -> &'static str {
        match self {
            Scheme::R6 => "自治体機密性（3A・3B・3C・2・1）",
            Scheme::Legacy => "従前の機密性（3・2・1）",
        }
    }

    /// The confidentiality levels of this scheme, highest first.
    pub fn levels(self) -> &'static [Confidentiality] {
        match self {
            Scheme::R6 => &[
                Confidentiality::C3A,
                Confidentiality::C3B,
                Confidentiality::C3C,
                Confidentiality::C2,
                Confidentiality::C1,
            ],
            Scheme::Legacy => &[
                Confidentiality::C3,
                Confidentiality::C2,
                Confidentiality::C1,
            ],
        }
    }
}

/// 機密性: a level of either scheme. Levels 2 and 1 exist in both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Confidentiality {
    /// 自治体機密性3A: equivalent to a state secret document.
    #[serde(rename = "3A")]
    C3A,
    /// 自治体機密性3B: leakage would seriously harm individuals' rights (マイナンバー, large
    /// resident data).
    #[serde(rename = "3B")]
    C3B,
    /// 自治体機密性3C: non-public, below 3B.
    #[serde(rename = "3C")]
    C3C,
    /// 機密性3 of the legacy scheme.
    #[serde(rename = "3")]
    C3,
    /// 機密性2.
    #[serde(rename = "2")]
    C2,
    /// 機密性1: public or publishable.
    #[serde(rename = "1")]
    C1,
}

/// A value that is no level of the scheme in use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LevelError {
    /// Nothing recognisable.
    #[error("「{value}」は{what}の区分として認識できません（{allowed}）")]
    Unknown {
        /// What was being read (機密性, 完全性, 可用性).
        what: &'static str,
        /// As typed.
        value: String,
        /// The allowed values.
        allowed: String,
    },
    /// 「3」 under the R6 scheme: 3A, 3B or 3C must be said.
    #[error("「{0}」は 3A・3B・3C のどれか判断できません（自治体機密性の区分で記入してください）")]
    Ambiguous(String),
    /// A level of the other scheme.
    #[error("「{value}」はこの団体の分類（{scheme}）にない区分です")]
    OtherScheme {
        /// As typed.
        value: String,
        /// The scheme in use.
        scheme: &'static str,
    },
}

impl Confidentiality {
    /// Stable code (`3A`, `3B`, `3C`, `3`, `2`, `1`).
    pub fn code(self) -> &'static str {
        match self {
            Confidentiality::C3A => "3A",
            Confidentiality::C3B => "3B",
            Confidentiality::C3C => "3C",
            Confidentiality::C3 => "3",
            Confidentiality::C2 => "2",
            Confidentiality::C1 => "1",
        }
    }

    /// Reads a stored code.
    pub fn from_code(s: &str) -> Option<Confidentiality> {
        Some(match s {
            "3A" => Confidentiality::C3A,
            "3B" => Confidentiality::C3B,
            "3C" => Confidentiality::C3C,
            "3" => Confidentiality::C3,
            "2" => Confidentiality::C2,
            "1" => Confidentiality::C1,
            _ => return None,
        })
    }

    /// The label shown in registers: 「自治体機密性3B」 or 「機密性3」.
    pub fn label_ja(self) -> String {
        match self {
            Confidentiality::C3A | Confidentiality::C3B | Confidentiality::C3C => {
                format!("自治体機密性{}", self.code())
            }
            Confidentiality::C3 => "機密性3".to_owned(),
            Confidentiality::C2 | Confidentiality::C1 => format!("機密性{}", self.code()),
        }
    }

    /// The label for an organisation using `scheme` (2 and 1 read 「自治体機密性2」 under R6).
    pub fn label_in(self, scheme: Scheme) -> String {
        match (scheme, self) {
            (Scheme::R6, Confidentiality::C2 | Confidentiality::C1) => {
                format!("自治体機密性{}", self.code())
            }
            _ => self.label_ja(),
        }
    }

    /// Order for "the highest class": 3A > 3B = 3 > 3C > 2 > 1.
    pub fn rank(self) -> u8 {
        match self {
            Confidentiality::C3A => 5,
            Confidentiality::C3B | Confidentiality::C3 => 4,
            Confidentiality::C3C => 3,
            Confidentiality::C2 => 2,
            Confidentiality::C1 => 1,
        }
    }

    /// Whether the level belongs to `scheme`.
    pub fn in_scheme(self, scheme: Scheme) -> bool {
        scheme.levels().contains(&self)
    }

    /// 3B and above (the legacy 機密性3 included): never in インターネット接続系.
    pub fn at_least_3b(self) -> bool {
        self.rank() >= 4
    }

    /// One of the level-3 family (3A, 3B, 3C, legacy 3).
    pub fn is_three(self) -> bool {
        self.rank() >= 3
    }

    /// Level 2 and above.
    pub fn at_least_2(self) -> bool {
        self.rank() >= 2
    }

    /// Reads a level as typed under `scheme`: 「自治体機密性3B」「機密性３」「3b」「２」 …
    pub fn parse(s: &str, scheme: Scheme) -> Result<Confidentiality, LevelError> {
        let v = level_text(s, &["機密性", "c"]);
        let level = match v.as_str() {
            "3A" => Confidentiality::C3A,
            "3B" => Confidentiality::C3B,
            "3C" => Confidentiality::C3C,
            "3" => match scheme {
                Scheme::Legacy => Confidentiality::C3,
                Scheme::R6 => return Err(LevelError::Ambiguous(s.to_owned())),
            },
            "2" => Confidentiality::C2,
            "1" => Confidentiality::C1,
            _ => {
                return Err(LevelError::Unknown {
                    what: "機密性",
                    value: s.to_owned(),
                    allowed: scheme
                        .levels()
                        .iter()
                        .map(|l| l.label_in(scheme))
                        .collect::<Vec<_>>()
                        .join("・"),
                });
            }
        };
        if level.in_scheme(scheme) {
            Ok(level)
        } else {
            Err(LevelError::OtherScheme {
                value: s.to_owned(),
                scheme: scheme.label_ja(),
            })
        }
    }
}

fn level_text(s: &str, labels: &[&str]) -> String {
    let folded = text::fold(s);
    let mut rest = folded.as_str();
    rest = rest.strip_prefix("自治体").unwrap_or(rest);
    for label in labels {
        if let Some(stripped) = rest.strip_prefix(label) {
            rest = stripped;
            break;
        }
    }
    rest.to_uppercase()
}

/// 完全性 or 可用性: 2 or 1 in both schemes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Grade {
    /// 1.
    #[serde(rename = "1")]
    One,
    /// 2: tampering or loss would harm residents' rights or stable administration.
    #[serde(rename = "2")]
    Two,
}

impl Grade {
    /// Stable code (`1` / `2`).
    pub fn code(self) -> &'static str {
        match self {
            Grade::One => "1",
            Grade::Two => "2",
        }
    }

    /// As a number.
    pub fn number(self) -> i64 {
        match self {
            Grade::One => 1,
            Grade::Two => 2,
        }
    }

    /// From a stored number.
    pub fn from_number(n: i64) -> Option<Grade> {
        match n {
            1 => Some(Grade::One),
            2 => Some(Grade::Two),
            _ => None,
        }
    }

    /// Reads 「完全性２」「2」「可用性1」 as typed; `what` is 完全性 or 可用性.
    pub fn parse(s: &str, what: &'static str) -> Result<Grade, LevelError> {
        let v = level_text(s, &[what, "i", "a"]);
        match v.as_str() {
            "2" => Ok(Grade::Two),
            "1" => Ok(Grade::One),
            _ => Err(LevelError::Unknown {
                what,
                value: s.to_owned(),
                allowed: format!("{what}2・{what}1"),
            }),
        }
    }
}

/// The three classes of an asset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Classes {
    /// 機密性.
    pub confidentiality: Confidentiality,
    /// 完全性.
    pub integrity: Grade,
    /// 可用性.
    pub availability: Grade,
}

/// 取扱制限: restrictions attached to an asset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Restriction {
    /// 複製禁止.
    NoCopy,
    /// 配付禁止.
    NoDistribution,
    /// 持出禁止.
    NoTakeOut,
    /// 暗号化必須.
    EncryptionRequired,
    /// 転送禁止.
    NoForwarding,
    /// 関係者限り.
    NeedToKnow,
    /// 印刷禁止.
    NoPrinting,
}

impl Restriction {
    /// Every restriction.
    pub const ALL: [Restriction; 7] = [
        Restriction::NoCopy,
        Restriction::NoDistribution,
        Restriction::NoTakeOut,
        Restriction::EncryptionRequired,
        Restriction::NoForwarding,
        Restriction::NeedToKnow,
        Restriction::NoPrinting,
    ];

    /// Stable code.
    pub fn code(self) -> &'static str {
        match self {
            Restriction::NoCopy => "no_copy",
            Restriction::NoDistribution => "no_distribution",
            Restriction::NoTakeOut => "no_take_out",
            Restriction::EncryptionRequired => "encryption_required",
            Restriction::NoForwarding => "no_forwarding",
            Restriction::NeedToKnow => "need_to_know",
            Restriction::NoPrinting => "no_printing",
        }
    }

    /// Japanese name.
    pub fn label_ja(self) -> &'static str {
        match self {
            Restriction::NoCopy => "複製禁止",
            Restriction::NoDistribution => "配付禁止",
            Restriction::NoTakeOut => "持出禁止",
            Restriction::EncryptionRequired => "暗号化必須",
            Restriction::NoForwarding => "転送禁止",
            Restriction::NeedToKnow => "関係者限り",
            Restriction::NoPrinting => "印刷禁止",
        }
    }

    /// Reads a code or a Japanese name.
    pub fn parse(s: &str) -> Option<Restriction> {
        let key = text::fold(s);
        Restriction::ALL.into_iter().find(|r| {
            key == r.code()
                || key == text::fold(r.label_ja())
                || (*r == Restriction::NoTakeOut && key == "持ち出し禁止")
                || (*r == Restriction::NoDistribution && key == "配布禁止")
        })
    }
}

/// A set of restrictions, ordered as [`Restriction::ALL`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Restrictions(pub BTreeSet<Restriction>);

impl Restrictions {
    /// Whether `r` is in the set.
    pub fn has(&self, r: Restriction) -> bool {
        self.0.contains(&r)
    }

    /// Stored form: codes joined by commas.
    pub fn to_codes(&self) -> String {
        self.0
            .iter()
            .map(|r| r.code())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// From the stored form; unknown codes are dropped.
    pub fn from_codes(s: &str) -> Restrictions {
        Restrictions(
            s.split(',')
                .filter_map(|c| Restriction::ALL.into_iter().find(|r| r.code() == c))
                .collect(),
        )
    }

    /// As a register cell: 「複製禁止・持出禁止」.
    pub fn label_ja(&self) -> String {
        self.0
            .iter()
            .map(|r| r.label_ja())
            .collect::<Vec<_>>()
            .join("・")
    }

    /// Reads a register cell: names separated by ・、,;／/ or spaces. Returns the first unknown
    /// name on failure.
    pub fn parse(s: &str) -> Result<Restrictions, String> {
        let mut set = BTreeSet::new();
        for part in s.split(['・', '、', ',', '，', ';', '；', '/', '／', ' ', '　', '\n']) {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            set.insert(Restriction::parse(part).ok_or_else(|| part.to_owned())?);
        }
        Ok(Restrictions(set))
    }
}

/// 個人情報: whether the asset contains personal data, and of what sort.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonalData {
    /// 個人情報の有無.
    pub present: bool,
    /// おおよその件数 (when known).
    pub count: Option<i64>,
    /// 要配慮個人情報 (病歴, 障害 …).
    pub sensitive: bool,
    /// 特定個人情報 (マイナンバーを含む).
    pub my_number: bool,
}

impl PersonalData {
    /// The union of two (mixed content takes everything either has).
    pub fn merge(self, other: PersonalData) -> PersonalData {
        PersonalData {
            present: self.present || other.present,
            count: match (self.count, other.count) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            },
            sensitive: self.sensitive || other.sensitive,
            my_number: self.my_number || other.my_number,
        }
    }
}

/// A value an asset inherits from the information it holds, with where it comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Inherited<T> {
    /// The value in force (the highest of own and held).
    pub value: T,
    /// The held asset that raised it above the asset's own value, if any: (id, 資産番号, 名称).
    pub from: Option<(i64, String, String)>,
}

/// A held asset, as inheritance needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldAsset {
    /// Id.
    pub id: i64,
    /// 資産番号.
    pub asset_no: String,
    /// 名称.
    pub name: String,
    /// Its classes.
    pub classes: Classes,
    /// Its personal data.
    pub personal: PersonalData,
}

/// The classes in force for an asset: its own, raised by whatever it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Effective {
    /// 機密性.
    pub confidentiality: Inherited<Confidentiality>,
    /// 完全性.
    pub integrity: Inherited<Grade>,
    /// 可用性.
    pub availability: Inherited<Grade>,
    /// Personal data, merged.
    pub personal: PersonalData,
}

impl Effective {
    /// The classes in force, without their sources.
    pub fn classes(&self) -> Classes {
        Classes {
            confidentiality: self.confidentiality.value,
            integrity: self.integrity.value,
            availability: self.availability.value,
        }
    }

    /// Whether any class comes from a held asset.
    pub fn is_raised(&self) -> bool {
        self.confidentiality.from.is_some()
            || self.integrity.from.is_some()
            || self.availability.from.is_some()
    }
}

/// Mixed content takes the highest class (対策基準 2-2): a holding asset's classes are the
/// highest of its own and those of every asset it holds. Ties keep the asset's own value; among
/// held assets the first highest (in the order given) is named as the source.
pub fn effective(own: Classes, own_personal: PersonalData, held: &[HeldAsset]) -> Effective {
    let source = |h: &HeldAsset| Some((h.id, h.asset_no.clone(), h.name.clone()));
    let mut conf = Inherited {
        value: own.confidentiality,
        from: None,
    };
    let mut integrity = Inherited {
        value: own.integrity,
        from: None,
    };
    let mut availability = Inherited {
        value: own.availability,
        from: None,
    };
    let mut personal = own_personal;
    for h in held {
        if h.classes.confidentiality.rank() > conf.value.rank() {
            conf = Inherited {
                value: h.classes.confidentiality,
                from: source(h),
            };
        }
        if h.classes.integrity > integrity.value {
            integrity = Inherited {
                value: h.classes.integrity,
                from: source(h),
            };
        }
        if h.classes.availability > availability.value {
            availability = Inherited {
                value: h.classes.availability,
                from: source(h),
            };
        }
        personal = personal.merge(h.personal);
    }
    Effective {
        confidentiality: conf,
        integrity,
        availability,
        personal,
    }
}

/// How a level maps when the organisation switches scheme.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mapping {
    /// The level given for now.
    pub to: Confidentiality,
    /// When the old level does not say which new one applies: the candidates, highest first.
    /// The asset goes on the re-triage list until someone confirms its level.
    pub candidates: Vec<Confidentiality>,
}

/// Maps a level into `to` (the scheme being switched to), using the asset's personal data to
/// propose the likeliest level when the old one is ambiguous.
///
/// Legacy → R6: 機密性3 → 3A; 機密性1 → 1; 機密性2 is split three ways in R6 (3B, 3C or 2):
/// specific personal data (マイナンバー) or sensitive data proposes 3B, other personal data 3C,
/// the rest 2 — always listed for re-triage. R6 → legacy is never ambiguous: 3A → 3;
/// 3B, 3C, 2 → 2; 1 → 1.
pub fn map_level(level: Confidentiality, to: Scheme, personal: PersonalData) -> Mapping {
    let certain = |to| Mapping {
        to,
        candidates: Vec::new(),
    };
    match (to, level) {
        (Scheme::R6, Confidentiality::C3) => certain(Confidentiality::C3A),
        (Scheme::R6, Confidentiality::C2) => {
            let proposed = if personal.my_number || personal.sensitive {
                Confidentiality::C3B
            } else if personal.present {
                Confidentiality::C3C
            } else {
                Confidentiality::C2
            };
            Mapping {
                to: proposed,
                candidates: vec![
                    Confidentiality::C3B,
                    Confidentiality::C3C,
                    Confidentiality::C2,
                ],
            }
        }
        (Scheme::Legacy, Confidentiality::C3A) => certain(Confidentiality::C3),
        (Scheme::Legacy, Confidentiality::C3B | Confidentiality::C3C) => {
            certain(Confidentiality::C2)
        }
        (_, level) => certain(level),
    }
}

/// How bad a rule breach is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Listed on the 要対応 view; the save goes through.
    Warning,
    /// Blocks the save.
    Error,
}

impl Severity {
    /// Japanese name.
    pub fn label_ja(self) -> &'static str {
        match self {
            Severity::Warning => "警告",
            Severity::Error => "エラー",
        }
    }
}

/// A handling rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Rule {
    /// Stable id (`A001` …).
    pub id: &'static str,
    /// The policy section it serves.
    pub section: &'static str,
    /// How bad a breach is.
    pub severity: Severity,
    /// What the rule requires, in Japanese.
    pub title: &'static str,
    /// What to do about a breach.
    pub message: &'static str,
}

/// 特定個人情報 only in マイナンバー利用事務系.
pub const A001: Rule = Rule {
    id: "A001",
    section: "§6(3)①",
    severity: Severity::Error,
    title: "特定個人情報はマイナンバー利用事務系に限る",
    message: "特定個人情報を含む情報資産は、マイナンバー利用事務系以外のネットワーク区分に置けません",
};
/// 3B and above never on the internet zone without an exception.
pub const A002: Rule = Rule {
    id: "A002",
    section: "§6(3)③・§6(2)",
    severity: Severity::Error,
    title: "機密性3B以上はインターネット接続系に置かない",
    message: "機密性3B以上（従前の機密性3を含む）の情報資産はインターネット接続系に置けません。やむを得ない場合は例外措置の承認番号を記入してください",
};
/// Class 2+ media need lockable storage.
pub const A003: Rule = Rule {
    id: "A003",
    section: "§6(2)・§6(4)",
    severity: Severity::Warning,
    title: "機密性2以上の媒体・書類は施錠できる場所に保管",
    message: "機密性2以上の記録媒体・紙の情報資産は、施錠できる耐火・耐水の場所に保管し、保存場所の「施錠」を記録してください",
};
/// Printed class-3 documents need 持出禁止 or a recorded permission.
pub const A004: Rule = Rule {
    id: "A004",
    section: "§6(2)・§3(2)",
    severity: Severity::Warning,
    title: "機密性3の紙文書は持出禁止か持出許可の記録",
    message: "機密性3の紙の情報資産には、取扱制限「持出禁止」を付けるか、管理者の持出許可を記録してください",
};
/// A 管理者 holding a 管理者 role for the asset's unit.
pub const A005: Rule = Rule {
    id: "A005",
    section: "§6(1)・§6(2)",
    severity: Severity::Error,
    title: "管理者は所管課の情報セキュリティ管理者",
    message: "管理者には、所管課（またはその上位の組織）で情報セキュリティ管理者の役割を持つ職員を指定してください",
};
/// Review overdue.
pub const A006: Rule = Rule {
    id: "A006",
    section: "§6(2)・§6(9)",
    severity: Severity::Warning,
    title: "定期的な確認（棚卸し）",
    message: "最終確認日から確認間隔を過ぎています（または未確認です）。内容を確認し「確認した」を記録してください",
};
/// Personal data flags must agree.
pub const A007: Rule = Rule {
    id: "A007",
    section: "§6(2)",
    severity: Severity::Error,
    title: "個人情報の記載の整合",
    message: "要配慮個人情報・特定個人情報・件数を記入した場合は、個人情報「有」にしてください",
};
/// The recorded class is below what the asset holds.
pub const A008: Rule = Rule {
    id: "A008",
    section: "§6(2)",
    severity: Severity::Warning,
    title: "保存する情報より低い分類",
    message: "保存している情報資産の分類の方が高いため、この資産の分類はそれに合わせて扱われます。台帳の分類（表示）を見直してください",
};
/// Level-3 removable media need 暗号化必須.
pub const A009: Rule = Rule {
    id: "A009",
    section: "§6(2)・§6(6)",
    severity: Severity::Warning,
    title: "機密性3の記録媒体は暗号化",
    message: "機密性3の情報を保存する記録媒体には、取扱制限「暗号化必須」を付け、暗号化して運用してください",
};
/// Electronic assets need a zone.
pub const A010: Rule = Rule {
    id: "A010",
    section: "§6(3)",
    severity: Severity::Warning,
    title: "ネットワーク区分の記入",
    message: "電子の情報資産・システム・機器には、ネットワーク区分（マイナンバー利用事務系・LGWAN接続系・インターネット接続系）を記入してください",
};

/// Every rule, by id.
pub const RULES: [Rule; 10] = [A001, A002, A003, A004, A005, A006, A007, A008, A009, A010];

/// The rule with `id`.
pub fn rule(id: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.id == id)
}

/// Default review interval (最終確認日から), in days.
pub const DEFAULT_REVIEW_INTERVAL_DAYS: i64 = 365;

/// What the rules look at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    /// Kind.
    pub kind: AssetKind,
    /// 媒体.
    pub medium: Medium,
    /// ネットワーク区分.
    pub zone: Option<Zone>,
    /// The asset's own classes.
    pub own: Classes,
    /// Its own personal data.
    pub own_personal: PersonalData,
    /// Classes in force (own raised by held assets).
    pub effective: Effective,
    /// 取扱制限.
    pub restrictions: Restrictions,
    /// 保管場所 is lockable.
    pub lockable: bool,
    /// 例外措置の承認番号, when the asset runs under an exception.
    pub exception_ref: String,
    /// Whether a 管理者 is set and holds a 管理者 role over the asset's unit.
    pub manager_ok: bool,
    /// Whether a take-out permission is on record.
    pub take_out_permitted: bool,
    /// 最終確認日.
    pub last_reviewed: Option<Date>,
    /// Today.
    pub today: Date,
    /// Review interval in days.
    pub review_interval_days: i64,
}

/// A rule an asset breaks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The rule.
    pub rule: &'static Rule,
    /// Detail about this asset.
    pub detail: String,
}

/// Whether an asset with these facts is overdue for review.
pub fn is_overdue(last_reviewed: Option<Date>, today: Date, interval_days: i64) -> bool {
    match last_reviewed {
        None => true,
        Some(d) => (today - d).whole_days() > interval_days,
    }
}

/// Every rule the asset breaks, errors first.
pub fn evaluate(f: &Facts) -> Vec<Finding> {
    let mut out = Vec::new();
    let conf = f.effective.confidentiality.value;
    let personal = f.effective.personal;
    let mut push = |rule: &'static Rule, detail: String| out.push(Finding { rule, detail });
    if personal.my_number
        && let Some(zone) = f.zone
        && zone != Zone::MyNumber
    {
        push(&A001, format!("ネットワーク区分が{}です", zone.label_ja()));
    }
    if conf.at_least_3b() && f.zone == Some(Zone::Internet) && f.exception_ref.trim().is_empty() {
        push(
            &A002,
            format!("{}の資産がインターネット接続系にあります", conf.label_ja()),
        );
    }
    let physical = matches!(f.kind, AssetKind::Medium | AssetKind::InformationPrinted)
        || matches!(f.medium, Medium::Paper | Medium::Removable);
    if physical && conf.at_least_2() && !f.lockable {
        push(
            &A003,
            "保存場所が施錠できる場所として記録されていません".to_owned(),
        );
    }
    let printed = f.kind == AssetKind::InformationPrinted || f.medium == Medium::Paper;
    if printed
        && conf.is_three()
        && !f.restrictions.has(Restriction::NoTakeOut)
        && !f.take_out_permitted
    {
        push(&A004, "持出禁止も持出許可の記録もありません".to_owned());
    }
    if !f.manager_ok {
        push(
            &A005,
            "管理者が未設定か、所管課の情報セキュリティ管理者ではありません".to_owned(),
        );
    }
    if is_overdue(f.last_reviewed, f.today, f.review_interval_days) {
        let detail = match f.last_reviewed {
            None => "一度も確認されていません".to_owned(),
            Some(d) => format!(
                "最終確認日 {} から {} 日経過（確認間隔 {} 日）",
                crate::calendar::format_iso(d),
                (f.today - d).whole_days(),
                f.review_interval_days
            ),
        };
        push(&A006, detail);
    }
    let own = f.own_personal;
    if !own.present && (own.sensitive || own.my_number || own.count.is_some_and(|c| c > 0)) {
        push(
            &A007,
            "個人情報「無」ですが、関連する項目が記入されています".to_owned(),
        );
    }
    if f.effective.is_raised() {
        let mut parts = Vec::new();
        if let Some((_, no, name)) = &f.effective.confidentiality.from {
            parts.push(format!("機密性は{}（{} {}）", conf.label_ja(), no, name));
        }
        if let Some((_, no, name)) = &f.effective.integrity.from {
            parts.push(format!(
                "完全性は{}（{} {}）",
                f.effective.integrity.value.code(),
                no,
                name
            ));
        }
        if let Some((_, no, name)) = &f.effective.availability.from {
            parts.push(format!(
                "可用性は{}（{} {}）",
                f.effective.availability.value.code(),
                no,
                name
            ));
        }
        push(&A008, parts.join("、"));
    }
    let removable = f.kind == AssetKind::Medium || f.medium == Medium::Removable;
    if removable && conf.is_three() && !f.restrictions.has(Restriction::EncryptionRequired) {
        push(&A009, "取扱制限に「暗号化必須」がありません".to_owned());
    }
    let electronic = !matches!(
        f.kind,
        AssetKind::InformationPrinted | AssetKind::SystemDocument
    ) && f.medium != Medium::Paper;
    if electronic && f.zone.is_none() && f.kind != AssetKind::Medium {
        push(&A010, "ネットワーク区分が空欄です".to_owned());
    }
    out.sort_by_key(|x| std::cmp::Reverse(x.rule.severity));
    out
}

/// One line of the handling requirements of a class (対策基準 2-2 の取扱い).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Handling {
    /// The stage (表示, 保管, 送信 …).
    pub stage: &'static str,
    /// What is required.
    pub requirement: &'static str,
}

/// What the class of an asset requires, stage by stage (summaries written for mamori).
pub fn handling(classes: Classes) -> Vec<Handling> {
    let c = classes.confidentiality;
    let mut out = vec![Handling {
        stage: "表示",
        requirement: "分類を台帳と媒体・文書に表示する。複数の分類の情報を含む場合は最も高い分類で扱う",
    }];
    if c.at_least_3b() {
        out.push(Handling {
            stage: "利用",
            requirement: "業務上必要な最小限の職員等に限る。インターネット接続系では扱わない",
        });
    } else if c.at_least_2() {
        out.push(Handling {
            stage: "利用",
            requirement: "業務上必要な範囲の職員等に限る",
        });
    }
    if c.at_least_2() || classes.integrity == Grade::Two || classes.availability == Grade::Two {
        out.push(Handling {
            stage: "保管",
            requirement: "記録媒体・書類は施錠できる耐火・耐水の場所に保管する。電子データはアクセス制御とバックアップを行う",
        });
    }
    if c.at_least_2() {
        out.push(Handling {
            stage: "送信・運搬・提供",
            requirement: "暗号化またはパスワード設定を行い、管理者の許可を得る。送付先を確認する",
        });
        out.push(Handling {
            stage: "持出",
            requirement: "管理者の許可を得て持出しを記録し、返却を確認する",
        });
    }
    if c.is_three() {
        out.push(Handling {
            stage: "複製・印刷",
            requirement: "必要最小限とし、複製物も同じ分類で管理する",
        });
    }
    if c.at_least_3b() {
        out.push(Handling {
            stage: "外部委託",
            requirement: "委託先の管理体制を確認し、契約に秘密保持と再委託の制限を定める",
        });
    }
    if classes.integrity == Grade::Two {
        out.push(Handling {
            stage: "改ざん防止",
            requirement: "変更の権限を限り、変更履歴を残す",
        });
    }
    if classes.availability == Grade::Two {
        out.push(Handling {
            stage: "継続性",
            requirement: "障害時の復旧手順とバックアップからの復元を確認しておく",
        });
    }
    out.push(Handling {
        stage: "廃棄",
        requirement: if c.at_least_2() {
            "復元できない方法で消去・破砕・溶解し、日時・担当者・方法を記録する。委託した場合は証明書を受領する"
        } else {
            "廃棄した日時と方法を記録する"
        },
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn classes(c: Confidentiality) -> Classes {
        Classes {
            confidentiality: c,
            integrity: Grade::One,
            availability: Grade::One,
        }
    }

    fn facts(kind: AssetKind, c: Confidentiality, zone: Option<Zone>) -> Facts {
        let own = classes(c);
        Facts {
            kind,
            medium: match kind {
                AssetKind::InformationPrinted => Medium::Paper,
                AssetKind::Medium => Medium::Removable,
                _ => Medium::System,
            },
            zone,
            own,
            own_personal: PersonalData::default(),
            effective: effective(own, PersonalData::default(), &[]),
            restrictions: Restrictions::default(),
            lockable: true,
            exception_ref: String::new(),
            manager_ok: true,
            take_out_permitted: false,
            last_reviewed: Some(date!(2026 - 04 - 01)),
            today: date!(2026 - 11 - 26),
            review_interval_days: DEFAULT_REVIEW_INTERVAL_DAYS,
        }
    }

    fn ids(f: &Facts) -> Vec<&'static str> {
        evaluate(f).iter().map(|x| x.rule.id).collect()
    }

    #[test]
    fn a_clean_asset_breaks_no_rule() {
        let f = facts(AssetKind::System, Confidentiality::C2, Some(Zone::Lgwan));
        assert!(ids(&f).is_empty());
    }

    #[test]
    fn my_number_data_stays_in_its_zone() {
        let mut f = facts(
            AssetKind::InformationElectronic,
            Confidentiality::C3B,
            Some(Zone::Lgwan),
        );
        f.own_personal = PersonalData {
            present: true,
            count: Some(30_000),
            sensitive: false,
            my_number: true,
        };
        f.effective = effective(f.own, f.own_personal, &[]);
        assert_eq!(ids(&f), vec!["A001"]);
        f.zone = Some(Zone::MyNumber);
        assert!(ids(&f).is_empty());
    }

    #[test]
    fn held_my_number_data_binds_the_system_too() {
        let mut f = facts(AssetKind::System, Confidentiality::C2, Some(Zone::Lgwan));
        let held = HeldAsset {
            id: 7,
            asset_no: "J-001".into(),
            name: "住民記録".into(),
            classes: classes(Confidentiality::C3B),
            personal: PersonalData {
                present: true,
                count: None,
                sensitive: false,
                my_number: true,
            },
        };
        f.effective = effective(f.own, f.own_personal, &[held]);
        assert_eq!(f.effective.confidentiality.value, Confidentiality::C3B);
        assert_eq!(
            f.effective.confidentiality.from.as_ref().map(|s| s.0),
            Some(7)
        );
        assert_eq!(ids(&f), vec!["A001", "A008"]);
    }

    #[test]
    fn three_b_on_the_internet_needs_an_exception() {
        let mut f = facts(
            AssetKind::InformationElectronic,
            Confidentiality::C3B,
            Some(Zone::Internet),
        );
        assert_eq!(ids(&f), vec!["A002"]);
        f.exception_ref = "例外-2026-003".into();
        assert!(ids(&f).is_empty());
        let legacy = facts(
            AssetKind::InformationElectronic,
            Confidentiality::C3,
            Some(Zone::Internet),
        );
        assert_eq!(ids(&legacy), vec!["A002"]);
        let c3c = facts(
            AssetKind::InformationElectronic,
            Confidentiality::C3C,
            Some(Zone::Internet),
        );
        assert!(ids(&c3c).is_empty());
    }

    #[test]
    fn media_and_paper_need_a_lock_and_paper_three_needs_a_take_out_rule() {
        let mut f = facts(AssetKind::InformationPrinted, Confidentiality::C3C, None);
        f.lockable = false;
        assert_eq!(ids(&f), vec!["A003", "A004"]);
        f.lockable = true;
        f.restrictions.0.insert(Restriction::NoTakeOut);
        assert!(ids(&f).is_empty());
        f.restrictions = Restrictions::default();
        f.take_out_permitted = true;
        assert!(ids(&f).is_empty());
        let public = facts(AssetKind::InformationPrinted, Confidentiality::C1, None);
        let mut public = public;
        public.lockable = false;
        assert!(ids(&public).is_empty());
    }

    #[test]
    fn manager_review_and_consistency_rules() {
        let mut f = facts(AssetKind::System, Confidentiality::C2, Some(Zone::Lgwan));
        f.manager_ok = false;
        f.last_reviewed = Some(date!(2025 - 11 - 20));
        f.own_personal.sensitive = true;
        assert_eq!(ids(&f), vec!["A005", "A007", "A006"]);
        f.last_reviewed = None;
        assert!(ids(&f).contains(&"A006"));
        assert!(!is_overdue(
            Some(date!(2025 - 11 - 26)),
            date!(2026 - 11 - 26),
            365
        ));
        assert!(is_overdue(
            Some(date!(2025 - 11 - 25)),
            date!(2026 - 11 - 26),
            365
        ));
    }

    #[test]
    fn removable_three_needs_encryption_and_electronic_needs_a_zone() {
        let f = facts(AssetKind::Medium, Confidentiality::C3C, None);
        assert_eq!(ids(&f), vec!["A009"]);
        let f = facts(AssetKind::System, Confidentiality::C2, None);
        assert_eq!(ids(&f), vec!["A010"]);
    }

    #[test]
    fn levels_read_as_typed() {
        assert_eq!(
            Confidentiality::parse("自治体機密性３Ｂ", Scheme::R6),
            Ok(Confidentiality::C3B)
        );
        assert_eq!(
            Confidentiality::parse("機密性３", Scheme::Legacy),
            Ok(Confidentiality::C3)
        );
        assert_eq!(
            Confidentiality::parse("3c", Scheme::R6),
            Ok(Confidentiality::C3C)
        );
        assert!(matches!(
            Confidentiality::parse("機密性3", Scheme::R6),
            Err(LevelError::Ambiguous(_))
        ));
        assert!(matches!(
            Confidentiality::parse("3A", Scheme::Legacy),
            Err(LevelError::OtherScheme { .. })
        ));
        assert!(matches!(
            Confidentiality::parse("極秘", Scheme::R6),
            Err(LevelError::Unknown { .. })
        ));
        assert_eq!(Grade::parse("完全性２", "完全性"), Ok(Grade::Two));
        assert_eq!(Grade::parse("1", "可用性"), Ok(Grade::One));
        assert!(Grade::parse("3", "可用性").is_err());
    }

    #[test]
    fn every_level_round_trips_through_its_code_and_label() {
        for scheme in [Scheme::R6, Scheme::Legacy] {
            for level in scheme.levels() {
                assert_eq!(Confidentiality::from_code(level.code()), Some(*level));
                assert_eq!(
                    Confidentiality::parse(&level.label_in(scheme), scheme),
                    Ok(*level)
                );
            }
        }
        for kind in AssetKind::ALL {
            assert_eq!(AssetKind::parse(kind.label_ja()), Some(kind));
            assert_eq!(AssetKind::parse(kind.code()), Some(kind));
        }
        for m in Medium::ALL {
            assert_eq!(Medium::parse(m.label_ja()), Some(m));
        }
        let r = Restrictions::parse("複製禁止・持ち出し禁止、暗号化必須").unwrap();
        assert_eq!(Restrictions::parse(&r.label_ja()), Ok(r.clone()));
        assert_eq!(Restrictions::from_codes(&r.to_codes()), r);
        assert_eq!(
            Restrictions::parse("複製禁止・極秘"),
            Err("極秘".to_owned())
        );
    }

    #[test]
    fn switching_schemes_flags_only_the_ambiguous_level() {
        let none = PersonalData::default();
        assert_eq!(
            map_level(Confidentiality::C3, Scheme::R6, none).to,
            Confidentiality::C3A
        );
        let m = map_level(Confidentiality::C2, Scheme::R6, none);
        assert_eq!(m.to, Confidentiality::C2);
        assert_eq!(m.candidates.len(), 3);
        let personal = PersonalData {
            present: true,
            ..PersonalData::default()
        };
        assert_eq!(
            map_level(Confidentiality::C2, Scheme::R6, personal).to,
            Confidentiality::C3C
        );
        for level in Scheme::R6.levels() {
            let m = map_level(*level, Scheme::Legacy, none);
            assert!(m.candidates.is_empty());
            assert!(m.to.in_scheme(Scheme::Legacy));
        }
    }

    #[test]
    fn handling_grows_with_the_class() {
        let low = handling(classes(Confidentiality::C1));
        let high = handling(Classes {
            confidentiality: Confidentiality::C3B,
            integrity: Grade::Two,
            availability: Grade::Two,
        });
        assert!(high.len() > low.len() + 4);
        assert!(high.iter().any(|h| h.stage == "持出"));
        assert!(!low.iter().any(|h| h.stage == "持出"));
    }

    #[test]
    fn rule_ids_are_unique_and_found() {
        for r in RULES {
            assert_eq!(rule(r.id), Some(&r));
            assert!(!r.message.is_empty() && !r.section.is_empty());
        }
    }
}
