//! Review records (見直し, §8): opened from audit findings, self-inspection results, incidents
//! or by hand; inputs, threats re-assessed, decisions, the document versions produced; approved
//! by the CISO, never by the person who opened or submitted the record.

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use mamori_core::document::{Level, ReviewSource, ReviewStatus, risk};
use mamori_core::permission::can;
use mamori_core::policy::PolicyOutline;
use mamori_db::AnyConnection;
use mamori_db::documents::{self, Review, ReviewInputFields};
use serde::Deserialize;

use super::{person_name, write};
use crate::session::{CsrfForm, Viewer};
use crate::views::{Layout, datetime_ja, page};
use crate::{AppError, AppState};

/// Routes of review records.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/reviews", get(list).post(open))
        .route("/reviews/{id}", get(show).post(step))
}

struct Row {
    id: i64,
    title: String,
    source: &'static str,
    status: &'static str,
    updated: String,
}

#[derive(Template)]
#[template(path = "documents_reviews.html")]
struct ListPage {
    layout: Layout,
    rows: Vec<Row>,
    can_edit: bool,
    sources: Vec<(&'static str, &'static str)>,
}

fn sources() -> Vec<(&'static str, &'static str)> {
    ReviewSource::ALL
        .into_iter()
        .map(|s| (s.code(), s.label_ja()))
        .collect()
}

fn source_label(code: &str) -> &'static str {
    ReviewSource::from_code(code).map_or("", ReviewSource::label_ja)
}

async fn list(State(state): State<AppState>, viewer: Viewer) -> Result<Response, AppError> {
    let cap = viewer.can::<can::ViewReviews>(&state).await?;
    let rows = documents::reviews(&state.db, &cap)
        .await?
        .into_iter()
        .map(|r: Review| Row {
            id: r.id,
            source: source_label(&r.source),
            status: r.status().label_ja(),
            updated: datetime_ja(&r.updated_at),
            title: r.title,
        })
        .collect();
    page(&ListPage {
        layout: Layout::new(&viewer, "見直しの記録", "/documents"),
        rows,
        can_edit: viewer.actor.can::<can::EditPolicy>().is_ok(),
        sources: sources(),
    })
}

#[derive(Deserialize)]
struct ReviewForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    source: String,
    #[serde(default)]
    summary: String,
    #[serde(default)]
    decisions: String,
}

fn fields(form: &ReviewForm) -> Result<ReviewInputFields, AppError> {
    Ok(ReviewInputFields {
        title: form.title.clone(),
        source: ReviewSource::from_code(&form.source)
            .ok_or_else(|| AppError::bad("見直しのきっかけを選んでください"))?,
        summary: form.summary.clone(),
        decisions: form.decisions.clone(),
    })
}

async fn open(
    State(state): State<AppState>,
    viewer: Viewer,
    CsrfForm(form): CsrfForm<ReviewForm>,
) -> Result<Response, AppError> {
    let cap = viewer.can::<can::EditPolicy>(&state).await?;
    let f = fields(&form)?;
    let ctx = viewer.audit_ctx();
    let id = write(&state, async |c: &mut AnyConnection| {
        documents::open_review(c, &cap, &ctx, &f).await
    })
    .await?;
    Ok(Redirect::to(&format!("/reviews/{id}")).into_response())
}

struct ThreatRow {
    name: String,
    likelihood: &'static str,
    impact: &'static str,
    risk: String,
    note: String,
}

