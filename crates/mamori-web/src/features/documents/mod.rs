//! Policy documents (§5, §8–§10): 基本方針, 対策基準 and 実施手順 with versions approved by the
//! CISO, the diff between any two versions, acknowledgement of versions in force by every
//! 職員等 with rates per unit and reminders, review records (見直し), and the published 基本方針
//! at `/public/policy` for anyone, without login.
//!
//! A 実施手順 outside the viewer's reader list is answered exactly like an id nobody has: the
//! same 404 page, absent from lists and the API. Every read of a 実施手順's text is recorded in
//! the audit trail.

pub mod api;
mod review;

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use mamori_core::diff::{self, LineOp};
use mamori_core::document::{DocKind, ReaderRule, VersionStatus};
use mamori_core::org::UnitId;
use mamori_core::permission::{Capability, can};
use mamori_core::role::Role;
use mamori_db::documents::{self, DocError, Document, Version};
use mamori_db::org::UnitTree;
use mamori_db::{AnyConnection, DbError};
use serde::Deserialize;

use crate::session::{CsrfForm, Viewer};
use crate::views::{Layout, date_ja, datetime_ja, page};
use crate::{AppError, AppState};

/// Routes of this feature.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/documents", get(list).post(create))
        .route("/documents/{id}", get(show_document))
        .route("/documents/{id}/versions", post(new_version))
        .route("/documents/{id}/readers", post(set_readers))
        .route("/documents/{id}/diff", get(diff_page))
        .route("/documents/{id}/versions/{n}", get(show_version))
        .route("/documents/{id}/versions/{n}/download", get(download))
        .route(
            "/documents/{id}/versions/{n}/acknowledgements",
            get(acks_page),
        )
        .route("/documents/{id}/versions/{n}/{step}", post(version_step))
        .route("/public/policy", get(public_policy))
        .merge(review::router())
}

impl From<DocError> for AppError {
    fn from(e: DocError) -> Self {
        match e {
            DocError::Invalid(m) => AppError::BadRequest(m),
            DocError::Step(s) => AppError::Conflict(s.to_string()),
            DocError::Duty(d) => AppError::Conflict(d.to_string()),
            DocError::Db(e) => AppError::from(e),
        }
    }
}

/// Runs `f` in one write transaction.
pub(crate) async fn write<T>(
    state: &AppState,
    f: impl AsyncFnOnce(&mut mamori_db::AnyConnection) -> Result<T, DocError>,
) -> Result<T, AppError> {
    let mut tx = state.db.begin_write().await?;
    let out = f(&mut tx).await?;
    tx.commit().await.map_err(DbError::from)?;
    Ok(out)
}

/// A document the viewer may know of, or the same 404 as for an id nobody has. An attempt on a
/// hidden 実施手順 is recorded for the security team (never shown to the viewer).
pub(crate) async fn load(
    state: &AppState,
    viewer: &Viewer,
    id: i64,
) -> Result<(Capability<can::ViewPolicy>, Document, Vec<ReaderRule>), AppError> {
    let cap = viewer.can::<can::ViewPolicy>(state).await?;
    match documents::get(&state.db, &cap, &viewer.actor, &viewer.tree, id).await {
        Ok((d, r)) => Ok((cap, d, r)),
        Err(DbError::NotFound) => {
            if documents::is_hidden_from(&state.db, cap.org().0, &viewer.actor, &viewer.tree, id)
                .await?
            {
                let mut entry = viewer
                    .audit_ctx()
                    .entry("document.read.refused", "document", id);
                entry.unit_id = Some(viewer.person.unit_id);
                viewer.record(state, entry).await?;
            }
            Err(AppError::NotFound)
        }
        Err(e) => Err(e.into()),
    }
}

/// Whether the viewer maintains or approves documents (sees drafts).
pub(crate) fn sees_drafts(viewer: &Viewer) -> bool {
    viewer.actor.can::<can::EditPolicy>().is_ok()
        || viewer.actor.can::<can::ApprovePolicy>().is_ok()
}

/// A version the viewer may read: drafts only for maintainers and the CISO.
pub(crate) async fn load_version(
    state: &AppState,
    viewer: &Viewer,
    doc: &Document,
    n: i64,
) -> Result<Version, AppError> {
    let v = documents::version(&state.db, doc.org_id, doc.id, n).await?;
    if v.status().was_published() || sees_drafts(viewer) {
        Ok(v)
    } else {
        Err(AppError::NotFound)
    }
}

