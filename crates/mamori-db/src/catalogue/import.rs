//! Importing an organisation's own 対策基準 from a file (xlsx, or CSV in UTF-8 with or without
//! BOM or in CP932) with the columns 番号, 見出し, 本文, 親番号 and optionally ガイドライン番号.
//!
//! Every row is checked before anything is written — unknown parent, duplicate number, empty
//! title, a parent chain that loops, an unknown guideline number — and the import lands whole
//! or not at all. A row whose 番号 the catalogue already has updates that clause; any other row
//! adds one. [`plan`] is the dry run the preview shows; [`apply`] checks again inside its
//! transaction and writes.

use std::collections::{HashMap, HashSet};

use mamori_core::permission::{Capability, can};
use mamori_tabular::{Column, Limits, TabularErrors};
use serde::Serialize;
use serde_json::json;
use sqlx::AnyConnection;

use super::{
    CatalogueError, Clause, MAX_NUMBER_CHARS, check_guideline_no, check_title_body, clauses_in,
};
use crate::audit;
use crate::import::ImportFile;
use crate::now_text;
use crate::org::AuditCtx;

/// The columns of the file.
pub const SCHEMA: &[Column] = &[
    Column::required("number", "番号").aliases(&["条番号", "条項番号", "No", "番号（条）"]),
    Column::required("title", "見出し").aliases(&["表題", "タイトル", "条文見出し"]),
    Column::optional("body", "本文").aliases(&["条文", "内容"]),
    Column::optional("parent", "親番号").aliases(&["上位番号", "親"]),
    Column::optional("guideline", "ガイドライン番号")
        .aliases(&["ガイドライン", "対応するガイドライン番号"]),
];

/// Limits of an import file: a standards document has hundreds of clauses, not thousands.
pub fn limits() -> Limits {
    Limits {
        max_file_bytes: 10 * 1024 * 1024,
        max_rows: 5_000,
        max_columns: 50,
        ..Limits::default()
    }
}

/// Reads a file; every problem reading it is a Japanese message naming the row and column.
pub fn read(bytes: &[u8], file_name: &str) -> Result<ImportFile, Vec<String>> {
    crate::import::read(
        bytes,
        file_name,
        SCHEMA,
        &limits(),
        "見出しの行の下に条項の行がありません",
    )
    .map_err(|e: TabularErrors| e.iter().map(ToString::to_string).collect())
}

/// One row as it will be written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanRow {
    /// Row number in the file.
    pub row: usize,
    /// 番号.
    pub number: String,
    /// 見出し.
    pub title: String,
    /// 本文.
    pub body: String,
    /// 親番号 (empty: top level).
    pub parent: String,
    /// ガイドライン番号.
    pub guideline_no: Option<String>,
    /// `add`, `update` or `same`.
    pub action: &'static str,
}

impl PlanRow {
    /// The action in Japanese.
    pub fn action_ja(&self) -> &'static str {
        match self.action {
            "add" => "追加",
            "update" => "更新",
            _ => "変更なし",
        }
    }
}

/// What an import would do, or why it cannot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportPlan {
    /// The file's name.
    pub file_name: String,
    /// Its SHA-256.
    pub sha256: String,
    /// Rows, in file order (empty when there are errors).
    pub rows: Vec<PlanRow>,
    /// Problems, each naming its row; nothing may be written while there is one.
    pub errors: Vec<String>,
}

impl ImportPlan {
    /// How many rows add, update or leave a clause.
    pub fn counts(&self) -> (usize, usize, usize) {
        let n = |a: &str| self.rows.iter().filter(|r| r.action == a).count();
        (n("add"), n("update"), n("same"))
    }
}

/// Checks a file against the organisation's catalogue (seeded before, by the caller).
pub async fn plan(
    conn: &mut AnyConnection,
    org: i64,
    file: &ImportFile,
) -> Result<ImportPlan, CatalogueError> {
    let existing = clauses_in(conn, org).await?;
    Ok(plan_against(&existing, file))
}

