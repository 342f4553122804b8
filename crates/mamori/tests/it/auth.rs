//! Logging in: password, lockout, TOTP enrolment and codes, recovery codes, sessions, CSRF.

use http::StatusCode;

use crate::common::{PASSWORD, TestApp, test_config};

#[tokio::test]
async fn login_succeeds_and_shows_the_japanese_dashboard() {
    let app = TestApp::new().await;
    let mut c = app.login("somu").await;
    let home = c.get("/").await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.body.contains("笠井 直樹"), "{}", home.body);
    assert!(home.body.contains("lang=\"ja\""));
    assert_eq!(app.audit_count("login.success").await, 1);
}

#[tokio::test]
async fn wrong_password_and_unknown_login_get_the_same_answer() {
    let app = TestApp::new().await;
    let mut c = app.client();
    let wrong = c
        .post_form(
            "/login",
            &[("login", "somu"), ("password", "not-the-password")],
        )
        .await;
    let unknown = c
        .post_form("/login", &[("login", "nobody"), ("password", PASSWORD)])
        .await;
    for r in [&wrong, &unknown] {
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
        assert!(
            r.body
                .contains("ログインIDまたはパスワードが正しくありません")
        );
    }
    assert!(c.cookies.is_empty(), "no session for a failed login");
    assert_eq!(app.audit_count("login.failure").await, 2);
    assert_eq!(app.count("session").await, 0);
}

