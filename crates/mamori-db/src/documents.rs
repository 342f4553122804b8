//! Policy documents (基本方針, 対策基準, 実施手順) with approved versions, the 実施手順 reader
//! lists (§10), acknowledgements of published versions (§5) with reminders, and review records
//! (見直し, §8).
//!
//! The 基本方針's content stays in `policy_version` ([`crate::policy`]): each of its versions has a
//! `document_version` row here too, linked by `policy_version_id`, which carries the approval
//! state. Other documents keep their text in `document_version.body`.
//!
//! Every state change is a conditional update (`… WHERE status = <expected>`), so two people
//! publishing at once publish once; every change appends to the audit trail in the same
//! transaction.

use std::collections::HashMap;

use mamori_core::document::{
    DocKind, Level, ReaderRule, ReviewSource, ReviewStatus, Step, StepRefused, VersionStatus,
};
use mamori_core::org::{OrgId, PersonId, UnitId};
use mamori_core::permission::{Actor, Capability, DutyConflict, Reach, can, check_approver};
use mamori_core::role::Role;
use mamori_core::task::{Task, TaskKind};
use serde::Serialize;
use serde_json::json;
use sqlx::AnyConnection;
use time::Date;

use crate::audit;
use crate::org::{AuditCtx, UnitTree};
use crate::{Db, DbError, DbResult, now_text};

/// Longest document or review title.
pub const MAX_TITLE_CHARS: usize = 200;
/// Largest document body (a long 対策基準 is a few hundred kilobytes).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Longest note, reference or decision text.
pub const MAX_NOTE_CHARS: usize = 20_000;
/// Days staff have to acknowledge a newly published version before the task is overdue.
pub const ACK_DAYS: i64 = 30;

/// Why a document operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum DocError {
    /// The input is wrong; the message says which field and why.
    #[error("{0}")]
    Invalid(String),
    /// The version is not in a state that allows the step.
    #[error("{0}")]
    Step(#[from] StepRefused),
    /// Separation of duties: the approver drafted or submitted it.
    #[error("{0}")]
    Duty(#[from] DutyConflict),
    /// Storage.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<sqlx::Error> for DocError {
    fn from(e: sqlx::Error) -> Self {
        DocError::Db(DbError::from(e))
    }
}

/// Result of document operations.
pub type DocResult<T> = Result<T, DocError>;

/// A document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Document {
    /// Id.
    pub id: i64,
    /// Organisation.
    pub org_id: i64,
    /// Kind code ([`DocKind::code`]).
    pub kind: String,
    /// Title (「ネットワーク管理実施手順」).
    pub title: String,
    /// What it covers (the system or unit of a 実施手順).
    pub summary: String,
    /// Who created it.
    pub created_by: Option<i64>,
    /// Created (UTC).
    pub created_at: String,
    /// Last change (UTC).
    pub updated_at: String,
}

impl Document {
    /// The kind.
    pub fn kind(&self) -> Option<DocKind> {
        DocKind::from_code(&self.kind)
    }
}

const DOC_COLUMNS: &str = "id, org_id, kind, title, summary, created_by, created_at, updated_at";

/// A version of a document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Version {
    /// Id.
    pub id: i64,
    /// Organisation.
    pub org_id: i64,
    /// Document.
    pub document_id: i64,
    /// 1, 2, … per document.
    pub version_no: i64,
    /// Title of this version.
    pub title: String,
    /// Text (Markdown or plain); empty for 基本方針 versions, whose content is in
    /// `policy_version`.
    pub body: String,
    /// The 基本方針's structured content, when this is one of its versions.
    pub policy_version_id: Option<i64>,
    /// State code ([`VersionStatus::code`]).
    pub status: String,
    /// Why this version was made.
    pub note: String,
    /// Who drafted it.
    pub drafted_by: Option<i64>,
    /// Who last edited the draft.
    pub edited_by: Option<i64>,
    /// Who submitted it for approval.
    pub submitted_by: Option<i64>,
    /// When.
    pub submitted_at: Option<String>,
    /// The CISO who approved it.
    pub approved_by: Option<i64>,
    /// When.
    pub approved_at: Option<String>,
    /// Date of the 情報セキュリティ委員会 decision (YYYY-MM-DD), when there was one.
    pub committee_date: Option<String>,
    /// Reference of that decision (議事録番号 …).
    pub committee_ref: String,
    /// Who published it.
    pub published_by: Option<i64>,
    /// When it came into force.
    pub published_at: Option<String>,
    /// When a later version replaced it.
    pub superseded_at: Option<String>,
    /// Created (UTC).
    pub created_at: String,
    /// Last change (UTC).
    pub updated_at: String,
}

impl Version {
    /// The state.
    pub fn status(&self) -> VersionStatus {
        VersionStatus::from_code(&self.status).unwrap_or(VersionStatus::Draft)
    }

    /// Everyone who wrote or sent it: none of them may approve it.
    pub fn authors(&self) -> Vec<i64> {
        let mut v: Vec<i64> = [self.drafted_by, self.edited_by, self.submitted_by]
            .into_iter()
            .flatten()
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }
}

const VERSION_COLUMNS: &str = "id, org_id, document_id, version_no, title, body, policy_version_id, status, note, \
     drafted_by, edited_by, submitted_by, submitted_at, approved_by, approved_at, committee_date, committee_ref, \
     published_by, published_at, superseded_at, created_at, updated_at";

/// A document with its reader list and the numbers of its published and newest versions.
#[derive(Debug, Clone, Serialize)]
pub struct DocumentRow {
    /// The document.
    pub document: Document,
    /// The version in force.
    pub published: Option<i64>,
    /// The newest version and its state.
    pub latest: Option<(i64, String)>,
}

/// Reads reader rules of documents.
async fn readers_of(db: &Db, org: i64) -> DbResult<HashMap<i64, Vec<ReaderRule>>> {
    let rows: Vec<(i64, Option<i64>, Option<String>)> = sqlx::query_as(
        "SELECT document_id, unit_id, role FROM document_reader WHERE org_id = $1 ORDER BY id",
    )
    .bind(org)
    .fetch_all(db.pool())
    .await?;
    let mut out: HashMap<i64, Vec<ReaderRule>> = HashMap::new();
    for (doc, unit, role) in rows {
        out.entry(doc).or_default().push(ReaderRule {
            unit: unit.map(UnitId),
            role: role.and_then(|r| r.parse::<Role>().ok()),
        });
    }
    Ok(out)
}

/// The reader list of one document.
pub async fn readers(db: &Db, org: i64, document: i64) -> DbResult<Vec<ReaderRule>> {
    Ok(readers_of(db, org)
        .await?
        .remove(&document)
        .unwrap_or_default())
}

fn visible(doc: &Document, rules: &[ReaderRule], actor: &Actor, tree: &UnitTree) -> bool {
    match doc.kind() {
        Some(DocKind::Procedure) => {
            mamori_core::document::may_read_procedure(rules, actor, &|u| tree.path(u.0))
        }
        Some(_) => true,
        None => false,
    }
}

/// The documents the actor may know of (a 実施手順 only when on its list or a maintainer),
/// optionally only those whose title contains `q`, by kind then title.
pub async fn list(
    db: &Db,
    cap: &Capability<can::ViewPolicy>,
    actor: &Actor,
    tree: &UnitTree,
    q: Option<&str>,
) -> DbResult<Vec<DocumentRow>> {
    let org = cap.org().0;
    let sql = format!("SELECT {DOC_COLUMNS} FROM document WHERE org_id = $1 ORDER BY id");
    let docs: Vec<Document> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(org)
        .fetch_all(db.pool())
        .await?;
    let readers = readers_of(db, org).await?;
    let states: Vec<(i64, i64, String)> = sqlx::query_as(
        "SELECT document_id, version_no, status FROM document_version WHERE org_id = $1 ORDER BY version_no",
    )
    .bind(org)
    .fetch_all(db.pool())
    .await?;
    let needle = q.map(mamori_core::text::fold).filter(|s| !s.is_empty());
    let mut out: Vec<DocumentRow> = docs
        .into_iter()
        .filter(|d| {
            visible(
                d,
                readers.get(&d.id).map_or(&[][..], Vec::as_slice),
                actor,
                tree,
            )
        })
        .filter(|d| {
            needle
                .as_ref()
                .is_none_or(|n| mamori_core::text::fold(&d.title).contains(n.as_str()))
        })
        .map(|d| {
            let mut mine = states.iter().filter(|s| s.0 == d.id);
            let published = mine
                .clone()
                .filter(|s| s.2 == VersionStatus::Published.code())
                .map(|s| s.1)
                .next_back();
            let latest = mine.next_back().map(|s| (s.1, s.2.clone()));
            DocumentRow {
                document: d,
                published,
                latest,
            }
        })
        .collect();
    let rank = |r: &DocumentRow| {
        DocKind::ALL
            .iter()
            .position(|k| Some(*k) == r.document.kind())
            .unwrap_or(9)
    };
    out.sort_by(|a, b| {
        rank(a)
            .cmp(&rank(b))
            .then_with(|| a.document.title.cmp(&b.document.title))
    });
    Ok(out)
}

