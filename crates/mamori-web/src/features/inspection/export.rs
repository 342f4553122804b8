//! Excel exports of a campaign: every answer (`/inspections/{id}/export/answers.xlsx`) and the
//! roll-up (`/inspections/{id}/export/rollup.xlsx`), within the viewer's
//! [`can::ViewInspectionResults`] reach; each export is recorded in the audit trail.
//!
//! The answers of a large campaign (5,000 respondents × 150 questions) are read in slices of
//! respondents while a blocking thread writes them row by row into the workbook
//! ([`mamori_tabular::XlsxStream`]), so reading the database and compressing overlap and no
//! table of 750,000 rows is ever held in memory.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use mamori_core::inspection::{Tally, permille, permille_text};
use mamori_core::permission::{Capability, can};
use mamori_db::inspection::{self as db, Campaign, ExportAnswer};
use mamori_tabular::{StreamColumn, XlsxStream};

use super::{answer_label, campaign_of, group_label, status_label};
use crate::session::Viewer;
use crate::views::datetime_iso_jst;
use crate::{AppError, AppState};

/// The xlsx media type.
const XLSX_TYPE: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// Respondents read per query.
const SLICE: usize = 250;

/// Routes of the exports.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/inspections/{id}/export/answers.xlsx", get(answers_xlsx))
        .route("/inspections/{id}/export/rollup.xlsx", get(rollup_xlsx))
}

/// Headers of the answers sheet, in order.
pub const ANSWER_HEADERS: [&str; 14] = [
    "職員番号",
    "氏名",
    "所属",
    "回答者区分",
    "回答状況",
    "問",
    "対策基準",
    "設問",
    "回答",
    "コメント",
    "改善計画",
    "改善期限",
    "保存日時",
    "提出日時",
];

fn download(bytes: Vec<u8>, name: &str) -> Response {
    let mut resp = bytes.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(XLSX_TYPE));
    // The name is ASCII; the campaign's Japanese name is inside the workbook.
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

async fn record(
    state: &AppState,
    viewer: &Viewer,
    c: &Campaign,
    what: &str,
) -> Result<(), AppError> {
    let mut e = viewer
        .audit_ctx()
        .entry("inspection.export", "inspection_campaign", c.id);
    e.after = Some(serde_json::json!({"export": what}));
    viewer.record(state, e).await
}

/// Every answer of a campaign in the capability's reach, as xlsx bytes.
pub async fn answers_workbook(
    state: &AppState,
    cap: &Capability<can::ViewInspectionResults>,
    viewer: &Viewer,
    c: &Campaign,
) -> Result<Vec<u8>, AppError> {
    let respondents = db::export_respondents(&state.db, cap, &viewer.tree, c.id).await?;
    let questions: HashMap<i64, (String, String, String)> =
        db::questions(&state.db, viewer.actor.org, c.id)
            .await?
            .into_iter()
            .map(|q| (q.id, (format!("問{}", q.seq), q.clause, q.text)))
            .collect();
    // What each respondent's rows repeat, computed once.
    let people: HashMap<i64, [String; 6]> = respondents
        .iter()
        .map(|r| {
            (
                r.id,
                [
                    r.staff_no.clone().unwrap_or_default(),
                    r.name.clone(),
                    viewer.tree.full_name(r.unit_id),
                    group_label(&r.grp).to_owned(),
                    status_label(&r.status).to_owned(),
                    r.submitted_at
                        .as_deref()
                        .map(datetime_iso_jst)
                        .unwrap_or_default(),
                ],
            )
        })
        .collect();
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<ExportAnswer>>(4);
    let writer = tokio::task::spawn_blocking(move || -> Result<Vec<u8>, String> {
        let mut x = XlsxStream::new(Vec::with_capacity(1 << 20));
        let widths = [
            10.0, 14.0, 24.0, 18.0, 10.0, 6.0, 10.0, 60.0, 10.0, 30.0, 30.0, 12.0, 20.0, 20.0,
        ];
        let columns = ANSWER_HEADERS
            .iter()
            .zip(widths)
            .enumerate()
            .map(|(i, (h, w))| {
                if matches!(i, 9 | 10) {
                    StreamColumn::inline(h, w)
                } else {
                    StreamColumn::shared(h, w)
                }
            })
            .collect();
        x.sheet("回答", columns).map_err(|e| e.to_string())?;
        let mut cells: [String; 14] = Default::default();
        // Answers saved together share their timestamp: converted once.
        let mut saved_at = (String::new(), String::new());
        for batch in rx {
            // Rows come by respondent, then question id; a group's questions are always
            // stored in their order, so question id order is 問 order.
            for (rid, qid, answer, comment, plan, due, saved) in batch {
                let Some(p) = people.get(&rid) else { continue };
                let q = questions.get(&qid);
                for (cell, value) in cells.iter_mut().zip(p.iter().take(5)) {
                    cell.clone_from(value);
                }
                match q {
                    Some((seq, clause, text)) => {
                        cells[5].clone_from(seq);
                        cells[6].clone_from(clause);
                        cells[7].clone_from(text);
                    }
                    None => {
                        for cell in cells.get_mut(5..8).into_iter().flatten() {
                            cell.clear();
                        }
                    }
                }
                cells[8] = answer_label(&answer).to_owned();
                cells[9] = comment;
                cells[10] = plan;
                cells[11] = due.unwrap_or_default();
                if saved_at.1 != saved {
                    saved_at = (datetime_iso_jst(&saved), saved);
                }
                cells[12].clone_from(&saved_at.0);
                cells[13].clone_from(&p[5]);
                x.row(&cells).map_err(|e| e.to_string())?;
            }
        }
        x.finish().map_err(|e| e.to_string())
    });
    let ids: Vec<i64> = respondents.iter().map(|r| r.id).collect();
    for chunk in ids.chunks(SLICE) {
        let (Some(first), Some(last)) = (chunk.first(), chunk.last()) else {
            continue;
        };
        let rows = db::export_answers(&state.db, c.id, *first, *last).await?;
        let sent = tx.clone();
        // The channel is bounded: wait off the async threads while the writer catches up.
        let ok = tokio::task::spawn_blocking(move || sent.send(rows).is_ok())
            .await
            .unwrap_or(false);
        if !ok {
            break;
        }
    }
    drop(tx);
    writer
        .await
        .map_err(|e| AppError::Internal(format!("export thread: {e}")))?
        .map_err(AppError::Internal)
}

