//! Opening the database and starting the server, shared by `main` and the tests.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use mamori_db::Db;
use mamori_web::AppConfig;

/// Where the database is: the options every database-opening subcommand shares.
#[derive(Debug, Clone, clap::Args)]
pub struct DbArgs {
    /// Directory holding the embedded SQLite database (created on first start).
    #[arg(long, default_value = "./mamori-data", env = "MAMORI_DATA_DIR")]
    pub data_dir: PathBuf,
    /// A `postgres://…` URL (or `sqlite://PATH`) instead of the SQLite file in the data directory.
    #[arg(long, env = "MAMORI_DATABASE_URL")]
    pub database_url: Option<String>,
}

/// File name of the SQLite database inside the data directory.
pub const SQLITE_FILE: &str = "mamori.db";

impl DbArgs {
    /// The SQLite file used when no URL is given.
    pub fn sqlite_path(&self) -> PathBuf {
        self.data_dir.join(SQLITE_FILE)
    }

    /// The database URL these options name.
    pub fn url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!("sqlite://{}", self.sqlite_path().display()),
        }
    }

    /// Whether the database is the embedded SQLite file.
    pub fn is_sqlite(&self) -> bool {
        self.url().starts_with("sqlite:")
    }
}

/// Opens the database (creating the data directory and SQLite file when missing) and brings
/// its schema up to date.
pub async fn open(args: &DbArgs) -> anyhow::Result<Db> {
    if args.database_url.is_none() {
        create_data_dir(&args.data_dir)?;
    }
    let url = args.url();
    let db = Db::connect(&url)
        .await
        .with_context(|| format!("データベースに接続できません ({})", redact(&url)))?;
    let applied = mamori_db::migrate::run(&db)
        .await
        .context("データベースの移行（マイグレーション）に失敗しました")?;
    if applied > 0 {
        tracing::info!(applied, "database schema brought up to date");
    }
    Ok(db)
}

fn create_data_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("データディレクトリを作成できません: {}", dir.display()))?;
    #[cfg(unix)]
    {
        // The directory holds password hashes and the audit trail: owner only.
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
    }
    Ok(())
}

/// A URL with any password replaced, for messages and logs.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((userinfo, host)) = rest.split_once('@') else {
        return url.to_owned();
    };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

/// A server bound to its listener, ready to run.
pub struct Server {
    /// The address actually bound (port 0 resolves here).
    pub addr: SocketAddr,
    listener: tokio::net::TcpListener,
    app: axum::Router,
}

impl Server {
    /// Builds the application on `db` and binds `listen`.
    pub async fn bind(db: Db, config: AppConfig, listen: &str) -> anyhow::Result<Server> {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("{listen} で待ち受けできません"))?;
        let addr = listener.local_addr()?;
        let app = mamori_web::build(db, config);
        Ok(Server {
            addr,
            listener,
            app,
        })
    }

    /// Serves until `shutdown` completes, then lets requests in flight finish.
    pub async fn run(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        mamori_web::serve(self.listener, self.app, shutdown)
            .await
            .context("server stopped with an error")
    }
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutdown requested; finishing requests in flight");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(
            redact("postgres://mamori:s3cret@db.example:5432/mamori"),
            "postgres://mamori:***@db.example:5432/mamori"
        );
        assert_eq!(
            redact("postgres://postgres@127.0.0.1/x"),
            "postgres://postgres@127.0.0.1/x"
        );
        assert_eq!(
            redact("sqlite://./mamori-data/mamori.db"),
            "sqlite://./mamori-data/mamori.db"
        );
    }
}
