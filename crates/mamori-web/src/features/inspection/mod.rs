//! 自己点検 (基本方針 §7, 対策基準 2-9-2): campaigns, answering, roll-up and improvement items.
//!
//! Preparing, opening and closing a campaign needs [`can::ManageInspections`] (CISO・統括);
//! roll-ups, answers and exports need [`can::ViewInspectionResults`], whose reach decides which
//! units show (管理者 their section, 責任者 their body, CISO・統括・監査人 everything);
//! improvement items are updated with [`can::EditCorrectiveActions`] over their unit. Answering
//! needs no grant: a respondent answers only their own entries, fixed when the campaign opened;
//! anyone else's entry is answered as if it did not exist. Every page works without JavaScript:
//! the long form and the one-question screens are plain forms, charts are inline SVG.

pub mod api;
pub mod export;
pub mod svg;

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use mamori_core::calendar::{FiscalYear, format_iso, parse_date, today_jst};
use mamori_core::inspection::{AnswerValue, Group, Tally, permille, permille_text};
use mamori_core::permission::can;
use mamori_core::standards;
use mamori_db::inspection::{
    self as db, AnswerInput, Campaign, CampaignInput, ImprovementInput, InspectionError,
};
use serde::Deserialize;

use crate::session::{CsrfForm, Viewer};
use crate::views::{Layout, date_ja, datetime_ja, page};
use crate::{AppError, AppState};

/// Routes of this feature.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/inspections", get(list).post(create))
        .route("/inspections/new", get(new_form))
        .route("/inspections/improvements", get(improvement_list))
        .route(
            "/inspections/improvements/{iid}",
            get(improvement_page).post(improvement_update),
        )
        .route("/inspections/{id}", get(detail).post(update))
        .route("/inspections/{id}/questions", post(questions))
        .route("/inspections/{id}/open", post(open))
        .route("/inspections/{id}/close", post(close))
        .route("/inspections/{id}/rollup", get(rollup))
        .route("/inspections/{id}/respond/{rid}", get(respond).post(save))
        .route("/inspections/{id}/respond/{rid}/q/{n}", get(respond_one))
        .merge(export::router())
}

/// Turns a refused change into the error to answer with.
pub fn inspection_error(e: InspectionError) -> AppError {
    match e {
        InspectionError::Invalid(_) => AppError::Unprocessable(e.message()),
        InspectionError::Period(p) => AppError::Conflict(p.to_string()),
        InspectionError::State(m) => AppError::Conflict(m),
        InspectionError::Stale => AppError::Conflict(e.to_string()),
        InspectionError::Db(e) => e.into(),
    }
}

/// Runs `change` in one write transaction and commits it.
pub async fn write<T>(
    state: &AppState,
    change: impl AsyncFnOnce(&mut mamori_db::AnyConnection) -> Result<T, InspectionError>,
) -> Result<Result<T, InspectionError>, AppError> {
    let mut tx = state.db.begin_write().await?;
    match change(&mut tx).await {
        Ok(v) => {
            tx.commit().await.map_err(mamori_db::DbError::from)?;
            Ok(Ok(v))
        }
        Err(InspectionError::Db(e)) => Err(e.into()),
        Err(e) => Ok(Err(e)),
    }
}

/// The campaign `id` of the viewer's organisation.
async fn campaign_of(state: &AppState, viewer: &Viewer, id: i64) -> Result<Campaign, AppError> {
    Ok(db::campaign(&state.db, viewer.actor.org, id).await?)
}

/// Whether the viewer holds a role that may manage or see results (for links only; every
/// handler checks again).
fn may(viewer: &Viewer, action: mamori_core::permission::Action) -> bool {
    viewer
        .actor
        .held
        .iter()
        .any(|h| mamori_core::permission::scope_of(h.role, action).is_some())
}

fn group_label(code: &str) -> &'static str {
    Group::from_code(code).map(Group::label_ja).unwrap_or("")
}

fn answer_label(code: &str) -> &'static str {
    AnswerValue::parse(code)
        .map(AnswerValue::label_ja)
        .unwrap_or("")
}

fn status_label(code: &str) -> &'static str {
    match code {
        "submitted" => "提出済み",
        "in_progress" => "回答中",
        _ => "未回答",
    }
}

// ------------------------------------------------------------------ list

struct CampaignRow {
    id: i64,
    name: String,
    year: String,
    period: String,
    phase: &'static str,
}

struct OwnRow {
    href: String,
    campaign: String,
    group: &'static str,
    unit: String,
    status: &'static str,
    period: String,
}

#[derive(Template)]
#[template(path = "inspection_list.html")]
struct ListPage {
    layout: Layout,
    may_manage: bool,
    may_results: bool,
    campaigns: Vec<CampaignRow>,
    own: Vec<OwnRow>,
}

fn period_text(c: &Campaign) -> String {
    format!("{} 〜 {}", date_ja(&c.start_on), date_ja(&c.end_on))
}

