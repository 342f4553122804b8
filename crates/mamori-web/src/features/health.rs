//! `GET /healthz`: is the server up and does the database answer.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::AppState;

/// Routes of this feature.
pub fn router() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz))
}

async fn healthz(State(state): State<AppState>) -> Response {
    let backend = match state.db.backend() {
        mamori_db::Backend::Sqlite => "sqlite",
        mamori_db::Backend::Postgres => "postgres",
    };
    match state.db.ping().await {
        Ok(()) => {
            Json(json!({"status": "ok", "database": backend, "version": env!("CARGO_PKG_VERSION")}))
                .into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "health check: database does not answer");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"status": "unavailable", "database": backend})),
            )
                .into_response()
        }
    }
}
