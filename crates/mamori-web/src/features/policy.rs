//! The policy as the root of everything (§1–§10): its sections with summaries, the defined
//! terms (§2) as a glossary, the threat classes (§3), the scope (§4), the organisation's own
//! full text once imported, and every version kept.

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use mamori_core::permission::can;
use mamori_core::policy::{ImportedPolicy, PolicyOutline, ScopeBody, split_policy_text};
use mamori_db::org::{AuditCtx, UnitTree};
use mamori_db::policy::{self, NewVersion, PolicyVersion};
use serde::{Deserialize, Serialize};

use crate::session::{CsrfForm, Viewer};
use crate::views::{Layout, date_ja, datetime_ja, page};
use crate::{AppError, AppState};

/// Routes of this feature.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/policy", get(current))
        .route("/policy/versions", get(versions))
        .route("/policy/versions/{n}", get(version))
        .route("/policy/import", post(import))
}

/// A stored policy document: the structure (always) and the organisation's own text (once
/// imported).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PolicyDoc {
    /// Sections, terms, threats and scope.
    pub outline: PolicyOutline,
    /// The full text, split into sections.
    pub text: Option<ImportedPolicy>,
}

/// The shipped structure for an organisation, with its bodies (所属) as the scope.
pub fn shipped_doc(org_name: &str, tree: &UnitTree) -> PolicyDoc {
    let bodies = tree
        .root()
        .map(|r| {
            tree.children(r.id)
                .into_iter()
                .map(|u| ScopeBody {
                    code: u.code.clone(),
                    name: u.name.clone(),
                })
                .collect()
        })
        .unwrap_or_default();
    PolicyDoc {
        outline: PolicyOutline::standard(org_name, bodies, None),
        text: None,
    }
}

/// The stored document of a policy's full text, on the structure of the version in force.
async fn doc_from_text(
    state: &AppState,
    org_id: i64,
    org_name: &str,
    tree: &UnitTree,
    text: &str,
) -> Result<PolicyDoc, AppError> {
    let imported = split_policy_text(text)
        .map_err(|e| AppError::bad(format!("ポリシー本文を読み取れません: {e}")))?;
    let base = match policy::current(&state.db, org_id).await? {
        Some(v) => serde_json::from_str::<PolicyDoc>(&v.content_json)?.outline,
        None => shipped_doc(org_name, tree).outline,
    };
    let mut outline = base;
    if let Some(d) = imported.adopted() {
        outline.adopted = Some(d);
    }
    if let Some(t) = imported.title.clone() {
        outline.title = t;
    }
    Ok(PolicyDoc {
        outline,
        text: Some(imported),
    })
}

/// The policy as plain text, section by section (for the diff between versions and
/// downloads): the full text where imported, the summaries of the structure otherwise.
pub fn doc_text(doc: &PolicyDoc) -> String {
    let mut out = format!("{}\n", doc.outline.title);
    for s in &doc.outline.sections {
        out.push('\n');
        out.push_str(&format!("{}. {}\n", s.number, s.title));
        let full = doc
            .text
            .as_ref()
            .and_then(|t| t.section(s.number))
            .map(render_text)
            .unwrap_or_default();
        if full.trim().is_empty() {
            out.push_str(&s.summary);
            out.push('\n');
        } else {
            out.push_str(&full);
        }
    }
    out
}

/// Replaces the text of a 基本方針 version that is still a draft.
pub async fn replace_draft_text(
    state: &AppState,
    viewer: &Viewer,
    cap: &mamori_core::permission::Capability<can::EditPolicy>,
    v: &mamori_db::documents::Version,
    text: &str,
    note: &str,
) -> Result<(), AppError> {
    if v.status() != mamori_core::document::VersionStatus::Draft {
        return Err(AppError::Conflict(
            "編集できるのは下書きだけです。新しい版を作成してください".into(),
        ));
    }
    let org_id = cap.org().0;
    let doc = doc_from_text(state, org_id, &viewer.org.name, &viewer.tree, text).await?;
    let adopted = doc.outline.adopted.map(mamori_core::calendar::format_iso);
    let title = doc.outline.title.clone();
    let content = serde_json::to_value(&doc)?;
    let note = mamori_core::text::normalize(note);
    let ctx = viewer.audit_ctx();
    let mut tx = state.db.begin_write().await?;
    policy::replace_draft(
        &mut tx,
        org_id,
        &ctx,
        v.version_no,
        &NewVersion {
            title: &title,
            adopted_on: adopted.as_deref(),
            source: "imported",
            content: &content,
            note: &note,
        },
    )
    .await?;
    mamori_db::documents::touch_policy_draft(&mut tx, cap, &ctx, v.id, &title).await?;
    tx.commit().await.map_err(mamori_db::DbError::from)?;
    Ok(())
}

