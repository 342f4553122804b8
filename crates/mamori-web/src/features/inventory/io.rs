//! 情報資産管理台帳 to and from Excel and CSV, in the browser and over the API.
//!
//! Export (`/inventory/export`, `GET /api/v1/assets/export`) takes the list's filters plus
//! `format=xlsx|csv` and `encoding=utf8|cp932`, and answers with the file; a CP932 export with
//! cells CP932 cannot hold answers 422 naming each cell (nothing is written in their place).
//!
//! Import in the browser is two requests, as for the roster: the upload (multipart) shows the
//! plan — every row as 新規, 変更 (with the fields that change) or 変更なし — with a 「反映する」
//! form carrying the same file back (base64) and the plan's digest; the apply step plans again
//! and refuses when the digest differs, so what is applied is what was shown. A file with
//! problems brings back the upload page with every problem (row, column, cell, value, reason)
//! and HTTP 422. Over the API (`POST /api/v1/assets/import`) the file is the body (or a
//! multipart `file` field); `dry_run=true`, the default, only plans.

use askama::Template;
use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::extract::{FromRequest, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use mamori_core::permission::{Capability, can};
use mamori_db::assets::io::{
    self as assets_io, AssetFile, Export, ExportError, ImportError, ImportPlan, ImportSummary,
    PlanRow, RowAction,
};
use mamori_tabular::{TabularError, TabularErrorKind, TabularErrors};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::ListQuery;
use crate::features::roster::ProblemRow;
use crate::session::{CsrfForm, RequestId, Viewer, constant_time_eq};
use crate::views::{Layout, page};
use crate::{AppError, AppState, upload};

/// The xlsx media type.
const XLSX_TYPE: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// Rows shown on the preview page; the rest are counted (the API returns every row).
const PREVIEW_ROWS: usize = 1_000;

/// Routes of the pages.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/inventory/export", get(export_page))
        .route("/inventory/import", get(upload_page).post(preview))
        .route("/inventory/import/apply", post(apply))
}

/// The API routes with their OpenAPI description (merged into the register's API router).
pub fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(api_export))
        .routes(routes!(api_import))
}

// ------------------------------------------------------------------ export

/// The file format of an export (the list's filters come beside it).
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(default)]
pub struct ExportQuery {
    /// `xlsx` (default) or `csv`.
    pub format: String,
    /// For CSV: `utf8` (default, with BOM) or `cp932` (Shift_JIS as Excel in Japan writes it).
    pub encoding: String,
}

/// The export the queries ask for, or why not (`Ok(Err(cells))`: cells CP932 cannot hold).
async fn make_export(
    state: &AppState,
    viewer: &Viewer,
    q: &ListQuery,
    e: &ExportQuery,
) -> Result<Result<Export, TabularErrors>, AppError> {
    let cap = viewer.can::<can::ViewAssets>(state).await?;
    let format = assets_io::export_format(&e.format, &e.encoding).map_err(AppError::bad)?;
    let (filter, _) = q.filter()?;
    match assets_io::export(
        &state.db,
        &cap,
        &viewer.audit_ctx(),
        &viewer.tree,
        &filter,
        &q.query_string(),
        format,
    )
    .await
    {
        Ok(export) => Ok(Ok(export)),
        Err(ExportError::Cells(errors)) => Ok(Err(errors)),
        Err(ExportError::Db(e)) => Err(e.into()),
    }
}

/// The file as a download.
fn download(export: Export) -> Response {
    let mut resp = export.bytes.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(export.format.content_type()),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{}\"", export.file_name))
    {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

async fn export_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<ListQuery>,
    Query(e): Query<ExportQuery>,
) -> Result<Response, AppError> {
    match make_export(&state, &viewer, &q, &e).await? {
        Ok(export) => Ok(download(export)),
        Err(errors) => {
            let mut p = upload_data(&viewer, Some(&errors));
            p.heading = "情報資産管理台帳の出力（Shift_JIS）".to_owned();
            p.export_failed = true;
            let mut resp = page(&p)?;
            *resp.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(resp)
        }
    }
}

/// Exports the register (within the caller's reach, filtered as the list) as xlsx or CSV.
#[utoipa::path(get, path = "/api/v1/assets/export", tag = "assets",
    params(ListQuery, ExportQuery),
    responses(
        (status = 200, description = "台帳ファイル（xlsx または CSV）。列は台帳の順（資産番号, 名称, … 備考）"),
        (status = 400, description = "形式・文字コード・絞り込みの指定の誤り"),
        (status = 403, description = "権限がない"),
        (status = 422, description = "Shift_JIS（CP932）で表せない文字があるセルの一覧（出力していない）")))]
