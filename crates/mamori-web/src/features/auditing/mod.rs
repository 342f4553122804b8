//! 情報セキュリティ監査 (基本方針 §7) — audit plans, engagements, fieldwork, findings and
//! corrective actions — under `/audits` (the audit *trail* lives under `/audit`).
//!
//! Reading needs [`can::ViewAuditResults`] (CISO・副CISO・統括・監査人 everything, 責任者 their body,
//! 管理者 their unit) over a unit in the engagement's scope; the owner of a corrective action
//! reads with [`can::EditCorrectiveActions`] instead. Planning needs [`can::PlanAudits`];
//! fieldwork, findings and follow-up need [`can::ConductAudits`] and an assignment to the
//! engagement; corrective actions need [`can::EditCorrectiveActions`] over the finding's unit.
//! The JSON API is in [`api`].

pub mod api;

use askama::Template;
use axum::Router;
use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use mamori_core::auditing::{ActionStatus, EngagementStatus, ItemResult, PlanKind, Severity};
use mamori_core::calendar::{parse_date, today_jst};
use mamori_core::permission::{Action, Capability, Denied, Permission, can};
use mamori_core::role::Role;
use mamori_core::standards;
use mamori_db::AnyConnection;
use mamori_db::auditing::{
    self, ActionInput, AuditingError, EngagementInput, EngagementView, FieldProblem, FindingInput,
    ItemInput, PlanInput,
};
use serde::Deserialize;

use crate::session::{CsrfForm, Viewer};
use crate::views::{Layout, date_ja, datetime_ja, page};
use crate::{AppError, AppState, upload};

/// Routes of the pages.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/audits", get(list))
        .route("/audits/plans", post(create_plan))
        .route("/audits/plans/{id}", get(plan_page))
        .route("/audits/plans/{id}/engagements", post(create_engagement))
        .route(
            "/audits/engagements/{id}",
            get(engagement_page).post(update_engagement),
        )
        .route("/audits/engagements/{id}/status", post(advance))
        .route("/audits/engagements/{id}/items", post(add_item))
        .route("/audits/engagements/{id}/items/{item}", post(record_item))
        .route("/audits/engagements/{id}/findings", post(create_finding))
        .route("/audits/engagements/{id}/report", get(report))
        .route("/audits/engagements/{id}/export.xlsx", get(export))
        .route("/audits/findings/{id}/action", post(plan_action))
        .route("/audits/findings/{id}/evidence/{eid}", get(evidence))
        .route("/audits/actions/{id}/update", post(update_action))
        .route("/audits/actions/{id}/follow-up", post(follow_up))
}

// ------------------------------------------------------------------ shared

/// Problems as one line: 「…／…」.
pub fn problems_text(problems: &[FieldProblem]) -> String {
    problems
        .iter()
        .map(|(_, m)| m.as_str())
        .collect::<Vec<_>>()
        .join("／")
}

/// Turns a refused change into the error to answer with; a change by an auditor not assigned
/// to the engagement is recorded as a denial.
pub async fn auditing_error(state: &AppState, viewer: &Viewer, e: AuditingError) -> AppError {
    match e {
        AuditingError::Invalid(p) => AppError::Unprocessable(problems_text(&p)),
        AuditingError::Independence(m) | AuditingError::Duty(m) => AppError::Unprocessable(m),
        AuditingError::State(m) => AppError::Conflict(m),
        AuditingError::NotAssigned => {
            viewer
                .denied(
                    state,
                    Denied {
                        action: Action::AuditWork,
                    },
                    None,
                )
                .await
        }
        AuditingError::Db(e) => e.into(),
    }
}

/// Runs `change` in one write transaction and commits it.
pub async fn write<T>(
    state: &AppState,
    viewer: &Viewer,
    change: impl AsyncFnOnce(&mut AnyConnection) -> Result<T, AuditingError>,
) -> Result<T, AppError> {
    let mut tx = state.db.begin_write().await?;
    match change(&mut tx).await {
        Ok(out) => {
            tx.commit().await.map_err(mamori_db::DbError::from)?;
            Ok(out)
        }
        Err(e) => {
            drop(tx);
            Err(auditing_error(state, viewer, e).await)
        }
    }
}

/// The capability a viewer reads audits with: audit results, or (for owners of corrective
/// actions) the corrective-action capability. Neither: refused and recorded.
pub enum Reader {
    /// [`can::ViewAuditResults`].
    Results(Capability<can::ViewAuditResults>),
    /// [`can::EditCorrectiveActions`].
    Corrective(Capability<can::EditCorrectiveActions>),
}

/// The viewer's reading capability.
pub async fn reader(state: &AppState, viewer: &Viewer) -> Result<Reader, AppError> {
    if let Ok(c) = viewer.actor.can::<can::ViewAuditResults>() {
        return Ok(Reader::Results(c));
    }
    if let Ok(c) = viewer.actor.can::<can::EditCorrectiveActions>() {
        return Ok(Reader::Corrective(c));
    }
    Err(viewer
        .denied(
            state,
            Denied {
                action: Action::AuditResultView,
            },
            None,
        )
        .await)
}