/// One document, if it exists in the organisation and the actor may know of it: a 実施手順
/// outside the actor's reach is answered exactly like an id nobody has.
pub async fn get(
    db: &Db,
    cap: &Capability<can::ViewPolicy>,
    actor: &Actor,
    tree: &UnitTree,
    id: i64,
) -> DbResult<(Document, Vec<ReaderRule>)> {
    let org = cap.org().0;
    let doc = document_row(db, org, id).await?;
    let rules = readers(db, org, id).await?;
    if visible(&doc, &rules, actor, tree) {
        Ok((doc, rules))
    } else {
        Err(DbError::NotFound)
    }
}

/// Whether a document exists in the organisation but is hidden from the actor (for auditing
/// refused reads; never shown to the actor).
pub async fn is_hidden_from(
    db: &Db,
    org: i64,
    actor: &Actor,
    tree: &UnitTree,
    id: i64,
) -> DbResult<bool> {
    match document_row(db, org, id).await {
        Ok(doc) => Ok(!visible(&doc, &readers(db, org, id).await?, actor, tree)),
        Err(DbError::NotFound) => Ok(false),
        Err(e) => Err(e),
    }
}

async fn document_row(db: &Db, org: i64, id: i64) -> DbResult<Document> {
    let sql = format!("SELECT {DOC_COLUMNS} FROM document WHERE org_id = $1 AND id = $2");
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(org)
        .bind(id)
        .fetch_optional(db.pool())
        .await?
        .ok_or(DbError::NotFound)
}

/// The organisation's 基本方針 document, if any version was ever stored.
pub async fn basic_policy(db: &Db, org: i64) -> DbResult<Option<Document>> {
    let sql = format!(
        "SELECT {DOC_COLUMNS} FROM document WHERE org_id = $1 AND kind = 'basic_policy' ORDER BY id LIMIT 1"
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(org)
        .fetch_optional(db.pool())
        .await?)
}

/// Every version of a document, newest first.
pub async fn versions(db: &Db, org: i64, document: i64) -> DbResult<Vec<Version>> {
    let sql = format!(
        "SELECT {VERSION_COLUMNS} FROM document_version WHERE org_id = $1 AND document_id = $2 ORDER BY version_no DESC"
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(org)
        .bind(document)
        .fetch_all(db.pool())
        .await?)
}

/// One version by number.
pub async fn version(db: &Db, org: i64, document: i64, no: i64) -> DbResult<Version> {
    let sql = format!(
        "SELECT {VERSION_COLUMNS} FROM document_version WHERE org_id = $1 AND document_id = $2 AND version_no = $3"
    );
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(org)
        .bind(document)
        .bind(no)
        .fetch_optional(db.pool())
        .await?
        .ok_or(DbError::NotFound)
}

/// One version by id.
pub async fn version_by_id(db: &Db, org: i64, id: i64) -> DbResult<Version> {
    let sql =
        format!("SELECT {VERSION_COLUMNS} FROM document_version WHERE org_id = $1 AND id = $2");
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(org)
        .bind(id)
        .fetch_optional(db.pool())
        .await?
        .ok_or(DbError::NotFound)
}

async fn version_in(conn: &mut AnyConnection, org: i64, id: i64) -> DbResult<Version> {
    let sql =
        format!("SELECT {VERSION_COLUMNS} FROM document_version WHERE org_id = $1 AND id = $2");
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(org)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(DbError::NotFound)
}

/// Checks a title: trimmed, not empty, not too long.
pub fn check_title(title: &str) -> DocResult<String> {
    let t = mamori_core::text::normalize(title);
    if t.is_empty() {
        return Err(DocError::Invalid("表題を入力してください".into()));
    }
    if t.chars().count() > MAX_TITLE_CHARS {
        return Err(DocError::Invalid(format!(
            "表題が長すぎます（上限は{MAX_TITLE_CHARS}文字）"
        )));
    }
    Ok(t)
}

/// Checks a body: size and no control characters other than tab and line ends.
pub fn check_body(body: &str) -> DocResult<String> {
    if body.len() > MAX_BODY_BYTES {
        return Err(DocError::Invalid(format!(
            "本文が大きすぎます（{}バイト。上限は{MAX_BODY_BYTES}バイト）",
            body.len()
        )));
    }
    if let Some((line, c)) = body.lines().enumerate().find_map(|(i, l)| {
        l.chars()
            .find(|c| c.is_control() && *c != '\t' && *c != '\r')
            .map(|c| (i + 1, c))
    }) {
        return Err(DocError::Invalid(format!(
            "本文の{line}行目に制御文字 U+{:04X} が含まれています",
            u32::from(c)
        )));
    }
    Ok(body.replace("\r\n", "\n"))
}

fn check_note(note: &str, what: &str) -> DocResult<String> {
    let n = note.trim().replace("\r\n", "\n");
    if n.chars().count() > MAX_NOTE_CHARS {
        return Err(DocError::Invalid(format!(
            "{what}が長すぎます（上限は{MAX_NOTE_CHARS}文字）"
        )));
    }
    Ok(n)
}

/// A new document with its first draft.
#[derive(Debug, Clone)]
pub struct NewDocument {
    /// 対策基準 or 実施手順 (the 基本方針 is created with its first version).
    pub kind: DocKind,
    /// Title.
    pub title: String,
    /// What it covers.
    pub summary: String,
    /// The first draft's text.
    pub body: String,
    /// Reader list (実施手順 only).
    pub readers: Vec<ReaderRule>,
}

/// Creates a document and its first version as a draft; returns the document id.
pub async fn create(
    conn: &mut AnyConnection,
    cap: &Capability<can::EditPolicy>,
    ctx: &AuditCtx,
    tree: &UnitTree,
    input: &NewDocument,
) -> DocResult<i64> {
    let org = cap.org().0;
    if input.kind == DocKind::BasicPolicy {
        return Err(DocError::Invalid(
            "基本方針は組織に一つです。基本方針の新しい版は本文の取込みで作成してください".into(),
        ));
    }
    let title = check_title(&input.title)?;
    let summary = check_note(&input.summary, "対象・概要")?;
    let body = check_body(&input.body)?;
    check_readers(tree, &input.readers)?;
    let now = now_text();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO document (org_id, kind, title, summary, created_by, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
    )
    .bind(org)
    .bind(input.kind.code())
    .bind(&title)
    .bind(&summary)
    .bind(ctx.actor_id)
    .bind(&now)
    .fetch_one(&mut *conn)
    .await?;
    let mut entry = ctx.entry("document.create", "document", id);
    entry.after = Some(json!({"kind": input.kind.code(), "title": title, "summary": summary}));
    audit::append(conn, entry).await?;
    if input.kind == DocKind::Procedure {
        write_readers(conn, org, ctx, id, &input.readers).await?;
    }
    insert_version(conn, org, ctx, id, &title, &body, None, "初版").await?;
    Ok(id)
}

