//! The asset register benchmark's helper for `bench/assets/run.sh` (figures, not a test):
//!
//! - `setup`: a fresh database with the demo organisation (its units, 管理者 and ~200 assets);
//! - `generate`: a workbook of N realistic assets (default 100,000) in the register's columns,
//!   spread over the demo's units with each unit's own 管理者, so every row passes the rules;
//! - `list`: serves the application on 127.0.0.1 (port 0) and times filtered list requests,
//!   the API (`GET /api/v1/assets?unit=…&confidentiality=…&q=…`, personal API token) and the
//!   page (`GET /inventory?…`, a logged-in session), printing p50/p95/max of each; the first
//!   request and the requests after a person changed or the stored check was cleared (the rules
//!   re-check) are timed on their own.
//!
//! The import and export themselves are timed by `run.sh` through the real CLI in fresh
//! processes (`mamori assets import` / `export` under `/usr/bin/time -v`).
//!
//!     cargo run --release --example assets_bench -- setup --data-dir DIR
//!     cargo run --release --example assets_bench -- generate --rows 100000 --out assets.xlsx
//!     cargo run --release --example assets_bench -- list --data-dir DIR --requests 200

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use mamori::startup::{self, DbArgs};
use mamori_db::assets::io::COLUMNS;
use mamori_tabular::ExportTable;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Debug, Parser)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Migrate and load the demo organisation.
    Setup {
        #[command(flatten)]
        db: DbArgs,
    },
    /// Write a workbook of generated assets.
    Generate {
        /// How many assets.
        #[arg(long, default_value_t = 100_000)]
        rows: usize,
        /// The xlsx file to write.
        #[arg(long)]
        out: PathBuf,
    },
    /// Time filtered list requests against a served application.
    List {
        #[command(flatten)]
        db: DbArgs,
        /// How many requests.
        #[arg(long, default_value_t = 200)]
        requests: usize,
    },
}

/// (unit code, its 管理者's login): the demo's units and the person holding 管理者 there.
const UNITS: [(&str, &str); 15] = [
    ("jimu-somu", "tokatsu"),
    ("jimu-somu-somu", "tokatsu"),
    ("jimu-somu-joho", "tokatsu"),
    ("jimu-zaimu", "zaimu.kacho"),
    ("jimu-zaimu-keiri", "zaimu.kacho"),
    ("jimu-gyomu", "gyomu.kacho"),
    ("shobo-somu", "shobo.somu.kacho"),
    ("shobo-keibo", "keibo.kacho"),
    ("shobo-yobo", "yobo.kacho"),
    ("shobo-shirei", "shirei.kacho"),
    ("shobo-minobu", "minobu.shocho"),
    ("shobo-kajikazawa", "kajikazawa.shocho"),
    ("jiseien-kanri", "jiseien.kanri"),
    ("jiseien-shien", "shien.kakaricho"),
    ("jiseien-kango", "kango.kakaricho"),
];

/// Register words the generated names are made of.
const SUBJECTS: [&str; 12] = [
    "住民記録",
    "介護記録",
    "救急活動記録",
    "予算書",
    "支出命令書",
    "防火対象物台帳",
    "職員名簿",
    "給与支給データ",
    "施設使用許可申請書",
    "議会資料",
    "入札関係書類",
    "健康診断結果",
];

