//! Logging in: password, then the second factor (or its enrolment, forced for privileged
//! roles), then a forced password change when an administrator reset it; and logging out.
//!
//! Failures are counted per account and per source address; past the threshold the key is
//! locked for a while. Every success, failure, lockout and logout is in the audit trail.

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use mamori_db::audit::{self, NewEntry};
use mamori_db::auth::{self, Throttle};
use mamori_db::org::{self, Person};
use mamori_db::{DbError, parse_timestamp, timestamp_text};
use serde::Deserialize;
use time::OffsetDateTime;

use crate::password;
use crate::session::{self, CsrfForm, Pending, RemoteAddr, RequestId, Viewer};
use crate::views::{datetime_ja, page};
use crate::{AppError, AppState};

/// Routes of this feature.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/login", get(login_page).post(login))
        .route("/login/totp", get(totp_page).post(totp))
        .route("/login/enroll", get(enroll_page).post(enroll))
        .route("/login/password", get(change_page).post(change))
        .route("/logout", axum::routing::post(logout))
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    error: Option<&'a str>,
    login: &'a str,
}

#[derive(Template)]
#[template(path = "login_totp.html")]
struct TotpPage<'a> {
    csrf: &'a str,
    error: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "login_enroll.html")]
struct EnrollPage<'a> {
    csrf: &'a str,
    qr: &'a str,
    secret: &'a str,
    error: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "recovery_codes.html")]
struct RecoveryCodesPage<'a> {
    codes: &'a [String],
    next: &'a str,
}

#[derive(Template)]
#[template(path = "login_password.html")]
struct ChangePage<'a> {
    csrf: &'a str,
    error: Option<&'a str>,
}

async fn login_page(viewer: Option<Viewer>) -> Result<Response, AppError> {
    if viewer.is_some() {
        return Ok(Redirect::to("/").into_response());
    }
    page(&LoginPage {
        error: None,
        login: "",
    })
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    login: String,
    #[serde(default)]
    password: String,
}

const BAD_CREDENTIALS: &str = "ログインIDまたはパスワードが正しくありません。";

fn login_key(login: &str) -> String {
    format!("login:{login}")
}

fn addr_key(addr: &str) -> String {
    format!("addr:{addr}")
}

/// The message for a locked key, if it is locked now.
async fn locked(state: &AppState, key: &str) -> Result<Option<String>, AppError> {
    let Some(t) = auth::throttle(&state.db, key).await? else {
        return Ok(None);
    };
    let until = t.locked_until.as_deref().and_then(parse_timestamp);
    Ok(match until {
        Some(u) if u > OffsetDateTime::now_utc() => Some(format!(
            "ログインの失敗が続いたため、一時的にロックしています。{}以降に再度お試しください。",
            datetime_ja(&timestamp_text(u))
        )),
        _ => None,
    })
}

/// Counts a failure for `key`; returns true when this failure locked it.
async fn fail(state: &AppState, key: &str, threshold: i64) -> Result<bool, AppError> {
    let now = OffsetDateTime::now_utc();
    let window = state.config.lockout_window;
    let current = auth::throttle(&state.db, key).await?;
    let mut t = match current {
        Some(t) if parse_timestamp(&t.window_start).is_some_and(|s| s + window > now) => t,
        _ => Throttle {
            failures: 0,
            window_start: timestamp_text(now),
            locked_until: None,
        },
    };
    t.failures += 1;
    let lock_now = t.failures >= threshold
        && t.locked_until
            .as_deref()
            .and_then(parse_timestamp)
            .is_none_or(|u| u <= now);
    if lock_now {
        t.locked_until = Some(timestamp_text(now + state.config.lockout_duration));
    }
    let mut tx = state.db.begin_write().await?;
    auth::set_throttle(&mut tx, key, &t).await?;
    tx.commit().await.map_err(DbError::from)?;
    Ok(lock_now)
}

fn entry(person: Option<&Person>, actor: &str, action: &str, rid: &str) -> NewEntry {
    NewEntry {
        org_id: person.map(|p| p.org_id),
        actor_id: person.map(|p| p.id),
        actor: actor.to_owned(),
        action: action.to_owned(),
        object_type: "person".to_owned(),
        object_id: person.map(|p| p.id.to_string()),
        request_id: Some(rid.to_owned()),
        ..NewEntry::default()
    }
}

