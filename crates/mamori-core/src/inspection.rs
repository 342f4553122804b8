//! 自己点検 (self-inspection, 基本方針 §7, 対策基準 2-9-2): who answers, what an answer can be,
//! when a campaign takes answers, and the question sets mamori ships.
//!
//! A campaign asks each respondent group its own questions; every question names the guideline
//! clause it checks (`"2-4-4"`, see [`crate::standards`]), so results roll up per clause whatever
//! an organisation numbers its own articles. The default questions below are written for mamori.

use serde::Serialize;
use time::Date;

use crate::calendar::format_wareki;
use crate::role::Role;

/// Who answers a set of questions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Group {
    /// 全職員: every active member of staff (職員等, §5).
    Staff,
    /// 情報セキュリティ管理者: heads of sections, for their section.
    Manager,
    /// 情報システム管理者: those running a system, for it.
    SystemManager,
}

impl Group {
    /// Every group, in display order.
    pub const ALL: [Group; 3] = [Group::Staff, Group::Manager, Group::SystemManager];

    /// Stable code (database, API, forms).
    pub fn code(self) -> &'static str {
        match self {
            Group::Staff => "staff",
            Group::Manager => "manager",
            Group::SystemManager => "system_manager",
        }
    }

    /// Japanese name.
    pub fn label_ja(self) -> &'static str {
        match self {
            Group::Staff => "全職員",
            Group::Manager => "情報セキュリティ管理者",
            Group::SystemManager => "情報システム管理者",
        }
    }

    /// The group with this code.
    pub fn from_code(code: &str) -> Option<Group> {
        Group::ALL.into_iter().find(|g| g.code() == code.trim())
    }

    /// The role whose holders form the group (`None`: every active person).
    pub fn role(self) -> Option<Role> {
        match self {
            Group::Staff => None,
            Group::Manager => Some(Role::SecurityManager),
            Group::SystemManager => Some(Role::SystemManager),
        }
    }

    /// Whether a shortfall this group reports must come with an improvement plan and a due
    /// date: 管理者 answer for their section or system, and owe its improvement.
    pub fn plans_required(self) -> bool {
        !matches!(self, Group::Staff)
    }
}

/// One answer to a question.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AnswerValue {
    /// 実施: done.
    Done,
    /// 一部実施: partly done.
    Partial,
    /// 未実施: not done.
    NotDone,
    /// 該当なし: does not apply.
    NotApplicable,
}

impl AnswerValue {
    /// Every value, in the order the form shows them.
    pub const ALL: [AnswerValue; 4] = [
        AnswerValue::Done,
        AnswerValue::Partial,
        AnswerValue::NotDone,
        AnswerValue::NotApplicable,
    ];

    /// Stable code.
    pub fn code(self) -> &'static str {
        match self {
            AnswerValue::Done => "done",
            AnswerValue::Partial => "partial",
            AnswerValue::NotDone => "not_done",
            AnswerValue::NotApplicable => "na",
        }
    }

    /// Japanese label.
    pub fn label_ja(self) -> &'static str {
        match self {
            AnswerValue::Done => "実施",
            AnswerValue::Partial => "一部実施",
            AnswerValue::NotDone => "未実施",
            AnswerValue::NotApplicable => "該当なし",
        }
    }

    /// The value with this code or Japanese label.
    pub fn parse(s: &str) -> Option<AnswerValue> {
        let s = s.trim();
        AnswerValue::ALL
            .into_iter()
            .find(|v| v.code() == s || v.label_ja() == s)
    }

    /// 一部実施 and 未実施: the policy is not (fully) followed, so an improvement item arises.
    pub fn non_conforming(self) -> bool {
        matches!(self, AnswerValue::Partial | AnswerValue::NotDone)
    }
}

/// Counts of answers, for one unit, clause or question.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    /// 実施.
    pub done: i64,
    /// 一部実施.
    pub partial: i64,
    /// 未実施.
    pub not_done: i64,
    /// 該当なし.
    pub na: i64,
}

impl Tally {
    /// Adds another tally.
    pub fn add(&mut self, other: &Tally) {
        self.done += other.done;
        self.partial += other.partial;
        self.not_done += other.not_done;
        self.na += other.na;
    }

