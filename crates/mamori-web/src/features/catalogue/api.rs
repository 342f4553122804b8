//! The standards catalogue in the JSON API (`/api/v1/standards`): the clause tree with status
//! counts, a clause with its controls and evidence, clause edits, controls, evidence upload and
//! download, and the clause import (a dry run first).

use axum::Json;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use mamori_core::calendar::today_jst;
use mamori_core::permission::can;
use mamori_db::AnyConnection;
use mamori_db::catalogue::evidence;
use mamori_db::catalogue::import as clause_import;
use mamori_db::catalogue::{self, Clause, ClauseEdit, Control, ControlInput, ControlStatus};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

use super::{MAX_IMPORT_BYTES, catalogue_error, write};
use crate::features::api::ApiJson;
use crate::session::Viewer;
use crate::{AppError, AppState};

/// The catalogue's API routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_clauses))
        .routes(routes!(get_clause, update_clause))
        .routes(routes!(create_control))
        .routes(routes!(update_control))
        .routes(routes!(upload_evidence).layer(DefaultBodyLimit::disable()))
        .routes(routes!(download_evidence))
        .routes(routes!(import_clauses))
}

fn clause_json(c: &Clause, counts: Option<&[i64; 4]>) -> Value {
    let counts = counts.copied().unwrap_or([0; 4]);
    json!({
        "id": c.id, "number": c.number, "guideline_no": c.guideline_no, "parent_id": c.parent_id,
        "title": c.title, "body": c.body, "source": c.source, "version": c.version,
        "updated_at": c.updated_at,
        "controls": {"not_started": counts[0], "in_progress": counts[1], "done": counts[2],
            "excepted": counts[3]},
    })
}

fn control_json(c: &Control, viewer: &Viewer) -> Value {
    json!({
        "id": c.id, "clause_id": c.clause_id, "clause_number": c.clause_number, "title": c.title,
        "unit_id": c.unit_id, "unit_code": viewer.tree.get(c.unit_id).map(|u| u.code.clone()),
        "unit_name": viewer.tree.full_name(c.unit_id), "status": c.status,
        "status_label": c.status().label_ja(), "exception_ref": c.exception_ref, "note": c.note,
        "version": c.version, "updated_at": c.updated_at,
    })
}

/// The clause tree, each clause with its controls counted by status (a chapter includes its
/// sections).
#[utoipa::path(get, path = "/api/v1/standards", tag = "standards", responses((status = 200, description = "対策基準の条項（木構造の順）と対策の実施状況の件数")))]
async fn list_clauses(
    State(state): State<AppState>,
    viewer: Viewer,
) -> Result<Json<Value>, AppError> {
    let cap = viewer.can::<can::ViewPolicy>(&state).await?;
    let clauses = catalogue::clauses(&state.db, cap.org()).await?;
    let counts = catalogue::status_counts(&state.db, cap.org()).await?;
    let rolled = catalogue::roll_up(&clauses, &counts);
    let items: Vec<Value> = clauses
        .iter()
        .map(|c| clause_json(c, rolled.get(&c.id)))
        .collect();
    Ok(Json(json!({"items": items})))
}

/// One clause with its controls and their evidence (metadata).
#[utoipa::path(get, path = "/api/v1/standards/clauses/{id}", tag = "standards", params(("id" = i64, Path, description = "条項のID")), responses((status = 200, description = "条項・対策・証跡"), (status = 404, description = "見つからない")))]
async fn get_clause(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
) -> Result<Json<Value>, AppError> {
    let (cap, clause) = super::visible_clause(&state, &viewer, id).await?;
    let counts = catalogue::status_counts(&state.db, cap.org()).await?;
    let mut controls = Vec::new();
    for c in catalogue::controls_of(&state.db, cap.org(), clause.id).await? {
        let mut v = control_json(&c, &viewer);
        if let Some(obj) = v.as_object_mut() {
            obj.insert(
                "evidence".into(),
                json!(evidence::of_control(&state.db, cap.org(), c.id).await?),
            );
        }
        controls.push(v);
    }
    let mut out = clause_json(&clause, counts.get(&clause.id));
    if let Some(obj) = out.as_object_mut() {
        obj.insert("controls_list".into(), json!(controls));
    }
    Ok(Json(out))
}

