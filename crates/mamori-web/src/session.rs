//! Who is asking: server-side sessions (cookie) for pages, bearer tokens for the API.
//!
//! [`resolve`] runs once per request, checks the session or token, and leaves what it found in
//! the request's extensions; handlers take a [`Viewer`] (fully logged in), a [`Pending`] (a
//! login still in progress), or [`CsrfForm`] (a form whose CSRF token matched).

use std::sync::Arc;

use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use mamori_core::permission::{Actor, Capability, Permission, can};
use mamori_db::audit::NewEntry;
use mamori_db::auth::{self, Session};
use mamori_db::org::{self, AuditCtx, Organisation, Person, UnitTree};
use mamori_db::{now_text, parse_timestamp, timestamp_text};
use serde::de::DeserializeOwned;
use time::OffsetDateTime;

use crate::{AppError, AppState};

/// Name of the session cookie.
pub const COOKIE: &str = "mamori_session";

/// A fully logged-in person (second factor done where required), or an API token's owner.
#[derive(Debug, Clone)]
pub struct Viewer {
    /// The person.
    pub person: Person,
    /// Their organisation.
    pub org: Organisation,
    /// Roles in force today.
    pub actor: Actor,
    /// The organisation's unit tree.
    pub tree: Arc<UnitTree>,
    /// The organisation as cached for this request (units, persons, roles in force).
    pub snapshot: Arc<crate::cache::OrgSnapshot>,
    /// The session (pages) — `None` for API tokens.
    pub session: Option<Session>,
    /// The API token used, if any.
    pub token_id: Option<i64>,
    /// This request's id.
    pub request_id: String,
}

impl Viewer {
    /// Audit context for changes made by this viewer.
    pub fn audit_ctx(&self) -> AuditCtx {
        AuditCtx {
            org_id: Some(self.person.org_id),
            actor_id: Some(self.person.id),
            actor: self.person.login.clone(),
            request_id: Some(self.request_id.clone()),
        }
    }

    /// The CSRF token to put in forms.
    pub fn csrf(&self) -> &str {
        self.session
            .as_ref()
            .map(|s| s.csrf_token.as_str())
            .unwrap_or_default()
    }

    /// Asks for a capability, recording a denial in the audit trail.
    pub async fn can<P: Permission>(&self, state: &AppState) -> Result<Capability<P>, AppError> {
        match self.actor.can::<P>() {
            Ok(c) => Ok(c),
            Err(denied) => Err(self.denied(state, denied, None).await),
        }
    }

    /// Asks for a capability over one unit, recording a denial in the audit trail.
    pub async fn can_on<P: Permission>(
        &self,
        state: &AppState,
        unit: i64,
    ) -> Result<Capability<P>, AppError> {
        match self.actor.can_on::<P>(&self.tree.path(unit)) {
            Ok(c) => Ok(c),
            Err(denied) => Err(self.denied(state, denied, Some(unit)).await),
        }
    }

    /// Asks for the capability to edit `person`'s record, moving them to `to_unit`: both units
    /// must be within reach, and the viewer must be allowed to grant every role the person
    /// holds today — a 管理者 does not edit (or retire) the record of someone with more
    /// authority than it has.
    pub async fn can_edit_person(
        &self,
        state: &AppState,
        person: &Person,
        to_unit: i64,
    ) -> Result<Capability<can::EditPersons>, AppError> {
        self.can_on::<can::EditPersons>(state, person.unit_id)
            .await?;
        let cap = self.can_on::<can::EditPersons>(state, to_unit).await?;
        let snapshot = state.orgs.get(&state.db, cap.org(), &today_jst()).await?;
        let outranks = snapshot
            .assignments
            .iter()
            .filter(|a| a.person_id == person.id)
            .filter_map(|a| a.role.parse::<mamori_core::role::Role>().ok())
            .any(|role| role != mamori_core::role::Role::Staff && !self.actor.may_grant(role));
        if outranks && person.id != self.person.id {
            let denied = mamori_core::permission::Denied {
                action: mamori_core::permission::Action::PersonEdit,
            };
            return Err(self.denied(state, denied, Some(person.unit_id)).await);
        }
        Ok(cap)
    }

    /// Records a refused permission check and returns the error to answer with.
    pub async fn denied(
        &self,
        state: &AppState,
        denied: mamori_core::permission::Denied,
        unit: Option<i64>,
    ) -> AppError {
        let mut entry = self
            .audit_ctx()
            .entry("permission.denied", "action", denied.action.code());
        entry.unit_id = unit;
        if let Err(e) = mamori_db::audit::record(&state.db, entry).await {
            tracing::error!(error = %e, "could not record a denial");
        }
        AppError::Forbidden(denied)
    }