    /// Every answer counted.
    pub fn total(&self) -> i64 {
        self.done + self.partial + self.not_done + self.na
    }

    /// 適合率: 実施 among the answers that apply (該当なし left out), in per mille so it stays
    /// an integer; `None` when no answer applies.
    pub fn conformity_permille(&self) -> Option<i64> {
        let applicable = self.done + self.partial + self.not_done;
        (applicable > 0).then(|| (self.done * 1000 + applicable / 2) / applicable)
    }
}

/// A rate in per mille as a percentage with one decimal: `87.5%`, `—` for none.
pub fn permille_text(v: Option<i64>) -> String {
    match v {
        Some(p) => format!("{}.{}%", p / 10, p % 10),
        None => "—".to_owned(),
    }
}

/// Rounded per mille of `part` in `whole`.
pub fn permille(part: i64, whole: i64) -> Option<i64> {
    (whole > 0).then(|| (part * 1000 + whole / 2) / whole)
}

/// Where a campaign stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// 準備中: questions may be edited; nobody answers yet.
    Draft,
    /// 開始前: opened (respondents fixed) but the period has not begun.
    Scheduled,
    /// 回答受付中.
    Open,
    /// 終了: closed by hand, or its end date has passed.
    Closed,
}

impl Phase {
    /// A campaign's phase on `today` from its stored state and period: the end date closes it
    /// by itself, with no job needing to run.
    pub fn of(stored: &str, start: Date, end: Date, today: Date) -> Phase {
        match stored {
            "draft" => Phase::Draft,
            "open" if today > end => Phase::Closed,
            "open" if today < start => Phase::Scheduled,
            "open" => Phase::Open,
            _ => Phase::Closed,
        }
    }

    /// Japanese label.
    pub fn label_ja(self) -> &'static str {
        match self {
            Phase::Draft => "準備中",
            Phase::Scheduled => "開始前",
            Phase::Open => "回答受付中",
            Phase::Closed => "終了",
        }
    }

    /// Stable code.
    pub fn code(self) -> &'static str {
        match self {
            Phase::Draft => "draft",
            Phase::Scheduled => "scheduled",
            Phase::Open => "open",
            Phase::Closed => "closed",
        }
    }
}

/// Why an answer cannot be taken now.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeriodError {
    /// The campaign is still being prepared.
    #[error("この自己点検はまだ開始されていません")]
    NotOpened,
    /// The period has not begun.
    #[error("回答期間は{}から始まります", format_wareki(*.0))]
    NotYet(Date),
    /// The end date has passed.
    #[error("回答期間は{}に終了しました。回答は受け付けられません", format_wareki(*.0))]
    Ended(Date),
    /// Closed by hand before its end date.
    #[error("この自己点検は締め切られました。回答は受け付けられません")]
    Closed,
}

/// Whether a campaign in `stored` state with this period takes answers on `today`.
pub fn check_period(stored: &str, start: Date, end: Date, today: Date) -> Result<(), PeriodError> {
    match stored {
        "draft" => Err(PeriodError::NotOpened),
        "open" if today > end => Err(PeriodError::Ended(end)),
        "open" if today < start => Err(PeriodError::NotYet(start)),
        "open" => Ok(()),
        _ if today > end => Err(PeriodError::Ended(end)),
        _ => Err(PeriodError::Closed),
    }
}

/// One shipped question.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DefaultQuestion {
    /// The guideline clause it checks.
    pub clause: &'static str,
    /// The question, as a yes-or-no statement of practice.
    pub text: &'static str,
}

macro_rules! questions {
    ($(($clause:literal, $text:literal)),* $(,)?) => {
        &[$(DefaultQuestion { clause: $clause, text: $text }),*]
    };
}

