//! 例外措置 (対策基準 2-7): the list (waiting for a decision, in force, expired, closed), the
//! application form (normal and emergency), an application's page with the 情報セキュリティ責任者's
//! endorsement and the CISO's decision.
//!
//! Applying needs [`can::ApplyExceptions`] over the unit applied for; reading needs
//! [`can::ViewExceptions`] over the application's unit; endorsing [`can::EndorseExceptions`]
//! over it; deciding [`can::DecideExceptions`]. Nobody endorses or decides their own
//! application: the refusal is answered 403 and recorded. The JSON API is in [`api`].

pub mod api;

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use mamori_core::calendar::{parse_date, today_jst};
use mamori_core::permission::can;
use mamori_db::exceptions::{self, ApplyInput, Exception, ExceptionError, Status};
use serde::Deserialize;
use time::Date;

use crate::error::ErrorInfo;
use crate::session::{CsrfForm, Viewer};
use crate::views::{Layout, date_ja, datetime_ja, page};
use crate::{AppError, AppState};

/// Routes of this feature.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/exceptions", get(list).post(create))
        .route("/exceptions/new", get(new_form))
        .route("/exceptions/{id}", get(detail))
        .route("/exceptions/{id}/endorse", post(endorse))
        .route("/exceptions/{id}/decide", post(decide))
}

/// Runs a step of the workflow in one transaction. A separation-of-duties refusal is recorded
/// in the audit trail and answered 403 with its reason.
pub async fn step<T>(
    state: &AppState,
    viewer: &Viewer,
    id: Option<i64>,
    change: impl AsyncFnOnce(&mut mamori_db::AnyConnection) -> Result<T, ExceptionError>,
) -> Result<Result<T, Response>, AppError> {
    let mut tx = state.db.begin_write().await?;
    match change(&mut tx).await {
        Ok(v) => {
            tx.commit().await.map_err(mamori_db::DbError::from)?;
            Ok(Ok(v))
        }
        Err(ExceptionError::Refused(message)) => {
            drop(tx);
            let mut entry = viewer.audit_ctx().entry(
                "permission.denied",
                "exception",
                id.map(|i| i.to_string()).unwrap_or_default(),
            );
            entry.after = Some(serde_json::json!({"reason": message}));
            viewer.record(state, entry).await?;
            let mut resp = StatusCode::FORBIDDEN.into_response();
            resp.extensions_mut().insert(ErrorInfo {
                code: "forbidden",
                message,
            });
            Ok(Err(resp))
        }
        Err(ExceptionError::Invalid(m)) => Err(AppError::Unprocessable(m)),
        Err(e @ ExceptionError::Stale) => Err(AppError::Conflict(e.to_string())),
        Err(ExceptionError::Db(e)) => Err(e.into()),
    }
}

/// A date typed in a form (西暦 or 和暦), `None` when blank; a wrong one is a clear error.
pub fn form_date(value: &str, label: &str) -> Result<Option<Date>, AppError> {
    let v = value.trim();
    if v.is_empty() {
        return Ok(None);
    }
    parse_date(v).map(Some).map_err(|_| {
        AppError::Unprocessable(format!(
            "{label}「{v}」は日付として読めません（例: 2026-04-01）"
        ))
    })
}

// ------------------------------------------------------------------ list

/// One row of a list.
pub struct Row {
    id: i64,
    label: String,
    clause_no: String,
    unit: String,
    applicant: String,
    period: String,
    state: &'static str,
    emergency: bool,
}

fn row(viewer: &Viewer, e: &Exception, today: Date) -> Row {
    Row {
        id: e.id,
        label: e.label(),
        clause_no: e.clause_no.clone(),
        unit: viewer.tree.full_name(e.unit_id),
        applicant: e.applicant_name.clone().unwrap_or_default(),
        period: format!("{} 〜 {}", date_ja(&e.valid_from), date_ja(&e.valid_to)),
        state: e.state_label(today),
        emergency: e.emergency != 0,
    }
}

#[derive(Template)]
#[template(path = "exceptions_list.html")]
struct ListPage {
    layout: Layout,
    sections: Vec<(&'static str, &'static str, Vec<Row>)>,
    can_apply: bool,
}

