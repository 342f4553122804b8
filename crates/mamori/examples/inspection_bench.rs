//! The self-inspection benchmark's helper for `bench/inspection/run.sh` (figures, not a test):
//!
//! - `fill`: a fresh database with the demo organisation, grown to N active staff (default
//!   5,000) spread over its sections, and a campaign for 全職員 with Q questions (default 150),
//!   opened through the application (respondents fixed as in production), every respondent's
//!   answers written in bulk (N × Q rows) and submitted, and the tally rebuilt with the same
//!   `GROUP BY` a manual close runs;
//! - `time`: serves the application on 127.0.0.1 (port 0) and times, with a CISO session, the
//!   roll-up page (`/inspections/{id}/rollup`), the roll-up over the API, and the two xlsx
//!   exports, printing wall time and this process's CPU time per request (the server runs
//!   in-process; the client side is a plain socket read).
//!
//! ```text
//! cargo run --release --example inspection_bench -- fill --data-dir DIR
//! cargo run --release --example inspection_bench -- time --data-dir DIR --requests 20
//! ```

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use mamori::startup::{self, DbArgs};
use mamori_core::calendar::{format_iso, today_jst};
use mamori_core::inspection::{
    Group, MANAGER_QUESTIONS, STAFF_QUESTIONS, SYSTEM_MANAGER_QUESTIONS,
};
use mamori_core::org::OrgId;
use mamori_core::permission::{Capability, can};
use mamori_db::inspection::{self, CampaignInput};
use mamori_db::org::{self, AuditCtx};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const NAME: &str = "ベンチマーク 自己点検";

#[derive(Debug, Parser)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Build the campaign and its answers.
    Fill {
        #[command(flatten)]
        db: DbArgs,
        /// Respondents (active staff in total).
        #[arg(long, default_value_t = 5_000)]
        respondents: usize,
        /// Questions.
        #[arg(long, default_value_t = 150)]
        questions: usize,
    },
    /// Time the roll-up and the exports.
    Time {
        #[command(flatten)]
        db: DbArgs,
        /// Roll-up requests.
        #[arg(long, default_value_t = 20)]
        requests: usize,
        /// Export requests (each kind).
        #[arg(long, default_value_t = 3)]
        exports: usize,
    },
}

/// CPU time (user + system) this process has used so far.
fn cpu() -> Duration {
    let ticks = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            let rest = s.rsplit_once(')')?.1.to_owned();
            let f: Vec<&str> = rest.split_whitespace().collect();
            let u: u64 = f.get(11)?.parse().ok()?;
            let k: u64 = f.get(12)?.parse().ok()?;
            Some(u + k)
        })
        .unwrap_or(0);
    // Linux reports in clock ticks of 1/100 s (USER_HZ).
    Duration::from_millis(ticks * 10)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(at).copied().unwrap_or_default()
}

async fn get(addr: std::net::SocketAddr, path: &str, auth: &str) -> anyhow::Result<(u16, usize)> {
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n{auth}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await?;
    let status = std::str::from_utf8(response.get(9..12).unwrap_or_default())?.parse()?;
    Ok((status, response.len()))
}

