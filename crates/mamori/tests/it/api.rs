//! The JSON API: bearer tokens (made and revoked in the UI), `/api/v1/me`, paging of the person
//! list, audited writes, and the OpenAPI document — which must describe every route the API
//! answers, and nothing it does not.

use std::collections::BTreeSet;

use http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};

use crate::common::{Client, TestApp};
use crate::support::{
    Route, assert_json_error, declared_routes, documented_operations, request_id, route,
};

#[tokio::test]
async fn a_token_authenticates_and_me_describes_the_caller() {
    let app = TestApp::new().await;
    let token = app.token("zaimu.kacho").await;
    let mut c = app.client();
    let r = c.api(Method::GET, "/api/v1/me", &token, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let me = r.json();
    assert_eq!(me["person"]["login"], "zaimu.kacho");
    assert_eq!(me["person"]["name"], "市川 浩");
    assert_eq!(me["organisation"]["name"], "峡南広域行政組合");
    let roles: BTreeSet<(String, String)> = me["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["role"].as_str().unwrap().to_owned(),
                r["unit"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        roles,
        BTreeSet::from([
            ("security_manager".to_owned(), "事務局 財政課".to_owned()),
            ("staff".to_owned(), "事務局 財政課".to_owned()),
        ])
    );
    // No credential material in the answer.
    for secret in [
        "password_hash",
        "totp_secret",
        "token_hash",
        "csrf",
        "$argon2",
    ] {
        assert!(!r.body.contains(secret), "{secret}: {}", r.body);
    }
    // The scheme name is case-insensitive.
    let req = Request::builder()
        .uri("/api/v1/me")
        .header(header::AUTHORIZATION, format!("bearer {token}"))
        .body(axum::body::Body::empty())
        .unwrap();
    assert_eq!(c.send(req).await.status, StatusCode::OK);
}

/// The token shown once on the account page after creating one named `name`.
async fn ui_token(c: &mut Client, name: &str) -> (i64, String) {
    c.get("/account").await;
    let r = c.post_form("/account/tokens", &[("name", name)]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let token = r.by_id("new-token").expect("the new token is shown");
    // The revoke form of the newest token (the list is newest first).
    let at = r.body.find("action=\"/account/tokens/").unwrap() + "action=\"/account/tokens/".len();
    let id = r.body[at..].split('/').next().unwrap().parse().unwrap();
    (id, token)
}

#[tokio::test]
async fn a_token_revoked_in_the_ui_is_refused_with_401_json() {
    let app = TestApp::new().await;
    let mut c = app.login("somu").await;
    let (id, token) = ui_token(&mut c, "連携用").await;
    assert!(token.starts_with("mmr_"));
    let stored: String = sqlx::query_scalar("SELECT token_hash FROM api_token WHERE id = $1")
        .bind(id)
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_ne!(stored, token, "only a hash is stored");
    let mut api = app.client();
    let r = api.api(Method::GET, "/api/v1/me", &token, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    // Another person cannot revoke it.
    let mut other = app.login("somu2").await;
    other.get("/account").await;
    let r = other
        .post_form(&format!("/account/tokens/{id}/revoke"), &[])
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(
        api.api(Method::GET, "/api/v1/me", &token, None)
            .await
            .status,
        StatusCode::OK
    );

    let r = c
        .post_form(&format!("/account/tokens/{id}/revoke"), &[])
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("トークンを無効にしました"));
    assert_eq!(app.audit_count("token.revoke").await, 1);
    for path in ["/api/v1/me", "/api/v1/persons", "/api/v1/audit"] {
        let r = api.api(Method::GET, path, &token, None).await;
        assert_json_error(&r, StatusCode::UNAUTHORIZED, "unauthenticated");
        assert_eq!(
            r.headers.get(header::WWW_AUTHENTICATE).unwrap(),
            "Bearer",
            "{path}"
        );
    }
    // A second revoke finds nothing to revoke.
    let r = c
        .post_form(&format!("/account/tokens/{id}/revoke"), &[])
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn forged_unknown_and_malformed_credentials_get_401_json() {
    let app = TestApp::new().await;
    let real = app.token("tokatsu").await;
    let mut c = app.client();
    let long = "x".repeat(500);
    let headers = [
        None,
        Some("Bearer".to_owned()),
        Some("Bearer ".to_owned()),
        Some("Bearer mmr_forged-token".to_owned()),
        Some(format!("Bearer {long}")),
        Some(format!("Bearer {}", real.to_uppercase())),
        Some(format!("Bearer {}x", real)),
        Some(format!("Basic {real}")),
        Some(real.clone()),
    ];
    let writes = app.count("person").await;
    for h in &headers {
        for (method, path, body) in [
            (Method::GET, "/api/v1/me", None),
            (Method::GET, "/api/v1/audit", None),
            (
                Method::POST,
                "/api/v1/persons",
                Some(
                    json!({"login": "forged.user", "name": "偽造 太郎", "unit": "jimu",
                    "employment": "regular"}),
                ),
            ),
        ] {
            let mut b = Request::builder().method(method).uri(path);
            if let Some(h) = h {
                b = b.header(header::AUTHORIZATION, h);
            }
            let body = match body {
                Some(v) => {
                    b = b.header(header::CONTENT_TYPE, "application/json");
                    axum::body::Body::from(v.to_string())
                }
                None => axum::body::Body::empty(),
            };
            let r = c.send(b.body(body).unwrap()).await;
            let msg = assert_json_error(&r, StatusCode::UNAUTHORIZED, "unauthenticated");
            assert!(msg.contains("ログイン"), "{h:?} {path}: {msg}");
        }
    }
    assert_eq!(app.count("person").await, writes, "nothing written");
    // A logged-in browser session does not open the API (no CSRF through the API).
    let mut browser = app.login("somu").await;
    let r = browser.get("/api/v1/me").await;
    assert_json_error(&r, StatusCode::UNAUTHORIZED, "unauthenticated");
    // A retired person's token stops working.
    let token = app.token("keiri2").await;
    let mut ciso = app.login("ciso").await;
    let id = app.person_id("keiri2").await;
    ciso.get(&format!("/org/persons/{id}")).await;
    let fields = crate::access::person_fields(&app, "keiri2").await;
    let mut f: Vec<(&str, &str)> = fields
        .iter()
        .filter(|(k, _)| k != "status")
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    f.push(("status", "retired"));
    let r = ciso.post_form(&format!("/org/persons/{id}"), &f).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = c.api(Method::GET, "/api/v1/me", &token, None).await;
    assert_json_error(&r, StatusCode::UNAUTHORIZED, "unauthenticated");
}

fn new_person(n: usize) -> Value {
    json!({
        "login": format!("batch.{n:02}"),
        "staff_no": format!("B{n:03}"),
        "name": format!("一括 {n}郎"),
        "name_kana": "いっかつ",
        "unit": "jimu-somu-somu",
        "employment": "会計年度任用職員",
        "email": format!("batch{n}@kyonan.example.lg.jp"),
    })
}

#[tokio::test]
async fn persons_come_fifty_to_a_page() {
    let app = TestApp::new().await;
    let token = app.token("tokatsu").await;
    let mut c = app.client();
    for n in 0..20 {
        let r = c
            .api(Method::POST, "/api/v1/persons", &token, Some(new_person(n)))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    let total = app.count("person").await;
    assert_eq!(total, 61);
    let page = |v: &Value| -> Vec<i64> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["id"].as_i64().unwrap())
            .collect()
    };
    let first = c
        .api(Method::GET, "/api/v1/persons", &token, None)
        .await
        .json();
    assert_eq!(first["total"], 61);
    assert_eq!(first["page"], 1);
    assert_eq!(first["per_page"], 50);
    let second = c
        .api(Method::GET, "/api/v1/persons?page=2", &token, None)
        .await
        .json();
    assert_eq!(second["page"], 2);
    let (a, b) = (page(&first), page(&second));
    assert_eq!((a.len(), b.len()), (50, 11));
    let all: BTreeSet<i64> = a.iter().chain(&b).copied().collect();
    assert_eq!(all.len(), 61, "pages neither overlap nor skip");
    let third = c
        .api(Method::GET, "/api/v1/persons?page=3", &token, None)
        .await
        .json();
    assert!(page(&third).is_empty());
    // Limits: at most 200 a page, at least 1; pages start at 1.
    for (q, len, page_no, per_page) in [
        ("?per_page=1000", 61, 1, 200),
        ("?per_page=0", 1, 1, 1),
        ("?per_page=20&page=4", 1, 4, 20),
        ("?page=0", 50, 1, 50),
        ("?page=-3", 50, 1, 50),
    ] {
        let v = c
            .api(Method::GET, &format!("/api/v1/persons{q}"), &token, None)
            .await
            .json();
        assert_eq!(page(&v).len(), len, "{q}");
        assert_eq!(v["page"], page_no, "{q}");
        assert_eq!(v["per_page"], per_page, "{q}");
    }
    // Filters combine with paging.
    let v = c
        .api(
            Method::GET,
            "/api/v1/persons?unit=jimu-somu-somu&q=batch&per_page=5&page=4",
            &token,
            None,
        )
        .await
        .json();
    assert_eq!(v["total"], 20);
    assert_eq!(page(&v).len(), 5);

    // The page list does the same, fifty rows at a time.
    let mut ui = app.login("somu").await;
    let r = ui.get("/org/persons").await;
    assert!(r.body.contains("61 人（1 / 2 ページ）"), "{}", r.body);
    assert_eq!(r.body.matches("<a href=\"/org/persons/").count(), 50);
    assert!(r.body.contains("次のページ"));
    let r = ui.get("/org/persons?page=2").await;
    assert_eq!(r.body.matches("<a href=\"/org/persons/").count(), 11);
    assert!(r.body.contains("前のページ"));
}

#[tokio::test]
async fn api_writes_are_audited_with_the_request_id() {
    let app = TestApp::new().await;
    let token = app.token("tokatsu").await;
    let mut c = app.client();
    let entry = |action: &'static str, object: String| {
        let db = app.db.clone();
        async move {
            sqlx::query_as::<_, (String, Option<String>, Option<String>, Option<String>)>(
                "SELECT actor, request_id, before_json, after_json FROM audit_entry \
                 WHERE action = $1 AND object_id = $2 ORDER BY seq DESC",
            )
            .bind(action)
            .bind(object)
            .fetch_one(db.pool())
            .await
            .unwrap()
        }
    };

    let r = c
        .api(Method::POST, "/api/v1/persons", &token, Some(new_person(1)))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let created = r.json();
    let id = created["id"].as_i64().unwrap();
    assert_eq!(created["login"], "batch.01");
    assert_eq!(created["employment"], "fiscal_year_appointed");
    assert_eq!(created["org_id"], app.org_id);
    let (actor, rid, _, after) = entry("person.create", id.to_string()).await;
    assert_eq!(actor, "tokatsu");
    assert_eq!(rid.as_deref(), Some(request_id(&r).as_str()));
    assert!(after.unwrap().contains("batch.01"));

    let mut changed = new_person(1);
    changed["name"] = json!("一括 変更");
    changed["status"] = json!("退職");
    let r = c
        .api(
            Method::PUT,
            &format!("/api/v1/persons/{id}"),
            &token,
            Some(changed),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["name"], "一括 変更");
    assert_eq!(r.json()["status"], "retired");
    let (actor, rid, before, after) = entry("person.update", id.to_string()).await;
    assert_eq!(actor, "tokatsu");
    assert_eq!(rid.as_deref(), Some(request_id(&r).as_str()));
    assert!(before.unwrap().contains("一括 1郎"));
    assert!(after.unwrap().contains("一括 変更"));

    let r = c
        .api(
            Method::POST,
            &format!("/api/v1/persons/{id}/assignments"),
            &token,
            Some(json!({"role": "情報システム担当者", "unit": "jimu-somu",
                "valid_from": "令和8年4月1日", "valid_to": "R9.3.31", "note": "API から"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let a = r.json();
    assert_eq!(a["role"], "system_staff");
    assert_eq!(a["valid_from"], "2026-04-01");
    assert_eq!(a["valid_to"], "2027-03-31");
    let aid = a["id"].as_i64().unwrap();
    let (actor, rid, _, after) = entry("assignment.create", aid.to_string()).await;
    assert_eq!(actor, "tokatsu");
    assert_eq!(rid.as_deref(), Some(request_id(&r).as_str()));
    assert!(after.unwrap().contains("system_staff"));
    let r = c
        .api(
            Method::GET,
            &format!("/api/v1/persons/{id}/assignments"),
            &token,
            None,
        )
        .await;
    let items = r.json()["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], aid);
    // Reads are not recorded; the chain stays intact.
    let v = mamori_db::audit::verify(&app.db).await.unwrap();
    assert_eq!(v.first_break, None);
}

/// Every API route with a concrete path to try, as the router serves it. The test below fails
/// when this list and the OpenAPI document differ, and when a route outside it answers.
fn api_routes(person: i64) -> Vec<(Route, String, Option<Value>)> {
    let assignment =
        json!({"role": "staff", "unit": "jimu-zaimu-keiri", "valid_from": "2026-04-01"});
    vec![
        (
            route("get", "/api/v1/openapi.json"),
            "/api/v1/openapi.json".into(),
            None,
        ),
        (route("get", "/api/v1/me"), "/api/v1/me".into(), None),
        (route("get", "/api/v1/units"), "/api/v1/units".into(), None),
        (
            route("get", "/api/v1/persons"),
            "/api/v1/persons".into(),
            None,
        ),
        (
            route("post", "/api/v1/persons"),
            "/api/v1/persons".into(),
            Some(new_person(7)),
        ),
        (
            route("get", "/api/v1/persons/{id}"),
            format!("/api/v1/persons/{person}"),
            None,
        ),
        (
            route("put", "/api/v1/persons/{id}"),
            format!("/api/v1/persons/{person}"),
            Some(
                json!({"login": "keiri", "staff_no": "0009", "name": "小林 明美",
                "unit": "jimu-zaimu-keiri", "employment": "regular"}),
            ),
        ),
        (
            route("get", "/api/v1/persons/{id}/assignments"),
            format!("/api/v1/persons/{person}/assignments"),
            None,
        ),
        (
            route("post", "/api/v1/persons/{id}/assignments"),
            format!("/api/v1/persons/{person}/assignments"),
            Some(assignment),
        ),
        (
            route("get", "/api/v1/assignments"),
            "/api/v1/assignments".into(),
            None,
        ),
        (
            route("get", "/api/v1/policy"),
            "/api/v1/policy".into(),
            None,
        ),
        (route("get", "/api/v1/audit"), "/api/v1/audit".into(), None),
        (
            route("get", "/api/v1/network"),
            "/api/v1/network".into(),
            None,
        ),
        (
            route("get", "/api/v1/network/check"),
            "/api/v1/network/check".into(),
            None,
        ),
        (
            route("get", "/api/v1/network/versions"),
            "/api/v1/network/versions".into(),
            None,
        ),
        (route("get", "/api/v1/tasks"), "/api/v1/tasks".into(), None),
    ]
}

/// The register's routes: (asset to read and update, asset to take out, asset to dispose).
fn asset_routes(person: i64, ids: [i64; 3]) -> Vec<(Route, String, Option<Value>)> {
    let [edit, take, dispose] = ids;
    let asset = |no: &str| {
        json!({"asset_no": no, "name": "API試験", "kind": "system", "unit": "jimu-zaimu",
            "manager": "zaimu.kacho", "zone": "lgwan", "confidentiality": "2",
            "integrity": 1, "availability": 1})
    };
    vec![
        (
            route("get", "/api/v1/assets"),
            "/api/v1/assets?zone=lgwan&q=%E8%B2%A1%E5%8B%99".into(),
            None,
        ),
        (
            route("post", "/api/v1/assets"),
            "/api/v1/assets".into(),
            Some(asset("API-NEW-1")),
        ),
        (
            route("get", "/api/v1/assets/{id}"),
            format!("/api/v1/assets/{edit}"),
            None,
        ),
        (
            route("put", "/api/v1/assets/{id}"),
            format!("/api/v1/assets/{edit}"),
            Some(asset("J-SYS-001")),
        ),
        (
            route("post", "/api/v1/assets/{id}/review"),
            format!("/api/v1/assets/{edit}/review"),
            Some(json!({"on": "2026-11-01"})),
        ),
        (
            route("post", "/api/v1/assets/{id}/take-outs"),
            format!("/api/v1/assets/{take}/take-outs"),
            Some(json!({"person_id": person, "purpose": "監査対応", "destination": "会議室"})),
        ),
        (
            route("post", "/api/v1/assets/{id}/dispose"),
            format!("/api/v1/assets/{dispose}/dispose"),
            Some(json!({"person_id": person, "method": "溶解処理"})),
        ),
    ]
}

#[tokio::test]
async fn the_openapi_document_describes_every_api_route() {
    let app = TestApp::new().await;
    let token = app.token("ciso").await;
    let keiri = app.person_id("keiri").await;
    let mut c = app.client();

    // Public, JSON, OpenAPI 3, with bearer security.
    let r = c.get("/api/v1/openapi.json").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(
        r.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let doc = r.json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."), "{doc}");
    assert_eq!(doc["info"]["title"], "mamori API");
    let scheme = &doc["components"]["securitySchemes"]["bearer"];
    assert_eq!(scheme["type"], "http");
    assert_eq!(scheme["scheme"].as_str().unwrap().to_lowercase(), "bearer");
    assert_eq!(doc["security"], json!([{"bearer": []}]));
    let documented = documented_operations(&doc);
    for (method, path) in &documented {
        let op = &doc["paths"][path][method];
        assert!(
            op["responses"].as_object().is_some_and(|r| !r.is_empty()),
            "{method} {path}"
        );
        assert!(
            op["tags"].as_array().is_some_and(|t| !t.is_empty()),
            "{method} {path}"
        );
        assert!(path.starts_with("/api/v1/"), "{path}");
    }

    // Every route tried answers (neither 404 nor 405) and is documented, and every documented
    // route is tried.
    let mut routes = api_routes(keiri);
    let asset = |no: &'static str| {
        let app = &app;
        async move {
            let id: i64 = sqlx::query_scalar("SELECT id FROM asset WHERE asset_no = $1")
                .bind(no)
                .fetch_one(app.db.pool())
                .await
                .unwrap();
            id
        }
    };
    let take = asset("J-INF-032").await;
    routes.extend(asset_routes(
        keiri,
        [asset("J-SYS-001").await, take, asset("J-INF-035").await],
    ));
    routes.extend(crate::documents::api_routes(&app).await);
    let tried: BTreeSet<Route> = routes.iter().map(|(r, _, _)| r.clone()).collect();
    for ((method, template), path, body) in &routes {
        let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let r = c.api(m, path, &token, body.clone()).await;
        assert!(
            r.status.is_success(),
            "{method} {template} ({path}): {} {}",
            r.status,
            r.body
        );
    }
    // The roster import takes a file, not JSON: a dry run of a one-row roster.
    let mut tried = tried;
    let req = http::Request::builder()
        .method(Method::POST)
        .uri("/api/v1/roster/import?dry_run=true&effective=2027-04-01")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "text/csv")
        .body(axum::body::Body::from(
            "職員番号,氏名,ログインID,所属コード,雇用形態,在職状況,役割\n0009,小林 明美,keiri,jimu-zaimu-keiri,正規職員,在職,\n",
        ))
        .unwrap();
    let r = c.send(req).await;
    assert!(
        r.status.is_success(),
        "roster import: {} {}",
        r.status,
        r.body
    );
    tried.insert(route("post", "/api/v1/roster/import"));
    // The network model is stored as sent (TOML here), by someone who may edit it.
    let editor = app.token("tokatsu").await;
    let req = http::Request::builder()
        .method(Method::PUT)
        .uri("/api/v1/network?note=api")
        .header(header::AUTHORIZATION, format!("Bearer {editor}"))
        .header(header::CONTENT_TYPE, "application/toml")
        .body(axum::body::Body::from(
            mamori_web::features::network::EXAMPLE_TOML,
        ))
        .unwrap();
    let r = c.send(req).await;
    assert!(
        r.status.is_success(),
        "network put: {} {}",
        r.status,
        r.body
    );
    tried.insert(route("put", "/api/v1/network"));
    // The take-out made above is returned.
    let take_out: i64 = sqlx::query_scalar("SELECT MAX(id) FROM asset_takeout WHERE asset_id = $1")
        .bind(take)
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    let r = c
        .api(
            Method::POST,
            &format!("/api/v1/assets/{take}/take-outs/{take_out}/return"),
            &token,
            None,
        )
        .await;
    assert!(r.status.is_success(), "return: {} {}", r.status, r.body);
    tried.insert(route(
        "post",
        "/api/v1/assets/{id}/take-outs/{take_out_id}/return",
    ));
    // The register's export answers with a file; its import takes one (a dry run of one row).
    let r = c
        .api(
            Method::GET,
            "/api/v1/assets/export?format=csv",
            &token,
            None,
        )
        .await;
    assert!(
        r.status.is_success(),
        "assets export: {} {}",
        r.status,
        r.body
    );
    tried.insert(route("get", "/api/v1/assets/export"));
    let req = http::Request::builder()
        .method(Method::POST)
        .uri("/api/v1/assets/import?dry_run=true")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "text/csv")
        .header("x-file-name", "daicho.csv")
        .body(axum::body::Body::from(
            "資産番号,名称,種別,所管課,管理者,機密性,完全性,可用性\nJ-API-001,API の試験,情報（電子）,jimu-somu,tokatsu,2,1,1\n",
        ))
        .unwrap();
    let r = c.send(req).await;
    assert!(
        r.status.is_success(),
        "assets import: {} {}",
        r.status,
        r.body
    );
    tried.insert(route("post", "/api/v1/assets/import"));
    // Reminders need a mail relay; without one (as here) the documented 409 says so.
    let r = c
        .api(
            Method::POST,
            "/api/v1/reminders",
            &token,
            Some(json!({"scope": "all"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "reminders: {}", r.body);
    tried.insert(route("post", "/api/v1/reminders"));
    // 情報セキュリティ監査: one audit through every route.
    tried.extend(crate::auditing::api_cycle(&app).await);
    tried.extend(crate::catalogue::api_routes_succeed(&app, &mut c).await);
    tried.extend(crate::inspection::exercise_api(&app, &mut c, &token).await);
    assert_eq!(
        tried, documented,
        "the document lists exactly the routes served"
    );
    // And the routers' source declares no API route outside the document.
    let declared: BTreeSet<Route> = declared_routes()
        .into_iter()
        .filter(|(_, p)| p.starts_with("/api/"))
        .collect();
    assert!(
        declared.is_subset(&documented),
        "undocumented: {:?}",
        declared.difference(&documented).collect::<Vec<_>>()
    );

    // Other methods on documented paths are refused (405), as are paths next to them (404):
    // nothing answers that the document does not describe.
    let paths: BTreeSet<&String> = documented.iter().map(|(_, p)| p).collect();
    for path in paths {
        let concrete = path.replace("{id}", &keiri.to_string());
        for m in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
            if documented.contains(&route(&m.to_lowercase(), path)) {
                continue;
            }
            let r = c
                .api(
                    Method::from_bytes(m.as_bytes()).unwrap(),
                    &concrete,
                    &token,
                    None,
                )
                .await;
            assert_json_error(&r, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
        }
    }
    for path in [
        "/api/v1",
        "/api/v1/",
        "/api/v1/units/1",
        "/api/v1/assignments/1",
        "/api/v1/assignments/1/end",
        "/api/v1/persons/1/reset-password",
        "/api/v1/tokens",
        "/api/v1/policy/versions",
        "/api/v1/audit/export",
        "/api/v1/organisations",
        "/api/v1/healthz",
        "/api/v2/me",
        "/api/openapi.json",
    ] {
        let r = c.api(Method::GET, path, &token, None).await;
        assert_json_error(&r, StatusCode::NOT_FOUND, "not_found");
    }
}
