//! The one glossary between the names used in code and the policy's Japanese terms.
//!
//! Code uses romanised or English identifiers (`security_manager`, `self_inspection`); staff read
//! 情報セキュリティ管理者 and 自己点検. Every such name is listed here once, with the Japanese
//! term, an English gloss for readers of the code, and where the policy or the national guideline
//! uses it, so a reader can go from an identifier to the section it serves and back. Keys are
//! `category.code`, where `code` is the identifier stored in the database, files and the API.

use crate::text;

use Category::{AssetKind, Body, Class, Document, Process, Role, Term, Threat, Zone};

/// What kind of thing a glossary entry names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Category {
    /// A role of 対策基準 2-1, or a body of people acting as one (委員会, CSIRT).
    Role,
    /// A network zone (§2(8)–(10)).
    Zone,
    /// A classification level (§6(2), 対策基準 2-2).
    Class,
    /// A body of the organisation in the policy's scope (§4(1)).
    Body,
    /// A kind of information asset in scope (§4(2)).
    AssetKind,
    /// A process the policy requires (自己点検, 監査, 例外措置 …).
    Process,
    /// A policy document or register.
    Document,
    /// A term defined in §2.
    Term,
    /// A threat class of §3.
    Threat,
}

impl Category {
    /// The key prefix of the category (`role` in `role.ciso`).
    pub fn prefix(self) -> &'static str {
        match self {
            Category::Role => "role",
            Category::Zone => "zone",
            Category::Class => "class",
            Category::Body => "body",
            Category::AssetKind => "asset_kind",
            Category::Process => "process",
            Category::Document => "document",
            Category::Term => "term",
            Category::Threat => "threat",
        }
    }
}

/// One name and its Japanese term.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GlossaryEntry {
    /// `category.code`, unique in the glossary.
    pub key: &'static str,
    /// What kind of thing this is.
    pub category: Category,
    /// The policy's own term.
    pub ja: &'static str,
    /// Other Japanese spellings staff use (accepted by [`find_ja`]).
    pub aliases: &'static [&'static str],
    /// An English gloss for readers of the code.
    pub en: &'static str,
    /// Where the term comes from: 基本方針 section or 対策基準 chapter.
    pub source: &'static str,
}

impl GlossaryEntry {
    /// The identifier after the category prefix (`ciso` in `role.ciso`).
    pub fn code(&self) -> &'static str {
        self.key.split_once('.').map_or(self.key, |(_, code)| code)
    }
}

const fn e(
    key: &'static str,
    category: Category,
    ja: &'static str,
    aliases: &'static [&'static str],
    en: &'static str,
    source: &'static str,
) -> GlossaryEntry {
    GlossaryEntry {
        key,
        category,
        ja,
        aliases,
        en,
        source,
    }
}

