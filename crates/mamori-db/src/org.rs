//! Organisations (団体), their unit trees, persons (職員等) and role assignments.
//!
//! Every function that reads or changes one organisation's data takes a capability or an
//! organisation id that came from one, and every query is confined by `org_id`, so one
//! organisation never sees another's rows. Changes append to the audit trail in the same
//! transaction.

use std::collections::HashMap;

use mamori_core::org::{OrgId, PersonId, UnitId};
use mamori_core::permission::{Actor, Capability, Held, Permission, Reach};
use mamori_core::role::Role;
use serde::Serialize;
use serde_json::json;
use sqlx::AnyConnection;

use crate::audit::{self, NewEntry};
use crate::{Db, DbError, DbResult, now_text, unique_violation};

/// Who is making a change, for the audit trail.
#[derive(Debug, Clone, Default)]
pub struct AuditCtx {
    /// The actor's organisation.
    pub org_id: Option<i64>,
    /// The actor.
    pub actor_id: Option<i64>,
    /// The actor's login (or `system` / `cli`).
    pub actor: String,
    /// The request id.
    pub request_id: Option<String>,
}

impl AuditCtx {
    /// An entry for this actor.
    pub fn entry(&self, action: &str, object_type: &str, object_id: impl ToString) -> NewEntry {
        NewEntry {
            org_id: self.org_id,
            actor_id: self.actor_id,
            actor: self.actor.clone(),
            action: action.to_owned(),
            object_type: object_type.to_owned(),
            object_id: Some(object_id.to_string()),
            request_id: self.request_id.clone(),
            ..NewEntry::default()
        }
    }
}

/// An organisation (団体).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Organisation {
    /// Id.
    pub id: i64,
    /// Short code.
    pub code: String,
    /// Name, e.g. 峡南広域行政組合.
    pub name: String,
    /// `r6` (自治体機密性3A…1) or `legacy` (機密性3/2/1).
    pub classification_scheme: String,
    /// Created (UTC).
    pub created_at: String,
}

/// A unit of the organisation tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Unit {
    /// Id.
    pub id: i64,
    /// Organisation.
    pub org_id: i64,
    /// Parent unit (none for the root).
    pub parent_id: Option<i64>,
    /// Code, unique in the organisation.
    pub code: String,
    /// Name.
    pub name: String,
    /// Kind code (see `UnitKind`).
    pub kind: String,
    /// Order among siblings.
    pub sort_order: i64,
    /// 1 while in use.
    pub active: i64,
}

/// A person bound by the policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Person {
    /// Id.
    pub id: i64,
    /// Organisation.
    pub org_id: i64,
    /// Login name.
    pub login: String,
    /// 職員番号.
    pub staff_no: Option<String>,
    /// Name.
    pub name: String,
    /// Reading (kana).
    pub name_kana: String,
    /// Primary unit.
    pub unit_id: i64,
    /// Employment type code.
    pub employment: String,
    /// Mail address.
    pub email: String,
    /// Phone / extension.
    pub phone: String,
    /// `active` or `retired`.
    pub status: String,
    /// 1 when the next login must set a new password.
    pub must_change_password: i64,
    /// 1 once TOTP is enrolled.
    pub totp_enabled: i64,
    /// Created (UTC).
    pub created_at: String,
    /// Updated (UTC).
    pub updated_at: String,
}

/// Columns of [`Person`], for SELECTs.
pub const PERSON_COLUMNS: &str = "id, org_id, login, staff_no, name, name_kana, unit_id, employment, email, phone, \
     status, must_change_password, totp_enabled, created_at, updated_at";

/// A role held by a person in a unit for a period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Assignment {
    /// Id.
    pub id: i64,
    /// Organisation.
    pub org_id: i64,
    /// Person.
    pub person_id: i64,
    /// Role code.
    pub role: String,
    /// Unit.
    pub unit_id: i64,
    /// First day (YYYY-MM-DD).
    pub valid_from: String,
    /// Last day, inclusive (none: open-ended).
    pub valid_to: Option<String>,
    /// Note.
    pub note: String,
    /// Created (UTC).
    pub created_at: String,
}

impl Assignment {
    /// Whether the assignment is in force on `day` (YYYY-MM-DD).
    pub fn in_force_on(&self, day: &str) -> bool {
        self.valid_from.as_str() <= day && self.valid_to.as_deref().is_none_or(|to| day <= to)
    }
}

