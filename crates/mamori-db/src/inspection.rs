//! 自己点検 (self-inspection, 基本方針 §7): campaigns, their question sets, respondents, answers,
//! roll-ups and improvement items.
//!
//! A campaign is prepared (`draft`: questions editable), then opened: at that moment the
//! respondents are fixed — every active person for 全職員, every holder of the role in force
//! for the 管理者 groups, each with the unit they answer for. Answers are saved one by one (a
//! partial answer is kept), then submitted once; a second submission changes nothing. The
//! campaign takes answers between its start and end dates only, so it closes by the calendar
//! with no job to run (or earlier by hand).
//!
//! Roll-ups never scan the answers: a tally per (unit, question) is added to in the same
//! transaction as each final submission (answers cannot change after it), and [`recount`]
//! rebuilds it from the answers with one `GROUP BY` when a campaign closes. Non-conforming
//! answers (一部実施・未実施) become improvement items: one per answer for the 管理者 groups,
//! owned by the respondent with their plan and due date; one per unit and question for 全職員,
//! owned by the unit's 情報セキュリティ管理者.

use std::collections::{BTreeMap, HashMap};

use mamori_core::calendar::{format_iso, parse_date};
use mamori_core::inspection::{
    self as rules, AnswerValue, Group, MAX_ANSWER_TEXT_CHARS, MAX_QUESTION_CHARS, MAX_QUESTIONS,
    PeriodError, Phase, Tally,
};
use mamori_core::org::OrgId;
use mamori_core::permission::{Capability, Permission, Reach, can};
use mamori_core::role::Role;
use mamori_core::standards;
use mamori_core::task::{Task, TaskKind};
use serde::Serialize;
use serde_json::json;
use sqlx::AnyConnection;
use time::Date;

use crate::audit;
use crate::org::{AuditCtx, UnitTree};
use crate::{Db, DbError, DbResult, now_text, values_placeholders};

/// Longest campaign name.
pub const MAX_NAME_CHARS: usize = 200;
/// Days after the end date that an improvement item arising from 全職員 answers is due.
pub const STAFF_ITEM_DAYS: i64 = 90;

/// A campaign as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Campaign {
    /// Id.
    pub id: i64,
    /// Organisation.
    pub org_id: i64,
    /// Name (「令和8年度 情報セキュリティ自己点検」).
    pub name: String,
    /// 年度 (the year it starts in April).
    pub fiscal_year: i64,
    /// First day answers are taken (YYYY-MM-DD).
    pub start_on: String,
    /// Last day answers are taken.
    pub end_on: String,
    /// Respondent groups, codes separated by commas.
    pub groups: String,
    /// Units it is restricted to (`,3,7,`), empty for the whole organisation.
    pub unit_scope: String,
    /// `draft`, `open` or `closed` (the calendar closes an open one after `end_on`).
    pub status: String,
    /// When it was opened.
    pub opened_at: Option<String>,
    /// When it was closed by hand.
    pub closed_at: Option<String>,
    /// Created.
    pub created_at: String,
    /// Edit counter.
    pub version: i64,
}

const CAMPAIGN_COLUMNS: &str = "id, org_id, name, fiscal_year, start_on, end_on, groups, unit_scope, \
     status, opened_at, closed_at, created_at, version";

impl Campaign {
    /// The first day.
    pub fn start(&self) -> Date {
        parse_date(&self.start_on).unwrap_or(Date::MIN)
    }

    /// The last day.
    pub fn end(&self) -> Date {
        parse_date(&self.end_on).unwrap_or(Date::MIN)
    }

    /// Where it stands on `today`.
    pub fn phase(&self, today: Date) -> Phase {
        Phase::of(&self.status, self.start(), self.end(), today)
    }

    /// Whether it takes answers on `today`, or the reason it does not.
    pub fn check_period(&self, today: Date) -> Result<(), PeriodError> {
        rules::check_period(&self.status, self.start(), self.end(), today)
    }

    /// Its respondent groups.
    pub fn group_list(&self) -> Vec<Group> {
        self.groups
            .split(',')
            .filter_map(Group::from_code)
            .collect()
    }

    /// The units it is restricted to (empty: the whole organisation).
    pub fn scope_units(&self) -> Vec<i64> {
        self.unit_scope
            .split(',')
            .filter_map(|s| s.trim().parse().ok())
            .collect()
    }
}

/// A question of a campaign.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Question {
    /// Id.
    pub id: i64,
    /// Campaign.
    pub campaign_id: i64,
    /// Group code.
    pub grp: String,
    /// Order within the group, from 1.
    pub seq: i64,
    /// Guideline clause (`2-4-4`).
    pub clause: String,
    /// The question.
    pub text: String,
}

/// Someone who must answer a campaign, fixed when it opened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Respondent {
    /// Id.
    pub id: i64,
    /// Campaign.
    pub campaign_id: i64,
    /// Group code.
    pub grp: String,
    /// Person.
    pub person_id: i64,
    /// The person's name.
    pub person_name: String,
    /// The unit they answer for.
    pub unit_id: i64,
    /// `pending`, `in_progress` or `submitted`.
    pub status: String,
    /// Questions answered so far.
    pub answered: i64,
    /// When submitted.
    pub submitted_at: Option<String>,
}

const RESPONDENT_COLUMNS: &str = "r.id, r.campaign_id, r.grp, r.person_id, p.name AS person_name, \
     r.unit_id, r.status, r.answered, r.submitted_at";

/// A stored answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Answer {
    /// Id.
    pub id: i64,
    /// The question.
    pub question_id: i64,
    /// Answer code (`done`, `partial`, `not_done`, `na`).
    pub answer: String,
    /// Comment.
    pub comment: String,
    /// Improvement plan.
    pub plan: String,
    /// Improvement due date.
    pub due_on: Option<String>,
    /// Last saved.
    pub updated_at: String,
}

/// An answer as submitted by a form or the API (text as typed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AnswerInput {
    /// The question.
    pub question_id: i64,
    /// The answer (code or Japanese label).
    pub answer: String,
    /// Comment.
    pub comment: String,
    /// Improvement plan.
    pub plan: String,
    /// Improvement due date as typed (和暦 or 西暦).
    pub due: String,
}

/// An improvement item (改善項目).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Improvement {
    /// Id.
    pub id: i64,
    /// Campaign.
    pub campaign_id: i64,
    /// The question it arose from.
    pub question_id: i64,
    /// Unit concerned.
    pub unit_id: i64,
    /// Owner (respondent or the unit's 管理者), when there is one.
    pub owner_id: Option<i64>,
    /// Owner's name.
    pub owner_name: Option<String>,
    /// 一部実施 answers behind it.
    pub partial: i64,
    /// 未実施 answers behind it.
    pub not_done: i64,
    /// The plan.
    pub plan: String,
    /// Due date.
    pub due_on: Option<String>,
    /// `open`, `in_progress` or `done`.
    pub status: String,
    /// Progress note.
    pub note: String,
    /// Edit counter.
    pub version: i64,
    /// Clause of the question.
    pub clause: String,
    /// Text of the question.
    pub question: String,
}