async fn fill(db: &mamori_db::Db, respondents: usize, questions: usize) -> anyhow::Result<()> {
    let started = Instant::now();
    let loaded = mamori::demo::load(db, "Bench-Passw0rd-kyonan", 64).await?;
    let oid = OrgId(loaded.org_id);
    let org_id = loaded.org_id;
    let tree = org::unit_tree(db, oid).await?;
    let sections: Vec<i64> = tree
        .units()
        .iter()
        .filter(|u| u.kind == "section" || u.kind == "subsection")
        .map(|u| u.id)
        .collect();
    let active: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM person WHERE org_id = $1 AND status = 'active'")
            .bind(org_id)
            .fetch_one(db.pool())
            .await?;
    let extra = respondents.saturating_sub(usize::try_from(active)?);
    let now = mamori_db::now_text();
    let mut tx = db.begin_write().await?;
    for chunk in (0..extra).collect::<Vec<_>>().chunks(500) {
        let mut sql = String::from(
            "INSERT INTO person (org_id, login, staff_no, name, name_kana, unit_id, employment, email, phone, status, created_at, updated_at) VALUES ",
        );
        for (k, i) in chunk.iter().enumerate() {
            let unit = sections
                .get(i % sections.len().max(1))
                .copied()
                .unwrap_or(1);
            if k > 0 {
                sql.push(',');
            }
            let _ = write!(
                sql,
                "({org_id}, 'bench{i:05}', 'B{i:05}', '職員 {i:05}', 'しょくいん', {unit}, 'regular', '', '', 'active', '{now}', '{now}')"
            );
        }
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    // The campaign: the shipped questions repeated to the count wanted.
    let pool: Vec<_> = STAFF_QUESTIONS
        .iter()
        .chain(MANAGER_QUESTIONS)
        .chain(SYSTEM_MANAGER_QUESTIONS)
        .collect();
    let qs: Vec<(String, String)> = (0..questions)
        .filter_map(|i| {
            let q = pool.get(i % pool.len())?;
            Some((q.clause.to_owned(), format!("{}（{}）", q.text, i + 1)))
        })
        .collect();
    let ctx = AuditCtx {
        org_id: Some(org_id),
        actor: "bench".into(),
        ..AuditCtx::default()
    };
    let cap = Capability::<can::ManageInspections>::operator(oid);
    let today = today_jst();
    let mut tx = db.begin_write().await?;
    let input = CampaignInput {
        name: NAME.into(),
        fiscal_year: 2026,
        start_on: today,
        end_on: today + time::Duration::days(30),
        groups: vec![Group::Staff],
        units: Vec::new(),
    };
    let id = inspection::create(&mut tx, &cap, &ctx, &tree, &input)
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.message()))?;
    inspection::set_questions(&mut tx, &cap, &ctx, id, Group::Staff, &qs)
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.message()))?;
    let n = inspection::open(&mut tx, &cap, &ctx, &tree, id, today)
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.message()))?;
    tx.commit().await?;
    let rids: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM inspection_respondent WHERE campaign_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(db.pool())
    .await?;
    let qids: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM inspection_question WHERE campaign_id = $1 ORDER BY seq",
    )
    .bind(id)
    .fetch_all(db.pool())
    .await?;
    let codes = [
        "done", "done", "done", "done", "done", "done", "partial", "not_done", "na", "done",
    ];
    let mut written = 0usize;
    for block in rids.chunks(400) {
        let mut tx = db.begin_write().await?;
        for chunk in block.chunks(13) {
            let mut sql = String::with_capacity(200 * 13 * qids.len());
            sql.push_str("INSERT INTO inspection_answer (org_id, campaign_id, respondent_id, question_id, answer, comment, plan, due_on, updated_at) VALUES ");
            let mut first = true;
            for rid in chunk {
                for (k, qid) in qids.iter().enumerate() {
                    let idx = usize::try_from(rid * 31 + qid * 7).unwrap_or(0) + k;
                    let code = codes.get(idx % codes.len()).copied().unwrap_or("done");
                    let comment = if code == "done" {
                        ""
                    } else {
                        "手順の見直しが必要"
                    };
                    if !first {
                        sql.push(',');
                    }
                    first = false;
                    let _ = write!(
                        sql,
                        "({org_id}, {id}, {rid}, {qid}, '{code}', '{comment}', '', NULL, '{now}')"
                    );
                    written += 1;
                }
            }
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
    }
    let mut tx = db.begin_write().await?;
    sqlx::query(
        "UPDATE inspection_respondent SET status = 'submitted', submitted_at = $1, answered = $2 WHERE campaign_id = $3",
    )
    .bind(&now)
    .bind(i64::try_from(qids.len())?)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    let recount = Instant::now();
    inspection::recount(&mut tx, org_id, id).await?;
    let recount = recount.elapsed();
    tx.commit().await?;
    if db.backend() == mamori_db::Backend::Postgres {
        sqlx::query("ANALYZE").execute(db.pool()).await?;
    }
    println!(
        "fill: campaign {id}: {n} respondents × {} questions = {written} answers in {:.1?} (tally rebuilt by GROUP BY in {recount:.1?})",
        qids.len(),
        started.elapsed()
    );
    Ok(())
}