/// One generated asset, in [`COLUMNS`] order. The mix follows a register: two in five are
/// paper, the rest electronic information, systems, equipment and media; personal data where
/// the subject has it; マイナンバー only in its own zone; 3B and above never on the internet.
fn asset(i: usize) -> Vec<String> {
    let (unit, manager) = UNITS.get(i % UNITS.len()).copied().unwrap_or(UNITS[0]);
    let subject = SUBJECTS
        .get(i / 7 % SUBJECTS.len())
        .copied()
        .unwrap_or("台帳");
    let year = 2016 + i % 10;
    let (kind, medium, zone) = match i % 10 {
        0..=3 => ("情報（紙）", "紙", ""),
        4..=6 => ("情報（電子）", "電子ファイル", "LGWAN接続系"),
        7 => ("情報システム", "DB・システム", "LGWAN接続系"),
        8 => ("機器", "DB・システム", "LGWAN接続系"),
        _ => ("電磁的記録媒体", "記録媒体", ""),
    };
    let my_number = i.is_multiple_of(97) && kind == "情報（電子）";
    let zone = if my_number {
        "マイナンバー利用事務系"
    } else {
        zone
    };
    let conf = match i % 5 {
        0 => "自治体機密性3B",
        1 | 2 => "自治体機密性3C",
        3 => "自治体機密性2",
        _ => "自治体機密性1",
    };
    let personal = my_number || (conf != "自治体機密性1" && !i.is_multiple_of(3));
    let count = if personal {
        ((i * 37) % 20_000 + 10).to_string()
    } else {
        String::new()
    };
    let restrictions = match conf {
        "自治体機密性3B" => "関係者限り・複製禁止・持出禁止・暗号化必須",
        "自治体機密性3C" => "関係者限り・持出禁止",
        _ => "",
    };
    let yes_no = |b: bool| if b { "有" } else { "無" }.to_owned();
    vec![
        format!("G-{i:06}"),
        format!("{subject} {year}年度 第{}号", i % 50 + 1),
        format!("{subject}事務"),
        kind.to_owned(),
        unit.to_owned(),
        manager.to_owned(),
        medium.to_owned(),
        format!("{unit} 書庫（施錠） 棚{}", i % 40 + 1),
        "有".to_owned(),
        zone.to_owned(),
        conf.to_owned(),
        if i.is_multiple_of(2) { "2" } else { "1" }.to_owned(),
        if i.is_multiple_of(3) { "2" } else { "1" }.to_owned(),
        yes_no(personal),
        count,
        yes_no(personal && i.is_multiple_of(11)),
        yes_no(my_number),
        "所管課の職員".to_owned(),
        restrictions.to_owned(),
        format!("{}年", 3 + i % 8),
        if kind == "情報システム" {
            "日次"
        } else {
            ""
        }
        .to_owned(),
        if i.is_multiple_of(13) {
            "保守委託事業者"
        } else {
            ""
        }
        .to_owned(),
        String::new(),
        format!("2026-{:02}-{:02}", 4 + i % 6, 1 + i % 28),
        if i.is_multiple_of(17) {
            "令和8年度に見直し予定"
        } else {
            ""
        }
        .to_owned(),
    ]
}

/// Peak resident memory of this process (VmHWM), in MiB.
fn peak_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// How a request proves who is asking: a personal API token, or a page session's cookie.
enum Auth {
    Bearer(String),
    Cookie(String),
}

/// The load average (1, 5, 15 minutes), for the figures' context.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

