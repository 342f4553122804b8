//! The information-asset register in the JSON API (`/api/v1/assets`): list with the page's
//! filters, read, create, update, review, take-out and return, dispose. Registered with their
//! OpenAPI description through [`router`].

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use mamori_core::asset::Scheme;
use mamori_core::calendar::{format_iso, today_jst};
use mamori_core::permission::can;
use mamori_db::assets::{self, Asset, DisposalInput, TakeOutInput};
use mamori_db::org::UnitTree;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::form::AssetDraft;
use mamori_db::AnyConnection;

use super::{ListQuery, editable_asset, form_date, read_draft, visible_asset, write};
use crate::features::api::ApiJson;
use crate::session::Viewer;
use crate::{AppError, AppState};

/// The register's API routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_assets, create_asset))
        .routes(routes!(get_asset, update_asset))
        .routes(routes!(review_asset))
        .routes(routes!(dispose_asset))
        .routes(routes!(take_out_asset))
        .routes(routes!(return_asset))
        .merge(super::io::api_router())
}

/// An asset as the API shows it: stored codes plus Japanese labels.
pub fn asset_json(a: &Asset, scheme: Scheme, tree: &UnitTree) -> Value {
    let unit = tree.get(a.unit_id);
    json!({
        "id": a.id,
        "asset_no": a.asset_no,
        "name": a.name,
        "business": a.business,
        "kind": a.kind,
        "kind_label": super::kind_label(&a.kind),
        "unit_id": a.unit_id,
        "unit_code": unit.map(|u| u.code.clone()),
        "unit_name": tree.full_name(a.unit_id),
        "manager_id": a.manager_id,
        "manager_name": a.manager_name,
        "medium": a.medium,
        "location": a.location,
        "lockable": a.lockable != 0,
        "zone": a.zone,
        "confidentiality": a.confidentiality,
        "confidentiality_label": super::level_label(&a.confidentiality, scheme),
        "integrity": a.integrity,
        "availability": a.availability,
        "personal": a.personal != 0,
        "personal_count": a.personal_count,
        "sensitive": a.sensitive != 0,
        "my_number": a.my_number != 0,
        "users_scope": a.users_scope,
        "restrictions": a.restrictions().0.iter().map(|r| r.code()).collect::<Vec<_>>(),
        "retention": a.retention,
        "backup": a.backup,
        "contractor": a.contractor,
        "exception_ref": a.exception_ref,
        "last_reviewed": a.last_reviewed,
        "note": a.note,
        "triage_candidates": a.triage_candidates().iter().map(|c| c.code()).collect::<Vec<_>>(),
        "violations": a.stored_rules().iter().map(|r| r.id).collect::<Vec<_>>(),
        "status": a.status,
        "disposed_on": a.disposed_on,
        "disposal_method": a.disposal_method,
        "version": a.version,
        "created_at": a.created_at,
        "updated_at": a.updated_at,
    })
}

/// Information assets within the caller's reach, filtered as on the register page.
#[utoipa::path(get, path = "/api/v1/assets", tag = "assets", params(ListQuery),
    responses(
        (status = 200, description = "情報資産の一覧（ページ単位）。`items`・`total`・`page`・`per_page`"),
        (status = 400, description = "絞り込みの指定の誤り"),
        (status = 403, description = "権限がない")))]
pub(crate) async fn list_assets(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<ListQuery>,
) -> Result<Json<Value>, AppError> {
    let cap = viewer.can::<can::ViewAssets>(&state).await?;
    let (filter, sort) = q.filter()?;
    let per_page: i64 = q.per_page.parse().unwrap_or(50).clamp(1, 500);
    let page: i64 = q.page.parse().unwrap_or(1).clamp(1, 1_000_000);
    assets::ensure_checked(&state.db, cap.org()).await?;
    let settings = assets::settings(&state.db, cap.org()).await?;
    let (items, total) = assets::list(
        &state.db,
        &cap,
        &viewer.tree,
        &filter,
        sort,
        (page - 1) * per_page,
        per_page,
    )
    .await?;
    let items: Vec<Value> = items
        .iter()
        .map(|a| asset_json(a, settings.scheme, &viewer.tree))
        .collect();
    Ok(Json(
        json!({"items": items, "total": total, "page": page, "per_page": per_page}),
    ))
}

/// One asset with its classes in force (and where they come from), today's rule findings, the
/// handling its class requires, and what it holds and is held by.
#[utoipa::path(get, path = "/api/v1/assets/{id}", tag = "assets",
    params(("id" = i64, Path, description = "情報資産のID")),
    responses((status = 200, description = "情報資産"), (status = 404, description = "見つからない（または閲覧の範囲外）")))]