fn check_readers(tree: &UnitTree, readers: &[ReaderRule]) -> DocResult<()> {
    for r in readers {
        if r.unit.is_none() && r.role.is_none() {
            return Err(DocError::Invalid(
                "閲覧者には組織か役割の少なくとも一方を指定してください".into(),
            ));
        }
        if let Some(u) = r.unit
            && tree.get(u.0).is_none()
        {
            return Err(DocError::Invalid("閲覧者の組織が見つかりません".into()));
        }
    }
    if readers.len() > 200 {
        return Err(DocError::Invalid(
            "閲覧者の指定が多すぎます（上限は200）".into(),
        ));
    }
    Ok(())
}

async fn write_readers(
    conn: &mut AnyConnection,
    org: i64,
    ctx: &AuditCtx,
    document: i64,
    readers: &[ReaderRule],
) -> DocResult<()> {
    sqlx::query("DELETE FROM document_reader WHERE org_id = $1 AND document_id = $2")
        .bind(org)
        .bind(document)
        .execute(&mut *conn)
        .await?;
    for r in readers {
        sqlx::query(
            "INSERT INTO document_reader (org_id, document_id, unit_id, role) VALUES ($1, $2, $3, $4)",
        )
        .bind(org)
        .bind(document)
        .bind(r.unit.map(|u| u.0))
        .bind(r.role.map(Role::code))
        .execute(&mut *conn)
        .await?;
    }
    let mut entry = ctx.entry("document.readers", "document", document);
    entry.after = Some(json!({"readers": readers
        .iter()
        .map(|r| json!({"unit_id": r.unit.map(|u| u.0), "role": r.role.map(Role::code)}))
        .collect::<Vec<_>>()}));
    audit::append(conn, entry).await?;
    Ok(())
}

/// Replaces a 実施手順's reader list.
pub async fn set_readers(
    conn: &mut AnyConnection,
    cap: &Capability<can::EditPolicy>,
    ctx: &AuditCtx,
    tree: &UnitTree,
    document: i64,
    readers: &[ReaderRule],
) -> DocResult<()> {
    let org = cap.org().0;
    let kind: Option<String> =
        sqlx::query_scalar("SELECT kind FROM document WHERE org_id = $1 AND id = $2")
            .bind(org)
            .bind(document)
            .fetch_optional(&mut *conn)
            .await?;
    match kind.as_deref() {
        None => return Err(DbError::NotFound.into()),
        Some("procedure") => {}
        Some(_) => {
            return Err(DocError::Invalid(
                "閲覧者を指定できるのは実施手順だけです".into(),
            ));
        }
    }
    check_readers(tree, readers)?;
    write_readers(conn, org, ctx, document, readers).await
}

#[allow(clippy::too_many_arguments)]
async fn insert_version(
    conn: &mut AnyConnection,
    org: i64,
    ctx: &AuditCtx,
    document: i64,
    title: &str,
    body: &str,
    policy_version_id: Option<(i64, i64)>,
    note: &str,
) -> DocResult<i64> {
    let no = match policy_version_id {
        Some((_, n)) => n,
        None => sqlx::query_scalar(
            "SELECT COALESCE(MAX(version_no), 0) + 1 FROM document_version WHERE document_id = $1",
        )
        .bind(document)
        .fetch_one(&mut *conn)
        .await?,
    };
    let now = now_text();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO document_version (org_id, document_id, version_no, title, body, policy_version_id, status, note, \
         drafted_by, edited_by, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 'draft', $7, $8, $8, $9, $9) RETURNING id",
    )
    .bind(org)
    .bind(document)
    .bind(no)
    .bind(title)
    .bind(body)
    .bind(policy_version_id.map(|p| p.0))
    .bind(note)
    .bind(ctx.actor_id)
    .bind(&now)
    .fetch_one(&mut *conn)
    .await?;
    let mut entry = ctx.entry("document.version.create", "document_version", id);
    entry.after =
        Some(json!({"document_id": document, "version_no": no, "title": title, "note": note}));
    audit::append(conn, entry).await?;
    Ok(no)
}

/// Starts a new draft version of a 対策基準 or 実施手順; returns its number. Several drafts
/// may exist side by side; only one newer than the version in force can be published.
pub async fn new_version(
    conn: &mut AnyConnection,
    cap: &Capability<can::EditPolicy>,
    ctx: &AuditCtx,
    document: i64,
    title: &str,
    body: &str,
    note: &str,
) -> DocResult<i64> {
    let org = cap.org().0;
    let kind: Option<String> =
        sqlx::query_scalar("SELECT kind FROM document WHERE org_id = $1 AND id = $2")
            .bind(org)
            .bind(document)
            .fetch_optional(&mut *conn)
            .await?;
    match kind.as_deref() {
        None => return Err(DbError::NotFound.into()),
        Some("basic_policy") => {
            return Err(DocError::Invalid(
                "基本方針の新しい版は本文の取込みで作成してください".into(),
            ));
        }
        Some(_) => {}
    }
    let title = check_title(title)?;
    let body = check_body(body)?;
    let note = check_note(note, "改定の理由")?;
    insert_version(conn, org, ctx, document, &title, &body, None, &note).await
}

/// Records a 基本方針 version stored in `policy_version` as a version of the organisation's
/// 基本方針 document (created on first use): a draft, or — for the operator's command-line
/// import and the shipped structure — published at once, superseding the one in force.
#[allow(clippy::too_many_arguments)]
pub async fn attach_policy_version(
    conn: &mut AnyConnection,
    org: i64,
    ctx: &AuditCtx,
    policy_version_id: i64,
    version_no: i64,
    title: &str,
    note: &str,
    publish: bool,
) -> DocResult<i64> {
    let existing: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM document WHERE org_id = $1 AND kind = 'basic_policy' ORDER BY id LIMIT 1",
    )
    .bind(org)
    .fetch_optional(&mut *conn)
    .await?;
    let document = match existing {
        Some(id) => id,
        None => {
            let now = now_text();
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO document (org_id, kind, title, created_by, created_at, updated_at) \
                 VALUES ($1, 'basic_policy', $2, $3, $4, $4) RETURNING id",
            )
            .bind(org)
            .bind(title)
            .bind(ctx.actor_id)
            .bind(&now)
            .fetch_one(&mut *conn)
            .await?;
            let mut entry = ctx.entry("document.create", "document", id);
            entry.org_id = Some(org);
            entry.after = Some(json!({"kind": "basic_policy", "title": title}));
            audit::append(conn, entry).await?;
            id
        }
    };
    let mut ctx = ctx.clone();
    ctx.org_id = Some(org);
    if publish {
        // The operator's import stands for a decision taken outside mamori: any unpublished
        // version left over is not in the way.
        let now = now_text();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO document_version (org_id, document_id, version_no, title, policy_version_id, status, note, \
             drafted_by, published_by, published_at, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, 'draft', $6, $7, $7, NULL, $8, $8) RETURNING id",
        )
        .bind(org)
        .bind(document)
        .bind(version_no)
        .bind(title)
        .bind(policy_version_id)
        .bind(note)
        .bind(ctx.actor_id)
        .bind(&now)
        .fetch_one(&mut *conn)
        .await?;
        let mut entry = ctx.entry("document.version.create", "document_version", id);
        entry.after = Some(
            json!({"document_id": document, "version_no": version_no, "title": title, "note": note}),
        );
        audit::append(conn, entry).await?;
        put_in_force(conn, org, &ctx, id, document, "draft").await?;
        Ok(document)
    } else {
        insert_version(
            conn,
            org,
            &ctx,
            document,
            title,
            "",
            Some((policy_version_id, version_no)),
            note,
        )
        .await?;
        Ok(document)
    }
}

/// Replaces the text of a draft.
pub async fn edit_draft(
    conn: &mut AnyConnection,
    cap: &Capability<can::EditPolicy>,
    ctx: &AuditCtx,
    version_id: i64,
    title: &str,
    body: &str,
    note: &str,
) -> DocResult<()> {
    let org = cap.org().0;
    let v = version_in(conn, org, version_id).await?;
    v.status().next_allowed(Step::Edit)?;
    let title = check_title(title)?;
    let body = check_body(body)?;
    let note = check_note(note, "改定の理由")?;
    let done = sqlx::query(
        "UPDATE document_version SET title = $1, body = $2, note = $3, edited_by = $4, updated_at = $5 \
         WHERE org_id = $6 AND id = $7 AND status = 'draft'",
    )
    .bind(&title)
    .bind(&body)
    .bind(&note)
    .bind(ctx.actor_id)
    .bind(now_text())
    .bind(org)
    .bind(version_id)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() != 1 {
        return Err(StepRefused {
            from: VersionStatus::Submitted,
            step: Step::Edit,
        }
        .into());
    }
    let mut entry = ctx.entry("document.version.edit", "document_version", version_id);
    entry.before = Some(json!({"title": v.title, "body_chars": v.body.chars().count()}));
    entry.after = Some(json!({"title": title, "body_chars": body.chars().count(), "note": note}));
    audit::append(conn, entry).await?;
    Ok(())
}