fn year_text(y: i64) -> String {
    i32::try_from(y)
        .ok()
        .and_then(|y| FiscalYear::new(y).ok())
        .map(|f| f.label_wareki())
        .unwrap_or_else(|| format!("{y}年度"))
}

async fn list(State(state): State<AppState>, viewer: Viewer) -> Result<Response, AppError> {
    let today = today_jst();
    let may_manage = may(&viewer, mamori_core::permission::Action::InspectionManage);
    let may_results = may(&viewer, mamori_core::permission::Action::InspectionResults);
    let all = db::campaigns(&state.db, viewer.actor.org).await?;
    let by_id: HashMap<i64, &Campaign> = all.iter().map(|c| (c.id, c)).collect();
    let campaigns = if may_manage || may_results {
        all.iter()
            .map(|c| CampaignRow {
                id: c.id,
                name: c.name.clone(),
                year: year_text(c.fiscal_year),
                period: period_text(c),
                phase: c.phase(today).label_ja(),
            })
            .collect()
    } else {
        Vec::new()
    };
    let own = db::respondents_of(&state.db, viewer.actor.org, viewer.person.id, None)
        .await?
        .into_iter()
        .filter_map(|r| {
            let c = by_id.get(&r.campaign_id)?;
            Some(OwnRow {
                href: format!("/inspections/{}/respond/{}", c.id, r.id),
                campaign: c.name.clone(),
                group: group_label(&r.grp),
                unit: viewer.tree.full_name(r.unit_id),
                status: status_label(&r.status),
                period: period_text(c),
            })
        })
        .collect();
    page(&ListPage {
        layout: Layout::new(&viewer, "自己点検", "/inspections"),
        may_manage,
        may_results,
        campaigns,
        own,
    })
}

// ------------------------------------------------------------------ create / edit

/// The fields of the campaign form, as typed.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct CampaignForm {
    /// 名称.
    pub name: String,
    /// 年度 (2026, 令和8年度, R8).
    pub fiscal_year: String,
    /// 開始日.
    pub start_on: String,
    /// 終了日.
    pub end_on: String,
    /// Respondent groups (`staff`, `manager`, `system_manager`).
    pub groups: Vec<String>,
    /// Unit codes to restrict to (empty: the whole organisation).
    pub units: Vec<String>,
}

impl CampaignForm {
    /// The repository input, or every problem found.
    pub fn parse(&self, viewer: &Viewer) -> Result<CampaignInput, InspectionError> {
        let mut p = Vec::new();
        let mut date = |v: &str, field: &str| match parse_date(v.trim()) {
            Ok(d) => Some(d),
            Err(e) => {
                p.push((
                    field.to_owned(),
                    format!("「{}」は日付として読めません（{e}）", v.trim()),
                ));
                None
            }
        };
        let start = date(&self.start_on, "開始日");
        let end = date(&self.end_on, "終了日");
        let year = if self.fiscal_year.trim().is_empty() {
            start.map(|d| i64::from(FiscalYear::of(d).year()))
        } else {
            match FiscalYear::parse(self.fiscal_year.trim()) {
                Ok(f) => Some(i64::from(f.year())),
                Err(e) => {
                    p.push(("年度".to_owned(), e.to_string()));
                    None
                }
            }
        };
        let mut groups = Vec::new();
        for g in &self.groups {
            match Group::from_code(g) {
                Some(g) => groups.push(g),
                None => p.push(("回答者".into(), format!("回答者の区分「{g}」は選べません"))),
            }
        }
        let mut units = Vec::new();
        for code in self
            .units
            .iter()
            .map(|c| c.trim())
            .filter(|c| !c.is_empty())
        {
            match viewer.tree.by_code(code) {
                Some(u) => units.push(u.id),
                None => p.push((
                    "対象の所属".into(),
                    format!("所属コード「{code}」は見つかりません"),
                )),
            }
        }
        match (start, end, year) {
            (Some(start_on), Some(end_on), Some(fiscal_year)) if p.is_empty() => {
                Ok(CampaignInput {
                    name: self.name.clone(),
                    fiscal_year,
                    start_on,
                    end_on,
                    groups,
                    units,
                })
            }
            _ => Err(InspectionError::Invalid(p)),
        }
    }

    fn from_pairs(pairs: &[(String, String)]) -> Self {
        let mut f = CampaignForm::default();
        for (k, v) in pairs {
            match k.as_str() {
                "name" => f.name = v.clone(),
                "fiscal_year" => f.fiscal_year = v.clone(),
                "start_on" => f.start_on = v.clone(),
                "end_on" => f.end_on = v.clone(),
                "groups" => f.groups.push(v.clone()),
                "units" => f.units.extend(v.split([',', '、', ' ']).map(str::to_owned)),
                _ => {}
            }
        }
        f
    }
}