pub(crate) async fn api_export(
    State(state): State<AppState>,
    viewer: Viewer,
    RequestId(request_id): RequestId,
    Query(q): Query<ListQuery>,
    Query(e): Query<ExportQuery>,
) -> Result<Response, AppError> {
    match make_export(&state, &viewer, &q, &e).await? {
        Ok(export) => Ok(download(export)),
        Err(errors) => Ok(api_rejected(
            &errors,
            &request_id,
            "unencodable",
            &format!(
                "Shift_JIS（CP932）で表せない文字が{}件あります。出力していません",
                errors.len()
            ),
        )),
    }
}

// ------------------------------------------------------------------ import pages

#[derive(Template)]
#[template(path = "inventory_import.html")]
struct UploadPage {
    layout: Layout,
    heading: String,
    export_failed: bool,
    problems: Vec<ProblemRow>,
    truncated: bool,
    columns: Vec<(&'static str, bool, &'static str)>,
    max_mb: usize,
}

fn upload_data(viewer: &Viewer, errors: Option<&TabularErrors>) -> UploadPage {
    UploadPage {
        layout: Layout::new(viewer, "情報資産の取込み", "/inventory"),
        heading: "情報資産の取込み（Excel・CSV）".to_owned(),
        export_failed: false,
        problems: errors
            .map(|e| e.iter().map(ProblemRow::from_error).collect())
            .unwrap_or_default(),
        truncated: errors.is_some_and(|e| e.truncated),
        columns: assets_io::COLUMN_HELP.to_vec(),
        max_mb: 10,
    }
}

/// The upload page again with every problem and HTTP 422; nothing has been written.
fn rejected(
    viewer: &Viewer,
    errors: &TabularErrors,
    max_body: usize,
) -> Result<Response, AppError> {
    let mut p = upload_data(viewer, Some(errors));
    p.max_mb = max_body / (1024 * 1024);
    let mut resp = page(&p)?;
    *resp.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    Ok(resp)
}

async fn upload_page(State(state): State<AppState>, viewer: Viewer) -> Result<Response, AppError> {
    viewer.can::<can::EditAssets>(&state).await?;
    let mut p = upload_data(&viewer, None);
    p.max_mb = state.config.max_body_bytes / (1024 * 1024);
    page(&p)
}

/// A plan row as the preview shows it.
struct PreviewRow {
    row: usize,
    asset_no: String,
    name: String,
    action: &'static str,
    changes: Vec<mamori_db::assets::io::FieldChange>,
}

#[derive(Template)]
#[template(path = "inventory_import_preview.html")]
struct PreviewPage {
    layout: Layout,
    plan: ImportPlan,
    rows: Vec<PreviewRow>,
    shown: usize,
    stale: bool,
    file_b64: String,
}

/// Rows to show: new and changed ones first, then unchanged, up to [`PREVIEW_ROWS`].
fn preview_rows(rows: &[PlanRow]) -> Vec<PreviewRow> {
    let changing = rows.iter().filter(|r| r.action != RowAction::Unchanged);
    let unchanged = rows.iter().filter(|r| r.action == RowAction::Unchanged);
    changing
        .chain(unchanged)
        .take(PREVIEW_ROWS)
        .map(|r| PreviewRow {
            row: r.row,
            asset_no: r.asset_no.clone(),
            name: r.name.clone(),
            action: r.action.label_ja(),
            changes: r.changes.clone(),
        })
        .collect()
}

fn preview_page(
    viewer: &Viewer,
    plan: ImportPlan,
    bytes: &[u8],
    stale: bool,
) -> Result<Response, AppError> {
    let rows = preview_rows(&plan.rows);
    let data = PreviewPage {
        layout: Layout::new(viewer, "情報資産の取込み（確認）", "/inventory"),
        shown: rows.len(),
        rows,
        stale,
        file_b64: BASE64.encode(bytes),
        plan,
    };
    let mut resp = page(&data)?;
    if stale {
        *resp.status_mut() = StatusCode::CONFLICT;
    }
    Ok(resp)
}

/// Reads (off the async threads: inflating and parsing a workbook is CPU work) and plans;
/// `Ok(Err(errors))` is a file the user must fix.
async fn read_and_plan(
    state: &AppState,
    viewer: &Viewer,
    cap: &Capability<can::EditAssets>,
    bytes: Bytes,
    file_name: &str,
) -> Result<Result<ImportPlan, TabularErrors>, AppError> {
    let name = file_name.to_owned();
    let read = tokio::task::spawn_blocking(move || assets_io::read_file(&bytes, &name))
        .await
        .map_err(|e| AppError::Internal(format!("asset import reader: {e}")))?;
    let file: AssetFile = match read {
        Ok(f) => f,
        Err(e) => return Ok(Err(e)),
    };
    match assets_io::plan(&state.db, cap, &viewer.tree, file).await {
        Ok(plan) => Ok(Ok(plan)),
        Err(ImportError::Input(e)) => Ok(Err(e)),
        Err(e) => Err(import_error(e)),
    }
}