const ASSIGNMENT_COLUMNS: &str =
    "id, org_id, person_id, role, unit_id, valid_from, valid_to, note, created_at";

/// The unit tree of one organisation, held in memory (a government has at most a few hundred
/// units), answering paths, bodies and subtrees without recursive SQL.
#[derive(Debug, Clone, Default)]
pub struct UnitTree {
    units: Vec<Unit>,
    index: HashMap<i64, usize>,
}

impl UnitTree {
    /// Builds the tree from an organisation's units.
    pub fn new(units: Vec<Unit>) -> Self {
        let index = units.iter().enumerate().map(|(i, u)| (u.id, i)).collect();
        UnitTree { units, index }
    }

    /// Every unit, in stored order.
    pub fn units(&self) -> &[Unit] {
        &self.units
    }

    /// A unit by id.
    pub fn get(&self, id: i64) -> Option<&Unit> {
        self.index.get(&id).and_then(|&i| self.units.get(i))
    }

    /// A unit by code.
    pub fn by_code(&self, code: &str) -> Option<&Unit> {
        self.units.iter().find(|u| u.code == code)
    }

    /// The root (団体) unit.
    pub fn root(&self) -> Option<&Unit> {
        self.units.iter().find(|u| u.parent_id.is_none())
    }

    /// The path from the root down to `id` (empty when unknown). Cycles are cut.
    pub fn path(&self, id: i64) -> Vec<UnitId> {
        let mut path = Vec::new();
        let mut cur = self.get(id);
        while let Some(u) = cur {
            if path.contains(&UnitId(u.id)) || path.len() > 64 {
                break;
            }
            path.push(UnitId(u.id));
            cur = u.parent_id.and_then(|p| self.get(p));
        }
        path.reverse();
        path
    }

    /// The body (所属) containing `id`: the path's second element, or the unit itself at the root.
    pub fn body_of(&self, id: i64) -> UnitId {
        let path = self.path(id);
        path.get(1).or(path.first()).copied().unwrap_or(UnitId(id))
    }

    /// `id` and every unit below it.
    pub fn subtree(&self, id: i64) -> Vec<i64> {
        let mut out = vec![id];
        let mut i = 0;
        while let Some(&cur) = out.get(i) {
            out.extend(
                self.units
                    .iter()
                    .filter(|u| u.parent_id == Some(cur))
                    .map(|u| u.id),
            );
            i += 1;
            if out.len() > self.units.len() {
                break;
            }
        }
        out
    }

    /// Units a capability reaches.
    pub fn reachable(&self, reach: &Reach) -> Vec<i64> {
        match reach {
            Reach::All => self.units.iter().map(|u| u.id).collect(),
            Reach::Subtrees(roots) => {
                let mut out: Vec<i64> = roots.iter().flat_map(|r| self.subtree(r.0)).collect();
                out.sort_unstable();
                out.dedup();
                out
            }
        }
    }

    /// Display name with the chain of parents below the root, e.g. 「事務局 総務課」.
    pub fn full_name(&self, id: i64) -> String {
        let path = self.path(id);
        let names: Vec<&str> = path
            .iter()
            .skip(1)
            .filter_map(|u| self.get(u.0))
            .map(|u| u.name.as_str())
            .collect();
        if names.is_empty() {
            self.get(id).map(|u| u.name.clone()).unwrap_or_default()
        } else {
            names.join(" ")
        }
    }

    /// Children of a unit, in display order.
    pub fn children(&self, id: i64) -> Vec<&Unit> {
        let mut v: Vec<&Unit> = self
            .units
            .iter()
            .filter(|u| u.parent_id == Some(id))
            .collect();
        v.sort_by(|a, b| a.sort_order.cmp(&b.sort_order).then(a.code.cmp(&b.code)));
        v
    }
}

/// Lists every organisation (deployment administration only).
pub async fn organisations(db: &Db) -> DbResult<Vec<Organisation>> {
    Ok(sqlx::query_as(
        "SELECT id, code, name, classification_scheme, created_at FROM organisation ORDER BY id",
    )
    .fetch_all(db.pool())
    .await?)
}

