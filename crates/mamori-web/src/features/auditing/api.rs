//! 情報セキュリティ監査 in the JSON API (`/api/v1/audits/…`): plans, engagements (scope,
//! criteria, auditors, status), fieldwork, findings, corrective actions and follow-up, and the
//! xlsx export. The same checks as the pages: planning needs 監査の計画, fieldwork an assigned
//! 監査人, corrective actions the unit's 改善措置の更新; every change is in the audit trail.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use mamori_core::auditing::ActionStatus;
use mamori_core::calendar::today_jst;
use mamori_core::org::OrgId;
use mamori_core::permission::can;
use mamori_db::AnyConnection;
use mamori_db::auditing::{self, EngagementInput, EngagementView};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{
    ActionForm, FollowUpForm, ItemForm, NewItemForm, PlanForm, StatusForm, UpdateForm,
    action_input, corrective_cap, decision, finding_input, item_input, load_rows, load_view,
    opt_date, plan_input, reader, status_of, write,
};
use crate::features::api::ApiJson;
use crate::session::Viewer;
use crate::{AppError, AppState};

/// The API routes with their OpenAPI description.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_plans, create_plan))
        .routes(routes!(get_plan))
        .routes(routes!(list_engagements, create_engagement))
        .routes(routes!(get_engagement, update_engagement))
        .routes(routes!(set_status))
        .routes(routes!(add_item))
        .routes(routes!(record_item))
        .routes(routes!(create_finding))
        .routes(routes!(plan_action))
        .routes(routes!(update_action))
        .routes(routes!(follow_up))
        .routes(routes!(export_engagement))
}

fn plan_json(p: &auditing::Plan) -> Value {
    json!({
        "id": p.id,
        "kind": p.kind,
        "kind_label": p.kind().label_ja(),
        "title": p.title,
        "fiscal_year": p.fiscal_year,
        "last_year": p.last_year,
        "period": p.period_label(),
        "purpose": p.purpose,
        "ordered_by": p.ordered_by,
        "ordered_on": p.ordered_on,
        "order_note": p.order_note,
        "created_at": p.created_at,
    })
}

/// An engagement as the API shows it: stored codes plus labels, counts by severity.
pub fn engagement_json(v: &EngagementView, viewer: &Viewer) -> Result<Value, AppError> {
    let mut out = serde_json::to_value(v)?;
    let units: Vec<String> = v.units.iter().map(|u| viewer.tree.full_name(*u)).collect();
    let counts: Vec<Value> = v
        .counts()
        .into_iter()
        .map(|(s, n, open)| json!({"severity": s.code(), "label": s.label_ja(), "total": n, "open": open}))
        .collect();
    if let Some(o) = out.as_object_mut() {
        o.insert(
            "status_label".into(),
            json!(v.engagement.status().label_ja()),
        );
        o.insert("unit_names".into(), json!(units));
        o.insert("counts".into(), json!(counts));
    }
    Ok(out)
}

/// Audit plans (中期・年度・特別).
#[utoipa::path(get, path = "/api/v1/audits/plans", tag = "auditing",
    responses((status = 200, description = "監査計画の一覧（`items`）"), (status = 403, description = "権限がない")))]
pub(crate) async fn list_plans(
    State(state): State<AppState>,
    viewer: Viewer,
) -> Result<Json<Value>, AppError> {
    reader(&state, &viewer).await?;
    let plans = auditing::plans(&state.db, OrgId(viewer.person.org_id)).await?;
    Ok(Json(
        json!({"items": plans.iter().map(plan_json).collect::<Vec<_>>()}),
    ))
}

/// A new plan.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub(crate) struct PlanBody {
    /// `midterm`, `annual` or `special`.
    kind: String,
    /// Title.
    title: String,
    /// First 年度 (2026, or 令和8年度).
    fiscal_year: Value,
    /// Last 年度 (mid-term plans).
    #[serde(default)]
    last_year: Option<Value>,
    /// Purpose.
    #[serde(default)]
    purpose: String,
    /// Special audit: the ordering CISO (person id).
    #[serde(default)]
    ordered_by: Option<i64>,
    /// Special audit: the day of the order.
    #[serde(default)]
    ordered_on: Option<String>,
    /// Special audit: what was ordered.
    #[serde(default)]
    order_note: String,
}

fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Creates an audit plan (CISO, 統括, 監査人). A special audit records the CISO's order.
#[utoipa::path(post, path = "/api/v1/audits/plans", tag = "auditing", request_body = PlanBody,
    responses((status = 201, description = "作成した"), (status = 403, description = "権限がない"), (status = 422, description = "項目の誤り")))]
pub(crate) async fn create_plan(
    State(state): State<AppState>,
    viewer: Viewer,
    ApiJson(body): ApiJson<PlanBody>,
) -> Result<Response, AppError> {
    let cap = viewer.can::<can::PlanAudits>(&state).await?;
    let form = PlanForm {
        kind: body.kind,
        title: body.title,
        fiscal_year: text_of(&body.fiscal_year),
        last_year: body.last_year.as_ref().map(text_of).unwrap_or_default(),
        purpose: body.purpose,
        ordered_by: body.ordered_by.map(|p| p.to_string()).unwrap_or_default(),
        ordered_on: body.ordered_on.unwrap_or_default(),
        order_note: body.order_note,
    };
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
    let p = auditing::plan(&state.db, cap.org(), id).await?;
    Ok((StatusCode::CREATED, Json(plan_json(&p))).into_response())
}

/// One plan with its engagements (those the caller may see).
#[utoipa::path(get, path = "/api/v1/audits/plans/{id}", tag = "auditing",
    params(("id" = i64, Path, description = "監査計画のID")),
    responses((status = 200, description = "監査計画"), (status = 404, description = "見つからない")))]
pub(crate) async fn get_plan(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
) -> Result<Json<Value>, AppError> {
    let rows = load_rows(&state, &viewer, Some(id)).await?;
    let p = auditing::plan(&state.db, OrgId(viewer.person.org_id), id).await?;
    let mut out = plan_json(&p);
    if let Some(o) = out.as_object_mut() {
        o.insert("engagements".into(), serde_json::to_value(&rows)?);
    }
    Ok(Json(out))
}

/// Engagements the caller may see (CISO・統括・監査人 all; 責任者・管理者 those covering their units).
#[utoipa::path(get, path = "/api/v1/audits/engagements", tag = "auditing",
    responses((status = 200, description = "監査の一覧（`items`）"), (status = 403, description = "権限がない")))]
pub(crate) async fn list_engagements(
    State(state): State<AppState>,
    viewer: Viewer,
) -> Result<Json<Value>, AppError> {
    let rows = load_rows(&state, &viewer, None).await?;
    Ok(Json(json!({"items": rows})))
}

/// An engagement's scope, criteria, auditors and schedule.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub(crate) struct EngagementBody {
    /// The plan (when creating).
    #[serde(default)]
    plan_id: Option<i64>,
    /// Title.
    title: String,
    /// First day (YYYY-MM-DD or 和暦).
    starts_on: String,
    /// Last day.
    ends_on: String,
    /// Units in scope (ids).
    units: Vec<i64>,
    /// Systems in scope (資産番号).
    #[serde(default)]
    systems: Vec<String>,
    /// Criteria: guideline clause numbers (`2-4-2`).
    criteria: Vec<String>,
    /// Auditors (person ids of 監査人).
    auditors: Vec<i64>,
    /// Notes.
    #[serde(default)]
    note: String,
}

fn engagement_body(b: EngagementBody) -> Result<EngagementInput, AppError> {
    Ok(EngagementInput {
        title: b.title,
        starts_on: opt_date(&b.starts_on, "開始日")?,
        ends_on: opt_date(&b.ends_on, "終了日")?,
        units: b.units,
        systems: b.systems,
        criteria: b.criteria,
        auditors: b.auditors,
        note: b.note,
    })
}

