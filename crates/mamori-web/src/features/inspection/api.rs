//! 自己点検 in the JSON API (`/api/v1/inspections`): campaigns, question sets, opening and
//! closing, one's own answers and their submission, the roll-up and improvement items, with the
//! same permissions and checks as the pages.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use mamori_core::calendar::today_jst;
use mamori_core::inspection::{Group, permille, permille_text};
use mamori_core::permission::can;
use mamori_db::inspection::{self as db, AnswerInput, Campaign, InspectionError};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{CampaignForm, ItemForm, campaign_of, inspection_error, write};
use crate::features::api::ApiJson;
use crate::session::Viewer;
use crate::{AppError, AppState};

/// The API routes of this feature.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_campaigns, create_campaign))
        .routes(routes!(get_campaign))
        .routes(routes!(put_questions))
        .routes(routes!(open_campaign))
        .routes(routes!(close_campaign))
        .routes(routes!(get_rollup))
        .routes(routes!(my_responses))
        .routes(routes!(save_response))
        .routes(routes!(submit_response))
        .routes(routes!(list_improvements))
        .routes(routes!(update_improvement))
}

fn campaign_json(c: &Campaign) -> Value {
    json!({
        "id": c.id, "name": c.name, "fiscal_year": c.fiscal_year,
        "start_on": c.start_on, "end_on": c.end_on,
        "groups": c.group_list().iter().map(|g| g.code()).collect::<Vec<_>>(),
        "units": c.scope_units(), "status": c.status,
        "phase": c.phase(today_jst()).code(), "phase_label": c.phase(today_jst()).label_ja(),
        "opened_at": c.opened_at, "closed_at": c.closed_at, "version": c.version,
    })
}

fn refused(e: InspectionError) -> AppError {
    inspection_error(e)
}

/// Campaigns: all of them for those who manage or read results; otherwise those the caller
/// answers.
#[utoipa::path(get, path = "/api/v1/inspections", tag = "inspections",
    responses((status = 200, description = "自己点検の一覧。`items`")))]
pub(crate) async fn list_campaigns(
    State(state): State<AppState>,
    viewer: Viewer,
) -> Result<Json<Value>, AppError> {
    let all = db::campaigns(&state.db, viewer.actor.org).await?;
    let sees_all = viewer.actor.can::<can::ManageInspections>().is_ok()
        || viewer.actor.can::<can::ViewInspectionResults>().is_ok();
    let own: Vec<i64> = db::respondents_of(&state.db, viewer.actor.org, viewer.person.id, None)
        .await?
        .iter()
        .map(|r| r.campaign_id)
        .collect();
    let items: Vec<Value> = all
        .iter()
        .filter(|c| sees_all || own.contains(&c.id))
        .map(campaign_json)
        .collect();
    Ok(Json(json!({"items": items})))
}

/// Creates a campaign in preparation (with the shipped questions for each group).
#[utoipa::path(post, path = "/api/v1/inspections", tag = "inspections", request_body = CampaignForm,
    responses((status = 201, description = "作成した自己点検"), (status = 403, description = "権限がない"),
        (status = 422, description = "入力の誤り（項目ごとの理由）")))]
pub(crate) async fn create_campaign(
    State(state): State<AppState>,
    viewer: Viewer,
    ApiJson(f): ApiJson<CampaignForm>,
) -> Result<Response, AppError> {
    let cap = viewer.can::<can::ManageInspections>(&state).await?;
    let input = f.parse(&viewer).map_err(refused)?;
    let ctx = viewer.audit_ctx();
    let tree = viewer.tree.clone();
    let id = write(&state, async |tx| {
        db::create(tx, &cap, &ctx, &tree, &input).await
    })
    .await?
    .map_err(refused)?;
    let c = campaign_of(&state, &viewer, id).await?;
    Ok((StatusCode::CREATED, Json(campaign_json(&c))).into_response())
}

/// A campaign with its questions.
#[utoipa::path(get, path = "/api/v1/inspections/{id}", tag = "inspections",
    params(("id" = i64, Path, description = "自己点検のID")),
    responses((status = 200, description = "自己点検と設問"), (status = 404, description = "見つからない")))]
