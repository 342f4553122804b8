//! Static assets, compiled into the binary and served with an ETag (nothing is read from disk
//! and nothing is fetched from another host).

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};
use std::sync::LazyLock;

use crate::AppState;

const CSS: &str = include_str!("../../assets/mamori.css");

static CSS_ETAG: LazyLock<String> =
    LazyLock::new(|| format!("\"{}\"", &hex::encode(Sha256::digest(CSS.as_bytes()))[..16]));

/// Routes of this feature.
pub fn router() -> Router<AppState> {
    Router::new().route("/assets/mamori.css", get(css))
}

async fn css(headers: HeaderMap) -> Response {
    let etag = CSS_ETAG.as_str();
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        == Some(etag)
    {
        return StatusCode::NOT_MODIFIED.into_response();
    }
    let mut resp = CSS.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    if let Ok(v) = HeaderValue::from_str(etag) {
        h.insert(header::ETAG, v);
    }
    resp
}