#[derive(Template)]
#[template(path = "inspection_form.html")]
struct FormPage {
    layout: Layout,
    action: String,
    f: CampaignForm,
    problems: Vec<(String, String)>,
    groups: Vec<(&'static str, &'static str, bool)>,
}

fn form_page(
    viewer: &Viewer,
    action: String,
    f: CampaignForm,
    problems: Vec<(String, String)>,
) -> FormPage {
    let groups = Group::ALL
        .into_iter()
        .map(|g| {
            (
                g.code(),
                g.label_ja(),
                f.groups.iter().any(|x| x == g.code()),
            )
        })
        .collect();
    FormPage {
        layout: Layout::new(viewer, "自己点検の作成", "/inspections"),
        action,
        f,
        problems,
        groups,
    }
}

async fn new_form(State(state): State<AppState>, viewer: Viewer) -> Result<Response, AppError> {
    viewer.can::<can::ManageInspections>(&state).await?;
    let fy = FiscalYear::of(today_jst());
    let f = CampaignForm {
        name: format!("{} 情報セキュリティ自己点検", fy.label_wareki()),
        fiscal_year: fy.year().to_string(),
        start_on: format_iso(today_jst()),
        end_on: format_iso(today_jst().saturating_add(time::Duration::days(30))),
        groups: Group::ALL.iter().map(|g| g.code().to_owned()).collect(),
        units: Vec::new(),
    };
    page(&form_page(&viewer, "/inspections".into(), f, Vec::new()))
}

fn refused_form(
    viewer: &Viewer,
    action: String,
    f: CampaignForm,
    e: InspectionError,
) -> Result<Response, AppError> {
    let problems = match e {
        InspectionError::Invalid(p) => p,
        other => vec![("".into(), other.message())],
    };
    let mut resp = page(&form_page(viewer, action, f, problems))?;
    *resp.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    Ok(resp)
}

async fn create(
    State(state): State<AppState>,
    viewer: Viewer,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let cap = viewer.can::<can::ManageInspections>(&state).await?;
    let f = CampaignForm::from_pairs(&pairs);
    let input = match f.parse(&viewer) {
        Ok(i) => i,
        Err(e) => return refused_form(&viewer, "/inspections".into(), f, e),
    };
    let ctx = viewer.audit_ctx();
    let tree = viewer.tree.clone();
    match write(&state, async |tx| {
        db::create(tx, &cap, &ctx, &tree, &input).await
    })
    .await?
    {
        Ok(id) => Ok(Redirect::to(&format!("/inspections/{id}?created=1")).into_response()),
        Err(e) => refused_form(&viewer, "/inspections".into(), f, e),
    }
}

async fn update(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let cap = viewer.can::<can::ManageInspections>(&state).await?;
    campaign_of(&state, &viewer, id).await?;
    let action = format!("/inspections/{id}");
    let f = CampaignForm::from_pairs(&pairs);
    let input = match f.parse(&viewer) {
        Ok(i) => i,
        Err(e) => return refused_form(&viewer, action, f, e),
    };
    let ctx = viewer.audit_ctx();
    let tree = viewer.tree.clone();
    match write(&state, async |tx| {
        db::update(tx, &cap, &ctx, &tree, id, &input).await
    })
    .await?
    {
        Ok(()) => Ok(Redirect::to(&format!("/inspections/{id}?saved=1")).into_response()),
        Err(InspectionError::Invalid(p)) => {
            refused_form(&viewer, action, f, InspectionError::Invalid(p))
        }
        Err(e) => Err(inspection_error(e)),
    }
}

// ------------------------------------------------------------------ campaign page

struct GroupQuestions {
    code: &'static str,
    label: &'static str,
    lines: String,
    questions: Vec<(i64, String, String, String)>,
}

#[derive(Template)]
#[template(path = "inspection_detail.html")]
struct DetailPage {
    layout: Layout,
    c: Campaign,
    year: String,
    period: String,
    phase: &'static str,
    draft: bool,
    open: bool,
    may_manage: bool,
    groups_text: String,
    units_text: String,
    groups: Vec<GroupQuestions>,
    problems: Vec<(String, String)>,
    edit: CampaignForm,
    group_choices: Vec<(&'static str, &'static str, bool)>,
    respondents: i64,
    submitted: i64,
}

/// Reads the query's one-shot notices (`?saved=1` …).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Notice {
    created: String,
    saved: String,
    opened: String,
    closed: String,
    submitted: String,
    again: String,
}

impl Notice {
    fn text(&self) -> Option<String> {
        let n = if !self.created.is_empty() {
            "自己点検を作成しました。設問を確認してから開始してください"
        } else if !self.saved.is_empty() {
            "保存しました"
        } else if !self.opened.is_empty() {
            "自己点検を開始しました。回答者が確定しました"
        } else if !self.closed.is_empty() {
            "自己点検を締め切りました"
        } else if !self.submitted.is_empty() {
            "回答を提出しました。ご協力ありがとうございました"
        } else if !self.again.is_empty() {
            "この回答は既に提出済みです（内容は変わっていません）"
        } else {
            return None;
        };
        Some(n.to_owned())
    }
}