/// One engagement as the viewer may see it (404 when outside reach).
pub async fn load_view(
    state: &AppState,
    viewer: &Viewer,
    id: i64,
) -> Result<EngagementView, AppError> {
    Ok(match reader(state, viewer).await? {
        Reader::Results(c) => auditing::engagement_view(&state.db, &c, &viewer.tree, id).await?,
        Reader::Corrective(c) => auditing::engagement_view(&state.db, &c, &viewer.tree, id).await?,
    })
}

/// Engagements the viewer sees.
pub async fn load_rows(
    state: &AppState,
    viewer: &Viewer,
    plan: Option<i64>,
) -> Result<Vec<auditing::EngagementRow>, AppError> {
    Ok(match reader(state, viewer).await? {
        Reader::Results(c) => auditing::engagements(&state.db, &c, &viewer.tree, plan).await?,
        Reader::Corrective(c) => auditing::engagements(&state.db, &c, &viewer.tree, plan).await?,
    })
}

/// A date typed in a form (和暦 accepted); empty means none.
pub fn opt_date(text: &str, what: &str) -> Result<Option<time::Date>, AppError> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    parse_date(t)
        .map(Some)
        .map_err(|e| AppError::Unprocessable(format!("{what}：{e}")))
}

fn may<P: Permission>(viewer: &Viewer) -> bool {
    viewer.actor.can::<P>().is_ok()
}

fn unit_names(viewer: &Viewer, units: &[i64]) -> String {
    units
        .iter()
        .map(|u| viewer.tree.full_name(*u))
        .collect::<Vec<_>>()
        .join("、")
}

/// Persons holding the 監査人 role today: (id, label).
fn auditor_choices(viewer: &Viewer) -> Vec<(i64, String)> {
    let snapshot = &viewer.snapshot;
    snapshot
        .persons
        .iter()
        .filter(|p| p.status == "active")
        .filter(|p| {
            snapshot
                .assignments
                .iter()
                .any(|a| a.person_id == p.id && a.role == Role::Auditor.code())
        })
        .map(|p| {
            (
                p.id,
                format!("{}（{}）", p.name, viewer.tree.full_name(p.unit_id)),
            )
        })
        .collect()
}

/// Active persons who may update corrective actions in `unit` (an action's possible owners),
/// the unit's own 管理者 first.
fn owner_choices(viewer: &Viewer, unit: i64) -> Vec<(i64, String)> {
    let snapshot = &viewer.snapshot;
    let path = viewer.tree.path(unit);
    let mut out: Vec<(bool, i64, String)> = snapshot
        .persons
        .iter()
        .filter(|p| p.status == "active")
        .filter(|p| {
            mamori_db::org::actor_from(p, &viewer.tree, snapshot.assignments.iter())
                .can_on::<can::EditCorrectiveActions>(&path)
                .is_ok()
        })
        .map(|p| {
            let manager_here = snapshot.assignments.iter().any(|a| {
                a.person_id == p.id && a.unit_id == unit && a.role == Role::SecurityManager.code()
            });
            (
                !manager_here,
                p.id,
                format!("{}（{}）", p.name, viewer.tree.full_name(p.unit_id)),
            )
        })
        .collect();
    out.sort_by_key(|(other, _, _)| *other);
    out.into_iter().map(|(_, id, label)| (id, label)).collect()
}

fn ciso_choices(viewer: &Viewer) -> Vec<(i64, String)> {
    let snapshot = &viewer.snapshot;
    snapshot
        .persons
        .iter()
        .filter(|p| {
            snapshot
                .assignments
                .iter()
                .any(|a| a.person_id == p.id && a.role == Role::Ciso.code())
        })
        .map(|p| (p.id, p.name.clone()))
        .collect()
}

fn unit_choices(viewer: &Viewer) -> Vec<(i64, String)> {
    viewer
        .tree
        .units()
        .iter()
        .filter(|u| u.active != 0 && u.parent_id.is_some())
        .map(|u| (u.id, viewer.tree.full_name(u.id)))
        .collect()
}

fn clause_label(number: &str) -> String {
    standards::clause(number).map_or_else(
        || number.to_owned(),
        |c| format!("{} {}", c.number, c.title),
    )
}

// ------------------------------------------------------------------ list

struct PlanRow {
    id: i64,
    kind: &'static str,
    title: String,
    period: String,
    order: String,
}

struct EngRow {
    id: i64,
    title: String,
    status: &'static str,
    period: String,
    units: String,
    findings: i64,
    open: usize,
}

fn eng_rows(viewer: &Viewer, rows: &[auditing::EngagementRow]) -> Vec<EngRow> {
    rows.iter()
        .map(|r| EngRow {
            id: r.engagement.id,
            title: r.engagement.title.clone(),
            status: r.engagement.status().label_ja(),
            period: format!(
                "{} 〜 {}",
                date_ja(&r.engagement.starts_on),
                date_ja(&r.engagement.ends_on)
            ),
            units: unit_names(viewer, &r.units),
            findings: r.findings,
            open: r.open_findings,
        })
        .collect()
}