pub(crate) async fn get_campaign(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
) -> Result<Json<Value>, AppError> {
    let c = campaign_of(&state, &viewer, id).await?;
    if viewer.actor.can::<can::ManageInspections>().is_err() {
        viewer.can::<can::ViewInspectionResults>(&state).await?;
    }
    let qs = db::questions(&state.db, viewer.actor.org, id).await?;
    let mut v = campaign_json(&c);
    if let Some(o) = v.as_object_mut() {
        o.insert("questions".into(), json!(qs));
    }
    Ok(Json(v))
}

/// A question of a set.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct QuestionBody {
    /// Guideline clause (`2-4-4`).
    pub clause: String,
    /// The question.
    pub text: String,
}

/// One group's question set.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct QuestionsBody {
    /// `staff`, `manager` or `system_manager`.
    pub group: String,
    /// The questions, in order.
    pub questions: Vec<QuestionBody>,
}

/// Replaces one group's question set (only before the campaign opens).
#[utoipa::path(put, path = "/api/v1/inspections/{id}/questions", tag = "inspections",
    params(("id" = i64, Path, description = "自己点検のID")), request_body = QuestionsBody,
    responses((status = 200, description = "設問"), (status = 409, description = "開始済み"),
        (status = 422, description = "入力の誤り")))]
pub(crate) async fn put_questions(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<QuestionsBody>,
) -> Result<Json<Value>, AppError> {
    let cap = viewer.can::<can::ManageInspections>(&state).await?;
    campaign_of(&state, &viewer, id).await?;
    let group = Group::from_code(&body.group).ok_or_else(|| {
        AppError::Unprocessable(format!("回答者の区分「{}」は選べません", body.group))
    })?;
    let qs: Vec<(String, String)> = body
        .questions
        .into_iter()
        .map(|q| (q.clause, q.text))
        .collect();
    let ctx = viewer.audit_ctx();
    write(&state, async |tx| {
        db::set_questions(tx, &cap, &ctx, id, group, &qs).await
    })
    .await?
    .map_err(refused)?;
    let qs = db::questions(&state.db, viewer.actor.org, id).await?;
    Ok(Json(json!({"questions": qs})))
}

/// Opens a campaign: its respondents are fixed.
#[utoipa::path(post, path = "/api/v1/inspections/{id}/open", tag = "inspections",
    params(("id" = i64, Path, description = "自己点検のID")),
    responses((status = 200, description = "開始した。`respondents` は回答者数"), (status = 409, description = "開始できない理由")))]
pub(crate) async fn open_campaign(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
) -> Result<Json<Value>, AppError> {
    let cap = viewer.can::<can::ManageInspections>(&state).await?;
    campaign_of(&state, &viewer, id).await?;
    let ctx = viewer.audit_ctx();
    let tree = viewer.tree.clone();
    let today = today_jst();
    let n = write(&state, async |tx| {
        db::open(tx, &cap, &ctx, &tree, id, today).await
    })
    .await?
    .map_err(refused)?;
    let c = campaign_of(&state, &viewer, id).await?;
    let mut v = campaign_json(&c);
    if let Some(o) = v.as_object_mut() {
        o.insert("respondents".into(), json!(n));
    }
    Ok(Json(v))
}

/// Closes a campaign by hand.
#[utoipa::path(post, path = "/api/v1/inspections/{id}/close", tag = "inspections",
    params(("id" = i64, Path, description = "自己点検のID")),
    responses((status = 200, description = "締め切った"), (status = 409, description = "締め切れない理由")))]
pub(crate) async fn close_campaign(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
) -> Result<Json<Value>, AppError> {
    let cap = viewer.can::<can::ManageInspections>(&state).await?;
    campaign_of(&state, &viewer, id).await?;
    let ctx = viewer.audit_ctx();
    write(&state, async |tx| db::close(tx, &cap, &ctx, id).await)
        .await?
        .map_err(refused)?;
    let c = campaign_of(&state, &viewer, id).await?;
    Ok(Json(campaign_json(&c)))
}

