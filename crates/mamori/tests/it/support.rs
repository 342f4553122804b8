//! Checks shared by the access, isolation, API and bad-input tests: what an error must look like
//! (a Japanese page or a JSON error, both with the request id), a dump of the database's
//! business tables to prove that a refused request wrote nothing, and the list of routes the
//! web crate's routers declare, read from its sources so that a new route cannot slip past the
//! tests unnoticed.

use std::collections::BTreeSet;

use http::{StatusCode, header};
use mamori_db::org::{Assignment, PERSON_COLUMNS, Person, Unit};
use mamori_db::policy::PolicyVersion;

use crate::common::{Resp, TestApp};

/// The request id the server gave a response.
pub fn request_id(r: &Resp) -> String {
    let id = r
        .headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(!id.is_empty(), "no x-request-id on the response");
    id
}

/// Whether `s` contains Japanese script.
pub fn has_japanese(s: &str) -> bool {
    s.chars().any(|c| {
        matches!(c as u32,
            0x3040..=0x30FF   // hiragana, katakana
            | 0x4E00..=0x9FFF // CJK ideographs
            | 0xFF00..=0xFFEF) // full-width forms
    })
}

/// Fails when a message reads like an English sentence (two ASCII words in a row, as a serde or
/// framework message would): users get Japanese.
pub fn assert_not_english(msg: &str) {
    let words: Vec<&str> = msg.split(' ').collect();
    for pair in words.windows(2) {
        let ascii_word = |w: &str| w.len() > 1 && w.chars().all(|c| c.is_ascii_alphabetic());
        assert!(
            !(ascii_word(pair[0]) && ascii_word(pair[1])),
            "English text in a user-facing message: {msg}"
        );
    }
}