#[derive(Template)]
#[template(path = "auditing_list.html")]
struct ListPage {
    layout: Layout,
    plans: Vec<PlanRow>,
    engagements: Vec<EngRow>,
    can_plan: bool,
    cisos: Vec<(i64, String)>,
    this_year: i32,
    today: String,
}

fn plan_rows(viewer: &Viewer, plans: &[auditing::Plan]) -> Vec<PlanRow> {
    let names = |id: Option<i64>| {
        id.and_then(|i| viewer.snapshot.persons.iter().find(|p| p.id == i))
            .map(|p| p.name.clone())
            .unwrap_or_default()
    };
    plans
        .iter()
        .map(|p| PlanRow {
            id: p.id,
            kind: p.kind().label_ja(),
            title: p.title.clone(),
            period: p.period_label(),
            order: if p.kind() == PlanKind::Special {
                format!(
                    "{} の指示（{}）：{}",
                    names(p.ordered_by),
                    p.ordered_on.as_deref().map(date_ja).unwrap_or_default(),
                    p.order_note
                )
            } else {
                String::new()
            },
        })
        .collect()
}

async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<NoticeQuery>,
) -> Result<Response, AppError> {
    let rows = load_rows(&state, &viewer, None).await?;
    let plans = auditing::plans(&state.db, mamori_core::org::OrgId(viewer.person.org_id)).await?;
    let today = today_jst();
    page(&ListPage {
        layout: Layout::new(&viewer, "情報セキュリティ監査", "/audits").with_notice(q.notice()),
        plans: plan_rows(&viewer, &plans),
        engagements: eng_rows(&viewer, &rows),
        can_plan: may::<can::PlanAudits>(&viewer),
        cisos: ciso_choices(&viewer),
        this_year: mamori_core::calendar::FiscalYear::of(today).year(),
        today: mamori_core::calendar::format_iso(today),
    })
}

/// `?saved=1` after a change.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NoticeQuery {
    saved: String,
}

impl NoticeQuery {
    fn notice(&self) -> Option<String> {
        (!self.saved.is_empty()).then(|| "保存しました。".to_owned())
    }
}

/// The plan form.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct PlanForm {
    /// `midterm`, `annual` or `special` (or 中期・年度・特別).
    pub kind: String,
    /// Title.
    pub title: String,
    /// First 年度 (令和8年度, R8, 2026).
    pub fiscal_year: String,
    /// Last 年度 (mid-term plans).
    pub last_year: String,
    /// Purpose.
    pub purpose: String,
    /// Special audit: the CISO's person id.
    pub ordered_by: String,
    /// Special audit: the day of the order.
    pub ordered_on: String,
    /// Special audit: what was ordered.
    pub order_note: String,
}

/// Reads the plan form.
pub fn plan_input(form: &PlanForm) -> Result<PlanInput, AppError> {
    let kind = PlanKind::parse(&form.kind).ok_or_else(|| {
        AppError::Unprocessable(format!(
            "計画の種類「{}」は選べません（中期・年度・特別）",
            form.kind
        ))
    })?;
    let year = |s: &str, what: &str| -> Result<i64, AppError> {
        mamori_core::calendar::FiscalYear::parse(s.trim())
            .map(|y| i64::from(y.year()))
            .map_err(|e| AppError::Unprocessable(format!("{what}：{e}")))
    };
    let fiscal_year = year(&form.fiscal_year, "年度")?;
    let last_year = if form.last_year.trim().is_empty() {
        fiscal_year
    } else {
        year(&form.last_year, "最終年度")?
    };
    let ordered_by =
        if form.ordered_by.trim().is_empty() {
            None
        } else {
            Some(form.ordered_by.trim().parse().map_err(|_| {
                AppError::Unprocessable("指示したCISOの指定が正しくありません".into())
            })?)
        };
    Ok(PlanInput {
        kind,
        title: form.title.clone(),
        fiscal_year,
        last_year,
        purpose: form.purpose.clone(),
        ordered_by,
        ordered_on: opt_date(&form.ordered_on, "指示を受けた日")?,
        order_note: form.order_note.clone(),
    })
}

async fn create_plan(
    State(state): State<AppState>,
    viewer: Viewer,
    CsrfForm(form): CsrfForm<PlanForm>,
) -> Result<Response, AppError> {
    let cap = viewer.can::<can::PlanAudits>(&state).await?;
    let input = plan_input(&form)?;
    let id = write(&state, &viewer, async |tx: &mut AnyConnection| {
        auditing::create_plan(
            tx,
            &cap,
            &viewer.audit_ctx(),
            &viewer.tree,
            &input,
            today_jst(),
        )
        .await
    })
    .await?;
    Ok(Redirect::to(&format!("/audits/plans/{id}?saved=1")).into_response())
}

// ------------------------------------------------------------------ plan

#[derive(Template)]
#[template(path = "auditing_plan.html")]
struct PlanPage {
    layout: Layout,
    plan: PlanRow,
    purpose: String,
    starts: String,
    ends: String,
    engagements: Vec<EngRow>,
    can_plan: bool,
    units: Vec<(i64, String)>,
    auditors: Vec<(i64, String)>,
}

