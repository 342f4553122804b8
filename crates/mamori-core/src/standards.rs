//! The structure of the 情報セキュリティ対策基準 (standards) as the national guideline lays it
//! out: chapters 2-1 組織体制 … 2-9 評価・見直し and their sections.
//!
//! mamori ships only numbers, titles and a one-line summary written for mamori; an organisation
//! keeps its own clause text (and its own article numbers) in the database, seeded from this
//! tree. Other parts of mamori — self-inspection questions, audit criteria, exceptions, controls —
//! refer to a clause by its guideline number (`"2-4-2"`), which stays the same whatever an
//! organisation numbers its articles.

use serde::Serialize;

/// One clause of the guideline's standards structure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct GuidelineClause {
    /// The guideline number: `"2-4"` for a chapter, `"2-4-2"` for a section.
    pub number: &'static str,
    /// The title as the guideline names it.
    pub title: &'static str,
    /// What the clause asks for, in one sentence written for mamori.
    pub summary: &'static str,
}

impl GuidelineClause {
    /// The parent's number (`"2-4"` for `"2-4-2"`); `None` for a chapter.
    pub fn parent(&self) -> Option<&'static str> {
        let cut = self.number.rfind('-')?;
        let parent = self.number.get(..cut)?;
        // Chapters ("2-4") hang under the standards as a whole, not under "2".
        parent.contains('-').then_some(parent)
    }

    /// How deep it sits: 1 for a chapter, 2 for a section.
    pub fn depth(&self) -> usize {
        self.number.matches('-').count()
    }
}

macro_rules! clauses {
    ($(($number:literal, $title:literal, $summary:literal)),* $(,)?) => {
        &[$(GuidelineClause { number: $number, title: $title, summary: $summary }),*]
    };
}