    /// Records an event with nothing else to write (an export, a read of something sensitive).
    pub async fn record(&self, state: &AppState, entry: NewEntry) -> Result<(), AppError> {
        mamori_db::audit::record(&state.db, entry).await?;
        Ok(())
    }
}

/// A login in progress: password accepted, second factor (or enrolment, or a forced password
/// change) still to do.
#[derive(Debug, Clone)]
pub struct Pending {
    /// The session.
    pub session: Session,
    /// The person.
    pub person: Person,
    /// This request's id.
    pub request_id: String,
}

/// The CSRF token of the current session (full or pending).
#[derive(Debug, Clone)]
struct SessionCsrf(String);

/// This request's id, from the `x-request-id` header set at the edge.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

impl<S: Send + Sync> FromRequestParts<S> for RequestId {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(RequestId(request_id(&parts.headers)))
    }
}

fn request_id(headers: &HeaderMap) -> String {
    headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

impl<S: Send + Sync> FromRequestParts<S> for Viewer {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Viewer>()
            .cloned()
            .ok_or(AppError::Unauthenticated)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Pending {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Pending>()
            .cloned()
            .ok_or(AppError::Unauthenticated)
    }
}

/// A urlencoded form whose `csrf` field matched the session's token.
#[derive(Debug)]
pub struct CsrfForm<T>(pub T);

#[derive(serde::Deserialize)]
struct CsrfField {
    #[serde(default)]
    csrf: String,
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for CsrfForm<T> {
    type Rejection = AppError;
    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let expected = req
            .extensions()
            .get::<SessionCsrf>()
            .map(|c| c.0.clone())
            .ok_or(AppError::Unauthenticated)?;
        let is_form = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
        if !is_form {
            return Err(AppError::UnsupportedMediaType(
                "フォームの形式（Content-Type）が正しくありません".into(),
            ));
        }
        let body = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| {
                if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                    AppError::PayloadTooLarge
                } else {
                    AppError::bad("送信された内容を読み取れませんでした")
                }
            })?;
        let field: CsrfField = serde_urlencoded::from_bytes(&body).map_err(|_| AppError::Csrf)?;
        if !constant_time_eq(field.csrf.as_bytes(), expected.as_bytes()) {
            return Err(AppError::Csrf);
        }
        let value = serde_urlencoded::from_bytes(&body)
            .map_err(|e| AppError::bad(crate::error::input_problem_ja(&e.to_string())))?;
        Ok(CsrfForm(value))
    }
}

/// Compares two secrets without an early exit.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Today in Japan, as stored (YYYY-MM-DD): role validity dates are Japanese calendar days.
pub fn today_jst() -> String {
    let now = OffsetDateTime::now_utc().to_offset(time::macros::offset!(+9));
    format!(
        "{:04}-{:02}-{:02}",
        now.year(),
        u8::from(now.month()),
        now.day()
    )
}

/// Resolves the session cookie or bearer token of a request.
pub async fn resolve(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let rid = request_id(req.headers());
    let found = if req.uri().path().starts_with("/api/") {
        from_token(&state, req.headers(), &rid).await
    } else {
        from_cookie(&state, req.headers(), &rid).await
    };
    match found {
        Ok(Found::Viewer(v)) => {
            if let Some(s) = &v.session {
                req.extensions_mut()
                    .insert(SessionCsrf(s.csrf_token.clone()));
            }
            req.extensions_mut().insert(*v);
        }
        Ok(Found::Pending(p)) => {
            req.extensions_mut()
                .insert(SessionCsrf(p.session.csrf_token.clone()));
            req.extensions_mut().insert(*p);
        }
        Ok(Found::Nobody) => {}
        Err(e) => return axum::response::IntoResponse::into_response(e),
    }
    next.run(req).await
}

enum Found {
    Viewer(Box<Viewer>),
    Pending(Box<Pending>),
    Nobody,
}

async fn from_token(state: &AppState, headers: &HeaderMap, rid: &str) -> Result<Found, AppError> {
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return Ok(Found::Nobody);
    };
    // The scheme name is case-insensitive (RFC 7235 §2.1).
    let Some(token) = value
        .split_once(' ')
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim())
    else {
        return Ok(Found::Nobody);
    };
    if token.is_empty() || token.len() > 200 {
        return Ok(Found::Nobody);
    }
    let Some((token_use, person)) =
        auth::person_by_token(&state.db, &auth::secret_hash(token)).await?
    else {
        return Ok(Found::Nobody);
    };
    // Record the last use at most once a minute, so API reads do not all become writes.
    let now = OffsetDateTime::now_utc();
    let stale = token_use
        .last_used_at
        .as_deref()
        .and_then(parse_timestamp)
        .is_none_or(|t| t + time::Duration::minutes(1) <= now);
    if stale {
        auth::touch_token(&state.db, token_use.id).await?;
    }
    let viewer = viewer_for(
        state,
        person,
        None,
        Some(token_use.id),
        token_use.org_generation,
        rid,
    )
    .await?;
    Ok(Found::Viewer(Box::new(viewer)))
}