/// Every entry, grouped by category.
// One entry per line reads as a table; wrapping would spread each over eight lines.
#[rustfmt::skip]
pub const GLOSSARY: &[GlossaryEntry] = &[
    // Roles (対策基準 2-1); codes are those of `crate::role::Role`.
    e("role.ciso", Role, "最高情報セキュリティ責任者", &["CISO"], "Chief Information Security Officer", "§6(1), 対策基準 2-1"),
    e("role.vice_ciso", Role, "副最高情報セキュリティ責任者", &["副CISO"], "Deputy CISO", "対策基準 2-1"),
    e("role.chief_officer", Role, "統括情報セキュリティ責任者", &[], "Chief security officer (head of IT)", "対策基準 2-1"),
    e("role.security_officer", Role, "情報セキュリティ責任者", &[], "Security officer of a body", "対策基準 2-1"),
    e("role.security_manager", Role, "情報セキュリティ管理者", &[], "Security manager of a section", "対策基準 2-1"),
    e("role.system_manager", Role, "情報システム管理者", &[], "System manager", "対策基準 2-1"),
    e("role.system_staff", Role, "情報システム担当者", &[], "System operator", "対策基準 2-1"),
    e("role.auditor", Role, "監査人", &["情報セキュリティ監査人"], "Auditor", "§7, 対策基準 2-8"),
    e("role.staff", Role, "職員等", &["職員"], "Staff bound by the policy", "§5"),
    e("role.committee", Role, "情報セキュリティ委員会", &["委員会"], "Security committee", "対策基準 2-1"),
    e("role.csirt", Role, "CSIRT", &["情報セキュリティインシデント対応チーム"], "Computer security incident response team", "対策基準 2-1"),
    // Zones (§2(8)–(10)); codes are those of `crate::zone::Zone`.
    e("zone.mynumber", Zone, "マイナンバー利用事務系", &["個人番号利用事務系"], "My Number zone", "§2(8), §6(3)①"),
    e("zone.lgwan", Zone, "LGWAN接続系", &[], "LGWAN zone", "§2(9), §6(3)②"),
    e("zone.internet", Zone, "インターネット接続系", &[], "Internet zone", "§2(10), §6(3)③"),
    // Classification levels (対策基準 2-2).
    e("class.confidentiality_3a", Class, "自治体機密性3A", &[], "Confidentiality 3A (state-secret equivalent)", "§6(2), 対策基準 2-2"),
    e("class.confidentiality_3b", Class, "自治体機密性3B", &[], "Confidentiality 3B", "§6(2), 対策基準 2-2"),
    e("class.confidentiality_3c", Class, "自治体機密性3C", &[], "Confidentiality 3C", "§6(2), 対策基準 2-2"),
    e("class.confidentiality_2", Class, "自治体機密性2", &[], "Confidentiality 2", "§6(2), 対策基準 2-2"),
    e("class.confidentiality_1", Class, "自治体機密性1", &[], "Confidentiality 1 (public)", "§6(2), 対策基準 2-2"),
    e("class.legacy_confidentiality_3", Class, "機密性3", &[], "Confidentiality 3 (legacy scheme)", "対策基準 2-2"),
    e("class.legacy_confidentiality_2", Class, "機密性2", &[], "Confidentiality 2 (legacy scheme)", "対策基準 2-2"),
    e("class.legacy_confidentiality_1", Class, "機密性1", &[], "Confidentiality 1 (legacy scheme)", "対策基準 2-2"),
    e("class.integrity_2", Class, "完全性2", &[], "Integrity 2", "§6(2), 対策基準 2-2"),
    e("class.integrity_1", Class, "完全性1", &[], "Integrity 1", "§6(2), 対策基準 2-2"),
    e("class.availability_2", Class, "可用性2", &[], "Availability 2", "§6(2), 対策基準 2-2"),
    e("class.availability_1", Class, "可用性1", &[], "Availability 1", "§6(2), 対策基準 2-2"),
    // Bodies in the union's scope (§4(1)); other organisations add their own.
    e("body.jimukyoku", Body, "事務局", &[], "Secretariat", "§4(1)"),
    e("body.shobo", Body, "消防", &["消防本部"], "Fire department", "§4(1)"),
    e("body.jiseien", Body, "慈生園", &[], "Care home", "§4(1)"),
    // Asset kinds (§4(2)).
    e("asset_kind.system", AssetKind, "ネットワーク・情報システム・設備・記録媒体", &["①"], "Networks, systems, facilities, media", "§4(2)①"),
    e("asset_kind.information", AssetKind, "情報", &["②"], "Information, printed copies included", "§4(2)②"),
    e("asset_kind.document", AssetKind, "システム関連文書", &["③"], "System documents", "§4(2)③"),
    // Processes.
    e("process.classification", Process, "情報資産の分類と管理", &["格付け"], "Classification and handling", "§6(2)"),
    e("process.self_inspection", Process, "自己点検", &[], "Self-inspection", "§6(9), §7"),
    e("process.audit", Process, "情報セキュリティ監査", &["監査"], "Security audit", "§6(9), §7"),
    e("process.finding", Process, "指摘事項", &[], "Audit finding", "対策基準 2-8"),
    e("process.corrective_action", Process, "改善措置", &["是正措置"], "Corrective action", "対策基準 2-8"),
    e("process.review", Process, "見直し", &["評価・見直し"], "Policy review", "§6(9), §8"),
    e("process.risk_analysis", Process, "リスク分析", &[], "Risk analysis", "§8"),
    e("process.exception", Process, "例外措置", &[], "Exception", "対策基準 2-7"),
    e("process.incident", Process, "情報セキュリティインシデント", &["インシデント"], "Security incident", "§6(7)"),
    e("process.emergency_plan", Process, "緊急時対応計画", &[], "Emergency response plan", "§6(7)"),
    e("process.training", Process, "研修・訓練", &["研修", "訓練"], "Training and drills", "§6(5)"),
    e("process.acknowledgement", Process, "遵守の誓約", &["誓約"], "Acknowledgement of the policy", "§5"),
    e("process.sanitization", Process, "無害化", &["無害化処理"], "Sanitisation (disarm and rebuild)", "§2(12), §6(3)②"),
    e("process.sanitized_communication", Process, "無害化通信", &[], "Sanitised communication", "§2(12)"),
    e("process.screen_transfer", Process, "画面転送", &[], "Screen transfer", "§2(12)"),
    e("process.path_separation", Process, "通信経路の分割", &[], "Separation of network paths", "§2(11), §6(3)②"),
    e("process.security_cloud", Process, "自治体情報セキュリティクラウド", &["セキュリティクラウド"], "Prefectural security cloud", "§6(3)③"),
    e("process.outsourcing", Process, "業務委託", &["委託"], "Outsourcing", "§6(8)"),
    e("process.cloud_service", Process, "外部サービスの利用", &["クラウドサービスの利用"], "Use of external (cloud) services", "§6(8)"),
    e("process.social_media", Process, "ソーシャルメディアサービスの利用", &["SNS"], "Use of social media", "§6(8)"),
    e("process.take_out", Process, "持出し", &["持出", "持ち出し"], "Taking assets out", "対策基準 2-2"),
    e("process.disposal", Process, "廃棄", &[], "Disposal", "対策基準 2-2"),
    e("process.physical_security", Process, "物理的セキュリティ", &[], "Physical security", "§6(4)"),
    e("process.human_security", Process, "人的セキュリティ", &[], "Human security", "§6(5)"),
    e("process.technical_security", Process, "技術的セキュリティ", &[], "Technical security", "§6(6)"),
    e("process.operations", Process, "運用", &[], "Operations", "§6(7)"),
    // Documents and registers.
    e("document.security_policy", Document, "情報セキュリティポリシー", &[], "Security policy (basic policy and standards)", "§2(4)"),
    e("document.basic_policy", Document, "情報セキュリティ基本方針", &["基本方針"], "Basic policy", "§1"),
    e("document.standards", Document, "情報セキュリティ対策基準", &["対策基準"], "Security standards", "§9"),
    e("document.procedures", Document, "情報セキュリティ実施手順", &["実施手順"], "Implementation procedures (non-public)", "§10"),
    e("document.asset_register", Document, "情報資産管理台帳", &["台帳"], "Information asset register", "§6(2)"),
    // Terms of §2 not listed above; codes are the term keys of `crate::policy`.
    e("term.network", Term, "ネットワーク", &[], "Network", "§2(1)"),
    e("term.information_system", Term, "情報システム", &[], "Information system", "§2(2)"),
    e("term.information_security", Term, "情報セキュリティ", &[], "Information security", "§2(3)"),
    e("term.security_policy", Term, "情報セキュリティポリシー", &[], "Security policy", "§2(4)"),
    e("term.confidentiality", Term, "機密性", &[], "Confidentiality", "§2(5)"),
    e("term.integrity", Term, "完全性", &[], "Integrity", "§2(6)"),
    e("term.availability", Term, "可用性", &[], "Availability", "§2(7)"),
    e("term.zone_mynumber", Term, "マイナンバー利用事務系", &[], "My Number zone", "§2(8)"),
    e("term.zone_lgwan", Term, "LGWAN接続系", &[], "LGWAN zone", "§2(9)"),
    e("term.zone_internet", Term, "インターネット接続系", &[], "Internet zone", "§2(10)"),
    e("term.path_separation", Term, "通信経路の分割", &[], "Separation of network paths", "§2(11)"),
    e("term.sanitized_communication", Term, "無害化通信", &[], "Sanitised communication", "§2(12)"),
    // Threat classes of §3; codes are the threat ids of `crate::policy`.
    e("threat.deliberate", Threat, "意図的な要因", &[], "Deliberate threats", "§3(1)"),
    e("threat.accidental", Threat, "非意図的な要因", &[], "Accidental threats", "§3(2)"),
    e("threat.disaster", Threat, "災害", &[], "Disasters", "§3(3)"),
    e("threat.pandemic", Threat, "疾病による要員不足", &[], "Staff shortage from disease", "§3(4)"),
    e("threat.infrastructure", Threat, "インフラの障害", &[], "Infrastructure failure", "§3(5)"),
];