/// The guideline's standards structure, in document order (chapters before their sections).
pub const GUIDELINE: &[GuidelineClause] = clauses![
    (
        "2-1",
        "組織体制",
        "情報セキュリティに責任を持つ役割と、その権限・連絡体制を定める。"
    ),
    (
        "2-1-1",
        "最高情報セキュリティ責任者（CISO）",
        "最終的な権限と責任を持つ者を置き、例外措置や改定を決定させる。"
    ),
    (
        "2-1-2",
        "統括情報セキュリティ責任者",
        "全ネットワークと実施手順の維持、緊急連絡体制、研修計画を受け持つ者を置く。"
    ),
    (
        "2-1-3",
        "情報セキュリティ責任者",
        "所属ごとに、その所属の情報セキュリティに責任を持つ者を置く。"
    ),
    (
        "2-1-4",
        "情報セキュリティ管理者",
        "課室ごとに、情報資産の分類・持出し・廃棄を許可し、事故報告を最初に受ける者を置く。"
    ),
    (
        "2-1-5",
        "情報システム管理者・担当者",
        "情報システムごとに、運用・ID・ログ・バックアップを担う者を置く。"
    ),
    (
        "2-1-6",
        "情報セキュリティ委員会",
        "CISOを長として、ポリシーの決定や年間の改善計画を審議する場を設ける。"
    ),
    (
        "2-1-7",
        "兼務の禁止",
        "承認する者と申請する者、監査する者とされる者を同じ人にしない。"
    ),
    (
        "2-1-8",
        "CSIRTの設置・役割",
        "事故の窓口・判断・対処・報告・再発防止を担う体制を置く。"
    ),
    (
        "2-2",
        "情報資産の分類と管理",
        "情報資産を機密性・完全性・可用性で分類し、分類に応じて扱う。"
    ),
    (
        "2-2-1",
        "情報資産の分類",
        "分類の基準と、各分類に求める取扱いを定める。"
    ),
    (
        "2-2-2",
        "情報資産の管理",
        "管理責任、表示、作成・入手・利用・保管・送信・運搬・提供・廃棄の各場面の扱いを定める。"
    ),
    (
        "2-3",
        "情報システム全体の強靭性の向上",
        "ネットワークを三つの系に分け、系の間の通信を必要最小限にする。"
    ),
    (
        "2-3-1",
        "マイナンバー利用事務系",
        "他の系から分離し、端末からの持出しや外部との通信を厳しく制限する。"
    ),
    (
        "2-3-2",
        "LGWAN接続系",
        "インターネット接続系とは無害化を通じてのみ情報をやり取りする。"
    ),
    (
        "2-3-3",
        "インターネット接続系",
        "不正通信の監視と、LGWAN接続系への持込み時の無害化を行う。"
    ),
    (
        "2-4",
        "物理的セキュリティ",
        "機器・部屋・回線・端末と記録媒体を物理的に守る。"
    ),
    (
        "2-4-1",
        "サーバ等の管理",
        "サーバの設置場所、冗長化、電源、保守、廃棄時の消去を定める。"
    ),
    (
        "2-4-2",
        "管理区域（情報システム室等）の管理",
        "入退室の管理と記録、搬入出の確認を行う。"
    ),
    (
        "2-4-3",
        "通信回線及び通信回線装置の管理",
        "回線と装置の構成を管理し、不要な接続を作らない。"
    ),
    (
        "2-4-4",
        "職員等の利用する端末や電磁的記録媒体等の管理",
        "端末の盗難対策、記録媒体の施錠保管と持出し管理を行う。"
    ),
    (
        "2-5",
        "人的セキュリティ",
        "職員等が守ること、研修、事故の報告、IDとパスワードの扱いを定める。"
    ),
    (
        "2-5-1",
        "職員等の遵守事項",
        "ポリシーの遵守、目的外利用の禁止、持出しや私物端末の扱いを定める。"
    ),
    (
        "2-5-2",
        "研修・訓練",
        "全職員等が年に一度以上研修を受け、訓練を行う。"
    ),
    (
        "2-5-3",
        "情報セキュリティインシデントの報告",
        "事故や兆候を見つけたら決められた経路で速やかに報告する。"
    ),
    (
        "2-5-4",
        "ID及びパスワード等の管理",
        "ICカードやIDの貸借禁止、パスワードの管理を定める。"
    ),
    (
        "2-6",
        "技術的セキュリティ",
        "コンピュータとネットワーク、アクセス制御、開発、不正プログラム・不正アクセスへの対策。"
    ),
    (
        "2-6-1",
        "コンピュータ及びネットワークの管理",
        "文書サーバ、バックアップ、ログ、電子メール、無線LANなどの設定と管理を定める。"
    ),
    (
        "2-6-2",
        "アクセス制御",
        "利用者IDと権限を必要最小限にし、特権IDを厳しく管理する。"
    ),
    (
        "2-6-3",
        "システム開発、導入、保守等",
        "調達・開発・導入・保守の各段階でセキュリティ要件を確認する。"
    ),
    (
        "2-6-4",
        "不正プログラム対策",
        "不正プログラムの検知と、外部から持ち込む情報の確認を行う。"
    ),
    (
        "2-6-5",
        "不正アクセス対策",
        "攻撃の検知と記録、攻撃を受けたときの対処を定める。"
    ),
    (
        "2-6-6",
        "セキュリティ情報の収集",
        "脆弱性や脅威の情報を集め、必要な対策をとる。"
    ),
    (
        "2-7",
        "運用",
        "監視、遵守状況の確認、侵害時の対応、例外措置、法令遵守、懲戒を定める。"
    ),
    (
        "2-7-1",
        "情報システムの監視",
        "ログと通信を監視し、記録を一定期間保存する。"
    ),
    (
        "2-7-2",
        "情報セキュリティポリシーの遵守状況の確認",
        "遵守状況を確認し、違反があれば報告して対処する。"
    ),
    (
        "2-7-3",
        "侵害時の対応等",
        "緊急時対応計画を定め、計画に沿って対処し、見直す。"
    ),
    (
        "2-7-4",
        "例外措置",
        "業務上やむを得ない場合に、CISOの許可を得て例外を認め、記録して見直す。"
    ),
    ("2-7-5", "法令遵守", "情報セキュリティに関わる法令を守る。"),
    (
        "2-7-6",
        "懲戒処分等",
        "ポリシーに違反した職員等への対応を定める。"
    ),
    (
        "2-8",
        "業務委託と外部サービス（クラウドサービス）の利用",
        "委託先と外部サービスに同等の対策を求め、確認する。"
    ),
    (
        "2-8-1",
        "業務委託",
        "委託先の選定基準、契約に含める事項、定期的な確認を定める。"
    ),
    (
        "2-8-2",
        "情報システムに関する業務委託",
        "システムの開発・運用を委託するときの追加の要件を定める。"
    ),
    (
        "2-8-3",
        "外部サービスの利用（機密性2以上の情報を扱う場合）",
        "承認、選定基準、利用の記録と終了時の扱いを定める。"
    ),
    (
        "2-8-4",
        "外部サービスの利用（機密性2以上の情報を扱わない場合）",
        "簡易な手続と利用者の遵守事項を定める。"
    ),
    (
        "2-8-5",
        "ソーシャルメディアサービスの利用",
        "アカウントごとの責任者、なりすまし対策、非公開情報の発信禁止を定める。"
    ),
    (
        "2-9",
        "評価・見直し",
        "監査と自己点検で実施状況を評価し、ポリシーを見直す。"
    ),
    (
        "2-9-1",
        "監査",
        "独立した監査人が計画的に監査し、結果をCISOと委員会に報告する。"
    ),
    (
        "2-9-2",
        "自己点検",
        "毎年度、職員等が自らの対策の実施状況を点検し、改善につなげる。"
    ),
    (
        "2-9-3",
        "情報セキュリティポリシー及び関係規程等の見直し",
        "監査・点検の結果や状況の変化を踏まえてポリシーを見直す。"
    ),
];