/// Marks a 基本方針 draft edited (its content was replaced in `policy_version`).
pub async fn touch_policy_draft(
    conn: &mut AnyConnection,
    cap: &Capability<can::EditPolicy>,
    ctx: &AuditCtx,
    version_id: i64,
    title: &str,
) -> DocResult<()> {
    let org = cap.org().0;
    let done = sqlx::query(
        "UPDATE document_version SET title = $1, edited_by = $2, updated_at = $3 \
         WHERE org_id = $4 AND id = $5 AND status = 'draft'",
    )
    .bind(title)
    .bind(ctx.actor_id)
    .bind(now_text())
    .bind(org)
    .bind(version_id)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() != 1 {
        let v = version_in(conn, org, version_id).await?;
        v.status().next_allowed(Step::Edit)?;
    }
    audit::append(
        conn,
        ctx.entry("document.version.edit", "document_version", version_id),
    )
    .await?;
    Ok(())
}

/// A value set by a transition (PostgreSQL wants each typed as its column).
enum Bind {
    Person(Option<i64>),
    Text(Option<String>),
}

async fn transition(
    conn: &mut AnyConnection,
    org: i64,
    version_id: i64,
    from: VersionStatus,
    to: VersionStatus,
    set: &str,
    binds: Vec<Bind>,
) -> DocResult<()> {
    // `set` is one of this module's fixed fragments with placeholders from $4 on.
    let sql = format!(
        "UPDATE document_version SET status = $1{set} WHERE org_id = $2 AND id = $3 AND status = '{}'",
        from.code()
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(to.code())
        .bind(org)
        .bind(version_id);
    for b in binds {
        q = match b {
            Bind::Person(p) => q.bind(p),
            Bind::Text(t) => q.bind(t),
        };
    }
    let done = q.execute(&mut *conn).await?;
    if done.rows_affected() == 1 {
        Ok(())
    } else {
        // Someone else moved it first: report the state it is in now.
        let now = version_in(conn, org, version_id).await?;
        Err(StepRefused {
            from: now.status(),
            step: match to {
                VersionStatus::Submitted => Step::Submit,
                VersionStatus::Approved => Step::Approve,
                VersionStatus::Draft => Step::Return,
                _ => Step::Publish,
            },
        }
        .into())
    }
}

/// Submits a draft for the CISO's approval.
pub async fn submit(
    conn: &mut AnyConnection,
    cap: &Capability<can::EditPolicy>,
    ctx: &AuditCtx,
    version_id: i64,
) -> DocResult<()> {
    let org = cap.org().0;
    let v = version_in(conn, org, version_id).await?;
    v.status().next_allowed(Step::Submit)?;
    if v.policy_version_id.is_none() && v.body.trim().is_empty() {
        return Err(DocError::Invalid("本文が空の版は承認申請できません".into()));
    }
    let now = now_text();
    transition(
        conn,
        org,
        version_id,
        VersionStatus::Draft,
        VersionStatus::Submitted,
        ", submitted_by = $4, submitted_at = $5, updated_at = $5",
        vec![Bind::Person(ctx.actor_id), Bind::Text(Some(now))],
    )
    .await?;
    audit::append(
        conn,
        ctx.entry("document.version.submit", "document_version", version_id),
    )
    .await?;
    Ok(())
}

/// The 情報セキュリティ委員会 decision recorded with an approval.
#[derive(Debug, Clone, Default)]
pub struct Committee {
    /// Date of the decision.
    pub date: Option<Date>,
    /// Its reference.
    pub reference: String,
}

/// The CISO approves a submitted version. Nobody approves a version they drafted, edited or
/// submitted.
pub async fn approve(
    conn: &mut AnyConnection,
    cap: &Capability<can::ApprovePolicy>,
    ctx: &AuditCtx,
    version_id: i64,
    committee: &Committee,
) -> DocResult<()> {
    let org = cap.org().0;
    let v = version_in(conn, org, version_id).await?;
    v.status().next_allowed(Step::Approve)?;
    for author in v.authors() {
        check_approver(PersonId(author), cap.actor())?;
    }
    let reference = check_note(&committee.reference, "委員会の決定の記録")?;
    let date = committee.date.map(mamori_core::calendar::format_iso);
    let now = now_text();
    transition(
        conn,
        org,
        version_id,
        VersionStatus::Submitted,
        VersionStatus::Approved,
        ", approved_by = $4, approved_at = $5, committee_date = $6, committee_ref = $7, updated_at = $5",
        vec![
            Bind::Person(Some(cap.actor().0)),
            Bind::Text(Some(now)),
            Bind::Text(date.clone()),
            Bind::Text(Some(reference.clone())),
        ],
    )
    .await?;
    let mut entry = ctx.entry("document.version.approve", "document_version", version_id);
    entry.after = Some(json!({"committee_date": date, "committee_ref": reference}));
    audit::append(conn, entry).await?;
    Ok(())
}

/// The CISO sends a submitted version back to draft, with the reason.
pub async fn return_to_draft(
    conn: &mut AnyConnection,
    cap: &Capability<can::ApprovePolicy>,
    ctx: &AuditCtx,
    version_id: i64,
    reason: &str,
) -> DocResult<()> {
    let org = cap.org().0;
    let v = version_in(conn, org, version_id).await?;
    v.status().next_allowed(Step::Return)?;
    let reason = check_note(reason, "差戻しの理由")?;
    if reason.is_empty() {
        return Err(DocError::Invalid("差戻しの理由を入力してください".into()));
    }
    transition(
        conn,
        org,
        version_id,
        VersionStatus::Submitted,
        VersionStatus::Draft,
        ", submitted_by = NULL, submitted_at = NULL, updated_at = $4",
        vec![Bind::Text(Some(now_text()))],
    )
    .await?;
    let mut entry = ctx.entry("document.version.return", "document_version", version_id);
    entry.after = Some(json!({"reason": reason}));
    audit::append(conn, entry).await?;
    Ok(())
}

/// Puts an approved version in force; the version in force before becomes superseded.
pub async fn publish(
    conn: &mut AnyConnection,
    cap: &Capability<can::EditPolicy>,
    ctx: &AuditCtx,
    version_id: i64,
) -> DocResult<()> {
    let org = cap.org().0;
    let v = version_in(conn, org, version_id).await?;
    v.status().next_allowed(Step::Publish)?;
    let in_force: Option<i64> = sqlx::query_scalar(
        "SELECT MAX(version_no) FROM document_version WHERE org_id = $1 AND document_id = $2 AND status = 'published'",
    )
    .bind(org)
    .bind(v.document_id)
    .fetch_one(&mut *conn)
    .await?;
    if let Some(n) = in_force.filter(|n| *n > v.version_no) {
        return Err(DocError::Invalid(format!(
            "より新しい第{n}版が公開されているため、第{}版は公開できません",
            v.version_no
        )));
    }
    put_in_force(conn, org, ctx, version_id, v.document_id, "approved").await
}

async fn put_in_force(
    conn: &mut AnyConnection,
    org: i64,
    ctx: &AuditCtx,
    version_id: i64,
    document: i64,
    from: &str,
) -> DocResult<()> {
    let now = now_text();
    let from = VersionStatus::from_code(from).unwrap_or(VersionStatus::Approved);
    transition(
        conn,
        org,
        version_id,
        from,
        VersionStatus::Published,
        ", published_by = $4, published_at = $5, updated_at = $5",
        vec![Bind::Person(ctx.actor_id), Bind::Text(Some(now.clone()))],
    )
    .await?;
    let old: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM document_version WHERE org_id = $1 AND document_id = $2 AND status = 'published' AND id <> $3",
    )
    .bind(org)
    .bind(document)
    .bind(version_id)
    .fetch_all(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE document_version SET status = 'superseded', superseded_at = $1, updated_at = $1 \
         WHERE org_id = $2 AND document_id = $3 AND status = 'published' AND id <> $4",
    )
    .bind(&now)
    .bind(org)
    .bind(document)
    .bind(version_id)
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE document SET updated_at = $1 WHERE id = $2")
        .bind(&now)
        .bind(document)
        .execute(&mut *conn)
        .await?;
    let mut entry = ctx.entry("document.version.publish", "document_version", version_id);
    entry.org_id = Some(org);
    entry.after = Some(json!({"document_id": document, "superseded": old}));
    audit::append(conn, entry).await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Acknowledgement (§5)
// ---------------------------------------------------------------------------------------------

/// The versions in force that every 職員等 must acknowledge: (document, version).
pub async fn versions_to_acknowledge(db: &Db, org: i64) -> DbResult<Vec<(Document, Version)>> {
    let sql = format!(
        "SELECT {VERSION_COLUMNS} FROM document_version WHERE org_id = $1 AND status = 'published' \
         AND document_id IN (SELECT id FROM document WHERE org_id = $1 AND kind IN ('basic_policy', 'standard')) \
         ORDER BY document_id"
    );
    let versions: Vec<Version> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(org)
        .fetch_all(db.pool())
        .await?;
    let mut out = Vec::with_capacity(versions.len());
    for v in versions {
        out.push((document_row(db, org, v.document_id).await?, v));
    }
    Ok(out)
}

/// When `person` acknowledged `version`, if they did.
pub async fn acknowledged_at(db: &Db, version: i64, person: i64) -> DbResult<Option<String>> {
    Ok(sqlx::query_scalar(
        "SELECT acknowledged_at FROM acknowledgement WHERE version_id = $1 AND person_id = $2",
    )
    .bind(version)
    .bind(person)
    .fetch_optional(db.pool())
    .await?)
}

/// Records that the acting person read the version and pledged to follow it (遵守の誓約).
/// Idempotent: a second submission changes nothing and returns `false`. Only a version in
/// force of a 基本方針 or 対策基準 can be acknowledged, and only by an active person.
pub async fn acknowledge(
    conn: &mut AnyConnection,
    cap: &Capability<can::ViewPolicy>,
    ctx: &AuditCtx,
    version_id: i64,
) -> DocResult<bool> {
    let org = cap.org().0;
    let person = cap.actor().0;
    let v = version_in(conn, org, version_id).await?;
    let kind: Option<String> = sqlx::query_scalar("SELECT kind FROM document WHERE id = $1")
        .bind(v.document_id)
        .fetch_optional(&mut *conn)
        .await?;
    let needs = kind
        .as_deref()
        .and_then(DocKind::from_code)
        .is_some_and(DocKind::needs_acknowledgement);
    if !needs {
        return Err(DocError::Invalid(
            "遵守の誓約は基本方針と対策基準の公開中の版に対して行います".into(),
        ));
    }
    if v.status() != VersionStatus::Published {
        return Err(DocError::Invalid(
            "公開中の版ではないため誓約できません。最新の版を開いてください".into(),
        ));
    }
    let status: Option<String> =
        sqlx::query_scalar("SELECT status FROM person WHERE org_id = $1 AND id = $2")
            .bind(org)
            .bind(person)
            .fetch_optional(&mut *conn)
            .await?;
    if status.as_deref() != Some("active") {
        return Err(DocError::Invalid("在職中の職員等だけが誓約できます".into()));
    }
    let done = sqlx::query(
        "INSERT INTO acknowledgement (org_id, version_id, person_id, acknowledged_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (version_id, person_id) DO NOTHING",
    )
    .bind(org)
    .bind(version_id)
    .bind(person)
    .bind(now_text())
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Ok(false);
    }
    let mut entry = ctx.entry("document.acknowledge", "document_version", version_id);
    entry.after = Some(json!({"person_id": person, "version_no": v.version_no}));
    audit::append(conn, entry).await?;
    Ok(true)
}