/// One organisation.
pub async fn organisation(db: &Db, org: OrgId) -> DbResult<Organisation> {
    sqlx::query_as(
        "SELECT id, code, name, classification_scheme, created_at FROM organisation WHERE id = $1",
    )
    .bind(org.0)
    .fetch_optional(db.pool())
    .await?
    .ok_or(DbError::NotFound)
}

/// Creates an organisation and its root unit; returns (organisation id, root unit id).
pub async fn create_organisation(
    conn: &mut AnyConnection,
    ctx: &AuditCtx,
    code: &str,
    name: &str,
) -> DbResult<(i64, i64)> {
    let now = now_text();
    let org_id: i64 = sqlx::query_scalar(
        "INSERT INTO organisation (code, name, created_at) VALUES ($1, $2, $3) RETURNING id",
    )
    .bind(code)
    .bind(name)
    .bind(&now)
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| unique_violation(e, format!("団体コード {code}")))?;
    let root = insert_unit(conn, org_id, None, code, name, "organisation", 0).await?;
    let mut entry = ctx.entry("org.create", "organisation", org_id);
    entry.org_id = Some(org_id);
    entry.after = Some(json!({"code": code, "name": name, "root_unit": root}));
    audit::append(conn, entry).await?;
    Ok((org_id, root))
}

async fn insert_unit(
    conn: &mut AnyConnection,
    org_id: i64,
    parent: Option<i64>,
    code: &str,
    name: &str,
    kind: &str,
    sort_order: i64,
) -> DbResult<i64> {
    let now = now_text();
    sqlx::query_scalar(
        "INSERT INTO unit (org_id, parent_id, code, name, kind, sort_order, active, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $7) RETURNING id",
    )
    .bind(org_id)
    .bind(parent)
    .bind(code)
    .bind(name)
    .bind(kind)
    .bind(sort_order)
    .bind(now)
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| unique_violation(e, format!("組織コード {code}")))
}

/// Loads an organisation's unit tree.
pub async fn unit_tree(db: &Db, org: OrgId) -> DbResult<UnitTree> {
    let units: Vec<Unit> = sqlx::query_as(
        "SELECT id, org_id, parent_id, code, name, kind, sort_order, active FROM unit WHERE org_id = $1 ORDER BY sort_order, id",
    )
    .bind(org.0)
    .fetch_all(db.pool())
    .await?;
    Ok(UnitTree::new(units))
}

/// Fields of a new or edited unit.
#[derive(Debug, Clone)]
pub struct UnitInput {
    /// Parent unit.
    pub parent_id: i64,
    /// Code.
    pub code: String,
    /// Name.
    pub name: String,
    /// Kind code.
    pub kind: String,
    /// Order among siblings.
    pub sort_order: i64,
    /// In use.
    pub active: bool,
}

/// Creates a unit under a parent in the capability's organisation.
pub async fn create_unit<P: Permission>(
    conn: &mut AnyConnection,
    cap: &Capability<P>,
    ctx: &AuditCtx,
    input: &UnitInput,
) -> DbResult<i64> {
    ensure_unit_in_org(conn, cap.org(), input.parent_id).await?;
    let id = insert_unit(
        conn,
        cap.org().0,
        Some(input.parent_id),
        &input.code,
        &input.name,
        &input.kind,
        input.sort_order,
    )
    .await?;
    let mut entry = ctx.entry("unit.create", "unit", id);
    entry.unit_id = Some(id);
    entry.after = Some(
        json!({"parent_id": input.parent_id, "code": input.code, "name": input.name, "kind": input.kind}),
    );
    audit::append(conn, entry).await?;
    Ok(id)
}