async fn time_it(db: &mamori_db::Db, requests: usize, exports: usize) -> anyhow::Result<()> {
    let person = org::person_by_login(db, "ciso")
        .await?
        .ok_or_else(|| anyhow::anyhow!("no demo CISO: run fill first"))?;
    let id = inspection::campaigns(db, OrgId(person.org_id))
        .await?
        .into_iter()
        .find(|c| c.name == NAME)
        .ok_or_else(|| anyhow::anyhow!("no benchmark campaign: run fill first"))?
        .id;
    // A logged-in CISO (second factor done), as the pages need.
    let cookie = format!("bench-session-{}", std::process::id());
    let mut tx = db.begin_write().await?;
    let expires = format_iso(today_jst() + time::Duration::days(1)) + "T00:00:00.000000Z";
    mamori_db::auth::create_session(
        &mut tx,
        &mamori_db::auth::secret_hash(&cookie),
        person.id,
        "bench-csrf",
        "full",
        &expires,
        "127.0.0.1",
    )
    .await?;
    tx.commit().await?;
    let ctx = AuditCtx {
        org_id: Some(person.org_id),
        actor: "bench".into(),
        ..AuditCtx::default()
    };
    let (_, token) = mamori_web::features::account::issue_token(db, &ctx, person.id, "bench")
        .await
        .map_err(|e| anyhow::anyhow!("token: {e}"))?;
    let page_auth = format!("Cookie: mamori_session={cookie}");
    let api_auth = format!("Authorization: Bearer {token}");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let app = mamori_web::build(db.clone(), mamori_web::AppConfig::default());
    let server = tokio::spawn(mamori_web::serve(listener, app, std::future::pending()));
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "load average before timing: {}",
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    let series = [
        (
            "roll-up page",
            format!("/inspections/{id}/rollup"),
            &page_auth,
            requests,
        ),
        (
            "roll-up API",
            format!("/api/v1/inspections/{id}/rollup"),
            &api_auth,
            requests,
        ),
        (
            "answers xlsx export",
            format!("/inspections/{id}/export/answers.xlsx"),
            &page_auth,
            exports,
        ),
        (
            "roll-up xlsx export",
            format!("/inspections/{id}/export/rollup.xlsx"),
            &page_auth,
            exports,
        ),
    ];
    for (name, path, auth, n) in series {
        // One request first (connections, caches), not counted.
        let (status, _) = get(addr, &path, auth).await?;
        anyhow::ensure!(status == 200, "{name}: HTTP {status}");
        let mut times = Vec::with_capacity(n);
        let mut cpus = Vec::with_capacity(n);
        let mut size = 0;
        for _ in 0..n {
            let (c0, t0) = (cpu(), Instant::now());
            let (status, len) = get(addr, &path, auth).await?;
            times.push(t0.elapsed());
            cpus.push(cpu().saturating_sub(c0));
            anyhow::ensure!(status == 200, "{name}: HTTP {status}");
            size = len;
        }
        times.sort();
        cpus.sort();
        println!(
            "{name}: {n} requests, wall p50 {:.1?} p95 {:.1?} max {:.1?}; CPU p50 {:.0?} max {:.0?}; {:.1} KB",
            percentile(&times, 0.5),
            percentile(&times, 0.95),
            times.last().copied().unwrap_or_default(),
            percentile(&cpus, 0.5),
            cpus.last().copied().unwrap_or_default(),
            size as f64 / 1024.0
        );
    }
    server.abort();
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Args::parse().command {
        Command::Fill {
            db,
            respondents,
            questions,
        } => {
            let db = startup::open(&db).await?;
            fill(&db, respondents, questions).await
        }
        Command::Time {
            db,
            requests,
            exports,
        } => {
            let db = startup::open(&db).await?;
            time_it(&db, requests, exports).await
        }
    }
}