/// Acknowledged and active counts of one unit, rolled up through the units below it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnitRate {
    /// Unit.
    pub unit_id: i64,
    /// Its name with parents (「事務局 総務課」).
    pub name: String,
    /// Depth below the root (0 for the root).
    pub depth: usize,
    /// Active 職員等 in the unit and below who acknowledged.
    pub acknowledged: i64,
    /// Active 職員等 in the unit and below.
    pub active: i64,
}

impl UnitRate {
    /// The rate in percent, rounded down (100 when nobody is there).
    pub fn percent(&self) -> i64 {
        (self.acknowledged * 100)
            .checked_div(self.active)
            .unwrap_or(100)
    }
}

/// A person who has not acknowledged yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pending {
    /// Person.
    pub person_id: i64,
    /// Name.
    pub name: String,
    /// Login.
    pub login: String,
    /// Unit.
    pub unit_id: i64,
    /// How many reminders were sent.
    pub reminders: i64,
    /// When the last one was sent.
    pub last_reminded: Option<String>,
}

/// The acknowledgement state of one version.
#[derive(Debug, Clone, Serialize)]
pub struct VersionAck {
    /// Document.
    pub document_id: i64,
    /// Its kind.
    pub kind: String,
    /// Its title.
    pub title: String,
    /// Version.
    pub version_id: i64,
    /// Version number.
    pub version_no: i64,
    /// When it was published.
    pub published_at: Option<String>,
    /// Per unit, in tree order (only units within the reach asked for).
    pub units: Vec<UnitRate>,
    /// Who has not acknowledged (within the reach asked for), by unit then name.
    pub pending: Vec<Pending>,
    /// Active 職員等 within the reach who acknowledged.
    pub acknowledged: i64,
    /// Active 職員等 within the reach.
    pub active: i64,
}

impl VersionAck {
    /// The rate within the reach, in percent (100 when nobody is there).
    pub fn percent(&self) -> i64 {
        (self.acknowledged * 100)
            .checked_div(self.active)
            .unwrap_or(100)
    }
}

fn tree_order(tree: &UnitTree) -> Vec<(i64, usize)> {
    let mut out = Vec::new();
    let mut stack: Vec<(i64, usize)> = tree.root().map(|r| (r.id, 0)).into_iter().collect();
    while let Some((id, depth)) = stack.pop() {
        out.push((id, depth));
        let mut children: Vec<(i64, usize)> = tree
            .children(id)
            .iter()
            .map(|c| (c.id, depth + 1))
            .collect();
        children.reverse();
        stack.extend(children);
        if out.len() > tree.units().len() {
            break;
        }
    }
    out
}

