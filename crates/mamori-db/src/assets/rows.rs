//! Reading many assets at once — a whole register for an export, an import's plan or a rules
//! check — in pages ordered by one unique column (`a.id` or `a.asset_no`), so a register of any
//! size is never held twice.
//!
//! On SQLite each page comes back as one packed text (`crate::packed`) in [`ASSET_COLUMNS`]
//! order; PostgreSQL sends rows in bulk and is read as usual.

use sqlx::AnyConnection;

use super::{ASSET_COLUMNS, ASSET_FROM, Asset};
use crate::packed::Fields;
use crate::{Backend, Db, DbResult, Tx};

/// A read-only transaction whose reads all see one state of the database, so the pages of one
/// export or plan fit together even while others write: SQLite gives every transaction a
/// snapshot; PostgreSQL does so from `REPEATABLE READ` on.
pub(crate) async fn snapshot(db: &Db) -> DbResult<Tx> {
    let mut tx = db.pool().begin().await?;
    if db.backend() == Backend::Postgres {
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await?;
    }
    Ok(tx)
}

/// The key a page continues after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum After {
    /// Before the first row.
    Start,
    /// After this id (pages ordered by `a.id`).
    Id(i64),
    /// After this 資産番号 (pages ordered by `a.asset_no`; unique in an organisation).
    Number(String),
}

/// How pages are ordered: by id or by 資産番号.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Order {
    /// `a.id`.
    Id,
    /// `a.asset_no`.
    Number,
}

impl Order {
    fn column(self) -> &'static str {
        match self {
            Order::Id => "a.id",
            Order::Number => "a.asset_no",
        }
    }

    /// The key the next page continues after.
    fn after(self, last: &Asset) -> After {
        match self {
            Order::Id => After::Id(last.id),
            Order::Number => After::Number(last.asset_no.clone()),
        }
    }
}

/// The assets matching a filter, read page after page (see [`page`]).
pub(crate) struct Pages<'a> {
    org: i64,
    filter: &'a str,
    texts: &'a [String],
    order: Order,
    after: After,
    limit: usize,
    done: bool,
}

impl<'a> Pages<'a> {
    /// Pages of at most `limit` assets of `org` matching `filter` (as for [`page`]), in `order`.
    pub(crate) fn new(
        org: i64,
        filter: &'a str,
        texts: &'a [String],
        order: Order,
        limit: usize,
    ) -> Pages<'a> {
        Pages {
            org,
            filter,
            texts,
            order,
            after: After::Start,
            limit,
            done: false,
        }
    }

    /// The next page; `None` after the last.
    pub(crate) async fn next(&mut self, conn: &mut AnyConnection) -> DbResult<Option<Vec<Asset>>> {
        if self.done {
            return Ok(None);
        }
        let page = page(
            conn,
            self.org,
            self.filter,
            self.texts,
            self.order,
            &self.after,
            self.limit,
        )
        .await?;
        self.done = page.len() < self.limit;
        match page.last() {
            Some(last) => self.after = self.order.after(last),
            None => return Ok(None),
        }
        Ok(Some(page))
    }
}

/// One page of the assets matching `filter` (a WHERE clause on `a` starting with
/// `a.org_id = $1`, its text values bound from `$2` on), ordered by `order`, after `after`.
async fn page(
    conn: &mut AnyConnection,
    org: i64,
    filter: &str,
    texts: &[String],
    order: Order,
    after: &After,
    limit: usize,
) -> DbResult<Vec<Asset>> {
    let n = texts.len() + 2;
    let continues = match after {
        After::Start => String::new(),
        After::Id(id) => format!(" AND a.id > {id}"),
        After::Number(_) => format!(" AND a.asset_no > ${n}"),
    };
    let column = order.column();
    let sqlite = crate::is_sqlite(conn);
    let inner = |select: &str| {
        format!(
            "SELECT {select} {ASSET_FROM}{filter}{continues} \
             ORDER BY {column} LIMIT {limit}"
        )
    };
    if !sqlite {
        let mut q = sqlx::query_as::<_, Asset>(sqlx::AssertSqlSafe(inner(ASSET_COLUMNS))).bind(org);
        for t in texts {
            q = q.bind(t.as_str());
        }
        if let After::Number(no) = after {
            q = q.bind(no.as_str());
        }
        return Ok(q.fetch_all(&mut *conn).await?);
    }
    let sql = format!(
        "SELECT group_concat(r, '' ORDER BY k) FROM ({})",
        inner(&format!(
            "{column} AS k, {} AS r",
            crate::packed::sqlite_record(ASSET_COLUMNS)
        ))
    );
    let mut q = sqlx::query_scalar::<_, Option<String>>(sqlx::AssertSqlSafe(sql)).bind(org);
    for t in texts {
        q = q.bind(t.as_str());
    }
    if let After::Number(no) = after {
        q = q.bind(no.as_str());
    }
    let packed = q.fetch_one(&mut *conn).await?.unwrap_or_default();
    unpack(&packed, limit)
}

/// The assets of one packed page, in [`ASSET_COLUMNS`] order.
fn unpack(packed: &str, capacity: usize) -> DbResult<Vec<Asset>> {
    let mut f = Fields::new(packed, "asset");
    let mut out = Vec::with_capacity(capacity);
    while !f.is_empty() {
        out.push(Asset {
            id: f.int()?,
            org_id: f.int()?,
            asset_no: f.text()?,
            name: f.text()?,
            business: f.text()?,
            kind: f.text()?,
            unit_id: f.int()?,
            manager_id: f.opt_int()?,
            manager_name: f.opt_text()?,
            medium: f.text()?,
            location: f.text()?,
            lockable: f.int()?,
            zone: f.opt_text()?,
            confidentiality: f.text()?,
            integrity: f.int()?,
            availability: f.int()?,
            personal: f.int()?,
            personal_count: f.opt_int()?,
            sensitive: f.int()?,
            my_number: f.int()?,
            users_scope: f.text()?,
            restrictions: f.text()?,
            retention: f.text()?,
            backup: f.text()?,
            contractor: f.text()?,
            exception_ref: f.text()?,
            last_reviewed: f.opt_text()?,
            note: f.text()?,
            triage: f.text()?,
            findings: f.text()?,
            status: f.text()?,
            disposed_on: f.opt_text()?,
            disposed_by: f.opt_int()?,
            disposal_method: f.text()?,
            version: f.int()?,
            created_at: f.text()?,
            updated_at: f.text()?,
        });
    }
    Ok(out)
}