async fn detail_page(
    state: &AppState,
    viewer: &Viewer,
    c: Campaign,
    notice: Option<String>,
    problems: Vec<(String, String)>,
) -> Result<DetailPage, AppError> {
    let today = today_jst();
    let qs = db::questions(&state.db, viewer.actor.org, c.id).await?;
    let groups = c
        .group_list()
        .into_iter()
        .map(|g| {
            let mine: Vec<_> = qs.iter().filter(|q| q.grp == g.code()).collect();
            GroupQuestions {
                code: g.code(),
                label: g.label_ja(),
                lines: mine
                    .iter()
                    .map(|q| format!("{} {}", q.clause, q.text))
                    .collect::<Vec<_>>()
                    .join("\n"),
                questions: mine
                    .iter()
                    .map(|q| {
                        (
                            q.seq,
                            q.clause.clone(),
                            standards::clause(&q.clause)
                                .map(|x| x.title.to_owned())
                                .unwrap_or_default(),
                            q.text.clone(),
                        )
                    })
                    .collect(),
            }
        })
        .collect();
    let units: Vec<String> = c
        .scope_units()
        .iter()
        .map(|u| viewer.tree.full_name(*u))
        .collect();
    let counts: Vec<(String, i64)> = sqlx_counts(state, c.id).await?;
    let respondents = counts.iter().map(|(_, n)| n).sum();
    let submitted = counts
        .iter()
        .filter(|(s, _)| s == "submitted")
        .map(|(_, n)| n)
        .sum();
    let edit = CampaignForm {
        name: c.name.clone(),
        fiscal_year: c.fiscal_year.to_string(),
        start_on: c.start_on.clone(),
        end_on: c.end_on.clone(),
        groups: c.group_list().iter().map(|g| g.code().to_owned()).collect(),
        units: c
            .scope_units()
            .iter()
            .filter_map(|u| viewer.tree.get(*u).map(|u| u.code.clone()))
            .collect(),
    };
    let group_choices = Group::ALL
        .into_iter()
        .map(|g| {
            (
                g.code(),
                g.label_ja(),
                edit.groups.iter().any(|x| x == g.code()),
            )
        })
        .collect();
    let phase = c.phase(today);
    Ok(DetailPage {
        layout: Layout::new(viewer, c.name.clone(), "/inspections").with_notice(notice),
        year: year_text(c.fiscal_year),
        period: period_text(&c),
        phase: phase.label_ja(),
        draft: c.status == "draft",
        open: c.status == "open",
        may_manage: may(viewer, mamori_core::permission::Action::InspectionManage),
        groups_text: c
            .group_list()
            .iter()
            .map(|g| g.label_ja())
            .collect::<Vec<_>>()
            .join("・"),
        units_text: if units.is_empty() {
            "組織全体".into()
        } else {
            units.join("・")
        },
        groups,
        problems,
        edit,
        group_choices,
        respondents,
        submitted,
        c,
    })
}

async fn sqlx_counts(state: &AppState, campaign: i64) -> Result<Vec<(String, i64)>, AppError> {
    Ok(db::status_counts(&state.db, campaign).await?)
}

async fn detail(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Query(n): Query<Notice>,
) -> Result<Response, AppError> {
    let c = campaign_of(&state, &viewer, id).await?;
    if viewer.actor.can::<can::ManageInspections>().is_err() {
        viewer.can::<can::ViewInspectionResults>(&state).await?;
    }
    page(&detail_page(&state, &viewer, c, n.text(), Vec::new()).await?)
}

#[derive(Debug, Deserialize)]
struct QuestionsForm {
    group: String,
    lines: String,
}

async fn questions(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    CsrfForm(f): CsrfForm<QuestionsForm>,
) -> Result<Response, AppError> {
    let cap = viewer.can::<can::ManageInspections>(&state).await?;
    let c = campaign_of(&state, &viewer, id).await?;
    let group = Group::from_code(&f.group)
        .ok_or_else(|| AppError::bad(format!("回答者の区分「{}」は選べません", f.group)))?;
    let refused = async |p: Vec<(String, String)>| -> Result<Response, AppError> {
        let p: Vec<(String, String)> = p
            .into_iter()
            .map(|(k, v)| (format!("{}の設問 {k}", group.label_ja()), v))
            .collect();
        let mut resp = page(&detail_page(&state, &viewer, c.clone(), None, p).await?)?;
        *resp.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        Ok(resp)
    };
    let parsed = match db::parse_question_lines(&f.lines) {
        Ok(q) => q,
        Err(p) => return refused(p).await,
    };
    let ctx = viewer.audit_ctx();
    match write(&state, async |tx| {
        db::set_questions(tx, &cap, &ctx, id, group, &parsed).await
    })
    .await?
    {
        Ok(()) => Ok(Redirect::to(&format!("/inspections/{id}?saved=1")).into_response()),
        Err(InspectionError::Invalid(p)) => refused(p).await,
        Err(e) => Err(inspection_error(e)),
    }
}