pub(crate) async fn get_asset(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
) -> Result<Json<Value>, AppError> {
    let (cap, a) = visible_asset(&state, &viewer, id).await?;
    let settings = assets::settings(&state.db, cap.org()).await?;
    let (effective, findings) = assets::assess(&state.db, &a).await?;
    let relations = assets::relations(&state.db, cap.org(), a.id).await?;
    let visible = |list: &[Asset]| -> Vec<Value> {
        list.iter()
            .filter(|r| cap.covers(&viewer.tree.path(r.unit_id)))
            .map(|r| json!({"id": r.id, "asset_no": r.asset_no, "name": r.name, "kind": r.kind, "confidentiality": r.confidentiality}))
            .collect()
    };
    let findings: Vec<Value> = findings
        .iter()
        .map(|f| {
            json!({"rule": f.rule.id, "severity": f.rule.severity, "section": f.rule.section,
                   "title": f.rule.title, "message": f.rule.message, "detail": f.detail})
        })
        .collect();
    Ok(Json(json!({
        "asset": asset_json(&a, settings.scheme, &viewer.tree),
        "in_force": effective,
        "findings": findings,
        "handling": mamori_core::asset::handling(effective.classes()),
        "holds": visible(&relations.holds),
        "held_by": visible(&relations.held_by),
    })))
}

/// Registers an asset. Fields as on the form; `unit` is a unit id or code, `manager` a person
/// id or login; classes accept what a register says (「自治体機密性3B」「機密性２」).
#[utoipa::path(post, path = "/api/v1/assets", tag = "assets", request_body = AssetDraft,
    responses(
        (status = 201, description = "登録した情報資産"),
        (status = 403, description = "権限がない（所管課が編集の範囲外）"),
        (status = 409, description = "資産番号の重複"),
        (status = 422, description = "項目の誤り、または取扱いルール（エラー）への違反")))]
pub(crate) async fn create_asset(
    State(state): State<AppState>,
    viewer: Viewer,
    ApiJson(draft): ApiJson<AssetDraft>,
) -> Result<Response, AppError> {
    let cap = viewer.can::<can::EditAssets>(&state).await?;
    let input = read_draft(&state, &viewer, cap.org(), &draft)
        .await?
        .map_err(|p| AppError::Unprocessable(super::problems_text(&p)))?;
    let cap = viewer
        .can_on::<can::EditAssets>(&state, input.unit_id)
        .await?;
    let id = write(&state, async |tx: &mut AnyConnection| {
        assets::create(tx, &cap, &viewer.audit_ctx(), &viewer.tree, &input).await
    })
    .await?;
    let a = assets::get(&state.db, &cap, &viewer.tree, id).await?;
    let settings = assets::settings(&state.db, cap.org()).await?;
    Ok((
        StatusCode::CREATED,
        Json(asset_json(&a, settings.scheme, &viewer.tree)),
    )
        .into_response())
}

/// An update: every field (as for create) and, optionally, the `version` read before editing,
/// so a save over someone else's change is refused (409).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub(crate) struct AssetUpdate {
    #[serde(flatten)]
    draft: AssetDraft,
    /// The version the change is based on.
    #[serde(default)]
    version: Option<i64>,
}

/// Replaces an asset's fields.
#[utoipa::path(put, path = "/api/v1/assets/{id}", tag = "assets",
    params(("id" = i64, Path, description = "情報資産のID")), request_body = AssetUpdate,
    responses(
        (status = 200, description = "更新後の情報資産"),
        (status = 403, description = "権限がない"),
        (status = 404, description = "見つからない"),
        (status = 409, description = "他の更新と衝突した、廃棄済み、または資産番号の重複"),
        (status = 422, description = "項目の誤り、または取扱いルール（エラー）への違反")))]
pub(crate) async fn update_asset(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<AssetUpdate>,
) -> Result<Json<Value>, AppError> {
    let (cap, _) = editable_asset(&state, &viewer, id).await?;
    let input = read_draft(&state, &viewer, cap.org(), &body.draft)
        .await?
        .map_err(|p| AppError::Unprocessable(super::problems_text(&p)))?;
    let cap = viewer
        .can_on::<can::EditAssets>(&state, input.unit_id)
        .await?;
    write(&state, async |tx: &mut AnyConnection| {
        assets::update(
            tx,
            &cap,
            &viewer.audit_ctx(),
            &viewer.tree,
            id,
            body.version,
            &input,
        )
        .await
    })
    .await?;
    let a = assets::get(&state.db, &cap, &viewer.tree, id).await?;
    let settings = assets::settings(&state.db, cap.org()).await?;
    Ok(Json(asset_json(&a, settings.scheme, &viewer.tree)))
}

/// The day of a review.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub(crate) struct ReviewBody {
    /// 確認日 (YYYY-MM-DD or 和暦); today when absent.
    #[serde(default)]
    on: Option<String>,
}

/// Records a review (「確認した」): 最終確認日 becomes the given day or today.
#[utoipa::path(post, path = "/api/v1/assets/{id}/review", tag = "assets",
    params(("id" = i64, Path, description = "情報資産のID")), request_body = ReviewBody,
    responses((status = 200, description = "確認を記録した"), (status = 404, description = "見つからない"), (status = 409, description = "廃棄済み")))]