async fn get(addr: std::net::SocketAddr, path: &str, auth: &Auth) -> anyhow::Result<(u16, usize)> {
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    let header = match auth {
        Auth::Bearer(token) => format!("Authorization: Bearer {token}"),
        Auth::Cookie(value) => format!("Cookie: mamori_session={value}"),
    };
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n{header}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await?;
    let status = std::str::from_utf8(response.get(9..12).unwrap_or_default())?.parse()?;
    Ok((status, response.len()))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(at).copied().unwrap_or_default()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Args::parse().command {
        Command::Setup { db } => {
            let db = startup::open(&db).await?;
            let loaded = mamori::demo::load(&db, "Bench-Passw0rd-kyonan", 64).await?;
            println!(
                "setup: demo organisation loaded ({} people and its register)",
                loaded.people
            );
        }
        Command::Generate { rows, out } => {
            let started = Instant::now();
            let mut table = ExportTable::from_schema("情報資産管理台帳", &COLUMNS);
            table.rows.reserve(rows);
            for i in 0..rows {
                table.push(asset(i));
            }
            let bytes =
                mamori_tabular::write_xlsx(&table).map_err(|e| anyhow::anyhow!("generate: {e}"))?;
            std::fs::write(&out, &bytes)?;
            println!(
                "generate: {rows} assets, {:.1} MB xlsx in {:.2?}",
                bytes.len() as f64 / 1e6,
                started.elapsed()
            );
        }
        Command::List { db, requests } => {
            let db = startup::open(&db).await?;
            let person = mamori_db::org::person_by_login(&db, "ciso")
                .await?
                .ok_or_else(|| anyhow::anyhow!("no demo CISO: run setup first"))?;
            let ctx = mamori_db::org::AuditCtx {
                org_id: Some(person.org_id),
                actor: "bench".into(),
                ..Default::default()
            };
            let (_, token) =
                mamori_web::features::account::issue_token(&db, &ctx, person.id, "bench")
                    .await
                    .map_err(|e| anyhow::anyhow!("token: {e}"))?;
            let tree =
                mamori_db::org::unit_tree(&db, mamori_core::org::OrgId(person.org_id)).await?;
            let unit = |code: &str| tree.by_code(code).map(|u| u.id).unwrap_or(0);
            let queries = [
                format!(
                    "unit={}&confidentiality=3C&q=%E5%8F%B0%E5%B8%B3",
                    unit("shobo")
                ),
                format!(
                    "unit={}&confidentiality=3B&q=%E8%A8%98%E9%8C%B2",
                    unit("jimu")
                ),
                format!("unit={}&confidentiality=2&q=2021", unit("jiseien")),
                format!("unit={}&q=G-0123", unit("jimu-zaimu")),
            ];
            // A logged-in CISO (second factor done), as the list page needs.
            let cookie = format!("bench-session-{}", std::process::id());
            let expires = mamori_core::calendar::format_iso(
                mamori_core::calendar::today_jst() + time::Duration::days(1),
            ) + "T00:00:00.000000Z";
            let mut tx = db.begin_write().await?;
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
            let api = Auth::Bearer(token);
            let page = Auth::Cookie(cookie);
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            let addr = listener.local_addr()?;
            let app = mamori_web::build(db.clone(), mamori_web::AppConfig::default());
            let server = tokio::spawn(mamori_web::serve(listener, app, std::future::pending()));
            println!("list: load average before timing {}", load_average());
            // The first request after the import checks the rules for the day (ensure_checked);
            // it is timed on its own, and so are the two later kinds of re-check a user may
            // meet: after a change to a person (every TOTP login is one), and after the stored
            // check was thrown away (as if roles had changed).
            let first = Instant::now();
            let (status, _) = get(addr, "/api/v1/assets?per_page=50", &api).await?;
            println!(
                "list: first request (rules check for the day) {:.2?}, HTTP {status}",
                first.elapsed()
            );
            sqlx::query("UPDATE person SET updated_at = updated_at WHERE id = $1")
                .bind(person.id)
                .execute(db.pool())
                .await?;
            let t = Instant::now();
            let (status, _) = get(addr, "/api/v1/assets?per_page=50", &api).await?;
            println!(
                "list: first request after a person changed (generation moved) {:.2?}, HTTP {status}",
                t.elapsed()
            );
            sqlx::query("UPDATE organisation SET asset_rules_key = '' WHERE id = $1")
                .bind(person.org_id)
                .execute(db.pool())
                .await?;
            let t = Instant::now();
            let (status, _) = get(addr, "/api/v1/assets?per_page=50", &api).await?;
            println!(
                "list: first request after the stored check was cleared {:.2?}, HTTP {status}",
                t.elapsed()
            );
            for (what, path, auth) in [
                ("API GET /api/v1/assets", "/api/v1/assets", &api),
                ("page GET /inventory", "/inventory", &page),
            ] {
                let mut times = Vec::with_capacity(requests);
                let mut bytes = 0;
                for n in 0..requests {
                    let q = queries.get(n % queries.len()).cloned().unwrap_or_default();
                    let started = Instant::now();
                    let (status, len) = get(addr, &format!("{path}?{q}"), auth).await?;
                    times.push(started.elapsed());
                    anyhow::ensure!(status == 200, "HTTP {status} for {path}?{q}");
                    bytes += len;
                }
                times.sort();
                println!(
                    "list: {what}: {requests} filtered requests (unit + confidentiality + q), p50 {:.1?}, p95 {:.1?}, max {:.1?}, {} KB answered",
                    percentile(&times, 0.50),
                    percentile(&times, 0.95),
                    times.last().copied().unwrap_or_default(),
                    bytes / 1024
                );
            }
            println!("list: load average after timing {}", load_average());
            server.abort();
        }
    }
    eprintln!("peak RSS of this helper: {:.0} MiB", peak_mib());
    Ok(())
}