#[tokio::test]
async fn retired_staff_cannot_log_in() {
    let app = TestApp::new().await;
    let mut c = app.client();
    let r = c
        .post_form(
            "/login",
            &[("login", "sato.retired"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn repeated_failures_lock_the_account_until_the_lock_expires() {
    let app = TestApp::new().await;
    let threshold = test_config().lockout_threshold;
    for i in 0..threshold {
        // Different addresses: the account lock, not the address lock, is under test.
        let mut c = app.client_from(&format!("10.0.0.{}:40000", i + 1));
        c.post_form(
            "/login",
            &[("login", "somu"), ("password", "wrong-password")],
        )
        .await;
    }
    let mut c = app.client_from("10.0.1.1:40000");
    let r = c
        .post_form("/login", &[("login", "somu"), ("password", PASSWORD)])
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
    assert!(r.body.contains("一時的にロック"), "{}", r.body);
    assert!(c.cookies.is_empty());
    assert_eq!(app.audit_count("login.lockout").await, 1);

    // The lock ends when its time has passed (moved into the past here instead of waiting).
    sqlx::query("UPDATE login_throttle SET locked_until = $1, window_start = $1 WHERE key = $2")
        .bind("2000-01-01T00:00:00.000000Z")
        .bind("login:somu")
        .execute(app.db.pool())
        .await
        .unwrap();
    let mut c = app.client_from("10.0.1.2:40000");
    c.login("somu", PASSWORD).await;
}

#[tokio::test]
async fn repeated_failures_from_one_address_lock_that_address() {
    let app = TestApp::new().await;
    let threshold = test_config().lockout_threshold;
    let mut c = app.client_from("192.0.2.7:40000");
    // An office shares one address behind NAT: the address limit is four times the account one.
    for i in 0..threshold * 4 {
        let login = format!("guess{i}");
        c.post_form("/login", &[("login", &login), ("password", "x")])
            .await;
    }
    let r = c
        .post_form("/login", &[("login", "somu"), ("password", PASSWORD)])
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
    // Another address is unaffected.
    app.client_from("192.0.2.8:40000")
        .login("somu", PASSWORD)
        .await;
}

#[tokio::test]
async fn privileged_roles_must_enrol_totp_and_then_use_it() {
    let app = TestApp::new().await;
    let mut c = app.client();
    let r = c
        .post_form("/login", &[("login", "ciso"), ("password", PASSWORD)])
        .await;
    assert_eq!(r.location(), Some("/login/enroll"));
    // Half logged in: no page of the application yet.
    let home = c.get("/").await;
    assert_ne!(home.status, StatusCode::OK);
    let enrol = c.get("/login/enroll").await;
    assert!(enrol.body.contains("<svg"), "QR code drawn inline");
    let secret = enrol.by_id("totp-secret").unwrap();
    let bad = c.post_form("/login/enroll", &[("code", "000000")]).await;
    assert_ne!(bad.status, StatusCode::SEE_OTHER);
    assert!(bad.body.contains("確認コード"), "{}", bad.body);
    c.totp_secret = Some(secret);
    let code = c.next_code();
    let done = c.post_form("/login/enroll", &[("code", &code)]).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    let codes = crate::common::scrape_codes(&done.body);
    assert_eq!(codes.len(), 10, "{}", done.body);
    assert_eq!(c.get("/").await.status, StatusCode::OK);

    // Next login asks for a code; a wrong one and a reused one are refused.
    c.post_form("/logout", &[]).await;
    let r = c
        .post_form("/login", &[("login", "ciso"), ("password", PASSWORD)])
        .await;
    assert_eq!(r.location(), Some("/login/totp"));
    c.get("/login/totp").await;
    let wrong = c.post_form("/login/totp", &[("code", "123456")]).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED, "{}", wrong.body);
    let reused = c.post_form("/login/totp", &[("code", &code)]).await;
    assert_eq!(reused.status, StatusCode::UNAUTHORIZED, "a code works once");
    let fresh = c.next_code();
    let ok = c.post_form("/login/totp", &[("code", &fresh)]).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    assert_eq!(c.get("/").await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_recovery_code_works_once() {
    let app = TestApp::new().await;
    let mut c = app.login("tokatsu").await;
    let code = c.recovery_codes.first().unwrap().clone();
    c.post_form("/logout", &[]).await;

    let mut again = app.client();
    again
        .post_form("/login", &[("login", "tokatsu"), ("password", PASSWORD)])
        .await;
    again.get("/login/totp").await;
    let ok = again
        .post_form("/login/totp", &[("code", ""), ("recovery_code", &code)])
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    assert_eq!(app.audit_count("mfa.recovery_code_used").await, 1);
    again.post_form("/logout", &[]).await;

    let mut third = app.client();
    third
        .post_form("/login", &[("login", "tokatsu"), ("password", PASSWORD)])
        .await;
    third.get("/login/totp").await;
    let refused = third
        .post_form("/login/totp", &[("code", ""), ("recovery_code", &code)])
        .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_session_cookie_is_renewed_at_login_and_strict() {
    let app = TestApp::new().await;
    let mut c = app.client();
    // A cookie planted before login (session fixation) is not the one used after it.
    c.cookies
        .insert("mamori_session".into(), "planted-value".into());
    let r = c
        .post_form("/login", &[("login", "somu"), ("password", PASSWORD)])
        .await;
    let set = r.headers.get("set-cookie").unwrap().to_str().unwrap();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    assert!(!set.contains("Secure"), "plain HTTP in tests");
    let first = c.cookies.get("mamori_session").cloned().unwrap();
    assert_ne!(first, "planted-value");
    c.post_form("/logout", &[]).await;
    c.login("somu", PASSWORD).await;
    assert_ne!(c.cookies.get("mamori_session"), Some(&first));
    // Only the database's hash of the cookie is stored.
    let stored: Vec<String> = sqlx::query_scalar("SELECT id_hash FROM session")
        .fetch_all(app.db.pool())
        .await
        .unwrap();
    assert!(
        stored
            .iter()
            .all(|h| !h.contains(c.cookies["mamori_session"].as_str()))
    );
}

#[tokio::test]
async fn secure_cookies_when_configured() {
    let app = TestApp::with_config(mamori_web::AppConfig {
        secure_cookies: true,
        ..test_config()
    })
    .await;
    let mut c = app.client();
    let r = c
        .post_form("/login", &[("login", "somu"), ("password", PASSWORD)])
        .await;
    let set = r.headers.get("set-cookie").unwrap().to_str().unwrap();
    assert!(set.contains("Secure"), "{set}");
}

#[tokio::test]
async fn idle_and_absolute_timeouts_end_the_session() {
    let app = TestApp::new().await;
    let mut c = app.login("somu").await;
    sqlx::query("UPDATE session SET last_seen_at = $1")
        .bind("2000-01-01T00:00:00.000000Z")
        .execute(app.db.pool())
        .await
        .unwrap();
    let r = c.get("/").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), Some("/login"));
    assert_eq!(
        app.count("session").await,
        0,
        "the expired session is removed"
    );

    let mut c = app.login("somu").await;
    sqlx::query("UPDATE session SET expires_at = $1")
        .bind("2000-01-01T00:00:00.000000Z")
        .execute(app.db.pool())
        .await
        .unwrap();
    assert_eq!(c.get("/").await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn forged_session_cookies_lead_to_the_login_page() {
    let app = TestApp::new().await;
    let mut c = app.client();
    c.cookies.insert("mamori_session".into(), "forged".into());
    let r = c.get("/org").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), Some("/login"));
    c.cookies.insert("mamori_session".into(), "x".repeat(5000));
    let r = c.get("/org").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn forms_without_the_csrf_token_or_from_another_site_are_refused() {
    let app = TestApp::new().await;
    let mut c = app.login("tokatsu").await;
    let before = app.count("person").await;
    let fields = [
        ("login", "new.person"),
        ("name", "新規 太郎"),
        ("unit_id", "1"),
        ("employment", "regular"),
        ("status", "active"),
    ];
    let mut no_token: Vec<(&str, &str)> = fields.to_vec();
    no_token.push(("csrf", ""));
    let r = c.post_form("/org/persons", &no_token).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert!(
        r.body.contains("この操作は許可されていません"),
        "{}",
        r.body
    );

    let mut wrong: Vec<(&str, &str)> = fields.to_vec();
    wrong.push(("csrf", "wrong-token"));
    assert_eq!(
        c.post_form("/org/persons", &wrong).await.status,
        StatusCode::FORBIDDEN
    );

    // The right token but a cross-site request.
    let token = c.csrf.clone().unwrap();
    let mut right: Vec<(&str, &str)> = fields.to_vec();
    right.push(("csrf", &token));
    let req = http::Request::builder()
        .method("POST")
        .uri("/org/persons")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("origin", "http://attacker.example")
        .header("sec-fetch-site", "cross-site")
        .body(axum::body::Body::from(crate::common::form_body(&right)))
        .unwrap();
    assert_eq!(c.send(req).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.count("person").await, before, "nothing written");
}

#[tokio::test]
async fn logout_ends_the_session() {
    let app = TestApp::new().await;
    let mut c = app.login("somu").await;
    let r = c.post_form("/logout", &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(app.count("session").await, 0);
    assert_eq!(c.get("/").await.status, StatusCode::SEE_OTHER);
    assert_eq!(app.audit_count("logout").await, 1);
}

#[tokio::test]
async fn password_change_requires_the_current_password() {
    let app = TestApp::new().await;
    let mut c = app.login("somu").await;
    c.get("/account").await;
    let bad = c
        .post_form(
            "/account/password",
            &[
                ("current", "wrong"),
                ("new_password", "Another-Passw0rd!"),
                ("confirm", "Another-Passw0rd!"),
            ],
        )
        .await;
    assert_ne!(bad.status, StatusCode::SEE_OTHER);
    let ok = c
        .post_form(
            "/account/password",
            &[
                ("current", PASSWORD),
                ("new_password", "Another-Passw0rd!"),
                ("confirm", "Another-Passw0rd!"),
            ],
        )
        .await;
    assert!(
        ok.status.is_success() || ok.status.is_redirection(),
        "{}",
        ok.body
    );
    c.post_form("/logout", &[]).await;
    app.client().login("somu", "Another-Passw0rd!").await;
}

#[tokio::test]
async fn administrator_reset_forces_a_new_password_at_next_login() {
    let app = TestApp::new().await;
    let mut admin = app.login("tokatsu").await;
    let id = app.person_id("somu").await;
    admin.get(&format!("/org/persons/{id}")).await;
    let r = admin
        .post_form(&format!("/org/persons/{id}/reset-password"), &[])
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let temp = r
        .by_id("temporary-password")
        .expect("temporary password shown once");
    let mut c = app.client();
    let r = c
        .post_form("/login", &[("login", "somu"), ("password", &temp)])
        .await;
    assert_eq!(r.location(), Some("/login/password"), "{}", r.body);
    c.get("/login/password").await;
    let done = c
        .post_form(
            "/login/password",
            &[
                ("new_password", "Brand-New-Passw0rd"),
                ("confirm", "Brand-New-Passw0rd"),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(c.get("/").await.status, StatusCode::OK);
}
