//! Fills the audit trail with many entries for `bench/audit/run.sh`: the same
//! `mamori_db::audit::append_many` the application's bulk changes use, 20,000 entries per
//! transaction, so that a million entries take a minute or two instead of a million commits (and
//! three million round trips on PostgreSQL).
//!
//!     cargo run --release --example audit_fill -- --data-dir DIR --entries 1000000

use std::time::Instant;

use clap::Parser;
use mamori::startup::{self, DbArgs};
use mamori_db::audit::{self, NewEntry};
use serde_json::json;

/// Entries appended per transaction.
const BATCH: u64 = 20_000;

#[derive(Debug, Parser)]
struct Args {
    #[command(flatten)]
    db: DbArgs,
    /// How many entries to append.
    #[arg(long, default_value_t = 1_000_000)]
    entries: u64,
}

/// A mix resembling daily use: logins, page-level reads of sensitive data, and edits that carry
/// the object's state before and after.
fn entry(i: u64) -> NewEntry {
    let person = i64::try_from(i % 41).unwrap_or(0) + 1;
    let request_id = Some(format!("bench-{i:016x}"));
    match i % 10 {
        0..=5 => NewEntry {
            org_id: Some(1),
            actor_id: Some(person),
            actor: format!("user{person}"),
            action: "login.success".into(),
            object_type: "session".into(),
            request_id,
            ..NewEntry::default()
        },
        6..=7 => NewEntry {
            org_id: Some(1),
            actor_id: Some(person),
            actor: format!("user{person}"),
            action: "audit.export".into(),
            object_type: "audit".into(),
            object_id: Some("csv".into()),
            request_id,
            ..NewEntry::default()
        },
        _ => NewEntry {
            org_id: Some(1),
            actor_id: Some(1),
            actor: "ciso".into(),
            unit_id: Some(3),
            action: "person.update".into(),
            object_type: "person".into(),
            object_id: Some(person.to_string()),
            before: Some(json!({"name": "望月 正和", "unit": "jimu-somu", "phone": "内線 2101"})),
            after: Some(
                json!({"name": "望月 正和", "unit": "jimu-somu-joho", "phone": "内線 2150"}),
            ),
            request_id,
        },
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let db = startup::open(&args.db).await?;
    let started = Instant::now();
    let mut done = 0;
    while done < args.entries {
        let n = BATCH.min(args.entries - done);
        let mut tx = db.begin_write().await?;
        audit::append_many(&mut tx, (done..done + n).map(entry).collect()).await?;
        tx.commit().await?;
        done += n;
    }
    println!(
        "{done} entries appended in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    db.close().await;
    Ok(())
}