/// Stores a new version from a policy's full text; returns its number. `publish`: in force at
/// once (the operator's command-line import of a policy already adopted), otherwise a draft
/// for the CISO's approval (imports on the web).
#[allow(clippy::too_many_arguments)]
pub async fn import_text(
    state: &AppState,
    org_id: i64,
    org_name: &str,
    tree: &UnitTree,
    ctx: &AuditCtx,
    text: &str,
    note: &str,
    publish: bool,
) -> Result<i64, AppError> {
    let doc = doc_from_text(state, org_id, org_name, tree, text).await?;
    let adopted = doc.outline.adopted.map(mamori_core::calendar::format_iso);
    let title = doc.outline.title.clone();
    let content = serde_json::to_value(&doc)?;
    let new = NewVersion {
        title: &title,
        adopted_on: adopted.as_deref(),
        source: "imported",
        content: &content,
        note,
    };
    let mut tx = state.db.begin_write().await?;
    let n = if publish {
        policy::add_version(&mut tx, org_id, ctx, &new).await?
    } else {
        policy::add_draft(&mut tx, org_id, ctx, &new).await?
    };
    tx.commit().await.map_err(mamori_db::DbError::from)?;
    Ok(n)
}

struct SectionView {
    number: u32,
    title: String,
    summary: String,
    full_text: String,
    links: Vec<(&'static str, &'static str)>,
}

#[derive(Template)]
#[template(path = "policy.html")]
struct PolicyPage {
    layout: Layout,
    version_no: i64,
    title: String,
    adopted: String,
    sections: Vec<SectionView>,
    doc: PolicyDoc,
    can_edit: bool,
    latest: bool,
    status: &'static str,
    document_link: String,
}

/// Pages that implement a section (only pages that exist).
fn links_for(number: u32) -> Vec<(&'static str, &'static str)> {
    match number {
        4 => vec![("/org", "組織（適用範囲の行政機関）")],
        5 => vec![("/org/persons", "職員等の一覧")],
        6 => vec![
            ("/org/roles", "組織体制（役割の一覧）"),
            ("/account", "二要素認証・アクセス制御"),
        ],
        7 | 8 => vec![("/audit", "監査証跡")],
        _ => Vec::new(),
    }
}

/// One section's full text as lines, items indented by depth.
pub fn render_text(s: &mamori_core::policy::ImportedSection) -> String {
    fn items(out: &mut String, list: &[mamori_core::policy::ImportedItem], depth: usize) {
        for i in list {
            out.push_str(&"　".repeat(depth));
            out.push_str(&i.marker);
            out.push(' ');
            out.push_str(&i.text);
            out.push('\n');
            if !i.body.is_empty() {
                out.push_str(&i.body);
                out.push('\n');
            }
            items(out, &i.children, depth + 1);
        }
    }
    let mut out = s.body.clone();
    if !out.is_empty() {
        out.push('\n');
    }
    items(&mut out, &s.items, 0);
    out
}

