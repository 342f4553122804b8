//! Wrong input of every class — malformed JSON, wrong content types, oversized bodies, unknown
//! routes, malformed forms, expired or forged credentials — is answered with a clear Japanese
//! message (a page in the UI, a JSON error under `/api/`), with the request id, and writes
//! nothing. Also: the health check, the security headers of every page, and that no page
//! refers to another host.

use std::collections::{BTreeSet, VecDeque};

use axum::body::Body;
use http::{Method, Request, StatusCode, header};
use serde_json::json;

use crate::common::{Client, Resp, TestApp, test_config};
use crate::support::{assert_error_page, assert_json_error, has_japanese, snapshot, strip_tags};

async fn raw(
    c: &mut Client,
    method: Method,
    path: &str,
    ctype: Option<&str>,
    body: Vec<u8>,
) -> Resp {
    let mut b = Request::builder()
        .method(method)
        .uri(path)
        .header(header::ORIGIN, "http://localhost")
        .header("sec-fetch-site", "same-origin");
    if let Some(ct) = ctype {
        b = b.header(header::CONTENT_TYPE, ct);
    }
    c.send(b.body(Body::from(body)).unwrap()).await
}

async fn api_raw(
    c: &mut Client,
    method: Method,
    path: &str,
    token: &str,
    ctype: Option<&str>,
    body: impl Into<Vec<u8>>,
) -> Resp {
    let mut b = Request::builder()
        .method(method)
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"));
    if let Some(ct) = ctype {
        b = b.header(header::CONTENT_TYPE, ct);
    }
    c.send(b.body(Body::from(body.into())).unwrap()).await
}

#[tokio::test]
async fn malformed_json_is_a_json_error_and_writes_nothing() {
    let app = TestApp::new().await;
    let token = app.token("tokatsu").await;
    let keiri = app.person_id("keiri").await;
    let mut c = app.client();
    let before = snapshot(&app).await;
    let targets = [
        (Method::POST, "/api/v1/persons".to_owned()),
        (Method::PUT, format!("/api/v1/persons/{keiri}")),
        (Method::POST, format!("/api/v1/persons/{keiri}/assignments")),
    ];
    for (method, path) in &targets {
        // Not JSON at all: 400, naming where it broke.
        for body in ["{", "not json", "{\"login\": }", "\u{feff}{}x"] {
            let r = api_raw(
                &mut c,
                method.clone(),
                path,
                &token,
                Some("application/json"),
                body,
            )
            .await;
            let msg = assert_json_error(&r, StatusCode::BAD_REQUEST, "bad_request");
            assert!(msg.contains("JSON"), "{path} {body}: {msg}");
        }
        // JSON, but not the expected document: 422, naming the field where known.
        for body in ["[]", "null", "42", "{}", "{\"login\": 5, \"name\": \"x\"}"] {
            let r = api_raw(
                &mut c,
                method.clone(),
                path,
                &token,
                Some("application/json"),
                body,
            )
            .await;
            let msg = assert_json_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "unprocessable");
            if body == "{}" {
                assert!(msg.contains("必須の項目"), "{path}: {msg}");
            }
        }
    }
    let r = api_raw(
        &mut c,
        Method::POST,
        "/api/v1/persons",
        &token,
        Some("application/json"),
        r#"{"login": "half.done", "name": "途中 太郎"}"#,
    )
    .await;
    let msg = assert_json_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "unprocessable");
    assert!(msg.contains("「unit」"), "{msg}");
    assert_eq!(snapshot(&app).await, before, "nothing written");
}