#[derive(Debug, Deserialize)]
struct Empty {}

async fn open(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    CsrfForm(_): CsrfForm<Empty>,
) -> Result<Response, AppError> {
    let cap = viewer.can::<can::ManageInspections>(&state).await?;
    campaign_of(&state, &viewer, id).await?;
    let ctx = viewer.audit_ctx();
    let tree = viewer.tree.clone();
    let today = today_jst();
    write(&state, async |tx| {
        db::open(tx, &cap, &ctx, &tree, id, today).await
    })
    .await?
    .map_err(inspection_error)?;
    Ok(Redirect::to(&format!("/inspections/{id}?opened=1")).into_response())
}

async fn close(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    CsrfForm(_): CsrfForm<Empty>,
) -> Result<Response, AppError> {
    let cap = viewer.can::<can::ManageInspections>(&state).await?;
    campaign_of(&state, &viewer, id).await?;
    let ctx = viewer.audit_ctx();
    write(&state, async |tx| db::close(tx, &cap, &ctx, id).await)
        .await?
        .map_err(inspection_error)?;
    Ok(Redirect::to(&format!("/inspections/{id}?closed=1")).into_response())
}

// ------------------------------------------------------------------ roll-up

/// A table line of the roll-up page.
pub struct RollLine {
    /// Label (indented by depth for units).
    pub label: String,
    /// Depth.
    pub depth: usize,
    /// 回答者.
    pub respondents: i64,
    /// 提出済み.
    pub submitted: i64,
    /// 回答率.
    pub rate: String,
    /// Counts.
    pub tally: Tally,
    /// 適合率.
    pub conformity: String,
}

impl RollLine {
    fn unit(u: &db::UnitLine) -> Self {
        RollLine {
            label: u.name.clone(),
            depth: u.depth,
            respondents: u.respondents,
            submitted: u.submitted,
            rate: permille_text(permille(u.submitted, u.respondents)),
            tally: u.tally,
            conformity: permille_text(u.tally.conformity_permille()),
        }
    }
}

/// A question's line under its clause: (group, 問, text, counts, 適合率).
type QuestionLine = (String, i64, String, Tally, String);
/// A clause's line: (number, title, counts, 適合率, its questions).
type ClauseView = (String, String, Tally, String, Vec<QuestionLine>);

#[derive(Template)]
#[template(path = "inspection_rollup.html")]
struct RollupPage {
    layout: Layout,
    c: Campaign,
    phase: &'static str,
    total: RollLine,
    units: Vec<RollLine>,
    clauses: Vec<ClauseView>,
    unit_chart: String,
    clause_chart: String,
}

async fn rollup(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let cap = viewer.can::<can::ViewInspectionResults>(&state).await?;
    let c = campaign_of(&state, &viewer, id).await?;
    let r = db::rollup(&state.db, &cap, &viewer.tree, &c).await?;
    let units: Vec<RollLine> = r.units.iter().map(RollLine::unit).collect();
    let unit_chart = svg::stacked_bars(
        "所属別の回答の内訳",
        &units
            .iter()
            .map(|u| (format!("{}{}", "　".repeat(u.depth), u.label), u.tally))
            .collect::<Vec<_>>(),
    );
    let clause_chart = svg::stacked_bars(
        "対策基準別の回答の内訳",
        &r.clauses
            .iter()
            .map(|l| (format!("{} {}", l.clause, l.title), l.tally))
            .collect::<Vec<_>>(),
    );
    let clauses = r
        .clauses
        .iter()
        .map(|l| {
            (
                l.clause.clone(),
                l.title.clone(),
                l.tally,
                permille_text(l.tally.conformity_permille()),
                l.questions
                    .iter()
                    .map(|(g, seq, text, t)| {
                        (
                            group_label(g).to_owned(),
                            *seq,
                            text.clone(),
                            *t,
                            permille_text(t.conformity_permille()),
                        )
                    })
                    .collect(),
            )
        })
        .collect();
    page(&RollupPage {
        layout: Layout::new(&viewer, format!("{} 集計", c.name), "/inspections"),
        phase: c.phase(today_jst()).label_ja(),
        total: RollLine::unit(&r.total),
        units,
        clauses,
        unit_chart,
        clause_chart,
        c,
    })
}

// ------------------------------------------------------------------ answering

/// One question on the answering page, with what has been saved or typed.
pub struct QView {
    /// Question id.
    pub id: i64,
    /// 問番号.
    pub seq: i64,
    /// Clause and its title.
    pub clause: String,
    /// Question.
    pub text: String,
    /// Answer code chosen.
    pub answer: String,
    /// Comment.
    pub comment: String,
    /// Plan.
    pub plan: String,
    /// Due date.
    pub due: String,
    /// Problem with this answer.
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "inspection_respond.html")]
struct RespondPage {
    layout: Layout,
    c: Campaign,
    rid: i64,
    group: &'static str,
    unit: String,
    period: String,
    plans: bool,
    submitted: Option<String>,
    closed_message: Option<String>,
    problems: Vec<(String, String)>,
    questions: Vec<QView>,
    single: Option<(i64, i64)>,
    total: usize,
    answered: usize,
    choices: Vec<(&'static str, &'static str)>,
}

