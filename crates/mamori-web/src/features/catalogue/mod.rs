//! 対策基準 (基本方針 §9): the organisation's standards catalogue — the clause tree with
//! control status counts per chapter, a clause's page with its controls and their evidence
//! history, clause editing, the mapping of the organisation's own article numbers to the
//! guideline, and the import of its own clauses from a file (preview first, all or nothing).
//!
//! Everyone reads the catalogue ([`can::ViewPolicy`]); 統括 and the CISO edit clauses
//! ([`can::EditStandards`]); a control is updated and its evidence uploaded by whoever holds
//! [`can::EditControls`] over its owner unit. Evidence downloads are audited. The JSON API is in
//! [`api`].

pub mod api;

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::multipart::{Multipart, MultipartError, MultipartRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use base64::Engine;
use mamori_core::calendar::today_jst;
use mamori_core::org::OrgId;
use mamori_core::permission::{Capability, can};
use mamori_db::AnyConnection;
use mamori_db::catalogue::evidence::{self, EvidenceKind};
use mamori_db::catalogue::import::{self as clause_import, ImportPlan};
use mamori_db::catalogue::{
    self, CatalogueError, Clause, ClauseEdit, Control, ControlInput, ControlStatus,
};
use serde::Deserialize;

use crate::session::{CsrfForm, Viewer, constant_time_eq};
use crate::views::{Layout, datetime_ja, page};
use crate::{AppError, AppState};

/// Routes of this feature.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/standards", get(index))
        .route("/standards/import", get(import_page).post(import_post))
        .route("/standards/mapping", get(mapping_page).post(mapping_save))
        .route(
            "/standards/clauses/{id}",
            get(clause_page).post(clause_save),
        )
        .route("/standards/clauses/{id}/edit", get(clause_edit))
        .route("/standards/clauses/{id}/controls", post(control_create))
        .route("/standards/controls/{id}", post(control_save))
        .route(
            "/standards/controls/{id}/evidence",
            post(evidence_upload).layer(DefaultBodyLimit::disable()),
        )
        .route("/standards/evidence/{id}", get(evidence_download))
}

/// The answer to a refused change.
pub fn catalogue_error(e: CatalogueError) -> AppError {
    match e {
        CatalogueError::Invalid(m) => AppError::Unprocessable(m),
        CatalogueError::Stale => AppError::Conflict(e.to_string()),
        CatalogueError::Db(e) => e.into(),
    }
}

/// Runs `change` in one write transaction and commits it.
pub async fn write<T>(
    state: &AppState,
    change: impl AsyncFnOnce(&mut AnyConnection) -> Result<T, CatalogueError>,
) -> Result<T, AppError> {
    let mut tx = state.db.begin_write().await?;
    let out = change(&mut tx).await.map_err(catalogue_error)?;
    tx.commit().await.map_err(mamori_db::DbError::from)?;
    Ok(out)
}

/// A multipart form read with explicit limits: text fields up to `max_field` bytes, the file
/// up to `max_file` (413 beyond it, before anything is stored).
#[derive(Debug, Default)]
pub struct Form {
    /// Text fields by name.
    pub fields: HashMap<String, String>,
    /// The file's name as uploaded.
    pub file_name: String,
    /// The file's bytes.
    pub file: Vec<u8>,
}

impl Form {
    /// A text field, empty when absent.
    pub fn text(&self, name: &str) -> &str {
        self.fields.get(name).map(String::as_str).unwrap_or("")
    }

    /// The CSRF check of a page form.
    pub fn check_csrf(&self, viewer: &Viewer) -> Result<(), AppError> {
        let expected = viewer.csrf();
        if viewer.session.is_none()
            || expected.is_empty()
            || !constant_time_eq(self.text("csrf").as_bytes(), expected.as_bytes())
        {
            return Err(AppError::Csrf);
        }
        Ok(())
    }
}