/// The acknowledgement state of a version, per unit (rolled up through the tree) and the list
/// of who has not, both limited to `reach`.
pub async fn version_ack(
    db: &Db,
    org: i64,
    tree: &UnitTree,
    version_id: i64,
    reach: &Reach,
) -> DbResult<VersionAck> {
    let v = version_by_id(db, org, version_id).await?;
    let doc = document_row(db, org, v.document_id).await?;
    let people: Vec<(i64, String, String, i64, Option<String>)> = sqlx::query_as(
        "SELECT p.id, p.name, p.login, p.unit_id, a.acknowledged_at FROM person p \
         LEFT JOIN acknowledgement a ON a.person_id = p.id AND a.version_id = $2 \
         WHERE p.org_id = $1 AND p.status = 'active' ORDER BY p.name_kana, p.id",
    )
    .bind(org)
    .bind(version_id)
    .fetch_all(db.pool())
    .await?;
    let reminders: Vec<(i64, i64, Option<String>)> = sqlx::query_as(
        "SELECT person_id, COUNT(*), MAX(sent_at) FROM ack_reminder WHERE org_id = $1 AND version_id = $2 GROUP BY person_id",
    )
    .bind(org)
    .bind(version_id)
    .fetch_all(db.pool())
    .await?;
    let reminded: HashMap<i64, (i64, Option<String>)> = reminders
        .into_iter()
        .map(|(p, n, at)| (p, (n, at)))
        .collect();
    let mut counts: HashMap<i64, (i64, i64)> = HashMap::new();
    let reachable: std::collections::HashSet<i64> = tree.reachable(reach).into_iter().collect();
    let mut pending = Vec::new();
    let (mut total_ack, mut total_active) = (0, 0);
    for (id, name, login, unit, acked) in &people {
        if reachable.contains(unit) {
            total_active += 1;
            if acked.is_some() {
                total_ack += 1;
            }
        }
        for u in tree.path(*unit) {
            let c = counts.entry(u.0).or_default();
            c.1 += 1;
            if acked.is_some() {
                c.0 += 1;
            }
        }
        if acked.is_none() && reachable.contains(unit) {
            let (n, at) = reminded.get(id).cloned().unwrap_or((0, None));
            pending.push(Pending {
                person_id: *id,
                name: name.clone(),
                login: login.clone(),
                unit_id: *unit,
                reminders: n,
                last_reminded: at,
            });
        }
    }
    let order = tree_order(tree);
    let position: HashMap<i64, usize> = order
        .iter()
        .enumerate()
        .map(|(i, (u, _))| (*u, i))
        .collect();
    pending.sort_by_key(|p| position.get(&p.unit_id).copied().unwrap_or(usize::MAX));
    let units = order
        .into_iter()
        .filter(|(u, _)| reachable.contains(u))
        .map(|(u, depth)| {
            let (acknowledged, active) = counts.get(&u).copied().unwrap_or((0, 0));
            UnitRate {
                unit_id: u,
                name: tree.full_name(u),
                depth,
                acknowledged,
                active,
            }
        })
        .collect();
    Ok(VersionAck {
        document_id: doc.id,
        kind: doc.kind,
        title: doc.title,
        version_id: v.id,
        version_no: v.version_no,
        published_at: v.published_at,
        units,
        pending,
        acknowledged: total_ack,
        active: total_active,
    })
}

/// The acknowledgement rates of every version in force of the 基本方針 and the 対策基準, for
/// the whole organisation (for the dashboard).
pub async fn ack_rates(db: &Db, org: i64) -> DbResult<Vec<VersionAck>> {
    let tree = crate::org::unit_tree(db, OrgId(org)).await?;
    let mut out = Vec::new();
    for (_, v) in versions_to_acknowledge(db, org).await? {
        out.push(version_ack(db, org, &tree, v.id, &Reach::All).await?);
    }
    Ok(out)
}

/// How a reminder reaches people besides their task list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReminderMail<'a> {
    /// Mail is not configured: the reminder is recorded (and the task stays on the home page).
    Off,
    /// Queue a mail to each person with an address; links start with the base URL when given.
    On(Option<&'a str>),
}

/// Records a reminder to every person within the capability's reach who has not acknowledged
/// the version, and with mail on queues one mail each in the same transaction; returns how many
/// were reminded.
pub async fn remind(
    conn: &mut AnyConnection,
    db: &Db,
    cap: &Capability<can::ReportAcknowledgements>,
    ctx: &AuditCtx,
    tree: &UnitTree,
    version_id: i64,
    mail: ReminderMail<'_>,
) -> DocResult<usize> {
    let org = cap.org().0;
    let v = version_in(conn, org, version_id).await?;
    if v.status() != VersionStatus::Published {
        return Err(DocError::Invalid("督促できるのは公開中の版だけです".into()));
    }
    let state = version_ack(db, org, tree, version_id, cap.reach()).await?;
    let now = now_text();
    let mut entries = Vec::with_capacity(state.pending.len());
    for p in &state.pending {
        sqlx::query(
            "INSERT INTO ack_reminder (org_id, version_id, person_id, sent_by, sent_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(org)
        .bind(version_id)
        .bind(p.person_id)
        .bind(ctx.actor_id)
        .bind(&now)
        .execute(&mut *conn)
        .await?;
        let mut entry = ctx.entry(
            "document.acknowledge.remind",
            "document_version",
            version_id,
        );
        entry.unit_id = Some(p.unit_id);
        entry.after = Some(json!({"person_id": p.person_id}));
        entries.push(entry);
        if let ReminderMail::On(base) = mail {
            queue_reminder_mail(conn, org, p, &state, base).await?;
        }
    }
    audit::append_many(conn, entries).await?;
    Ok(state.pending.len())
}

async fn queue_reminder_mail(
    conn: &mut AnyConnection,
    org: i64,
    p: &Pending,
    state: &VersionAck,
    base: Option<&str>,
) -> DbResult<()> {
    let email: Option<String> =
        sqlx::query_scalar("SELECT email FROM person WHERE org_id = $1 AND id = $2")
            .bind(org)
            .bind(p.person_id)
            .fetch_optional(&mut *conn)
            .await?;
    let Some(to) = email.map(|e| e.trim().to_owned()).filter(|e| !e.is_empty()) else {
        return Ok(());
    };
    let path = format!(
        "/documents/{}/versions/{}",
        state.document_id, state.version_no
    );
    let link = format!("{}{path}", base.unwrap_or("").trim_end_matches('/'));
    let mail = crate::mail::NewMail {
        org_id: org,
        person_id: Some(p.person_id),
        kind: crate::mail::MailKind::Reminder,
        day: mamori_core::calendar::format_iso(mamori_core::calendar::today_jst()),
        to_addr: to,
        subject: format!(
            "【mamori】{} 第{}版の確認と遵守の誓約をお願いします",
            state.title, state.version_no
        ),
        body: format!(
            "{} さん\n\n{} 第{}版が公開されています。内容を読み、遵守することを誓約してください（基本方針 §5）。\n\n  {link}\n\nこのメールは送信専用です。\n",
            p.name, state.title, state.version_no
        ),
    };
    crate::mail::enqueue(conn, &mail).await?;
    Ok(())
}

/// A reminder recorded for a person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Reminder {
    /// Person to remind.
    pub person_id: i64,
    /// Version to acknowledge.
    pub version_id: i64,
    /// When the reminder was recorded (UTC).
    pub sent_at: String,
}

/// Reminders recorded after `since` (a stored UTC timestamp) whose person has still not
/// acknowledged: what the reminder mail should send.
pub async fn reminders_since(db: &Db, org: i64, since: &str) -> DbResult<Vec<Reminder>> {
    Ok(sqlx::query_as(
        "SELECT r.person_id, r.version_id, MAX(r.sent_at) AS sent_at FROM ack_reminder r \
         WHERE r.org_id = $1 AND r.sent_at > $2 AND NOT EXISTS \
         (SELECT 1 FROM acknowledgement a WHERE a.version_id = r.version_id AND a.person_id = r.person_id) \
         GROUP BY r.person_id, r.version_id ORDER BY r.person_id",
    )
    .bind(org)
    .bind(since)
    .fetch_all(db.pool())
    .await?)
}

// ---------------------------------------------------------------------------------------------
// Tasks
// ---------------------------------------------------------------------------------------------

fn published_date(v: &Version) -> Option<Date> {
    let t = crate::parse_timestamp(v.published_at.as_deref()?)?;
    Some(t.to_offset(time::macros::offset!(+9)).date())
}