/// Updates a unit's name, code, order, parent or state.
pub async fn update_unit<P: Permission>(
    conn: &mut AnyConnection,
    cap: &Capability<P>,
    ctx: &AuditCtx,
    id: i64,
    input: &UnitInput,
) -> DbResult<()> {
    let before: Unit = sqlx::query_as(
        "SELECT id, org_id, parent_id, code, name, kind, sort_order, active FROM unit WHERE id = $1 AND org_id = $2",
    )
    .bind(id)
    .bind(cap.org().0)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(DbError::NotFound)?;
    let parent = if before.parent_id.is_none() {
        None
    } else {
        Some(input.parent_id)
    };
    if let Some(p) = parent {
        ensure_unit_in_org(conn, cap.org(), p).await?;
    }
    sqlx::query(
        "UPDATE unit SET parent_id = $1, code = $2, name = $3, kind = $4, sort_order = $5, active = $6, updated_at = $7 \
         WHERE id = $8 AND org_id = $9",
    )
    .bind(parent)
    .bind(&input.code)
    .bind(&input.name)
    .bind(&input.kind)
    .bind(input.sort_order)
    .bind(i64::from(input.active))
    .bind(now_text())
    .bind(id)
    .bind(cap.org().0)
    .execute(&mut *conn)
    .await
    .map_err(|e| unique_violation(e, format!("組織コード {}", input.code)))?;
    let mut entry = ctx.entry("unit.update", "unit", id);
    entry.unit_id = Some(id);
    entry.before = Some(serde_json::to_value(&before)?);
    entry.after = Some(
        json!({"parent_id": parent, "code": input.code, "name": input.name, "kind": input.kind,
        "sort_order": input.sort_order, "active": input.active}),
    );
    audit::append(conn, entry).await?;
    Ok(())
}

async fn ensure_unit_in_org(conn: &mut AnyConnection, org: OrgId, unit: i64) -> DbResult<()> {
    let found: Option<i64> =
        sqlx::query_scalar("SELECT id FROM unit WHERE id = $1 AND org_id = $2")
            .bind(unit)
            .bind(org.0)
            .fetch_optional(&mut *conn)
            .await?;
    found.map(|_| ()).ok_or(DbError::NotFound)
}

/// Filters for the person list.
#[derive(Debug, Clone, Default)]
pub struct PersonFilter {
    /// Only persons whose primary unit is one of these.
    pub units: Option<Vec<i64>>,
    /// Substring of name, kana, login or staff number.
    pub q: Option<String>,
    /// `active` / `retired`.
    pub status: Option<String>,
    /// Employment type code.
    pub employment: Option<String>,
}

/// Lists persons of one organisation: a page (`offset`, `limit`) and the total count.
pub async fn list_persons(
    db: &Db,
    org: OrgId,
    filter: &PersonFilter,
    offset: i64,
    limit: i64,
) -> DbResult<(Vec<Person>, i64)> {
    let mut where_sql = String::from(" WHERE org_id = $1");
    let mut texts: Vec<String> = Vec::new();
    let mut n = 1;
    if let Some(units) = &filter.units {
        if units.is_empty() {
            return Ok((Vec::new(), 0));
        }
        let list: Vec<String> = units.iter().map(i64::to_string).collect();
        where_sql.push_str(&format!(" AND unit_id IN ({})", list.join(",")));
    }
    if let Some(q) = filter.q.as_deref().filter(|q| !q.is_empty()) {
        n += 1;
        where_sql.push_str(&format!(
            " AND (name LIKE ${n} ESCAPE '\\' OR name_kana LIKE ${n} ESCAPE '\\' OR login LIKE ${n} ESCAPE '\\' OR staff_no LIKE ${n} ESCAPE '\\')"
        ));
        texts.push(format!("%{}%", audit::escape_like(q)));
    }
    if let Some(s) = filter.status.as_deref().filter(|s| !s.is_empty()) {
        n += 1;
        where_sql.push_str(&format!(" AND status = ${n}"));
        texts.push(s.to_owned());
    }
    if let Some(s) = filter.employment.as_deref().filter(|s| !s.is_empty()) {
        n += 1;
        where_sql.push_str(&format!(" AND employment = ${n}"));
        texts.push(s.to_owned());
    }
    let count_sql = format!("SELECT COUNT(*) FROM person{where_sql}");
    let mut cq = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(count_sql)).bind(org.0);
    for t in &texts {
        cq = cq.bind(t.clone());
    }
    let total = cq.fetch_one(db.pool()).await?;
    if total <= offset {
        return Ok((Vec::new(), total));
    }
    // LIMIT and OFFSET are written into the text (numbers, never user text): SQLite re-plans a
    // cached statement on every run when they are bound parameters.
    let _ = n;
    let sql = format!(
        "SELECT {PERSON_COLUMNS} FROM person{where_sql} ORDER BY unit_id, staff_no, id LIMIT {} OFFSET {}",
        limit.max(0),
        offset.max(0)
    );
    let mut q = sqlx::query_as::<_, Person>(sqlx::AssertSqlSafe(sql)).bind(org.0);
    for t in texts {
        q = q.bind(t);
    }
    let rows = q.fetch_all(db.pool()).await?;
    Ok((rows, total))
}