pub(crate) async fn review_asset(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, AppError> {
    let (cap, _) = editable_asset(&state, &viewer, id).await?;
    // The body is optional: none (or `{}`) records today.
    let body: ReviewBody = if body.iter().all(u8::is_ascii_whitespace) {
        ReviewBody::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| AppError::Unprocessable(crate::error::input_problem_ja(&e.to_string())))?
    };
    let on = body.on.unwrap_or_default();
    let day = form_date(&on, "確認日")?;
    if day > today_jst() {
        return Err(AppError::Unprocessable(
            "確認日：未来の日付は指定できません".into(),
        ));
    }
    write(&state, async |tx: &mut AnyConnection| {
        assets::review(tx, &cap, &viewer.audit_ctx(), &viewer.tree, id, day).await
    })
    .await?;
    Ok(Json(json!({"id": id, "last_reviewed": format_iso(day)})))
}

/// A disposal.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub(crate) struct DisposeBody {
    /// 廃棄日; today when absent.
    #[serde(default)]
    on: Option<String>,
    /// Who disposed of it (person id).
    person_id: i64,
    /// 方法.
    method: String,
    /// 廃棄証明書 (optional).
    #[serde(default)]
    certificate: Option<CertificateBody>,
}

/// A file in JSON.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub(crate) struct CertificateBody {
    /// File name.
    file_name: String,
    /// Content, base64.
    content_base64: String,
}

/// Disposes of an asset: it is archived read-only (never deleted).
#[utoipa::path(post, path = "/api/v1/assets/{id}/dispose", tag = "assets",
    params(("id" = i64, Path, description = "情報資産のID")), request_body = DisposeBody,
    responses((status = 200, description = "廃棄を記録した"), (status = 404, description = "見つからない"), (status = 409, description = "廃棄済み"), (status = 422, description = "項目の誤り")))]
pub(crate) async fn dispose_asset(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<DisposeBody>,
) -> Result<Json<Value>, AppError> {
    let (cap, _) = editable_asset(&state, &viewer, id).await?;
    let certificate = match body.certificate {
        Some(c) => {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(c.content_base64.trim())
                .map_err(|_| {
                    AppError::Unprocessable(
                        "廃棄証明書：content_base64 が base64 ではありません".into(),
                    )
                })?;
            Some((c.file_name, bytes))
        }
        None => None,
    };
    let input = DisposalInput {
        on: form_date(body.on.as_deref().unwrap_or(""), "廃棄日")?,
        person_id: body.person_id,
        method: body.method,
        certificate,
    };
    write(&state, async |tx: &mut AnyConnection| {
        assets::dispose(tx, &cap, &viewer.audit_ctx(), &viewer.tree, id, &input).await
    })
    .await?;
    Ok(Json(json!({"id": id, "status": "disposed"})))
}

/// A take-out to record.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub(crate) struct TakeOutBody {
    /// Who takes it out (person id; not the caller, who is the one permitting).
    person_id: i64,
    /// 目的.
    purpose: String,
    /// 持出し先.
    destination: String,
    /// 持出日; today when absent.
    #[serde(default)]
    out_on: Option<String>,
    /// 返却予定日.
    #[serde(default)]
    due_on: Option<String>,
}

/// Records a take-out (持出) permitted by the caller.
#[utoipa::path(post, path = "/api/v1/assets/{id}/take-outs", tag = "assets",
    params(("id" = i64, Path, description = "情報資産のID")), request_body = TakeOutBody,
    responses((status = 201, description = "持出しを記録した"), (status = 404, description = "見つからない"), (status = 422, description = "持出禁止、本人の許可、項目の誤り")))]
pub(crate) async fn take_out_asset(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<TakeOutBody>,
) -> Result<Response, AppError> {
    let (cap, _) = editable_asset(&state, &viewer, id).await?;
    let input = TakeOutInput {
        person_id: body.person_id,
        purpose: body.purpose,
        destination: body.destination,
        out_on: form_date(body.out_on.as_deref().unwrap_or(""), "持出日")?,
        due_on: match body.due_on.as_deref().filter(|d| !d.trim().is_empty()) {
            Some(d) => Some(form_date(d, "返却予定日")?),
            None => None,
        },
    };
    let tid = write(&state, async |tx: &mut AnyConnection| {
        assets::take_out(tx, &cap, &viewer.audit_ctx(), &viewer.tree, id, &input).await
    })
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"id": tid, "asset_id": id})),
    )
        .into_response())
}

/// Records the return of a take-out.
#[utoipa::path(post, path = "/api/v1/assets/{id}/take-outs/{take_out_id}/return", tag = "assets",
    params(("id" = i64, Path, description = "情報資産のID"), ("take_out_id" = i64, Path, description = "持出しのID")),
    responses((status = 200, description = "返却を記録した"), (status = 404, description = "見つからない"), (status = 422, description = "返却済み")))]
pub(crate) async fn return_asset(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((id, take_out_id)): Path<(i64, i64)>,
) -> Result<Json<Value>, AppError> {
    let (cap, _) = editable_asset(&state, &viewer, id).await?;
    write(&state, async |tx: &mut AnyConnection| {
        assets::take_out_return(tx, &cap, &viewer.audit_ctx(), &viewer.tree, id, take_out_id).await
    })
    .await?;
    Ok(Json(
        json!({"id": take_out_id, "asset_id": id, "returned": true}),
    ))
}
