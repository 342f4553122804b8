//! Policy documents and review records in the JSON API (`/api/v1/documents`, `/api/v1/reviews`).
//! A 実施手順 the caller may not read is answered like an id nobody has, and every read of a
//! 実施手順's text is audited, as on the pages.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use mamori_core::document::DocKind;
use mamori_core::permission::can;
use mamori_db::AnyConnection;
use mamori_db::documents::{self, Version};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{load, load_version, record_read, sees_drafts, version_text, write};
use crate::session::Viewer;
use crate::{AppError, AppState};

/// The documents' API routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_documents))
        .routes(routes!(get_document))
        .routes(routes!(get_version))
        .routes(routes!(acknowledge_version))
        .routes(routes!(version_acknowledgements))
        .routes(routes!(list_reviews))
        .routes(routes!(get_review))
}

fn version_json(v: &Version) -> Value {
    json!({
        "id": v.id,
        "version_no": v.version_no,
        "title": v.title,
        "status": v.status,
        "note": v.note,
        "drafted_by": v.drafted_by,
        "submitted_by": v.submitted_by,
        "submitted_at": v.submitted_at,
        "approved_by": v.approved_by,
        "approved_at": v.approved_at,
        "committee_date": v.committee_date,
        "committee_ref": v.committee_ref,
        "published_at": v.published_at,
        "superseded_at": v.superseded_at,
    })
}

/// Search of the document list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
struct DocQuery {
    /// Text in the title.
    q: Option<String>,
}

/// The documents the caller may know of (a 実施手順 only for its readers and maintainers).
#[utoipa::path(get, path = "/api/v1/documents", tag = "documents", params(DocQuery), responses((status = 200, description = "文書の一覧")))]
async fn list_documents(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<DocQuery>,
) -> Result<Json<Value>, AppError> {
    let cap = viewer.can::<can::ViewPolicy>(&state).await?;
    let items: Vec<Value> =
        documents::list(&state.db, &cap, &viewer.actor, &viewer.tree, q.q.as_deref())
            .await?
            .into_iter()
            .map(|r| {
                json!({"id": r.document.id, "kind": r.document.kind, "title": r.document.title,
                    "summary": r.document.summary, "published_version": r.published,
                    "latest_version": r.latest.as_ref().map(|l| l.0),
                    "latest_status": r.latest.map(|l| l.1)})
            })
            .collect();
    Ok(Json(json!({"items": items})))
}

/// One document with its versions (drafts only for CISO and 統括).
#[utoipa::path(get, path = "/api/v1/documents/{id}", tag = "documents", params(("id" = i64, Path, description = "文書のID")), responses((status = 200, description = "文書と版の一覧"), (status = 404, description = "見つからない")))]
async fn get_document(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
) -> Result<Json<Value>, AppError> {
    let (_, d, rules) = load(&state, &viewer, id).await?;
    let drafts = sees_drafts(&viewer);
    let versions: Vec<Value> = documents::versions(&state.db, d.org_id, d.id)
        .await?
        .iter()
        .filter(|v| drafts || v.status().was_published())
        .map(version_json)
        .collect();
    let readers: Vec<Value> = if d.kind() == Some(DocKind::Procedure) {
        rules
            .iter()
            .map(|r| {
                json!({"unit_id": r.unit.map(|u| u.0),
                    "unit_code": r.unit.and_then(|u| viewer.tree.get(u.0)).map(|u| u.code.clone()),
                    "role": r.role.map(mamori_core::role::Role::code)})
            })
            .collect()
    } else {
        Vec::new()
    };
    Ok(Json(
        json!({"id": d.id, "kind": d.kind, "title": d.title, "summary": d.summary,
        "readers": readers, "versions": versions}),
    ))
}

/// One version with its text (a read of a 実施手順 is audited).
#[utoipa::path(get, path = "/api/v1/documents/{id}/versions/{n}", tag = "documents", params(("id" = i64, Path, description = "文書のID"), ("n" = i64, Path, description = "版の番号")), responses((status = 200, description = "版と本文"), (status = 404, description = "見つからない")))]
async fn get_version(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((id, n)): Path<(i64, i64)>,
) -> Result<Json<Value>, AppError> {
    let (_, d, _) = load(&state, &viewer, id).await?;
    let v = load_version(&state, &viewer, &d, n).await?;
    let text = version_text(&state, &v).await?;
    record_read(&state, &viewer, &d, &v, "api").await?;
    let acknowledged_at = documents::acknowledged_at(&state.db, v.id, viewer.person.id).await?;
    let mut out = version_json(&v);
    if let Some(o) = out.as_object_mut() {
        o.insert("document_id".into(), json!(d.id));
        o.insert("kind".into(), json!(d.kind));
        o.insert("text".into(), json!(text));
        o.insert("acknowledged_at".into(), json!(acknowledged_at));
    }
    Ok(Json(out))
}

