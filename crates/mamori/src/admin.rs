//! The subcommands that run against the database: `serve`, `migrate`, `org`, `user add`,
//! `token create`, `audit verify`, `backup`, `restore`, `policy import`.

use std::io::BufRead;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, anyhow, bail};
use mamori_core::org::{EmploymentType, Login, OrgId, UnitCode};
use mamori_core::permission::{Capability, can};
use mamori_core::role::Role;
use mamori_db::org::{self, AssignmentInput, AuditCtx, Organisation, PersonInput};
use mamori_db::{Db, audit};
use mamori_web::{AppConfig, AppState};

use crate::cli::ServeArgs;
use crate::demo;
use crate::startup::{self, DbArgs, Server};

/// Largest policy text accepted by `policy import`.
const MAX_POLICY_BYTES: u64 = 4 * 1024 * 1024;

/// `mamori serve`.
pub async fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let mailer = args.mail.mailer()?;
    let db = startup::open(&args.db).await?;
    let config = AppConfig {
        secure_cookies: args.secure_cookies,
        mail: mailer.as_ref().map(|m| m.smtp.clone()),
        public_url: args.mail.public_url.clone(),
        ..AppConfig::default()
    };
    let demo_password = if args.demo {
        Some(demo_password(&args.db)?)
    } else {
        None
    };
    if let Some(password) = &demo_password {
        let loaded = demo::load(&db, password, config.argon2_memory_kib).await?;
        if loaded.created {
            tracing::info!(people = loaded.people, "demo organisation loaded");
        }
    }
    let server = Server::bind(db.clone(), config, &args.listen).await?;
    let base = format!("http://{}", server.addr);
    if let Some(password) = &demo_password {
        println!("{}", demo::login_help(&base, password));
    }
    println!(
        "mamori {} : {base}/ で待ち受けています (Ctrl-C で停止)",
        env!("CARGO_PKG_VERSION")
    );
    tracing::info!(addr = %server.addr, backend = ?db.backend(), "listening");
    let mail_task = match mailer {
        Some(settings) => {
            tracing::info!(host = %settings.smtp.host, port = settings.smtp.port, "mail delivery on");
            Some(mamori_web::mailer::spawn(db.clone(), settings))
        }
        None => {
            tracing::info!(
                "mail delivery off (no --smtp-url): tasks are shown on the home page only"
            );
            None
        }
    };
    server.run(startup::shutdown_signal()).await?;
    if let Some(task) = mail_task {
        task.abort();
    }
    db.close().await;
    tracing::info!("stopped");
    Ok(ExitCode::SUCCESS)
}

/// The demo password: `MAMORI_DEMO_PASSWORD` when set, else one generated at the first demo
/// start and kept (owner-only) in the data directory so later starts can show it again.
fn demo_password(args: &DbArgs) -> anyhow::Result<String> {
    if let Ok(p) = std::env::var("MAMORI_DEMO_PASSWORD")
        && !p.is_empty()
    {
        return Ok(p);
    }
    let file = args.data_dir.join("demo-password.txt");
    if let Ok(existing) = std::fs::read_to_string(&file) {
        let p = existing.trim().to_owned();
        if !p.is_empty() {
            return Ok(p);
        }
    }
    std::fs::create_dir_all(&args.data_dir)?;
    let generated = format!("Demo-{}", mamori_web::password::random_token(9));
    std::fs::write(&file, format!("{generated}\n"))
        .with_context(|| format!("{} を書き込めません", file.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600));
    }
    Ok(generated)
}

/// `mamori migrate`.
pub async fn migrate(args: &DbArgs) -> anyhow::Result<ExitCode> {
    let db = Db::connect(&args.url()).await?;
    let n = mamori_db::migrate::run(&db).await?;
    println!(
        "マイグレーションを {n} 件適用しました（最新: {}）",
        latest_schema()
    );
    db.close().await;
    Ok(ExitCode::SUCCESS)
}

fn latest_schema() -> i64 {
    mamori_db::migrate::MIGRATIONS
        .iter()
        .map(|m| m.version)
        .max()
        .unwrap_or(0)
}

fn cli_ctx(org_id: Option<i64>) -> AuditCtx {
    AuditCtx {
        org_id,
        actor_id: None,
        actor: "cli".to_owned(),
        request_id: None,
    }
}