/// Creates an engagement under a plan; its checklist is generated from the criteria. Every
/// auditor must hold the 監査人 role and be independent of every unit in scope.
#[utoipa::path(post, path = "/api/v1/audits/engagements", tag = "auditing", request_body = EngagementBody,
    responses((status = 201, description = "作成した"), (status = 403, description = "権限がない"),
        (status = 404, description = "計画が見つからない"), (status = 422, description = "項目の誤り・監査の独立性に反する")))]
pub(crate) async fn create_engagement(
    State(state): State<AppState>,
    viewer: Viewer,
    ApiJson(body): ApiJson<EngagementBody>,
) -> Result<Response, AppError> {
    let cap = viewer.can::<can::PlanAudits>(&state).await?;
    let plan = body
        .plan_id
        .ok_or_else(|| AppError::Unprocessable("必須の項目「plan_id」がありません".into()))?;
    let input = engagement_body(body)?;
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
    let v = load_view(&state, &viewer, id).await?;
    Ok((StatusCode::CREATED, Json(engagement_json(&v, &viewer)?)).into_response())
}

/// One engagement: scope, criteria, auditors, checklist, findings (those within the caller's
/// reach) with their corrective actions.
#[utoipa::path(get, path = "/api/v1/audits/engagements/{id}", tag = "auditing",
    params(("id" = i64, Path, description = "監査のID")),
    responses((status = 200, description = "監査"), (status = 404, description = "見つからない（または閲覧の範囲外）")))]
pub(crate) async fn get_engagement(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
) -> Result<Json<Value>, AppError> {
    let v = load_view(&state, &viewer, id).await?;
    Ok(Json(engagement_json(&v, &viewer)?))
}

/// Changes title, schedule, scope, criteria and auditors (until fieldwork ends).
#[utoipa::path(put, path = "/api/v1/audits/engagements/{id}", tag = "auditing",
    params(("id" = i64, Path, description = "監査のID")), request_body = EngagementBody,
    responses((status = 200, description = "更新した"), (status = 403, description = "権限がない"), (status = 404, description = "見つからない"),
        (status = 409, description = "変更できない段階"), (status = 422, description = "項目の誤り・監査の独立性に反する")))]
pub(crate) async fn update_engagement(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<EngagementBody>,
) -> Result<Json<Value>, AppError> {
    let cap = viewer.can::<can::PlanAudits>(&state).await?;
    let input = engagement_body(body)?;
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
    let v = load_view(&state, &viewer, id).await?;
    Ok(Json(engagement_json(&v, &viewer)?))
}

/// Moves the engagement to its next stage (準備 → 計画 → 実施中 → 報告 → フォローアップ → 完了);
/// 完了 only when every finding is closed.
#[utoipa::path(post, path = "/api/v1/audits/engagements/{id}/status", tag = "auditing",
    params(("id" = i64, Path, description = "監査のID")), request_body = StatusForm,
    responses((status = 200, description = "進めた"), (status = 403, description = "権限がない"), (status = 404, description = "見つからない"),
        (status = 409, description = "その段階には進めない（未完了の指摘がある など）")))]
pub(crate) async fn set_status(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<StatusForm>,
) -> Result<Json<Value>, AppError> {
    let cap = viewer.can::<can::PlanAudits>(&state).await?;
    let to = status_of(&body.status)?;
    write(&state, &viewer, async |tx: &mut AnyConnection| {
        auditing::advance(tx, &cap, &viewer.audit_ctx(), id, to).await
    })
    .await?;
    Ok(Json(
        json!({"id": id, "status": to.code(), "status_label": to.label_ja()}),
    ))
}

/// Adds a checklist item (assigned auditors).
#[utoipa::path(post, path = "/api/v1/audits/engagements/{id}/items", tag = "auditing",
    params(("id" = i64, Path, description = "監査のID")), request_body = NewItemForm,
    responses((status = 201, description = "追加した"), (status = 403, description = "割り当てられた監査人ではない"), (status = 404, description = "見つからない"), (status = 422, description = "項目の誤り")))]