fn plan_against(existing: &[Clause], file: &ImportFile) -> ImportPlan {
    let by_number: HashMap<&str, &Clause> =
        existing.iter().map(|c| (c.number.as_str(), c)).collect();
    let by_id: HashMap<i64, &Clause> = existing.iter().map(|c| (c.id, c)).collect();
    let table = &file.table;
    let mut errors = Vec::new();
    let mut rows = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for r in &table.rows {
        let number = mamori_core::standards::normalise_number(r.text("number"));
        let title = r.text("title").trim().to_owned();
        let body = r.text("body").replace("\r\n", "\n").trim_end().to_owned();
        let parent = mamori_core::standards::normalise_number(r.text("parent"));
        let mut bad =
            |key: &str, reason: String| errors.push(table.error(r, key, reason).to_string());
        if number.is_empty() {
            bad("number", "番号が空です".into());
        } else if number.chars().count() > MAX_NUMBER_CHARS {
            bad(
                "number",
                format!("番号は{MAX_NUMBER_CHARS}文字以内にしてください"),
            );
        } else if let Some(first) = seen.get(&number) {
            bad(
                "number",
                format!("番号「{number}」が重複しています（{first}行目と同じ番号です）"),
            );
        } else {
            seen.insert(number.clone(), r.number);
        }
        for problem in check_title_body(&title, &body) {
            let key = if problem.starts_with("本文") {
                "body"
            } else {
                "title"
            };
            let problem = if problem == "見出しを入力してください" {
                "見出しが空です".to_owned()
            } else {
                problem
            };
            bad(key, problem);
        }
        let guideline_no = match check_guideline_no(r.text("guideline")) {
            Ok(g) => g,
            Err(m) => {
                bad("guideline", m);
                None
            }
        };
        if !parent.is_empty() && parent == number {
            bad(
                "parent",
                "親番号が自分自身の番号です（循環しています）".into(),
            );
        }
        rows.push(PlanRow {
            row: r.number,
            number,
            title,
            body,
            parent,
            guideline_no,
            action: "add",
        });
    }
    let in_file: HashSet<&str> = rows.iter().map(|r| r.number.as_str()).collect();
    // Parents after the import: the file's rows override the catalogue's.
    let mut parent_of: HashMap<String, String> = HashMap::new();
    for c in existing {
        let p = c
            .parent_id
            .and_then(|p| by_id.get(&p))
            .map(|p| p.number.clone())
            .unwrap_or_default();
        parent_of.insert(c.number.clone(), p);
    }
    for r in &rows {
        parent_of.insert(r.number.clone(), r.parent.clone());
    }
    let row_error = |r: &PlanRow, reason: String| {
        let header = table
            .column("parent")
            .map_or("親番号", |c| c.header_as_written.as_str())
            .to_owned();
        mamori_tabular::TabularError::cell(
            r.row,
            &header,
            &r.parent,
            mamori_tabular::TabularErrorKind::Invalid { reason },
        )
        .at_cell(table.cell_ref(r.row, "parent"))
        .to_string()
    };
    for r in &rows {
        if r.parent.is_empty() || r.parent == r.number {
            continue;
        }
        if !in_file.contains(r.parent.as_str()) && !by_number.contains_key(r.parent.as_str()) {
            errors.push(row_error(
                r,
                format!(
                    "親番号「{}」の条項がファイルにも対策基準にもありません",
                    r.parent
                ),
            ));
            continue;
        }
        let mut chain = vec![r.number.clone()];
        let mut at = r.parent.clone();
        while !at.is_empty() {
            if at == r.number {
                chain.push(at);
                errors.push(row_error(
                    r,
                    format!("親番号をたどると循環しています（{}）", chain.join(" → ")),
                ));
                break;
            }
            if chain.contains(&at) || chain.len() > 64 {
                // A loop above this row; reported on the rows inside it.
                break;
            }
            chain.push(at.clone());
            at = parent_of.get(&at).cloned().unwrap_or_default();
        }
    }
    if !errors.is_empty() {
        return ImportPlan {
            file_name: file.name.clone(),
            sha256: file.sha256.clone(),
            rows: Vec::new(),
            errors,
        };
    }
    for r in &mut rows {
        if let Some(c) = by_number.get(r.number.as_str()) {
            let parent_now = c
                .parent_id
                .and_then(|p| by_id.get(&p))
                .map(|p| p.number.as_str())
                .unwrap_or("");
            let same = c.title == r.title
                && c.body == r.body
                && parent_now == r.parent
                && (r.guideline_no.is_none() || c.guideline_no == r.guideline_no);
            r.action = if same { "same" } else { "update" };
        }
    }
    ImportPlan {
        file_name: file.name.clone(),
        sha256: file.sha256.clone(),
        rows,
        errors,
    }
}