/// The entry with this key (`role.ciso`).
pub fn lookup(key: &str) -> Option<&'static GlossaryEntry> {
    GLOSSARY.iter().find(|entry| entry.key == key)
}

/// The entry of a category and code (`Category::Role`, `ciso`).
pub fn entry(category: Category, code: &str) -> Option<&'static GlossaryEntry> {
    GLOSSARY
        .iter()
        .find(|entry| entry.category == category && entry.code() == code)
}

/// The Japanese term of a key, or the key itself when unknown (so a page never shows nothing).
pub fn ja(key: &str) -> &str {
    lookup(key).map_or(key, |entry| entry.ja)
}

/// The first entry whose Japanese term or alias matches, ignoring width and spaces; prefer
/// [`find_ja_in`] when the category is known (some terms name both a zone and a §2 term).
pub fn find_ja(term: &str) -> Option<&'static GlossaryEntry> {
    let folded = text::fold(term);
    GLOSSARY.iter().find(|entry| names_match(entry, &folded))
}

/// Like [`find_ja`], within one category.
pub fn find_ja_in(category: Category, term: &str) -> Option<&'static GlossaryEntry> {
    let folded = text::fold(term);
    GLOSSARY
        .iter()
        .find(|entry| entry.category == category && names_match(entry, &folded))
}

