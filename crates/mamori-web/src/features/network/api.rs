//! The network description in the JSON API: read it (as the JSON shape of the TOML format),
//! replace it with a new version (JSON or TOML body), read the check result and the versions.
//! Registered with their OpenAPI description in [`crate::features::api::router`].

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use mamori_core::permission::can;
use mamori_db::network::{self, NetworkVersion};
use mamori_netcheck::InputError;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Analysis, analyse_off_thread, author, clean_note, file_name, store, utf8_text};
use crate::session::{RequestId, Viewer};
use crate::{AppError, AppState};

/// Which version to read.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct VersionParam {
    /// Version number; the newest when absent.
    version: Option<i64>,
}

/// Why a new version is made.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct NoteParam {
    /// 改定の理由 (stored with the version).
    note: Option<String>,
}

fn version_json(v: &NetworkVersion) -> Value {
    json!({
        "version_no": v.version_no,
        "note": v.note,
        "created_by": v.created_by,
        "created_by_name": author(v.created_by, v.created_by_name.as_deref()),
        "created_at": v.created_at,
    })
}

async fn read(
    state: &AppState,
    viewer: &Viewer,
    version: Option<i64>,
) -> Result<(NetworkVersion, Analysis), AppError> {
    let cap = viewer.can::<can::ViewNetwork>(state).await?;
    let v = match version {
        Some(n) => network::version(&state.db, &cap, n).await?,
        None => network::current(&state.db, &cap).await?,
    }
    .ok_or(AppError::NotFound)?;
    let analysis = analyse_off_thread(v.toml.clone(), file_name(v.version_no))
        .await?
        .map_err(|e| AppError::Internal(format!("stored network does not read: {e}")))?;
    Ok((v, analysis))
}

/// The network description (the JSON form of the `mamori netcheck` TOML format) and its
/// version.
#[utoipa::path(get, path = "/api/v1/network", tag = "network", params(VersionParam),
    responses(
        (status = 200, description = "ネットワーク構成（TOML 形式と同じ構造の JSON）と版の情報"),
        (status = 403, description = "権限がない（統括・CISO・副CISO・情報システム管理者/担当者・監査人のみ）"),
        (status = 404, description = "未登録、またはその版がない")))]
pub(crate) async fn get_network(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<VersionParam>,
) -> Result<Json<Value>, AppError> {
    let (v, a) = read(&state, &viewer, q.version).await?;
    Ok(Json(json!({
        "version": version_json(&v),
        "network": serde_json::to_value(&a.network)?,
        "summary": a.report.summary,
    })))
}

/// The answer to invalid input: every problem with its line and column (TOML, and JSON syntax
/// errors) or its element path (JSON integrity errors).
fn invalid(e: &InputError, request_id: &str) -> Response {
    let body = json!({
        "error": {
            "code": "invalid_network",
            "message": format!("ネットワーク構成の記述に誤りがあります（{} 件）", e.diagnostics.len()),
            "request_id": request_id,
        },
        "diagnostics": e.diagnostics,
    });
    (StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response()
}

/// Stores a new version of the network description. The body is the description as JSON
/// (`application/json`, the shape `GET /api/v1/network` returns under `network`) or as TOML
/// (`application/toml`). Nothing is stored unless it is valid.
#[utoipa::path(put, path = "/api/v1/network", tag = "network", params(NoteParam),
    request_body(description = "ネットワーク構成（JSON または TOML）",
        content(("application/json"), ("application/toml"))),
    responses(
        (status = 200, description = "新しい版として登録した。版の情報と検査結果"),
        (status = 403, description = "権限がない（統括・情報システム管理者のみ）"),
        (status = 415, description = "Content-Type が application/json でも application/toml でもない"),
        (status = 422, description = "記述の誤り（行・列または要素の位置つき）")))]
pub(crate) async fn put_network(
    State(state): State<AppState>,
    viewer: Viewer,
    RequestId(request_id): RequestId,
    Query(q): Query<NoteParam>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AppError> {
    let cap = viewer.can::<can::EditNetwork>(&state).await?;
    let media = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let toml = match media.as_str() {
        "application/toml" => match utf8_text(&body, "request.toml") {
            Ok(t) => t,
            Err(e) => return Ok(invalid(&e, &request_id)),
        },
        "application/json" => {
            let parsed = utf8_text(&body, "request.json")
                .and_then(|t| mamori_netcheck::parse_json(&t, "request.json"));
            let net = match parsed {
                Ok(n) => n,
                Err(e) => return Ok(invalid(&e, &request_id)),
            };
            // Kept as TOML like every other version, so an export is the same format.
            mamori_netcheck::to_toml(&net)
                .map_err(|e| AppError::Internal(format!("network to TOML: {e}")))?
        }
        _ => {
            // The error layer writes the standard JSON error body for 415.
            return Ok(StatusCode::UNSUPPORTED_MEDIA_TYPE.into_response());
        }
    };
    let note = clean_note(q.note.as_deref().unwrap_or_default());
    let file = if media == "application/toml" {
        "request.toml"
    } else {
        "request.json"
    };
    match store(&state.db, &cap, &viewer.audit_ctx(), toml, file, &note).await? {
        Ok(n) => {
            let (v, a) = read(&state, &viewer, Some(n)).await?;
            Ok(Json(json!({"version": version_json(&v), "report": a.report})).into_response())
        }
        Err(e) => Ok(invalid(&e, &request_id)),
    }
}

/// The checker's report on the network description — the same JSON `mamori netcheck --format
/// json` prints: violations with rule id, policy section, severity, Japanese message, the
/// element and its position in the stored TOML (file `network-vN.toml`, as exported).
#[utoipa::path(get, path = "/api/v1/network/check", tag = "network", params(VersionParam),
    responses(
        (status = 200, description = "検査結果（違反の一覧と件数）"),
        (status = 403, description = "権限がない"),
        (status = 404, description = "未登録、またはその版がない")))]
pub(crate) async fn check_network(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<VersionParam>,
) -> Result<Json<Value>, AppError> {
    let (_, a) = read(&state, &viewer, q.version).await?;
    Ok(Json(serde_json::to_value(&a.report)?))
}

/// Every version, newest first (without the text).
#[utoipa::path(get, path = "/api/v1/network/versions", tag = "network",
    responses(
        (status = 200, description = "版の一覧"),
        (status = 403, description = "権限がない")))]
pub(crate) async fn network_versions(
    State(state): State<AppState>,
    viewer: Viewer,
) -> Result<Json<Value>, AppError> {
    let cap = viewer.can::<can::ViewNetwork>(&state).await?;
    let items: Vec<Value> = network::versions(&state.db, &cap)
        .await?
        .into_iter()
        .map(|v| {
            json!({
                "version_no": v.version_no,
                "note": v.note,
                "chars": v.chars,
                "created_by": v.created_by,
                "created_by_name": author(v.created_by, v.created_by_name.as_deref()),
                "created_at": v.created_at,
            })
        })
        .collect();
    Ok(Json(json!({"items": items})))
}