async fn plan_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Query(q): Query<NoticeQuery>,
) -> Result<Response, AppError> {
    let rows = load_rows(&state, &viewer, Some(id)).await?;
    let plan = auditing::plan(&state.db, mamori_core::org::OrgId(viewer.person.org_id), id).await?;
    let row = plan_rows(&viewer, std::slice::from_ref(&plan))
        .into_iter()
        .next()
        .ok_or(AppError::NotFound)?;
    page(&PlanPage {
        layout: Layout::new(&viewer, format!("監査計画 {}", plan.title), "/audits")
            .with_notice(q.notice()),
        plan: row,
        purpose: plan.purpose.clone(),
        starts: mamori_core::calendar::format_iso(plan.starts()),
        ends: mamori_core::calendar::format_iso(plan.ends()),
        engagements: eng_rows(&viewer, &rows),
        can_plan: may::<can::PlanAudits>(&viewer),
        units: unit_choices(&viewer),
        auditors: auditor_choices(&viewer),
    })
}

/// Reads an engagement form given as its raw pairs (units and auditors are repeated check
/// boxes; systems and criteria are typed lists).
pub fn engagement_input(pairs: &[(String, String)]) -> Result<EngagementInput, AppError> {
    let one = |k: &str| {
        pairs
            .iter()
            .rev()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    };
    let ids = |k: &str, what: &str| -> Result<Vec<i64>, AppError> {
        pairs
            .iter()
            .filter(|(key, _)| key == k)
            .map(|(_, v)| {
                v.trim().parse().map_err(|_| {
                    AppError::Unprocessable(format!("{what}の指定「{v}」が正しくありません"))
                })
            })
            .collect()
    };
    Ok(EngagementInput {
        title: one("title").to_owned(),
        starts_on: opt_date(one("starts_on"), "開始日")?,
        ends_on: opt_date(one("ends_on"), "終了日")?,
        units: ids("unit", "監査対象の組織")?,
        systems: auditing::split_list(one("systems")),
        criteria: auditing::split_list(one("criteria")),
        auditors: ids("auditor", "監査人")?,
        note: one("note").to_owned(),
    })
}

async fn create_engagement(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(plan): Path<i64>,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let cap = viewer.can::<can::PlanAudits>(&state).await?;
    let input = engagement_input(&pairs)?;
    let id = write(&state, &viewer, async |tx: &mut AnyConnection| {
        auditing::create_engagement(
            tx,
            &cap,
            &viewer.audit_ctx(),
            &viewer.tree,
            plan,
            &input,
            today_jst(),
        )
        .await
    })
    .await?;
    Ok(Redirect::to(&format!("/audits/engagements/{id}?saved=1")).into_response())
}

async fn update_engagement(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let cap = viewer.can::<can::PlanAudits>(&state).await?;
    let input = engagement_input(&pairs)?;
    write(&state, &viewer, async |tx: &mut AnyConnection| {
        auditing::update_engagement(
            tx,
            &cap,
            &viewer.audit_ctx(),
            &viewer.tree,
            id,
            &input,
            today_jst(),
        )
        .await
    })
    .await?;
    Ok(Redirect::to(&format!("/audits/engagements/{id}?saved=1")).into_response())
}

// ------------------------------------------------------------------ engagement

struct ItemRow {
    id: i64,
    no: usize,
    clause: String,
    question: String,
    examined: String,
    result: String,
    result_label: &'static str,
    notes: String,
    recorded: String,
}

struct UpdateRow {
    status: &'static str,
    who: String,
    note: String,
    at: String,
}

struct FindingRow {
    id: i64,
    no: usize,
    severity: &'static str,
    severity_code: &'static str,
    clause: String,
    unit: String,
    description: String,
    evidence: String,
    files: Vec<(i64, String, i64, String)>,
    closed: bool,
    action: Option<ActionRow>,
    can_plan_action: bool,
    /// Who may own its corrective action: (person id, label, currently the owner).
    owners: Vec<(i64, String, bool)>,
}

struct ActionRow {
    id: i64,
    owner: String,
    planned_on: String,
    due_on: String,
    due_iso: String,
    overdue: bool,
    plan: String,
    status: &'static str,
    status_code: &'static str,
    confirmed: String,
    updates: Vec<UpdateRow>,
    can_update: bool,
    can_follow_up: bool,
}

