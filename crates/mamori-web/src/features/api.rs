//! The JSON API v1 (`/api/v1`), authenticated with `Authorization: Bearer <token>`. Routes and
//! their OpenAPI description are registered together, so the document covers every route.

use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use mamori_core::org::OrgId;
use mamori_core::permission::can;
use mamori_db::org;
use serde_json::{Value, json};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::audit::AuditQuery;
use super::org::{AssignmentForm, PersonForm, PersonQuery, grant, parse_person, person_filter};
use crate::session::{Viewer, today_jst};
use crate::{AppError, AppState};

#[derive(OpenApi)]
#[openapi(
    info(title = "mamori API", version = "1", description = "情報セキュリティ管理システム mamori の API。`Authorization: Bearer <token>` で認証します。"),
    paths(openapi_json),
    modifiers(&BearerAuth),
    security(("bearer" = []))
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// A JSON request body. Axum's own rejections are English text; this answers them as the API's
/// JSON errors with a Japanese message naming the field at fault.
pub(crate) struct ApiJson<T>(pub(crate) T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = AppError;
    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(ApiJson(v)),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(AppError::UnsupportedMediaType(
                "本文は JSON（Content-Type: application/json）で送信してください".into(),
            )),
            Err(JsonRejection::JsonSyntaxError(e)) => Err(AppError::bad(format!(
                "JSON の構文が正しくありません{}",
                crate::error::position_ja(&e.body_text())
            ))),
            Err(JsonRejection::JsonDataError(e)) => Err(AppError::Unprocessable(
                crate::error::input_problem_ja(&e.body_text()),
            )),
            Err(e) if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => {
                Err(AppError::PayloadTooLarge)
            }
            Err(_) => Err(AppError::bad("送信された内容を読み取れませんでした")),
        }
    }
}

/// The API routes with their OpenAPI description.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(me))
        .routes(routes!(units))
        .routes(routes!(persons, create_person))
        .routes(routes!(person, update_person))
        .routes(routes!(person_assignments, create_assignment))
        .routes(routes!(assignments))
        .routes(routes!(policy))
        .routes(routes!(audit_entries))
        .merge(super::roster::api_router())
        .routes(routes!(
            super::network::api::get_network,
            super::network::api::put_network
        ))
        .routes(routes!(super::network::api::check_network))
        .routes(routes!(super::network::api::network_versions))
        .merge(super::inventory::api::router())
        .merge(super::notifications::api_router())
        .merge(super::documents::api::router())
        .merge(super::auditing::api::router())
        .merge(super::catalogue::api::router())
        .merge(super::exceptions::api::router())
        .merge(super::inspection::api::router())
}

/// Serves the OpenAPI document.
pub fn openapi_router(doc: Arc<utoipa::openapi::OpenApi>) -> Router<AppState> {
    Router::new()
        .route("/api/v1/openapi.json", get(openapi_json))
        .layer(axum::Extension(doc))
}

/// This document (no token needed).
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "meta", security(()), responses((status = 200, description = "OpenAPI 3 形式の API 説明")))]
async fn openapi_json(
    axum::Extension(doc): axum::Extension<Arc<utoipa::openapi::OpenApi>>,
) -> Json<utoipa::openapi::OpenApi> {
    Json(doc.as_ref().clone())
}

/// The caller: person, organisation and roles in force.
#[utoipa::path(get, path = "/api/v1/me", tag = "account", responses((status = 200, description = "呼出し元の職員等と役割"), (status = 401, description = "未認証")))]
async fn me(viewer: Viewer) -> Result<Json<Value>, AppError> {
    let roles: Vec<Value> = viewer
        .actor
        .held
        .iter()
        .map(|h| json!({"role": h.role.code(), "label": h.role.label_ja(), "unit_id": h.unit.0, "unit": viewer.tree.full_name(h.unit.0)}))
        .collect();
    Ok(Json(
        json!({"person": viewer.person, "organisation": viewer.org, "roles": roles}),
    ))
}