/// Questions for every member of staff.
pub const STAFF_QUESTIONS: &[DefaultQuestion] = questions![
    (
        "2-2-2",
        "扱う文書やファイルに、機密性の分類が分かる表示をしている。"
    ),
    (
        "2-2-2",
        "機密性2以上の情報を庁外へ送るときは、管理者の許可を得て暗号化している。"
    ),
    (
        "2-2-2",
        "不要になった書類や記録媒体は、決められた方法で廃棄し、廃棄の記録を残している。"
    ),
    (
        "2-4-4",
        "離席するときは端末の画面をロックし、机上に書類を放置していない。"
    ),
    (
        "2-4-4",
        "USBメモリ等の記録媒体は登録されたものだけを使い、施錠できる場所に保管している。"
    ),
    (
        "2-4-4",
        "端末や記録媒体を持ち出すときは、管理者の許可を得て持出しの記録をつけている。"
    ),
    (
        "2-5-1",
        "業務以外の目的で情報資産や情報システムを使っていない。"
    ),
    (
        "2-5-1",
        "私物の端末や記録媒体を、許可なく業務に使ったり庁内ネットワークにつないだりしていない。"
    ),
    ("2-5-2", "今年度の情報セキュリティ研修を受講した。"),
    (
        "2-5-3",
        "不審なメールや事故の兆しに気づいたとき、すぐに管理者へ報告する手順を知っている。"
    ),
    (
        "2-5-4",
        "自分のIDやICカードを他人に貸したり、他人のものを借りたりしていない。"
    ),
    (
        "2-5-4",
        "パスワードは推測されにくいものにし、メモを端末に貼るなど人目に触れる形で残していない。"
    ),
    (
        "2-6-4",
        "外部から受け取ったファイルは、無害化や不正プログラムの確認を経てから開いている。"
    ),
    (
        "2-6-1",
        "業務の電子メールを私用のアドレスへ自動で転送していない。"
    ),
    (
        "2-8-4",
        "許可されていない外部サービス（クラウドストレージ、翻訳サイト等）に業務の情報を入力していない。"
    ),
    (
        "2-8-5",
        "公式アカウント以外のソーシャルメディアで、業務上知り得た情報を発信していない。"
    ),
];

/// Questions for 情報セキュリティ管理者, about their section.
pub const MANAGER_QUESTIONS: &[DefaultQuestion] = questions![
    (
        "2-2-1",
        "課内の情報資産を台帳に登録し、機密性・完全性・可用性の分類を付けている。"
    ),
    (
        "2-2-2",
        "台帳の内容を年に一度以上確認し、異動や業務の変更を反映している。"
    ),
    (
        "2-2-2",
        "情報の持出し・送信・廃棄の許可を、記録の残る方法で行っている。"
    ),
    (
        "2-4-4",
        "課内の記録媒体の保管場所を施錠し、鍵の管理者を決めている。"
    ),
    (
        "2-5-1",
        "課内の職員等に、情報セキュリティポリシーの改定内容を周知している。"
    ),
    (
        "2-5-2",
        "課内の職員等全員が、今年度の研修を受講したことを確認している。"
    ),
    (
        "2-5-3",
        "課内で起きた事故や兆しの報告を受け、統括情報セキュリティ責任者へ伝える手順を定めている。"
    ),
    (
        "2-6-2",
        "異動・退職した職員等のIDや権限を、速やかに停止するよう依頼している。"
    ),
    (
        "2-7-2",
        "課内でポリシーが守られているか、自ら確認する機会を設けている。"
    ),
    (
        "2-7-4",
        "例外措置を適用している事項について、期限と条件を守っている。"
    ),
    (
        "2-8-1",
        "課が所管する業務委託の契約に、情報セキュリティの要件を盛り込んでいる。"
    ),
    (
        "2-8-3",
        "課で利用する外部サービスを把握し、機密性2以上の情報を扱うものは承認を得ている。"
    ),
];