fn content_type(r: &Resp) -> &str {
    r.headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

/// An API error: `status`, JSON `{"error": {code, message, request_id}}` with a Japanese message
/// and the request id of this response. Returns the message.
pub fn assert_json_error(r: &Resp, status: StatusCode, code: &str) -> String {
    assert_eq!(r.status, status, "{}", r.body);
    assert!(
        content_type(r).starts_with("application/json"),
        "not JSON: {} {}",
        content_type(r),
        r.body
    );
    let v = r.json();
    let err = &v["error"];
    assert_eq!(err["code"], code, "{}", r.body);
    let message = err["message"].as_str().unwrap_or_default().to_owned();
    assert!(
        has_japanese(&message),
        "message not in Japanese: {}",
        r.body
    );
    assert_not_english(&message);
    assert_eq!(
        err["request_id"].as_str().unwrap_or_default(),
        request_id(r),
        "the body names this request's id"
    );
    message
}

/// A UI error: `status`, a Japanese HTML page showing `expected` and the request id.
pub fn assert_error_page(r: &Resp, status: StatusCode, expected: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    assert!(
        content_type(r).starts_with("text/html"),
        "not a page: {} {}",
        content_type(r),
        r.body
    );
    assert!(r.body.contains("lang=\"ja\""), "{}", r.body);
    assert!(r.body.contains(expected), "expected {expected}: {}", r.body);
    assert!(
        r.body.contains(&request_id(r)),
        "the page shows the request id: {}",
        r.body
    );
    let text = strip_tags(&r.body);
    assert_not_english(&text);
}

/// The text of an HTML document without its tags (attribute values dropped).
pub fn strip_tags(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

/// Every row of the business tables (units, persons with their credentials, role assignments,
/// policy versions, API tokens), as text: equal before and after means nothing was written
/// there. The audit trail and sessions are left out; tests count those separately.
pub async fn snapshot(app: &TestApp) -> String {
    let pool = app.db.pool();
    let units: Vec<Unit> = sqlx::query_as(
        "SELECT id, org_id, parent_id, code, name, kind, sort_order, active FROM unit ORDER BY id",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let persons: Vec<Person> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {PERSON_COLUMNS} FROM person ORDER BY id"
    )))
    .fetch_all(pool)
    .await
    .unwrap();
    let secrets: Vec<(i64, Option<String>, Option<String>)> =
        sqlx::query_as("SELECT id, password_hash, totp_secret FROM person ORDER BY id")
            .fetch_all(pool)
            .await
            .unwrap();
    let assignments: Vec<Assignment> = sqlx::query_as(
        "SELECT id, org_id, person_id, role, unit_id, valid_from, valid_to, note, created_at \
         FROM role_assignment ORDER BY id",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let versions: Vec<PolicyVersion> = sqlx::query_as(
        "SELECT id, org_id, version_no, title, adopted_on, source, content_json, note, created_by, \
         created_at FROM policy_version ORDER BY id",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let tokens: Vec<(i64, i64, String, Option<String>)> =
        sqlx::query_as("SELECT id, person_id, name, revoked_at FROM api_token ORDER BY id")
            .fetch_all(pool)
            .await
            .unwrap();
    let codes: Vec<(i64, i64, Option<String>)> =
        sqlx::query_as("SELECT id, person_id, used_at FROM recovery_code ORDER BY id")
            .fetch_all(pool)
            .await
            .unwrap();
    // The register, without its derived findings cache (reads may refresh it).
    let assets: Vec<mamori_db::assets::Asset> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {} {} ORDER BY a.id",
        mamori_db::assets::ASSET_COLUMNS,
        mamori_db::assets::ASSET_FROM
    )))
    .fetch_all(pool)
    .await
    .unwrap();
    let assets: Vec<String> = assets
        .into_iter()
        .map(|a| {
            format!(
                "{:?}",
                mamori_db::assets::Asset {
                    findings: String::new(),
                    ..a
                }
            )
        })
        .collect();
    let holdings: Vec<(i64, i64, i64)> = sqlx::query_as(
        "SELECT org_id, holder_id, held_id FROM asset_holding ORDER BY holder_id, held_id",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let take_outs: Vec<(i64, i64, i64, Option<String>)> = sqlx::query_as(
        "SELECT id, asset_id, person_id, returned_at FROM asset_takeout ORDER BY id",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let certificates: Vec<(i64, i64, String)> =
        sqlx::query_as("SELECT id, asset_id, sha256 FROM asset_certificate ORDER BY id")
            .fetch_all(pool)
            .await
            .unwrap();
    let settings: Vec<(i64, String, i64)> = sqlx::query_as(
        "SELECT id, classification_scheme, asset_review_days FROM organisation ORDER BY id",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    format!(
        "{units:?}\n{persons:?}\n{secrets:?}\n{assignments:?}\n{versions:?}\n{tokens:?}\n{codes:?}\n{assets:?}\n{holdings:?}\n{take_outs:?}\n{certificates:?}\n{settings:?}"
    )
}

/// A route as the routers declare it: method (lower case) and path template.
pub type Route = (String, String);

/// Every route declared with `.route("…", get(…).post(…))` in the web crate's feature modules,
/// read from the source. Reading the source is the only way to list an axum router's routes;
/// the tests compare this list with the routes they exercise, so a route added without tests
/// fails them.
pub fn declared_routes() -> BTreeSet<Route> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../mamori-web/src/features");
    let mut out = BTreeSet::new();
    // Feature modules and their submodules (`features/inventory/*.rs` …).
    let mut files = Vec::new();
    let mut dirs = vec![dir];
    while let Some(d) = dirs.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().and_then(|e| e.to_str()) == Some("rs") {
                files.push(path);
            }
        }
    }
    for path in files {
        let src = std::fs::read_to_string(&path).unwrap();
        for chunk in src.split(".route(").skip(1) {
            let chunk = chunk.trim_start();
            let Some(rest) = chunk.strip_prefix('"') else {
                continue;
            };
            let end = rest.find('"').unwrap();
            let route = &rest[..end];
            // The handlers: up to the end of this `.route(...)` call.
            let mut depth = 1;
            let mut call = String::new();
            for c in rest[end + 1..].chars() {
                match c {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    _ => {}
                }
                if depth == 0 {
                    break;
                }
                call.push(c);
            }
            let mut methods = 0;
            for m in ["get", "post", "put", "patch", "delete"] {
                let direct = format!(" {m}(");
                let chained = format!(".{m}(");
                let qualified = format!("::{m}(");
                if call.contains(&direct) || call.contains(&chained) || call.contains(&qualified) {
                    out.insert((m.to_owned(), route.to_owned()));
                    methods += 1;
                }
            }
            assert!(
                methods > 0,
                "route {route} in {}: no method recognised",
                path.display()
            );
        }
    }
    assert!(
        out.len() >= 25,
        "the route reader found too few routes ({}): has the router syntax changed?",
        out.len()
    );
    out
}

/// Every API operation the OpenAPI document describes: (method, path).
pub fn documented_operations(doc: &serde_json::Value) -> BTreeSet<Route> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in ["get", "post", "put", "patch", "delete"] {
            if item.get(method).is_some() {
                out.insert((method.to_owned(), path.clone()));
            }
        }
    }
    out
}

/// `(method, path)` as a route.
pub fn route(method: &str, path: &str) -> Route {
    (method.to_owned(), path.to_owned())
}