pub(crate) async fn add_item(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<NewItemForm>,
) -> Result<Response, AppError> {
    let cap = viewer.can::<can::ConductAudits>(&state).await?;
    let item = write(&state, &viewer, async |tx: &mut AnyConnection| {
        auditing::add_item(
            tx,
            &cap,
            &viewer.audit_ctx(),
            id,
            &body.clause,
            &body.question,
        )
        .await
    })
    .await?;
    Ok((StatusCode::CREATED, Json(json!({"id": item}))).into_response())
}

/// Records fieldwork on a checklist item: what was examined, the result (適合・不適合・観察) and
/// notes (assigned auditors, while 実施中 or 報告).
#[utoipa::path(put, path = "/api/v1/audits/engagements/{id}/items/{item}", tag = "auditing",
    params(("id" = i64, Path, description = "監査のID"), ("item" = i64, Path, description = "チェック項目のID")), request_body = ItemForm,
    responses((status = 200, description = "記録した"), (status = 403, description = "割り当てられた監査人ではない"), (status = 404, description = "見つからない"),
        (status = 409, description = "記録できない段階"), (status = 422, description = "項目の誤り")))]
pub(crate) async fn record_item(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((id, item)): Path<(i64, i64)>,
    ApiJson(body): ApiJson<ItemForm>,
) -> Result<Json<Value>, AppError> {
    let cap = viewer.can::<can::ConductAudits>(&state).await?;
    let input = item_input(&body)?;
    write(&state, &viewer, async |tx: &mut AnyConnection| {
        auditing::record_item(tx, &cap, &viewer.audit_ctx(), id, item, &input).await
    })
    .await?;
    Ok(Json(json!({"id": item, "result": input.result.code()})))
}

/// A finding.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub(crate) struct FindingBody {
    /// `major`, `moderate`, `minor`, `observation` (重大・中・軽微・観察).
    severity: String,
    /// Guideline clause number.
    clause: String,
    /// Unit concerned (in scope).
    unit_id: i64,
    /// What was found.
    description: String,
    /// Evidence (text).
    #[serde(default)]
    evidence: String,
    /// The checklist item it came from.
    #[serde(default)]
    item_id: Option<i64>,
    /// An evidence file.
    #[serde(default)]
    file: Option<FileBody>,
}

/// A file in JSON.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub(crate) struct FileBody {
    /// File name.
    file_name: String,
    /// Content, base64.
    content_base64: String,
}

/// Records a finding, with evidence text and optionally a file (SHA-256 kept, never
/// overwritten); assigned auditors only.
#[utoipa::path(post, path = "/api/v1/audits/engagements/{id}/findings", tag = "auditing",
    params(("id" = i64, Path, description = "監査のID")), request_body = FindingBody,
    responses((status = 201, description = "記録した"), (status = 403, description = "割り当てられた監査人ではない"), (status = 404, description = "見つからない"),
        (status = 409, description = "記録できない段階"), (status = 422, description = "項目の誤り")))]
pub(crate) async fn create_finding(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<FindingBody>,
) -> Result<Response, AppError> {
    let cap = viewer.can::<can::ConductAudits>(&state).await?;
    let file = match body.file {
        Some(f) => {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(f.content_base64.trim())
                .map_err(|_| {
                    AppError::Unprocessable(
                        "証跡ファイル：content_base64 が base64 ではありません".into(),
                    )
                })?;
            Some((f.file_name, bytes))
        }
        None => None,
    };
    let input = finding_input(
        &body.severity,
        &body.clause,
        &body.unit_id.to_string(),
        &body.description,
        &body.evidence,
        &body.item_id.map(|i| i.to_string()).unwrap_or_default(),
        file,
    )?;
    let fid = write(&state, &viewer, async |tx: &mut AnyConnection| {
        auditing::create_finding(tx, &cap, &viewer.audit_ctx(), &viewer.tree, id, &input).await
    })
    .await?;
    Ok((StatusCode::CREATED, Json(json!({"id": fid}))).into_response())
}

/// A corrective action plan in JSON.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub(crate) struct ActionBody {
    /// Owner (person id), normally the unit's 情報セキュリティ管理者.
    owner_id: i64,
    /// Due date (not before today, the day the plan is made).
    due_on: String,
    /// What will be done.
    plan: String,
}