#[allow(clippy::too_many_arguments)]
async fn respond_page(
    state: &AppState,
    viewer: &Viewer,
    id: i64,
    rid: i64,
    single: Option<i64>,
    typed: Option<&HashMap<i64, AnswerInput>>,
    problems: Vec<(String, String)>,
    notice: Option<String>,
) -> Result<RespondPage, AppError> {
    let r = db::respondent(&state.db, viewer.actor.org, rid).await?;
    if r.person_id != viewer.person.id || r.campaign_id != id {
        return Err(AppError::NotFound);
    }
    let c = campaign_of(state, viewer, id).await?;
    let qs: Vec<_> = db::questions(&state.db, viewer.actor.org, id)
        .await?
        .into_iter()
        .filter(|q| q.grp == r.grp)
        .collect();
    let saved: HashMap<i64, db::Answer> = db::answers(&state.db, viewer.actor.org, rid)
        .await?
        .into_iter()
        .map(|a| (a.question_id, a))
        .collect();
    let total = qs.len();
    let answered = qs.iter().filter(|q| saved.contains_key(&q.id)).count();
    let n_total = i64::try_from(total).unwrap_or(0);
    if let Some(n) = single
        && !(1..=n_total).contains(&n)
    {
        return Err(AppError::NotFound);
    }
    let errors_by_seq: HashMap<String, String> = problems.iter().cloned().collect();
    let questions = qs
        .iter()
        .filter(|q| single.is_none_or(|n| q.seq == n))
        .map(|q| {
            let s = saved.get(&q.id);
            let t = typed.and_then(|t| t.get(&q.id));
            QView {
                id: q.id,
                seq: q.seq,
                clause: format!(
                    "{} {}",
                    q.clause,
                    standards::clause(&q.clause).map(|x| x.title).unwrap_or("")
                ),
                text: q.text.clone(),
                answer: t
                    .map(|t| {
                        AnswerValue::parse(&t.answer)
                            .map(|v| v.code().to_owned())
                            .unwrap_or_default()
                    })
                    .or_else(|| s.map(|s| s.answer.clone()))
                    .unwrap_or_default(),
                comment: t
                    .map(|t| t.comment.clone())
                    .or_else(|| s.map(|s| s.comment.clone()))
                    .unwrap_or_default(),
                plan: t
                    .map(|t| t.plan.clone())
                    .or_else(|| s.map(|s| s.plan.clone()))
                    .unwrap_or_default(),
                due: t
                    .map(|t| t.due.clone())
                    .or_else(|| s.and_then(|s| s.due_on.clone()))
                    .unwrap_or_default(),
                error: errors_by_seq.get(&format!("問{}", q.seq)).cloned(),
            }
        })
        .collect();
    let group = Group::from_code(&r.grp).unwrap_or(Group::Staff);
    let closed_message = c.check_period(today_jst()).err().map(|e| e.to_string());
    Ok(RespondPage {
        layout: Layout::new(viewer, format!("{} 回答", c.name), "/inspections").with_notice(notice),
        rid,
        group: group.label_ja(),
        unit: viewer.tree.full_name(r.unit_id),
        period: period_text(&c),
        plans: group.plans_required(),
        submitted: r.submitted_at.as_deref().map(datetime_ja),
        closed_message,
        problems,
        questions,
        single: single.map(|n| (n, n_total)),
        total,
        answered,
        choices: AnswerValue::ALL
            .iter()
            .map(|v| (v.code(), v.label_ja()))
            .collect(),
        c,
    })
}

async fn respond(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((id, rid)): Path<(i64, i64)>,
    Query(n): Query<Notice>,
) -> Result<Response, AppError> {
    page(&respond_page(&state, &viewer, id, rid, None, None, Vec::new(), n.text()).await?)
}

async fn respond_one(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((id, rid, n)): Path<(i64, i64, i64)>,
    Query(notice): Query<Notice>,
) -> Result<Response, AppError> {
    page(
        &respond_page(
            &state,
            &viewer,
            id,
            rid,
            Some(n),
            None,
            Vec::new(),
            notice.text(),
        )
        .await?,
    )
}

