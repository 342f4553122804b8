//! Exceptions (例外措置) in the JSON API (`/api/v1/exceptions`): list, apply, read, endorse,
//! decide.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use mamori_core::calendar::today_jst;
use mamori_core::permission::can;
use mamori_db::exceptions::{self, ApplyInput, Exception};
use serde::Deserialize;
use serde_json::{Value, json};
use time::Date;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{approve_of, form_date, split, step};
use crate::features::api::ApiJson;
use crate::session::Viewer;
use crate::{AppError, AppState};

/// The exceptions API routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_exceptions, apply_exception))
        .routes(routes!(get_exception))
        .routes(routes!(endorse_exception))
        .routes(routes!(decide_exception))
}

/// An exception as the API shows it.
pub fn exception_json(e: &Exception, viewer: &Viewer, today: Date) -> Value {
    json!({
        "id": e.id, "ref_no": e.ref_no, "clause_no": e.clause_no, "reason": e.reason,
        "scope": e.scope, "asset_id": e.asset_id, "asset_no": e.asset_no,
        "compensating": e.compensating, "valid_from": e.valid_from, "valid_to": e.valid_to,
        "unit_id": e.unit_id, "unit_code": viewer.tree.get(e.unit_id).map(|u| u.code.clone()),
        "unit_name": viewer.tree.full_name(e.unit_id), "applicant_id": e.applicant_id,
        "applicant_name": e.applicant_name, "emergency": e.emergency != 0, "status": e.status,
        "state": e.state_label(today), "in_force": e.in_force(today), "expired": e.expired(today),
        "expiring": e.expiring(today), "endorsed_by": e.endorsed_by,
        "endorser_name": e.endorser_name, "endorsed_at": e.endorsed_at,
        "endorse_comment": e.endorse_comment, "decided_by": e.decided_by,
        "decider_name": e.decider_name, "decided_at": e.decided_at, "conditions": e.conditions,
        "decision_comment": e.decision_comment, "created_at": e.created_at,
    })
}

/// Which list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ListQuery {
    /// `pending` (waiting for a decision), `active` (approved), `expired`, `closed`; all when
    /// absent.
    pub state: Option<String>,
}

/// Exceptions within the caller's reach, newest first.
#[utoipa::path(get, path = "/api/v1/exceptions", tag = "exceptions", params(ListQuery), responses((status = 200, description = "例外措置の一覧"), (status = 403, description = "権限がない")))]
async fn list_exceptions(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<ListQuery>,
) -> Result<Json<Value>, AppError> {
    let cap = viewer.can::<can::ViewExceptions>(&state).await?;
    let all = exceptions::list(&state.db, &cap, &viewer.tree).await?;
    let today = today_jst();
    let [pending, active, expired, closed] = split(&all, today);
    let chosen: Vec<&Exception> = match q.state.as_deref().unwrap_or("") {
        "" => all.iter().collect(),
        "pending" => pending,
        "active" => active,
        "expired" => expired,
        "closed" => closed,
        other => {
            return Err(AppError::Unprocessable(format!(
                "state「{other}」は pending・active・expired・closed のいずれかです"
            )));
        }
    };
    let items: Vec<Value> = chosen
        .into_iter()
        .map(|e| exception_json(e, &viewer, today))
        .collect();
    Ok(Json(json!({"items": items})))
}

/// An application.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplyBody {
    /// 対策基準の条項（ガイドライン番号、例 `2-4-1`、または団体の条番号）.
    pub clause_no: String,
    /// 理由.
    pub reason: String,
    /// 範囲（組織・システム・資産）.
    #[serde(default)]
    pub scope: String,
    /// 対象の情報資産の資産番号.
    #[serde(default)]
    pub asset_no: String,
    /// 代替措置.
    #[serde(default)]
    pub compensating: String,
    /// 開始日 (YYYY-MM-DD).
    pub valid_from: String,
    /// 終了日 (YYYY-MM-DD).
    pub valid_to: String,
    /// 緊急時（実施後報告）.
    #[serde(default)]
    pub emergency: bool,
    /// 申請する組織の組織コード（省略時は本人の所属）.
    #[serde(default)]
    pub unit: Option<String>,
}

