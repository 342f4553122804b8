//! 名簿取込み in the browser and over the API: upload a staff roster (CSV or xlsx), see what it
//! would change, then apply it in one transaction (issue 2 §3, the April 人事異動).
//!
//! The browser flow is two requests: the preview uploads the file (multipart) and shows the plan
//! with a 「反映する」 form that carries the same file back (base64) and the plan's digest; the
//! apply step reads and plans again and refuses when the digest differs, so what is applied is
//! exactly what was shown. Nothing is kept on the server between the two steps. A file with
//! problems brings back the upload page with every problem listed (row and column) and HTTP 422.

use askama::Template;
use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::multipart::{Multipart, MultipartError, MultipartRejection};
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use mamori_core::calendar::{format_iso, parse_date};
use mamori_core::permission::{Capability, can};
use mamori_core::role::Role;
use mamori_db::audit;
use mamori_db::roster::{self, RosterError, RosterFile, RosterPlan};
use mamori_tabular::{ExportFormat, TabularError, TabularErrorKind, TabularErrors};
use serde::Deserialize;
use serde_json::{Value, json};
use time::Date;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::session::{CsrfForm, RequestId, Viewer, constant_time_eq, today_jst};
use crate::views::{Layout, date_ja, page};
use crate::{AppError, AppState};

/// The xlsx media type.
const XLSX_TYPE: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// Longest text field accepted in the upload form besides the file.
const MAX_FIELD_BYTES: usize = 1_000;

/// Routes of the pages.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/org/roster", get(upload_page))
        .route("/org/roster/template.xlsx", get(template_xlsx))
        .route("/org/roster/template.csv", get(template_csv))
        .route("/org/roster/preview", post(preview))
        .route("/org/roster/apply", post(apply))
        .route("/org/roster/result/{seq}", get(result))
}

/// The API route with its OpenAPI description (merged into the API router).
pub fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(api_import))
}

/// One problem of a file, placed for the table on an upload page.
pub(crate) struct ProblemRow {
    pub(crate) row: String,
    pub(crate) column: String,
    pub(crate) cell: String,
    pub(crate) value: String,
    pub(crate) message: String,
}

impl ProblemRow {
    /// The problem's place and reason as the table shows them.
    pub(crate) fn from_error(e: &TabularError) -> Self {
        ProblemRow {
            row: e.row.map(|r| format!("{r}行目")).unwrap_or_default(),
            column: e.column.clone().unwrap_or_default(),
            cell: e.cell.clone().unwrap_or_default(),
            value: e.value.clone().unwrap_or_default(),
            message: e.kind.to_string(),
        }
    }
}

struct ColumnHelp {
    header: &'static str,
    required: bool,
    meaning: &'static str,
}

#[derive(Template)]
#[template(path = "roster_upload.html")]
struct UploadPage {
    layout: Layout,
    effective: String,
    problems: Vec<ProblemRow>,
    truncated: bool,
    columns: Vec<ColumnHelp>,
}

fn upload(viewer: &Viewer, effective: &str, errors: Option<&TabularErrors>) -> UploadPage {
    UploadPage {
        layout: Layout::new(viewer, "名簿の取込み", "/org"),
        effective: effective.to_owned(),
        problems: errors
            .map(|e| e.iter().map(ProblemRow::from_error).collect())
            .unwrap_or_default(),
        truncated: errors.is_some_and(|e| e.truncated),
        columns: roster::COLUMN_HELP
            .iter()
            .map(|&(header, required, meaning)| ColumnHelp {
                header,
                required,
                meaning,
            })
            .collect(),
    }
}

/// The upload page again with every problem and HTTP 422; nothing has been written.
fn rejected(
    viewer: &Viewer,
    effective: &str,
    errors: &TabularErrors,
) -> Result<Response, AppError> {
    let mut resp = page(&upload(viewer, effective, Some(errors)))?;
    *resp.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    Ok(resp)
}

async fn upload_page(State(state): State<AppState>, viewer: Viewer) -> Result<Response, AppError> {
    viewer.can::<can::ImportRoster>(&state).await?;
    page(&upload(&viewer, &today_jst(), None))
}

async fn template_xlsx(
    State(state): State<AppState>,
    viewer: Viewer,
) -> Result<Response, AppError> {
    template(&state, &viewer, ExportFormat::Xlsx).await
}

async fn template_csv(State(state): State<AppState>, viewer: Viewer) -> Result<Response, AppError> {
    template(&state, &viewer, ExportFormat::CsvUtf8).await
}