/// Questions for 情報システム管理者, about the systems they run.
pub const SYSTEM_MANAGER_QUESTIONS: &[DefaultQuestion] = questions![
    (
        "2-3-1",
        "マイナンバー利用事務系の端末で、外部への情報の持出しができない設定にしている。"
    ),
    (
        "2-3-2",
        "LGWAN接続系とインターネット接続系の間のやり取りを、無害化を経るものに限っている。"
    ),
    (
        "2-4-1",
        "サーバを施錠された管理区域に置き、保守作業の記録を残している。"
    ),
    (
        "2-4-2",
        "管理区域への入退室を記録し、記録を定期的に確認している。"
    ),
    (
        "2-6-1",
        "バックアップを定期的に取得し、復元できることを確かめている。"
    ),
    ("2-6-1", "システムのログを決められた期間保存している。"),
    (
        "2-6-2",
        "利用者IDと権限の一覧を定期的に見直し、不要なものを削除している。"
    ),
    ("2-6-2", "特権IDの利用者を限定し、利用の記録を残している。"),
    (
        "2-6-3",
        "システムの導入や変更の際に、セキュリティ要件を確認してから本番に移している。"
    ),
    (
        "2-6-4",
        "不正プログラム対策ソフトの定義ファイルを最新に保っている。"
    ),
    (
        "2-6-6",
        "利用している製品の脆弱性情報を収集し、修正プログラムを適用している。"
    ),
    (
        "2-7-1",
        "不正な通信やアクセスの兆候を監視し、異常時の連絡先を定めている。"
    ),
    (
        "2-7-3",
        "システム障害や事故に備えた緊急時の対応手順を用意し、見直している。"
    ),
    (
        "2-8-2",
        "システムの保守・運用を委託している場合、委託先の作業内容と報告を確認している。"
    ),
    (
        "2-9-1",
        "前回の監査で指摘された事項への対応を完了している。"
    ),
];

/// The shipped questions for a group.
pub fn default_questions(group: Group) -> &'static [DefaultQuestion] {
    match group {
        Group::Staff => STAFF_QUESTIONS,
        Group::Manager => MANAGER_QUESTIONS,
        Group::SystemManager => SYSTEM_MANAGER_QUESTIONS,
    }
}

/// Longest question text.
pub const MAX_QUESTION_CHARS: usize = 500;
/// Most questions per group.
pub const MAX_QUESTIONS: usize = 300;
/// Longest comment or improvement plan.
pub const MAX_ANSWER_TEXT_CHARS: usize = 2_000;

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn every_default_question_names_a_known_clause_from_2_2_to_2_9() {
        let mut total = 0;
        for g in Group::ALL {
            let qs = default_questions(g);
            assert!(qs.len() >= 10, "{g:?}");
            for q in qs {
                let clause = crate::standards::clause(q.clause);
                assert!(clause.is_some(), "{}", q.clause);
                assert!(
                    q.clause
                        .as_bytes()
                        .get(2)
                        .is_some_and(|d| (b'2'..=b'9').contains(d))
                );
                assert!(!q.text.is_empty() && q.text.chars().count() <= MAX_QUESTION_CHARS);
                total += 1;
            }
        }
        assert!(total >= 36);
    }

    #[test]
    fn the_period_closes_on_its_own_after_the_end_date() {
        let (s, e) = (date!(2026 - 06 - 01), date!(2026 - 06 - 30));
        assert_eq!(Phase::of("open", s, e, date!(2026 - 06 - 30)), Phase::Open);
        assert_eq!(
            Phase::of("open", s, e, date!(2026 - 07 - 01)),
            Phase::Closed
        );
        assert_eq!(
            Phase::of("open", s, e, date!(2026 - 05 - 31)),
            Phase::Scheduled
        );
        assert_eq!(
            Phase::of("closed", s, e, date!(2026 - 06 - 10)),
            Phase::Closed
        );
        let late = check_period("open", s, e, date!(2026 - 07 - 01)).unwrap_err();
        assert_eq!(
            late.to_string(),
            "回答期間は令和8年6月30日に終了しました。回答は受け付けられません"
        );
        assert!(check_period("open", s, e, date!(2026 - 06 - 01)).is_ok());
        assert_eq!(
            check_period("closed", s, e, date!(2026 - 06 - 02)),
            Err(PeriodError::Closed)
        );
    }

    #[test]
    fn conformity_leaves_out_not_applicable() {
        let t = Tally {
            done: 3,
            partial: 1,
            not_done: 0,
            na: 10,
        };
        assert_eq!(t.conformity_permille(), Some(750));
        assert_eq!(permille_text(t.conformity_permille()), "75.0%");
        assert_eq!(Tally::default().conformity_permille(), None);
        assert_eq!(AnswerValue::parse("一部実施"), Some(AnswerValue::Partial));
        assert!(
            AnswerValue::NotDone.non_conforming() && !AnswerValue::NotApplicable.non_conforming()
        );
    }
}