/// The roll-up within the caller's reach: per unit (subtree totals) and per clause.
#[utoipa::path(get, path = "/api/v1/inspections/{id}/rollup", tag = "inspections",
    params(("id" = i64, Path, description = "自己点検のID")),
    responses((status = 200, description = "所属別・対策基準別の集計"), (status = 403, description = "権限がない")))]
pub(crate) async fn get_rollup(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
) -> Result<Json<Value>, AppError> {
    let cap = viewer.can::<can::ViewInspectionResults>(&state).await?;
    let c = campaign_of(&state, &viewer, id).await?;
    let r = db::rollup(&state.db, &cap, &viewer.tree, &c).await?;
    let line = |u: &db::UnitLine| {
        json!({"unit_id": u.unit_id, "name": u.name, "depth": u.depth, "respondents": u.respondents,
               "submitted": u.submitted, "response_rate": permille_text(permille(u.submitted, u.respondents)),
               "answers": u.tally, "conformity": permille_text(u.tally.conformity_permille())})
    };
    let clauses: Vec<Value> = r
        .clauses
        .iter()
        .map(|l| json!({"clause": l.clause, "title": l.title, "answers": l.tally,
            "conformity": permille_text(l.tally.conformity_permille()),
            "questions": l.questions.iter().map(|(g, seq, text, t)| json!({"group": g, "seq": seq, "text": text, "answers": t})).collect::<Vec<_>>()}))
        .collect();
    Ok(Json(json!({
        "campaign": campaign_json(&c),
        "total": line(&r.total),
        "units": r.units.iter().map(line).collect::<Vec<_>>(),
        "clauses": clauses,
    })))
}

/// The caller's own entries in a campaign, each with its questions and saved answers.
#[utoipa::path(get, path = "/api/v1/inspections/{id}/responses", tag = "inspections",
    params(("id" = i64, Path, description = "自己点検のID")),
    responses((status = 200, description = "自分の回答（回答者区分ごと）")))]
pub(crate) async fn my_responses(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
) -> Result<Json<Value>, AppError> {
    let c = campaign_of(&state, &viewer, id).await?;
    let entries =
        db::respondents_of(&state.db, viewer.actor.org, viewer.person.id, Some(id)).await?;
    let qs = db::questions(&state.db, viewer.actor.org, id).await?;
    let mut items = Vec::new();
    for r in entries {
        let answers = db::answers(&state.db, viewer.actor.org, r.id).await?;
        let mine: Vec<&db::Question> = qs.iter().filter(|q| q.grp == r.grp).collect();
        items.push(json!({"id": r.id, "group": r.grp, "unit_id": r.unit_id,
            "unit": viewer.tree.full_name(r.unit_id), "status": r.status,
            "submitted_at": r.submitted_at, "questions": mine, "answers": answers}));
    }
    Ok(Json(json!({"campaign": campaign_json(&c), "items": items})))
}

/// One answer in a save.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct AnswerBody {
    /// The question.
    pub question_id: i64,
    /// `done`, `partial`, `not_done`, `na` (or 実施・一部実施・未実施・該当なし).
    pub answer: String,
    /// Comment.
    #[serde(default)]
    pub comment: String,
    /// Improvement plan (required from 管理者 for partial / not_done).
    #[serde(default)]
    pub plan: String,
    /// Improvement due date (YYYY-MM-DD or 和暦).
    #[serde(default)]
    pub due: String,
}

/// Answers to save.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct AnswersBody {
    /// The answers (any subset of the questions: progress is kept).
    pub answers: Vec<AnswerBody>,
}

/// Saves answers of one of the caller's entries; all or nothing.
#[utoipa::path(put, path = "/api/v1/inspections/{id}/responses/{rid}", tag = "inspections",
    params(("id" = i64, Path, description = "自己点検のID"), ("rid" = i64, Path, description = "回答者のID")),
    request_body = AnswersBody,
    responses((status = 200, description = "保存した件数"), (status = 404, description = "自分の回答ではない"),
        (status = 409, description = "回答期間外・提出済み"), (status = 422, description = "入力の誤り（問ごと）")))]