/// Writes an import: checks the file again against the catalogue inside the transaction, then
/// adds and updates clauses and audits the import (one entry per clause and one for the file).
/// Returns the plan as applied.
pub async fn apply(
    conn: &mut AnyConnection,
    cap: &Capability<can::EditStandards>,
    ctx: &AuditCtx,
    file: &ImportFile,
) -> Result<ImportPlan, CatalogueError> {
    let org = cap.org().0;
    super::seed_in(conn, org).await?;
    let existing = clauses_in(conn, org).await?;
    let plan = plan_against(&existing, file);
    if !plan.errors.is_empty() {
        return Err(CatalogueError::Invalid(plan.errors.join("\n")));
    }
    let mut ids: HashMap<String, i64> = existing.iter().map(|c| (c.number.clone(), c.id)).collect();
    let before: HashMap<&str, &Clause> = existing.iter().map(|c| (c.number.as_str(), c)).collect();
    let now = now_text();
    let base: i64 = existing.iter().map(|c| c.sort_order).max().unwrap_or(0) + 1;
    let mut entries = Vec::new();
    // New clauses first (without parents), so every parent has an id when parents are set.
    for (i, r) in plan.rows.iter().enumerate() {
        if r.action != "add" {
            continue;
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO std_clause (org_id, number, guideline_no, title, body, sort_order, source, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, 'import', $7, $7) RETURNING id",
        )
        .bind(org)
        .bind(&r.number)
        .bind(&r.guideline_no)
        .bind(&r.title)
        .bind(&r.body)
        .bind(base + i64::try_from(i).unwrap_or(0))
        .bind(&now)
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| crate::unique_violation(e, format!("番号 {}", r.number)))?;
        ids.insert(r.number.clone(), id);
        let mut entry = ctx.entry("standards.clause.import", "std_clause", id);
        entry.after = Some(json!({"number": r.number, "title": r.title, "body": r.body,
            "parent": r.parent, "guideline_no": r.guideline_no}));
        entries.push(entry);
    }
    for r in &plan.rows {
        if r.action == "same" {
            continue;
        }
        let Some(id) = ids.get(&r.number).copied() else {
            continue;
        };
        let parent = if r.parent.is_empty() {
            None
        } else {
            ids.get(&r.parent).copied()
        };
        if r.action == "add" {
            sqlx::query("UPDATE std_clause SET parent_id = $1 WHERE id = $2 AND org_id = $3")
                .bind(parent)
                .bind(id)
                .bind(org)
                .execute(&mut *conn)
                .await?;
            continue;
        }
        sqlx::query(
            "UPDATE std_clause SET title = $1, body = $2, parent_id = $3, \
             guideline_no = COALESCE($4, guideline_no), updated_at = $5, version = version + 1 \
             WHERE id = $6 AND org_id = $7",
        )
        .bind(&r.title)
        .bind(&r.body)
        .bind(parent)
        .bind(&r.guideline_no)
        .bind(&now)
        .bind(id)
        .bind(org)
        .execute(&mut *conn)
        .await?;
        let mut entry = ctx.entry("standards.clause.import", "std_clause", id);
        if let Some(b) = before.get(r.number.as_str()) {
            entry.before = Some(json!({"number": b.number, "title": b.title, "body": b.body,
                "guideline_no": b.guideline_no}));
        }
        entry.after = Some(json!({"number": r.number, "title": r.title, "body": r.body,
            "parent": r.parent, "guideline_no": r.guideline_no}));
        entries.push(entry);
    }
    let (added, updated, same) = plan.counts();
    let mut entry = ctx.entry("standards.import", "standards", org);
    entry.after = Some(json!({"file": file.name, "sha256": file.sha256,
        "added": added, "updated": updated, "unchanged": same}));
    entries.push(entry);
    audit::append_many(conn, entries).await?;
    Ok(plan)
}