/// Reads a multipart form (see [`Form`]).
pub async fn read_form(
    multipart: Result<Multipart, MultipartRejection>,
    file_field: &str,
    max_file: usize,
    max_field: usize,
) -> Result<Form, AppError> {
    let mut multipart = multipart.map_err(|_| {
        AppError::bad("ファイルを添付できるフォーム（multipart）で送信してください")
    })?;
    let unreadable = |e: MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::PayloadTooLarge
        } else {
            AppError::bad("送信されたフォームを読み取れませんでした")
        }
    };
    let mut form = Form::default();
    let mut count = 0;
    while let Some(mut field) = multipart.next_field().await.map_err(unreadable)? {
        count += 1;
        if count > 100 {
            return Err(AppError::bad("フォームの項目が多すぎます"));
        }
        let name = field.name().unwrap_or_default().to_owned();
        if name == file_field {
            form.file_name = field.file_name().unwrap_or_default().to_owned();
            while let Some(chunk) = field.chunk().await.map_err(unreadable)? {
                if form.file.len() + chunk.len() > max_file {
                    return Err(AppError::PayloadTooLarge);
                }
                form.file.extend_from_slice(&chunk);
            }
        } else {
            let mut value = Vec::new();
            while let Some(chunk) = field.chunk().await.map_err(unreadable)? {
                if value.len() + chunk.len() > max_field {
                    return Err(AppError::bad("フォームの項目が長すぎます"));
                }
                value.extend_from_slice(&chunk);
            }
            let text = String::from_utf8(value)
                .map_err(|_| AppError::bad("フォームの項目が UTF-8 ではありません"))?;
            form.fields.insert(name, text);
        }
    }
    Ok(form)
}

fn status_label(code: &str) -> &'static str {
    ControlStatus::parse(code)
        .map(ControlStatus::label_ja)
        .unwrap_or("未着手")
}

fn depth_of(c: &Clause, by_id: &HashMap<i64, &Clause>) -> usize {
    let mut depth = 0;
    let mut at = c.parent_id;
    while let Some(p) = at {
        depth += 1;
        at = by_id.get(&p).and_then(|c| c.parent_id);
        if depth > 32 {
            break;
        }
    }
    depth
}

// ------------------------------------------------------------------ the tree

/// One line of the tree.
struct TreeRow {
    id: i64,
    number: String,
    guideline_no: String,
    title: String,
    depth: usize,
    counts: [i64; 4],
    total: i64,
}

