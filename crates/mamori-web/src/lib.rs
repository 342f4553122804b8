//! mamori-web: the management plane as a web application — Japanese pages rendered on the
//! server (they work without JavaScript) and a JSON API under `/api/v1`.
//!
//! [`build`] assembles the whole application from an [`AppConfig`]; `main` and the tests call
//! the same function, so what is tested is what runs.

pub mod cache;
pub mod error;
pub mod features;
pub mod mailer;
pub mod password;
pub mod security;
pub mod session;
pub mod upload;
pub mod views;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use mamori_db::Db;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

pub use error::AppError;

/// Settings of a running server.
#[derive(Debug, Clone)]
pub struct AppConfig {
    /// Mark cookies `Secure` (set when served over TLS, directly or behind a proxy).
    pub secure_cookies: bool,
    /// A session ends after this long without a request.
    pub session_idle: Duration,
    /// A session ends this long after login, whatever happens.
    pub session_absolute: Duration,
    /// Failed logins (per account or per address) within [`Self::lockout_window`] that lock.
    pub lockout_threshold: i64,
    /// The window in which failures are counted.
    pub lockout_window: Duration,
    /// How long a lockout lasts.
    pub lockout_duration: Duration,
    /// Largest accepted request body (uploads included).
    pub max_body_bytes: usize,
    /// Argon2id memory cost in KiB (tests lower it to stay fast).
    pub argon2_memory_kib: u32,
    /// Mail delivery, when configured (`--smtp-url`); reminders are queued only then.
    pub mail: Option<mailer::SmtpSettings>,
    /// The address users reach the server at, for links in mail.
    pub public_url: Option<String>,
    /// Largest accepted evidence file of a control (対策の証跡); its upload routes take bodies
    /// up to this size whatever [`Self::max_body_bytes`] is.
    pub max_evidence_bytes: usize,
}

impl Default for AppConfig {
    fn default() -> Self {
        AppConfig {
            secure_cookies: false,
            session_idle: Duration::from_secs(30 * 60),
            session_absolute: Duration::from_secs(12 * 60 * 60),
            lockout_threshold: 5,
            lockout_window: Duration::from_secs(15 * 60),
            lockout_duration: Duration::from_secs(15 * 60),
            max_body_bytes: 10 * 1024 * 1024,
            argon2_memory_kib: 19 * 1024,
            mail: None,
            public_url: None,
            max_evidence_bytes: mamori_db::catalogue::evidence::DEFAULT_MAX_EVIDENCE_BYTES,
        }
    }
}

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The database.
    pub db: Db,
    /// Settings.
    pub config: Arc<AppConfig>,
    /// Organisations' unit trees and roles, kept while current.
    pub orgs: Arc<cache::OrgCache>,
}

impl AppState {
    /// State for a database and settings, with an empty cache.
    pub fn new(db: Db, config: AppConfig) -> Self {
        AppState {
            db,
            config: Arc::new(config),
            orgs: Arc::new(cache::OrgCache::default()),
        }
    }
}

/// Builds the application: every route, the session layer, security headers, error pages,
/// request ids and logging.
pub fn build(db: Db, config: AppConfig) -> Router {
    let state = AppState::new(db, config);
    let max_body = state.config.max_body_bytes;
    let (api, openapi) = features::api::router().split_for_parts();
    let openapi = Arc::new(openapi);
    Router::new()
        .merge(features::health::router())
        .merge(features::assets::router())
        .merge(features::login::router())
        .merge(features::dashboard::router())
        .merge(features::account::router())
        .merge(features::org::router())
        .merge(features::audit::router())
        .merge(features::policy::router())
        .merge(features::roster::router())
        .merge(features::network::router())
        .merge(features::inventory::router())
        .merge(features::notifications::router())
        .merge(features::documents::router())
        .merge(features::auditing::router())
        .merge(features::catalogue::router())
        .merge(features::exceptions::router())
        .merge(features::inspection::router())
        .merge(api)
        .merge(features::api::openapi_router(openapi))
        .fallback(error::not_found)
        .layer(middleware::from_fn_with_state(state.clone(), session::resolve))
        .layer(middleware::from_fn(security::origin_check))
        .layer(DefaultBodyLimit::max(max_body))
        .layer(middleware::from_fn(error::render))
        .layer(middleware::from_fn(security::headers))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
            let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
            tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
        }))
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}

/// Serves the application on a bound listener until `shutdown` completes, then drains
/// requests in flight.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