#[tokio::test]
async fn invalid_values_through_the_api_are_named_in_japanese() {
    let app = TestApp::new().await;
    let token = app.token("tokatsu").await;
    let keiri = app.person_id("keiri").await;
    let mut c = app.client();
    let before = snapshot(&app).await;
    let person = |k: &str, v: &str| {
        let mut p = json!({"login": "valid.login", "name": "正しい 名前", "unit": "jimu",
            "employment": "regular", "email": "a@example.lg.jp"});
        p[k] = json!(v);
        p
    };
    for (body, expected) in [
        (person("login", "Bad Login!"), "ログインID"),
        (person("login", "ab"), "ログインID"),
        (person("name", ""), "氏名"),
        (person("name", &"長".repeat(101)), "氏名"),
        (person("unit", "nosuch"), "組織コード「nosuch」はありません"),
        (person("employment", "アルバイト"), "雇用形態"),
        (person("status", "休職"), "在職状況"),
        (person("email", "not-an-address"), "メールアドレス"),
        (person("login", "somu"), "既に使われています"),
    ] {
        let r = c
            .api(Method::POST, "/api/v1/persons", &token, Some(body.clone()))
            .await;
        let status = if expected == "既に使われています" {
            StatusCode::CONFLICT
        } else {
            StatusCode::BAD_REQUEST
        };
        let code = if status == StatusCode::CONFLICT {
            "conflict"
        } else {
            "bad_request"
        };
        let msg = assert_json_error(&r, status, code);
        assert!(msg.contains(expected), "{body}: {msg}");
    }
    for (body, expected) in [
        (
            json!({"role": "superuser", "unit": "jimu", "valid_from": "2026-04-01"}),
            "役割「superuser」",
        ),
        (
            json!({"role": "staff", "unit": "nosuch", "valid_from": "2026-04-01"}),
            "組織コード",
        ),
        (
            json!({"role": "staff", "unit": "jimu", "valid_from": "2026-13-45"}),
            "開始日",
        ),
        (
            json!({"role": "staff", "unit": "jimu", "valid_from": "いつか"}),
            "開始日",
        ),
        (
            json!({"role": "staff", "unit": "jimu", "valid_from": ""}),
            "開始日",
        ),
        (
            json!({"role": "staff", "unit": "jimu", "valid_from": "2026-04-01", "valid_to": "2025-04-01"}),
            "終了日は開始日以降",
        ),
    ] {
        let r = c
            .api(
                Method::POST,
                &format!("/api/v1/persons/{keiri}/assignments"),
                &token,
                Some(body.clone()),
            )
            .await;
        let msg = assert_json_error(&r, StatusCode::BAD_REQUEST, "bad_request");
        assert!(msg.contains(expected), "{body}: {msg}");
    }
    // Query strings: a bad page number, date, sequence or export format.
    for (path, status, code) in [
        (
            "/api/v1/persons?page=abc",
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            "/api/v1/persons?unit=nosuch",
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            "/api/v1/audit?from=yesterday",
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            "/api/v1/audit?before=x",
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            "/api/v1/audit?format=xml",
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            "/api/v1/persons/abc",
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            "/api/v1/persons/99999999999999999999",
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            "/api/v1/persons/987654321",
            StatusCode::NOT_FOUND,
            "not_found",
        ),
    ] {
        let r = c.api(Method::GET, path, &token, None).await;
        assert_json_error(&r, status, code);
    }
    assert_eq!(snapshot(&app).await, before, "nothing written");
}

#[tokio::test]
async fn wrong_content_types_are_415() {
    let app = TestApp::new().await;
    let token = app.token("tokatsu").await;
    let mut c = app.login("tokatsu").await;
    let csrf = c.csrf.clone().unwrap();
    let before = snapshot(&app).await;
    let person = json!({"login": "wrong.type", "name": "形式 違い", "unit": "jimu",
        "employment": "regular"})
    .to_string();
    for ct in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("application/xml"),
    ] {
        let r = api_raw(
            &mut c,
            Method::POST,
            "/api/v1/persons",
            &token,
            ct,
            person.clone(),
        )
        .await;
        let msg = assert_json_error(
            &r,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        );
        assert!(msg.contains("JSON"), "{msg}");
    }
    // Forms sent as JSON, text or multipart.
    let form = crate::common::form_body(&[
        ("login", "wrong.type"),
        ("name", "形式 違い"),
        ("unit", "jimu"),
        ("employment", "regular"),
        ("csrf", &csrf),
    ]);
    for ct in [
        None,
        Some("application/json"),
        Some("text/plain"),
        Some("multipart/form-data; boundary=x"),
    ] {
        let r = raw(
            &mut c,
            Method::POST,
            "/org/persons",
            ct,
            form.clone().into_bytes(),
        )
        .await;
        assert_error_page(&r, StatusCode::UNSUPPORTED_MEDIA_TYPE, "形式");
        let r = raw(
            &mut c,
            Method::POST,
            "/login",
            ct,
            b"login=somu&password=x".to_vec(),
        )
        .await;
        assert_error_page(&r, StatusCode::UNSUPPORTED_MEDIA_TYPE, "形式");
    }
    assert_eq!(snapshot(&app).await, before, "nothing written");
    assert_eq!(app.audit_count("login.failure").await, 0);
}