/// Plans (or re-plans) the corrective action of a finding (改善措置の更新 over its unit).
#[utoipa::path(post, path = "/api/v1/audits/findings/{id}/action", tag = "auditing",
    params(("id" = i64, Path, description = "指摘のID")), request_body = ActionBody,
    responses((status = 200, description = "登録した"), (status = 403, description = "権限がない"), (status = 404, description = "見つからない"),
        (status = 409, description = "確認済・完了した監査"), (status = 422, description = "項目の誤り")))]
pub(crate) async fn plan_action(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(finding): Path<i64>,
    ApiJson(body): ApiJson<ActionBody>,
) -> Result<Json<Value>, AppError> {
    let unit = auditing::finding_unit(&state.db, OrgId(viewer.person.org_id), finding).await?;
    let cap = corrective_cap(&state, &viewer, unit).await?;
    let input = action_input(&ActionForm {
        owner_id: body.owner_id.to_string(),
        due_on: body.due_on,
        plan: body.plan,
    })?;
    let id = write(&state, &viewer, async |tx: &mut AnyConnection| {
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
    Ok(Json(
        json!({"id": id, "finding_id": finding, "status": ActionStatus::Open.code()}),
    ))
}

/// Records progress on a corrective action (未着手・対応中・完了報告).
#[utoipa::path(post, path = "/api/v1/audits/actions/{id}/updates", tag = "auditing",
    params(("id" = i64, Path, description = "改善措置のID")), request_body = UpdateForm,
    responses((status = 200, description = "記録した"), (status = 403, description = "権限がない"), (status = 404, description = "見つからない"),
        (status = 409, description = "確認済"), (status = 422, description = "項目の誤り")))]
pub(crate) async fn update_action(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(action): Path<i64>,
    ApiJson(body): ApiJson<UpdateForm>,
) -> Result<Json<Value>, AppError> {
    let (_, unit) = auditing::action_unit(&state.db, OrgId(viewer.person.org_id), action).await?;
    let cap = corrective_cap(&state, &viewer, unit).await?;
    let status = ActionStatus::parse(&body.status).ok_or_else(|| {
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
            &body.note,
        )
        .await
    })
    .await?;
    Ok(Json(json!({"id": action, "status": status.code()})))
}

/// An assigned auditor (not the owner) confirms (`confirm` → 確認済) or returns (`return` →
/// 対応中) an action reported done.
#[utoipa::path(post, path = "/api/v1/audits/actions/{id}/follow-up", tag = "auditing",
    params(("id" = i64, Path, description = "改善措置のID")), request_body = FollowUpForm,
    responses((status = 200, description = "記録した"), (status = 403, description = "割り当てられた監査人ではない"), (status = 404, description = "見つからない"),
        (status = 409, description = "完了報告されていない"), (status = 422, description = "担当者本人による確認（職務の分離）・項目の誤り")))]
pub(crate) async fn follow_up(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(action): Path<i64>,
    ApiJson(body): ApiJson<FollowUpForm>,
) -> Result<Json<Value>, AppError> {
    let cap = viewer.can::<can::ConductAudits>(&state).await?;
    let confirm = decision(&body.decision)?;
    write(&state, &viewer, async |tx: &mut AnyConnection| {
        auditing::follow_up(
            tx,
            &cap,
            &viewer.audit_ctx(),
            action,
            confirm,
            &body.note,
            today_jst(),
        )
        .await
    })
    .await?;
    let status = if confirm {
        ActionStatus::Confirmed
    } else {
        ActionStatus::InProgress
    };
    Ok(Json(json!({"id": action, "status": status.code()})))
}

/// The engagement as an xlsx workbook: チェックリスト, 指摘事項, 改善措置.
#[utoipa::path(get, path = "/api/v1/audits/engagements/{id}/export", tag = "auditing",
    params(("id" = i64, Path, description = "監査のID")),
    responses((status = 200, description = "xlsx ファイル"), (status = 404, description = "見つからない")))]
pub(crate) async fn export_engagement(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    super::export_response(&state, &viewer, id).await
}