/// Every unit of the organisation.
#[utoipa::path(get, path = "/api/v1/units", tag = "organisation", responses((status = 200, description = "組織の一覧")))]
async fn units(State(state): State<AppState>, viewer: Viewer) -> Result<Json<Value>, AppError> {
    viewer.can::<can::ViewOrg>(&state).await?;
    let items: Vec<Value> = viewer
        .tree
        .units()
        .iter()
        .map(|u| json!({"id": u.id, "parent_id": u.parent_id, "code": u.code, "name": u.name, "kind": u.kind,
            "active": u.active == 1, "full_name": viewer.tree.full_name(u.id)}))
        .collect();
    Ok(Json(json!({"items": items})))
}

/// Paging of list endpoints.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
struct ListQuery {
    /// Search text (name, kana, login, staff number).
    q: Option<String>,
    /// Unit code (with the units below it).
    unit: Option<String>,
    /// `active` or `retired`.
    status: Option<String>,
    /// Page, from 1.
    page: Option<i64>,
    /// Items per page (1–200, default 50).
    per_page: Option<i64>,
}

/// Persons, a page at a time.
#[utoipa::path(get, path = "/api/v1/persons", tag = "organisation", params(ListQuery), responses((status = 200, description = "職員等の一覧（ページ単位）")))]
async fn persons(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<ListQuery>,
) -> Result<Json<PersonsPage>, AppError> {
    viewer.can::<can::ViewOrg>(&state).await?;
    let per_page = q.per_page.unwrap_or(50).clamp(1, 200);
    let page = q.page.unwrap_or(1).clamp(1, 1_000_000);
    let pq = PersonQuery {
        q: q.q,
        unit: q.unit,
        status: q.status,
        employment: None,
        page: None,
    };
    let filter = person_filter(&viewer, &pq)?;
    // The viewer's snapshot is its own organisation's, at the generation just read.
    let (items, total) = org::filter_persons(
        &viewer.snapshot.persons,
        &filter,
        (page - 1) * per_page,
        per_page,
    );
    let items = items.into_iter().cloned().collect();
    Ok(Json(PersonsPage {
        items,
        total,
        page,
        per_page,
    }))
}

/// A page of persons, serialised directly (no intermediate JSON tree).
#[derive(serde::Serialize)]
struct PersonsPage {
    items: Vec<org::Person>,
    total: i64,
    page: i64,
    per_page: i64,
}

/// One person.
#[utoipa::path(get, path = "/api/v1/persons/{id}", tag = "organisation", params(("id" = i64, Path, description = "職員等のID")), responses((status = 200, description = "職員等"), (status = 404, description = "見つからない")))]
async fn person(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
) -> Result<Json<Value>, AppError> {
    let cap = viewer.can::<can::ViewOrg>(&state).await?;
    let p = org::person(&state.db, cap.org(), id).await?;
    Ok(Json(json!(p)))
}

/// Registers a person.
#[utoipa::path(post, path = "/api/v1/persons", tag = "organisation", request_body = PersonForm, responses((status = 201, description = "登録した"), (status = 400, description = "入力の誤り"), (status = 403, description = "権限がない"), (status = 409, description = "ログインIDまたは職員番号の重複")))]
async fn create_person(
    State(state): State<AppState>,
    viewer: Viewer,
    ApiJson(form): ApiJson<PersonForm>,
) -> Result<Response, AppError> {
    let input = parse_person(&viewer, &form)?;
    let cap = viewer
        .can_on::<can::EditPersons>(&state, input.unit_id)
        .await?;
    let mut tx = state.db.begin_write().await?;
    let id = org::create_person(&mut tx, &cap, &viewer.audit_ctx(), &input, None).await?;
    tx.commit().await.map_err(mamori_db::DbError::from)?;
    let p = org::person(&state.db, cap.org(), id).await?;
    Ok((axum::http::StatusCode::CREATED, Json(json!(p))).into_response())
}