#[tokio::test]
async fn oversized_bodies_are_413() {
    let app = TestApp::with_config(mamori_web::AppConfig {
        max_body_bytes: 4096,
        ..test_config()
    })
    .await;
    let token = app.token("tokatsu").await;
    let mut c = app.login("tokatsu").await;
    let csrf = c.csrf.clone().unwrap();
    let before = snapshot(&app).await;
    let big = "長".repeat(5000);
    let r = c
        .api(
            Method::POST,
            "/api/v1/persons",
            &token,
            Some(json!({"login": "big.one", "name": big, "unit": "jimu", "employment": "regular"})),
        )
        .await;
    let msg = assert_json_error(&r, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    assert!(msg.contains("上限"), "{msg}");
    for path in [
        "/org/persons",
        "/policy/import",
        "/org/units",
        "/account/tokens",
    ] {
        let body = crate::common::form_body(&[
            ("csrf", &csrf),
            ("login", "big.one"),
            ("name", &big),
            ("text", &big),
            ("unit", "jimu"),
            ("employment", "regular"),
        ]);
        let r = raw(
            &mut c,
            Method::POST,
            path,
            Some("application/x-www-form-urlencoded"),
            body.into_bytes(),
        )
        .await;
        assert_error_page(
            &r,
            StatusCode::PAYLOAD_TOO_LARGE,
            "送信されたデータが大きすぎます",
        );
    }
    let mut anonymous = app.client();
    let body = crate::common::form_body(&[("login", "somu"), ("password", &big)]);
    let r = raw(
        &mut anonymous,
        Method::POST,
        "/login",
        Some("application/x-www-form-urlencoded"),
        body.into_bytes(),
    )
    .await;
    assert_error_page(
        &r,
        StatusCode::PAYLOAD_TOO_LARGE,
        "送信されたデータが大きすぎます",
    );
    assert_eq!(snapshot(&app).await, before, "nothing written");
    // Just under the limit still works.
    let r = c
        .post_form("/account/tokens", &[("name", &"長".repeat(100))])
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

#[tokio::test]
async fn unknown_routes_and_methods() {
    let app = TestApp::new().await;
    let token = app.token("somu").await;
    let mut anonymous = app.client();
    let mut c = app.login("somu").await;
    for client in [&mut anonymous, &mut c] {
        for path in [
            "/no-such-page",
            "/org/nothing/here",
            "/assets/other.css",
            "/%E3%81%82",
        ] {
            let r = client.get(path).await;
            assert_error_page(&r, StatusCode::NOT_FOUND, "ページが見つかりません");
            assert!(r.body.contains("問合せ番号"), "{}", r.body);
        }
        let r = raw(
            client,
            Method::POST,
            "/no-such-form",
            Some("application/x-www-form-urlencoded"),
            Vec::new(),
        )
        .await;
        assert_error_page(&r, StatusCode::NOT_FOUND, "ページが見つかりません");
        for path in ["/api/v1/nothing", "/api/v2/me", "/api/"] {
            let r = client.get(path).await;
            assert_json_error(&r, StatusCode::NOT_FOUND, "not_found");
        }
    }
    let r = c.api(Method::GET, "/api/v1/nothing", &token, None).await;
    assert_json_error(&r, StatusCode::NOT_FOUND, "not_found");
    // A known path with a method it does not take.
    let r = raw(&mut c, Method::DELETE, "/org", None, Vec::new()).await;
    assert_error_page(
        &r,
        StatusCode::METHOD_NOT_ALLOWED,
        "この方法では操作できません",
    );
    let r = c.get("/logout").await;
    assert_error_page(
        &r,
        StatusCode::METHOD_NOT_ALLOWED,
        "この方法では操作できません",
    );
    let r = c.api(Method::DELETE, "/api/v1/me", &token, None).await;
    assert_json_error(&r, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
    // Ids that are not numbers.
    for path in [
        "/org/persons/abc",
        "/org/persons/99999999999999999999",
        "/policy/versions/x",
    ] {
        let r = c.get(path).await;
        assert_error_page(&r, StatusCode::BAD_REQUEST, "入力内容に誤りがあります");
    }
    let r = c.get("/org/persons/987654321").await;
    assert_error_page(&r, StatusCode::NOT_FOUND, "ページが見つかりません");
}

/// A form to post: path, fields, and what the answer must say.
type FormCase<'a> = (String, Vec<(&'a str, &'a str)>, &'a str);

#[tokio::test]
async fn malformed_forms_are_answered_in_japanese_and_change_nothing() {
    let app = TestApp::new().await;
    let mut c = app.login("tokatsu").await;
    let keiri = app.person_id("keiri").await;
    let assignment: i64 =
        sqlx::query_scalar("SELECT MIN(id) FROM role_assignment WHERE person_id = $1")
            .bind(keiri)
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    let jimu = app.unit_id("jimu").await.to_string();
    let before = snapshot(&app).await;
    let person = |k: &'static str, v: &'static str| -> Vec<(&'static str, &'static str)> {
        let mut f = vec![
            ("login", "form.person"),
            ("name", "書式 確認"),
            ("unit", "jimu"),
            ("employment", "regular"),
        ];
        match f.iter_mut().find(|(key, _)| *key == k) {
            Some(e) => e.1 = v,
            None => f.push((k, v)),
        }
        f.retain(|(_, v)| *v != "<omit>");
        f
    };
    let bad: Vec<FormCase> = vec![
        ("/org/persons".into(), person("name", "<omit>"), "「name」"),
        ("/org/persons".into(), person("unit", "<omit>"), "「unit」"),
        (
            "/org/persons".into(),
            person("login", "Bad Login!"),
            "ログインID「Bad Login!」は使用できません",
        ),
        (
            "/org/persons".into(),
            person("unit", "nosuch"),
            "組織コード「nosuch」はありません",
        ),
        (
            "/org/persons".into(),
            person("employment", "正社員"),
            "雇用形態「正社員」",
        ),
        (
            "/org/persons".into(),
            person("status", "休職"),
            "在職状況「休職」",
        ),
        (
            "/org/persons".into(),
            person("email", "not-an-address"),
            "メールアドレス",
        ),
        (
            "/org/persons".into(),
            person("name", "　"),
            "氏名は1〜100文字",
        ),
        (
            format!("/org/persons/{keiri}"),
            person("unit", "<omit>"),
            "「unit」",
        ),
        (
            format!("/org/persons/{keiri}/assignments"),
            vec![
                ("role", "superuser"),
                ("unit", "jimu-zaimu"),
                ("valid_from", "2026-04-01"),
            ],
            "役割「superuser」は認識できません",
        ),
        (
            format!("/org/persons/{keiri}/assignments"),
            vec![
                ("role", "staff"),
                ("unit", "jimu-zaimu"),
                ("valid_from", "2026-02-30"),
            ],
            "開始日",
        ),
        (
            format!("/org/persons/{keiri}/assignments"),
            vec![
                ("role", "staff"),
                ("unit", "jimu-zaimu"),
                ("valid_from", "平成40年1月1日"),
            ],
            "開始日",
        ),
        (
            format!("/org/persons/{keiri}/assignments"),
            vec![
                ("role", "staff"),
                ("unit", "jimu-zaimu"),
                ("valid_from", "2026-04-01"),
                ("valid_to", "2026-03-31"),
            ],
            "終了日は開始日以降の日付にしてください",
        ),
        (
            format!("/org/persons/{keiri}/assignments"),
            vec![("role", "staff"), ("unit", "jimu-zaimu")],
            "「valid_from」",
        ),
        (
            format!("/org/assignments/{assignment}/end"),
            vec![("last_day", "来年")],
            "終了日",
        ),
        (
            "/org/units".into(),
            vec![("parent_id", "abc"), ("code", "x"), ("name", "課")],
            "数値",
        ),
        (
            "/org/units".into(),
            vec![("parent_id", &jimu), ("code", "日本語"), ("name", "課")],
            "組織コード",
        ),
        (
            "/org/units".into(),
            vec![("parent_id", &jimu), ("code", "ok-code"), ("name", "")],
            "組織名",
        ),
        (
            "/org/units".into(),
            vec![
                ("parent_id", "987654321"),
                ("code", "ok-code"),
                ("name", "課"),
            ],
            "上位組織が見つかりません",
        ),
        ("/policy/import".into(), vec![("text", "")], "本文"),
        (
            "/policy/import".into(),
            vec![("note", "本文なし")],
            "「text」",
        ),
    ];
    for (path, fields, expected) in &bad {
        let r = c.post_form(path, fields).await;
        assert_eq!(
            r.status,
            StatusCode::BAD_REQUEST,
            "{path} {fields:?}: {}",
            r.body
        );
        assert_error_page(&r, StatusCode::BAD_REQUEST, expected);
        assert!(r.body.contains("入力内容に誤りがあります"), "{}", r.body);
    }
    // Forms that show their own page with the error.
    for (path, fields, expected) in [
        ("/account/tokens", vec![("name", "")], "トークンの名前"),
        (
            "/account/password",
            vec![
                ("current", "wrong"),
                ("new_password", "x"),
                ("confirm", "x"),
            ],
            "現在のパスワードが正しくありません",
        ),
    ] {
        let r = c.post_form(path, &fields).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{path}");
        assert!(r.body.contains(expected), "{path}: {}", r.body);
    }
    // Bad query strings on pages.
    for (path, expected) in [
        ("/audit?from=yesterday", "入力内容に誤りがあります"),
        ("/audit?before=x", "入力内容に誤りがあります"),
        (
            "/audit/export?format=xml",
            "出力形式「xml」には対応していません",
        ),
        ("/org/persons?page=abc", "入力内容に誤りがあります"),
        (
            "/org/persons?unit=nosuch",
            "組織コード「nosuch」はありません",
        ),
    ] {
        let r = c.get(path).await;
        assert_error_page(&r, StatusCode::BAD_REQUEST, expected);
    }
    assert_eq!(snapshot(&app).await, before, "nothing written");
}

#[tokio::test]
async fn expired_or_forged_cookies_and_tokens() {
    let app = TestApp::new().await;
    // Logins first: they write (second-factor enrolment) before the requests under test.
    let mut c = app.login("tokatsu").await;
    let csrf = c.csrf.clone().unwrap();
    let mut half = app.client();
    half.post_form(
        "/login",
        &[("login", "ciso"), ("password", crate::common::PASSWORD)],
    )
    .await;
    half.get("/login/enroll").await;
    let before = snapshot(&app).await;
    let fields = [
        ("login", "forged.person"),
        ("name", "偽造 太郎"),
        ("unit", "jimu"),
        ("employment", "regular"),
        ("csrf", "whatever"),
    ];
    // A forged cookie: pages send the browser to the login page, forms are refused.
    let mut forged = app.client();
    forged
        .cookies
        .insert("mamori_session".into(), "forged-session-id".into());
    let r = forged.get("/org/persons").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), Some("/login"));
    let r = forged.post_form("/org/persons", &fields).await;
    assert_error_page(&r, StatusCode::UNAUTHORIZED, "ログインが必要です");
    assert!(
        r.body.contains("href=\"/login\""),
        "a way back to the login page"
    );

    // An expired session: the same, and the stale session is removed.
    sqlx::query("UPDATE session SET expires_at = $1 WHERE stage = 'full'")
        .bind("2000-01-01T00:00:00.000000Z")
        .execute(app.db.pool())
        .await
        .unwrap();
    let mut with_csrf: Vec<(&str, &str)> = fields[..4].to_vec();
    with_csrf.push(("csrf", &csrf));
    let r = c.post_form("/org/persons", &with_csrf).await;
    assert_error_page(&r, StatusCode::UNAUTHORIZED, "ログインが必要です");
    assert_eq!(
        app.count("session").await,
        1,
        "only the half-finished login's"
    );
    assert_eq!(c.get("/").await.location(), Some("/login"));

    // A half-finished login (password only, second factor pending) opens no page or form.
    let r = half.post_form("/org/persons", &fields[..4]).await;
    assert_error_page(&r, StatusCode::UNAUTHORIZED, "ログインが必要です");
    assert_eq!(half.get("/org").await.location(), Some("/login"));

    // Forged and stale tokens.
    let mut api = app.client();
    for token in ["forged", "mmr_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"] {
        let r = api
            .api(
                Method::POST,
                "/api/v1/persons",
                token,
                Some(
                    json!({"login": "forged.person", "name": "偽造 太郎", "unit": "jimu",
                    "employment": "regular"}),
                ),
            )
            .await;
        assert_json_error(&r, StatusCode::UNAUTHORIZED, "unauthenticated");
    }
    assert_eq!(snapshot(&app).await, before, "nothing written");
}