/// The engagement prepared for the page and the report.
struct Prepared {
    title: String,
    plan_id: i64,
    plan_title: String,
    plan_kind: &'static str,
    plan_period: String,
    status: &'static str,
    next: Option<(&'static str, &'static str)>,
    period: String,
    starts_iso: String,
    ends_iso: String,
    note: String,
    units: Vec<String>,
    systems: Vec<String>,
    systems_text: String,
    criteria: Vec<String>,
    criteria_text: String,
    auditors: Vec<String>,
    items: Vec<ItemRow>,
    findings: Vec<FindingRow>,
    hidden_findings: usize,
    counts: Vec<(&'static str, usize, usize)>,
    total_findings: usize,
    open_findings: usize,
}

fn prepare(viewer: &Viewer, v: &EngagementView) -> Prepared {
    let e = &v.engagement;
    let today = today_jst();
    let me = viewer.person.id;
    let assigned = v.assigned(me);
    let conducts = may::<can::ConductAudits>(viewer) && assigned;
    let corrective = viewer.actor.can::<can::EditCorrectiveActions>().ok();
    let covers = |unit: i64| {
        corrective
            .as_ref()
            .is_some_and(|c| c.covers(&viewer.tree.path(unit)))
    };
    let status = e.status();
    let items = v
        .items
        .iter()
        .enumerate()
        .map(|(i, it)| ItemRow {
            id: it.id,
            no: i + 1,
            clause: clause_label(&it.clause),
            question: it.question.clone(),
            examined: it.examined.clone(),
            result: it.result.clone(),
            result_label: it.result_label(),
            notes: it.notes.clone(),
            recorded: match &it.recorded_at {
                Some(at) => format!("{}（{}）", v.name(it.recorded_by), datetime_ja(at)),
                None => String::new(),
            },
        })
        .collect();
    let findings = v
        .findings
        .iter()
        .map(|fv| {
            let f = &fv.finding;
            let action = fv.action.as_ref().map(|a| {
                let due = parse_date(&a.due_on).ok();
                ActionRow {
                    id: a.id,
                    owner: v.name(Some(a.owner_id)),
                    planned_on: date_ja(&a.planned_on),
                    due_on: date_ja(&a.due_on),
                    due_iso: a.due_on.clone(),
                    overdue: a.status() != ActionStatus::Confirmed
                        && a.status() != ActionStatus::Reported
                        && due.is_some_and(|d| d < today),
                    plan: a.plan.clone(),
                    status: a.status().label_ja(),
                    status_code: a.status().code(),
                    confirmed: match (&a.confirmed_on, a.confirmed_by) {
                        (Some(on), Some(by)) => format!("{}（{}）", v.name(Some(by)), date_ja(on)),
                        _ => String::new(),
                    },
                    updates: fv
                        .updates
                        .iter()
                        .map(|u| UpdateRow {
                            status: ActionStatus::parse(&u.status)
                                .map_or("", ActionStatus::label_ja),
                            who: v.name(u.person_id),
                            note: u.note.clone(),
                            at: datetime_ja(&u.created_at),
                        })
                        .collect(),
                    can_update: covers(f.unit_id)
                        && a.status() != ActionStatus::Confirmed
                        && status != EngagementStatus::Closed,
                    can_follow_up: conducts
                        && a.status() == ActionStatus::Reported
                        && a.owner_id != me
                        && a.reported_by != Some(me),
                }
            });
            let owner_now = fv.action.as_ref().map(|a| a.owner_id);
            let owners = owner_choices(viewer, f.unit_id)
                .into_iter()
                .map(|(id, label)| (id, label, owner_now == Some(id)))
                .collect();
            FindingRow {
                owners,
                id: f.id,
                no: fv.no,
                severity: f.severity().label_ja(),
                severity_code: f.severity().code(),
                clause: clause_label(&f.clause),
                unit: viewer.tree.full_name(f.unit_id),
                description: f.description.clone(),
                evidence: f.evidence.clone(),
                files: fv
                    .evidence
                    .iter()
                    .map(|e| (e.id, e.file_name.clone(), e.size, e.sha256.clone()))
                    .collect(),
                closed: fv.closed,
                can_plan_action: covers(f.unit_id)
                    && status != EngagementStatus::Closed
                    && fv
                        .action
                        .as_ref()
                        .is_none_or(|a| a.status() != ActionStatus::Confirmed),
                action,
            }
        })
        .collect::<Vec<FindingRow>>();
    let counts = v
        .counts()
        .into_iter()
        .map(|(s, n, open)| (s.label_ja(), n, open))
        .collect();
    let open_findings = findings.iter().filter(|f| !f.closed).count();
    Prepared {
        title: e.title.clone(),
        plan_id: v.plan.id,
        plan_title: v.plan.title.clone(),
        plan_kind: v.plan.kind().label_ja(),
        plan_period: v.plan.period_label(),
        status: status.label_ja(),
        next: status.next().map(|n| (n.code(), n.label_ja())),
        period: format!("{} 〜 {}", date_ja(&e.starts_on), date_ja(&e.ends_on)),
        starts_iso: e.starts_on.clone(),
        ends_iso: e.ends_on.clone(),
        note: e.note.clone(),
        units: v.units.iter().map(|u| viewer.tree.full_name(*u)).collect(),
        systems: v
            .systems
            .iter()
            .map(|s| {
                format!(
                    "{} {}（{}）",
                    s.asset_no,
                    s.name,
                    viewer.tree.full_name(s.unit_id)
                )
            })
            .collect(),
        systems_text: v
            .systems
            .iter()
            .map(|s| s.asset_no.clone())
            .collect::<Vec<_>>()
            .join("\n"),
        criteria: v.criteria.iter().map(|c| clause_label(c)).collect(),
        criteria_text: v.criteria.join(", "),
        auditors: v.auditors.iter().map(|(_, n)| n.clone()).collect(),
        items,
        total_findings: findings.len(),
        open_findings,
        findings,
        hidden_findings: v.hidden_findings,
        counts,
    }
}

#[derive(Template)]
#[template(path = "auditing_engagement.html")]
struct EngagementPage {
    layout: Layout,
    id: i64,
    e: Prepared,
    can_plan: bool,
    can_record: bool,
    editable: bool,
    assigned: bool,
    units: Vec<(i64, String, bool)>,
    auditor_choices: Vec<(i64, String, bool)>,
    results: Vec<(&'static str, &'static str)>,
    severities: Vec<(&'static str, &'static str)>,
    statuses: Vec<(&'static str, &'static str)>,
    scope_units: Vec<(i64, String)>,
    today: String,
}

async fn engagement_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Query(q): Query<NoticeQuery>,
) -> Result<Response, AppError> {
    let v = load_view(&state, &viewer, id).await?;
    let e = prepare(&viewer, &v);
    let status = v.engagement.status();
    // Units a finding may name: those in scope and below them.
    let scope_units = viewer
        .tree
        .units()
        .iter()
        .filter(|u| {
            let path = viewer.tree.path(u.id);
            v.units
                .iter()
                .any(|s| path.contains(&mamori_core::org::UnitId(*s)))
        })
        .map(|u| (u.id, viewer.tree.full_name(u.id)))
        .collect();
    page(&EngagementPage {
        layout: Layout::new(&viewer, format!("監査 {}", v.engagement.title), "/audits")
            .with_notice(q.notice()),
        id,
        can_plan: may::<can::PlanAudits>(&viewer),
        can_record: may::<can::ConductAudits>(&viewer)
            && v.assigned(viewer.person.id)
            && status.recording(),
        editable: status.editable(),
        assigned: v.assigned(viewer.person.id),
        units: unit_choices(&viewer)
            .into_iter()
            .map(|(id, name)| (id, name, v.units.contains(&id)))
            .collect(),
        auditor_choices: auditor_choices(&viewer)
            .into_iter()
            .map(|(id, name)| (id, name, v.assigned(id)))
            .collect(),
        results: ItemResult::ALL
            .iter()
            .map(|r| (r.code(), r.label_ja()))
            .collect(),
        severities: Severity::ALL
            .iter()
            .map(|s| (s.code(), s.label_ja()))
            .collect(),
        statuses: ActionStatus::ALL
            .iter()
            .filter(|s| s.owner_may_set())
            .map(|s| (s.code(), s.label_ja()))
            .collect(),
        scope_units,
        today: mamori_core::calendar::format_iso(today_jst()),
        e,
    })
}