/// The text of a version: its body, or for the 基本方針 the text of its structured content.
pub(crate) async fn version_text(state: &AppState, v: &Version) -> Result<String, AppError> {
    if v.policy_version_id.is_none() {
        return Ok(v.body.clone());
    }
    let pv = mamori_db::policy::version(&state.db, v.org_id, v.version_no)
        .await?
        .ok_or(AppError::NotFound)?;
    let doc: super::policy::PolicyDoc = serde_json::from_str(&pv.content_json)?;
    Ok(super::policy::doc_text(&doc))
}

/// Records a read of a 実施手順's text (page, download or API).
pub(crate) async fn record_read(
    state: &AppState,
    viewer: &Viewer,
    doc: &Document,
    v: &Version,
    how: &str,
) -> Result<(), AppError> {
    if doc.kind() == Some(DocKind::Procedure) {
        let mut entry = viewer
            .audit_ctx()
            .entry("document.read", "document_version", v.id);
        entry.after = Some(
            serde_json::json!({"document_id": doc.id, "version_no": v.version_no, "via": how}),
        );
        viewer.record(state, entry).await?;
    }
    Ok(())
}

fn kind_label(code: &str) -> &'static str {
    DocKind::from_code(code).map_or("文書", DocKind::label_ja)
}

fn status_label(code: &str) -> &'static str {
    VersionStatus::from_code(code).map_or("不明", VersionStatus::label_ja)
}

fn person_name(viewer: &Viewer, id: Option<i64>) -> String {
    id.and_then(|id| viewer.snapshot.persons.iter().find(|p| p.id == id))
        .map(|p| p.name.clone())
        .unwrap_or_else(|| {
            if id.is_none() {
                String::new()
            } else {
                "（不明）".into()
            }
        })
}

/// Reads a reader list written one entry per line: a unit code, a role (code or Japanese
/// name), or both separated by a space.
pub(crate) fn parse_readers(tree: &UnitTree, text: &str) -> Result<Vec<ReaderRule>, AppError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = mamori_core::text::normalize(line);
        if line.is_empty() {
            continue;
        }
        let mut rule = ReaderRule {
            unit: None,
            role: None,
        };
        for token in line.split([' ', ',', '、']).filter(|t| !t.is_empty()) {
            if let Some(u) = tree.by_code(token) {
                rule.unit = Some(UnitId(u.id));
            } else if let Ok(r) = token.parse::<Role>() {
                rule.role = Some(r);
            } else {
                return Err(AppError::bad(format!(
                    "閲覧者の{}行目「{token}」は組織コードにも役割にも当たりません",
                    i + 1
                )));
            }
        }
        out.push(rule);
    }
    Ok(out)
}