#[tokio::test]
async fn healthz_answers_ok_in_json() {
    let app = TestApp::new().await;
    let r = app.client().get("/healthz").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let v = r.json();
    assert_eq!(v["status"], "ok");
    let backend = if crate::common::on_postgres() {
        "postgres"
    } else {
        "sqlite"
    };
    assert_eq!(v["database"], backend);
}

/// The headers every page must carry.
fn assert_security_headers(r: &Resp, what: &str) {
    let h = |name: &str| {
        r.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let csp = h("content-security-policy");
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "frame-ancestors 'none'",
        "form-action 'self'",
        "base-uri 'none'",
    ] {
        assert!(
            csp.contains(directive),
            "{what}: CSP lacks {directive}: {csp}"
        );
    }
    assert!(!csp.contains("unsafe-inline"), "{what}: {csp}");
    assert!(!csp.contains("unsafe-eval"), "{what}: {csp}");
    assert!(
        !csp.contains("http"),
        "{what}: no other host in the CSP: {csp}"
    );
    assert_eq!(h("x-frame-options"), "DENY", "{what}");
    assert_eq!(h("x-content-type-options"), "nosniff", "{what}");
    assert!(
        matches!(
            h("referrer-policy").as_str(),
            "no-referrer" | "same-origin" | "strict-origin"
        ),
        "{what}: {}",
        h("referrer-policy")
    );
}