const IMPROVEMENT_COLUMNS: &str = "i.id, i.campaign_id, i.question_id, i.unit_id, i.owner_id, \
     p.name AS owner_name, i.partial, i.not_done, i.plan, i.due_on, i.status, i.note, i.version, \
     q.clause, q.text AS question";
const IMPROVEMENT_FROM: &str = "FROM inspection_improvement i \
     JOIN inspection_question q ON q.id = i.question_id \
     LEFT JOIN person p ON p.id = i.owner_id AND p.org_id = i.org_id";

/// Status of an improvement item, with its label.
pub const ITEM_STATUSES: [(&str, &str); 3] = [
    ("open", "未着手"),
    ("in_progress", "対応中"),
    ("done", "完了"),
];

/// The label of an item status.
pub fn item_status_label(code: &str) -> &'static str {
    ITEM_STATUSES
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, l)| *l)
        .unwrap_or("")
}

/// Why a change was refused.
#[derive(Debug, thiserror::Error)]
pub enum InspectionError {
    /// Fields are missing or wrong: (field, message).
    #[error("入力内容に誤りがあります")]
    Invalid(Vec<(String, String)>),
    /// The campaign does not take answers now.
    #[error(transparent)]
    Period(#[from] PeriodError),
    /// The campaign is not in a state that allows the change.
    #[error("{0}")]
    State(String),
    /// Someone else saved first.
    #[error("他の利用者によって更新されています。画面を開き直してください")]
    Stale,
    /// The database failed (or the row does not exist).
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<sqlx::Error> for InspectionError {
    fn from(e: sqlx::Error) -> Self {
        InspectionError::Db(DbError::Sqlx(e))
    }
}

impl InspectionError {
    /// Every problem as one line.
    pub fn message(&self) -> String {
        match self {
            InspectionError::Invalid(p) => p
                .iter()
                .map(|(f, m)| format!("{f}：{m}"))
                .collect::<Vec<_>>()
                .join("／"),
            other => other.to_string(),
        }
    }
}

type IResult<T> = Result<T, InspectionError>;

/// A problem with an input: (where, what).
pub type Problem = (String, String);

// ------------------------------------------------------------------ campaigns

/// The fields of a new or edited campaign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignInput {
    /// Name.
    pub name: String,
    /// 年度.
    pub fiscal_year: i64,
    /// First day.
    pub start_on: Date,
    /// Last day.
    pub end_on: Date,
    /// Respondent groups.
    pub groups: Vec<Group>,
    /// Units to restrict to (empty: all).
    pub units: Vec<i64>,
}

fn check_campaign(input: &CampaignInput, tree: &UnitTree) -> Vec<(String, String)> {
    let mut p = Vec::new();
    let name = input.name.trim();
    if name.is_empty() {
        p.push(("名称".into(), "入力してください".into()));
    } else if name.chars().count() > MAX_NAME_CHARS {
        p.push((
            "名称".into(),
            format!("{MAX_NAME_CHARS}文字以内で入力してください"),
        ));
    }
    if !(2000..=2200).contains(&input.fiscal_year) {
        p.push(("年度".into(), "正しい年度を指定してください".into()));
    }
    if input.end_on < input.start_on {
        p.push((
            "終了日".into(),
            "開始日より後の日付を指定してください".into(),
        ));
    }
    if input.groups.is_empty() {
        p.push((
            "回答者".into(),
            "回答者の区分を1つ以上選んでください".into(),
        ));
    }
    for u in &input.units {
        if tree.get(*u).is_none() {
            p.push((
                "対象の所属".into(),
                format!("所属（ID {u}）が見つかりません"),
            ));
        }
    }
    p
}

fn groups_text(groups: &[Group]) -> String {
    let mut g: Vec<Group> = groups.to_vec();
    g.sort();
    g.dedup();
    g.iter().map(|g| g.code()).collect::<Vec<_>>().join(",")
}

fn scope_text(units: &[i64]) -> String {
    if units.is_empty() {
        String::new()
    } else {
        let mut u = units.to_vec();
        u.sort_unstable();
        u.dedup();
        format!(
            ",{},",
            u.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
        )
    }
}

/// Creates a campaign in preparation with the shipped questions for each of its groups.
pub async fn create(
    conn: &mut AnyConnection,
    cap: &Capability<can::ManageInspections>,
    ctx: &AuditCtx,
    tree: &UnitTree,
    input: &CampaignInput,
) -> IResult<i64> {
    let problems = check_campaign(input, tree);
    if !problems.is_empty() {
        return Err(InspectionError::Invalid(problems));
    }
    let org = cap.org().0;
    let now = now_text();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO inspection_campaign (org_id, name, fiscal_year, start_on, end_on, groups, \
         unit_scope, status, created_by, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'draft', $8, $9, $9) RETURNING id",
    )
    .bind(org)
    .bind(input.name.trim())
    .bind(input.fiscal_year)
    .bind(format_iso(input.start_on))
    .bind(format_iso(input.end_on))
    .bind(groups_text(&input.groups))
    .bind(scope_text(&input.units))
    .bind(ctx.actor_id)
    .bind(&now)
    .fetch_one(&mut *conn)
    .await?;
    for g in &input.groups {
        let qs: Vec<(String, String)> = rules::default_questions(*g)
            .iter()
            .map(|q| (q.clause.to_owned(), q.text.to_owned()))
            .collect();
        insert_questions(conn, org, id, *g, &qs).await?;
    }
    let mut e = ctx.entry("inspection.create", "inspection_campaign", id);
    e.org_id = Some(org);
    e.after = Some(campaign_json(input));
    audit::append(conn, e).await?;
    Ok(id)
}

fn campaign_json(input: &CampaignInput) -> serde_json::Value {
    json!({
        "name": input.name.trim(), "fiscal_year": input.fiscal_year,
        "start_on": format_iso(input.start_on), "end_on": format_iso(input.end_on),
        "groups": groups_text(&input.groups), "units": input.units,
    })
}