/// Reads an import file given on the command line: its bytes and its name, or the problem in
/// Japanese (missing, unreadable, or larger than `max` bytes, checked before reading).
pub fn read_input_file(path: &Path, max: usize) -> Result<(Vec<u8>, String), String> {
    let size = std::fs::metadata(path)
        .map_err(|e| format!("{} を開けません（{e}）", path.display()))?
        .len();
    if !usize::try_from(size).is_ok_and(|s| s <= max) {
        return Err(format!(
            "ファイルが大きすぎます（{size}バイト。上限は{max}バイト）"
        ));
    }
    let bytes =
        std::fs::read(path).map_err(|e| format!("{} を読めません（{e}）", path.display()))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok((bytes, name))
}

/// The organisation named by `code`, or the only one when no code is given.
pub async fn resolve_org(db: &Db, code: Option<&str>) -> anyhow::Result<Organisation> {
    let all = org::organisations(db).await?;
    match code {
        Some(code) => all
            .into_iter()
            .find(|o| o.code == code)
            .ok_or_else(|| anyhow!("団体コード「{code}」の団体はありません")),
        None => match all.len() {
            0 => bail!("団体がありません。先に `mamori org create CODE NAME` で作成してください"),
            1 => all
                .into_iter()
                .next()
                .ok_or_else(|| anyhow!("団体がありません")),
            _ => bail!(
                "複数の団体があります。--org で指定してください: {}",
                all.iter()
                    .map(|o| o.code.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        },
    }
}

/// `mamori org create`.
pub async fn org_create(args: &DbArgs, code: &str, name: &str) -> anyhow::Result<ExitCode> {
    let code = UnitCode::parse(code)?;
    let name = mamori_core::text::normalize(name);
    if name.is_empty() {
        bail!("団体名を入力してください");
    }
    let db = startup::open(args).await?;
    let mut tx = db.begin_write().await?;
    let (org_id, _) =
        org::create_organisation(&mut tx, &cli_ctx(None), code.as_str(), &name).await?;
    tx.commit().await?;
    demo::store_shipped_policy(&db, org_id, &name, &cli_ctx(Some(org_id)), None).await?;
    println!("団体「{name}」（{code}）を作成しました");
    db.close().await;
    Ok(ExitCode::SUCCESS)
}

/// `mamori org list`.
pub async fn org_list(args: &DbArgs) -> anyhow::Result<ExitCode> {
    let db = startup::open(args).await?;
    for o in org::organisations(&db).await? {
        println!("{}\t{}", o.code, o.name);
    }
    db.close().await;
    Ok(ExitCode::SUCCESS)
}

/// Options of `mamori user add`.
#[derive(Debug, clap::Args)]
pub struct UserAddArgs {
    /// Login name (3–64 of a–z 0–9 . _ -).
    #[arg(long)]
    pub login: String,
    /// 氏名.
    #[arg(long)]
    pub name: String,
    /// 所属の組織コード (default: the organisation's root).
    #[arg(long)]
    pub unit: Option<String>,
    /// Role held in that unit (code or Japanese name: ciso, 統括, 管理者, staff …).
    #[arg(long, default_value = "staff")]
    pub role: String,
    /// Organisation code (needed only when several organisations share the database).
    #[arg(long)]
    pub org: Option<String>,
    /// 雇用形態 (regular, fiscal_year_appointed, temporary, reappointed, contractor).
    #[arg(long, default_value = "regular")]
    pub employment: String,
    /// Mail address.
    #[arg(long, default_value = "")]
    pub email: String,
    /// Ask for a new password at first login.
    #[arg(long)]
    pub must_change_password: bool,
    #[command(flatten)]
    pub db: DbArgs,
}

/// `mamori user add`: the password is the first line of standard input.
pub async fn user_add(args: UserAddArgs) -> anyhow::Result<ExitCode> {
    let login = Login::parse(&args.login)?;
    let role: Role = args
        .role
        .parse()
        .map_err(|_| anyhow!("役割「{}」はありません", args.role))?;
    let employment: EmploymentType = args.employment.parse()?;
    let name = mamori_core::text::normalize(&args.name);
    if name.is_empty() {
        bail!("氏名を入力してください");
    }
    let mut password = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut password)
        .context("標準入力からパスワードを読めません")?;
    let password = password.trim_end_matches(['\r', '\n']).to_owned();
    mamori_web::password::check_strength(&password, login.as_str()).map_err(|m| anyhow!(m))?;

    let db = startup::open(&args.db).await?;
    let organisation = resolve_org(&db, args.org.as_deref()).await?;
    let org_id = OrgId(organisation.id);
    let tree = org::unit_tree(&db, org_id).await?;
    let unit = match &args.unit {
        Some(code) => tree
            .by_code(code)
            .ok_or_else(|| anyhow!("組織コード「{code}」の所属はありません"))?,
        None => tree
            .root()
            .ok_or_else(|| anyhow!("団体の最上位組織がありません"))?,
    };
    let hash = mamori_web::password::hash(password, AppConfig::default().argon2_memory_kib)
        .await
        .map_err(|e| anyhow!("{e}"))?;
    let ctx = cli_ctx(Some(organisation.id));
    let mut tx = db.begin_write().await?;
    let person_id = org::create_person(
        &mut tx,
        &Capability::<can::EditPersons>::operator(org_id),
        &ctx,
        &PersonInput {
            login: login.as_str().to_owned(),
            staff_no: None,
            name: name.clone(),
            name_kana: String::new(),
            unit_id: unit.id,
            employment: employment.code().to_owned(),
            email: args.email.clone(),
            phone: String::new(),
            status: "active".to_owned(),
        },
        Some(&hash),
    )
    .await?;
    if args.must_change_password {
        mamori_db::auth::set_password_hash(&mut tx, person_id, &hash, true).await?;
    }
    let roles = if role == Role::Staff {
        vec![Role::Staff]
    } else {
        vec![Role::Staff, role]
    };
    for r in roles {
        org::create_assignment(
            &mut tx,
            &Capability::<can::EditAssignments>::operator(org_id),
            &ctx,
            &AssignmentInput {
                person_id,
                role: r,
                unit_id: unit.id,
                valid_from: mamori_web::session::today_jst(),
                valid_to: None,
                note: "mamori user add".to_owned(),
            },
        )
        .await?;
    }
    tx.commit().await?;
    let mfa = if role.requires_mfa() {
        "（初回ログイン時に二要素認証の登録が必要です）"
    } else {
        ""
    };
    println!(
        "利用者 {login}（{name}）を {} の {} として追加しました{mfa}",
        tree.full_name(unit.id),
        role.label_ja()
    );
    db.close().await;
    Ok(ExitCode::SUCCESS)
}

/// `mamori token create`: prints the token (it is stored only as a hash).
pub async fn token_create(args: &DbArgs, login: &str, name: &str) -> anyhow::Result<ExitCode> {
    let login = Login::parse(login)?;
    let db = startup::open(args).await?;
    let person = org::person_by_login(&db, login.as_str())
        .await?
        .ok_or_else(|| anyhow!("ログインID「{login}」の利用者はいません"))?;
    if person.status != "active" {
        bail!("ログインID「{login}」の利用者は退職済みです");
    }
    let ctx = cli_ctx(Some(person.org_id));
    let (_, token) = mamori_web::features::account::issue_token(&db, &ctx, person.id, name)
        .await
        .map_err(|e| anyhow!("{e}"))?;
    println!("{token}");
    db.close().await;
    Ok(ExitCode::SUCCESS)
}

/// `mamori audit verify`: 0 intact, 1 broken (naming the first broken entry).
pub async fn audit_verify(args: &DbArgs) -> anyhow::Result<ExitCode> {
    let db = startup::open(args).await?;
    let started = std::time::Instant::now();
    let v = audit::verify(&db).await?;
    let elapsed = started.elapsed();
    db.close().await;
    match v.first_break {
        None => {
            println!(
                "監査証跡は完全です: {} 件を検証しました ({:.2} 秒) / audit trail intact",
                v.entries,
                elapsed.as_secs_f64()
            );
            Ok(ExitCode::SUCCESS)
        }
        Some(b) => {
            println!(
                "監査証跡の改ざんを検出しました: 第 {} 件 / audit trail broken at {b}",
                b.seq()
            );
            Ok(ExitCode::from(1))
        }
    }
}

/// Name of the table that marks a file as a mamori backup.
const BACKUP_MARK: &str = "mamori_backup";

/// `mamori backup --out FILE`.
pub async fn backup(args: &DbArgs, out: &Path) -> anyhow::Result<ExitCode> {
    if !args.is_sqlite() {
        println!(
            "PostgreSQL のバックアップには pg_dump を使ってください / for PostgreSQL use:\n  \
             pg_dump --format=custom --file={} '{}'\n\
             復元 / restore: pg_restore --clean --if-exists --dbname='{}' {}",
            out.display(),
            startup::redact(&args.url()),
            startup::redact(&args.url()),
            out.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    if out.exists() {
        bail!("{} は既に存在します（上書きしません）", out.display());
    }
    if !args.sqlite_path().exists() {
        bail!("データベース {} がありません", args.sqlite_path().display());
    }
    let db = startup::open(args).await?;
    let target = out
        .to_str()
        .ok_or_else(|| anyhow!("バックアップ先のパスが UTF-8 ではありません"))?;
    // VACUUM INTO writes a consistent snapshot while the server keeps running.
    sqlx::query("VACUUM INTO $1")
        .bind(target)
        .execute(db.pool())
        .await
        .context("バックアップを書き込めません")?;
    db.close().await;
    // One plain connection (not the pool, which switches files to WAL): the backup stays a
    // single self-contained file.
    let mut snapshot = single_connection(target).await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "CREATE TABLE {BACKUP_MARK} (format BIGINT NOT NULL, schema_version BIGINT NOT NULL, created_at TEXT NOT NULL)"
    )))
    .execute(&mut snapshot)
    .await?;
    sqlx::query(
        "INSERT INTO mamori_backup (format, schema_version, created_at) VALUES (1, $1, $2)",
    )
    .bind(latest_schema())
    .bind(mamori_db::now_text())
    .execute(&mut snapshot)
    .await?;
    sqlx::Connection::close(snapshot).await?;
    let size = std::fs::metadata(out).map(|m| m.len()).unwrap_or(0);
    println!(
        "バックアップを書き込みました: {} ({size} バイト)",
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// `mamori restore FILE`: replaces the SQLite database with a backup (the server must be
/// stopped). The database being replaced is first saved beside it.
pub async fn restore(args: &DbArgs, file: &Path) -> anyhow::Result<ExitCode> {
    if !args.is_sqlite() {
        println!(
            "PostgreSQL へは pg_restore で復元してください / for PostgreSQL use:\n  \
             pg_restore --clean --if-exists --dbname='{}' {}",
            startup::redact(&args.url()),
            file.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    std::fs::create_dir_all(&args.data_dir)?;
    // Work on a copy inside the data directory: the file given is never modified, and the
    // live database is not touched until the copy has passed every check.
    let staging = args.data_dir.join("mamori.db.restoring");
    remove_with_sidecars(&staging)?;
    check_magic(file)?;
    std::fs::copy(file, &staging)
        .with_context(|| format!("{} を読み込めません", file.display()))?;
    if let Err(e) = check_backup(&staging, file).await {
        remove_with_sidecars(&staging)?;
        return Err(e);
    }
    let live = args.sqlite_path();
    if live.exists() {
        let keep = args.data_dir.join(format!(
            "mamori.db.before-restore-{}",
            mamori_db::now_text().replace([':', '.'], "")
        ));
        let db = Db::connect(&args.url()).await?;
        let keep_str = keep
            .to_str()
            .ok_or_else(|| anyhow!("データディレクトリのパスが UTF-8 ではありません"))?;
        sqlx::query("VACUUM INTO $1")
            .bind(keep_str)
            .execute(db.pool())
            .await
            .context("現在のデータベースを退避できません")?;
        db.close().await;
        println!("現在のデータベースを退避しました: {}", keep.display());
    }
    {
        let staging_str = staging
            .to_str()
            .ok_or_else(|| anyhow!("データディレクトリのパスが UTF-8 ではありません"))?;
        let mut staged = single_connection(staging_str).await?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP TABLE {BACKUP_MARK}")))
            .execute(&mut staged)
            .await?;
        sqlx::Connection::close(staged).await?;
    }
    for suffix in ["-wal", "-shm"] {
        let side = args
            .data_dir
            .join(format!("{}{suffix}", startup::SQLITE_FILE));
        if side.exists() {
            std::fs::remove_file(&side)?;
        }
    }
    std::fs::rename(&staging, &live)?;
    println!("復元しました: {} → {}", file.display(), live.display());
    Ok(ExitCode::SUCCESS)
}

fn check_magic(file: &Path) -> anyhow::Result<()> {
    use std::io::Read;
    let mut magic = [0u8; 16];
    let readable = std::fs::File::open(file)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok();
    if !readable || &magic != b"SQLite format 3\0" {
        bail!(
            "{} は mamori のバックアップではありません（SQLite ファイルではない）",
            file.display()
        );
    }
    Ok(())
}

fn remove_with_sidecars(path: &Path) -> anyhow::Result<()> {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let p = std::path::PathBuf::from(format!("{}{suffix}", path.display()));
        if p.exists() {
            std::fs::remove_file(&p)
                .with_context(|| format!("{} を削除できません", p.display()))?;
        }
    }
    Ok(())
}

/// One connection to a SQLite file, without the pool's WAL and other settings.
async fn single_connection(path: &str) -> anyhow::Result<mamori_db::AnyConnection> {
    sqlx::any::install_default_drivers();
    let conn = <mamori_db::AnyConnection as sqlx::Connection>::connect(&format!(
        "sqlite://{path}?mode=rw"
    ))
    .await
    .with_context(|| format!("{path} を開けません"))?;
    Ok(conn)
}

/// Refuses anything that is not a backup written by `mamori backup` of a schema this build
/// knows, or whose audit trail does not verify.
async fn check_backup(staged: &Path, file: &Path) -> anyhow::Result<()> {
    let path = staged
        .to_str()
        .ok_or_else(|| anyhow!("パスが UTF-8 ではありません"))?;
    let db = Db::connect(&format!("sqlite://{path}?mode=rw")).await?;
    let mark: Result<(i64, i64), sqlx::Error> =
        sqlx::query_as("SELECT format, schema_version FROM mamori_backup")
            .fetch_one(db.pool())
            .await;
    let result = match mark {
        Err(_) => Err(anyhow!(
            "{} は mamori のバックアップではありません（`mamori backup` で作成したファイルを指定してください）",
            file.display()
        )),
        Ok((format, _)) if format != 1 => Err(anyhow!("未知のバックアップ形式です ({format})")),
        Ok((_, schema)) if schema > latest_schema() => Err(anyhow!(
            "このバックアップは新しい版の mamori で作成されています（スキーマ {schema} > {}）",
            latest_schema()
        )),
        Ok(_) => match audit::verify(&db).await?.first_break {
            Some(b) => Err(anyhow!("バックアップ内の監査証跡が壊れています: {b}")),
            None => Ok(()),
        },
    };
    db.close().await;
    result
}

/// `mamori policy import FILE`.
pub async fn policy_import(
    args: &DbArgs,
    file: &Path,
    org_code: Option<&str>,
    note: &str,
) -> anyhow::Result<ExitCode> {
    let size = std::fs::metadata(file)
        .with_context(|| format!("{} を読めません", file.display()))?
        .len();
    if size > MAX_POLICY_BYTES {
        bail!(
            "{} は大きすぎます（{size} バイト、上限 {MAX_POLICY_BYTES}）",
            file.display()
        );
    }
    let bytes = std::fs::read(file).with_context(|| format!("{} を読めません", file.display()))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        anyhow!(
            "{} は UTF-8 のテキストではありません（{} バイト目）",
            file.display(),
            e.utf8_error().valid_up_to()
        )
    })?;
    let db = startup::open(args).await?;
    let organisation = resolve_org(&db, org_code).await?;
    let tree = org::unit_tree(&db, OrgId(organisation.id)).await?;
    let state = AppState::new(db.clone(), AppConfig::default());
    let n = mamori_web::features::policy::import_text(
        &state,
        organisation.id,
        &organisation.name,
        &tree,
        &cli_ctx(Some(organisation.id)),
        &text,
        note,
        // The operator records a policy already adopted (by the 委員会, outside mamori): it
        // is published at once. Changes made on the web are drafts that the CISO approves.
        true,
    )
    .await
    .map_err(|e| anyhow!("{e}"))?;
    let sections = mamori_db::policy::version(&db, organisation.id, n)
        .await?
        .and_then(|v| {
            serde_json::from_str::<mamori_web::features::policy::PolicyDoc>(&v.content_json).ok()
        })
        .and_then(|d| d.text.map(|t| t.sections.len()))
        .unwrap_or(0);
    println!(
        "{} のポリシーを第 {n} 版として取り込みました（{sections} 章）",
        organisation.name
    );
    db.close().await;
    Ok(ExitCode::SUCCESS)
}