async fn login(
    State(state): State<AppState>,
    RequestId(rid): RequestId,
    RemoteAddr(addr): RemoteAddr,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, AppError> {
    let login = mamori_core::text::normalize(&form.login).to_lowercase();
    let shown_login: String = login.chars().take(64).collect();
    for key in [login_key(&login), addr_key(&addr)] {
        if let Some(msg) = locked(&state, &key).await? {
            let mut resp = page(&LoginPage {
                error: Some(&msg),
                login: &shown_login,
            })?;
            *resp.status_mut() = axum::http::StatusCode::TOO_MANY_REQUESTS;
            return Ok(resp);
        }
    }
    let person = if login.is_empty() || login.len() > 64 {
        None
    } else {
        org::person_by_login(&state.db, &login).await?
    };
    let stored = match &person {
        Some(p) => auth::password_hash(&state.db, p.id).await?,
        None => None,
    };
    let ok = password::verify(form.password, stored, state.config.argon2_memory_kib).await?
        && person.as_ref().is_some_and(|p| p.status == "active");
    let Some(person) = person.filter(|_| ok) else {
        let known = org::person_by_login(&state.db, &login).await?;
        let mut e = entry(known.as_ref(), &shown_login, "login.failure", &rid);
        e.after = Some(serde_json::json!({"remote_addr": addr}));
        audit::record(&state.db, e).await?;
        let threshold = state.config.lockout_threshold;
        let account_locked = fail(&state, &login_key(&login), threshold).await?;
        let addr_locked = fail(&state, &addr_key(&addr), threshold * 4).await?;
        if account_locked || addr_locked {
            let mut e = entry(known.as_ref(), &shown_login, "login.lockout", &rid);
            e.after = Some(
                serde_json::json!({"remote_addr": addr, "by": if account_locked {"account"} else {"address"}}),
            );
            audit::record(&state.db, e).await?;
        }
        let mut resp = page(&LoginPage {
            error: Some(BAD_CREDENTIALS),
            login: &shown_login,
        })?;
        *resp.status_mut() = axum::http::StatusCode::UNAUTHORIZED;
        return Ok(resp);
    };
    let mut tx = state.db.begin_write().await?;
    auth::clear_throttle(&mut tx, &login_key(&login)).await?;
    tx.commit().await.map_err(DbError::from)?;
    let stage = next_stage(&state, &person, "password").await?;
    let old = session::cookie(&headers, session::COOKIE);
    let value = session::start(&state, old.as_deref(), person.id, stage, &addr).await?;
    let action = if stage == "full" {
        "login.success"
    } else {
        "login.password_ok"
    };
    audit::record(&state.db, entry(Some(&person), &person.login, action, &rid)).await?;
    let mut resp = Redirect::to(stage_url(stage)).into_response();
    resp.headers_mut().insert(
        header::SET_COOKIE,
        session::session_cookie(&value, state.config.secure_cookies),
    );
    Ok(resp)
}

/// What a login must go through after `done`: the second factor, then a forced password
/// change, then it is complete.
async fn next_stage(
    state: &AppState,
    person: &Person,
    done: &str,
) -> Result<&'static str, AppError> {
    if done == "password" {
        if person.totp_enabled == 1 {
            return Ok("totp");
        }
        let tree = org::unit_tree(&state.db, mamori_core::org::OrgId(person.org_id)).await?;
        let actor = org::actor(&state.db, person, &tree, &session::today_jst()).await?;
        if actor.held.iter().any(|h| h.role.requires_mfa()) {
            return Ok("enroll");
        }
    }
    if done != "change_password" && person.must_change_password == 1 {
        return Ok("change_password");
    }
    Ok("full")
}

fn stage_url(stage: &str) -> &'static str {
    match stage {
        "totp" => "/login/totp",
        "enroll" => "/login/enroll",
        "change_password" => "/login/password",
        _ => "/",
    }
}

fn require_stage(pending: &Pending, stage: &str) -> Result<(), AppError> {
    if pending.session.stage == stage {
        Ok(())
    } else {
        Err(AppError::Unauthenticated)
    }
}