/// Every person of an organisation (active and retired), in list order.
pub async fn all_persons(db: &Db, org: OrgId) -> DbResult<Vec<Person>> {
    let sql = format!(
        "SELECT {PERSON_COLUMNS} FROM person WHERE org_id = $1 ORDER BY unit_id, staff_no, id"
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(org.0)
        .fetch_all(db.pool())
        .await?)
}

/// [`list_persons`] over persons already in memory (from [`all_persons`], in its order): the
/// same filters, the same page, the same total. The substring search ignores ASCII case.
pub fn filter_persons<'a>(
    persons: &'a [Person],
    filter: &PersonFilter,
    offset: i64,
    limit: i64,
) -> (Vec<&'a Person>, i64) {
    let q = filter
        .q
        .as_deref()
        .filter(|q| !q.is_empty())
        .map(str::to_ascii_lowercase);
    let hit = |p: &&Person| {
        filter.units.as_ref().is_none_or(|u| u.contains(&p.unit_id))
            && filter
                .status
                .as_deref()
                .filter(|s| !s.is_empty())
                .is_none_or(|s| p.status == s)
            && filter
                .employment
                .as_deref()
                .filter(|s| !s.is_empty())
                .is_none_or(|s| p.employment == s)
            && q.as_deref().is_none_or(|q| {
                [
                    p.name.as_str(),
                    p.name_kana.as_str(),
                    p.login.as_str(),
                    p.staff_no.as_deref().unwrap_or(""),
                ]
                .iter()
                .any(|f| f.to_ascii_lowercase().contains(q))
            })
    };
    let matching: Vec<&Person> = persons.iter().filter(hit).collect();
    let total = i64::try_from(matching.len()).unwrap_or(i64::MAX);
    let skip = usize::try_from(offset.max(0)).unwrap_or(usize::MAX);
    let take = usize::try_from(limit.max(0)).unwrap_or(0);
    (matching.into_iter().skip(skip).take(take).collect(), total)
}

/// One person of an organisation.
pub async fn person(db: &Db, org: OrgId, id: i64) -> DbResult<Person> {
    let sql = format!("SELECT {PERSON_COLUMNS} FROM person WHERE id = $1 AND org_id = $2");
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(org.0)
        .fetch_optional(db.pool())
        .await?
        .ok_or(DbError::NotFound)
}

/// A person by login, in any organisation (for logging in).
pub async fn person_by_login(db: &Db, login: &str) -> DbResult<Option<Person>> {
    let sql = format!("SELECT {PERSON_COLUMNS} FROM person WHERE login = $1");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(login)
        .fetch_optional(db.pool())
        .await?)
}

/// Fields of a new or edited person.
#[derive(Debug, Clone, Serialize)]
pub struct PersonInput {
    /// Login.
    pub login: String,
    /// 職員番号.
    pub staff_no: Option<String>,
    /// Name.
    pub name: String,
    /// Reading.
    pub name_kana: String,
    /// Primary unit.
    pub unit_id: i64,
    /// Employment type code.
    pub employment: String,
    /// Mail.
    pub email: String,
    /// Phone.
    pub phone: String,
    /// Status code.
    pub status: String,
}

/// Creates a person in the capability's organisation; the unit must be within its reach.
pub async fn create_person<P: Permission>(
    conn: &mut AnyConnection,
    cap: &Capability<P>,
    ctx: &AuditCtx,
    input: &PersonInput,
    password_hash: Option<&str>,
) -> DbResult<i64> {
    ensure_unit_in_org(conn, cap.org(), input.unit_id).await?;
    let now = now_text();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO person (org_id, login, staff_no, name, name_kana, unit_id, employment, email, phone, status, \
         password_hash, must_change_password, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13) RETURNING id",
    )
    .bind(cap.org().0)
    .bind(&input.login)
    .bind(&input.staff_no)
    .bind(&input.name)
    .bind(&input.name_kana)
    .bind(input.unit_id)
    .bind(&input.employment)
    .bind(&input.email)
    .bind(&input.phone)
    .bind(&input.status)
    .bind(password_hash)
    .bind(0_i64)
    .bind(now)
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| unique_violation(e, format!("ログインID {} または職員番号", input.login)))?;
    let mut entry = ctx.entry("person.create", "person", id);
    entry.unit_id = Some(input.unit_id);
    entry.after = Some(serde_json::to_value(input)?);
    audit::append(conn, entry).await?;
    Ok(id)
}

