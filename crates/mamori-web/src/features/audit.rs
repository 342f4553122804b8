//! The audit trail, for the CISO, 統括 and auditors: browse with filters, export as CSV or
//! JSON Lines (the export itself is recorded).

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use mamori_core::permission::can;
use mamori_db::audit::{self, Entry, Filter};
use serde::Deserialize;

use crate::session::Viewer;
use crate::views::{Layout, datetime_iso_jst, page};
use crate::{AppError, AppState};

/// Routes of this feature.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/audit", get(list))
        .route("/audit/export", get(export))
}

/// Query parameters shared by the page, the export and the API.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct AuditQuery {
    /// Action prefix, e.g. `login.`.
    pub action: Option<String>,
    /// Actor login.
    pub actor: Option<String>,
    /// Object type.
    pub object_type: Option<String>,
    /// Object id.
    pub object_id: Option<String>,
    /// From date (YYYY-MM-DD, Japan time).
    pub from: Option<String>,
    /// Until date, inclusive (YYYY-MM-DD, Japan time).
    pub until: Option<String>,
    /// Show entries older than this sequence number.
    pub before: Option<i64>,
    /// Export format: `csv` or `jsonl`.
    pub format: Option<String>,
}

fn nonempty(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// A day in Japan time (YYYY-MM-DD, or what a user types) → its start as a stored UTC timestamp.
fn day_start_utc(day: &str, plus_days: i64) -> Result<String, AppError> {
    let date = mamori_core::calendar::parse_date(day).map_err(|e| AppError::bad(e.to_string()))?;
    let start = date
        .with_hms(0, 0, 0)
        .map_err(|e| AppError::bad(e.to_string()))?
        .assume_offset(time::macros::offset!(+9))
        + time::Duration::days(plus_days);
    Ok(mamori_db::timestamp_text(start))
}

impl AuditQuery {
    /// The filter for `org`.
    pub fn filter(&self, org: i64) -> Result<Filter, AppError> {
        Ok(Filter {
            org_id: Some(org),
            action_prefix: nonempty(&self.action),
            actor: nonempty(&self.actor),
            object_type: nonempty(&self.object_type),
            object_id: nonempty(&self.object_id),
            from: nonempty(&self.from)
                .map(|d| day_start_utc(&d, 0))
                .transpose()?,
            until: nonempty(&self.until)
                .map(|d| day_start_utc(&d, 1))
                .transpose()?,
            before_seq: self.before,
        })
    }
}

struct Row {
    seq: i64,
    at: String,
    actor: String,
    action: String,
    object: String,
    detail: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    layout: Layout,
    rows: Vec<Row>,
    q: AuditQuery,
    next_before: Option<i64>,
    export_query: String,
}

const PAGE: i64 = 100;

async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<AuditQuery>,
) -> Result<Response, AppError> {
    let cap = viewer.can::<can::ViewAudit>(&state).await?;
    let entries = audit::list(&state.db, &q.filter(cap.org().0)?, PAGE).await?;
    let next_before = if i64::try_from(entries.len()).unwrap_or(0) == PAGE {
        entries.last().map(|e| e.seq)
    } else {
        None
    };
    let rows = entries
        .into_iter()
        .map(|e| Row {
            seq: e.seq,
            at: datetime_iso_jst(&e.at),
            actor: e.actor,
            action: e.action,
            object: format!("{} {}", e.object_type, e.object_id.unwrap_or_default()),
            detail: e
                .after_json
                .or(e.before_json)
                .unwrap_or_default()
                .chars()
                .take(200)
                .collect(),
        })
        .collect();
    let export_query = serde_urlencoded::to_string([
        ("action", q.action.clone().unwrap_or_default()),
        ("actor", q.actor.clone().unwrap_or_default()),
        ("from", q.from.clone().unwrap_or_default()),
        ("until", q.until.clone().unwrap_or_default()),
    ])
    .unwrap_or_default();
    page(&AuditPage {
        layout: Layout::new(&viewer, "監査証跡", "/audit"),
        rows,
        q,
        next_before,
        export_query,
    })
}

/// Exports entries matching the query (newest first, at most 100,000) and records the export.
pub async fn export_entries(
    state: &AppState,
    viewer: &Viewer,
    q: &AuditQuery,
) -> Result<Response, AppError> {
    let cap = viewer.can::<can::ExportAudit>(state).await?;
    let filter = q.filter(cap.org().0)?;
    let entries = audit::list(&state.db, &filter, 100_000).await?;
    let format = q.format.as_deref().unwrap_or("csv");
    let (body, ctype, ext) = match format {
        "jsonl" => {
            let mut out = String::new();
            for e in &entries {
                out.push_str(&serde_json::to_string(e)?);
                out.push('\n');
            }
            (out, "application/x-ndjson", "jsonl")
        }
        "csv" => (to_csv(&entries)?, "text/csv; charset=utf-8", "csv"),
        other => {
            return Err(AppError::bad(format!(
                "出力形式「{other}」には対応していません（csv または jsonl）"
            )));
        }
    };
    let mut e = viewer
        .audit_ctx()
        .entry("audit.export", "audit_entry", format);
    e.after = Some(
        serde_json::json!({"format": format, "entries": entries.len(), "action": filter.action_prefix,
        "actor": filter.actor, "from": filter.from, "until": filter.until}),
    );
    viewer.record(state, e).await?;
    let mut resp = body.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ctype));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"mamori-audit.{ext}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}

async fn export(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<AuditQuery>,
) -> Result<Response, AppError> {
    export_entries(&state, &viewer, &q).await
}

/// CSV with a BOM (Excel opens UTF-8 correctly only with it); cells that a spreadsheet would
/// read as a formula are prefixed with `'`.
fn to_csv(entries: &[Entry]) -> Result<String, AppError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let header = [
        "連番",
        "日時(JST)",
        "日時(UTC)",
        "実行者",
        "実行者ID",
        "組織ID",
        "操作",
        "対象種別",
        "対象ID",
        "変更前",
        "変更後",
        "リクエストID",
        "前ハッシュ",
        "ハッシュ",
    ];
    w.write_record(header)
        .map_err(|e| AppError::Internal(e.to_string()))?;
    for e in entries {
        let cells = [
            e.seq.to_string(),
            datetime_iso_jst(&e.at),
            e.at.clone(),
            e.actor.clone(),
            e.actor_id.map(|v| v.to_string()).unwrap_or_default(),
            e.org_id.map(|v| v.to_string()).unwrap_or_default(),
            e.action.clone(),
            e.object_type.clone(),
            e.object_id.clone().unwrap_or_default(),
            e.before_json.clone().unwrap_or_default(),
            e.after_json.clone().unwrap_or_default(),
            e.request_id.clone().unwrap_or_default(),
            e.prev_hash.clone(),
            e.hash.clone(),
        ];
        w.write_record(cells.iter().map(|c| neutralise(c)))
            .map_err(|e| AppError::Internal(e.to_string()))?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| AppError::Internal(e.to_string()))?;
    let mut out = String::from("\u{feff}");
    out.push_str(&String::from_utf8_lossy(&bytes));
    Ok(out)
}

/// Prefixes a cell that a spreadsheet would evaluate.
pub fn neutralise(cell: &str) -> String {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}")
    } else {
        cell.to_owned()
    }
}