async fn from_cookie(state: &AppState, headers: &HeaderMap, rid: &str) -> Result<Found, AppError> {
    let Some(id) = cookie(headers, COOKIE) else {
        return Ok(Found::Nobody);
    };
    if id.len() > 100 {
        return Ok(Found::Nobody);
    }
    let id_hash = auth::secret_hash(&id);
    let Some((session, person, generation)) = auth::session(&state.db, &id_hash).await? else {
        return Ok(Found::Nobody);
    };
    let now = OffsetDateTime::now_utc();
    let idle_limit = state.config.session_idle;
    let expired = parse_timestamp(&session.expires_at).is_none_or(|t| t <= now)
        || parse_timestamp(&session.last_seen_at).is_none_or(|t| t + idle_limit <= now)
        || person.status != "active";
    if expired {
        let mut tx = state.db.begin_write().await?;
        auth::delete_session(&mut tx, &id_hash).await?;
        tx.commit().await.map_err(mamori_db::DbError::from)?;
        return Ok(Found::Nobody);
    }
    // Refresh the idle clock at most once a minute, so reads do not all become writes.
    if parse_timestamp(&session.last_seen_at).is_some_and(|t| t + time::Duration::minutes(1) <= now)
    {
        auth::touch_session(&state.db, &id_hash, &now_text()).await?;
    }
    if session.stage != "full" {
        return Ok(Found::Pending(Box::new(Pending {
            session,
            person,
            request_id: rid.to_owned(),
        })));
    }
    let viewer = viewer_for(state, person, Some(session), None, generation, rid).await?;
    Ok(Found::Viewer(Box::new(viewer)))
}

async fn viewer_for(
    state: &AppState,
    person: Person,
    session: Option<Session>,
    token_id: Option<i64>,
    generation: i64,
    rid: &str,
) -> Result<Viewer, AppError> {
    let org_id = mamori_core::org::OrgId(person.org_id);
    let snapshot = state
        .orgs
        .get_at(&state.db, org_id, &today_jst(), generation)
        .await?;
    let actor = org::actor_from(&person, &snapshot.tree, snapshot.assignments.iter());
    let organisation = snapshot.org.clone();
    let tree = snapshot.tree.clone();
    Ok(Viewer {
        snapshot,
        person,
        org: organisation,
        actor,
        tree,
        session,
        token_id,
        request_id: rid.to_owned(),
    })
}

/// Reads one cookie from the request headers.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// The `Set-Cookie` value for a new session.
pub fn session_cookie(value: &str, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("mamori_session=; Path=/; Max-Age=0"))
}

/// The `Set-Cookie` value that removes the session cookie.
pub fn clear_cookie() -> HeaderValue {
    HeaderValue::from_static("mamori_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0")
}

/// Starts a new session for a person at `stage`; returns the cookie value. Any session the
/// browser already had is removed first, so a session id is never carried across a login.
pub async fn start(
    state: &AppState,
    old_cookie: Option<&str>,
    person: i64,
    stage: &str,
    remote_addr: &str,
) -> Result<String, AppError> {
    let value = crate::password::random_token(32);
    let csrf = crate::password::random_token(24);
    let expires = OffsetDateTime::now_utc() + state.config.session_absolute;
    let mut tx = state.db.begin_write().await?;
    if let Some(old) = old_cookie {
        auth::delete_session(&mut tx, &auth::secret_hash(old)).await?;
    }
    auth::create_session(
        &mut tx,
        &auth::secret_hash(&value),
        person,
        &csrf,
        stage,
        &timestamp_text(expires),
        remote_addr,
    )
    .await?;
    tx.commit().await.map_err(mamori_db::DbError::from)?;
    Ok(value)
}

/// The client's address (from the connection), for throttling and the session record.
#[derive(Debug, Clone)]
pub struct RemoteAddr(pub String);

impl<S: Send + Sync> FromRequestParts<S> for RemoteAddr {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let addr = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip().to_string())
            .unwrap_or_else(|| "unknown".to_owned());
        Ok(RemoteAddr(addr))
    }
}

impl<S: Send + Sync> axum::extract::OptionalFromRequestParts<S> for Viewer {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Option<Self>, Self::Rejection> {
        Ok(parts.extensions.get::<Viewer>().cloned())
    }
}

impl<S: Send + Sync> axum::extract::OptionalFromRequestParts<S> for Pending {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Option<Self>, Self::Rejection> {
        Ok(parts.extensions.get::<Pending>().cloned())
    }
}
