//! Who may do what, over HTTP: every demo role against every page and API route (a table of
//! role × route → allowed or refused), then the write paths one by one, checking the database.
//!
//! A refusal is 403 with a Japanese page (or a JSON error under `/api/`) naming the request id,
//! a `permission.denied` entry in the audit trail, and nothing written.

use http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{Client, Resp, TestApp};
use crate::support::{assert_error_page, assert_json_error, snapshot};

/// The demo logins the table walks: one per kind of authority.
const ROLES: &[&str] = &[
    "ciso",        // CISO
    "vciso",       // 副CISO + 情報セキュリティ責任者 (事務局)
    "tokatsu",     // 統括情報セキュリティ責任者 + 管理者 (総務課)
    "sysadmin",    // 情報システム管理者
    "kansa",       // 監査人
    "shobocho",    // 情報セキュリティ責任者 (消防本部)
    "zaimu.kacho", // 情報セキュリティ管理者 (財政課)
    "somu",        // 職員
];

const ALL: &[&str] = ROLES;
const AUDITORS: &[&str] = &["ciso", "tokatsu", "kansa"];
const TOP: &[&str] = &["ciso", "tokatsu"];
/// Who may edit persons in 財政課 会計係.
const KEIRI_EDITORS: &[&str] = &["ciso", "vciso", "tokatsu", "zaimu.kacho"];
/// Who may edit persons in 消防本部 総務課.
const SHOBO_EDITORS: &[&str] = &["ciso", "vciso", "tokatsu", "shobocho"];
/// Who may edit persons in 事務局 総務課 総務係.
const SOMU_EDITORS: &[&str] = &["ciso", "vciso", "tokatsu"];
/// Who may grant any role, CISO included.
const GRANT_ANY: &[&str] = &["ciso", "vciso", "tokatsu"];

/// A request of the table.
enum Req {
    Page(String),
    Form(String, Vec<(String, String)>),
    Api(Method, String, Option<Value>),
}

struct Case {
    req: Req,
    allowed: &'static [&'static str],
    /// Status when allowed.
    ok: StatusCode,
}

impl Case {
    fn page(path: impl Into<String>, allowed: &'static [&'static str]) -> Case {
        Case {
            req: Req::Page(path.into()),
            allowed,
            ok: StatusCode::OK,
        }
    }
    fn form(
        path: impl Into<String>,
        fields: Vec<(String, String)>,
        allowed: &'static [&'static str],
        ok: StatusCode,
    ) -> Case {
        Case {
            req: Req::Form(path.into(), fields),
            allowed,
            ok,
        }
    }
    fn api(
        method: Method,
        path: impl Into<String>,
        body: Option<Value>,
        allowed: &'static [&'static str],
        ok: StatusCode,
    ) -> Case {
        Case {
            req: Req::Api(method, path.into(), body),
            allowed,
            ok,
        }
    }
    fn describe(&self) -> String {
        match &self.req {
            Req::Page(p) => format!("GET {p}"),
            Req::Form(p, _) => format!("POST {p}"),
            Req::Api(m, p, _) => format!("API {m} {p}"),
        }
    }
    fn is_write(&self) -> bool {
        !matches!(self.req, Req::Page(_))
            && !matches!(&self.req, Req::Api(m, _, _) if m == Method::GET)
    }
}

/// A person's current record as the person form (and API) takes it.
pub async fn person_fields(app: &TestApp, login: &str) -> Vec<(String, String)> {
    let p = mamori_db::org::person_by_login(&app.db, login)
        .await
        .unwrap()
        .unwrap();
    let tree = mamori_db::org::unit_tree(&app.db, mamori_core::org::OrgId(p.org_id))
        .await
        .unwrap();
    let unit = tree.get(p.unit_id).unwrap().code.clone();
    vec![
        ("login".into(), p.login),
        ("staff_no".into(), p.staff_no.unwrap_or_default()),
        ("name".into(), p.name),
        ("name_kana".into(), p.name_kana),
        ("unit".into(), unit),
        ("employment".into(), p.employment),
        ("email".into(), p.email),
        ("phone".into(), p.phone),
        ("status".into(), p.status),
    ]
}

