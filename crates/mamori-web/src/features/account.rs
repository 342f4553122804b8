//! The viewer's own account: password change, second factor, recovery codes and personal API
//! tokens (shown once, stored hashed).

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use mamori_db::audit;
use mamori_db::auth::{self, ApiToken};
use serde::Deserialize;

use crate::password;
use crate::session::{CsrfForm, Viewer};
use crate::views::{Layout, datetime_ja, page};
use crate::{AppError, AppState};

/// Routes of this feature.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/account", get(show))
        .route("/account/password", post(change_password))
        .route("/account/mfa", post(start_mfa))
        .route("/account/recovery-codes", post(new_recovery_codes))
        .route("/account/tokens", post(create_token))
        .route("/account/tokens/{id}/revoke", post(revoke_token))
}

struct TokenRow {
    id: i64,
    name: String,
    prefix: String,
    created: String,
    last_used: String,
    revoked: bool,
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    layout: Layout,
    login: String,
    mfa: bool,
    codes_left: i64,
    tokens: Vec<TokenRow>,
    error: Option<String>,
    new_token: Option<String>,
}

async fn render(
    state: &AppState,
    viewer: &Viewer,
    error: Option<String>,
    new_token: Option<String>,
    notice: Option<String>,
) -> Result<Response, AppError> {
    let tokens = auth::tokens_of(&state.db, viewer.person.id)
        .await?
        .into_iter()
        .map(row)
        .collect();
    let codes_left = auth::recovery_codes_left(&state.db, viewer.person.id).await?;
    page(&AccountPage {
        layout: Layout::new(viewer, "アカウント", "/account").with_notice(notice),
        login: viewer.person.login.clone(),
        mfa: viewer.person.totp_enabled == 1,
        codes_left,
        tokens,
        error,
        new_token,
    })
}

fn row(t: ApiToken) -> TokenRow {
    TokenRow {
        id: t.id,
        name: t.name,
        prefix: t.prefix,
        created: datetime_ja(&t.created_at),
        last_used: t
            .last_used_at
            .as_deref()
            .map(datetime_ja)
            .unwrap_or_default(),
        revoked: t.revoked_at.is_some(),
    }
}

async fn show(State(state): State<AppState>, viewer: Viewer) -> Result<Response, AppError> {
    render(&state, &viewer, None, None, None).await
}

#[derive(Deserialize)]
struct PasswordForm {
    #[serde(default)]
    current: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    confirm: String,
}

async fn change_password(
    State(state): State<AppState>,
    viewer: Viewer,
    CsrfForm(form): CsrfForm<PasswordForm>,
) -> Result<Response, AppError> {
    let stored = auth::password_hash(&state.db, viewer.person.id).await?;
    let problem = if !password::verify(form.current, stored, state.config.argon2_memory_kib).await?
    {
        Some("現在のパスワードが正しくありません".to_owned())
    } else if form.new_password != form.confirm {
        Some("確認用のパスワードが一致しません".to_owned())
    } else {
        password::check_strength(&form.new_password, &viewer.person.login).err()
    };
    if let Some(msg) = problem {
        let mut resp = render(&state, &viewer, Some(msg), None, None).await?;
        *resp.status_mut() = axum::http::StatusCode::BAD_REQUEST;
        return Ok(resp);
    }
    let hash = password::hash(form.new_password, state.config.argon2_memory_kib).await?;
    let mut tx = state.db.begin_write().await?;
    auth::set_password_hash(&mut tx, viewer.person.id, &hash, false).await?;
    audit::append(
        &mut tx,
        viewer
            .audit_ctx()
            .entry("password.change", "person", viewer.person.id),
    )
    .await?;
    tx.commit().await.map_err(mamori_db::DbError::from)?;
    render(
        &state,
        &viewer,
        None,
        None,
        Some("パスワードを変更しました".into()),
    )
    .await
}

#[derive(Deserialize)]
struct Empty {}