/// The caller pledges to follow a version in force (遵守の誓約). Idempotent: a second call
/// answers `created: false` and records nothing.
#[utoipa::path(post, path = "/api/v1/documents/{id}/versions/{n}/acknowledge", tag = "documents", params(("id" = i64, Path, description = "文書のID"), ("n" = i64, Path, description = "版の番号")), responses((status = 200, description = "誓約を記録した（または記録済み）"), (status = 400, description = "誓約できない版"), (status = 404, description = "見つからない")))]
async fn acknowledge_version(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((id, n)): Path<(i64, i64)>,
) -> Result<Response, AppError> {
    let (cap, d, _) = load(&state, &viewer, id).await?;
    let v = load_version(&state, &viewer, &d, n).await?;
    let ctx = viewer.audit_ctx();
    let created = write(&state, async |c: &mut AnyConnection| {
        documents::acknowledge(c, &cap, &ctx, v.id).await
    })
    .await?;
    let at = documents::acknowledged_at(&state.db, v.id, viewer.person.id).await?;
    Ok(Json(json!({"created": created, "acknowledged_at": at})).into_response())
}

/// Acknowledgement rates per unit and who has not acknowledged, within the caller's reach.
#[utoipa::path(get, path = "/api/v1/documents/{id}/versions/{n}/acknowledgements", tag = "documents", params(("id" = i64, Path, description = "文書のID"), ("n" = i64, Path, description = "版の番号")), responses((status = 200, description = "組織ごとの誓約率と未誓約者"), (status = 403, description = "権限がない"), (status = 404, description = "見つからない")))]
async fn version_acknowledgements(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((id, n)): Path<(i64, i64)>,
) -> Result<Json<Value>, AppError> {
    let (_, d, _) = load(&state, &viewer, id).await?;
    let cap = viewer.can::<can::ReportAcknowledgements>(&state).await?;
    let v = load_version(&state, &viewer, &d, n).await?;
    if !d.kind().is_some_and(DocKind::needs_acknowledgement) || !v.status().was_published() {
        return Err(AppError::NotFound);
    }
    let ack = documents::version_ack(&state.db, d.org_id, &viewer.tree, v.id, cap.reach()).await?;
    let units: Vec<Value> = ack
        .units
        .iter()
        .map(|u| {
            json!({"unit_id": u.unit_id, "name": u.name, "depth": u.depth,
            "acknowledged": u.acknowledged, "active": u.active, "percent": u.percent()})
        })
        .collect();
    Ok(Json(
        json!({"document_id": ack.document_id, "version_no": ack.version_no,
        "acknowledged": ack.acknowledged, "active": ack.active, "percent": ack.percent(),
        "units": units, "pending": ack.pending}),
    ))
}

/// Review records (見直し).
#[utoipa::path(get, path = "/api/v1/reviews", tag = "documents", responses((status = 200, description = "見直しの記録"), (status = 403, description = "権限がない")))]
async fn list_reviews(
    State(state): State<AppState>,
    viewer: Viewer,
) -> Result<Json<Value>, AppError> {
    let cap = viewer.can::<can::ViewReviews>(&state).await?;
    Ok(Json(
        json!({"items": documents::reviews(&state.db, &cap).await?}),
    ))
}

/// One review record with its inputs, threats and the document versions it produced.
#[utoipa::path(get, path = "/api/v1/reviews/{id}", tag = "documents", params(("id" = i64, Path, description = "見直しのID")), responses((status = 200, description = "見直しの記録"), (status = 403, description = "権限がない"), (status = 404, description = "見つからない")))]
async fn get_review(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
) -> Result<Json<Value>, AppError> {
    let cap = viewer.can::<can::ViewReviews>(&state).await?;
    let full = documents::review(&state.db, &cap, id).await?;
    // Only outputs the caller may know of (a 実施手順 they may not read is left out).
    let view = viewer.can::<can::ViewPolicy>(&state).await?;
    let mut outputs = Vec::new();
    for (doc, title, n) in &full.outputs {
        if documents::get(&state.db, &view, &viewer.actor, &viewer.tree, *doc)
            .await
            .is_ok()
        {
            outputs.push(json!({"document_id": doc, "title": title, "version_no": n}));
        }
    }
    Ok(Json(
        json!({"review": full.review, "inputs": full.inputs, "threats": full.threats,
        "outputs": outputs}),
    ))
}