async fn advance(
    state: &AppState,
    pending: &Pending,
    done: &str,
) -> Result<&'static str, AppError> {
    let person = org::person(
        &state.db,
        mamori_core::org::OrgId(pending.person.org_id),
        pending.person.id,
    )
    .await?;
    let stage = next_stage(state, &person, done).await?;
    let mut tx = state.db.begin_write().await?;
    auth::set_session_stage(&mut tx, &pending.session.id_hash, stage).await?;
    if stage == "full" {
        audit::append(
            &mut tx,
            entry(
                Some(&person),
                &person.login,
                "login.success",
                &pending.request_id,
            ),
        )
        .await?;
    }
    tx.commit().await.map_err(DbError::from)?;
    Ok(stage)
}

async fn totp_page(pending: Pending) -> Result<Response, AppError> {
    require_stage(&pending, "totp")?;
    page(&TotpPage {
        csrf: &pending.session.csrf_token,
        error: None,
    })
}

#[derive(Deserialize)]
struct CodeForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    recovery_code: String,
}

fn unix_now() -> u64 {
    u64::try_from(OffsetDateTime::now_utc().unix_timestamp()).unwrap_or(0)
}

async fn totp(
    State(state): State<AppState>,
    pending: Pending,
    CsrfForm(form): CsrfForm<CodeForm>,
) -> Result<Response, AppError> {
    require_stage(&pending, "totp")?;
    let person = &pending.person;
    let key = login_key(&person.login);
    if let Some(msg) = locked(&state, &key).await? {
        return Err(AppError::Locked(msg));
    }
    let mut tx = state.db.begin_write().await?;
    let accepted = if !form.recovery_code.trim().is_empty() {
        let hash = auth::secret_hash(&password::normalize_recovery_code(&form.recovery_code));
        let used = auth::use_recovery_code(&mut tx, person.id, &hash).await?;
        if used {
            audit::append(
                &mut tx,
                entry(
                    Some(person),
                    &person.login,
                    "mfa.recovery_code_used",
                    &pending.request_id,
                ),
            )
            .await?;
        }
        used
    } else {
        let (secret, enabled, _) = auth::totp_state(&state.db, person.id).await?;
        match (secret, enabled) {
            (Some(secret), true) => match password::check_totp(&secret, &form.code, unix_now())? {
                Some(step) => auth::accept_totp_step(&mut tx, person.id, step).await?,
                None => false,
            },
            _ => false,
        }
    };
    tx.commit().await.map_err(DbError::from)?;
    if !accepted {
        audit::record(
            &state.db,
            entry(
                Some(person),
                &person.login,
                "login.mfa_failure",
                &pending.request_id,
            ),
        )
        .await?;
        if fail(&state, &key, state.config.lockout_threshold).await? {
            audit::record(
                &state.db,
                entry(
                    Some(person),
                    &person.login,
                    "login.lockout",
                    &pending.request_id,
                ),
            )
            .await?;
        }
        let mut resp = page(&TotpPage {
            csrf: &pending.session.csrf_token,
            error: Some("確認コードが正しくないか、既に使用されています。"),
        })?;
        *resp.status_mut() = axum::http::StatusCode::UNAUTHORIZED;
        return Ok(resp);
    }
    let stage = advance(&state, &pending, "totp").await?;
    Ok(Redirect::to(stage_url(stage)).into_response())
}

async fn enroll_page(
    State(state): State<AppState>,
    pending: Pending,
) -> Result<Response, AppError> {
    require_stage(&pending, "enroll")?;
    let person = &pending.person;
    let (secret, enabled, _) = auth::totp_state(&state.db, person.id).await?;
    let secret = match secret {
        Some(s) if !enabled => s,
        _ => {
            let s = password::new_totp_secret();
            let mut tx = state.db.begin_write().await?;
            auth::set_totp_secret(&mut tx, person.id, Some(&s), false).await?;
            tx.commit().await.map_err(DbError::from)?;
            s
        }
    };
    render_enroll(&pending, &secret, None)
}

fn render_enroll(
    pending: &Pending,
    secret: &str,
    error: Option<&str>,
) -> Result<Response, AppError> {
    let url = password::totp_url(secret, &pending.person.login)?;
    let qr = password::qr_svg(&url)?;
    page(&EnrollPage {
        csrf: &pending.session.csrf_token,
        qr: &qr,
        secret,
        error,
    })
}