/// A clause edit.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClauseBody {
    /// 見出し.
    pub title: String,
    /// 本文.
    #[serde(default)]
    pub body: String,
    /// ガイドライン番号 (empty: none).
    #[serde(default)]
    pub guideline_no: String,
    /// The version the edit started from (refused when it has changed).
    #[serde(default)]
    pub version: Option<i64>,
}

/// Edits a clause's title, text and guideline number (統括, CISO).
#[utoipa::path(put, path = "/api/v1/standards/clauses/{id}", tag = "standards", params(("id" = i64, Path, description = "条項のID")), request_body = ClauseBody, responses((status = 200, description = "保存した"), (status = 403, description = "権限がない"), (status = 409, description = "他の人が先に変更した"), (status = 422, description = "入力の誤り")))]
async fn update_clause(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<ClauseBody>,
) -> Result<Json<Value>, AppError> {
    let (_, clause) = super::visible_clause(&state, &viewer, id).await?;
    let cap = viewer.can::<can::EditStandards>(&state).await?;
    let edit = ClauseEdit {
        title: body.title,
        body: body.body,
        guideline_no: body.guideline_no,
    };
    write(&state, async |tx: &mut AnyConnection| {
        catalogue::update_clause(
            tx,
            &cap,
            &viewer.audit_ctx(),
            clause.id,
            body.version,
            &edit,
        )
        .await
    })
    .await?;
    let clause = catalogue::clause(&state.db, cap.org(), id).await?;
    Ok(Json(clause_json(&clause, None)))
}

/// A control as sent.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ControlBody {
    /// 対策.
    pub title: String,
    /// 担当組織（組織コード）.
    pub unit: String,
    /// 実施状況: `not_started`, `in_progress`, `done`, `excepted` (or 未着手 …).
    #[serde(default)]
    pub status: Option<String>,
    /// 例外措置番号 (for `excepted`).
    #[serde(default)]
    pub exception_ref: String,
    /// 備考.
    #[serde(default)]
    pub note: String,
    /// The version the edit started from.
    #[serde(default)]
    pub version: Option<i64>,
}

fn control_input(viewer: &Viewer, body: ControlBody) -> Result<ControlInput, AppError> {
    let unit_id = viewer
        .tree
        .by_code(body.unit.trim())
        .map(|u| u.id)
        .ok_or_else(|| {
            AppError::Unprocessable(format!("担当組織「{}」が見つかりません", body.unit.trim()))
        })?;
    let status = match body.status.as_deref().map(str::trim) {
        None | Some("") => ControlStatus::NotStarted,
        Some(s) => ControlStatus::parse(s).ok_or_else(|| {
            AppError::Unprocessable(
                "実施状況は not_started・in_progress・done・excepted のいずれかです".into(),
            )
        })?,
    };
    Ok(ControlInput {
        title: body.title,
        unit_id,
        status,
        exception_ref: body.exception_ref,
        note: body.note,
    })
}

/// Adds a control to a clause (its owner unit within the caller's reach).
#[utoipa::path(post, path = "/api/v1/standards/clauses/{id}/controls", tag = "standards", params(("id" = i64, Path, description = "条項のID")), request_body = ControlBody, responses((status = 201, description = "追加した"), (status = 403, description = "権限がない"), (status = 422, description = "入力の誤り")))]
async fn create_control(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<ControlBody>,
) -> Result<Response, AppError> {
    let (_, clause) = super::visible_clause(&state, &viewer, id).await?;
    let input = control_input(&viewer, body)?;
    let cap = viewer.can::<can::EditControls>(&state).await?;
    let tree = viewer.tree.clone();
    let kid = write(&state, async |tx: &mut AnyConnection| {
        catalogue::create_control(
            tx,
            &cap,
            &viewer.audit_ctx(),
            &tree,
            clause.id,
            &input,
            today_jst(),
        )
        .await
    })
    .await?;
    let c = catalogue::control(&state.db, cap.org(), kid).await?;
    Ok((StatusCode::CREATED, Json(control_json(&c, &viewer))).into_response())
}