async fn template(
    state: &AppState,
    viewer: &Viewer,
    format: ExportFormat,
) -> Result<Response, AppError> {
    viewer.can::<can::ImportRoster>(state).await?;
    let bytes = mamori_tabular::write_table(&roster::template(), format)
        .map_err(|e| AppError::Internal(format!("roster template: {e}")))?;
    let mut resp = bytes.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    let disposition = format!(
        "attachment; filename=\"mamori-roster-template.{}\"",
        format.extension()
    );
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}

/// The plan as the preview page shows it.
#[derive(Template)]
#[template(path = "roster_preview.html")]
struct PreviewPage {
    layout: Layout,
    plan: RosterPlan,
    effective_ja: String,
    end_day_ja: String,
    /// Why the page is shown again instead of the result (a stale digest).
    stale: bool,
    file_b64: String,
}

fn preview_page(
    viewer: &Viewer,
    plan: RosterPlan,
    bytes: &[u8],
    stale: bool,
) -> Result<Response, AppError> {
    let page_data = PreviewPage {
        layout: Layout::new(viewer, "名簿の取込み（確認）", "/org"),
        effective_ja: date_ja(&plan.effective),
        end_day_ja: date_ja(&plan.end_day),
        stale,
        file_b64: BASE64.encode(bytes),
        plan,
    };
    let mut resp = page(&page_data)?;
    if stale {
        *resp.status_mut() = StatusCode::CONFLICT;
    }
    Ok(resp)
}

/// The fields of the upload form.
#[derive(Default)]
struct Upload {
    csrf: String,
    effective: String,
    file_name: String,
    file: Bytes,
}

async fn read_upload(mut multipart: Multipart) -> Result<Upload, AppError> {
    let unreadable = |e: MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::PayloadTooLarge
        } else {
            AppError::bad("送信されたフォームを読み取れませんでした")
        }
    };
    let mut upload = Upload::default();
    while let Some(field) = multipart.next_field().await.map_err(unreadable)? {
        match field.name() {
            Some("file") => {
                upload.file_name = field.file_name().unwrap_or_default().to_owned();
                upload.file = field.bytes().await.map_err(unreadable)?;
            }
            Some(name @ ("csrf" | "effective")) => {
                let is_csrf = name == "csrf";
                let value = field.bytes().await.map_err(unreadable)?;
                if value.len() > MAX_FIELD_BYTES {
                    return Err(AppError::bad("フォームの項目が長すぎます"));
                }
                let text = String::from_utf8_lossy(&value).into_owned();
                if is_csrf {
                    upload.csrf = text;
                } else {
                    upload.effective = text;
                }
            }
            // Unknown fields are drained by the next call and ignored.
            _ => {}
        }
    }
    Ok(upload)
}

/// The multipart counterpart of [`CsrfForm`]: the `csrf` field must equal the session's token.
/// Only a browser session has one; an empty token never matches.
fn check_csrf(viewer: &Viewer, token: &str) -> Result<(), AppError> {
    let expected = viewer.csrf();
    if viewer.session.is_none()
        || expected.is_empty()
        || !constant_time_eq(token.as_bytes(), expected.as_bytes())
    {
        return Err(AppError::Csrf);
    }
    Ok(())
}

/// A date typed in the form or the query (和暦 accepted), or the problem to show.
fn effective_date(text: &str) -> Result<Date, TabularErrors> {
    parse_date(text).map_err(|e| {
        TabularErrors::one(TabularError {
            row: None,
            column: Some("反映日".to_owned()),
            cell: None,
            value: Some(text.to_owned()),
            kind: TabularErrorKind::InvalidDate {
                reason: e.to_string(),
            },
        })
    })
}

/// The roles this viewer may grant, which bound the roles a roster may give.
fn grantable(viewer: &Viewer) -> Vec<Role> {
    Role::ALL
        .into_iter()
        .filter(|r| viewer.actor.may_grant(*r))
        .collect()
}

/// Reads and plans; `Ok(Err(errors))` is a file the user must fix.
async fn read_and_plan(
    state: &AppState,
    viewer: &Viewer,
    cap: &Capability<can::ImportRoster>,
    bytes: &[u8],
    file_name: &str,
    effective: Date,
) -> Result<Result<RosterPlan, TabularErrors>, AppError> {
    let file: RosterFile = match roster::read_file(bytes, file_name) {
        Ok(f) => f,
        Err(e) => return Ok(Err(e)),
    };
    match roster::plan(
        &state.db,
        cap,
        &viewer.tree,
        &file,
        &grantable(viewer),
        effective,
    )
    .await
    {
        Ok(plan) => Ok(Ok(plan)),
        Err(RosterError::Input(e)) => Ok(Err(e)),
        Err(e) => Err(roster_error(e)),
    }
}