/// The person's open work in this area: acknowledge the versions in force; for the CISO,
/// approve submitted versions and reviews (not their own); for CISO and 統括, publish
/// approved versions.
pub async fn tasks_for(db: &Db, org: i64, person: i64, today: Date) -> DbResult<Vec<Task>> {
    let mut tasks = Vec::new();
    let active: Option<String> =
        sqlx::query_scalar("SELECT status FROM person WHERE org_id = $1 AND id = $2")
            .bind(org)
            .bind(person)
            .fetch_optional(db.pool())
            .await?;
    if active.as_deref() != Some("active") {
        return Ok(tasks);
    }
    for (doc, v) in versions_to_acknowledge(db, org).await? {
        if acknowledged_at(db, v.id, person).await?.is_none() {
            tasks.push(Task {
                kind: TaskKind::Acknowledge,
                title: format!(
                    "「{}」第{}版を読み、遵守を誓約する",
                    doc.title, v.version_no
                ),
                href: format!("/documents/{}/versions/{}", doc.id, v.version_no),
                due: published_date(&v).map(|d| d + time::Duration::days(ACK_DAYS)),
            });
        }
    }
    let day = mamori_core::calendar::format_iso(today);
    let roles: Vec<String> = sqlx::query_scalar(
        "SELECT role FROM role_assignment WHERE org_id = $1 AND person_id = $2 AND valid_from <= $3 \
         AND (valid_to IS NULL OR valid_to >= $3)",
    )
    .bind(org)
    .bind(person)
    .bind(&day)
    .fetch_all(db.pool())
    .await?;
    let holds = |r: Role| roles.iter().any(|x| x == r.code());
    let approver = holds(Role::Ciso);
    let editor = approver || holds(Role::ChiefOfficer);
    if editor {
        let sql = format!(
            "SELECT {VERSION_COLUMNS} FROM document_version WHERE org_id = $1 AND status IN ('submitted', 'approved') ORDER BY id"
        );
        let open: Vec<Version> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(org)
            .fetch_all(db.pool())
            .await?;
        for v in open {
            let doc = document_row(db, org, v.document_id).await?;
            let href = format!("/documents/{}/versions/{}", doc.id, v.version_no);
            match v.status() {
                VersionStatus::Submitted if approver && !v.authors().contains(&person) => {
                    tasks.push(Task {
                        kind: TaskKind::Approve,
                        title: format!("「{}」第{}版を審査し承認する", doc.title, v.version_no),
                        href,
                        due: None,
                    });
                }
                VersionStatus::Approved => tasks.push(Task {
                    kind: TaskKind::FollowUp,
                    title: format!("承認された「{}」第{}版を公開する", doc.title, v.version_no),
                    href,
                    due: None,
                }),
                _ => {}
            }
        }
    }
    if approver {
        let reviews: Vec<(i64, String, Option<i64>, Option<i64>)> = sqlx::query_as(
            "SELECT id, title, opened_by, submitted_by FROM review WHERE org_id = $1 AND status = 'submitted' ORDER BY id",
        )
        .bind(org)
        .fetch_all(db.pool())
        .await?;
        for (id, title, opened, submitted) in reviews {
            if opened != Some(person) && submitted != Some(person) {
                tasks.push(Task {
                    kind: TaskKind::Approve,
                    title: format!("見直し「{title}」を承認する"),
                    href: format!("/reviews/{id}"),
                    due: None,
                });
            }
        }
    }
    mamori_core::task::sort(&mut tasks);
    Ok(tasks)
}

// ---------------------------------------------------------------------------------------------
// Reviews (見直し, §8)
// ---------------------------------------------------------------------------------------------

/// A review record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Review {
    /// Id.
    pub id: i64,
    /// Organisation.
    pub org_id: i64,
    /// Title.
    pub title: String,
    /// What it was opened from ([`ReviewSource::code`]).
    pub source: String,
    /// State ([`ReviewStatus::code`]).
    pub status: String,
    /// Why and what was looked at.
    pub summary: String,
    /// The decisions taken.
    pub decisions: String,
    /// Who opened it.
    pub opened_by: Option<i64>,
    /// Who sent it to the CISO.
    pub submitted_by: Option<i64>,
    /// When.
    pub submitted_at: Option<String>,
    /// The approving CISO.
    pub approved_by: Option<i64>,
    /// When.
    pub approved_at: Option<String>,
    /// The CISO's remark.
    pub approval_note: String,
    /// Created (UTC).
    pub created_at: String,
    /// Last change (UTC).
    pub updated_at: String,
}

impl Review {
    /// State.
    pub fn status(&self) -> ReviewStatus {
        ReviewStatus::from_code(&self.status).unwrap_or(ReviewStatus::Open)
    }
}

const REVIEW_COLUMNS: &str = "id, org_id, title, source, status, summary, decisions, opened_by, submitted_by, \
     submitted_at, approved_by, approved_at, approval_note, created_at, updated_at";

/// An input of a review: a typed reference to a finding, a result or an incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct ReviewInput {
    /// Id.
    pub id: i64,
    /// Kind ([`ReviewSource::code`]).
    pub kind: String,
    /// The reference as the register writes it (「R7監査-03 指摘2」).
    pub reference: String,
    /// What it says.
    pub note: String,
}

/// A threat re-assessed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct ReviewThreat {
    /// Id.
    pub id: i64,
    /// Threat class id of the basic policy (`deliberate`, …).
    pub threat: String,
    /// 1–3.
    pub likelihood: i64,
    /// 1–3.
    pub impact: i64,
    /// The reasoning.
    pub note: String,
}

/// A review with everything attached.
#[derive(Debug, Clone, Serialize)]
pub struct ReviewFull {
    /// The record.
    pub review: Review,
    /// Inputs.
    pub inputs: Vec<ReviewInput>,
    /// Threats re-assessed.
    pub threats: Vec<ReviewThreat>,
    /// Document versions it produced: (document id, document title, version no).
    pub outputs: Vec<(i64, String, i64)>,
}

/// Every review, newest first.
pub async fn reviews(db: &Db, cap: &Capability<can::ViewReviews>) -> DbResult<Vec<Review>> {
    let sql = format!("SELECT {REVIEW_COLUMNS} FROM review WHERE org_id = $1 ORDER BY id DESC");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(cap.org().0)
        .fetch_all(db.pool())
        .await?)
}

async fn review_row(db: &Db, org: i64, id: i64) -> DbResult<Review> {
    let sql = format!("SELECT {REVIEW_COLUMNS} FROM review WHERE org_id = $1 AND id = $2");
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(org)
        .bind(id)
        .fetch_optional(db.pool())
        .await?
        .ok_or(DbError::NotFound)
}

/// One review with its inputs, threats and outputs.
pub async fn review(db: &Db, cap: &Capability<can::ViewReviews>, id: i64) -> DbResult<ReviewFull> {
    let org = cap.org().0;
    let review = review_row(db, org, id).await?;
    let inputs = sqlx::query_as(
        "SELECT id, kind, reference, note FROM review_input WHERE org_id = $1 AND review_id = $2 ORDER BY id",
    )
    .bind(org)
    .bind(id)
    .fetch_all(db.pool())
    .await?;
    let threats = sqlx::query_as(
        "SELECT id, threat, likelihood, impact, note FROM review_threat WHERE org_id = $1 AND review_id = $2 ORDER BY id",
    )
    .bind(org)
    .bind(id)
    .fetch_all(db.pool())
    .await?;
    let outputs = sqlx::query_as(
        "SELECT d.id, d.title, v.version_no FROM review_output o JOIN document_version v ON v.id = o.version_id \
         JOIN document d ON d.id = v.document_id WHERE o.org_id = $1 AND o.review_id = $2 ORDER BY d.id, v.version_no",
    )
    .bind(org)
    .bind(id)
    .fetch_all(db.pool())
    .await?;
    Ok(ReviewFull {
        review,
        inputs,
        threats,
        outputs,
    })
}

/// A review's editable fields.
#[derive(Debug, Clone)]
pub struct ReviewInputFields {
    /// Title.
    pub title: String,
    /// What it was opened from.
    pub source: ReviewSource,
    /// Summary.
    pub summary: String,
    /// Decisions.
    pub decisions: String,
}

/// Opens a review; returns its id.
pub async fn open_review(
    conn: &mut AnyConnection,
    cap: &Capability<can::EditPolicy>,
    ctx: &AuditCtx,
    f: &ReviewInputFields,
) -> DocResult<i64> {
    let title = check_title(&f.title)?;
    let summary = check_note(&f.summary, "概要")?;
    let decisions = check_note(&f.decisions, "決定事項")?;
    let now = now_text();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO review (org_id, title, source, status, summary, decisions, opened_by, created_at, updated_at) \
         VALUES ($1, $2, $3, 'open', $4, $5, $6, $7, $7) RETURNING id",
    )
    .bind(cap.org().0)
    .bind(&title)
    .bind(f.source.code())
    .bind(&summary)
    .bind(&decisions)
    .bind(ctx.actor_id)
    .bind(&now)
    .fetch_one(&mut *conn)
    .await?;
    let mut entry = ctx.entry("review.create", "review", id);
    entry.after = Some(json!({"title": title, "source": f.source.code()}));
    audit::append(conn, entry).await?;
    Ok(id)
}