async fn insert_questions(
    conn: &mut AnyConnection,
    org: i64,
    campaign: i64,
    group: Group,
    qs: &[(String, String)],
) -> DbResult<()> {
    for chunk in qs.chunks(100).enumerate() {
        let (c, rows) = chunk;
        let sql = format!(
            "INSERT INTO inspection_question (org_id, campaign_id, grp, seq, clause, text) VALUES {}",
            values_placeholders(conn, rows.len(), 6)
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (i, (clause, text)) in rows.iter().enumerate() {
            let seq = i64::try_from(c * 100 + i + 1).unwrap_or(i64::MAX);
            q = q
                .bind(org)
                .bind(campaign)
                .bind(group.code())
                .bind(seq)
                .bind(clause.clone())
                .bind(text.clone());
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

async fn campaign_in(conn: &mut AnyConnection, org: i64, id: i64) -> DbResult<Campaign> {
    let sql =
        format!("SELECT {CAMPAIGN_COLUMNS} FROM inspection_campaign WHERE id = $1 AND org_id = $2");
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(org)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(DbError::NotFound)
}

/// One campaign of the organisation.
pub async fn campaign(db: &Db, org: OrgId, id: i64) -> DbResult<Campaign> {
    let mut conn = db.pool().acquire().await?;
    campaign_in(&mut conn, org.0, id).await
}

/// Every campaign of the organisation, newest 年度 first.
pub async fn campaigns(db: &Db, org: OrgId) -> DbResult<Vec<Campaign>> {
    let sql = format!(
        "SELECT {CAMPAIGN_COLUMNS} FROM inspection_campaign WHERE org_id = $1 \
         ORDER BY fiscal_year DESC, start_on DESC, id DESC"
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(org.0)
        .fetch_all(db.pool())
        .await?)
}

fn must_be_draft(c: &Campaign) -> IResult<()> {
    if c.status == "draft" {
        Ok(())
    } else {
        Err(InspectionError::State(
            "開始した自己点検の設問・設定は変更できません".into(),
        ))
    }
}

/// Edits a campaign still in preparation. Groups added get the shipped questions; groups
/// removed lose theirs.
pub async fn update(
    conn: &mut AnyConnection,
    cap: &Capability<can::ManageInspections>,
    ctx: &AuditCtx,
    tree: &UnitTree,
    id: i64,
    input: &CampaignInput,
) -> IResult<()> {
    let org = cap.org().0;
    let before = campaign_in(conn, org, id).await?;
    must_be_draft(&before)?;
    let problems = check_campaign(input, tree);
    if !problems.is_empty() {
        return Err(InspectionError::Invalid(problems));
    }
    sqlx::query(
        "UPDATE inspection_campaign SET name = $1, fiscal_year = $2, start_on = $3, end_on = $4, \
         groups = $5, unit_scope = $6, updated_at = $7, version = version + 1 \
         WHERE id = $8 AND org_id = $9",
    )
    .bind(input.name.trim())
    .bind(input.fiscal_year)
    .bind(format_iso(input.start_on))
    .bind(format_iso(input.end_on))
    .bind(groups_text(&input.groups))
    .bind(scope_text(&input.units))
    .bind(now_text())
    .bind(id)
    .bind(org)
    .execute(&mut *conn)
    .await?;
    let old = before.group_list();
    for g in Group::ALL {
        let had = old.contains(&g);
        let has = input.groups.contains(&g);
        if has && !had {
            let qs: Vec<(String, String)> = rules::default_questions(g)
                .iter()
                .map(|q| (q.clause.to_owned(), q.text.to_owned()))
                .collect();
            insert_questions(conn, org, id, g, &qs).await?;
        } else if had && !has {
            sqlx::query("DELETE FROM inspection_question WHERE campaign_id = $1 AND grp = $2")
                .bind(id)
                .bind(g.code())
                .execute(&mut *conn)
                .await?;
        }
    }
    let mut e = ctx.entry("inspection.update", "inspection_campaign", id);
    e.org_id = Some(org);
    e.after = Some(campaign_json(input));
    audit::append(conn, e).await?;
    Ok(())
}

/// Parses a question set as typed, one question a line: `2-4-4 離席時は…` (clause number,
/// space or tab, text). Blank lines are skipped; every bad line is named.
pub fn parse_question_lines(text: &str) -> Result<Vec<(String, String)>, Vec<Problem>> {
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let n = i + 1;
        let (number, rest) = match line.split_once(|c: char| c.is_whitespace()) {
            Some((a, b)) => (a, b.trim()),
            None => (line, ""),
        };
        match standards::clause(number) {
            None => problems.push((
                format!("{n}行目"),
                format!("対策基準の番号「{number}」は見つかりません（例：2-4-4 設問の文）"),
            )),
            Some(_) if rest.is_empty() => {
                problems.push((format!("{n}行目"), "設問の文がありません".into()))
            }
            Some(_) if rest.chars().count() > MAX_QUESTION_CHARS => problems.push((
                format!("{n}行目"),
                format!("設問は{MAX_QUESTION_CHARS}文字以内にしてください"),
            )),
            Some(c) => out.push((c.number.to_owned(), rest.to_owned())),
        }
    }
    if out.len() > MAX_QUESTIONS {
        problems.push(("設問".into(), format!("設問は{MAX_QUESTIONS}問までです")));
    }
    if out.is_empty() && problems.is_empty() {
        problems.push(("設問".into(), "設問を1問以上入力してください".into()));
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

/// Replaces one group's question set of a campaign still in preparation.
pub async fn set_questions(
    conn: &mut AnyConnection,
    cap: &Capability<can::ManageInspections>,
    ctx: &AuditCtx,
    id: i64,
    group: Group,
    questions: &[(String, String)],
) -> IResult<()> {
    let org = cap.org().0;
    let c = campaign_in(conn, org, id).await?;
    must_be_draft(&c)?;
    if !c.group_list().contains(&group) {
        return Err(InspectionError::Invalid(vec![(
            "回答者".into(),
            format!("この自己点検に「{}」は含まれていません", group.label_ja()),
        )]));
    }
    let mut problems = Vec::new();
    for (i, (clause, text)) in questions.iter().enumerate() {
        if standards::clause(clause).is_none() {
            problems.push((
                format!("{}問目", i + 1),
                format!("対策基準の番号「{clause}」は見つかりません"),
            ));
        }
        if text.trim().is_empty() || text.chars().count() > MAX_QUESTION_CHARS {
            problems.push((
                format!("{}問目", i + 1),
                format!("設問の文は1〜{MAX_QUESTION_CHARS}文字で入力してください"),
            ));
        }
    }
    if questions.is_empty() || questions.len() > MAX_QUESTIONS {
        problems.push(("設問".into(), format!("設問は1〜{MAX_QUESTIONS}問です")));
    }
    if !problems.is_empty() {
        return Err(InspectionError::Invalid(problems));
    }
    let normalised: Vec<(String, String)> = questions
        .iter()
        .map(|(c, t)| {
            (
                standards::clause(c)
                    .map(|x| x.number.to_owned())
                    .unwrap_or_default(),
                t.trim().to_owned(),
            )
        })
        .collect();
    sqlx::query("DELETE FROM inspection_question WHERE campaign_id = $1 AND grp = $2")
        .bind(id)
        .bind(group.code())
        .execute(&mut *conn)
        .await?;
    insert_questions(conn, org, id, group, &normalised).await?;
    sqlx::query(
        "UPDATE inspection_campaign SET updated_at = $1, version = version + 1 WHERE id = $2",
    )
    .bind(now_text())
    .bind(id)
    .execute(&mut *conn)
    .await?;
    let mut e = ctx.entry("inspection.questions", "inspection_campaign", id);
    e.org_id = Some(org);
    e.after = Some(json!({"group": group.code(), "questions": normalised}));
    audit::append(conn, e).await?;
    Ok(())
}

/// The questions of a campaign, by group and order.
pub async fn questions(db: &Db, org: OrgId, campaign: i64) -> DbResult<Vec<Question>> {
    Ok(sqlx::query_as(
        "SELECT id, campaign_id, grp, seq, clause, text FROM inspection_question \
         WHERE campaign_id = $1 AND org_id = $2 ORDER BY grp, seq",
    )
    .bind(campaign)
    .bind(org.0)
    .fetch_all(db.pool())
    .await?)
}

/// Opens a campaign: fixes its respondents (who they are today, with the unit they answer
/// for). Returns how many there are.
pub async fn open(
    conn: &mut AnyConnection,
    cap: &Capability<can::ManageInspections>,
    ctx: &AuditCtx,
    tree: &UnitTree,
    id: i64,
    today: Date,
) -> IResult<i64> {
    let org = cap.org().0;
    let c = campaign_in(conn, org, id).await?;
    if c.status != "draft" {
        return Err(InspectionError::State(
            "この自己点検は既に開始しています".into(),
        ));
    }
    if c.end() < today {
        return Err(InspectionError::State(format!(
            "終了日（{}）が過ぎているため開始できません。期間を変更してください",
            mamori_core::calendar::format_wareki(c.end())
        )));
    }
    let counts: Vec<(String, i64)> = sqlx::query_as(
        "SELECT grp, COUNT(*) FROM inspection_question WHERE campaign_id = $1 GROUP BY grp",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    for g in c.group_list() {
        if !counts.iter().any(|(code, n)| code == g.code() && *n > 0) {
            return Err(InspectionError::State(format!(
                "「{}」の設問がありません",
                g.label_ja()
            )));
        }
    }
    // Who must answer, as of today.
    let scope = c.scope_units();
    let in_scope: Option<std::collections::HashSet<i64>> =
        (!scope.is_empty()).then(|| scope.iter().flat_map(|u| tree.subtree(*u)).collect());
    let day = format_iso(today);
    let mut rows: Vec<(Group, i64, i64)> = Vec::new();
    for g in c.group_list() {
        let found: Vec<(i64, i64)> = match g.role() {
            None => {
                sqlx::query_as(
                    "SELECT id, unit_id FROM person WHERE org_id = $1 AND status = 'active' ORDER BY id",
                )
                .bind(org)
                .fetch_all(&mut *conn)
                .await?
            }
            Some(role) => {
                sqlx::query_as(
                    "SELECT DISTINCT a.person_id, a.unit_id FROM role_assignment a \
                     JOIN person p ON p.id = a.person_id AND p.status = 'active' \
                     WHERE a.org_id = $1 AND a.role = $2 AND a.valid_from <= $3 \
                     AND (a.valid_to IS NULL OR a.valid_to >= $3) ORDER BY a.person_id, a.unit_id",
                )
                .bind(org)
                .bind(role.code())
                .bind(&day)
                .fetch_all(&mut *conn)
                .await?
            }
        };
        rows.extend(
            found
                .into_iter()
                .filter(|(_, u)| in_scope.as_ref().is_none_or(|s| s.contains(u)))
                .map(|(p, u)| (g, p, u)),
        );
    }
    if rows.is_empty() {
        return Err(InspectionError::State("回答者が1人もいません".into()));
    }
    let now = now_text();
    for chunk in rows.chunks(400) {
        let sql = format!(
            "INSERT INTO inspection_respondent (org_id, campaign_id, grp, person_id, unit_id, \
             status, answered, updated_at) VALUES {}",
            values_placeholders(conn, chunk.len(), 8)
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (g, p, u) in chunk {
            q = q
                .bind(org)
                .bind(id)
                .bind(g.code())
                .bind(*p)
                .bind(*u)
                .bind("pending")
                .bind(0i64)
                .bind(now.clone());
        }
        q.execute(&mut *conn).await?;
    }
    sqlx::query(
        "UPDATE inspection_campaign SET status = 'open', opened_at = $1, updated_at = $1, \
         version = version + 1 WHERE id = $2",
    )
    .bind(&now)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    let n = i64::try_from(rows.len()).unwrap_or(i64::MAX);
    let mut e = ctx.entry("inspection.open", "inspection_campaign", id);
    e.org_id = Some(org);
    e.after = Some(json!({"respondents": n}));
    audit::append(conn, e).await?;
    Ok(n)
}

/// Closes an open campaign by hand (before or after its end date) and recounts its tally.
pub async fn close(
    conn: &mut AnyConnection,
    cap: &Capability<can::ManageInspections>,
    ctx: &AuditCtx,
    id: i64,
) -> IResult<()> {
    let org = cap.org().0;
    let c = campaign_in(conn, org, id).await?;
    match c.status.as_str() {
        "open" => {}
        "closed" => {
            return Err(InspectionError::State(
                "この自己点検は既に締め切られています".into(),
            ));
        }
        _ => {
            return Err(InspectionError::State(
                "開始していない自己点検は締め切れません".into(),
            ));
        }
    }
    let now = now_text();
    sqlx::query(
        "UPDATE inspection_campaign SET status = 'closed', closed_at = $1, updated_at = $1, \
         version = version + 1 WHERE id = $2",
    )
    .bind(&now)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    recount(conn, org, id).await?;
    let mut e = ctx.entry("inspection.close", "inspection_campaign", id);
    e.org_id = Some(org);
    audit::append(conn, e).await?;
    Ok(())
}

/// Rebuilds a campaign's tally from its submitted answers with one `GROUP BY`.
pub async fn recount(conn: &mut AnyConnection, org: i64, id: i64) -> DbResult<()> {
    sqlx::query("DELETE FROM inspection_tally WHERE campaign_id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO inspection_tally (org_id, campaign_id, unit_id, question_id, done, partial, not_done, na) \
         SELECT $1, $2, r.unit_id, a.question_id, \
         CAST(SUM(CASE WHEN a.answer = 'done' THEN 1 ELSE 0 END) AS BIGINT), \
         CAST(SUM(CASE WHEN a.answer = 'partial' THEN 1 ELSE 0 END) AS BIGINT), \
         CAST(SUM(CASE WHEN a.answer = 'not_done' THEN 1 ELSE 0 END) AS BIGINT), \
         CAST(SUM(CASE WHEN a.answer = 'na' THEN 1 ELSE 0 END) AS BIGINT) \
         FROM inspection_answer a JOIN inspection_respondent r ON r.id = a.respondent_id \
         WHERE a.campaign_id = $2 AND r.status = 'submitted' GROUP BY r.unit_id, a.question_id",
    )
    .bind(org)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

// ------------------------------------------------------------------ answering

/// One respondent entry of the organisation.
pub async fn respondent(db: &Db, org: OrgId, id: i64) -> DbResult<Respondent> {
    let mut conn = db.pool().acquire().await?;
    respondent_in(&mut conn, org.0, id).await
}

async fn respondent_in(conn: &mut AnyConnection, org: i64, id: i64) -> DbResult<Respondent> {
    let sql = format!(
        "SELECT {RESPONDENT_COLUMNS} FROM inspection_respondent r JOIN person p ON p.id = r.person_id \
         WHERE r.id = $1 AND r.org_id = $2"
    );
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(org)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(DbError::NotFound)
}

/// A person's respondent entries in one campaign (or in every campaign, when `campaign` is
/// `None`).
pub async fn respondents_of(
    db: &Db,
    org: OrgId,
    person: i64,
    campaign: Option<i64>,
) -> DbResult<Vec<Respondent>> {
    let sql = format!(
        "SELECT {RESPONDENT_COLUMNS} FROM inspection_respondent r JOIN person p ON p.id = r.person_id \
         WHERE r.org_id = $1 AND r.person_id = $2 AND ($3 = 0 OR r.campaign_id = $3) \
         ORDER BY r.campaign_id DESC, r.grp, r.unit_id"
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(org.0)
        .bind(person)
        .bind(campaign.unwrap_or(0))
        .fetch_all(db.pool())
        .await?)
}

/// The answers a respondent has saved.
pub async fn answers(db: &Db, org: OrgId, respondent: i64) -> DbResult<Vec<Answer>> {
    Ok(sqlx::query_as(
        "SELECT id, question_id, answer, comment, plan, due_on, updated_at FROM inspection_answer \
         WHERE respondent_id = $1 AND org_id = $2",
    )
    .bind(respondent)
    .bind(org.0)
    .fetch_all(db.pool())
    .await?)
}

/// The respondent entry `id` of `person`, with its campaign; `NotFound` for anyone else's.
async fn own_entry(
    conn: &mut AnyConnection,
    org: i64,
    person: i64,
    id: i64,
) -> DbResult<(Respondent, Campaign)> {
    let r = respondent_in(conn, org, id).await?;
    if r.person_id != person {
        return Err(DbError::NotFound);
    }
    let c = campaign_in(conn, org, r.campaign_id).await?;
    Ok((r, c))
}

/// Saves answers of `person`'s entry `id`. Every answer is checked first; when any is wrong
/// nothing is stored. Refused after submission and outside the period.
pub async fn save_answers(
    conn: &mut AnyConnection,
    org: OrgId,
    ctx: &AuditCtx,
    person: i64,
    id: i64,
    today: Date,
    inputs: &[AnswerInput],
) -> IResult<usize> {
    let org = org.0;
    let (r, c) = own_entry(conn, org, person, id).await?;
    c.check_period(today)?;
    if r.status == "submitted" {
        return Err(InspectionError::State(
            "提出済みの回答は変更できません".into(),
        ));
    }
    let group = Group::from_code(&r.grp).ok_or_else(|| DbError::Corrupt {
        table: "inspection_respondent",
        column: "grp",
        detail: r.grp.clone(),
    })?;
    let qs: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT id, seq FROM inspection_question WHERE campaign_id = $1 AND grp = $2",
    )
    .bind(c.id)
    .bind(&r.grp)
    .fetch_all(&mut *conn)
    .await?;
    let seq_of: HashMap<i64, i64> = qs.into_iter().collect();
    let mut problems = Vec::new();
    let mut rows = Vec::new();
    for input in inputs {
        let Some(seq) = seq_of.get(&input.question_id) else {
            problems.push((
                "設問".into(),
                format!("設問（ID {}）はこの回答にありません", input.question_id),
            ));
            continue;
        };
        let at = format!("問{seq}");
        if input.answer.trim().is_empty() {
            // Nothing chosen yet: left unanswered, not an error (progress is saved as it is).
            continue;
        }
        let Some(value) = AnswerValue::parse(&input.answer) else {
            problems.push((
                at,
                format!(
                    "回答「{}」は選べません（実施・一部実施・未実施・該当なし）",
                    input.answer
                ),
            ));
            continue;
        };
        let comment = input.comment.trim();
        let plan = input.plan.trim();
        if comment.chars().count() > MAX_ANSWER_TEXT_CHARS
            || plan.chars().count() > MAX_ANSWER_TEXT_CHARS
        {
            problems.push((
                at.clone(),
                format!("コメント・改善計画は{MAX_ANSWER_TEXT_CHARS}文字以内で入力してください"),
            ));
        }
        let due = if input.due.trim().is_empty() {
            None
        } else {
            match parse_date(input.due.trim()) {
                Ok(d) => Some(d),
                Err(e) => {
                    problems.push((
                        at.clone(),
                        format!(
                            "改善期限「{}」は日付として読めません（{e}）",
                            input.due.trim()
                        ),
                    ));
                    continue;
                }
            }
        };
        if group.plans_required() && value.non_conforming() {
            if plan.is_empty() {
                problems.push((
                    at.clone(),
                    format!(
                        "「{}」と回答する場合は改善計画を入力してください",
                        value.label_ja()
                    ),
                ));
            }
            match due {
                None => problems.push((
                    at.clone(),
                    format!(
                        "「{}」と回答する場合は改善期限を入力してください",
                        value.label_ja()
                    ),
                )),
                Some(d) if d < today => problems.push((
                    at.clone(),
                    "改善期限には今日以降の日付を指定してください".into(),
                )),
                Some(_) => {}
            }
        }
        let keep_plan = value.non_conforming();
        rows.push((
            input.question_id,
            value,
            comment.to_owned(),
            if keep_plan {
                plan.to_owned()
            } else {
                String::new()
            },
            if keep_plan { due.map(format_iso) } else { None },
        ));
    }
    if !problems.is_empty() {
        return Err(InspectionError::Invalid(problems));
    }
    let now = now_text();
    for (qid, value, comment, plan, due) in &rows {
        sqlx::query(
            "INSERT INTO inspection_answer (org_id, campaign_id, respondent_id, question_id, answer, \
             comment, plan, due_on, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (respondent_id, question_id) DO UPDATE SET answer = excluded.answer, \
             comment = excluded.comment, plan = excluded.plan, due_on = excluded.due_on, \
             updated_at = excluded.updated_at",
        )
        .bind(org)
        .bind(c.id)
        .bind(id)
        .bind(*qid)
        .bind(value.code())
        .bind(comment.clone())
        .bind(plan.clone())
        .bind(due.clone())
        .bind(&now)
        .execute(&mut *conn)
        .await?;
    }
    if !rows.is_empty() {
        sqlx::query(
            "UPDATE inspection_respondent SET status = 'in_progress', updated_at = $1, \
             answered = (SELECT COUNT(*) FROM inspection_answer WHERE respondent_id = $2) WHERE id = $2",
        )
        .bind(&now)
        .bind(id)
        .execute(&mut *conn)
        .await?;
        let mut e = ctx.entry("inspection.answer", "inspection_respondent", id);
        e.org_id = Some(org);
        e.unit_id = Some(r.unit_id);
        e.after = Some(json!(
            rows.iter()
                .map(|(q, v, _, _, _)| json!({"question": q, "answer": v.code()}))
                .collect::<Vec<_>>()
        ));
        audit::append(conn, e).await?;
    }
    Ok(rows.len())
}

/// The 情報セキュリティ管理者 in force on `day` for `unit`: held on the unit itself or, for a
/// 係 without one, on the nearest unit above it (the first by assignment), if any.
async fn manager_of(
    conn: &mut AnyConnection,
    org: i64,
    unit: i64,
    day: &str,
) -> DbResult<Option<i64>> {
    let mut current = Some(unit);
    for _ in 0..16 {
        let Some(u) = current else { break };
        let found: Option<i64> = sqlx::query_scalar(
            "SELECT person_id FROM role_assignment WHERE org_id = $1 AND unit_id = $2 AND role = $3 \
             AND valid_from <= $4 AND (valid_to IS NULL OR valid_to >= $4) ORDER BY id LIMIT 1",
        )
        .bind(org)
        .bind(u)
        .bind(Role::SecurityManager.code())
        .bind(day)
        .fetch_optional(&mut *conn)
        .await?;
        if found.is_some() {
            return Ok(found);
        }
        current = sqlx::query_scalar("SELECT parent_id FROM unit WHERE id = $1 AND org_id = $2")
            .bind(u)
            .bind(org)
            .fetch_optional(&mut *conn)
            .await?
            .flatten();
    }
    Ok(None)
}

/// Submits `person`'s entry `id` for good. Every question must be answered. Returns `false`
/// when it had already been submitted (nothing changes then).
pub async fn submit(
    conn: &mut AnyConnection,
    org: OrgId,
    ctx: &AuditCtx,
    person: i64,
    id: i64,
    today: Date,
) -> IResult<bool> {
    let org = org.0;
    let (r, c) = own_entry(conn, org, person, id).await?;
    if r.status == "submitted" {
        return Ok(false);
    }
    c.check_period(today)?;
    let missing: Vec<i64> = sqlx::query_scalar(
        "SELECT q.seq FROM inspection_question q LEFT JOIN inspection_answer a \
         ON a.question_id = q.id AND a.respondent_id = $1 \
         WHERE q.campaign_id = $2 AND q.grp = $3 AND a.id IS NULL ORDER BY q.seq",
    )
    .bind(id)
    .bind(c.id)
    .bind(&r.grp)
    .fetch_all(&mut *conn)
    .await?;
    if !missing.is_empty() {
        let list: Vec<String> = missing.iter().take(20).map(|s| format!("問{s}")).collect();
        return Err(InspectionError::Invalid(vec![(
            "未回答".into(),
            format!(
                "{}問が未回答です（{}{}）。すべて回答してから提出してください",
                missing.len(),
                list.join("・"),
                if missing.len() > 20 { "…" } else { "" }
            ),
        )]));
    }
    let now = now_text();
    let changed = sqlx::query(
        "UPDATE inspection_respondent SET status = 'submitted', submitted_at = $1, updated_at = $1 \
         WHERE id = $2 AND status <> 'submitted'",
    )
    .bind(&now)
    .bind(id)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if changed == 0 {
        return Ok(false);
    }
    // The tally, added to once (SQLite needs the WHERE for INSERT … SELECT … ON CONFLICT).
    sqlx::query(
        "INSERT INTO inspection_tally (org_id, campaign_id, unit_id, question_id, done, partial, not_done, na) \
         SELECT $1, $2, $3, question_id, \
         CASE WHEN answer = 'done' THEN 1 ELSE 0 END, CASE WHEN answer = 'partial' THEN 1 ELSE 0 END, \
         CASE WHEN answer = 'not_done' THEN 1 ELSE 0 END, CASE WHEN answer = 'na' THEN 1 ELSE 0 END \
         FROM inspection_answer WHERE respondent_id = $4 \
         ON CONFLICT (campaign_id, unit_id, question_id) DO UPDATE SET \
         done = inspection_tally.done + excluded.done, partial = inspection_tally.partial + excluded.partial, \
         not_done = inspection_tally.not_done + excluded.not_done, na = inspection_tally.na + excluded.na",
    )
    .bind(org)
    .bind(c.id)
    .bind(r.unit_id)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    // Improvement items from non-conforming answers.
    let bad: Vec<(i64, i64, String, String, Option<String>)> = sqlx::query_as(
        "SELECT id, question_id, answer, plan, due_on FROM inspection_answer \
         WHERE respondent_id = $1 AND answer IN ('partial', 'not_done') ORDER BY question_id",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    let group = Group::from_code(&r.grp).unwrap_or(Group::Staff);
    let staff_owner = if bad.is_empty() || group.plans_required() {
        None
    } else {
        manager_of(conn, org, r.unit_id, &format_iso(today)).await?
    };
    let staff_due = format_iso(
        c.end()
            .saturating_add(time::Duration::days(STAFF_ITEM_DAYS)),
    );
    for (aid, qid, answer, plan, due) in &bad {
        let (partial, not_done) = if answer == "partial" {
            (1i64, 0i64)
        } else {
            (0, 1)
        };
        let (key, owner, plan, due) = if group.plans_required() {
            (
                format!("a:{aid}"),
                Some(r.person_id),
                plan.clone(),
                due.clone(),
            )
        } else {
            (
                format!("u:{}:{qid}", r.unit_id),
                staff_owner,
                String::new(),
                Some(staff_due.clone()),
            )
        };
        sqlx::query(
            "INSERT INTO inspection_improvement (org_id, campaign_id, question_id, unit_id, item_key, \
             answer_id, owner_id, partial, not_done, plan, due_on, status, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'open', $12, $12) \
             ON CONFLICT (campaign_id, item_key) DO UPDATE SET \
             partial = inspection_improvement.partial + excluded.partial, \
             not_done = inspection_improvement.not_done + excluded.not_done, updated_at = excluded.updated_at",
        )
        .bind(org)
        .bind(c.id)
        .bind(*qid)
        .bind(r.unit_id)
        .bind(key)
        .bind(group.plans_required().then_some(*aid))
        .bind(owner)
        .bind(partial)
        .bind(not_done)
        .bind(plan)
        .bind(due)
        .bind(&now)
        .execute(&mut *conn)
        .await?;
    }
    let mut e = ctx.entry("inspection.submit", "inspection_respondent", id);
    e.org_id = Some(org);
    e.unit_id = Some(r.unit_id);
    e.after = Some(json!({"campaign": c.id, "non_conforming": bad.len()}));
    audit::append(conn, e).await?;
    Ok(true)
}

// ------------------------------------------------------------------ roll-up

/// One unit's line of the roll-up: its own figures plus everything below it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnitLine {
    /// Unit.
    pub unit_id: i64,
    /// Depth below the topmost unit shown (for indentation).
    pub depth: usize,
    /// Name.
    pub name: String,
    /// Respondents fixed at opening.
    pub respondents: i64,
    /// Of those, submitted.
    pub submitted: i64,
    /// Answer counts (submitted answers).
    pub tally: Tally,
}

/// One clause's line of the roll-up, with its questions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClauseLine {
    /// Guideline number.
    pub clause: String,
    /// Its title.
    pub title: String,
    /// Answer counts.
    pub tally: Tally,
    /// Per question: (group code, seq, text, counts).
    pub questions: Vec<(String, i64, String, Tally)>,
}

/// A campaign's roll-up within a reach.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rollup {
    /// Units in reach with respondents, in tree order, each with its subtree's totals.
    pub units: Vec<UnitLine>,
    /// Clauses in guideline order.
    pub clauses: Vec<ClauseLine>,
    /// Everything in reach.
    pub total: UnitLine,
}

/// The roll-up of a campaign over the units `cap` reaches: response rate and answer counts per
/// unit (each unit's line totals its subtree: 管理者 → 責任者 → 統括・CISO) and per clause.
pub async fn rollup<P: Permission>(
    db: &Db,
    cap: &Capability<P>,
    tree: &UnitTree,
    campaign: &Campaign,
) -> DbResult<Rollup> {
    let visible: std::collections::HashSet<i64> = tree.reachable(cap.reach()).into_iter().collect();
    let counts: Vec<(i64, String, i64)> = sqlx::query_as(
        "SELECT unit_id, status, COUNT(*) FROM inspection_respondent WHERE campaign_id = $1 \
         GROUP BY unit_id, status",
    )
    .bind(campaign.id)
    .fetch_all(db.pool())
    .await?;
    let tallies: Vec<(i64, i64, i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT unit_id, question_id, done, partial, not_done, na FROM inspection_tally \
         WHERE campaign_id = $1",
    )
    .bind(campaign.id)
    .fetch_all(db.pool())
    .await?;
    let qs = questions(db, OrgId(campaign.org_id), campaign.id).await?;
    // Own figures per unit.
    let mut own: HashMap<i64, (i64, i64, Tally)> = HashMap::new();
    for (unit, status, n) in counts {
        if !visible.contains(&unit) {
            continue;
        }
        let e = own.entry(unit).or_default();
        e.0 += n;
        if status == "submitted" {
            e.1 += n;
        }
    }
    let mut per_question: HashMap<i64, Tally> = HashMap::new();
    for (unit, qid, done, partial, not_done, na) in tallies {
        if !visible.contains(&unit) {
            continue;
        }
        let t = Tally {
            done,
            partial,
            not_done,
            na,
        };
        own.entry(unit).or_default().2.add(&t);
        per_question.entry(qid).or_default().add(&t);
    }
    // Subtree totals: each unit's figures added to itself and every visible ancestor.
    let mut totals: HashMap<i64, (i64, i64, Tally)> = HashMap::new();
    let mut total = (0, 0, Tally::default());
    for (unit, (n, s, t)) in &own {
        for a in tree.path(*unit) {
            if visible.contains(&a.0) {
                let e = totals.entry(a.0).or_default();
                e.0 += n;
                e.1 += s;
                e.2.add(t);
            }
        }
        total.0 += n;
        total.1 += s;
        total.2.add(t);
    }
    // Tree order, depth relative to the topmost visible ancestor.
    let mut units = Vec::new();
    let roots: Vec<i64> = tree
        .units()
        .iter()
        .filter(|u| totals.contains_key(&u.id))
        .filter(|u| u.parent_id.is_none_or(|p| !totals.contains_key(&p)))
        .map(|u| u.id)
        .collect();
    let mut stack: Vec<(i64, usize)> = roots.into_iter().rev().map(|r| (r, 0)).collect();
    while let Some((id, depth)) = stack.pop() {
        if let Some((n, s, t)) = totals.get(&id) {
            units.push(UnitLine {
                unit_id: id,
                depth,
                name: tree.get(id).map(|u| u.name.clone()).unwrap_or_default(),
                respondents: *n,
                submitted: *s,
                tally: *t,
            });
            for child in tree.children(id).into_iter().rev() {
                if totals.contains_key(&child.id) {
                    stack.push((child.id, depth + 1));
                }
            }
        }
    }
    // Clauses in guideline order.
    let mut by_clause: BTreeMap<usize, ClauseLine> = BTreeMap::new();
    for q in &qs {
        let order = standards::GUIDELINE
            .iter()
            .position(|c| c.number == q.clause)
            .unwrap_or(usize::MAX);
        let t = per_question.get(&q.id).copied().unwrap_or_default();
        let line = by_clause.entry(order).or_insert_with(|| ClauseLine {
            clause: q.clause.clone(),
            title: standards::clause(&q.clause)
                .map(|c| c.title.to_owned())
                .unwrap_or_default(),
            tally: Tally::default(),
            questions: Vec::new(),
        });
        line.tally.add(&t);
        line.questions
            .push((q.grp.clone(), q.seq, q.text.clone(), t));
    }
    Ok(Rollup {
        units,
        clauses: by_clause.into_values().collect(),
        total: UnitLine {
            unit_id: 0,
            depth: 0,
            name: "合計".into(),
            respondents: total.0,
            submitted: total.1,
            tally: total.2,
        },
    })
}

// ------------------------------------------------------------------ improvement items

/// Improvement items of a campaign (or of all campaigns when `campaign` is 0) within reach.
pub async fn improvements<P: Permission>(
    db: &Db,
    cap: &Capability<P>,
    tree: &UnitTree,
    campaign: i64,
) -> DbResult<Vec<Improvement>> {
    let unit_filter = match cap.reach() {
        Reach::All => String::new(),
        reach => {
            let ids = tree.reachable(reach);
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            // Ids come from the unit tree (integers), so they are written into the SQL text.
            format!(
                " AND i.unit_id IN ({})",
                ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
            )
        }
    };
    let sql = format!(
        "SELECT {IMPROVEMENT_COLUMNS} {IMPROVEMENT_FROM} WHERE i.org_id = $1 AND ($2 = 0 OR i.campaign_id = $2){unit_filter} \
         ORDER BY i.status = 'done', i.due_on, i.id"
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(cap.org().0)
        .bind(campaign)
        .fetch_all(db.pool())
        .await?)
}

/// One improvement item of the organisation.
pub async fn improvement(db: &Db, org: OrgId, id: i64) -> DbResult<Improvement> {
    let mut conn = db.pool().acquire().await?;
    improvement_in(&mut conn, org.0, id).await
}

async fn improvement_in(conn: &mut AnyConnection, org: i64, id: i64) -> DbResult<Improvement> {
    let sql = format!(
        "SELECT {IMPROVEMENT_COLUMNS} {IMPROVEMENT_FROM} WHERE i.id = $1 AND i.org_id = $2"
    );
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(org)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(DbError::NotFound)
}

/// An edit of an improvement item.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImprovementInput {
    /// `open`, `in_progress` or `done`.
    pub status: String,
    /// The plan.
    pub plan: String,
    /// Due date as typed.
    pub due: String,
    /// Progress note.
    pub note: String,
    /// The version the editor started from.
    pub version: Option<i64>,
}

/// Updates an improvement item within the capability's reach (its unit).
pub async fn update_improvement(
    conn: &mut AnyConnection,
    cap: &Capability<can::EditCorrectiveActions>,
    ctx: &AuditCtx,
    tree: &UnitTree,
    id: i64,
    input: &ImprovementInput,
) -> IResult<()> {
    let org = cap.org().0;
    let before = improvement_in(conn, org, id).await?;
    if !cap.covers(&tree.path(before.unit_id)) {
        return Err(DbError::NotFound.into());
    }
    if input.version.is_some_and(|v| v != before.version) {
        return Err(InspectionError::Stale);
    }
    let mut p = Vec::new();
    if !ITEM_STATUSES.iter().any(|(c, _)| *c == input.status) {
        p.push((
            "状況".into(),
            format!("状況「{}」は選べません", input.status),
        ));
    }
    let due = if input.due.trim().is_empty() {
        None
    } else {
        match parse_date(input.due.trim()) {
            Ok(d) => Some(format_iso(d)),
            Err(e) => {
                p.push((
                    "期限".into(),
                    format!("「{}」は日付として読めません（{e}）", input.due.trim()),
                ));
                None
            }
        }
    };
    if input.plan.chars().count() > MAX_ANSWER_TEXT_CHARS
        || input.note.chars().count() > MAX_ANSWER_TEXT_CHARS
    {
        p.push((
            "改善計画".into(),
            format!("{MAX_ANSWER_TEXT_CHARS}文字以内で入力してください"),
        ));
    }
    if !p.is_empty() {
        return Err(InspectionError::Invalid(p));
    }
    let n = sqlx::query(
        "UPDATE inspection_improvement SET status = $1, plan = $2, due_on = $3, note = $4, \
         updated_at = $5, version = version + 1 WHERE id = $6 AND org_id = $7 AND version = $8",
    )
    .bind(&input.status)
    .bind(input.plan.trim())
    .bind(due.clone())
    .bind(input.note.trim())
    .bind(now_text())
    .bind(id)
    .bind(org)
    .bind(before.version)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if n == 0 {
        return Err(InspectionError::Stale);
    }
    let mut e = ctx.entry(
        "inspection.improvement.update",
        "inspection_improvement",
        id,
    );
    e.org_id = Some(org);
    e.unit_id = Some(before.unit_id);
    e.before = Some(
        json!({"status": before.status, "plan": before.plan, "due_on": before.due_on, "note": before.note}),
    );
    e.after = Some(
        json!({"status": input.status, "plan": input.plan.trim(), "due_on": due, "note": input.note.trim()}),
    );
    audit::append(conn, e).await?;
    Ok(())
}

// ------------------------------------------------------------------ tasks

/// A person's open self-inspection work: answering open campaigns they have not submitted,
/// and improvement items they own that are not done.
pub async fn tasks_for(db: &Db, org: i64, person: i64, today: Date) -> DbResult<Vec<Task>> {
    let day = format_iso(today);
    let answer: Vec<(i64, i64, String, String, String)> = sqlx::query_as(
        "SELECT r.id, c.id, c.name, c.end_on, r.grp FROM inspection_respondent r \
         JOIN inspection_campaign c ON c.id = r.campaign_id \
         WHERE r.org_id = $1 AND r.person_id = $2 AND r.status <> 'submitted' \
         AND c.status = 'open' AND c.start_on <= $3 AND c.end_on >= $3 ORDER BY c.end_on, r.id",
    )
    .bind(org)
    .bind(person)
    .bind(&day)
    .fetch_all(db.pool())
    .await?;
    let mut tasks: Vec<Task> = answer
        .into_iter()
        .map(|(rid, cid, name, end, grp)| Task {
            kind: TaskKind::Answer,
            title: match Group::from_code(&grp) {
                Some(g) if g != Group::Staff => format!("{name}（{}）に回答する", g.label_ja()),
                _ => format!("{name}に回答する"),
            },
            href: format!("/inspections/{cid}/respond/{rid}"),
            due: parse_date(&end).ok(),
        })
        .collect();
    let fix: Vec<(i64, String, String, Option<String>)> = sqlx::query_as(
        "SELECT i.id, q.clause, q.text, i.due_on FROM inspection_improvement i \
         JOIN inspection_question q ON q.id = i.question_id \
         WHERE i.org_id = $1 AND i.owner_id = $2 AND i.status <> 'done' ORDER BY i.due_on, i.id",
    )
    .bind(org)
    .bind(person)
    .fetch_all(db.pool())
    .await?;
    tasks.extend(fix.into_iter().map(|(id, clause, text, due)| Task {
        kind: TaskKind::Fix,
        title: format!("自己点検の改善（{clause}）：{}", short(&text, 40)),
        href: format!("/inspections/improvements/{id}"),
        due: due.and_then(|d| parse_date(&d).ok()),
    }));
    Ok(tasks)
}

fn short(s: &str, n: usize) -> String {
    if s.chars().count() > n {
        format!("{}…", s.chars().take(n).collect::<String>())
    } else {
        s.to_owned()
    }
}

// ------------------------------------------------------------------ export

/// One respondent, as the export names them.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ExportRespondent {
    /// Id.
    pub id: i64,
    /// Group code.
    pub grp: String,
    /// Unit.
    pub unit_id: i64,
    /// Status.
    pub status: String,
    /// Submitted.
    pub submitted_at: Option<String>,
    /// 職員番号.
    pub staff_no: Option<String>,
    /// 氏名.
    pub name: String,
}

/// Every respondent of a campaign in units `cap` reaches, in id order.
pub async fn export_respondents<P: Permission>(
    db: &Db,
    cap: &Capability<P>,
    tree: &UnitTree,
    campaign: i64,
) -> DbResult<Vec<ExportRespondent>> {
    let all: Vec<ExportRespondent> = sqlx::query_as(
        "SELECT r.id, r.grp, r.unit_id, r.status, r.submitted_at, p.staff_no, p.name \
         FROM inspection_respondent r JOIN person p ON p.id = r.person_id \
         WHERE r.campaign_id = $1 AND r.org_id = $2 ORDER BY r.id",
    )
    .bind(campaign)
    .bind(cap.org().0)
    .fetch_all(db.pool())
    .await?;
    Ok(match cap.reach() {
        Reach::All => all,
        _ => all
            .into_iter()
            .filter(|r| cap.covers(&tree.path(r.unit_id)))
            .collect(),
    })
}

/// An answer row for the export: (respondent, question, answer, comment, plan, due, saved).
pub type ExportAnswer = (i64, i64, String, String, String, Option<String>, String);

/// The answers of respondents with ids `first..=last` of a campaign, by respondent and
/// question: the export reads a campaign in such slices, so memory stays small.
pub async fn export_answers(
    db: &Db,
    campaign: i64,
    first: i64,
    last: i64,
) -> DbResult<Vec<ExportAnswer>> {
    Ok(sqlx::query_as(
        "SELECT respondent_id, question_id, answer, comment, plan, due_on, updated_at \
         FROM inspection_answer WHERE campaign_id = $1 AND respondent_id >= $2 AND respondent_id <= $3 \
         ORDER BY respondent_id, question_id",
    )
    .bind(campaign)
    .bind(first)
    .bind(last)
    .fetch_all(db.pool())
    .await?)
}

/// Respondents of a campaign counted by status.
pub async fn status_counts(db: &Db, campaign: i64) -> DbResult<Vec<(String, i64)>> {
    Ok(sqlx::query_as(
        "SELECT status, COUNT(*) FROM inspection_respondent WHERE campaign_id = $1 GROUP BY status",
    )
    .bind(campaign)
    .fetch_all(db.pool())
    .await?)
}

/// Improvement items a person owns, in every campaign.
pub async fn owned_improvements(db: &Db, org: OrgId, person: i64) -> DbResult<Vec<Improvement>> {
    let sql = format!(
        "SELECT {IMPROVEMENT_COLUMNS} {IMPROVEMENT_FROM} WHERE i.org_id = $1 AND i.owner_id = $2 \
         ORDER BY i.status = 'done', i.due_on, i.id"
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(org.0)
        .bind(person)
        .fetch_all(db.pool())
        .await?)
}