/// Reads the answering form: `a<id>`, `c<id>`, `p<id>`, `d<id>` per question, plus `go`
/// (`save`, `next`, `prev`, `submit`) and `single` (the question shown, on one-question screens).
fn read_answers(pairs: &[(String, String)]) -> (HashMap<i64, AnswerInput>, String, Option<i64>) {
    let mut out: HashMap<i64, AnswerInput> = HashMap::new();
    let mut go = String::new();
    let mut single = None;
    for (k, v) in pairs {
        if k == "go" {
            go = v.clone();
            continue;
        }
        if k == "single" {
            single = v.parse().ok();
            continue;
        }
        let mut chars = k.chars();
        let Some(kind) = chars.next() else { continue };
        let Ok(qid) = chars.as_str().parse::<i64>() else {
            continue;
        };
        let e = out.entry(qid).or_insert_with(|| AnswerInput {
            question_id: qid,
            ..AnswerInput::default()
        });
        match kind {
            'a' => e.answer = v.clone(),
            'c' => e.comment = v.clone(),
            'p' => e.plan = v.clone(),
            'd' => e.due = v.clone(),
            _ => {}
        }
    }
    (out, go, single)
}

async fn save(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((id, rid)): Path<(i64, i64)>,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let r = db::respondent(&state.db, viewer.actor.org, rid).await?;
    if r.person_id != viewer.person.id || r.campaign_id != id {
        return Err(AppError::NotFound);
    }
    let (typed, go, single) = read_answers(&pairs);
    let base = format!("/inspections/{id}/respond/{rid}");
    if r.status == "submitted" && go == "submit" {
        // A second submission (a double click, a resent form): nothing changes.
        return Ok(Redirect::to(&format!("{base}?again=1")).into_response());
    }
    let inputs: Vec<AnswerInput> = typed.values().cloned().collect();
    let ctx = viewer.audit_ctx();
    let today = today_jst();
    let org = viewer.actor.org;
    let person = viewer.person.id;
    let saved = write(&state, async |tx| {
        db::save_answers(tx, org, &ctx, person, rid, today, &inputs).await
    })
    .await?;
    match saved {
        Ok(_) => {}
        Err(InspectionError::Invalid(p)) => {
            let mut resp = page(
                &respond_page(&state, &viewer, id, rid, single, Some(&typed), p, None).await?,
            )?;
            *resp.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            return Ok(resp);
        }
        Err(e) => return Err(inspection_error(e)),
    }
    if go == "submit" {
        let done = write(&state, async |tx| {
            db::submit(tx, org, &ctx, person, rid, today).await
        })
        .await?;
        return match done {
            Ok(true) => Ok(Redirect::to(&format!("{base}?submitted=1")).into_response()),
            Ok(false) => Ok(Redirect::to(&format!("{base}?again=1")).into_response()),
            Err(InspectionError::Invalid(p)) => {
                let mut resp =
                    page(&respond_page(&state, &viewer, id, rid, single, None, p, None).await?)?;
                *resp.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
                Ok(resp)
            }
            Err(e) => Err(inspection_error(e)),
        };
    }
    let target = match (single, go.as_str()) {
        (Some(n), "next") => format!("{base}/q/{}?saved=1", n + 1),
        (Some(n), "prev") if n > 1 => format!("{base}/q/{}?saved=1", n - 1),
        (Some(n), _) => format!("{base}/q/{n}?saved=1"),
        (None, _) => format!("{base}?saved=1"),
    };
    // Past the last question: back to the whole form, where the answers can be submitted.
    let count = db::questions(&state.db, org, id)
        .await?
        .iter()
        .filter(|q| q.grp == r.grp)
        .count();
    let past_end = single.is_some_and(|n| go == "next" && usize::try_from(n).unwrap_or(0) >= count);
    Ok(Redirect::to(if past_end { &base } else { &target }).into_response())
}

// ------------------------------------------------------------------ improvement items

struct ItemRow {
    id: i64,
    campaign: String,
    clause: String,
    question: String,
    unit: String,
    owner: String,
    counts: String,
    due: String,
    status: &'static str,
    overdue: bool,
}

