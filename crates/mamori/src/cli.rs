//! The command line: parses arguments and hands each subcommand to the module that does it.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::startup::DbArgs;
use crate::{admin, assets_cmd, netcheck_cmd, remind_cmd, roster_cmd, sanitize_cmd};

/// mamori (守り): 情報セキュリティポリシーを日々の業務で実現するための管理システム。
#[derive(Debug, Parser)]
#[command(name = "mamori", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Web サーバーを起動する (Start the web server).
    Serve(ServeArgs),
    /// データベースを最新の構造に移行する (Apply database migrations).
    Migrate {
        #[command(flatten)]
        db: DbArgs,
    },
    /// 団体の管理 (Organisations).
    #[command(subcommand)]
    Org(OrgCommand),
    /// 利用者の管理 (Users).
    #[command(subcommand)]
    User(UserCommand),
    /// API トークン (Personal API tokens).
    #[command(subcommand)]
    Token(TokenCommand),
    /// 監査証跡 (Audit trail).
    #[command(subcommand)]
    Audit(AuditCommand),
    /// SQLite データベースのオンラインバックアップ (Consistent snapshot of the database).
    Backup {
        /// The backup file to write (must not exist).
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        db: DbArgs,
    },
    /// バックアップからの復元 (Restore a backup made by `mamori backup`; stop the server first).
    Restore {
        /// A file written by `mamori backup`.
        file: PathBuf,
        #[command(flatten)]
        db: DbArgs,
    },
    /// 情報セキュリティ基本方針 (The policy).
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// 職員名簿 (Staff roster for the April 人事異動).
    #[command(subcommand)]
    Roster(RosterCommand),
    /// 情報資産管理台帳の取込み・出力 (Asset register import and export, xlsx or CSV).
    #[command(subcommand)]
    Assets(AssetsCommand),
    /// 無害化: mail converted to text, files disarmed and rebuilt.
    Sanitize(sanitize_cmd::SanitizeArgs),
    /// Check a network description against the three-zone rules.
    Netcheck(netcheck_cmd::NetcheckArgs),
    /// 作業のリマインダーメールを作成・送信する (Queue, and optionally send, task reminders).
    Remind {
        #[command(flatten)]
        args: remind_cmd::RemindArgs,
        #[command(flatten)]
        db: DbArgs,
    },
}

/// Options of `mamori serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8080", env = "MAMORI_LISTEN")]
    pub listen: String,
    #[command(flatten)]
    pub db: DbArgs,
    /// Load the demo organisation 峡南広域行政組合 (once) and print how to log in.
    #[arg(long)]
    pub demo: bool,
    /// Mark cookies Secure (set when users reach the server over TLS, directly or via a proxy).
    #[arg(long, env = "MAMORI_SECURE_COOKIES")]
    pub secure_cookies: bool,
    /// Write logs as JSON lines instead of text.
    #[arg(long)]
    pub log_json: bool,
    #[command(flatten)]
    pub mail: remind_cmd::MailArgs,
}

#[derive(Debug, Subcommand)]
enum OrgCommand {
    /// 団体を作成する (Create an organisation with its root unit).
    Create {
        /// Short code, e.g. `kyonan`.
        code: String,
        /// Name, e.g. 峡南広域行政組合.
        name: String,
        #[command(flatten)]
        db: DbArgs,
    },
    /// 団体の一覧 (List organisations).
    List {
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// 利用者を追加する; the password is read from standard input (first line).
    Add(admin::UserAddArgs),
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Create a personal API token for a user and print it (shown once).
    Create {
        /// The user's login.
        #[arg(long)]
        login: String,
        /// A name to recognise the token by.
        #[arg(long, default_value = "cli")]
        name: String,
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Check the hash chain: exit 0 when intact, 1 naming the first broken entry.
    Verify {
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Debug, Subcommand)]
enum RosterCommand {
    /// 名簿を取り込む: creates, updates and ends assignments in one transaction (`--dry-run` shows the plan).
    Import {
        #[command(flatten)]
        args: roster_cmd::RosterArgs,
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Debug, Subcommand)]
enum AssetsCommand {
    /// 台帳を取り込む: 資産番号で照合して登録・変更を一括で反映（`--dry-run` は内容の表示のみ）。
    Import {
        #[command(flatten)]
        args: assets_cmd::ImportArgs,
        #[command(flatten)]
        db: DbArgs,
    },
    /// 台帳を出力する: `--format xlsx|csv [--encoding utf8|cp932] -o FILE`。
    Export {
        #[command(flatten)]
        args: assets_cmd::ExportArgs,
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Debug, Subcommand)]
enum PolicyCommand {
    /// Load a policy's full text (plain text or Markdown) as a new version.
    Import {
        /// The policy text (UTF-8).
        file: PathBuf,
        /// Organisation code (needed only when several organisations share the database).
        #[arg(long)]
        org: Option<String>,
        /// Why this version is loaded.
        #[arg(long, default_value = "全文の取り込み")]
        note: String,
        #[command(flatten)]
        db: DbArgs,
    },
}

/// Parses the command line and runs it; the process exit code comes back.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Sanitize(args) => sanitize_cmd::run(args),
        Command::Netcheck(args) => netcheck_cmd::run(args),
        other => {
            let log_json = matches!(&other, Command::Serve(a) if a.log_json);
            init_logging(log_json);
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    eprintln!("mamori: cannot start the runtime: {e}");
                    return ExitCode::from(2);
                }
            };
            match runtime.block_on(run(other)) {
                Ok(code) => code,
                Err(e) => {
                    eprintln!("mamori: {e:#}");
                    ExitCode::from(2)
                }
            }
        }
    }
}

async fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Serve(args) => admin::serve(args).await,
        Command::Migrate { db } => admin::migrate(&db).await,
        Command::Org(OrgCommand::Create { code, name, db }) => {
            admin::org_create(&db, &code, &name).await
        }
        Command::Org(OrgCommand::List { db }) => admin::org_list(&db).await,
        Command::User(UserCommand::Add(args)) => admin::user_add(args).await,
        Command::Token(TokenCommand::Create { login, name, db }) => {
            admin::token_create(&db, &login, &name).await
        }
        Command::Audit(AuditCommand::Verify { db }) => admin::audit_verify(&db).await,
        Command::Backup { out, db } => admin::backup(&db, &out).await,
        Command::Restore { file, db } => admin::restore(&db, &file).await,
        Command::Policy(PolicyCommand::Import {
            file,
            org,
            note,
            db,
        }) => admin::policy_import(&db, &file, org.as_deref(), &note).await,
        Command::Roster(RosterCommand::Import { args, db }) => {
            let db = crate::startup::open(&db).await?;
            let code = roster_cmd::run(&db, args).await;
            db.close().await;
            code
        }
        Command::Assets(AssetsCommand::Import { args, db }) => {
            let db = crate::startup::open(&db).await?;
            let code = assets_cmd::import(&db, args).await;
            db.close().await;
            code
        }
        Command::Assets(AssetsCommand::Export { args, db }) => {
            let db = crate::startup::open(&db).await?;
            let code = assets_cmd::export(&db, args).await;
            db.close().await;
            code
        }
        Command::Remind { args, db } => {
            let db = crate::startup::open(&db).await?;
            let code = remind_cmd::run(&db, args).await;
            db.close().await;
            code
        }
        Command::Sanitize(args) => Ok(sanitize_cmd::run(args)),
        Command::Netcheck(args) => Ok(netcheck_cmd::run(args)),
    }
}

fn init_logging(json: bool) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("MAMORI_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // A second initialisation (only in tests) is harmless; ignore it.
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