#[tokio::test]
async fn every_kind_of_response_carries_the_security_headers() {
    let app = TestApp::new().await;
    let token = app.token("somu").await;
    let mut anonymous = app.client();
    for path in [
        "/login",
        "/healthz",
        "/assets/mamori.css",
        "/no-such-page",
        "/org",
    ] {
        let r = anonymous.get(path).await;
        assert_security_headers(&r, path);
    }
    let r = anonymous
        .post_form("/login", &[("login", "somu"), ("password", "wrong")])
        .await;
    assert_security_headers(&r, "failed login");
    let mut c = app.login("somu").await;
    for path in ["/", "/audit", "/org/persons/abc"] {
        let r = c.get(path).await;
        assert_security_headers(&r, path);
    }
    for path in [
        "/api/v1/me",
        "/api/v1/audit",
        "/api/v1/nothing",
        "/api/v1/openapi.json",
    ] {
        let r = c.api(Method::GET, path, &token, None).await;
        assert_security_headers(&r, path);
    }
}

/// Values of `attr="…"` attributes in an HTML document (entities `&amp;` decoded).
fn attribute_values<'a>(html: &'a str, attr: &str) -> Vec<String> {
    let marker = format!(" {attr}=\"");
    html.split(marker.as_str())
        .skip(1)
        .filter_map(|rest: &'a str| rest.split('"').next())
        .map(|v| {
            v.replace("&amp;", "&")
                .replace("&#x2f;", "/")
                .replace("&#47;", "/")
        })
        .collect()
}

/// Whether a URL in an attribute leaves this origin (scheme, `//host`, or a scheme-like prefix).
fn external(url: &str) -> bool {
    let u = url.trim().to_ascii_lowercase();
    u.starts_with("//")
        || u.starts_with("\\\\")
        || u.starts_with("http:")
        || u.starts_with("https:")
        || u.starts_with("javascript:")
        || u.starts_with("ftp:")
        || (u.contains(':') && !u.starts_with('/') && !u.starts_with('#') && !u.starts_with('?'))
}

/// The text between `<pre>` and `</pre>`: the policy's own full text, shown as text.
fn without_policy_text(html: &str) -> String {
    let mut out = String::new();
    let mut rest = html;
    while let Some(start) = rest.find("<pre>") {
        out.push_str(&rest[..start]);
        match rest[start..].find("</pre>") {
            Some(end) => rest = &rest[start + end + "</pre>".len()..],
            None => {
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

#[tokio::test]
async fn no_page_refers_to_another_host() {
    let app = TestApp::new().await;
    let mut c = app.login("ciso").await;
    // The policy's text may mention a web address; it is shown as text, never as a link.
    let text = "1. 目的\n総務省のガイドライン（https://www.soumu.go.jp/denshijiti/jyouhou_policy/）に基づく。\n\
                2. 定義\n用語は //example.jp/terms も参照。\n3. 対象とする脅威\n脅威。\n";
    let r = c.post_form("/policy/import", &[("text", text)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);

    let mut queue: VecDeque<String> =
        VecDeque::from(["/".to_owned(), "/assets/mamori.css".to_owned()]);
    let mut seen: BTreeSet<String> = queue.iter().cloned().collect();
    let mut pages = 0;
    let mut policy_text_seen = false;
    while let Some(path) = queue.pop_front() {
        let r = c.get(&path).await;
        assert!(
            r.status == StatusCode::OK,
            "{path}: every linked page opens for the CISO: {} {}",
            r.status,
            r.body
        );
        let ctype = r.headers[header::CONTENT_TYPE].to_str().unwrap().to_owned();
        if ctype.starts_with("text/css") {
            let css = r.body.to_ascii_lowercase();
            for bad in ["http:", "https:", "//", "@import", "url("] {
                assert!(!css.contains(bad), "{path}: the stylesheet contains {bad}");
            }
            continue;
        }
        if !ctype.starts_with("text/html") {
            continue; // exports (CSV, JSON Lines) are downloads, not pages
        }
        pages += 1;
        assert_security_headers(&r, &path);
        let html = &r.body;
        let lower = html.to_ascii_lowercase();
        // No script at all, no inline handlers or styles (the CSP would block them anyway).
        assert!(!lower.contains("<script"), "{path}: a script element");
        assert!(
            !lower.contains("<iframe") && !lower.contains("<object") && !lower.contains("<embed"),
            "{path}"
        );
        assert!(!lower.contains(" style=\""), "{path}: an inline style");
        assert!(!lower.contains("<style"), "{path}: an inline stylesheet");
        for handler in [
            " onclick=",
            " onload=",
            " onerror=",
            " onsubmit=",
            " onchange=",
        ] {
            assert!(!lower.contains(handler), "{path}: {handler}");
        }
        // Every reference is to this origin.
        for attr in [
            "href",
            "src",
            "action",
            "formaction",
            "srcset",
            "poster",
            "data",
            "xlink:href",
            "content",
        ] {
            for v in attribute_values(html, attr) {
                if attr == "content" {
                    // <meta content="…">: only the viewport and charset kinds are used.
                    assert!(!v.contains("//"), "{path}: meta content {v}");
                    continue;
                }
                assert!(!external(&v), "{path}: {attr}=\"{v}\" leaves the site");
            }
        }
        // Nor does any text outside the policy's own full text name a web address.
        if html.contains("<pre>") && (path.starts_with("/policy") || path == "/") {
            policy_text_seen |= html.contains("https://www.soumu.go.jp/");
        }
        let outside = strip_tags(&without_policy_text(html)).to_ascii_lowercase();
        for bad in ["http://", "https://"] {
            assert!(!outside.contains(bad), "{path}: {bad} in the text");
        }
        assert!(has_japanese(&outside), "{path}");
        // Follow links and GET forms within the site.
        let mut next: Vec<String> = attribute_values(html, "href");
        next.extend(attribute_values(html, "src"));
        for form in html.split("<form").skip(1) {
            let tag = form.split('>').next().unwrap_or_default();
            if tag.contains("method=\"get\"") {
                next.extend(attribute_values(tag, "action"));
            } else {
                // POST forms: same-origin actions, and the CSRF token is in every one.
                let action = attribute_values(tag, "action");
                assert!(
                    action
                        .iter()
                        .all(|a| a.starts_with('/') && !a.starts_with("//")),
                    "{path}: {tag}"
                );
                let body = form.split("</form>").next().unwrap_or_default();
                if !action.iter().any(|a| a == "/login") {
                    assert!(
                        body.contains("name=\"csrf\""),
                        "{path}: a form without the CSRF token: {tag}"
                    );
                }
            }
        }
        for link in next {
            let link = link.split('#').next().unwrap_or_default().to_owned();
            if link.is_empty() || !link.starts_with('/') || seen.contains(&link) {
                continue;
            }
            seen.insert(link.clone());
            queue.push_back(link);
        }
        assert!(seen.len() < 1000, "the crawl does not end");
    }
    assert!(
        pages > 50,
        "the crawl reached the whole site: {pages} pages, {seen:?}"
    );
    assert!(
        policy_text_seen,
        "the policy text with its web address was shown"
    );
    for expected in [
        "/org",
        "/org/roles",
        "/org/persons",
        "/policy",
        "/policy/versions",
        "/audit",
        "/account",
    ] {
        assert!(seen.contains(expected), "{expected} was reached");
    }
}