/// The lists: waiting for a decision, in force (or approved and not started), expired, closed.
pub fn split(list: &[Exception], today: Date) -> [Vec<&Exception>; 4] {
    let mut out: [Vec<&Exception>; 4] = Default::default();
    for e in list {
        let slot = if e.expired(today) {
            2
        } else if e.status() == Status::Provisional || e.pending() {
            0
        } else if e.status() == Status::Approved {
            1
        } else {
            3
        };
        if let Some(v) = out.get_mut(slot) {
            v.push(e);
        }
    }
    out
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct NoticeQuery {
    notice: String,
}

impl NoticeQuery {
    fn text(&self) -> Option<String> {
        match self.notice.as_str() {
            "applied" => Some("申請しました。情報セキュリティ責任者の承認を待っています。".into()),
            "emergency" => Some(
                "緊急の例外措置として適用しました。CISO の確認を受けてください（実施後報告）。"
                    .into(),
            ),
            "endorsed" => Some("承認しました。CISO の決定を待っています。".into()),
            "decided" => Some("決定を記録しました。".into()),
            _ => None,
        }
    }
}

async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(notice): Query<NoticeQuery>,
) -> Result<Response, AppError> {
    let cap = viewer.can::<can::ViewExceptions>(&state).await?;
    let all = exceptions::list(&state.db, &cap, &viewer.tree).await?;
    let today = today_jst();
    let [pending, active, expired, closed] = split(&all, today);
    let rows = |v: Vec<&Exception>| v.into_iter().map(|e| row(&viewer, e, today)).collect();
    page(&ListPage {
        layout: Layout::new(&viewer, "例外措置", "/exceptions").with_notice(notice.text()),
        sections: vec![
            ("pending", "決定待ち", rows(pending)),
            ("active", "承認済み（適用中・開始前）", rows(active)),
            ("expired", "期限切れ", rows(expired)),
            ("closed", "却下・取消し", rows(closed)),
        ],
        can_apply: viewer.actor.can::<can::ApplyExceptions>().is_ok(),
    })
}

// ------------------------------------------------------------------ applying

#[derive(Template)]
#[template(path = "exceptions_new.html")]
struct NewPage {
    layout: Layout,
    units: Vec<(i64, String)>,
    own_unit: i64,
    clauses: Vec<(&'static str, &'static str)>,
    today: String,
}

async fn new_form(State(state): State<AppState>, viewer: Viewer) -> Result<Response, AppError> {
    let cap = viewer.can::<can::ApplyExceptions>(&state).await?;
    let units: Vec<(i64, String)> = viewer
        .tree
        .reachable(cap.reach())
        .into_iter()
        .filter(|u| viewer.tree.get(*u).is_some_and(|u| u.active != 0))
        .map(|u| (u, viewer.tree.full_name(u)))
        .collect();
    page(&NewPage {
        layout: Layout::new(&viewer, "例外措置の申請", "/exceptions"),
        own_unit: viewer.person.unit_id,
        units,
        clauses: mamori_core::standards::GUIDELINE
            .iter()
            .filter(|c| c.depth() > 1)
            .map(|c| (c.number, c.title))
            .collect(),
        today: mamori_core::calendar::format_iso(today_jst()),
    })
}

/// An application as a form sends it.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ApplyForm {
    clause_no: String,
    reason: String,
    scope: String,
    asset_no: String,
    compensating: String,
    valid_from: String,
    valid_to: String,
    emergency: String,
    unit_id: String,
}

fn apply_input(viewer: &Viewer, f: &ApplyForm) -> Result<ApplyInput, AppError> {
    let unit_id = if f.unit_id.trim().is_empty() {
        viewer.person.unit_id
    } else {
        f.unit_id
            .trim()
            .parse()
            .map_err(|_| AppError::Unprocessable("申請する組織を選んでください".into()))?
    };
    Ok(ApplyInput {
        clause_no: f.clause_no.clone(),
        reason: f.reason.clone(),
        scope: f.scope.clone(),
        asset_no: f.asset_no.clone(),
        compensating: f.compensating.clone(),
        valid_from: form_date(&f.valid_from, "開始日")?,
        valid_to: form_date(&f.valid_to, "終了日")?,
        emergency: matches!(f.emergency.as_str(), "1" | "on" | "true"),
        unit_id,
    })
}

async fn create(
    State(state): State<AppState>,
    viewer: Viewer,
    CsrfForm(form): CsrfForm<ApplyForm>,
) -> Result<Response, AppError> {
    let input = apply_input(&viewer, &form)?;
    let cap = viewer
        .can_on::<can::ApplyExceptions>(&state, input.unit_id)
        .await?;
    let tree = viewer.tree.clone();
    let id = match step(&state, &viewer, None, async |tx| {
        exceptions::apply(tx, &cap, &viewer.audit_ctx(), &tree, &input, today_jst()).await
    })
    .await?
    {
        Ok(id) => id,
        Err(resp) => return Ok(resp),
    };
    let notice = if input.emergency {
        "emergency"
    } else {
        "applied"
    };
    Ok(Redirect::to(&format!("/exceptions/{id}?notice={notice}")).into_response())
}