/// Sends the session back through enrolment (for people whose role does not force it).
async fn start_mfa(
    State(state): State<AppState>,
    viewer: Viewer,
    CsrfForm(_): CsrfForm<Empty>,
) -> Result<Response, AppError> {
    if viewer.person.totp_enabled == 1 {
        return Ok(Redirect::to("/account").into_response());
    }
    let Some(session) = &viewer.session else {
        return Err(AppError::Unauthenticated);
    };
    let mut tx = state.db.begin_write().await?;
    auth::set_session_stage(&mut tx, &session.id_hash, "enroll").await?;
    tx.commit().await.map_err(mamori_db::DbError::from)?;
    Ok(Redirect::to("/login/enroll").into_response())
}

#[derive(Template)]
#[template(path = "recovery_codes.html")]
struct CodesPage<'a> {
    codes: &'a [String],
    next: &'a str,
}

async fn new_recovery_codes(
    State(state): State<AppState>,
    viewer: Viewer,
    CsrfForm(_): CsrfForm<Empty>,
) -> Result<Response, AppError> {
    if viewer.person.totp_enabled != 1 {
        return Err(AppError::bad(
            "二要素認証を登録してから回復コードを発行してください",
        ));
    }
    let codes = password::recovery_codes();
    let hashes: Vec<String> = codes
        .iter()
        .map(|c| auth::secret_hash(&password::normalize_recovery_code(c)))
        .collect();
    let mut tx = state.db.begin_write().await?;
    auth::replace_recovery_codes(&mut tx, viewer.person.id, &hashes).await?;
    audit::append(
        &mut tx,
        viewer
            .audit_ctx()
            .entry("mfa.recovery_codes_renewed", "person", viewer.person.id),
    )
    .await?;
    tx.commit().await.map_err(mamori_db::DbError::from)?;
    page(&CodesPage {
        codes: &codes,
        next: "/account",
    })
}

#[derive(Deserialize)]
struct TokenForm {
    #[serde(default)]
    name: String,
}

/// Creates a personal API token; returns (id, the token itself — shown once).
pub async fn issue_token(
    db: &mamori_db::Db,
    ctx: &mamori_db::org::AuditCtx,
    person: i64,
    name: &str,
) -> Result<(i64, String), AppError> {
    let name = mamori_core::text::normalize(name);
    if name.is_empty() || name.chars().count() > 100 {
        return Err(AppError::bad(
            "トークンの名前を1〜100文字で入力してください",
        ));
    }
    let token = format!("mmr_{}", password::random_token(32));
    let prefix: String = token.chars().take(10).collect();
    let mut tx = db.begin_write().await?;
    let id =
        auth::create_token(&mut tx, person, &name, &auth::secret_hash(&token), &prefix).await?;
    let mut e = ctx.entry("token.create", "api_token", id);
    e.after = Some(serde_json::json!({"name": name, "prefix": prefix}));
    audit::append(&mut tx, e).await?;
    tx.commit().await.map_err(mamori_db::DbError::from)?;
    Ok((id, token))
}

async fn create_token(
    State(state): State<AppState>,
    viewer: Viewer,
    CsrfForm(form): CsrfForm<TokenForm>,
) -> Result<Response, AppError> {
    match issue_token(&state.db, &viewer.audit_ctx(), viewer.person.id, &form.name).await {
        Ok((_, token)) => render(&state, &viewer, None, Some(token), None).await,
        Err(AppError::BadRequest(msg)) => {
            let mut resp = render(&state, &viewer, Some(msg), None, None).await?;
            *resp.status_mut() = axum::http::StatusCode::BAD_REQUEST;
            Ok(resp)
        }
        Err(e) => Err(e),
    }
}

async fn revoke_token(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    CsrfForm(_): CsrfForm<Empty>,
) -> Result<Response, AppError> {
    let mut tx = state.db.begin_write().await?;
    if !auth::revoke_token(&mut tx, viewer.person.id, id).await? {
        return Err(AppError::NotFound);
    }
    audit::append(
        &mut tx,
        viewer.audit_ctx().entry("token.revoke", "api_token", id),
    )
    .await?;
    tx.commit().await.map_err(mamori_db::DbError::from)?;
    render(
        &state,
        &viewer,
        None,
        None,
        Some("トークンを無効にしました".into()),
    )
    .await
}