#[derive(Template)]
#[template(path = "inspection_improvements.html")]
struct ItemsPage {
    layout: Layout,
    rows: Vec<ItemRow>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ItemsQuery {
    campaign: String,
}

async fn improvement_list(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<ItemsQuery>,
) -> Result<Response, AppError> {
    let campaign: i64 = q.campaign.trim().parse().unwrap_or(0);
    let names: HashMap<i64, String> = db::campaigns(&state.db, viewer.actor.org)
        .await?
        .into_iter()
        .map(|c| (c.id, c.name))
        .collect();
    // Items the viewer may see: those in reach of the results grant, and those they own.
    let mut items = match viewer.actor.can::<can::ViewInspectionResults>() {
        Ok(cap) => db::improvements(&state.db, &cap, &viewer.tree, campaign).await?,
        Err(_) => Vec::new(),
    };
    if let Ok(cap) = viewer.actor.can::<can::EditCorrectiveActions>() {
        for i in db::improvements(&state.db, &cap, &viewer.tree, campaign).await? {
            if !items.iter().any(|x| x.id == i.id) {
                items.push(i);
            }
        }
    }
    for i in db::owned_improvements(&state.db, viewer.actor.org, viewer.person.id).await? {
        if (campaign == 0 || i.campaign_id == campaign) && !items.iter().any(|x| x.id == i.id) {
            items.push(i);
        }
    }
    let today = format_iso(today_jst());
    let rows = items
        .into_iter()
        .map(|i| ItemRow {
            id: i.id,
            campaign: names.get(&i.campaign_id).cloned().unwrap_or_default(),
            clause: i.clause.clone(),
            question: i.question.clone(),
            unit: viewer.tree.full_name(i.unit_id),
            owner: i.owner_name.clone().unwrap_or_else(|| "（未設定）".into()),
            counts: format!("一部実施 {}・未実施 {}", i.partial, i.not_done),
            due: i.due_on.as_deref().map(date_ja).unwrap_or_default(),
            status: db::item_status_label(&i.status),
            overdue: i.status != "done" && i.due_on.as_deref().is_some_and(|d| d < today.as_str()),
        })
        .collect();
    page(&ItemsPage {
        layout: Layout::new(&viewer, "自己点検の改善項目", "/inspections"),
        rows,
    })
}

#[derive(Template)]
#[template(path = "inspection_improvement.html")]
struct ItemPage {
    layout: Layout,
    i: db::Improvement,
    campaign: String,
    unit: String,
    status: &'static str,
    due: String,
    editable: bool,
    statuses: Vec<(&'static str, &'static str)>,
    problems: Vec<(String, String)>,
}

/// The item `iid`, if the viewer may see it: its owner, or results / corrective grants over its
/// unit. Anyone else is answered as if it did not exist.
async fn visible_item(
    state: &AppState,
    viewer: &Viewer,
    iid: i64,
) -> Result<(db::Improvement, bool), AppError> {
    let i = db::improvement(&state.db, viewer.actor.org, iid).await?;
    let path = viewer.tree.path(i.unit_id);
    let editable = viewer
        .actor
        .can_on::<can::EditCorrectiveActions>(&path)
        .is_ok();
    let sees = editable
        || i.owner_id == Some(viewer.person.id)
        || viewer
            .actor
            .can_on::<can::ViewInspectionResults>(&path)
            .is_ok();
    if !sees {
        return Err(AppError::NotFound);
    }
    Ok((i, editable))
}

async fn item_page(
    state: &AppState,
    viewer: &Viewer,
    i: db::Improvement,
    editable: bool,
    notice: Option<String>,
    problems: Vec<(String, String)>,
) -> Result<ItemPage, AppError> {
    let c = db::campaign(&state.db, viewer.actor.org, i.campaign_id).await?;
    Ok(ItemPage {
        layout: Layout::new(viewer, "改善項目", "/inspections").with_notice(notice),
        campaign: c.name,
        unit: viewer.tree.full_name(i.unit_id),
        status: db::item_status_label(&i.status),
        due: i.due_on.as_deref().map(date_ja).unwrap_or_default(),
        editable,
        statuses: db::ITEM_STATUSES.to_vec(),
        problems,
        i,
    })
}

async fn improvement_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(iid): Path<i64>,
    Query(n): Query<Notice>,
) -> Result<Response, AppError> {
    let (i, editable) = visible_item(&state, &viewer, iid).await?;
    page(&item_page(&state, &viewer, i, editable, n.text(), Vec::new()).await?)
}

/// The improvement form, as typed.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct ItemForm {
    /// `open`, `in_progress` or `done`.
    pub status: String,
    /// 改善計画.
    pub plan: String,
    /// 期限.
    pub due: String,
    /// 進捗・備考.
    pub note: String,
    /// The version the editor started from.
    pub version: Option<i64>,
}

impl ItemForm {
    /// The repository input.
    pub fn input(&self) -> ImprovementInput {
        ImprovementInput {
            status: self.status.trim().to_owned(),
            plan: self.plan.clone(),
            due: self.due.clone(),
            note: self.note.clone(),
            version: self.version,
        }
    }
}

async fn improvement_update(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(iid): Path<i64>,
    CsrfForm(f): CsrfForm<ItemForm>,
) -> Result<Response, AppError> {
    let (i, _) = visible_item(&state, &viewer, iid).await?;
    let cap = viewer
        .can_on::<can::EditCorrectiveActions>(&state, i.unit_id)
        .await?;
    let ctx = viewer.audit_ctx();
    let tree = viewer.tree.clone();
    let input = f.input();
    match write(&state, async |tx| {
        db::update_improvement(tx, &cap, &ctx, &tree, iid, &input).await
    })
    .await?
    {
        Ok(()) => {
            Ok(Redirect::to(&format!("/inspections/improvements/{iid}?saved=1")).into_response())
        }
        Err(InspectionError::Invalid(p)) => {
            let mut resp = page(&item_page(&state, &viewer, i, true, None, p).await?)?;
            *resp.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(resp)
        }
        Err(e) => Err(inspection_error(e)),
    }
}