// ------------------------------------------------------------------ one application

#[derive(Template)]
#[template(path = "exceptions_detail.html")]
struct DetailPage {
    layout: Layout,
    e: Exception,
    state: &'static str,
    unit: String,
    period: String,
    clause_title: String,
    endorsed_at: String,
    decided_at: String,
    filed_at: String,
    can_endorse: bool,
    can_decide: bool,
    own: bool,
    provisional: bool,
    in_force: bool,
    expiring: bool,
}

async fn detail(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Query(notice): Query<NoticeQuery>,
) -> Result<Response, AppError> {
    let cap = viewer.can::<can::ViewExceptions>(&state).await?;
    let e = exceptions::get(&state.db, &cap, &viewer.tree, id).await?;
    let today = today_jst();
    let own = e.applicant_id == viewer.person.id;
    let path = viewer.tree.path(e.unit_id);
    let can_endorse = e.status() == Status::Applied
        && viewer.actor.can_on::<can::EndorseExceptions>(&path).is_ok();
    let can_decide = matches!(e.status(), Status::Endorsed | Status::Provisional)
        && viewer.actor.can::<can::DecideExceptions>().is_ok();
    let clause_title = mamori_core::standards::clause(&e.clause_no)
        .map(|c| c.title.to_owned())
        .unwrap_or_default();
    page(&DetailPage {
        layout: Layout::new(&viewer, format!("例外措置 {}", e.label()), "/exceptions")
            .with_notice(notice.text()),
        state: e.state_label(today),
        unit: viewer.tree.full_name(e.unit_id),
        period: format!("{} 〜 {}", date_ja(&e.valid_from), date_ja(&e.valid_to)),
        clause_title,
        endorsed_at: e
            .endorsed_at
            .as_deref()
            .map(datetime_ja)
            .unwrap_or_default(),
        decided_at: e.decided_at.as_deref().map(datetime_ja).unwrap_or_default(),
        filed_at: datetime_ja(&e.created_at),
        can_endorse,
        can_decide,
        own,
        provisional: e.status() == Status::Provisional,
        in_force: e.in_force(today),
        expiring: e.expiring(today),
        e,
    })
}

/// A decision as a form sends it.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DecisionForm {
    /// `approve` or `reject`.
    pub decision: String,
    /// 条件 (CISO).
    pub conditions: String,
    /// 所見.
    pub comment: String,
}

/// Reads `decision`.
pub fn approve_of(decision: &str) -> Result<bool, AppError> {
    match decision.trim() {
        "approve" | "confirm" => Ok(true),
        "reject" | "revoke" => Ok(false),
        _ => Err(AppError::Unprocessable(
            "承認（approve）か却下（reject）かを選んでください".into(),
        )),
    }
}

async fn endorse(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    CsrfForm(form): CsrfForm<DecisionForm>,
) -> Result<Response, AppError> {
    let view = viewer.can::<can::ViewExceptions>(&state).await?;
    let e = exceptions::get(&state.db, &view, &viewer.tree, id).await?;
    let approve = approve_of(&form.decision)?;
    let cap = viewer
        .can_on::<can::EndorseExceptions>(&state, e.unit_id)
        .await?;
    let tree = viewer.tree.clone();
    if let Err(resp) = step(&state, &viewer, Some(id), async |tx| {
        exceptions::endorse(
            tx,
            &cap,
            &viewer.audit_ctx(),
            &tree,
            id,
            approve,
            &form.comment,
        )
        .await
    })
    .await?
    {
        return Ok(resp);
    }
    let notice = if approve { "endorsed" } else { "decided" };
    Ok(Redirect::to(&format!("/exceptions/{id}?notice={notice}")).into_response())
}

async fn decide(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    CsrfForm(form): CsrfForm<DecisionForm>,
) -> Result<Response, AppError> {
    let view = viewer.can::<can::ViewExceptions>(&state).await?;
    exceptions::get(&state.db, &view, &viewer.tree, id).await?;
    let approve = approve_of(&form.decision)?;
    let cap = viewer.can::<can::DecideExceptions>(&state).await?;
    if let Err(resp) = step(&state, &viewer, Some(id), async |tx| {
        exceptions::decide(
            tx,
            &cap,
            &viewer.audit_ctx(),
            id,
            approve,
            &form.conditions,
            &form.comment,
            today_jst(),
        )
        .await
    })
    .await?
    {
        return Ok(resp);
    }
    Ok(Redirect::to(&format!("/exceptions/{id}?notice=decided")).into_response())
}