/// Updates a control (status, owner unit, title).
#[utoipa::path(put, path = "/api/v1/standards/controls/{id}", tag = "standards", params(("id" = i64, Path, description = "対策のID")), request_body = ControlBody, responses((status = 200, description = "保存した"), (status = 403, description = "権限がない"), (status = 422, description = "入力の誤り")))]
async fn update_control(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<ControlBody>,
) -> Result<Json<Value>, AppError> {
    let (cap, _) = super::editable_control(&state, &viewer, id).await?;
    let version = body.version;
    let input = control_input(&viewer, body)?;
    let tree = viewer.tree.clone();
    write(&state, async |tx: &mut AnyConnection| {
        catalogue::update_control(
            tx,
            &cap,
            &viewer.audit_ctx(),
            &tree,
            id,
            version,
            &input,
            today_jst(),
        )
        .await
    })
    .await?;
    let c = catalogue::control(&state.db, cap.org(), id).await?;
    Ok(Json(control_json(&c, &viewer)))
}

/// Reads a raw body up to `max` bytes (413 beyond).
async fn body_bytes(body: Body, max: usize) -> Result<Vec<u8>, AppError> {
    let limited = http_body_util::Limited::new(body, max);
    match limited.collect().await {
        Ok(c) => Ok(c.to_bytes().to_vec()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(AppError::PayloadTooLarge),
        Err(_) => Err(AppError::bad("送信された内容を読み取れませんでした")),
    }
}

/// The file name an API upload gives in `X-File-Name` (percent-encoded UTF-8 allowed).
fn header_file_name(headers: &HeaderMap, default: &str) -> String {
    let raw = headers
        .get("x-file-name")
        .and_then(|v| v.to_str().ok())
        .unwrap_or(default);
    let decoded = percent_decode(raw);
    evidence::clean_name(&decoded)
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%'
            && let Some(hex) = bytes.get(i + 1..i + 3)
            && let Ok(h) = u8::from_str_radix(&String::from_utf8_lossy(hex), 16)
        {
            out.push(h);
            i += 3;
            continue;
        }
        out.push(b);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Query of an evidence upload.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct EvidenceQuery {
    /// The evidence's name, to store a new version of it (default: the file name).
    pub name: Option<String>,
}

/// Uploads an evidence file for a control: the body is the file, its name in `X-File-Name`.
/// Executables, scripts and macro-enabled documents are refused; a name the control already
/// has gets a new version.
#[utoipa::path(post, path = "/api/v1/standards/controls/{id}/evidence", tag = "standards", params(("id" = i64, Path, description = "対策のID"), EvidenceQuery), request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "証跡ファイル"), responses((status = 201, description = "登録した（版番号と SHA-256）"), (status = 403, description = "権限がない"), (status = 413, description = "上限を超える大きさ"), (status = 422, description = "禁止された形式など")))]
async fn upload_evidence(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Query(q): Query<EvidenceQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, AppError> {
    let (cap, _) = super::editable_control(&state, &viewer, id).await?;
    let max = state.config.max_evidence_bytes;
    let bytes = body_bytes(body, max).await?;
    let file_name = header_file_name(&headers, "evidence");
    let tree = viewer.tree.clone();
    let (eid, version) = write(&state, async |tx: &mut AnyConnection| {
        evidence::add(
            tx,
            &cap,
            &viewer.audit_ctx(),
            &tree,
            id,
            q.name.as_deref().unwrap_or(""),
            &file_name,
            &bytes,
            max,
        )
        .await
    })
    .await?;
    let all = evidence::of_control(&state.db, cap.org(), id).await?;
    let stored = all.into_iter().find(|v| v.id == eid);
    Ok((
        StatusCode::CREATED,
        Json(json!({"id": eid, "version": version, "evidence": stored})),
    )
        .into_response())
}

/// Downloads an evidence file (recorded in the audit trail).
#[utoipa::path(get, path = "/api/v1/standards/evidence/{id}", tag = "standards", params(("id" = i64, Path, description = "証跡のID")), responses((status = 200, description = "証跡ファイル"), (status = 403, description = "権限がない"), (status = 404, description = "見つからない")))]
async fn download_evidence(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    viewer.can::<can::ViewPolicy>(&state).await?;
    super::download(&state, &viewer, id).await
}

/// Query of an import.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ImportQuery {
    /// `true`: check and show what would change, write nothing.
    pub dry_run: Option<bool>,
}

/// Imports clauses from a file (xlsx or CSV in UTF-8/CP932; columns 番号, 見出し, 本文, 親番号,
/// ガイドライン番号) sent as the body, its name in `X-File-Name`. Every row is checked first;
/// with any problem nothing is written and every problem is listed.
#[utoipa::path(post, path = "/api/v1/standards/import", tag = "standards", params(ImportQuery), request_body(content = Vec<u8>, content_type = "text/csv", description = "取り込むファイル"), responses((status = 200, description = "取り込んだ（または dry_run の結果）"), (status = 403, description = "権限がない"), (status = 422, description = "ファイルの誤り（行ごとの一覧）")))]
async fn import_clauses(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<ImportQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, AppError> {
    let cap = viewer.can::<can::EditStandards>(&state).await?;
    let bytes = body_bytes(body, MAX_IMPORT_BYTES).await?;
    let file_name = header_file_name(&headers, "standards.csv");
    let dry_run = q.dry_run.unwrap_or(false);
    let invalid = |errors: Vec<String>, viewer: &Viewer| {
        let mut resp = (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({"error": {"code": "unprocessable",
                "message": format!("取り込めません（{} 件の問題）。何も書き込んでいません", errors.len()),
                "request_id": viewer.request_id}, "errors": errors})),
        )
            .into_response();
        resp.headers_mut().insert(
            axum::http::header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static("application/json"),
        );
        resp
    };
    let file = match clause_import::read(&bytes, &file_name) {
        Ok(f) => f,
        Err(errors) => return Ok(invalid(errors, &viewer)),
    };
    let plan = if dry_run {
        catalogue::ensure_seeded(&state.db, cap.org()).await?;
        let mut conn = state
            .db
            .pool()
            .acquire()
            .await
            .map_err(mamori_db::DbError::from)?;
        clause_import::plan(&mut conn, cap.org().0, &file)
            .await
            .map_err(catalogue_error)?
    } else {
        let mut tx = state.db.begin_write().await?;
        match clause_import::apply(&mut tx, &cap, &viewer.audit_ctx(), &file).await {
            Ok(plan) => {
                tx.commit().await.map_err(mamori_db::DbError::from)?;
                plan
            }
            Err(catalogue::CatalogueError::Invalid(m)) => {
                return Ok(invalid(m.lines().map(str::to_owned).collect(), &viewer));
            }
            Err(e) => return Err(catalogue_error(e)),
        }
    };
    if !plan.errors.is_empty() {
        return Ok(invalid(plan.errors, &viewer));
    }
    let (added, updated, unchanged) = plan.counts();
    let rows: Vec<Value> = plan
        .rows
        .iter()
        .map(|r| {
            json!({"row": r.row, "number": r.number, "title": r.title, "parent": r.parent,
            "guideline_no": r.guideline_no, "action": r.action})
        })
        .collect();
    Ok(Json(
        json!({"dry_run": dry_run, "file_name": plan.file_name, "sha256": plan.sha256,
        "added": added, "updated": updated, "unchanged": unchanged, "rows": rows}),
    )
    .into_response())
}
