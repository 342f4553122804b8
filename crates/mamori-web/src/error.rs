//! One error type for the web layer and one place that turns it into a response.
//!
//! Handlers return [`AppError`]; its response carries the status and a Japanese message in an
//! extension. The [`render`] middleware then writes the body the client expects — a JSON error
//! with the request id under `/api/`, a Japanese page elsewhere — also for errors that never
//! passed through a handler (unknown routes, oversized bodies, wrong content types).
//! Internal errors are logged with the request id and never shown.

use askama::Template;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use mamori_core::permission::Denied;
use mamori_db::DbError;

/// Everything a request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Nothing there (or not visible to the caller — the two are not distinguished).
    #[error("ページが見つかりません")]
    NotFound,
    /// Login (or a token) is needed.
    #[error("ログインが必要です")]
    Unauthenticated,
    /// Logged in, but the role does not allow it.
    #[error("{0}")]
    Forbidden(#[from] Denied),
    /// The form's CSRF token or the request's origin did not match.
    #[error(
        "フォームの有効期限が切れたか、別のサイトから送信されました。ページを開き直してください"
    )]
    Csrf,
    /// The input is wrong; the message says where and why.
    #[error("{0}")]
    BadRequest(String),
    /// The input is well-formed but its content cannot be used (a JSON body with a missing
    /// field or a value of the wrong type); the message says which.
    #[error("{0}")]
    Unprocessable(String),
    /// The body is not in the format the route takes (form, JSON).
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The body is larger than the server accepts.
    #[error("送信されたデータが上限を超えています。ファイルを小さくして再度お試しください。")]
    PayloadTooLarge,
    /// The change conflicts with existing data.
    #[error("{0}")]
    Conflict(String),
    /// The account or address is temporarily locked.
    #[error("{0}")]
    Locked(String),
    /// Something broke inside; details go to the log only.
    #[error("内部エラーが発生しました")]
    Internal(String),
}

impl AppError {
    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Unauthenticated => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) | AppError::Csrf => StatusCode::FORBIDDEN,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::Locked(_) => StatusCode::TOO_MANY_REQUESTS,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::NotFound => "not_found",
            AppError::Unauthenticated => "unauthenticated",
            AppError::Forbidden(_) => "forbidden",
            AppError::Csrf => "csrf",
            AppError::BadRequest(_) => "bad_request",
            AppError::Unprocessable(_) => "unprocessable",
            AppError::UnsupportedMediaType(_) => "unsupported_media_type",
            AppError::PayloadTooLarge => "payload_too_large",
            AppError::Conflict(_) => "conflict",
            AppError::Locked(_) => "locked",
            AppError::Internal(_) => "internal",
        }
    }

    /// A bad-request error with a message.
    pub fn bad(msg: impl Into<String>) -> Self {
        AppError::BadRequest(msg.into())
    }
}

/// Says in Japanese what a deserializer (serde_json, serde_urlencoded) found wrong with the
/// input, naming the field where the deserializer does: its own messages are English and are
/// never shown.
pub fn input_problem_ja(detail: &str) -> String {
    let quoted = |prefix: &str| {
        let start = detail.find(prefix)? + prefix.len();
        let len = detail.get(start..)?.find('`')?;
        detail.get(start..start + len).map(str::to_owned)
    };
    let at = position_ja(detail);
    if let Some(field) = quoted("missing field `") {
        format!("必須の項目「{field}」がありません{at}")
    } else if let Some(field) = quoted("unknown field `") {
        format!("項目「{field}」は受け付けていません{at}")
    } else if detail.contains("invalid digit")
        || detail.contains("number too large")
        || detail.contains("number too small")
        || detail.contains("cannot parse integer")
    {
        format!("数値の項目に数値以外の値が入力されています{at}")
    } else if detail.contains("invalid type") || detail.contains("invalid value") {
        format!("項目の値の種類が正しくありません（文字列・数値の取り違えなど）{at}")
    } else {
        format!("送信された内容を読み取れませんでした。形式を確認してください{at}")
    }
}

/// `（1行目20文字目）` from serde_json's `at line 1 column 20`, or nothing.
pub fn position_ja(detail: &str) -> String {
    let Some(i) = detail.rfind(" at line ") else {
        return String::new();
    };
    let mut numbers = detail
        .get(i..)
        .unwrap_or_default()
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty());
    match (numbers.next(), numbers.next()) {
        (Some(line), Some(column)) => format!("（{line}行目{column}文字目）"),
        _ => String::new(),
    }
}

impl From<DbError> for AppError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::NotFound => AppError::NotFound,
            DbError::Duplicate(what) => AppError::Conflict(format!("{what} は既に使われています")),
            other => AppError::Internal(other.to_string()),
        }
    }
}

impl From<askama::Error> for AppError {
    fn from(e: askama::Error) -> Self {
        AppError::Internal(format!("template: {e}"))
    }
}

impl From<serde_json::Error> for AppError {
    fn from(e: serde_json::Error) -> Self {
        AppError::Internal(format!("json: {e}"))
    }
}

/// What [`render`] needs to write an error body.
#[derive(Debug, Clone)]
pub struct ErrorInfo {
    /// Machine code.
    pub code: &'static str,
    /// Japanese message.
    pub message: String,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if let AppError::Internal(detail) = &self {
            tracing::error!(%detail, "internal error");
        }
        let mut resp = self.status().into_response();
        resp.extensions_mut().insert(ErrorInfo {
            code: self.code(),
            message: self.to_string(),
        });
        resp
    }
}