/// The clause with this guideline number, accepting full-width digits and dashes as people type
/// them (`２－４－２`, `2―4―2`).
pub fn clause(number: &str) -> Option<&'static GuidelineClause> {
    let wanted = normalise_number(number);
    GUIDELINE.iter().find(|c| c.number == wanted)
}

/// A clause number with full-width digits and the various dashes folded to `0-9` and `-`, and
/// surrounding space removed.
pub fn normalise_number(number: &str) -> String {
    number
        .trim()
        .chars()
        .filter_map(|c| match c {
            '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32),
            '－' | '―' | '‐' | '—' | '–' | 'ー' | '−' => Some('-'),
            c if c.is_whitespace() => None,
            c => Some(c),
        })
        .collect()
}

/// The sections of a chapter, in order.
pub fn sections_of(chapter: &str) -> impl Iterator<Item = &'static GuidelineClause> + '_ {
    GUIDELINE
        .iter()
        .filter(move |c| c.parent() == Some(chapter))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nine_chapters_each_with_sections() {
        let chapters: Vec<_> = GUIDELINE.iter().filter(|c| c.depth() == 1).collect();
        assert_eq!(chapters.len(), 9);
        assert_eq!(chapters.first().map(|c| c.title), Some("組織体制"));
        assert_eq!(chapters.last().map(|c| c.title), Some("評価・見直し"));
        for chapter in chapters {
            assert!(
                sections_of(chapter.number).count() >= 2,
                "{}",
                chapter.number
            );
        }
    }

    #[test]
    fn numbers_are_unique_and_every_section_has_its_chapter_first() {
        let mut seen = std::collections::HashSet::new();
        for c in GUIDELINE {
            assert!(seen.insert(c.number), "duplicate {}", c.number);
            if let Some(parent) = c.parent() {
                assert!(seen.contains(parent), "{} before its chapter", c.number);
            }
            assert!(!c.summary.is_empty() && !c.title.is_empty());
        }
    }

    #[test]
    fn numbers_typed_in_full_width_are_found() {
        assert_eq!(clause("２－７－４").map(|c| c.title), Some("例外措置"));
        assert_eq!(clause(" 2―9―2 ").map(|c| c.title), Some("自己点検"));
        assert_eq!(clause("2-4").and_then(|c| c.parent()), None);
        assert_eq!(clause("2-4-2").and_then(|c| c.parent()), Some("2-4"));
        assert!(clause("2-10").is_none());
    }
}