/// A reader list as the form shows it.
pub(crate) fn readers_text(tree: &UnitTree, rules: &[ReaderRule]) -> String {
    rules
        .iter()
        .map(|r| {
            let unit = r.unit.and_then(|u| tree.get(u.0)).map(|u| u.code.clone());
            let role = r.role.map(|r| r.code().to_owned());
            [unit, role]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn readers_labels(tree: &UnitTree, rules: &[ReaderRule]) -> Vec<String> {
    rules
        .iter()
        .map(|r| {
            let unit = r
                .unit
                .map(|u| format!("{}（以下の組織を含む）", tree.full_name(u.0)));
            let role = r.role.map(|r| r.label_ja().to_owned());
            match (unit, role) {
                (Some(u), Some(r)) => format!("{u}の{r}"),
                (Some(u), None) => format!("{u}の全員"),
                (None, Some(r)) => format!("{r}（全組織）"),
                (None, None) => String::new(),
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// List and creation
// ---------------------------------------------------------------------------------------------

struct Row {
    id: i64,
    kind: &'static str,
    title: String,
    published: String,
    latest: String,
}

#[derive(Template)]
#[template(path = "documents_list.html")]
struct ListPage {
    layout: Layout,
    q: String,
    rows: Vec<Row>,
    can_edit: bool,
    can_review: bool,
    kinds: Vec<(&'static str, &'static str)>,
}

#[derive(Deserialize)]
struct ListQuery {
    #[serde(default)]
    q: String,
}

async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<ListQuery>,
) -> Result<Response, AppError> {
    let cap = viewer.can::<can::ViewPolicy>(&state).await?;
    let docs = documents::list(&state.db, &cap, &viewer.actor, &viewer.tree, Some(&q.q)).await?;
    let rows = docs
        .into_iter()
        .map(|r| Row {
            id: r.document.id,
            kind: kind_label(&r.document.kind),
            title: r.document.title,
            published: r
                .published
                .map(|n| format!("第{n}版"))
                .unwrap_or_else(|| "未公開".into()),
            latest: r
                .latest
                .map(|(n, s)| format!("第{n}版（{}）", status_label(&s)))
                .unwrap_or_default(),
        })
        .collect();
    page(&ListPage {
        layout: Layout::new(&viewer, "ポリシー文書", "/documents"),
        q: q.q,
        rows,
        can_edit: viewer.actor.can::<can::EditPolicy>().is_ok(),
        can_review: viewer.actor.can::<can::ViewReviews>().is_ok(),
        kinds: [DocKind::Standard, DocKind::Procedure]
            .into_iter()
            .map(|k| (k.code(), k.label_ja()))
            .collect(),
    })
}

#[derive(Deserialize)]
struct CreateForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    summary: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    readers: String,
}

async fn create(
    State(state): State<AppState>,
    viewer: Viewer,
    CsrfForm(form): CsrfForm<CreateForm>,
) -> Result<Response, AppError> {
    let cap = viewer.can::<can::EditPolicy>(&state).await?;
    let kind = DocKind::from_code(&form.kind)
        .ok_or_else(|| AppError::bad("文書の種類を選んでください（対策基準・実施手順）"))?;
    let readers = parse_readers(&viewer.tree, &form.readers)?;
    let input = documents::NewDocument {
        kind,
        title: form.title,
        summary: form.summary,
        body: form.body,
        readers,
    };
    let ctx = viewer.audit_ctx();
    let tree = viewer.tree.clone();
    let id = write(&state, async |c: &mut AnyConnection| {
        documents::create(c, &cap, &ctx, &tree, &input).await
    })
    .await?;
    Ok(Redirect::to(&format!("/documents/{id}/versions/1")).into_response())
}

// ---------------------------------------------------------------------------------------------
// A document and its versions
// ---------------------------------------------------------------------------------------------

struct VersionRow {
    n: i64,
    title: String,
    status: &'static str,
    published: String,
    note: String,
}

#[derive(Template)]
#[template(path = "documents_doc.html")]
struct DocPage {
    layout: Layout,
    d: Document,
    kind: &'static str,
    procedure: bool,
    basic: bool,
    readers: Vec<String>,
    readers_text: String,
    versions: Vec<VersionRow>,
    can_edit: bool,
    latest_text: String,
    latest_title: String,
    diff_from: i64,
    diff_to: i64,
}

async fn show_document(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let (_, d, rules) = load(&state, &viewer, id).await?;
    let drafts = sees_drafts(&viewer);
    let all = documents::versions(&state.db, d.org_id, d.id).await?;
    let shown: Vec<&Version> = all
        .iter()
        .filter(|v| drafts || v.status().was_published())
        .collect();
    let latest_text = match shown.first() {
        Some(v) => version_text(&state, v).await?,
        None => String::new(),
    };
    let versions = shown
        .iter()
        .map(|v| VersionRow {
            n: v.version_no,
            title: v.title.clone(),
            status: status_label(&v.status),
            published: v
                .published_at
                .as_deref()
                .map(datetime_ja)
                .unwrap_or_default(),
            note: v.note.clone(),
        })
        .collect();
    let diff_to = shown.first().map_or(0, |v| v.version_no);
    let diff_from = shown.get(1).map_or(diff_to, |v| v.version_no);
    let kind = d.kind();
    page(&DocPage {
        layout: Layout::new(&viewer, d.title.clone(), "/documents"),
        kind: kind_label(&d.kind),
        procedure: kind == Some(DocKind::Procedure),
        basic: kind == Some(DocKind::BasicPolicy),
        readers: readers_labels(&viewer.tree, &rules),
        readers_text: readers_text(&viewer.tree, &rules),
        latest_title: shown
            .first()
            .map(|v| v.title.clone())
            .unwrap_or_else(|| d.title.clone()),
        d,
        versions,
        can_edit: viewer.actor.can::<can::EditPolicy>().is_ok(),
        latest_text,
        diff_from,
        diff_to,
    })
}

#[derive(Deserialize)]
struct VersionForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    note: String,
}

async fn new_version(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    CsrfForm(form): CsrfForm<VersionForm>,
) -> Result<Response, AppError> {
    let (_, d, _) = load(&state, &viewer, id).await?;
    let cap = viewer.can::<can::EditPolicy>(&state).await?;
    let ctx = viewer.audit_ctx();
    let n = if d.kind() == Some(DocKind::BasicPolicy) {
        super::policy::import_text(
            &state,
            cap.org().0,
            &viewer.org.name,
            &viewer.tree,
            &ctx,
            &form.body,
            &mamori_core::text::normalize(&form.note),
            false,
        )
        .await?
    } else {
        write(&state, async |c: &mut AnyConnection| {
            documents::new_version(c, &cap, &ctx, d.id, &form.title, &form.body, &form.note).await
        })
        .await?
    };
    Ok(Redirect::to(&format!("/documents/{}/versions/{n}", d.id)).into_response())
}

#[derive(Deserialize)]
struct ReadersForm {
    #[serde(default)]
    readers: String,
}

async fn set_readers(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    CsrfForm(form): CsrfForm<ReadersForm>,
) -> Result<Response, AppError> {
    let (_, d, _) = load(&state, &viewer, id).await?;
    let cap = viewer.can::<can::EditPolicy>(&state).await?;
    let readers = parse_readers(&viewer.tree, &form.readers)?;
    let ctx = viewer.audit_ctx();
    let tree = viewer.tree.clone();
    write(&state, async |c: &mut AnyConnection| {
        documents::set_readers(c, &cap, &ctx, &tree, d.id, &readers).await
    })
    .await?;
    Ok(Redirect::to(&format!("/documents/{}", d.id)).into_response())
}

// ---------------------------------------------------------------------------------------------
// A version: text, workflow, acknowledgement
// ---------------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "documents_version.html")]
struct VersionPage {
    layout: Layout,
    d: Document,
    kind: &'static str,
    v: Version,
    status: &'static str,
    text: String,
    drafted_by: String,
    submitted: String,
    approved: String,
    committee: String,
    published: String,
    can_edit: bool,
    can_approve: bool,
    self_approval: bool,
    basic: bool,
    needs_ack: bool,
    acknowledged: Option<String>,
    can_report: bool,
    prev: Option<i64>,
}

async fn show_version(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((id, n)): Path<(i64, i64)>,
) -> Result<Response, AppError> {
    let (_, d, _) = load(&state, &viewer, id).await?;
    let v = load_version(&state, &viewer, &d, n).await?;
    let text = version_text(&state, &v).await?;
    record_read(&state, &viewer, &d, &v, "page").await?;
    let kind = d.kind();
    let status = v.status();
    let needs_ack =
        kind.is_some_and(DocKind::needs_acknowledgement) && status == VersionStatus::Published;
    let acknowledged = if needs_ack {
        documents::acknowledged_at(&state.db, v.id, viewer.person.id)
            .await?
            .map(|t| datetime_ja(&t))
    } else {
        None
    };
    let prev = documents::versions(&state.db, d.org_id, d.id)
        .await?
        .into_iter()
        .filter(|o| {
            o.version_no < v.version_no && (o.status().was_published() || sees_drafts(&viewer))
        })
        .map(|o| o.version_no)
        .next();
    let stamp = |who: Option<i64>, at: &Option<String>| match at {
        Some(t) => format!("{}（{}）", datetime_ja(t), person_name(&viewer, who)),
        None => String::new(),
    };
    page(&VersionPage {
        layout: Layout::new(
            &viewer,
            format!("{} 第{}版", d.title, v.version_no),
            "/documents",
        ),
        kind: kind_label(&d.kind),
        status: status.label_ja(),
        text,
        drafted_by: person_name(&viewer, v.drafted_by),
        submitted: stamp(v.submitted_by, &v.submitted_at),
        approved: stamp(v.approved_by, &v.approved_at),
        committee: match (&v.committee_date, v.committee_ref.is_empty()) {
            (Some(day), true) => date_ja(day),
            (Some(day), false) => format!("{} {}", date_ja(day), v.committee_ref),
            (None, false) => v.committee_ref.clone(),
            (None, true) => String::new(),
        },
        published: stamp(v.published_by, &v.published_at),
        can_edit: viewer.actor.can::<can::EditPolicy>().is_ok(),
        can_approve: viewer.actor.can::<can::ApprovePolicy>().is_ok(),
        self_approval: v.authors().contains(&viewer.person.id),
        basic: kind == Some(DocKind::BasicPolicy),
        needs_ack,
        acknowledged,
        can_report: needs_ack && viewer.actor.can::<can::ReportAcknowledgements>().is_ok(),
        prev,
        d,
        v,
    })
}

async fn download(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((id, n)): Path<(i64, i64)>,
) -> Result<Response, AppError> {
    let (_, d, _) = load(&state, &viewer, id).await?;
    let v = load_version(&state, &viewer, &d, n).await?;
    let text = version_text(&state, &v).await?;
    record_read(&state, &viewer, &d, &v, "download").await?;
    let disposition = format!(
        "attachment; filename=\"document-{}-v{}.txt\"",
        d.id, v.version_no
    );
    Ok((
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        text,
    )
        .into_response())
}

#[derive(Deserialize)]
struct StepForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    committee_date: String,
    #[serde(default)]
    committee_ref: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    pledge: String,
}

async fn version_step(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((id, n, step)): Path<(i64, i64, String)>,
    CsrfForm(form): CsrfForm<StepForm>,
) -> Result<Response, AppError> {
    let (_, d, _) = load(&state, &viewer, id).await?;
    let v = load_version(&state, &viewer, &d, n).await?;
    let back = format!("/documents/{}/versions/{}", d.id, v.version_no);
    let ctx = viewer.audit_ctx();
    match step.as_str() {
        "edit" => {
            let cap = viewer.can::<can::EditPolicy>(&state).await?;
            if d.kind() == Some(DocKind::BasicPolicy) {
                super::policy::replace_draft_text(
                    &state, &viewer, &cap, &v, &form.body, &form.note,
                )
                .await?;
            } else {
                write(&state, async |c: &mut AnyConnection| {
                    documents::edit_draft(c, &cap, &ctx, v.id, &form.title, &form.body, &form.note)
                        .await
                })
                .await?;
            }
        }
        "submit" => {
            let cap = viewer.can::<can::EditPolicy>(&state).await?;
            write(&state, async |c: &mut AnyConnection| {
                documents::submit(c, &cap, &ctx, v.id).await
            })
            .await?;
        }
        "approve" => {
            let cap = viewer.can::<can::ApprovePolicy>(&state).await?;
            let committee = committee(&form)?;
            let result = write(&state, async |c: &mut AnyConnection| {
                documents::approve(c, &cap, &ctx, v.id, &committee).await
            })
            .await;
            if let Err(AppError::Conflict(m)) = &result
                && v.authors().contains(&viewer.person.id)
            {
                let mut entry =
                    ctx.entry("document.version.approve.refused", "document_version", v.id);
                entry.after = Some(serde_json::json!({"reason": m}));
                viewer.record(&state, entry).await?;
            }
            result?;
        }
        "return" => {
            let cap = viewer.can::<can::ApprovePolicy>(&state).await?;
            write(&state, async |c: &mut AnyConnection| {
                documents::return_to_draft(c, &cap, &ctx, v.id, &form.reason).await
            })
            .await?;
        }
        "publish" => {
            let cap = viewer.can::<can::EditPolicy>(&state).await?;
            write(&state, async |c: &mut AnyConnection| {
                documents::publish(c, &cap, &ctx, v.id).await
            })
            .await?;
        }
        "acknowledge" => {
            let cap = viewer.can::<can::ViewPolicy>(&state).await?;
            if form.pledge != "1" {
                return Err(AppError::bad(
                    "「遵守することを誓約します」にチェックを入れてから送信してください",
                ));
            }
            write(&state, async |c: &mut AnyConnection| {
                documents::acknowledge(c, &cap, &ctx, v.id).await
            })
            .await?;
        }
        "remind" => {
            let cap = viewer.can::<can::ReportAcknowledgements>(&state).await?;
            let tree = viewer.tree.clone();
            let db = state.db.clone();
            write(&state, async |c: &mut AnyConnection| {
                let mail = match state.config.mail {
                    Some(_) => documents::ReminderMail::On(state.config.public_url.as_deref()),
                    None => documents::ReminderMail::Off,
                };
                documents::remind(c, &db, &cap, &ctx, &tree, v.id, mail).await
            })
            .await?;
            return Ok(Redirect::to(&format!("{back}/acknowledgements")).into_response());
        }
        _ => return Err(AppError::NotFound),
    }
    Ok(Redirect::to(&back).into_response())
}

fn committee(form: &StepForm) -> Result<documents::Committee, AppError> {
    let day = form.committee_date.trim();
    let date = if day.is_empty() {
        None
    } else {
        Some(
            mamori_core::calendar::parse_date(day)
                .map_err(|e| AppError::bad(format!("委員会の決定日を読み取れません: {e}")))?,
        )
    };
    Ok(documents::Committee {
        date,
        reference: form.committee_ref.clone(),
    })
}

// ---------------------------------------------------------------------------------------------
// Diff
// ---------------------------------------------------------------------------------------------

struct DiffLine {
    class: &'static str,
    mark: &'static str,
    old_no: String,
    new_no: String,
    old: Vec<diff::Segment>,
    new: Vec<diff::Segment>,
}

#[derive(Template)]
#[template(path = "documents_diff.html")]
struct DiffPage {
    layout: Layout,
    d: Document,
    numbers: Vec<i64>,
    from: i64,
    to: i64,
    lines: Vec<DiffLine>,
    summary: String,
}

#[derive(Deserialize)]
struct DiffQuery {
    from: Option<i64>,
    to: Option<i64>,
}

async fn diff_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Query(q): Query<DiffQuery>,
) -> Result<Response, AppError> {
    let (_, d, _) = load(&state, &viewer, id).await?;
    let drafts = sees_drafts(&viewer);
    let numbers: Vec<i64> = documents::versions(&state.db, d.org_id, d.id)
        .await?
        .iter()
        .filter(|v| drafts || v.status().was_published())
        .map(|v| v.version_no)
        .collect();
    let to =
        q.to.or(numbers.first().copied())
            .ok_or(AppError::NotFound)?;
    let from = q
        .from
        .or_else(|| numbers.iter().copied().find(|n| *n < to))
        .unwrap_or(to);
    let old_v = load_version(&state, &viewer, &d, from).await?;
    let new_v = load_version(&state, &viewer, &d, to).await?;
    let old = version_text(&state, &old_v).await?;
    let new = version_text(&state, &new_v).await?;
    record_read(&state, &viewer, &d, &old_v, "diff").await?;
    record_read(&state, &viewer, &d, &new_v, "diff").await?;
    let result = diff::diff(&old, &new);
    let (removed, added, changed) = result.counts();
    let summary = if result.is_unchanged() {
        "二つの版の本文は同じです。".to_owned()
    } else {
        format!("変更 {changed} 行、削除 {removed} 行、追加 {added} 行")
    };
    let lines = result
        .rows
        .into_iter()
        .map(|r| DiffLine {
            class: match r.op {
                LineOp::Same => "same",
                LineOp::Removed => "removed",
                LineOp::Added => "added",
                LineOp::Changed => "changed",
            },
            mark: match r.op {
                LineOp::Same => "",
                LineOp::Removed => "削除",
                LineOp::Added => "追加",
                LineOp::Changed => "変更",
            },
            old_no: r.old_no.map(|n| n.to_string()).unwrap_or_default(),
            new_no: r.new_no.map(|n| n.to_string()).unwrap_or_default(),
            old: r.old,
            new: r.new,
        })
        .collect();
    page(&DiffPage {
        layout: Layout::new(&viewer, format!("{} 版の比較", d.title), "/documents"),
        d,
        numbers,
        from,
        to,
        lines,
        summary,
    })
}

// ---------------------------------------------------------------------------------------------
// Acknowledgement rates and reminders
// ---------------------------------------------------------------------------------------------

struct RateRow {
    indent: String,
    name: String,
    acknowledged: i64,
    active: i64,
    percent: i64,
}

struct PendingRow {
    name: String,
    unit: String,
    reminders: i64,
    last: String,
}

#[derive(Template)]
#[template(path = "documents_acks.html")]
struct AcksPage {
    layout: Layout,
    d: Document,
    v: Version,
    total: String,
    rates: Vec<RateRow>,
    pending: Vec<PendingRow>,
}

async fn acks_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((id, n)): Path<(i64, i64)>,
) -> Result<Response, AppError> {
    let (_, d, _) = load(&state, &viewer, id).await?;
    let cap = viewer.can::<can::ReportAcknowledgements>(&state).await?;
    let v = load_version(&state, &viewer, &d, n).await?;
    if !d.kind().is_some_and(DocKind::needs_acknowledgement) || !v.status().was_published() {
        return Err(AppError::NotFound);
    }
    let ack = documents::version_ack(&state.db, d.org_id, &viewer.tree, v.id, cap.reach()).await?;
    let rates = ack
        .units
        .iter()
        .map(|u| RateRow {
            indent: "　".repeat(u.depth),
            name: u.name.clone(),
            acknowledged: u.acknowledged,
            active: u.active,
            percent: u.percent(),
        })
        .collect();
    let pending = ack
        .pending
        .iter()
        .map(|p| PendingRow {
            name: p.name.clone(),
            unit: viewer.tree.full_name(p.unit_id),
            reminders: p.reminders,
            last: p
                .last_reminded
                .as_deref()
                .map(datetime_ja)
                .unwrap_or_default(),
        })
        .collect();
    page(&AcksPage {
        layout: Layout::new(
            &viewer,
            format!("{} 第{}版 誓約の状況", d.title, v.version_no),
            "/documents",
        ),
        total: format!(
            "{} / {} 名（{}%）",
            ack.acknowledged,
            ack.active,
            ack.percent()
        ),
        d,
        v,
        rates,
        pending,
    })
}

// ---------------------------------------------------------------------------------------------
// The public 基本方針
// ---------------------------------------------------------------------------------------------

struct PublicSection {
    number: u32,
    title: String,
    summary: String,
    text: String,
}

#[derive(Template)]
#[template(path = "documents_public.html")]
struct PublicPage {
    org: String,
    title: String,
    adopted: String,
    version_no: i64,
    sections: Vec<PublicSection>,
    others: Vec<(String, String)>,
}

#[derive(Deserialize)]
struct PublicQuery {
    org: Option<String>,
}

/// The published 基本方針, for anyone (the obligation to publish the policy). Nothing else is
/// ever shown here: not drafts, not 対策基準, not 実施手順.
async fn public_policy(
    State(state): State<AppState>,
    Query(q): Query<PublicQuery>,
) -> Result<Response, AppError> {
    let orgs = mamori_db::org::organisations(&state.db).await?;
    let chosen = match q.org.as_deref() {
        Some(code) => orgs
            .iter()
            .find(|o| o.code == code)
            .ok_or(AppError::NotFound)?,
        None => match orgs.as_slice() {
            [only] => only,
            _ => {
                let others = orgs
                    .iter()
                    .map(|o| (o.code.clone(), o.name.clone()))
                    .collect();
                return page(&PublicPage {
                    org: String::new(),
                    title: "情報セキュリティ基本方針".into(),
                    adopted: String::new(),
                    version_no: 0,
                    sections: Vec::new(),
                    others,
                });
            }
        },
    };
    let v = mamori_db::policy::current(&state.db, chosen.id)
        .await?
        .ok_or(AppError::NotFound)?;
    let doc: super::policy::PolicyDoc = serde_json::from_str(&v.content_json)?;
    let sections = doc
        .outline
        .sections
        .iter()
        .map(|s| PublicSection {
            number: s.number,
            title: s.title.clone(),
            summary: s.summary.clone(),
            text: doc
                .text
                .as_ref()
                .and_then(|t| t.section(s.number))
                .map(super::policy::render_text)
                .unwrap_or_default(),
        })
        .collect();
    page(&PublicPage {
        org: chosen.name.clone(),
        title: doc.outline.title.clone(),
        adopted: doc
            .outline
            .adopted
            .map(|d| date_ja(&mamori_core::calendar::format_iso(d)))
            .unwrap_or_default(),
        version_no: v.version_no,
        sections,
        others: Vec::new(),
    })
}