async fn enroll(
    State(state): State<AppState>,
    pending: Pending,
    CsrfForm(form): CsrfForm<CodeForm>,
) -> Result<Response, AppError> {
    require_stage(&pending, "enroll")?;
    let person = &pending.person;
    let (secret, enabled, _) = auth::totp_state(&state.db, person.id).await?;
    let Some(secret) = secret.filter(|_| !enabled) else {
        return Ok(Redirect::to("/login/enroll").into_response());
    };
    let Some(step) = password::check_totp(&secret, &form.code, unix_now())? else {
        let mut resp = render_enroll(
            &pending,
            &secret,
            Some(
                "確認コードが正しくありません。認証アプリに表示されている6桁の数字を入力してください。",
            ),
        )?;
        *resp.status_mut() = axum::http::StatusCode::BAD_REQUEST;
        return Ok(resp);
    };
    let codes = password::recovery_codes();
    let hashes: Vec<String> = codes
        .iter()
        .map(|c| auth::secret_hash(&password::normalize_recovery_code(c)))
        .collect();
    let mut tx = state.db.begin_write().await?;
    auth::set_totp_secret(&mut tx, person.id, Some(&secret), true).await?;
    auth::accept_totp_step(&mut tx, person.id, step).await?;
    auth::replace_recovery_codes(&mut tx, person.id, &hashes).await?;
    audit::append(
        &mut tx,
        entry(
            Some(person),
            &person.login,
            "mfa.enrolled",
            &pending.request_id,
        ),
    )
    .await?;
    tx.commit().await.map_err(DbError::from)?;
    let stage = advance(&state, &pending, "totp").await?;
    page(&RecoveryCodesPage {
        codes: &codes,
        next: stage_url(stage),
    })
}

async fn change_page(pending: Pending) -> Result<Response, AppError> {
    require_stage(&pending, "change_password")?;
    page(&ChangePage {
        csrf: &pending.session.csrf_token,
        error: None,
    })
}

#[derive(Deserialize)]
struct ChangeForm {
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    confirm: String,
}

async fn change(
    State(state): State<AppState>,
    pending: Pending,
    CsrfForm(form): CsrfForm<ChangeForm>,
) -> Result<Response, AppError> {
    require_stage(&pending, "change_password")?;
    let problem = if form.new_password != form.confirm {
        Some("確認用のパスワードが一致しません".to_owned())
    } else {
        password::check_strength(&form.new_password, &pending.person.login).err()
    };
    if let Some(msg) = problem {
        let mut resp = page(&ChangePage {
            csrf: &pending.session.csrf_token,
            error: Some(&msg),
        })?;
        *resp.status_mut() = axum::http::StatusCode::BAD_REQUEST;
        return Ok(resp);
    }
    let hash = password::hash(form.new_password, state.config.argon2_memory_kib).await?;
    let mut tx = state.db.begin_write().await?;
    auth::set_password_hash(&mut tx, pending.person.id, &hash, false).await?;
    audit::append(
        &mut tx,
        entry(
            Some(&pending.person),
            &pending.person.login,
            "password.change",
            &pending.request_id,
        ),
    )
    .await?;
    tx.commit().await.map_err(DbError::from)?;
    let stage = advance(&state, &pending, "change_password").await?;
    Ok(Redirect::to(stage_url(stage)).into_response())
}

#[derive(Deserialize)]
struct Empty {}

async fn logout(
    State(state): State<AppState>,
    RequestId(rid): RequestId,
    headers: HeaderMap,
    viewer: Option<Viewer>,
    pending: Option<Pending>,
    CsrfForm(_): CsrfForm<Empty>,
) -> Result<Response, AppError> {
    if let Some(value) = session::cookie(&headers, session::COOKIE) {
        let person = viewer.map(|v| v.person).or(pending.map(|p| p.person));
        let mut tx = state.db.begin_write().await?;
        auth::delete_session(&mut tx, &auth::secret_hash(&value)).await?;
        if let Some(p) = &person {
            audit::append(&mut tx, entry(Some(p), &p.login, "logout", &rid)).await?;
        }
        tx.commit().await.map_err(DbError::from)?;
    }
    let mut resp = Redirect::to("/login").into_response();
    resp.headers_mut()
        .insert(header::SET_COOKIE, session::clear_cookie());
    Ok(resp)
}