pub(crate) async fn save_response(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((id, rid)): Path<(i64, i64)>,
    ApiJson(body): ApiJson<AnswersBody>,
) -> Result<Json<Value>, AppError> {
    let r = db::respondent(&state.db, viewer.actor.org, rid).await?;
    if r.person_id != viewer.person.id || r.campaign_id != id {
        return Err(AppError::NotFound);
    }
    let inputs: Vec<AnswerInput> = body
        .answers
        .into_iter()
        .map(|a| AnswerInput {
            question_id: a.question_id,
            answer: a.answer,
            comment: a.comment,
            plan: a.plan,
            due: a.due,
        })
        .collect();
    let ctx = viewer.audit_ctx();
    let (org, person, today) = (viewer.actor.org, viewer.person.id, today_jst());
    let n = write(&state, async |tx| {
        db::save_answers(tx, org, &ctx, person, rid, today, &inputs).await
    })
    .await?
    .map_err(refused)?;
    Ok(Json(json!({"saved": n})))
}

/// Submits one of the caller's entries for good; a second submission changes nothing.
#[utoipa::path(post, path = "/api/v1/inspections/{id}/responses/{rid}/submit", tag = "inspections",
    params(("id" = i64, Path, description = "自己点検のID"), ("rid" = i64, Path, description = "回答者のID")),
    responses((status = 200, description = "提出した（`already_submitted`: 既に提出済みで何も変えていない）"),
        (status = 409, description = "回答期間外"), (status = 422, description = "未回答の設問がある")))]
pub(crate) async fn submit_response(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((id, rid)): Path<(i64, i64)>,
) -> Result<Json<Value>, AppError> {
    let r = db::respondent(&state.db, viewer.actor.org, rid).await?;
    if r.person_id != viewer.person.id || r.campaign_id != id {
        return Err(AppError::NotFound);
    }
    let ctx = viewer.audit_ctx();
    let (org, person, today) = (viewer.actor.org, viewer.person.id, today_jst());
    let fresh = write(&state, async |tx| {
        db::submit(tx, org, &ctx, person, rid, today).await
    })
    .await?
    .map_err(refused)?;
    Ok(Json(
        json!({"submitted": true, "already_submitted": !fresh}),
    ))
}

/// Improvement items of a campaign within the caller's results reach.
#[utoipa::path(get, path = "/api/v1/inspections/{id}/improvements", tag = "inspections",
    params(("id" = i64, Path, description = "自己点検のID")),
    responses((status = 200, description = "改善項目の一覧"), (status = 403, description = "権限がない")))]
pub(crate) async fn list_improvements(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
) -> Result<Json<Value>, AppError> {
    let cap = viewer.can::<can::ViewInspectionResults>(&state).await?;
    campaign_of(&state, &viewer, id).await?;
    let items = db::improvements(&state.db, &cap, &viewer.tree, id).await?;
    Ok(Json(json!({"items": items})))
}

/// Updates an improvement item (status, plan, due date, note).
#[utoipa::path(patch, path = "/api/v1/inspections/improvements/{iid}", tag = "inspections",
    params(("iid" = i64, Path, description = "改善項目のID")), request_body = ItemForm,
    responses((status = 200, description = "更新後の改善項目"), (status = 404, description = "見つからない"),
        (status = 409, description = "他の利用者が先に更新した"), (status = 422, description = "入力の誤り")))]
pub(crate) async fn update_improvement(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(iid): Path<i64>,
    ApiJson(f): ApiJson<ItemForm>,
) -> Result<Json<Value>, AppError> {
    let (i, _) = super::visible_item(&state, &viewer, iid).await?;
    let cap = viewer
        .can_on::<can::EditCorrectiveActions>(&state, i.unit_id)
        .await?;
    let ctx = viewer.audit_ctx();
    let tree = viewer.tree.clone();
    let input = f.input();
    write(&state, async |tx| {
        db::update_improvement(tx, &cap, &ctx, &tree, iid, &input).await
    })
    .await?
    .map_err(refused)?;
    let i = db::improvement(&state.db, viewer.actor.org, iid).await?;
    Ok(Json(json!(i)))
}