fn roster_error(e: RosterError) -> AppError {
    match e {
        RosterError::Input(errors) => AppError::bad(errors.to_string()),
        RosterError::Stale => AppError::Conflict(RosterError::Stale.to_string()),
        RosterError::Db(e) => AppError::from(e),
    }
}

async fn preview(
    State(state): State<AppState>,
    viewer: Viewer,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, AppError> {
    let multipart = multipart
        .map_err(|_| AppError::bad("ファイルを添付したフォーム（multipart）で送信してください"))?;
    let upload = read_upload(multipart).await?;
    check_csrf(&viewer, &upload.csrf)?;
    let cap = viewer.can::<can::ImportRoster>(&state).await?;
    let effective_text = upload.effective.trim().to_owned();
    let effective = match effective_date(&effective_text) {
        Ok(d) => d,
        Err(e) => return rejected(&viewer, &effective_text, &e),
    };
    if upload.file.is_empty() && upload.file_name.is_empty() {
        let e = TabularErrors::one(TabularError::file(TabularErrorKind::Invalid {
            reason: "ファイルが選択されていません".to_owned(),
        }));
        return rejected(&viewer, &effective_text, &e);
    }
    match read_and_plan(
        &state,
        &viewer,
        &cap,
        &upload.file,
        &upload.file_name,
        effective,
    )
    .await?
    {
        Ok(plan) => preview_page(&viewer, plan, &upload.file, false),
        Err(e) => rejected(&viewer, &format_iso(effective), &e),
    }
}

/// The 「反映する」 form: the file as previewed and the digest of the plan that was shown.
#[derive(Deserialize)]
struct ApplyForm {
    file: String,
    file_name: String,
    effective: String,
    digest: String,
}

async fn apply(
    State(state): State<AppState>,
    viewer: Viewer,
    CsrfForm(form): CsrfForm<ApplyForm>,
) -> Result<Response, AppError> {
    let cap = viewer.can::<can::ImportRoster>(&state).await?;
    let bytes = BASE64.decode(form.file.trim()).map_err(|_| {
        AppError::bad("送信されたファイルを読み取れませんでした。もう一度選択してください")
    })?;
    let effective = effective_date(&form.effective).map_err(|e| AppError::bad(e.to_string()))?;
    let plan =
        match read_and_plan(&state, &viewer, &cap, &bytes, &form.file_name, effective).await? {
            Ok(plan) => plan,
            Err(e) => return rejected(&viewer, &format_iso(effective), &e),
        };
    // The digest covers the file, the date and the database state: any difference means the
    // user would be applying something other than what they saw.
    if !constant_time_eq(plan.digest.as_bytes(), form.digest.as_bytes()) {
        return preview_page(&viewer, plan, &bytes, true);
    }
    match roster::apply(&state.db, &cap, &viewer.audit_ctx(), &plan).await {
        Ok(summary) => {
            Ok(Redirect::to(&format!("/org/roster/result/{}", summary.audit_seq)).into_response())
        }
        Err(RosterError::Stale) => {
            // Someone wrote between our plan and our transaction: show the plan as it is now.
            match read_and_plan(&state, &viewer, &cap, &bytes, &form.file_name, effective).await? {
                Ok(plan) => preview_page(&viewer, plan, &bytes, true),
                Err(e) => rejected(&viewer, &format_iso(effective), &e),
            }
        }
        Err(e) => Err(roster_error(e)),
    }
}

#[derive(Template)]
#[template(path = "roster_result.html")]
struct ResultPage {
    layout: Layout,
    file_name: String,
    effective_ja: String,
    counts: Vec<(&'static str, i64)>,
}

async fn result(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(seq): Path<i64>,
) -> Result<Response, AppError> {
    let cap = viewer.can::<can::ImportRoster>(&state).await?;
    let filter = audit::Filter {
        org_id: Some(cap.org().0),
        action_prefix: Some("roster.import".to_owned()),
        before_seq: seq.checked_add(1),
        ..audit::Filter::default()
    };
    let entry = audit::list(&state.db, &filter, 1)
        .await?
        .into_iter()
        .find(|e| e.seq == seq && e.action == "roster.import")
        .ok_or(AppError::NotFound)?;
    let after: Value = serde_json::from_str(entry.after_json.as_deref().unwrap_or("{}"))?;
    let count = |key: &str| after.get(key).and_then(Value::as_i64).unwrap_or(0);
    let text = |key: &str| {
        after
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    page(&ResultPage {
        layout: Layout::new(&viewer, "名簿の取込み（完了）", "/org"),
        file_name: text("file_name"),
        effective_ja: date_ja(&text("effective")),
        counts: vec![
            ("新規登録", count("created")),
            ("変更", count("updated")),
            ("退職", count("retired")),
            ("役割の開始", count("roles_started")),
            ("役割の終了", count("roles_ended")),
            ("変更なし", count("unchanged")),
            ("ファイルにない職員", count("not_in_file")),
        ],
    })
}

/// Query of the API import.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
struct ImportQuery {
    /// `true` (the default) only computes the plan; `false` applies it.
    dry_run: Option<bool>,
    /// 発令日 (YYYY-MM-DD; 和暦 accepted); today in Japan when absent.
    effective: Option<String>,
}

/// Imports a staff roster (名簿取込み): the body is the file itself, CSV (UTF-8 with or without
/// BOM, or Shift_JIS/CP932) or xlsx. Returns the plan; with `dry_run=false` it is also applied,
/// in one transaction.
#[utoipa::path(
    post,
    path = "/api/v1/roster/import",
    tag = "organisation",
    params(ImportQuery),
    request_body(
        description = "名簿ファイルそのもの（CSV または xlsx）",
        content(("text/csv"), ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))
    ),
    responses(
        (status = 200, description = "取込み計画（applied=true なら反映済み）"),
        (status = 403, description = "権限がない"),
        (status = 409, description = "計画の作成後にデータが変更された（何も反映していない）"),
        (status = 415, description = "text/csv または xlsx 以外の形式"),
        (status = 422, description = "ファイルの誤り（行・列ごとの一覧。何も反映していない）")
    )
)]
async fn api_import(
    State(state): State<AppState>,
    viewer: Viewer,
    RequestId(request_id): RequestId,
    Query(q): Query<ImportQuery>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, AppError> {
    let cap = viewer.can::<can::ImportRoster>(&state).await?;
    let Some(file_name) = file_name_for(&headers) else {
        return Err(AppError::UnsupportedMediaType(format!(
            "本文は名簿ファイルそのものを Content-Type: text/csv または {XLSX_TYPE} で送信してください"
        )));
    };
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::PayloadTooLarge
        } else {
            AppError::bad("送信された内容を読み取れませんでした")
        }
    })?;
    let effective_text = q.effective.unwrap_or_else(today_jst);
    let planned = match effective_date(&effective_text) {
        Ok(effective) => read_and_plan(&state, &viewer, &cap, &body, file_name, effective).await?,
        Err(e) => Err(e),
    };
    let plan = match planned {
        Ok(plan) => plan,
        Err(errors) => return Ok(api_rejected(&errors, &request_id)),
    };
    if q.dry_run.unwrap_or(true) {
        return Ok(Json(json!({"applied": false, "plan": plan, "summary": null})).into_response());
    }
    let summary = roster::apply(&state.db, &cap, &viewer.audit_ctx(), &plan)
        .await
        .map_err(roster_error)?;
    Ok(Json(json!({"applied": true, "plan": plan, "summary": summary})).into_response())
}