/// The status form.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct StatusForm {
    /// The next status (`planning`, `fieldwork`, `reporting`, `follow_up`, `closed`).
    pub status: String,
}

/// Reads a status.
pub fn status_of(text: &str) -> Result<EngagementStatus, AppError> {
    EngagementStatus::parse(text)
        .ok_or_else(|| AppError::Unprocessable(format!("監査の段階「{text}」はありません")))
}

async fn advance(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    CsrfForm(form): CsrfForm<StatusForm>,
) -> Result<Response, AppError> {
    let cap = viewer.can::<can::PlanAudits>(&state).await?;
    let to = status_of(&form.status)?;
    write(&state, &viewer, async |tx: &mut AnyConnection| {
        auditing::advance(tx, &cap, &viewer.audit_ctx(), id, to).await
    })
    .await?;
    Ok(Redirect::to(&format!("/audits/engagements/{id}?saved=1")).into_response())
}

/// A checklist item to add.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct NewItemForm {
    /// Guideline clause number.
    pub clause: String,
    /// What to check.
    pub question: String,
}

async fn add_item(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    CsrfForm(form): CsrfForm<NewItemForm>,
) -> Result<Response, AppError> {
    let cap = viewer.can::<can::ConductAudits>(&state).await?;
    write(&state, &viewer, async |tx: &mut AnyConnection| {
        auditing::add_item(
            tx,
            &cap,
            &viewer.audit_ctx(),
            id,
            &form.clause,
            &form.question,
        )
        .await
    })
    .await?;
    Ok(Redirect::to(&format!("/audits/engagements/{id}?saved=1#checklist")).into_response())
}

/// A fieldwork record.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct ItemForm {
    /// A reworded question (empty: unchanged).
    pub question: String,
    /// What was examined.
    pub examined: String,
    /// `conform`, `nonconform`, `observation` (or 適合・不適合・観察).
    pub result: String,
    /// Notes.
    pub notes: String,
}

/// Reads a fieldwork record.
pub fn item_input(form: &ItemForm) -> Result<ItemInput, AppError> {
    let result = ItemResult::parse(&form.result).ok_or_else(|| {
        AppError::Unprocessable("結果を選んでください（適合・不適合・観察）".into())
    })?;
    Ok(ItemInput {
        question: (!form.question.trim().is_empty()).then(|| form.question.clone()),
        examined: form.examined.clone(),
        result,
        notes: form.notes.clone(),
    })
}