#[derive(Template)]
#[template(path = "catalogue_index.html")]
struct IndexPage {
    layout: Layout,
    rows: Vec<TreeRow>,
    labels: [&'static str; 4],
    totals: [i64; 4],
    can_edit: bool,
}

async fn index(State(state): State<AppState>, viewer: Viewer) -> Result<Response, AppError> {
    let cap = viewer.can::<can::ViewPolicy>(&state).await?;
    let clauses = catalogue::clauses(&state.db, cap.org()).await?;
    let counts = catalogue::status_counts(&state.db, cap.org()).await?;
    let rolled = catalogue::roll_up(&clauses, &counts);
    let by_id: HashMap<i64, &Clause> = clauses.iter().map(|c| (c.id, c)).collect();
    let mut totals = [0i64; 4];
    for figures in counts.values() {
        for (t, f) in totals.iter_mut().zip(figures) {
            *t += f;
        }
    }
    let rows = clauses
        .iter()
        .map(|c| {
            let counts = rolled.get(&c.id).copied().unwrap_or([0; 4]);
            TreeRow {
                id: c.id,
                number: c.number.clone(),
                guideline_no: c
                    .guideline_no
                    .clone()
                    .filter(|g| *g != c.number)
                    .unwrap_or_default(),
                title: c.title.clone(),
                depth: depth_of(c, &by_id),
                total: counts.iter().sum(),
                counts,
            }
        })
        .collect();
    page(&IndexPage {
        layout: Layout::new(&viewer, "対策基準", "/standards"),
        rows,
        labels: ControlStatus::ALL.map(ControlStatus::label_ja),
        totals,
        can_edit: viewer.actor.can::<can::EditStandards>().is_ok(),
    })
}

// ------------------------------------------------------------------ one clause

struct EvidenceRow {
    id: i64,
    name: String,
    version_no: i64,
    file_name: String,
    kind: &'static str,
    size: i64,
    sha256: String,
    uploader: String,
    at: String,
}

struct ControlRow {
    c: Control,
    status: &'static str,
    unit: String,
    exception_id: Option<i64>,
    can_edit: bool,
    evidence: Vec<EvidenceRow>,
    evidence_names: Vec<String>,
}

#[derive(Template)]
#[template(path = "catalogue_clause.html")]
struct ClausePage {
    layout: Layout,
    clause: Clause,
    parent: Option<(i64, String, String)>,
    children: Vec<(i64, String, String)>,
    guideline_title: String,
    controls: Vec<ControlRow>,
    statuses: Vec<(&'static str, &'static str)>,
    units: Vec<(i64, String)>,
    can_edit_clause: bool,
    can_add_control: bool,
    max_evidence: String,
}

/// Reads a clause of the viewer's organisation (`NotFound` otherwise).
async fn visible_clause(
    state: &AppState,
    viewer: &Viewer,
    id: i64,
) -> Result<(Capability<can::ViewPolicy>, Clause), AppError> {
    let cap = viewer.can::<can::ViewPolicy>(state).await?;
    catalogue::ensure_seeded(&state.db, cap.org()).await?;
    let c = catalogue::clause(&state.db, cap.org(), id).await?;
    Ok((cap, c))
}

/// Bytes as people say them: 20 MiB → 「20 MB」.
pub fn size_text(bytes: usize) -> String {
    if bytes >= 1024 * 1024 {
        format!("{} MB", bytes / (1024 * 1024))
    } else if bytes >= 1024 {
        format!("{} KB", bytes / 1024)
    } else {
        format!("{bytes} バイト")
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct NoticeQuery {
    notice: String,
    version: String,
}

impl NoticeQuery {
    fn text(&self) -> Option<String> {
        match self.notice.as_str() {
            "saved" => Some("保存しました。".into()),
            "added" => Some("対策を追加しました。".into()),
            "uploaded" => Some(format!(
                "証跡を登録しました（第{}版）。",
                self.version.parse::<i64>().unwrap_or(1)
            )),
            "mapped" => Some("ガイドライン番号の対応を保存しました。".into()),
            _ => None,
        }
    }
}

async fn clause_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Query(notice): Query<NoticeQuery>,
) -> Result<Response, AppError> {
    let (cap, clause) = visible_clause(&state, &viewer, id).await?;
    let org = cap.org();
    let all = catalogue::clauses(&state.db, org).await?;
    let parent = clause
        .parent_id
        .and_then(|p| all.iter().find(|c| c.id == p))
        .map(|p| (p.id, p.number.clone(), p.title.clone()));
    let children = all
        .iter()
        .filter(|c| c.parent_id == Some(clause.id))
        .map(|c| (c.id, c.number.clone(), c.title.clone()))
        .collect();
    let edit = viewer.actor.can::<can::EditControls>().ok();
    let mut controls = Vec::new();
    for c in catalogue::controls_of(&state.db, org, clause.id).await? {
        let evidence: Vec<EvidenceRow> = evidence::of_control(&state.db, org, c.id)
            .await?
            .into_iter()
            .map(|v| EvidenceRow {
                id: v.id,
                name: v.name,
                version_no: v.version_no,
                file_name: v.file_name,
                kind: EvidenceKind::label_for(&v.kind),
                size: v.size,
                sha256: v.sha256,
                uploader: v.uploader_name.unwrap_or_default(),
                at: datetime_ja(&v.created_at),
            })
            .collect();
        let mut evidence_names: Vec<String> = evidence.iter().map(|v| v.name.clone()).collect();
        evidence_names.dedup();
        let exception_id = if c.exception_ref.is_empty() {
            None
        } else {
            let mut conn = state
                .db
                .pool()
                .acquire()
                .await
                .map_err(mamori_db::DbError::from)?;
            mamori_db::exceptions::by_ref(&mut conn, org.0, &c.exception_ref)
                .await?
                .map(|e| e.id)
        };
        controls.push(ControlRow {
            status: status_label(&c.status),
            unit: viewer.tree.full_name(c.unit_id),
            can_edit: edit
                .as_ref()
                .is_some_and(|cap| cap.covers(&viewer.tree.path(c.unit_id))),
            exception_id,
            evidence,
            evidence_names,
            c,
        });
    }
    let units = edit
        .as_ref()
        .map(|cap| {
            viewer
                .tree
                .reachable(cap.reach())
                .into_iter()
                .filter(|u| viewer.tree.get(*u).is_some_and(|u| u.active != 0))
                .map(|u| (u, viewer.tree.full_name(u)))
                .collect()
        })
        .unwrap_or_default();
    let guideline_title = clause
        .guideline_no
        .as_deref()
        .and_then(mamori_core::standards::clause)
        .map(|g| format!("{} {}", g.number, g.title))
        .unwrap_or_default();
    page(&ClausePage {
        layout: Layout::new(
            &viewer,
            format!("{} {}", clause.number, clause.title),
            "/standards",
        )
        .with_notice(notice.text()),
        parent,
        children,
        guideline_title,
        controls,
        statuses: ControlStatus::ALL
            .iter()
            .map(|s| (s.code(), s.label_ja()))
            .collect(),
        can_add_control: edit.is_some(),
        units,
        can_edit_clause: viewer.actor.can::<can::EditStandards>().is_ok(),
        max_evidence: size_text(state.config.max_evidence_bytes),
        clause,
    })
}

// ------------------------------------------------------------------ editing a clause

#[derive(Template)]
#[template(path = "catalogue_edit.html")]
struct EditPage {
    layout: Layout,
    clause: Clause,
    guideline_no: String,
}

async fn clause_edit(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let (_, clause) = visible_clause(&state, &viewer, id).await?;
    viewer.can::<can::EditStandards>(&state).await?;
    page(&EditPage {
        layout: Layout::new(&viewer, format!("{} を編集", clause.number), "/standards"),
        guideline_no: clause.guideline_no.clone().unwrap_or_default(),
        clause,
    })
}

#[derive(Deserialize)]
struct ClauseForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    guideline_no: String,
    #[serde(default)]
    version: Option<i64>,
}

async fn clause_save(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    CsrfForm(form): CsrfForm<ClauseForm>,
) -> Result<Response, AppError> {
    let (_, clause) = visible_clause(&state, &viewer, id).await?;
    let cap = viewer.can::<can::EditStandards>(&state).await?;
    let edit = ClauseEdit {
        title: form.title,
        body: form.body,
        guideline_no: form.guideline_no,
    };
    write(&state, async |tx: &mut AnyConnection| {
        catalogue::update_clause(
            tx,
            &cap,
            &viewer.audit_ctx(),
            clause.id,
            form.version,
            &edit,
        )
        .await
    })
    .await?;
    Ok(Redirect::to(&format!("/standards/clauses/{id}?notice=saved")).into_response())
}

// ------------------------------------------------------------------ controls

#[derive(Deserialize)]
struct ControlForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    unit_id: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    exception_ref: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    version: Option<i64>,
}