#[derive(Template)]
#[template(path = "documents_review.html")]
struct ReviewPage {
    layout: Layout,
    r: Review,
    source: &'static str,
    status: &'static str,
    open: bool,
    submitted: bool,
    opened_by: String,
    submitted_text: String,
    approved_text: String,
    inputs: Vec<(&'static str, String, String)>,
    threats: Vec<ThreatRow>,
    outputs: Vec<(i64, String, i64)>,
    can_edit: bool,
    can_approve: bool,
    self_approval: bool,
    sources: Vec<(&'static str, &'static str)>,
    threat_classes: Vec<(String, String)>,
    documents: Vec<(i64, String)>,
}

async fn show(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let cap = viewer.can::<can::ViewReviews>(&state).await?;
    let full = documents::review(&state.db, &cap, id).await?;
    let outline = PolicyOutline::default();
    let threats = full
        .threats
        .iter()
        .map(|t| {
            let l = Level::new(t.likelihood);
            let i = Level::new(t.impact);
            ThreatRow {
                name: outline
                    .threat(&t.threat)
                    .map_or_else(|| t.threat.clone(), |c| c.name.clone()),
                likelihood: l.map_or("", Level::label_ja),
                impact: i.map_or("", Level::label_ja),
                risk: match (l, i) {
                    (Some(l), Some(i)) => {
                        let (score, band) = risk(l, i);
                        format!("{score}（{band}）")
                    }
                    _ => String::new(),
                },
                note: t.note.clone(),
            }
        })
        .collect();
    let view_cap = viewer.can::<can::ViewPolicy>(&state).await?;
    let documents: Vec<(i64, String)> =
        documents::list(&state.db, &view_cap, &viewer.actor, &viewer.tree, None)
            .await?
            .into_iter()
            .map(|d| (d.document.id, d.document.title))
            .collect();
    // Outputs are shown only when the viewer may know of the document (実施手順 lists).
    let outputs: Vec<(i64, String, i64)> = full
        .outputs
        .into_iter()
        .filter(|o| documents.iter().any(|d| d.0 == o.0))
        .collect();
    let r = full.review;
    let stamp = |who: Option<i64>, at: &Option<String>| match at {
        Some(t) => format!("{}（{}）", datetime_ja(t), person_name(&viewer, who)),
        None => String::new(),
    };
    page(&ReviewPage {
        layout: Layout::new(&viewer, format!("見直し：{}", r.title), "/documents"),
        source: source_label(&r.source),
        status: r.status().label_ja(),
        open: r.status() == ReviewStatus::Open,
        submitted: r.status() == ReviewStatus::Submitted,
        opened_by: person_name(&viewer, r.opened_by),
        submitted_text: stamp(r.submitted_by, &r.submitted_at),
        approved_text: stamp(r.approved_by, &r.approved_at),
        inputs: full
            .inputs
            .into_iter()
            .map(|i| (source_label(&i.kind), i.reference, i.note))
            .collect(),
        threats,
        outputs,
        can_edit: viewer.actor.can::<can::EditPolicy>().is_ok(),
        can_approve: viewer.actor.can::<can::ApprovePolicy>().is_ok(),
        self_approval: [r.opened_by, r.submitted_by].contains(&Some(viewer.person.id)),
        sources: sources(),
        threat_classes: outline
            .threats
            .iter()
            .map(|t| (t.id.clone(), t.name.clone()))
            .collect(),
        documents,
        r,
    })
}

#[derive(Deserialize)]
struct StepForm {
    #[serde(default)]
    action: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    source: String,
    #[serde(default)]
    summary: String,
    #[serde(default)]
    decisions: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    reference: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    threat: String,
    #[serde(default)]
    likelihood: String,
    #[serde(default)]
    impact: String,
    #[serde(default)]
    document_id: String,
    #[serde(default)]
    version_no: String,
}

fn level(value: &str, what: &str) -> Result<Level, AppError> {
    value
        .trim()
        .parse::<i64>()
        .ok()
        .and_then(Level::new)
        .ok_or_else(|| {
            AppError::bad(format!(
                "{what}は 1（低）・2（中）・3（高）から選んでください"
            ))
        })
}

fn number(value: &str, what: &str) -> Result<i64, AppError> {
    value
        .trim()
        .parse::<i64>()
        .map_err(|_| AppError::bad(format!("{what}を選んでください")))
}

/// One form action on a review (`action`: update, input, threat, output, submit, approve).
async fn step(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    CsrfForm(form): CsrfForm<StepForm>,
) -> Result<Response, AppError> {
    // The record must exist in the viewer's organisation and be readable by them.
    let view = viewer.can::<can::ViewReviews>(&state).await?;
    documents::review(&state.db, &view, id).await?;
    let ctx = viewer.audit_ctx();
    match form.action.as_str() {
        "update" => {
            let cap = viewer.can::<can::EditPolicy>(&state).await?;
            let f = fields(&ReviewForm {
                title: form.title.clone(),
                source: form.source.clone(),
                summary: form.summary.clone(),
                decisions: form.decisions.clone(),
            })?;
            write(&state, async |c: &mut AnyConnection| {
                documents::update_review(c, &cap, &ctx, id, &f).await
            })
            .await?;
        }
        "input" => {
            let cap = viewer.can::<can::EditPolicy>(&state).await?;
            let kind = ReviewSource::from_code(&form.kind)
                .ok_or_else(|| AppError::bad("入力の種類を選んでください"))?;
            write(&state, async |c: &mut AnyConnection| {
                documents::add_review_input(c, &cap, &ctx, id, kind, &form.reference, &form.note)
                    .await
            })
            .await?;
        }
        "threat" => {
            let cap = viewer.can::<can::EditPolicy>(&state).await?;
            let l = level(&form.likelihood, "起こりやすさ")?;
            let i = level(&form.impact, "影響の大きさ")?;
            write(&state, async |c: &mut AnyConnection| {
                documents::add_review_threat(c, &cap, &ctx, id, &form.threat, l, i, &form.note)
                    .await
            })
            .await?;
        }
        "output" => {
            let cap = viewer.can::<can::EditPolicy>(&state).await?;
            let doc = number(&form.document_id, "文書")?;
            let n = number(&form.version_no, "版の番号")?;
            // Only a document the viewer may know of can be linked.
            super::load(&state, &viewer, doc).await?;
            write(&state, async |c: &mut AnyConnection| {
                documents::link_review_output(c, &cap, &ctx, id, doc, n).await
            })
            .await?;
        }
        "submit" => {
            let cap = viewer.can::<can::EditPolicy>(&state).await?;
            write(&state, async |c: &mut AnyConnection| {
                documents::submit_review(c, &cap, &ctx, id).await
            })
            .await?;
        }
        "approve" => {
            let cap = viewer.can::<can::ApprovePolicy>(&state).await?;
            write(&state, async |c: &mut AnyConnection| {
                documents::approve_review(c, &cap, &ctx, id, &form.note).await
            })
            .await?;
        }
        _ => return Err(AppError::bad("操作が正しくありません")),
    }
    Ok(Redirect::to(&format!("/reviews/{id}")).into_response())
}