async fn record_item(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((id, item)): Path<(i64, i64)>,
    CsrfForm(form): CsrfForm<ItemForm>,
) -> Result<Response, AppError> {
    let cap = viewer.can::<can::ConductAudits>(&state).await?;
    let input = item_input(&form)?;
    write(&state, &viewer, async |tx: &mut AnyConnection| {
        auditing::record_item(tx, &cap, &viewer.audit_ctx(), id, item, &input).await
    })
    .await?;
    Ok(Redirect::to(&format!("/audits/engagements/{id}?saved=1#item-{item}")).into_response())
}

/// Reads the finding fields shared by the page and the API.
pub fn finding_input(
    severity: &str,
    clause: &str,
    unit_id: &str,
    description: &str,
    evidence: &str,
    item_id: &str,
    file: Option<(String, Vec<u8>)>,
) -> Result<FindingInput, AppError> {
    let severity = Severity::parse(severity).ok_or_else(|| {
        AppError::Unprocessable("重要度を選んでください（重大・中・軽微・観察）".into())
    })?;
    let unit_id = unit_id
        .trim()
        .parse()
        .map_err(|_| AppError::Unprocessable("指摘の対象組織を選んでください".into()))?;
    let item_id =
        if item_id.trim().is_empty() {
            None
        } else {
            Some(item_id.trim().parse().map_err(|_| {
                AppError::Unprocessable("チェック項目の指定が正しくありません".into())
            })?)
        };
    Ok(FindingInput {
        severity,
        clause: clause.to_owned(),
        unit_id,
        description: description.to_owned(),
        evidence: evidence.to_owned(),
        item_id,
        file,
    })
}

async fn create_finding(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, AppError> {
    let multipart = multipart.map_err(|_| {
        AppError::bad("ファイルを添付できるフォーム（multipart）で送信してください")
    })?;
    let form = upload::read(multipart, "file").await?;
    upload::check_csrf(&viewer, &form)?;
    let cap = viewer.can::<can::ConductAudits>(&state).await?;
    let input = finding_input(
        form.text("severity"),
        form.text("clause"),
        form.text("unit_id"),
        form.text("description"),
        form.text("evidence"),
        form.text("item_id"),
        form.has_file()
            .then(|| (form.file_name.clone(), form.file.to_vec())),
    )?;
    let fid = write(&state, &viewer, async |tx: &mut AnyConnection| {
        auditing::create_finding(tx, &cap, &viewer.audit_ctx(), &viewer.tree, id, &input).await
    })
    .await?;
    Ok(Redirect::to(&format!("/audits/engagements/{id}?saved=1#finding-{fid}")).into_response())
}

async fn evidence(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((finding, eid)): Path<(i64, i64)>,
) -> Result<Response, AppError> {
    let org = mamori_core::org::OrgId(viewer.person.org_id);
    let unit = auditing::finding_unit(&state.db, org, finding).await?;
    // Readable by whoever sees the finding: audit results or corrective actions over its unit.
    let path = viewer.tree.path(unit);
    let sees = viewer.actor.can_on::<can::ViewAuditResults>(&path).is_ok()
        || viewer
            .actor
            .can_on::<can::EditCorrectiveActions>(&path)
            .is_ok();
    if !sees {
        return Err(AppError::NotFound);
    }
    let (ev, bytes) = auditing::evidence_content(&state.db, org, finding, eid).await?;
    let mut entry =
        viewer
            .audit_ctx()
            .entry("auditing.evidence.download", "auditing_finding", finding);
    entry.unit_id = Some(unit);
    entry.after = Some(serde_json::json!({"evidence_id": ev.id, "sha256": ev.sha256}));
    viewer.record(&state, entry).await?;
    let mut resp = bytes.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    if let Ok(v) = HeaderValue::from_str(&crate::features::inventory::attachment(&ev.file_name)) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}

/// A corrective action plan.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct ActionForm {
    /// Owner (person id).
    pub owner_id: String,
    /// Due date.
    pub due_on: String,
    /// What will be done.
    pub plan: String,
}

/// Reads an action plan.
pub fn action_input(form: &ActionForm) -> Result<ActionInput, AppError> {
    Ok(ActionInput {
        owner_id: form
            .owner_id
            .trim()
            .parse()
            .map_err(|_| AppError::Unprocessable("担当者を選んでください".into()))?,
        due_on: opt_date(&form.due_on, "対応期限")?,
        plan: form.plan.clone(),
    })
}

/// The capability to change corrective actions of a finding's unit (denial recorded).
pub async fn corrective_cap(
    state: &AppState,
    viewer: &Viewer,
    unit: i64,
) -> Result<Capability<can::EditCorrectiveActions>, AppError> {
    viewer
        .can_on::<can::EditCorrectiveActions>(state, unit)
        .await
}