fn control_input(form: ControlForm) -> Result<(ControlInput, Option<i64>), AppError> {
    let unit_id = form
        .unit_id
        .trim()
        .parse()
        .map_err(|_| AppError::Unprocessable("担当組織を選んでください".into()))?;
    let status = if form.status.trim().is_empty() {
        ControlStatus::NotStarted
    } else {
        ControlStatus::parse(&form.status).ok_or_else(|| {
            AppError::Unprocessable(
                "実施状況は 未着手・実施中・実施済・例外適用中 のいずれかです".into(),
            )
        })?
    };
    Ok((
        ControlInput {
            title: form.title,
            unit_id,
            status,
            exception_ref: form.exception_ref,
            note: form.note,
        },
        form.version,
    ))
}

async fn control_create(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    CsrfForm(form): CsrfForm<ControlForm>,
) -> Result<Response, AppError> {
    let (_, clause) = visible_clause(&state, &viewer, id).await?;
    let (input, _) = control_input(form)?;
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
    Ok(Redirect::to(&format!(
        "/standards/clauses/{}?notice=added#control-{kid}",
        clause.id
    ))
    .into_response())
}

/// A control of the viewer's organisation with the capability to change it (a control outside
/// the viewer's reach is refused and audited).
async fn editable_control(
    state: &AppState,
    viewer: &Viewer,
    id: i64,
) -> Result<(Capability<can::EditControls>, Control), AppError> {
    let view = viewer.can::<can::ViewPolicy>(state).await?;
    let c = catalogue::control(&state.db, view.org(), id).await?;
    let cap = viewer.can_on::<can::EditControls>(state, c.unit_id).await?;
    Ok((cap, c))
}

async fn control_save(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    CsrfForm(form): CsrfForm<ControlForm>,
) -> Result<Response, AppError> {
    let (cap, c) = editable_control(&state, &viewer, id).await?;
    let (input, version) = control_input(form)?;
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
    Ok(Redirect::to(&format!(
        "/standards/clauses/{}?notice=saved#control-{id}",
        c.clause_id
    ))
    .into_response())
}