fn import_error(e: ImportError) -> AppError {
    match e {
        ImportError::Input(errors) => AppError::Unprocessable(errors.to_string()),
        ImportError::Stale => AppError::Conflict(ImportError::Stale.to_string()),
        ImportError::Db(e) => AppError::from(e),
    }
}

fn no_file() -> TabularErrors {
    TabularErrors::one(TabularError::file(TabularErrorKind::Invalid {
        reason: "ファイルが選択されていません".to_owned(),
    }))
}

async fn preview(
    State(state): State<AppState>,
    viewer: Viewer,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, AppError> {
    let multipart = multipart
        .map_err(|_| AppError::bad("ファイルを添付したフォーム（multipart）で送信してください"))?;
    let upload = upload::read(multipart, "file").await?;
    upload::check_csrf(&viewer, &upload)?;
    let cap = viewer.can::<can::EditAssets>(&state).await?;
    let max_body = state.config.max_body_bytes;
    if !upload.has_file() {
        return rejected(&viewer, &no_file(), max_body);
    }
    match read_and_plan(
        &state,
        &viewer,
        &cap,
        upload.file.clone(),
        &upload.file_name,
    )
    .await?
    {
        Ok(plan) => preview_page(&viewer, plan, &upload.file, false),
        Err(e) => rejected(&viewer, &e, max_body),
    }
}

/// The 「反映する」 form: the file as previewed and the digest of the plan that was shown.
#[derive(Deserialize)]
struct ApplyForm {
    file: String,
    file_name: String,
    digest: String,
}

#[derive(Template)]
#[template(path = "inventory_import_result.html")]
struct ResultPage {
    layout: Layout,
    file_name: String,
    summary: ImportSummary,
}

async fn apply(
    State(state): State<AppState>,
    viewer: Viewer,
    CsrfForm(form): CsrfForm<ApplyForm>,
) -> Result<Response, AppError> {
    let cap = viewer.can::<can::EditAssets>(&state).await?;
    let max_body = state.config.max_body_bytes;
    let bytes = Bytes::from(BASE64.decode(form.file.trim()).map_err(|_| {
        AppError::bad("送信されたファイルを読み取れませんでした。もう一度選択してください")
    })?);
    let plan = match read_and_plan(&state, &viewer, &cap, bytes.clone(), &form.file_name).await? {
        Ok(plan) => plan,
        Err(e) => return rejected(&viewer, &e, max_body),
    };
    // The digest covers the file and every row's target and content: any difference means the
    // user would be applying something other than what they saw.
    if !constant_time_eq(plan.digest.as_bytes(), form.digest.as_bytes()) {
        return preview_page(&viewer, plan, &bytes, true);
    }
    let file_name = plan.file_name.clone();
    match assets_io::apply(&state.db, &cap, &viewer.audit_ctx(), plan).await {
        Ok(summary) => page(&ResultPage {
            layout: Layout::new(&viewer, "情報資産の取込み（完了）", "/inventory"),
            file_name,
            summary,
        }),
        Err(ImportError::Stale) => {
            // Someone wrote between our plan and our transaction: show the plan as it is now.
            match read_and_plan(&state, &viewer, &cap, bytes.clone(), &form.file_name).await? {
                Ok(plan) => preview_page(&viewer, plan, &bytes, true),
                Err(e) => rejected(&viewer, &e, max_body),
            }
        }
        Err(ImportError::Input(e)) => rejected(&viewer, &e, max_body),
        Err(e) => Err(import_error(e)),
    }
}

// ------------------------------------------------------------------ import API

/// Query of the API import.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ImportQuery {
    /// `true` (the default) only computes the plan; `false` applies it in one transaction.
    dry_run: Option<bool>,
}

/// The file of an API import: a multipart `file` field, or the body itself named by
/// `X-File-Name` (UTF-8 or percent-encoded; the content decides the format, the name only
/// makes a non-xlsx body named .xlsx an error).
async fn api_file(state: &AppState, req: Request) -> Result<(String, Bytes), AppError> {
    let headers = req.headers().clone();
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if content_type.starts_with("multipart/form-data") {
        let multipart = Multipart::from_request(req, state)
            .await
            .map_err(|_| AppError::bad("multipart の本文を読み取れませんでした"))?;
        let upload = upload::read(multipart, "file").await?;
        if !upload.has_file() {
            return Err(AppError::bad("file フィールドにファイルを添付してください"));
        }
        return Ok((upload.file_name, upload.file));
    }
    let body = Bytes::from_request(req, state).await.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::PayloadTooLarge
        } else {
            AppError::bad("送信された内容を読み取れませんでした")
        }
    })?;
    Ok((file_name_for(&headers, &content_type), body))
}