async fn plan_action(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(finding): Path<i64>,
    CsrfForm(form): CsrfForm<ActionForm>,
) -> Result<Response, AppError> {
    let org = mamori_core::org::OrgId(viewer.person.org_id);
    let unit = auditing::finding_unit(&state.db, org, finding).await?;
    let cap = corrective_cap(&state, &viewer, unit).await?;
    let input = action_input(&form)?;
    write(&state, &viewer, async |tx: &mut AnyConnection| {
        auditing::plan_action(
            tx,
            &cap,
            &viewer.audit_ctx(),
            &viewer.tree,
            finding,
            &input,
            today_jst(),
        )
        .await
    })
    .await?;
    let eid = engagement_of_finding(&state, &viewer, finding).await?;
    Ok(Redirect::to(&format!(
        "/audits/engagements/{eid}?saved=1#finding-{finding}"
    ))
    .into_response())
}

async fn engagement_of_finding(
    state: &AppState,
    viewer: &Viewer,
    finding: i64,
) -> Result<i64, AppError> {
    auditing::engagement_of(
        &state.db,
        mamori_core::org::OrgId(viewer.person.org_id),
        finding,
    )
    .await?
    .ok_or(AppError::NotFound)
}

/// A progress update.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct UpdateForm {
    /// `open`, `in_progress` or `reported` (未着手・対応中・完了報告).
    pub status: String,
    /// What was done.
    pub note: String,
}

async fn update_action(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(action): Path<i64>,
    CsrfForm(form): CsrfForm<UpdateForm>,
) -> Result<Response, AppError> {
    let org = mamori_core::org::OrgId(viewer.person.org_id);
    let (finding, unit) = auditing::action_unit(&state.db, org, action).await?;
    let cap = corrective_cap(&state, &viewer, unit).await?;
    let status = ActionStatus::parse(&form.status).ok_or_else(|| {
        AppError::Unprocessable("状態を選んでください（未着手・対応中・完了報告）".into())
    })?;
    write(&state, &viewer, async |tx: &mut AnyConnection| {
        auditing::update_action(
            tx,
            &cap,
            &viewer.audit_ctx(),
            &viewer.tree,
            action,
            status,
            &form.note,
        )
        .await
    })
    .await?;
    let eid = engagement_of_finding(&state, &viewer, finding).await?;
    Ok(Redirect::to(&format!(
        "/audits/engagements/{eid}?saved=1#finding-{finding}"
    ))
    .into_response())
}

/// An auditor's follow-up of an action reported done.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct FollowUpForm {
    /// `confirm` (確認済) or `return` (差戻し: back to 対応中).
    pub decision: String,
    /// What the auditor found.
    pub note: String,
}

/// Reads the decision.
pub fn decision(text: &str) -> Result<bool, AppError> {
    match text.trim() {
        "confirm" | "確認済" => Ok(true),
        "return" | "差戻し" => Ok(false),
        other => Err(AppError::Unprocessable(format!(
            "確認の結果「{other}」は選べません（確認済・差戻し）"
        ))),
    }
}

async fn follow_up(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(action): Path<i64>,
    CsrfForm(form): CsrfForm<FollowUpForm>,
) -> Result<Response, AppError> {
    let cap = viewer.can::<can::ConductAudits>(&state).await?;
    let confirm = decision(&form.decision)?;
    let org = mamori_core::org::OrgId(viewer.person.org_id);
    let (finding, _) = auditing::action_unit(&state.db, org, action).await?;
    write(&state, &viewer, async |tx: &mut AnyConnection| {
        auditing::follow_up(
            tx,
            &cap,
            &viewer.audit_ctx(),
            action,
            confirm,
            &form.note,
            today_jst(),
        )
        .await
    })
    .await?;
    let eid = engagement_of_finding(&state, &viewer, finding).await?;
    Ok(Redirect::to(&format!(
        "/audits/engagements/{eid}?saved=1#finding-{finding}"
    ))
    .into_response())
}

// ------------------------------------------------------------------ report and export

#[derive(Template)]
#[template(path = "auditing_report.html")]
struct ReportPage {
    layout: Layout,
    id: i64,
    e: Prepared,
    printed: String,
}

async fn report(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let v = load_view(&state, &viewer, id).await?;
    let e = prepare(&viewer, &v);
    page(&ReportPage {
        layout: Layout::new(
            &viewer,
            format!("監査報告書 {}", v.engagement.title),
            "/audits",
        ),
        id,
        e,
        printed: date_ja(&mamori_core::calendar::format_iso(today_jst())),
    })
}

/// The engagement as xlsx (checklist, findings, corrective actions), audited.
pub async fn export_response(
    state: &AppState,
    viewer: &Viewer,
    id: i64,
) -> Result<Response, AppError> {
    let ctx = viewer.audit_ctx();
    let result = match reader(state, viewer).await? {
        Reader::Results(c) => auditing::export(&state.db, &c, &ctx, &viewer.tree, id).await,
        Reader::Corrective(c) => auditing::export(&state.db, &c, &ctx, &viewer.tree, id).await,
    };
    let (_, bytes) = result.map_err(|e| match e {
        auditing::ExportError::Db(e) => AppError::from(e),
        auditing::ExportError::Cells(errors) => AppError::Unprocessable(
            errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("／"),
        ),
    })?;
    let mut resp = bytes.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"audit-{id}.xlsx\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}

async fn export(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    export_response(&state, &viewer, id).await
}