/// The fallback for unknown routes.
pub async fn not_found() -> AppError {
    AppError::NotFound
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    status: u16,
    title: &'a str,
    message: &'a str,
    request_id: &'a str,
    login_link: bool,
}

/// Writes error bodies: JSON under `/api/`, a Japanese page elsewhere.
pub async fn render(req: Request, next: Next) -> Response {
    let is_api = req.uri().path().starts_with("/api/");
    let is_get = req.method() == axum::http::Method::GET;
    let request_id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let resp = next.run(req).await;
    let status = resp.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    if status == StatusCode::UNAUTHORIZED && is_get && !is_api {
        // A page asked for without a (valid) session: send the browser to the login page.
        return axum::response::Redirect::to("/login").into_response();
    }
    let info = resp.extensions().get::<ErrorInfo>().cloned();
    let has_own_body = info.is_none()
        && resp.headers().get(header::CONTENT_TYPE).is_some_and(|ct| {
            ct.to_str()
                .is_ok_and(|ct| ct.starts_with("application/json") || ct.starts_with("text/html"))
        });
    if has_own_body {
        return resp;
    }
    let (code, message) = match info {
        Some(i) => (i.code, i.message),
        None => generic(status),
    };
    let (mut parts, _) = resp.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    let body = if is_api {
        parts.headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if status == StatusCode::UNAUTHORIZED {
            // RFC 6750 §3: say which scheme the API takes.
            parts
                .headers
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        serde_json::json!({"error": {"code": code, "message": message, "request_id": request_id}})
            .to_string()
    } else {
        parts.headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        let page = ErrorPage {
            status: status.as_u16(),
            title: title(status),
            message: &message,
            request_id: &request_id,
            login_link: status == StatusCode::UNAUTHORIZED,
        };
        page.render().unwrap_or_else(|_| message.clone())
    };
    Response::from_parts(parts, Body::from(body))
}

fn title(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "入力内容に誤りがあります",
        401 => "ログインが必要です",
        403 => "この操作は許可されていません",
        404 => "ページが見つかりません",
        405 => "この方法では操作できません",
        409 => "データが競合しています",
        413 => "送信されたデータが大きすぎます",
        415 => "データの形式が正しくありません",
        422 => "入力内容を処理できません",
        429 => "しばらく待ってから再度お試しください",
        _ => "エラーが発生しました",
    }
}

fn generic(status: StatusCode) -> (&'static str, String) {
    let code = match status.as_u16() {
        400 => "bad_request",
        401 => "unauthenticated",
        403 => "forbidden",
        404 => "not_found",
        405 => "method_not_allowed",
        413 => "payload_too_large",
        415 => "unsupported_media_type",
        422 => "unprocessable",
        _ if status.is_server_error() => "internal",
        _ => "error",
    };
    let message = match status.as_u16() {
        404 => "お探しのページは見つかりませんでした。アドレスを確認してください。".to_owned(),
        405 => "このアドレスはこの方法では利用できません。".to_owned(),
        413 => "送信されたデータが上限を超えています。ファイルを小さくして再度お試しください。"
            .to_owned(),
        415 => "送信されたデータの形式（Content-Type）が正しくありません。".to_owned(),
        400 | 422 => "送信された内容を読み取れませんでした。形式を確認してください。".to_owned(),
        _ => title(status).to_owned(),
    };
    (code, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_maps_to_its_status_and_code() {
        let cases = [
            (AppError::NotFound, 404, "not_found"),
            (AppError::Unauthenticated, 401, "unauthenticated"),
            (
                AppError::Forbidden(Denied {
                    action: mamori_core::permission::Action::AuditView,
                }),
                403,
                "forbidden",
            ),
            (AppError::Csrf, 403, "csrf"),
            (AppError::bad("x"), 400, "bad_request"),
            (AppError::Unprocessable("x".into()), 422, "unprocessable"),
            (
                AppError::UnsupportedMediaType("x".into()),
                415,
                "unsupported_media_type",
            ),
            (AppError::PayloadTooLarge, 413, "payload_too_large"),
            (AppError::Conflict("x".into()), 409, "conflict"),
            (AppError::Locked("x".into()), 429, "locked"),
            (AppError::Internal("secret detail".into()), 500, "internal"),
        ];
        for (err, status, code) in cases {
            assert_eq!(err.status().as_u16(), status);
            assert_eq!(err.code(), code);
        }
    }

    #[test]
    fn deserializer_messages_are_told_in_japanese() {
        assert_eq!(
            input_problem_ja("missing field `unit` at line 1 column 20"),
            "必須の項目「unit」がありません（1行目20文字目）"
        );
        assert_eq!(
            input_problem_ja("missing field `name`"),
            "必須の項目「name」がありません"
        );
        assert_eq!(
            input_problem_ja("invalid digit found in string"),
            "数値の項目に数値以外の値が入力されています"
        );
        assert!(
            input_problem_ja("invalid type: integer `5`, expected a string at line 1 column 12")
                .starts_with("項目の値の種類が正しくありません")
        );
        assert!(!input_problem_ja("something else entirely").contains("something"));
    }

    #[test]
    fn internal_details_are_never_shown() {
        let err = AppError::Internal("password=hunter2".into());
        assert!(!err.to_string().contains("hunter2"));
    }

    #[test]
    fn database_errors_map_without_leaking() {
        assert_eq!(
            AppError::from(DbError::NotFound).status(),
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            AppError::from(DbError::Duplicate("ログインID x".into())).status(),
            StatusCode::CONFLICT
        );
        assert_eq!(
            AppError::from(DbError::UnsupportedUrl).status(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }
}