/// Updates a person's record (not credentials).
pub async fn update_person<P: Permission>(
    conn: &mut AnyConnection,
    cap: &Capability<P>,
    ctx: &AuditCtx,
    id: i64,
    input: &PersonInput,
) -> DbResult<()> {
    let sql = format!("SELECT {PERSON_COLUMNS} FROM person WHERE id = $1 AND org_id = $2");
    let before: Person = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(cap.org().0)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(DbError::NotFound)?;
    ensure_unit_in_org(conn, cap.org(), input.unit_id).await?;
    sqlx::query(
        "UPDATE person SET login = $1, staff_no = $2, name = $3, name_kana = $4, unit_id = $5, employment = $6, \
         email = $7, phone = $8, status = $9, updated_at = $10 WHERE id = $11 AND org_id = $12",
    )
    .bind(&input.login)
    .bind(&input.staff_no)
    .bind(&input.name)
    .bind(&input.name_kana)
    .bind(input.unit_id)
    .bind(&input.employment)
    .bind(&input.email)
    .bind(&input.phone)
    .bind(&input.status)
    .bind(now_text())
    .bind(id)
    .bind(cap.org().0)
    .execute(&mut *conn)
    .await
    .map_err(|e| unique_violation(e, format!("ログインID {} または職員番号", input.login)))?;
    if input.status == "retired" && before.status != "retired" {
        // A person who leaves can no longer sign in anywhere.
        sqlx::query("DELETE FROM session WHERE person_id = $1")
            .bind(id)
            .execute(&mut *conn)
            .await?;
        sqlx::query(
            "UPDATE api_token SET revoked_at = $1 WHERE person_id = $2 AND revoked_at IS NULL",
        )
        .bind(now_text())
        .bind(id)
        .execute(&mut *conn)
        .await?;
    }
    let mut entry = ctx.entry("person.update", "person", id);
    entry.unit_id = Some(input.unit_id);
    entry.before = Some(serde_json::to_value(&before)?);
    entry.after = Some(serde_json::to_value(input)?);
    audit::append(conn, entry).await?;
    Ok(())
}

/// Assignments of one person, current and past, newest first.
pub async fn assignments_of(db: &Db, org: OrgId, person: i64) -> DbResult<Vec<Assignment>> {
    let sql = format!(
        "SELECT {ASSIGNMENT_COLUMNS} FROM role_assignment WHERE org_id = $1 AND person_id = $2 ORDER BY valid_from DESC, id DESC"
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(org.0)
        .bind(person)
        .fetch_all(db.pool())
        .await?)
}

/// Every assignment of an organisation in force on `day`.
pub async fn assignments_in_force(db: &Db, org: OrgId, day: &str) -> DbResult<Vec<Assignment>> {
    let sql = format!(
        "SELECT {ASSIGNMENT_COLUMNS} FROM role_assignment WHERE org_id = $1 AND valid_from <= $2 \
         AND (valid_to IS NULL OR valid_to >= $2) ORDER BY unit_id, role, id"
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(org.0)
        .bind(day)
        .fetch_all(db.pool())
        .await?)
}

/// A new role assignment.
#[derive(Debug, Clone, Serialize)]
pub struct AssignmentInput {
    /// Person.
    pub person_id: i64,
    /// Role.
    pub role: Role,
    /// Unit.
    pub unit_id: i64,
    /// First day.
    pub valid_from: String,
    /// Last day.
    pub valid_to: Option<String>,
    /// Note.
    pub note: String,
}