/// Files an application (the emergency path puts it in force at once, for the CISO to review).
#[utoipa::path(post, path = "/api/v1/exceptions", tag = "exceptions", request_body = ApplyBody, responses((status = 201, description = "申請した"), (status = 403, description = "権限がない"), (status = 422, description = "入力の誤り")))]
async fn apply_exception(
    State(state): State<AppState>,
    viewer: Viewer,
    ApiJson(body): ApiJson<ApplyBody>,
) -> Result<Response, AppError> {
    let unit_id =
        match body.unit.as_deref().map(str::trim) {
            None | Some("") => viewer.person.unit_id,
            Some(code) => viewer.tree.by_code(code).map(|u| u.id).ok_or_else(|| {
                AppError::Unprocessable(format!("組織「{code}」が見つかりません"))
            })?,
        };
    let input = ApplyInput {
        clause_no: body.clause_no,
        reason: body.reason,
        scope: body.scope,
        asset_no: body.asset_no,
        compensating: body.compensating,
        valid_from: form_date(&body.valid_from, "開始日")?,
        valid_to: form_date(&body.valid_to, "終了日")?,
        emergency: body.emergency,
        unit_id,
    };
    let cap = viewer
        .can_on::<can::ApplyExceptions>(&state, unit_id)
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
    let view = viewer.can::<can::ViewExceptions>(&state).await?;
    let e = exceptions::get(&state.db, &view, &viewer.tree, id).await?;
    Ok((
        StatusCode::CREATED,
        Json(exception_json(&e, &viewer, today_jst())),
    )
        .into_response())
}

/// One exception.
#[utoipa::path(get, path = "/api/v1/exceptions/{id}", tag = "exceptions", params(("id" = i64, Path, description = "例外措置のID")), responses((status = 200, description = "例外措置"), (status = 404, description = "見つからない")))]
async fn get_exception(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
) -> Result<Json<Value>, AppError> {
    let cap = viewer.can::<can::ViewExceptions>(&state).await?;
    let e = exceptions::get(&state.db, &cap, &viewer.tree, id).await?;
    Ok(Json(exception_json(&e, &viewer, today_jst())))
}

/// A decision.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionBody {
    /// `approve` (confirm) or `reject` (revoke).
    pub decision: String,
    /// 条件（CISO の承認に付ける）.
    #[serde(default)]
    pub conditions: String,
    /// 所見（却下・取消しでは必須）.
    #[serde(default)]
    pub comment: String,
}

/// The 情報セキュリティ責任者's endorsement (or rejection) of an application from their body.
#[utoipa::path(post, path = "/api/v1/exceptions/{id}/endorse", tag = "exceptions", params(("id" = i64, Path, description = "例外措置のID")), request_body = DecisionBody, responses((status = 200, description = "記録した"), (status = 403, description = "権限がない、または本人の申請"), (status = 404, description = "見つからない"), (status = 422, description = "入力の誤り")))]
async fn endorse_exception(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<DecisionBody>,
) -> Result<Response, AppError> {
    let view = viewer.can::<can::ViewExceptions>(&state).await?;
    let e = exceptions::get(&state.db, &view, &viewer.tree, id).await?;
    let approve = approve_of(&body.decision)?;
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
            &body.comment,
        )
        .await
    })
    .await?
    {
        return Ok(resp);
    }
    let e = exceptions::get(&state.db, &view, &viewer.tree, id).await?;
    Ok(Json(exception_json(&e, &viewer, today_jst())).into_response())
}

/// The CISO's decision: approve with conditions or reject; for an emergency exception, confirm
/// or revoke. An approval gives the reference number (例外-2026-003).
#[utoipa::path(post, path = "/api/v1/exceptions/{id}/decide", tag = "exceptions", params(("id" = i64, Path, description = "例外措置のID")), request_body = DecisionBody, responses((status = 200, description = "記録した"), (status = 403, description = "権限がない、または本人の申請"), (status = 404, description = "見つからない"), (status = 422, description = "入力の誤り")))]
async fn decide_exception(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<DecisionBody>,
) -> Result<Response, AppError> {
    let view = viewer.can::<can::ViewExceptions>(&state).await?;
    exceptions::get(&state.db, &view, &viewer.tree, id).await?;
    let approve = approve_of(&body.decision)?;
    let cap = viewer.can::<can::DecideExceptions>(&state).await?;
    if let Err(resp) = step(&state, &viewer, Some(id), async |tx| {
        exceptions::decide(
            tx,
            &cap,
            &viewer.audit_ctx(),
            id,
            approve,
            &body.conditions,
            &body.comment,
            today_jst(),
        )
        .await
    })
    .await?
    {
        return Ok(resp);
    }
    let e = exceptions::get(&state.db, &view, &viewer.tree, id).await?;
    Ok(Json(exception_json(&e, &viewer, today_jst())).into_response())
}