/// Updates a person.
#[utoipa::path(put, path = "/api/v1/persons/{id}", tag = "organisation", params(("id" = i64, Path, description = "職員等のID")), request_body = PersonForm, responses((status = 200, description = "更新した"), (status = 400, description = "入力の誤り"), (status = 403, description = "権限がない")))]
async fn update_person(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    ApiJson(form): ApiJson<PersonForm>,
) -> Result<Json<Value>, AppError> {
    let existing = org::person(&state.db, OrgId(viewer.person.org_id), id).await?;
    let input = parse_person(&viewer, &form)?;
    let cap = viewer
        .can_edit_person(&state, &existing, input.unit_id)
        .await?;
    let mut tx = state.db.begin_write().await?;
    org::update_person(&mut tx, &cap, &viewer.audit_ctx(), id, &input).await?;
    tx.commit().await.map_err(mamori_db::DbError::from)?;
    Ok(Json(json!(org::person(&state.db, cap.org(), id).await?)))
}

/// A person's role assignments, with history.
#[utoipa::path(get, path = "/api/v1/persons/{id}/assignments", tag = "organisation", params(("id" = i64, Path, description = "職員等のID")), responses((status = 200, description = "役割の割当て（履歴を含む）")))]
async fn person_assignments(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
) -> Result<Json<Value>, AppError> {
    let cap = viewer.can::<can::ViewOrg>(&state).await?;
    org::person(&state.db, cap.org(), id).await?;
    Ok(Json(
        json!({"items": org::assignments_of(&state.db, cap.org(), id).await?}),
    ))
}

/// Grants a role to a person.
#[utoipa::path(post, path = "/api/v1/persons/{id}/assignments", tag = "organisation", params(("id" = i64, Path, description = "職員等のID")), request_body = AssignmentForm, responses((status = 201, description = "割り当てた"), (status = 400, description = "入力の誤り"), (status = 403, description = "権限がない")))]
async fn create_assignment(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    ApiJson(form): ApiJson<AssignmentForm>,
) -> Result<Response, AppError> {
    let aid = grant(&state, &viewer, id, &form).await?;
    let a = org::assignment(&state.db, OrgId(viewer.person.org_id), aid).await?;
    Ok((axum::http::StatusCode::CREATED, Json(json!(a))).into_response())
}

/// Every role assignment in force today.
#[utoipa::path(get, path = "/api/v1/assignments", tag = "organisation", responses((status = 200, description = "本日有効な役割の割当て")))]
async fn assignments(
    State(state): State<AppState>,
    viewer: Viewer,
) -> Result<Json<Value>, AppError> {
    let cap = viewer.can::<can::ViewOrg>(&state).await?;
    Ok(Json(
        json!({"items": org::assignments_in_force(&state.db, cap.org(), &today_jst()).await?}),
    ))
}

/// The current policy version (structure and, once imported, full text).
#[utoipa::path(get, path = "/api/v1/policy", tag = "policy", responses((status = 200, description = "現行のポリシー")))]
async fn policy(State(state): State<AppState>, viewer: Viewer) -> Result<Json<Value>, AppError> {
    let cap = viewer.can::<can::ViewPolicy>(&state).await?;
    let versions: Vec<Value> = mamori_db::policy::versions(&state.db, cap.org().0)
        .await?
        .iter()
        .map(|v| json!({"version_no": v.version_no, "title": v.title, "adopted_on": v.adopted_on, "source": v.source, "created_at": v.created_at}))
        .collect();
    let current = match mamori_db::policy::current(&state.db, cap.org().0).await? {
        Some(v) => serde_json::from_str::<Value>(&v.content_json)?,
        None => serde_json::to_value(super::policy::shipped_doc(&viewer.org.name, &viewer.tree))?,
    };
    Ok(Json(json!({"current": current, "versions": versions})))
}

/// Audit trail entries, newest first (CISO, 統括, 監査人).
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(AuditQuery), responses((status = 200, description = "監査証跡"), (status = 403, description = "権限がない")))]
async fn audit_entries(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<AuditQuery>,
) -> Result<Response, AppError> {
    if q.format.is_some() {
        return super::audit::export_entries(&state, &viewer, &q).await;
    }
    let cap = viewer.can::<can::ViewAudit>(&state).await?;
    let items = mamori_db::audit::list(&state.db, &q.filter(cap.org().0)?, 200).await?;
    Ok(Json(json!({"items": items})).into_response())
}