/// Grants a role.
pub async fn create_assignment<P: Permission>(
    conn: &mut AnyConnection,
    cap: &Capability<P>,
    ctx: &AuditCtx,
    input: &AssignmentInput,
) -> DbResult<i64> {
    ensure_unit_in_org(conn, cap.org(), input.unit_id).await?;
    let owner: Option<i64> =
        sqlx::query_scalar("SELECT id FROM person WHERE id = $1 AND org_id = $2")
            .bind(input.person_id)
            .bind(cap.org().0)
            .fetch_optional(&mut *conn)
            .await?;
    owner.ok_or(DbError::NotFound)?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO role_assignment (org_id, person_id, role, unit_id, valid_from, valid_to, note, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(cap.org().0)
    .bind(input.person_id)
    .bind(input.role.code())
    .bind(input.unit_id)
    .bind(&input.valid_from)
    .bind(&input.valid_to)
    .bind(&input.note)
    .bind(now_text())
    .fetch_one(&mut *conn)
    .await?;
    let mut entry = ctx.entry("assignment.create", "role_assignment", id);
    entry.unit_id = Some(input.unit_id);
    entry.after = Some(serde_json::to_value(input)?);
    audit::append(conn, entry).await?;
    Ok(id)
}

/// Ends an assignment on `last_day` (history is kept, never deleted).
pub async fn end_assignment<P: Permission>(
    conn: &mut AnyConnection,
    cap: &Capability<P>,
    ctx: &AuditCtx,
    id: i64,
    last_day: &str,
) -> DbResult<Assignment> {
    let sql =
        format!("SELECT {ASSIGNMENT_COLUMNS} FROM role_assignment WHERE id = $1 AND org_id = $2");
    let before: Assignment = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(cap.org().0)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(DbError::NotFound)?;
    sqlx::query("UPDATE role_assignment SET valid_to = $1 WHERE id = $2 AND org_id = $3")
        .bind(last_day)
        .bind(id)
        .bind(cap.org().0)
        .execute(&mut *conn)
        .await?;
    let mut entry = ctx.entry("assignment.end", "role_assignment", id);
    entry.unit_id = Some(before.unit_id);
    entry.before = Some(serde_json::to_value(&before)?);
    entry.after = Some(json!({"valid_to": last_day}));
    audit::append(conn, entry).await?;
    Ok(before)
}

/// One assignment.
pub async fn assignment(db: &Db, org: OrgId, id: i64) -> DbResult<Assignment> {
    let sql =
        format!("SELECT {ASSIGNMENT_COLUMNS} FROM role_assignment WHERE id = $1 AND org_id = $2");
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(org.0)
        .fetch_optional(db.pool())
        .await?
        .ok_or(DbError::NotFound)
}

/// Builds the [`Actor`] for a person from the roles in force on `day`.
pub async fn actor(db: &Db, person: &Person, tree: &UnitTree, day: &str) -> DbResult<Actor> {
    let sql = format!(
        "SELECT {ASSIGNMENT_COLUMNS} FROM role_assignment WHERE person_id = $1 AND org_id = $2 AND valid_from <= $3 \
         AND (valid_to IS NULL OR valid_to >= $3)"
    );
    let rows: Vec<Assignment> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(person.id)
        .bind(person.org_id)
        .bind(day)
        .fetch_all(db.pool())
        .await?;
    Ok(actor_from(person, tree, rows.iter()))
}

/// Builds the [`Actor`] for a person from assignments already loaded (those of other people
/// and those not in force are skipped by the caller or ignored here by person id).
pub fn actor_from<'a>(
    person: &Person,
    tree: &UnitTree,
    rows: impl Iterator<Item = &'a Assignment>,
) -> Actor {
    let mut held: Vec<Held> = rows
        .filter(|a| a.person_id == person.id)
        .filter_map(|a| {
            let role: Role = a.role.parse().ok()?;
            Some(Held {
                role,
                unit: UnitId(a.unit_id),
                body: tree.body_of(a.unit_id),
            })
        })
        .collect();
    // Everyone employed is 職員等 in their own unit, with or without an explicit assignment.
    if !held.iter().any(|h| h.role == Role::Staff) {
        held.push(Held {
            role: Role::Staff,
            unit: UnitId(person.unit_id),
            body: tree.body_of(person.unit_id),
        });
    }
    Actor {
        person: PersonId(person.id),
        org: OrgId(person.org_id),
        held,
    }
}

/// The organisation's change counter: the database bumps it on every change to its units or
/// role assignments (migration 2), so in-memory copies can tell they are stale.
pub async fn generation(db: &Db, org: OrgId) -> DbResult<i64> {
    sqlx::query_scalar("SELECT generation FROM organisation WHERE id = $1")
        .bind(org.0)
        .fetch_optional(db.pool())
        .await?
        .ok_or(DbError::NotFound)
}