/// The name of a raw-body upload: `X-File-Name`, else one implied by the declared type.
fn file_name_for(headers: &HeaderMap, content_type: &str) -> String {
    let declared = headers.get("x-file-name").and_then(|v| {
        let raw = String::from_utf8(v.as_bytes().to_vec()).ok()?;
        let decoded: Vec<(String, String)> =
            serde_urlencoded::from_str(&format!("n={}", raw.replace('+', "%2B"))).ok()?;
        decoded.into_iter().next().map(|(_, v)| v)
    });
    match declared.filter(|n| !n.trim().is_empty()) {
        Some(name) => name,
        None if content_type.starts_with(XLSX_TYPE) => "import.xlsx".to_owned(),
        None => "import.csv".to_owned(),
    }
}

/// An error answer listing every problem of a file: row, column, cell, value and reason.
fn api_rejected(errors: &TabularErrors, request_id: &str, code: &str, message: &str) -> Response {
    let items: Vec<Value> = errors
        .iter()
        .map(|e| {
            json!({"row": e.row, "column": e.column, "cell": e.cell, "value": e.value,
                "message": e.kind.to_string(), "text": e.to_string()})
        })
        .collect();
    let body = json!({
        "error": {"code": code, "message": message, "request_id": request_id},
        "errors": items,
        "truncated": errors.truncated,
    });
    (StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response()
}

/// Imports the register from xlsx or CSV (UTF-8 with or without BOM, or CP932): the body is the
/// file (name it with `X-File-Name`) or a multipart form with a `file` field. Returns the plan —
/// every row as `create`, `update` (with the changed fields) or `unchanged`; with
/// `dry_run=false` it is also applied, all rows or none.
#[utoipa::path(post, path = "/api/v1/assets/import", tag = "assets",
    params(ImportQuery,
        ("X-File-Name" = Option<String>, Header, description = "ファイル名（UTF-8 またはパーセントエンコード）")),
    request_body(
        description = "台帳ファイルそのもの（xlsx または CSV）、または file フィールドを持つ multipart/form-data",
        content(("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"), ("text/csv"), ("multipart/form-data"))
    ),
    responses(
        (status = 200, description = "取込み計画（applied=true なら反映済み。summary に件数と監査証跡の番号）"),
        (status = 403, description = "権限がない"),
        (status = 409, description = "計画の作成後に台帳が変更された（何も反映していない）"),
        (status = 413, description = "ファイルが大きすぎる"),
        (status = 422, description = "ファイルの誤り（行・列・値・理由の一覧。何も反映していない）")))]
pub(crate) async fn api_import(
    State(state): State<AppState>,
    viewer: Viewer,
    RequestId(request_id): RequestId,
    Query(q): Query<ImportQuery>,
    req: Request,
) -> Result<Response, AppError> {
    let cap = viewer.can::<can::EditAssets>(&state).await?;
    let (file_name, bytes) = api_file(&state, req).await?;
    let plan = match read_and_plan(&state, &viewer, &cap, bytes, &file_name).await? {
        Ok(plan) => plan,
        Err(errors) => {
            let message = format!(
                "台帳ファイルに{}件の問題があります。何も反映していません",
                errors.len()
            );
            return Ok(api_rejected(&errors, &request_id, "invalid_file", &message));
        }
    };
    let plan_json = serde_json::to_value(&plan)?;
    if q.dry_run.unwrap_or(true) {
        return Ok(
            Json(json!({"applied": false, "plan": plan_json, "summary": null})).into_response(),
        );
    }
    match assets_io::apply(&state.db, &cap, &viewer.audit_ctx(), plan).await {
        Ok(summary) => Ok(
            Json(json!({"applied": true, "plan": plan_json, "summary": summary})).into_response(),
        ),
        Err(ImportError::Input(errors)) => {
            let message = format!(
                "取扱いルールに違反する行が{}件あります。何も反映していません",
                errors.len()
            );
            Ok(api_rejected(&errors, &request_id, "invalid_file", &message))
        }
        Err(e) => Err(import_error(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_uploads_are_named_by_header_or_type() {
        let mut h = HeaderMap::new();
        assert_eq!(file_name_for(&h, "text/csv"), "import.csv");
        assert_eq!(file_name_for(&h, XLSX_TYPE), "import.xlsx");
        h.insert(
            "x-file-name",
            HeaderValue::from_static("%E5%8F%B0%E5%B8%B3+R8.xlsx"),
        );
        assert_eq!(file_name_for(&h, "text/csv"), "台帳+R8.xlsx");
    }
}