async fn answers_xlsx(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let cap = viewer.can::<can::ViewInspectionResults>(&state).await?;
    let c = campaign_of(&state, &viewer, id).await?;
    let bytes = answers_workbook(&state, &cap, &viewer, &c).await?;
    record(&state, &viewer, &c, "answers").await?;
    Ok(download(bytes, &format!("inspection-{id}-answers.xlsx")))
}

fn tally_cells(t: &Tally) -> [String; 5] {
    [
        t.done.to_string(),
        t.partial.to_string(),
        t.not_done.to_string(),
        t.na.to_string(),
        permille_text(t.conformity_permille()),
    ]
}

/// The roll-up of a campaign in the capability's reach, as xlsx bytes: 所属別 and 対策基準別.
pub async fn rollup_workbook(
    state: &AppState,
    cap: &Capability<can::ViewInspectionResults>,
    viewer: &Viewer,
    c: &Campaign,
) -> Result<Vec<u8>, AppError> {
    let r = db::rollup(&state.db, cap, &viewer.tree, c).await?;
    let fail = |e: mamori_tabular::StreamError| AppError::Internal(e.to_string());
    let mut x = XlsxStream::new(Vec::new());
    let counts = ["実施", "一部実施", "未実施", "該当なし", "適合率"];
    let mut cols = vec![
        StreamColumn::shared("所属", 30.0),
        StreamColumn::shared("階層", 6.0),
        StreamColumn::shared("回答者数", 10.0),
        StreamColumn::shared("提出数", 10.0),
        StreamColumn::shared("回答率", 10.0),
    ];
    cols.extend(counts.iter().map(|h| StreamColumn::shared(h, 10.0)));
    x.sheet("所属別", cols).map_err(fail)?;
    for u in r.units.iter().chain(std::iter::once(&r.total)) {
        let mut row = vec![
            u.name.clone(),
            u.depth.to_string(),
            u.respondents.to_string(),
            u.submitted.to_string(),
            permille_text(permille(u.submitted, u.respondents)),
        ];
        row.extend(tally_cells(&u.tally));
        x.row(&row).map_err(fail)?;
    }
    let mut cols = vec![
        StreamColumn::shared("対策基準", 10.0),
        StreamColumn::shared("項目", 30.0),
        StreamColumn::shared("回答者区分", 18.0),
        StreamColumn::shared("問", 6.0),
        StreamColumn::shared("設問", 60.0),
    ];
    cols.extend(counts.iter().map(|h| StreamColumn::shared(h, 10.0)));
    x.sheet("対策基準別", cols).map_err(fail)?;
    for l in &r.clauses {
        let mut row = vec![
            l.clause.clone(),
            l.title.clone(),
            String::new(),
            String::new(),
            "（計）".into(),
        ];
        row.extend(tally_cells(&l.tally));
        x.row(&row).map_err(fail)?;
        for (g, seq, text, t) in &l.questions {
            let mut row = vec![
                l.clause.clone(),
                l.title.clone(),
                group_label(g).to_owned(),
                format!("問{seq}"),
                text.clone(),
            ];
            row.extend(tally_cells(t));
            x.row(&row).map_err(fail)?;
        }
    }
    x.finish().map_err(fail)
}

async fn rollup_xlsx(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let cap = viewer.can::<can::ViewInspectionResults>(&state).await?;
    let c = campaign_of(&state, &viewer, id).await?;
    let bytes = rollup_workbook(&state, &cap, &viewer, &c).await?;
    record(&state, &viewer, &c, "rollup").await?;
    Ok(download(bytes, &format!("inspection-{id}-rollup.xlsx")))
}