async fn open_review_in(conn: &mut AnyConnection, org: i64, id: i64) -> DocResult<Review> {
    let sql = format!("SELECT {REVIEW_COLUMNS} FROM review WHERE org_id = $1 AND id = $2");
    let r: Review = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(org)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(DbError::NotFound)?;
    if r.status() != ReviewStatus::Open {
        return Err(DocError::Invalid(format!(
            "{}の見直し記録は変更できません",
            r.status().label_ja()
        )));
    }
    Ok(r)
}

/// Updates a review that is still open.
pub async fn update_review(
    conn: &mut AnyConnection,
    cap: &Capability<can::EditPolicy>,
    ctx: &AuditCtx,
    id: i64,
    f: &ReviewInputFields,
) -> DocResult<()> {
    let org = cap.org().0;
    open_review_in(conn, org, id).await?;
    let title = check_title(&f.title)?;
    let summary = check_note(&f.summary, "概要")?;
    let decisions = check_note(&f.decisions, "決定事項")?;
    sqlx::query(
        "UPDATE review SET title = $1, source = $2, summary = $3, decisions = $4, updated_at = $5 WHERE org_id = $6 AND id = $7",
    )
    .bind(&title)
    .bind(f.source.code())
    .bind(&summary)
    .bind(&decisions)
    .bind(now_text())
    .bind(org)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    let mut entry = ctx.entry("review.update", "review", id);
    entry.after = Some(json!({"title": title, "source": f.source.code()}));
    audit::append(conn, entry).await?;
    Ok(())
}

/// Adds an input reference to an open review.
pub async fn add_review_input(
    conn: &mut AnyConnection,
    cap: &Capability<can::EditPolicy>,
    ctx: &AuditCtx,
    id: i64,
    kind: ReviewSource,
    reference: &str,
    note: &str,
) -> DocResult<()> {
    let org = cap.org().0;
    open_review_in(conn, org, id).await?;
    let reference = mamori_core::text::normalize(reference);
    if reference.is_empty() {
        return Err(DocError::Invalid(
            "入力の参照（番号や名称）を入力してください".into(),
        ));
    }
    if reference.chars().count() > MAX_TITLE_CHARS {
        return Err(DocError::Invalid(format!(
            "参照が長すぎます（上限は{MAX_TITLE_CHARS}文字）"
        )));
    }
    let note = check_note(note, "内容")?;
    sqlx::query(
        "INSERT INTO review_input (org_id, review_id, kind, reference, note) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(org)
    .bind(id)
    .bind(kind.code())
    .bind(&reference)
    .bind(&note)
    .execute(&mut *conn)
    .await?;
    let mut entry = ctx.entry("review.input.add", "review", id);
    entry.after = Some(json!({"kind": kind.code(), "reference": reference}));
    audit::append(conn, entry).await?;
    Ok(())
}

/// Records a threat re-assessment on an open review. `threat` must be a threat class of the
/// basic policy.
#[allow(clippy::too_many_arguments)]
pub async fn add_review_threat(
    conn: &mut AnyConnection,
    cap: &Capability<can::EditPolicy>,
    ctx: &AuditCtx,
    id: i64,
    threat: &str,
    likelihood: Level,
    impact: Level,
    note: &str,
) -> DocResult<()> {
    let org = cap.org().0;
    open_review_in(conn, org, id).await?;
    let outline = mamori_core::policy::PolicyOutline::default();
    if outline.threat(threat).is_none() {
        return Err(DocError::Invalid(
            "脅威の分類が正しくありません（基本方針の「対象とする脅威」から選んでください）".into(),
        ));
    }
    let note = check_note(note, "評価の理由")?;
    sqlx::query(
        "INSERT INTO review_threat (org_id, review_id, threat, likelihood, impact, note) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(org)
    .bind(id)
    .bind(threat)
    .bind(likelihood.get())
    .bind(impact.get())
    .bind(&note)
    .execute(&mut *conn)
    .await?;
    let mut entry = ctx.entry("review.threat.add", "review", id);
    entry.after =
        Some(json!({"threat": threat, "likelihood": likelihood.get(), "impact": impact.get()}));
    audit::append(conn, entry).await?;
    Ok(())
}

/// Links a document version the review produced (any state; a review is often approved with
/// the revision it asks for still in draft).
pub async fn link_review_output(
    conn: &mut AnyConnection,
    cap: &Capability<can::EditPolicy>,
    ctx: &AuditCtx,
    id: i64,
    document: i64,
    version_no: i64,
) -> DocResult<()> {
    let org = cap.org().0;
    let sql = format!("SELECT {REVIEW_COLUMNS} FROM review WHERE org_id = $1 AND id = $2");
    let r: Option<Review> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(org)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    if r.is_none() {
        return Err(DbError::NotFound.into());
    }
    let version: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM document_version WHERE org_id = $1 AND document_id = $2 AND version_no = $3",
    )
    .bind(org)
    .bind(document)
    .bind(version_no)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(version) = version else {
        return Err(DocError::Invalid(
            "指定された文書の版が見つかりません".into(),
        ));
    };
    sqlx::query(
        "INSERT INTO review_output (org_id, review_id, version_id) VALUES ($1, $2, $3) ON CONFLICT (review_id, version_id) DO NOTHING",
    )
    .bind(org)
    .bind(id)
    .bind(version)
    .execute(&mut *conn)
    .await?;
    let mut entry = ctx.entry("review.output.link", "review", id);
    entry.after = Some(json!({"document_id": document, "version_no": version_no}));
    audit::append(conn, entry).await?;
    Ok(())
}

/// Sends an open review to the CISO.
pub async fn submit_review(
    conn: &mut AnyConnection,
    cap: &Capability<can::EditPolicy>,
    ctx: &AuditCtx,
    id: i64,
) -> DocResult<()> {
    let org = cap.org().0;
    let r = open_review_in(conn, org, id).await?;
    if r.decisions.trim().is_empty() {
        return Err(DocError::Invalid(
            "決定事項を記入してから承認申請してください".into(),
        ));
    }
    let now = now_text();
    sqlx::query(
        "UPDATE review SET status = 'submitted', submitted_by = $1, submitted_at = $2, updated_at = $2 \
         WHERE org_id = $3 AND id = $4 AND status = 'open'",
    )
    .bind(ctx.actor_id)
    .bind(&now)
    .bind(org)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    audit::append(conn, ctx.entry("review.submit", "review", id)).await?;
    Ok(())
}

/// The CISO approves a submitted review (not one they opened or submitted).
pub async fn approve_review(
    conn: &mut AnyConnection,
    cap: &Capability<can::ApprovePolicy>,
    ctx: &AuditCtx,
    id: i64,
    note: &str,
) -> DocResult<()> {
    let org = cap.org().0;
    let sql = format!("SELECT {REVIEW_COLUMNS} FROM review WHERE org_id = $1 AND id = $2");
    let r: Review = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(org)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(DbError::NotFound)?;
    if r.status() != ReviewStatus::Submitted {
        return Err(DocError::Invalid(format!(
            "{}の見直し記録は承認できません{}",
            r.status().label_ja(),
            if r.status() == ReviewStatus::Open {
                "（先に承認申請をしてください）"
            } else {
                "（既に承認されています）"
            }
        )));
    }
    for author in [r.opened_by, r.submitted_by].into_iter().flatten() {
        check_approver(PersonId(author), cap.actor())?;
    }
    let note = check_note(note, "承認の所見")?;
    let now = now_text();
    let done = sqlx::query(
        "UPDATE review SET status = 'approved', approved_by = $1, approved_at = $2, approval_note = $3, updated_at = $2 \
         WHERE org_id = $4 AND id = $5 AND status = 'submitted'",
    )
    .bind(cap.actor().0)
    .bind(&now)
    .bind(&note)
    .bind(org)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() != 1 {
        return Err(DocError::Invalid("見直し記録は既に承認されています".into()));
    }
    let mut entry = ctx.entry("review.approve", "review", id);
    entry.after = Some(json!({"note": note}));
    audit::append(conn, entry).await?;
    Ok(())
}