async fn show(
    state: &AppState,
    viewer: &Viewer,
    v: Option<PolicyVersion>,
    latest: bool,
) -> Result<Response, AppError> {
    let (version_no, doc, status) = match v {
        Some(v) => (
            v.version_no,
            serde_json::from_str::<PolicyDoc>(&v.content_json)?,
            v.status,
        ),
        None => (
            0,
            shipped_doc(&viewer.org.name, &viewer.tree),
            "published".to_owned(),
        ),
    };
    let document_link = match mamori_db::documents::basic_policy(&state.db, viewer.org.id).await? {
        Some(d) if version_no > 0 => format!("/documents/{}/versions/{version_no}", d.id),
        _ => String::new(),
    };
    let sections = doc
        .outline
        .sections
        .iter()
        .map(|s| SectionView {
            number: s.number,
            title: s.title.clone(),
            summary: s.summary.clone(),
            full_text: doc
                .text
                .as_ref()
                .and_then(|t| t.section(s.number))
                .map(render_text)
                .unwrap_or_default(),
            links: links_for(s.number),
        })
        .collect();
    let title = doc.outline.title.clone();
    let adopted = doc
        .outline
        .adopted
        .map(|d| date_ja(&mamori_core::calendar::format_iso(d)))
        .unwrap_or_default();
    page(&PolicyPage {
        layout: Layout::new(viewer, "情報セキュリティポリシー", "/policy"),
        version_no,
        title,
        adopted,
        sections,
        doc,
        can_edit: viewer.actor.can::<can::EditPolicy>().is_ok(),
        latest,
        status: mamori_core::document::VersionStatus::from_code(&status)
            .map_or("", mamori_core::document::VersionStatus::label_ja),
        document_link,
    })
}

async fn current(State(state): State<AppState>, viewer: Viewer) -> Result<Response, AppError> {
    let cap = viewer.can::<can::ViewPolicy>(&state).await?;
    let v = policy::current(&state.db, cap.org().0).await?;
    show(&state, &viewer, v, true).await
}

async fn version(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(n): Path<i64>,
) -> Result<Response, AppError> {
    let cap = viewer.can::<can::ViewPolicy>(&state).await?;
    let v = policy::version(&state.db, cap.org().0, n)
        .await?
        .filter(|v| is_public_state(&v.status) || super::documents::sees_drafts(&viewer))
        .ok_or(AppError::NotFound)?;
    let latest = policy::current(&state.db, cap.org().0)
        .await?
        .is_some_and(|c| c.version_no == n);
    show(&state, &viewer, Some(v), latest).await
}

/// Whether a version in this state was ever in force (everyone may read it).
fn is_public_state(status: &str) -> bool {
    mamori_core::document::VersionStatus::from_code(status)
        .is_some_and(mamori_core::document::VersionStatus::was_published)
}

struct VersionRow {
    n: i64,
    status: &'static str,
    title: String,
    source: &'static str,
    adopted: String,
    created: String,
    note: String,
}

#[derive(Template)]
#[template(path = "policy_versions.html")]
struct VersionsPage {
    layout: Layout,
    rows: Vec<VersionRow>,
}

async fn versions(State(state): State<AppState>, viewer: Viewer) -> Result<Response, AppError> {
    let cap = viewer.can::<can::ViewPolicy>(&state).await?;
    let drafts = super::documents::sees_drafts(&viewer);
    let rows = policy::versions(&state.db, cap.org().0)
        .await?
        .into_iter()
        .filter(|v| drafts || is_public_state(&v.status))
        .map(|v| VersionRow {
            n: v.version_no,
            status: mamori_core::document::VersionStatus::from_code(&v.status)
                .map_or("", mamori_core::document::VersionStatus::label_ja),
            title: v.title,
            source: match v.source.as_str() {
                "shipped" => "標準構成",
                "imported" => "本文の取込み",
                _ => "編集",
            },
            adopted: v.adopted_on.as_deref().map(date_ja).unwrap_or_default(),
            created: datetime_ja(&v.created_at),
            note: v.note,
        })
        .collect();
    page(&VersionsPage {
        layout: Layout::new(&viewer, "ポリシーの版", "/policy"),
        rows,
    })
}

#[derive(Deserialize)]
struct ImportForm {
    text: String,
    #[serde(default)]
    note: String,
}

async fn import(
    State(state): State<AppState>,
    viewer: Viewer,
    CsrfForm(form): CsrfForm<ImportForm>,
) -> Result<Response, AppError> {
    let cap = viewer.can::<can::EditPolicy>(&state).await?;
    let note = mamori_core::text::normalize(&form.note);
    let n = import_text(
        &state,
        cap.org().0,
        &viewer.org.name,
        &viewer.tree,
        &viewer.audit_ctx(),
        &form.text,
        &note,
        false,
    )
    .await?;
    Ok(Redirect::to(&format!("/policy/versions/{n}")).into_response())
}