fn with(fields: &[(String, String)], key: &str, value: &str) -> Vec<(String, String)> {
    fields
        .iter()
        .map(|(k, v)| {
            if k == key {
                (k.clone(), value.to_owned())
            } else {
                (k.clone(), v.clone())
            }
        })
        .collect()
}

fn as_json(fields: &[(String, String)]) -> Value {
    Value::Object(
        fields
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

fn pairs(fields: &[(&str, &str)]) -> Vec<(String, String)> {
    fields
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

async fn send(c: &mut Client, token: &str, req: &Req) -> Resp {
    match req {
        Req::Page(p) => c.get(p).await,
        Req::Form(p, fields) => {
            let f: Vec<(&str, &str)> = fields
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            c.post_form(p, &f).await
        }
        Req::Api(m, p, body) => c.api(m.clone(), p, token, body.clone()).await,
    }
}

/// The whole table for one role. Writes that a role may make are made (each with values unique
/// to the role), so the table also shows that an allowed write succeeds.
async fn cases(app: &TestApp, role: &str) -> Vec<Case> {
    let keiri = app.person_id("keiri").await;
    let shobo_somu = app.person_id("shobo.somu").await;
    let somu = app.person_id("somu").await;
    let somu2 = app.person_id("somu2").await;
    let jimu = app.unit_id("jimu").await.to_string();
    let keiri_fields = person_fields(app, "keiri").await;
    let shobo_fields = person_fields(app, "shobo.somu").await;
    let somu_fields = person_fields(app, "somu").await;
    let tag = role.replace('.', "-");
    let new_person = |suffix: &str| {
        pairs(&[
            ("login", &format!("new.{tag}.{suffix}")),
            ("name", "新規 職員"),
            ("unit", "jimu-zaimu-keiri"),
            ("employment", "regular"),
        ])
    };
    // keiri's own 職員 assignment from the demo (the oldest).
    let keiri_staff: i64 =
        sqlx::query_scalar("SELECT MIN(id) FROM role_assignment WHERE person_id = $1")
            .bind(keiri)
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    let staff_grant = pairs(&[
        ("role", "system_staff"),
        ("unit", "jimu-zaimu-keiri"),
        ("valid_from", "2026-04-01"),
    ]);
    let ciso_grant = pairs(&[
        ("role", "ciso"),
        ("unit", "jimu-zaimu"),
        ("valid_from", "2026-04-01"),
        ("valid_to", "2026-04-02"),
    ]);
    let policy = format!(
        "1. 目的\n{role} が取り込んだ本文。\n2. 定義\n用語の定義。\n3. 対象とする脅威\n脅威。\n"
    );
    let get = Method::GET;
    vec![
        // Pages everyone logged in may read.
        Case::page("/", ALL),
        Case::page("/org", ALL),
        Case::page("/org/roles", ALL),
        Case::page("/org/persons", ALL),
        Case::page(format!("/org/persons/{keiri}"), ALL),
        Case::page("/policy", ALL),
        Case::page("/policy/versions", ALL),
        Case::page("/policy/versions/1", ALL),
        Case::page("/account", ALL),
        // The audit trail: CISO, 統括 and auditors only.
        Case::page("/audit", AUDITORS),
        Case::page("/audit?action=login.", AUDITORS),
        Case::page("/audit/export?format=csv", AUDITORS),
        Case::page("/audit/export?format=jsonl", AUDITORS),
        // The API.
        Case::api(get.clone(), "/api/v1/me", None, ALL, StatusCode::OK),
        Case::api(get.clone(), "/api/v1/units", None, ALL, StatusCode::OK),
        Case::api(get.clone(), "/api/v1/persons", None, ALL, StatusCode::OK),
        Case::api(
            get.clone(),
            format!("/api/v1/persons/{keiri}"),
            None,
            ALL,
            StatusCode::OK,
        ),
        Case::api(
            get.clone(),
            format!("/api/v1/persons/{keiri}/assignments"),
            None,
            ALL,
            StatusCode::OK,
        ),
        Case::api(
            get.clone(),
            "/api/v1/assignments",
            None,
            ALL,
            StatusCode::OK,
        ),
        Case::api(get.clone(), "/api/v1/policy", None, ALL, StatusCode::OK),
        Case::api(get.clone(), "/api/v1/audit", None, AUDITORS, StatusCode::OK),
        Case::api(
            get.clone(),
            "/api/v1/audit?format=jsonl",
            None,
            AUDITORS,
            StatusCode::OK,
        ),
        // Units, policy and accounts: CISO and 統括 only.
        Case::form(
            "/org/units",
            pairs(&[
                ("parent_id", &jimu),
                ("code", &format!("t-{tag}")),
                ("name", "試験課"),
            ]),
            TOP,
            StatusCode::SEE_OTHER,
        ),
        Case::form(
            "/policy/import",
            pairs(&[("text", &policy), ("note", "権限の試験")]),
            TOP,
            StatusCode::SEE_OTHER,
        ),
        Case::form(
            format!("/org/persons/{somu2}/reset-password"),
            Vec::new(),
            TOP,
            StatusCode::OK,
        ),
        // Persons: each editor within its reach.
        Case::form(
            format!("/org/persons/{keiri}"),
            with(&keiri_fields, "phone", &format!("内線 {tag}")),
            KEIRI_EDITORS,
            StatusCode::SEE_OTHER,
        ),
        Case::form(
            format!("/org/persons/{shobo_somu}"),
            with(&shobo_fields, "phone", &format!("内線 {tag}")),
            SHOBO_EDITORS,
            StatusCode::SEE_OTHER,
        ),
        Case::form(
            format!("/org/persons/{somu}"),
            with(&somu_fields, "phone", &format!("内線 {tag}")),
            SOMU_EDITORS,
            StatusCode::SEE_OTHER,
        ),
        Case::form(
            "/org/persons",
            new_person("ui"),
            KEIRI_EDITORS,
            StatusCode::SEE_OTHER,
        ),
        Case::api(
            Method::PUT,
            format!("/api/v1/persons/{keiri}"),
            Some(as_json(&with(
                &keiri_fields,
                "phone",
                &format!("API {tag}"),
            ))),
            KEIRI_EDITORS,
            StatusCode::OK,
        ),
        Case::api(
            Method::PUT,
            format!("/api/v1/persons/{shobo_somu}"),
            Some(as_json(&with(
                &shobo_fields,
                "phone",
                &format!("API {tag}"),
            ))),
            SHOBO_EDITORS,
            StatusCode::OK,
        ),
        Case::api(
            Method::POST,
            "/api/v1/persons",
            Some(as_json(&new_person("api"))),
            KEIRI_EDITORS,
            StatusCode::CREATED,
        ),
        // Role assignments: within reach, and only roles the granter may grant.
        Case::form(
            format!("/org/persons/{keiri}/assignments"),
            staff_grant.clone(),
            KEIRI_EDITORS,
            StatusCode::SEE_OTHER,
        ),
        Case::form(
            format!("/org/persons/{keiri}/assignments"),
            ciso_grant.clone(),
            GRANT_ANY,
            StatusCode::SEE_OTHER,
        ),
        Case::api(
            Method::POST,
            format!("/api/v1/persons/{keiri}/assignments"),
            Some(as_json(&staff_grant)),
            KEIRI_EDITORS,
            StatusCode::CREATED,
        ),
        Case::api(
            Method::POST,
            format!("/api/v1/persons/{keiri}/assignments"),
            Some(as_json(&ciso_grant)),
            GRANT_ANY,
            StatusCode::CREATED,
        ),
        Case::form(
            format!("/org/assignments/{keiri_staff}/end"),
            pairs(&[("last_day", "2027-03-31")]),
            KEIRI_EDITORS,
            StatusCode::SEE_OTHER,
        ),
    ]
}

#[tokio::test]
async fn every_role_against_every_route() {
    let app = TestApp::new().await;
    let mut refusals = 0;
    for role in ROLES {
        let mut c = app.login(role).await;
        let token = app.token(role).await;
        for case in cases(&app, role).await {
            let what = format!("{role}: {}", case.describe());
            let allowed = case.allowed.contains(role);
            let denials = app.audit_count("permission.denied").await;
            let before = if case.is_write() && !allowed {
                Some(snapshot(&app).await)
            } else {
                None
            };
            let r = send(&mut c, &token, &case.req).await;
            if allowed {
                assert_eq!(r.status, case.ok, "{what} should be allowed: {}", r.body);
                assert_eq!(
                    app.audit_count("permission.denied").await,
                    denials,
                    "{what}"
                );
                continue;
            }
            refusals += 1;
            match case.req {
                Req::Api(..) => {
                    assert_json_error(&r, StatusCode::FORBIDDEN, "forbidden");
                }
                _ => assert_error_page(&r, StatusCode::FORBIDDEN, "権限がありません"),
            }
            assert_eq!(
                app.audit_count("permission.denied").await,
                denials + 1,
                "{what}: the refusal is in the audit trail"
            );
            if let Some(before) = before {
                assert_eq!(snapshot(&app).await, before, "{what}: nothing written");
            }
        }
        // Pages keep working after refusals (the session is not harmed).
        assert_eq!(c.get("/").await.status, StatusCode::OK, "{role}");
    }
    assert!(refusals > 60, "the table refuses something: {refusals}");
}

/// A `permission.denied` entry: actor, actor id, refused action, request id, organisation.
type DenialRow = (
    String,
    Option<i64>,
    Option<String>,
    Option<String>,
    Option<i64>,
);

#[tokio::test]
async fn staff_cannot_open_the_audit_trail_and_the_refusal_is_recorded() {
    let app = TestApp::new().await;
    let mut c = app.login("somu").await;
    let home = c.get("/").await;
    assert!(
        !home.body.contains("href=\"/audit\""),
        "no menu entry to a page that would be refused"
    );
    let r = c.get("/audit").await;
    assert_error_page(
        &r,
        StatusCode::FORBIDDEN,
        "監査証跡の閲覧の権限がありません",
    );
    assert!(
        r.body.contains("この操作は許可されていません"),
        "{}",
        r.body
    );
    let page_rid = crate::support::request_id(&r);

    let token = app.token("somu").await;
    let r = c.api(Method::GET, "/api/v1/audit", &token, None).await;
    let msg = assert_json_error(&r, StatusCode::FORBIDDEN, "forbidden");
    assert!(msg.contains("監査証跡の閲覧"), "{msg}");
    let api_rid = crate::support::request_id(&r);

    let somu = app.person_id("somu").await;
    let rows: Vec<DenialRow> = sqlx::query_as(
        "SELECT actor, actor_id, object_id, request_id, org_id FROM audit_entry \
             WHERE action = 'permission.denied' ORDER BY seq",
    )
    .fetch_all(app.db.pool())
    .await
    .unwrap();
    assert_eq!(
        rows,
        vec![
            (
                "somu".to_owned(),
                Some(somu),
                Some("audit.view".to_owned()),
                Some(page_rid),
                Some(app.org_id)
            ),
            (
                "somu".to_owned(),
                Some(somu),
                Some("audit.view".to_owned()),
                Some(api_rid),
                Some(app.org_id)
            ),
        ]
    );
}

#[tokio::test]
async fn auditors_ciso_and_chief_officer_read_the_audit_trail() {
    let app = TestApp::new().await;
    // Something to find: a refusal by 職員.
    let mut staff = app.login("somu").await;
    staff.get("/audit").await;
    for login in AUDITORS {
        let mut c = app.login(login).await;
        let r = c.get("/audit?action=permission.").await;
        assert_eq!(r.status, StatusCode::OK, "{login}: {}", r.body);
        assert!(r.body.contains("permission.denied"), "{login}");
        let token = app.token(login).await;
        let r = c
            .api(Method::GET, "/api/v1/audit?actor=somu", &token, None)
            .await;
        assert_eq!(r.status, StatusCode::OK, "{login}");
        let items = r.json()["items"].as_array().unwrap().clone();
        assert!(
            items.iter().any(|e| e["action"] == "permission.denied"),
            "{login}: {items:?}"
        );
        assert!(items.iter().all(|e| e["actor"] == "somu"));
    }
}

#[tokio::test]
async fn a_manager_edits_persons_of_its_own_unit_only() {
    let app = TestApp::new().await;
    let mut c = app.login("zaimu.kacho").await;
    let token = app.token("zaimu.kacho").await;

    // 会計係 is under 財政課: allowed, and the change is stored and audited.
    let keiri = app.person_id("keiri").await;
    c.get(&format!("/org/persons/{keiri}")).await;
    let fields = with(&person_fields(&app, "keiri").await, "name", "小林 明美子");
    let f: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let updates = app.audit_count("person.update").await;
    let r = c.post_form(&format!("/org/persons/{keiri}"), &f).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let stored = mamori_db::org::person_by_login(&app.db, "keiri")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.name, "小林 明美子");
    assert_eq!(app.audit_count("person.update").await, updates + 1);

    // The page offers the edit form for keiri, not for somu.
    let page = c.get(&format!("/org/persons/{keiri}")).await;
    assert!(page.body.contains("登録内容の変更"), "{}", page.body);
    let somu = app.person_id("somu").await;
    let page = c.get(&format!("/org/persons/{somu}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.body.contains("登録内容の変更"));

    // 総務係 (another section of 事務局) and 消防本部: refused, nothing changed.
    for login in ["somu", "shobo.somu", "keibo"] {
        let id = app.person_id(login).await;
        let fields = with(&person_fields(&app, login).await, "name", "書き換え 太郎");
        let f: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let before = snapshot(&app).await;
        let r = c.post_form(&format!("/org/persons/{id}"), &f).await;
        assert_error_page(
            &r,
            StatusCode::FORBIDDEN,
            "職員情報の編集の権限がありません",
        );
        let r = c
            .api(
                Method::PUT,
                &format!("/api/v1/persons/{id}"),
                &token,
                Some(as_json(&fields)),
            )
            .await;
        assert_json_error(&r, StatusCode::FORBIDDEN, "forbidden");
        assert_eq!(snapshot(&app).await, before, "{login} unchanged");
    }

    // Nor may keiri be moved out of reach (to 総務係), nor a person created there.
    let before = snapshot(&app).await;
    let moved = with(
        &person_fields(&app, "keiri").await,
        "unit",
        "jimu-somu-somu",
    );
    let r = c
        .api(
            Method::PUT,
            &format!("/api/v1/persons/{keiri}"),
            &token,
            Some(as_json(&moved)),
        )
        .await;
    assert_json_error(&r, StatusCode::FORBIDDEN, "forbidden");
    let r = c
        .api(
            Method::POST,
            "/api/v1/persons",
            &token,
            Some(
                json!({"login": "outside.person", "name": "外部 太郎", "unit": "jimu-somu",
                "employment": "regular"}),
            ),
        )
        .await;
    assert_json_error(&r, StatusCode::FORBIDDEN, "forbidden");
    assert_eq!(snapshot(&app).await, before);
}

#[tokio::test]
async fn a_body_head_edits_within_its_body_only() {
    let app = TestApp::new().await;
    let mut c = app.login("shobocho").await;
    // Anywhere in 消防本部: 総務課 and 身延消防署.
    for login in ["shobo.somu", "minobu1"] {
        let id = app.person_id(login).await;
        let fields = with(&person_fields(&app, login).await, "phone", "内線 119");
        let f: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let r = c.post_form(&format!("/org/persons/{id}"), &f).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{login}: {}", r.body);
        let p = mamori_db::org::person_by_login(&app.db, login)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(p.phone, "内線 119");
    }
    // A move inside the body is allowed; out of it is not.
    let minobu1 = app.person_id("minobu1").await;
    let inside = with(
        &person_fields(&app, "minobu1").await,
        "unit",
        "shobo-kajikazawa",
    );
    let f: Vec<(&str, &str)> = inside
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let r = c.post_form(&format!("/org/persons/{minobu1}"), &f).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let before = snapshot(&app).await;
    let outside = with(&person_fields(&app, "minobu1").await, "unit", "jimu-somu");
    let f: Vec<(&str, &str)> = outside
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let r = c.post_form(&format!("/org/persons/{minobu1}"), &f).await;
    assert_error_page(&r, StatusCode::FORBIDDEN, "権限がありません");
    // 事務局 and 慈生園 persons: refused.
    for login in ["keiri", "shien1"] {
        let id = app.person_id(login).await;
        let fields = with(&person_fields(&app, login).await, "phone", "内線 119");
        let f: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let r = c.post_form(&format!("/org/persons/{id}"), &f).await;
        assert_error_page(&r, StatusCode::FORBIDDEN, "権限がありません");
    }
    assert_eq!(snapshot(&app).await, before);
    // It may appoint a 管理者 inside its body, but not an auditor.
    let keibo = app.person_id("keibo").await;
    c.get(&format!("/org/persons/{keibo}")).await;
    let assignments = app.count("role_assignment").await;
    let r = c
        .post_form(
            &format!("/org/persons/{keibo}/assignments"),
            &[
                ("role", "security_manager"),
                ("unit", "shobo-keibo"),
                ("valid_from", "令和8年4月1日"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(app.count("role_assignment").await, assignments + 1);
    let r = c
        .post_form(
            &format!("/org/persons/{keibo}/assignments"),
            &[
                ("role", "auditor"),
                ("unit", "shobo-keibo"),
                ("valid_from", "2026-04-01"),
            ],
        )
        .await;
    assert_error_page(&r, StatusCode::FORBIDDEN, "役割の割当ての権限がありません");
    assert_eq!(app.count("role_assignment").await, assignments + 1);
}

#[tokio::test]
async fn only_ciso_and_chief_officer_edit_units_policy_and_accounts() {
    let app = TestApp::new().await;
    let jimu = app.unit_id("jimu").await.to_string();
    let somu2 = app.person_id("somu2").await;
    let text = "1. 目的\n本文。\n2. 定義\n定義。\n";
    for login in [
        "vciso",
        "sysadmin",
        "kansa",
        "shobocho",
        "zaimu.kacho",
        "somu",
    ] {
        let mut c = app.login(login).await;
        let before = snapshot(&app).await;
        let denials = app.audit_count("permission.denied").await;
        let r = c
            .post_form(
                "/org/units",
                &[("parent_id", &jimu), ("code", "x-unit"), ("name", "新設課")],
            )
            .await;
        assert_error_page(&r, StatusCode::FORBIDDEN, "組織の編集の権限がありません");
        let r = c.post_form("/policy/import", &[("text", text)]).await;
        assert_error_page(
            &r,
            StatusCode::FORBIDDEN,
            "ポリシーの改定の権限がありません",
        );
        let r = c
            .post_form(&format!("/org/persons/{somu2}/reset-password"), &[])
            .await;
        assert_error_page(
            &r,
            StatusCode::FORBIDDEN,
            "アカウント管理の権限がありません",
        );
        if login != "kansa" {
            let r = c.get("/audit/export?format=csv").await;
            assert_error_page(
                &r,
                StatusCode::FORBIDDEN,
                "監査証跡の出力の権限がありません",
            );
        }
        assert_eq!(snapshot(&app).await, before, "{login}: nothing written");
        let expected = if login == "kansa" { 3 } else { 4 };
        assert_eq!(
            app.audit_count("permission.denied").await,
            denials + expected,
            "{login}"
        );
        // The pages do not offer what would be refused.
        let org = c.get("/org").await;
        assert!(!org.body.contains("action=\"/org/units\""), "{login}");
        let policy = c.get("/policy").await;
        assert!(
            !policy.body.contains("action=\"/policy/import\""),
            "{login}"
        );
        let person = c.get(&format!("/org/persons/{somu2}")).await;
        assert!(!person.body.contains("reset-password"), "{login}");
    }
    for login in TOP {
        let mut c = app.login(login).await;
        let units = app.count("unit").await;
        let r = c
            .post_form(
                "/org/units",
                &[
                    ("parent_id", &jimu),
                    ("code", &format!("new-{login}")),
                    ("name", "新設課"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{login}: {}", r.body);
        assert_eq!(app.count("unit").await, units + 1);
        let versions = app.count("policy_version").await;
        let r = c.post_form("/policy/import", &[("text", text)]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{login}: {}", r.body);
        assert_eq!(app.count("policy_version").await, versions + 1);
        let hash_before = mamori_db::auth::password_hash(&app.db, somu2)
            .await
            .unwrap();
        let r = c
            .post_form(&format!("/org/persons/{somu2}/reset-password"), &[])
            .await;
        assert_eq!(r.status, StatusCode::OK, "{login}: {}", r.body);
        assert_ne!(
            mamori_db::auth::password_hash(&app.db, somu2)
                .await
                .unwrap(),
            hash_before
        );
        let exports = app.audit_count("audit.export").await;
        let r = c.get("/audit/export?format=csv").await;
        assert_eq!(r.status, StatusCode::OK, "{login}");
        assert!(r.body.starts_with('\u{feff}'), "CSV with a BOM");
        assert_eq!(app.audit_count("audit.export").await, exports + 1);
    }
    assert_eq!(app.audit_count("account.reset").await, 2);
}

#[tokio::test]
async fn grants_are_limited_to_roles_the_granter_may_grant() {
    let app = TestApp::new().await;
    let mut c = app.login("zaimu.kacho").await;
    let token = app.token("zaimu.kacho").await;
    let keiri = app.person_id("keiri").await;
    c.get(&format!("/org/persons/{keiri}")).await;

    // The form offers only grantable roles.
    let page = c.get(&format!("/org/persons/{keiri}")).await;
    assert!(
        page.body.contains("value=\"system_staff\""),
        "{}",
        page.body
    );
    assert!(!page.body.contains("value=\"ciso\""));
    assert!(!page.body.contains("value=\"security_manager\""));

    let before = snapshot(&app).await;
    let denials = app.audit_count("permission.denied").await;
    for role in [
        "ciso",
        "vice_ciso",
        "chief_officer",
        "auditor",
        "security_manager",
    ] {
        let r = c
            .post_form(
                &format!("/org/persons/{keiri}/assignments"),
                &[
                    ("role", role),
                    ("unit", "jimu-zaimu"),
                    ("valid_from", "2026-04-01"),
                ],
            )
            .await;
        assert_error_page(&r, StatusCode::FORBIDDEN, "役割の割当ての権限がありません");
        let r = c
            .api(
                Method::POST,
                &format!("/api/v1/persons/{keiri}/assignments"),
                &token,
                Some(json!({"role": role, "unit": "jimu-zaimu", "valid_from": "2026-04-01"})),
            )
            .await;
        assert_json_error(&r, StatusCode::FORBIDDEN, "forbidden");
    }
    // Nor a grantable role in another unit, nor to a person of another unit.
    let r = c
        .post_form(
            &format!("/org/persons/{keiri}/assignments"),
            &[
                ("role", "staff"),
                ("unit", "jimu-somu"),
                ("valid_from", "2026-04-01"),
            ],
        )
        .await;
    assert_error_page(&r, StatusCode::FORBIDDEN, "役割の割当ての権限がありません");
    let somu = app.person_id("somu").await;
    let r = c
        .post_form(
            &format!("/org/persons/{somu}/assignments"),
            &[
                ("role", "system_staff"),
                ("unit", "jimu-zaimu"),
                ("valid_from", "2026-04-01"),
            ],
        )
        .await;
    assert_error_page(&r, StatusCode::FORBIDDEN, "役割の割当ての権限がありません");
    assert_eq!(snapshot(&app).await, before, "nothing granted");
    assert_eq!(app.audit_count("permission.denied").await, denials + 12);

    // What it may grant works, in the form and the API.
    let r = c
        .post_form(
            &format!("/org/persons/{keiri}/assignments"),
            &[
                ("role", "system_staff"),
                ("unit", "jimu-zaimu"),
                ("valid_from", "R8.4.1"),
                ("valid_to", "令和9年3月31日"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = c
        .api(
            Method::POST,
            &format!("/api/v1/persons/{keiri}/assignments"),
            &token,
            Some(json!({"role": "職員", "unit": "jimu-zaimu-keiri", "valid_from": "2026-04-01"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let granted: Vec<(String, String, Option<String>)> = sqlx::query_as(
        "SELECT role, valid_from, valid_to FROM role_assignment WHERE person_id = $1 ORDER BY id",
    )
    .bind(keiri)
    .fetch_all(app.db.pool())
    .await
    .unwrap();
    assert_eq!(
        granted[1..],
        [
            (
                "system_staff".to_owned(),
                "2026-04-01".to_owned(),
                Some("2027-03-31".to_owned())
            ),
            ("staff".to_owned(), "2026-04-01".to_owned(), None),
        ]
    );
    assert_eq!(
        app.audit_count("assignment.create").await,
        2 + demo_grants(&app).await
    );

    // The CISO may grant CISO.
    let mut ciso = app.login("ciso").await;
    ciso.get(&format!("/org/persons/{keiri}")).await;
    let r = ciso
        .post_form(
            &format!("/org/persons/{keiri}/assignments"),
            &[
                ("role", "ciso"),
                ("unit", "kyonan"),
                ("valid_from", "2026-04-01"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
}

/// Assignments the demo loader made (each is audited).
async fn demo_grants(app: &TestApp) -> i64 {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_entry WHERE action = 'assignment.create' AND actor = 'demo'",
    )
    .fetch_one(app.db.pool())
    .await
    .unwrap()
}

#[tokio::test]
async fn ending_an_assignment_is_limited_to_its_unit() {
    let app = TestApp::new().await;
    let org = mamori_core::org::OrgId(app.org_id);
    let somu = app.person_id("somu").await;
    let somu_staff = mamori_db::org::assignments_of(&app.db, org, somu)
        .await
        .unwrap()[0]
        .id;
    let keiri = app.person_id("keiri").await;
    let keiri_staff = mamori_db::org::assignments_of(&app.db, org, keiri)
        .await
        .unwrap()[0]
        .id;
    let mut c = app.login("zaimu.kacho").await;
    let before = snapshot(&app).await;
    let r = c
        .post_form(&format!("/org/assignments/{somu_staff}/end"), &[])
        .await;
    assert_error_page(&r, StatusCode::FORBIDDEN, "役割の割当ての権限がありません");
    assert_eq!(snapshot(&app).await, before);
    let r = c
        .post_form(
            &format!("/org/assignments/{keiri_staff}/end"),
            &[("last_day", "2026-09-30")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location(), Some(format!("/org/persons/{keiri}").as_str()));
    let a = mamori_db::org::assignment(&app.db, org, keiri_staff)
        .await
        .unwrap();
    assert_eq!(a.valid_to.as_deref(), Some("2026-09-30"));
    assert_eq!(app.audit_count("assignment.end").await, 1);
}

#[tokio::test]
async fn a_manager_cannot_edit_someone_holding_more_authority_in_its_unit() {
    use mamori_core::permission::{Capability, can};
    let app = TestApp::new().await;
    // keiri (会計係, under 財政課) is made 情報セキュリティ管理者 of 会計係: a peer of zaimu.kacho.
    let keiri = app.person_id("keiri").await;
    let unit = app.unit_id("jimu-zaimu-keiri").await;
    let mut tx = app.db.begin_write().await.unwrap();
    mamori_db::org::create_assignment(
        &mut tx,
        &Capability::<can::EditAssignments>::operator(mamori_core::org::OrgId(app.org_id)),
        &mamori_db::org::AuditCtx::default(),
        &mamori_db::org::AssignmentInput {
            person_id: keiri,
            role: mamori_core::role::Role::SecurityManager,
            unit_id: unit,
            valid_from: "2026-04-01".into(),
            valid_to: None,
            note: String::new(),
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    let token = app.token("zaimu.kacho").await;
    let before = crate::support::snapshot(&app).await;
    let denials = app.audit_count("permission.denied").await;
    let mut c = app.client();
    let r = c
        .api(
            http::Method::PUT,
            &format!("/api/v1/persons/{keiri}"),
            &token,
            Some(
                serde_json::json!({"login": "keiri", "staff_no": "0009", "name": "小林 明美",
                "unit": "jimu-zaimu-keiri", "employment": "regular", "status": "retired"}),
            ),
        )
        .await;
    assert_eq!(r.status, http::StatusCode::FORBIDDEN, "{}", r.body);
    assert_eq!(
        crate::support::snapshot(&app).await,
        before,
        "nothing written"
    );
    assert_eq!(app.audit_count("permission.denied").await, denials + 1);
    // The 統括 may.
    let token = app.token("tokatsu").await;
    let r = c
        .api(
            http::Method::PUT,
            &format!("/api/v1/persons/{keiri}"),
            &token,
            Some(serde_json::json!({"login": "keiri", "staff_no": "0009", "name": "小林 明美",
                "unit": "jimu-zaimu-keiri", "employment": "regular", "status": "active", "phone": "内線 209"})),
        )
        .await;
    assert_eq!(r.status, http::StatusCode::OK, "{}", r.body);
}