fn names_match(entry: &GlossaryEntry, folded: &str) -> bool {
    text::fold(entry.ja) == folded || entry.aliases.iter().any(|a| text::fold(a) == folded)
}

/// Every entry of a category, in glossary order.
pub fn in_category(category: Category) -> impl Iterator<Item = &'static GlossaryEntry> {
    GLOSSARY
        .iter()
        .filter(move |entry| entry.category == category)
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
    use std::collections::HashSet;

    #[test]
    fn keys_are_unique_and_prefixed_by_their_category() {
        let mut seen = HashSet::new();
        for entry in GLOSSARY {
            assert!(seen.insert(entry.key), "duplicate key {}", entry.key);
            assert_eq!(
                entry.key.split_once('.').map(|(p, _)| p),
                Some(entry.category.prefix()),
                "{}",
                entry.key
            );
            assert!(
                !entry.ja.is_empty() && !entry.en.is_empty() && !entry.source.is_empty(),
                "{}",
                entry.key
            );
        }
    }

    #[test]
    fn japanese_terms_are_unique_within_a_category() {
        let mut seen = HashSet::new();
        for entry in GLOSSARY {
            for name in std::iter::once(&entry.ja).chain(entry.aliases) {
                assert!(
                    seen.insert((entry.category, text::fold(name))),
                    "{} / {name}",
                    entry.key
                );
            }
        }
    }

    #[test]
    fn every_role_and_zone_in_code_has_an_entry() {
        for role in crate::role::Role::ALL {
            assert!(
                entry(Category::Role, role.code()).is_some(),
                "role {}",
                role.code()
            );
        }
        for zone in crate::zone::Zone::ALL {
            let found = entry(Category::Zone, zone.code()).unwrap();
            assert_eq!(found.ja, zone.label_ja());
        }
    }

    #[test]
    fn every_shipped_policy_key_has_an_entry() {
        let outline = crate::policy::PolicyOutline::default();
        for term in &outline.terms {
            let found =
                entry(Category::Term, &term.key).unwrap_or_else(|| panic!("term {}", term.key));
            assert!(
                term.term.starts_with(found.ja),
                "{} / {}",
                term.term,
                found.ja
            );
        }
        for threat in &outline.threats {
            let found = entry(Category::Threat, &threat.id).unwrap();
            assert_eq!(found.ja, threat.name);
        }
        for kind in &outline.scope.asset_kinds {
            assert!(
                entry(Category::AssetKind, &kind.code).is_some(),
                "{}",
                kind.code
            );
        }
        for body in &outline.scope.bodies {
            assert_eq!(entry(Category::Body, &body.code).unwrap().ja, body.name);
        }
    }

    #[test]
    fn lookups() {
        assert_eq!(ja("process.self_inspection"), "自己点検");
        assert_eq!(ja("no.such"), "no.such");
        assert_eq!(find_ja("ＣＩＳＯ").map(|e| e.key), Some("role.ciso"));
        assert_eq!(
            find_ja_in(Category::Zone, "個人番号利用事務系").map(|e| e.code()),
            Some("mynumber")
        );
        assert_eq!(lookup("process.sanitization").map(|e| e.ja), Some("無害化"));
        assert_eq!(in_category(Category::Threat).count(), 5);
    }
}