// ------------------------------------------------------------------ evidence

async fn evidence_upload(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, AppError> {
    let max = state.config.max_evidence_bytes;
    let form = read_form(multipart, "file", max, crate::upload::MAX_FIELD_BYTES).await?;
    form.check_csrf(&viewer)?;
    let (cap, c) = editable_control(&state, &viewer, id).await?;
    let tree = viewer.tree.clone();
    let (_, version) = write(&state, async |tx: &mut AnyConnection| {
        evidence::add(
            tx,
            &cap,
            &viewer.audit_ctx(),
            &tree,
            id,
            form.text("name"),
            &form.file_name,
            &form.file,
            max,
        )
        .await
    })
    .await?;
    Ok(Redirect::to(&format!(
        "/standards/clauses/{}?notice=uploaded&version={version}#control-{id}",
        c.clause_id
    ))
    .into_response())
}

/// Whether the viewer may download a control's evidence: whoever may update the control, and
/// those who read audit results over its unit (監査人, CISO, 統括, the 責任者 and 管理者).
fn may_download(viewer: &Viewer, unit_id: i64) -> bool {
    let path = viewer.tree.path(unit_id);
    viewer.actor.can_on::<can::EditControls>(&path).is_ok()
        || viewer.actor.can_on::<can::ViewAuditResults>(&path).is_ok()
}

/// The evidence file, recorded in the audit trail.
pub(crate) async fn download(
    state: &AppState,
    viewer: &Viewer,
    id: i64,
) -> Result<Response, AppError> {
    let org = OrgId(viewer.person.org_id);
    let (meta, bytes) = evidence::content(&state.db, org, id).await?;
    let control = catalogue::control(&state.db, org, meta.control_id).await?;
    if !may_download(viewer, control.unit_id) {
        return Err(viewer
            .denied(
                state,
                mamori_core::permission::Denied {
                    action: mamori_core::permission::Action::AuditResultView,
                },
                Some(control.unit_id),
            )
            .await);
    }
    let mut entry =
        viewer
            .audit_ctx()
            .entry("standards.evidence.download", "std_control", control.id);
    entry.unit_id = Some(control.unit_id);
    entry.after = Some(
        serde_json::json!({"evidence_id": meta.id, "name": meta.name,
        "version": meta.version_no, "sha256": meta.sha256}),
    );
    viewer.record(state, entry).await?;
    let mut resp = bytes.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    if let Ok(v) = HeaderValue::from_str(&crate::features::inventory::attachment(&meta.file_name)) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    if let Ok(v) = HeaderValue::from_str(&meta.sha256) {
        h.insert("x-content-sha256", v);
    }
    Ok(resp)
}

async fn evidence_download(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    viewer.can::<can::ViewPolicy>(&state).await?;
    download(&state, &viewer, id).await
}

// ------------------------------------------------------------------ import

/// Largest import file (a standards document is small).
pub const MAX_IMPORT_BYTES: usize = 5 * 1024 * 1024;

#[derive(Template)]
#[template(path = "catalogue_import.html")]
struct ImportPage {
    layout: Layout,
    plan: Option<ImportPlan>,
    counts: (usize, usize, usize),
    content: String,
    file_name: String,
}

async fn import_page(State(state): State<AppState>, viewer: Viewer) -> Result<Response, AppError> {
    viewer.can::<can::EditStandards>(&state).await?;
    page(&ImportPage {
        layout: Layout::new(&viewer, "対策基準の取込み", "/standards"),
        plan: None,
        counts: (0, 0, 0),
        content: String::new(),
        file_name: String::new(),
    })
}

/// The file of an import form: uploaded, or carried from the preview in `content` (base64).
fn import_file(form: &Form) -> Result<(String, Vec<u8>), AppError> {
    if !form.file.is_empty() || !form.file_name.is_empty() {
        return Ok((form.file_name.clone(), form.file.clone()));
    }
    let content = form.text("content").trim();
    if content.is_empty() {
        return Err(AppError::Unprocessable(
            "取り込むファイルを選択してください".into(),
        ));
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(content)
        .map_err(|_| AppError::bad("送信されたファイルの内容を読み取れませんでした"))?;
    Ok((form.text("file_name").to_owned(), bytes))
}

async fn import_post(
    State(state): State<AppState>,
    viewer: Viewer,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, AppError> {
    let form = read_form(multipart, "file", MAX_IMPORT_BYTES, MAX_IMPORT_BYTES * 2).await?;
    form.check_csrf(&viewer)?;
    let cap = viewer.can::<can::EditStandards>(&state).await?;
    let (file_name, bytes) = import_file(&form)?;
    let file_name = evidence::clean_name(&file_name);
    let apply = form.text("apply") == "1";
    let plan = match clause_import::read(&bytes, &file_name) {
        Err(errors) => ImportPlan {
            file_name: file_name.clone(),
            sha256: String::new(),
            rows: Vec::new(),
            errors,
        },
        Ok(file) if apply => {
            let applied = write(&state, async |tx: &mut AnyConnection| {
                clause_import::apply(tx, &cap, &viewer.audit_ctx(), &file).await
            })
            .await;
            match applied {
                Ok(plan) => {
                    let (added, updated, _) = plan.counts();
                    let layout = Layout::new(&viewer, "対策基準の取込み", "/standards")
                        .with_notice(Some(format!(
                            "取り込みました（追加 {added} 件、更新 {updated} 件）。"
                        )));
                    return page(&ImportPage {
                        layout,
                        counts: plan.counts(),
                        plan: Some(plan),
                        content: String::new(),
                        file_name,
                    });
                }
                Err(AppError::Unprocessable(m)) => ImportPlan {
                    file_name: file_name.clone(),
                    sha256: file.sha256.clone(),
                    rows: Vec::new(),
                    errors: m.lines().map(str::to_owned).collect(),
                },
                Err(e) => return Err(e),
            }
        }
        Ok(file) => {
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
        }
    };
    let failed = !plan.errors.is_empty();
    let content = if failed {
        String::new()
    } else {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&bytes)
    };
    let mut resp = page(&ImportPage {
        layout: Layout::new(&viewer, "対策基準の取込み（確認）", "/standards"),
        counts: plan.counts(),
        plan: Some(plan),
        content,
        file_name,
    })?;
    if failed {
        *resp.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(resp)
}

// ------------------------------------------------------------------ mapping

struct MapRow {
    id: i64,
    number: String,
    title: String,
    guideline_no: String,
    depth: usize,
}

#[derive(Template)]
#[template(path = "catalogue_mapping.html")]
struct MappingPage {
    layout: Layout,
    rows: Vec<MapRow>,
    guideline: Vec<(&'static str, &'static str)>,
}

async fn mapping_page(State(state): State<AppState>, viewer: Viewer) -> Result<Response, AppError> {
    let cap = viewer.can::<can::EditStandards>(&state).await?;
    let clauses = catalogue::clauses(&state.db, cap.org()).await?;
    let by_id: HashMap<i64, &Clause> = clauses.iter().map(|c| (c.id, c)).collect();
    let rows = clauses
        .iter()
        .map(|c| MapRow {
            id: c.id,
            number: c.number.clone(),
            title: c.title.clone(),
            guideline_no: c.guideline_no.clone().unwrap_or_default(),
            depth: depth_of(c, &by_id),
        })
        .collect();
    page(&MappingPage {
        layout: Layout::new(&viewer, "条番号とガイドラインの対応", "/standards"),
        rows,
        guideline: mamori_core::standards::GUIDELINE
            .iter()
            .map(|g| (g.number, g.title))
            .collect(),
    })
}

async fn mapping_save(
    State(state): State<AppState>,
    viewer: Viewer,
    CsrfForm(form): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let cap = viewer.can::<can::EditStandards>(&state).await?;
    let mut pairs = Vec::new();
    for (key, value) in form {
        if let Some(id) = key.strip_prefix("g_") {
            let id: i64 = id
                .parse()
                .map_err(|_| AppError::bad("送信された項目が正しくありません"))?;
            pairs.push((id, value));
        }
    }
    write(&state, async |tx: &mut AnyConnection| {
        catalogue::set_mapping(tx, &cap, &viewer.audit_ctx(), &pairs).await
    })
    .await?;
    Ok(Redirect::to("/standards/mapping?notice=mapped").into_response())
}