/// The name the reader is given, from the declared type (the content decides in the end; the
/// name only makes a non-zip body declared as xlsx an error).
fn file_name_for(headers: &HeaderMap) -> Option<&'static str> {
    let ct = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    let mime = ct.split(';').next().unwrap_or_default().trim();
    if mime.eq_ignore_ascii_case("text/csv") {
        Some("roster.csv")
    } else if mime.eq_ignore_ascii_case(XLSX_TYPE) {
        Some("roster.xlsx")
    } else {
        None
    }
}

fn api_rejected(errors: &TabularErrors, request_id: &str) -> Response {
    let items: Vec<Value> = errors
        .iter()
        .map(|e| {
            json!({"row": e.row, "column": e.column, "cell": e.cell, "value": e.value,
                "message": e.kind.to_string(), "text": e.to_string()})
        })
        .collect();
    let body = json!({
        "error": {
            "code": "invalid_file",
            "message": format!("名簿ファイルに{}件の問題があります。何も反映していません", errors.len()),
            "request_id": request_id,
        },
        "errors": items,
        "truncated": errors.truncated,
    });
    (StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_csv_and_xlsx_types_are_accepted() {
        let with = |ct: &str| {
            let mut h = HeaderMap::new();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_str(ct).unwrap_or(HeaderValue::from_static("x")),
            );
            file_name_for(&h)
        };
        assert_eq!(with("text/csv; charset=Shift_JIS"), Some("roster.csv"));
        assert_eq!(with(XLSX_TYPE), Some("roster.xlsx"));
        assert_eq!(with("application/json"), None);
        assert_eq!(file_name_for(&HeaderMap::new()), None);
    }
}
