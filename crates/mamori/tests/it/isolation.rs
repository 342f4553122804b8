//! Multi-tenant isolation, route by route: a second organisation lives in the same database
//! with its own units, staff, role assignments, policy versions, API token and audit entries.
//! Logged in as the first organisation's CISO (pages) and with its API token, every route is
//! tried with the other organisation's ids, codes and names. The answer must be the one a
//! nonexistent id gets (404, never 403: nothing hints that it exists), or a list without any of
//! the other organisation's data.
//!
//! The routes are read from the web crate's routers and from the OpenAPI document; the test
//! fails naming any route it did not try, so a new route cannot skip this check.

use std::collections::BTreeSet;

use http::{Method, StatusCode};
use mamori_core::org::OrgId;
use mamori_core::permission::{Capability, can};
use mamori_core::role::Role;
use mamori_db::org::{self, AssignmentInput, AuditCtx, PersonInput, UnitInput};
use serde_json::{Value, json};

use crate::common::{Client, PASSWORD, Resp, TestApp};

#[path = "catalogue_isolation.rs"]
mod catalogue_probes;
use crate::support::{Route, declared_routes, documented_operations, request_id, snapshot};

/// Text that appears only in the second organisation's data: its name, unit names, person
/// names, logins and e-mail domain, token name and policy text.
const MARKERS: &[&str] = &[
    "八ヶ岳南麓",
    "南麓",
    "鷲見",
    "zz.hokuto",
    "zz-hokuto",
    "hokuroku",
];

/// An id no row has.
const MISSING: i64 = 987_654_321;

/// What the second organisation holds.
struct OtherOrg {
    org_id: i64,
    units: Vec<i64>,
    persons: Vec<i64>,
    assignments: Vec<i64>,
    token: String,
    token_id: i64,
    versions: i64,
    /// Its information assets: (id, 資産番号); the first is disposed with a certificate, the
    /// second held by the third and taken out.
    assets: Vec<(i64, String)>,
    /// Its take-out record.
    take_out: i64,
    /// Its disposal certificate.
    certificate: i64,
}

/// Builds the second organisation: created as the command line does (operator capability),
/// then used through the web like any organisation, so its audit trail has logins, a policy
/// import, a token, an edit and a refusal.
async fn second_org(app: &TestApp) -> OtherOrg {
    let hash = mamori_web::password::hash(PASSWORD.to_owned(), 64)
        .await
        .unwrap();
    let ctx = AuditCtx {
        actor: "cli".into(),
        ..AuditCtx::default()
    };
    let mut tx = app.db.begin_write().await.unwrap();
    let (org_id, root) =
        org::create_organisation(&mut tx, &ctx, "hokuroku", "八ヶ岳南麓広域事務組合")
            .await
            .unwrap();
    let ctx = AuditCtx {
        org_id: Some(org_id),
        ..ctx
    };
    let oid = OrgId(org_id);
    let units_cap = Capability::<can::EditUnits>::operator(oid);
    let persons_cap = Capability::<can::EditPersons>::operator(oid);
    let roles_cap = Capability::<can::EditAssignments>::operator(oid);
    let mut units = vec![root];
    // (code, parent index, name, kind). `jimu` is also a unit code of the first organisation:
    // codes are unique within an organisation only.
    let plan = [
        ("hokuroku-jimu", 0, "南麓事務局", "body"),
        ("hokuroku-jimu-somu", 1, "南麓総務課", "section"),
        ("jimu", 0, "南麓共同事務局", "body"),
    ];
    for (code, parent, name, kind) in plan {
        let id = org::create_unit(
            &mut tx,
            &units_cap,
            &ctx,
            &UnitInput {
                parent_id: units[parent],
                code: code.into(),
                name: name.into(),
                kind: kind.into(),
                sort_order: 0,
                active: true,
            },
        )
        .await
        .unwrap();
        units.push(id);
    }
    // Staff numbers repeat the first organisation's (they are unique per organisation).
    let people = [
        (
            "0001",
            "zz.hokuto.ciso",
            "鷲見 北斗",
            1,
            Some((Role::Ciso, 0)),
        ),
        (
            "0002",
            "zz.hokuto.kacho",
            "鷲見 東風",
            2,
            Some((Role::SecurityManager, 2)),
        ),
        ("0003", "zz.hokuto.staff", "鷲見 南天", 2, None),
        ("0004", "zz.hokuto.kyodo", "鷲見 西海", 3, None),
    ];
    let mut persons = Vec::new();
    let mut assignments = Vec::new();
    for (staff_no, login, name, unit, role) in people {
        let id = org::create_person(
            &mut tx,
            &persons_cap,
            &ctx,
            &PersonInput {
                login: login.into(),
                staff_no: Some(staff_no.into()),
                name: name.into(),
                name_kana: "すみ".into(),
                unit_id: units[unit],
                employment: "regular".into(),
                email: format!("{login}@hokuroku.example.lg.jp"),
                phone: "内線 1".into(),
                status: "active".into(),
            },
            Some(&hash),
        )
        .await
        .unwrap();
        persons.push(id);
        let grants = std::iter::once((Role::Staff, unit)).chain(role);
        for (role, at) in grants {
            let a = org::create_assignment(
                &mut tx,
                &roles_cap,
                &ctx,
                &AssignmentInput {
                    person_id: id,
                    role,
                    unit_id: units[at],
                    valid_from: "2026-04-01".into(),
                    valid_to: None,
                    note: "鷲見の割当て".into(),
                },
            )
            .await
            .unwrap();
            assignments.push(a);
        }
    }
    tx.commit().await.unwrap();
    mamori::demo::store_shipped_policy(
        &app.db,
        org_id,
        "八ヶ岳南麓広域事務組合",
        &ctx,
        Some("2026-04-01"),
    )
    .await
    .unwrap();

    // Its CISO uses the web: logs in (TOTP enrolment), imports three policy versions, makes a
    // token and edits a person.
    let mut c = app.login("zz.hokuto.ciso").await;
    for n in 2..=4 {
        let text = format!("1. 目的\n鷲見条項 第{n}版。\n2. 定義\n南麓の用語。\n");
        let r = c
            .post_form("/policy/import", &[("text", &text), ("note", "鷲見の改定")])
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    }
    let r = c
        .post_form("/account/tokens", &[("name", "zz-hokuto-token")])
        .await;
    let token = r.by_id("new-token").unwrap();
    let token_id: i64 =
        sqlx::query_scalar("SELECT id FROM api_token WHERE name = 'zz-hokuto-token'")
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    let r = c
        .api(
            Method::PUT,
            &format!("/api/v1/persons/{}", persons[2]),
            &token,
            Some(
                json!({"login": "zz.hokuto.staff", "staff_no": "0003", "name": "鷲見 南天",
                "unit": "hokuroku-jimu-somu", "employment": "temporary"}),
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // Its staff member is refused the audit trail (a permission.denied of that organisation).
    let mut staff = app.login("zz.hokuto.staff").await;
    assert_eq!(staff.get("/audit").await.status, StatusCode::FORBIDDEN);
    // Its own network model, two versions, named so that any leak shows.
    let net_cap =
        mamori_core::permission::Capability::<mamori_core::permission::can::EditNetwork>::operator(
            mamori_core::org::OrgId(org_id),
        );
    let toml = mamori_web::features::network::EXAMPLE_TOML.replace(
        "峡南広域行政組合 庁内ネットワーク",
        "八ヶ岳南麓 庁内ネットワーク",
    );
    let mut tx = app.db.begin_write().await.unwrap();
    for note in ["南麓 初版", "南麓 第2版"] {
        mamori_db::network::add_version(&mut tx, &net_cap, &ctx, &toml, note)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();

    // Its own register: named so that any leak shows.
    let assets = other_assets(app, org_id, &units, &persons, &ctx).await;
    let take_out: i64 = sqlx::query_scalar("SELECT MAX(id) FROM asset_takeout WHERE org_id = $1")
        .bind(org_id)
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    let certificate: i64 =
        sqlx::query_scalar("SELECT MAX(id) FROM asset_certificate WHERE org_id = $1")
            .bind(org_id)
            .fetch_one(app.db.pool())
            .await
            .unwrap();

    OtherOrg {
        assets,
        take_out,
        certificate,
        org_id,
        units,
        persons,
        assignments,
        token,
        token_id,
        versions: 4,
    }
}

/// The second organisation's assets: a disposed record with a certificate, information held
/// by a system, and a take-out.
async fn other_assets(
    app: &TestApp,
    org_id: i64,
    units: &[i64],
    persons: &[i64],
    ctx: &AuditCtx,
) -> Vec<(i64, String)> {
    use mamori_db::assets;
    use mamori_web::features::inventory::form::AssetDraft;
    let oid = OrgId(org_id);
    let cap = Capability::<can::EditAssets>::operator(oid);
    let tree = org::unit_tree(&app.db, oid).await.unwrap();
    let mut tx = app.db.begin_write().await.unwrap();
    let mut out = Vec::new();
    for (no, name, kind, conf) in [
        ("N-DISP-1", "南麓 廃棄済み台帳", "情報（紙）", "2"),
        ("N-INF-1", "南麓 住民記録", "情報（電子）", "3C"),
        ("N-SYS-1", "南麓 基幹システム", "情報システム", "3C"),
    ] {
        let draft = AssetDraft {
            asset_no: no.into(),
            name: name.into(),
            business: "南麓業務".into(),
            kind: kind.into(),
            unit: units[2].to_string(),
            manager: persons[1].to_string(),
            location: "南麓 書庫".into(),
            lockable: "1".into(),
            zone: if kind == "情報（紙）" {
                ""
            } else {
                "lgwan"
            }
            .into(),
            confidentiality: conf.into(),
            integrity: "1".into(),
            availability: "1".into(),
            restrictions: if kind == "情報（紙）" {
                "持出禁止"
            } else {
                "関係者限り"
            }
            .into(),
            last_reviewed: "2026-04-01".into(),
            ..AssetDraft::default()
        };
        let input = draft
            .read(&tree, mamori_core::asset::Scheme::R6, &|_| None)
            .unwrap();
        let id = assets::create(&mut tx, &cap, ctx, &tree, &input)
            .await
            .unwrap();
        out.push((id, no.to_owned()));
    }
    assets::set_holdings(&mut tx, &cap, ctx, &tree, out[2].0, &[out[1].0])
        .await
        .unwrap();
    assets::take_out(
        &mut tx,
        &cap,
        ctx,
        &tree,
        out[2].0,
        &assets::TakeOutInput {
            person_id: persons[2],
            purpose: "南麓 研修".into(),
            destination: "南麓 会場".into(),
            out_on: mamori_core::calendar::today_jst(),
            due_on: None,
        },
    )
    .await
    .unwrap();
    assets::dispose(
        &mut tx,
        &cap,
        ctx,
        &tree,
        out[0].0,
        &assets::DisposalInput {
            on: mamori_core::calendar::today_jst(),
            person_id: persons[1],
            method: "南麓 溶解".into(),
            certificate: Some(("南麓-証明書.pdf".into(), b"%PDF hokuroku".to_vec())),
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    out
}

/// Fails when a response carries any of the other organisation's data, or broke.
fn assert_clean(r: &Resp, what: &str) {
    assert_clean_body(r.status, &r.body, what);
}

fn assert_clean_body(status: StatusCode, body: &str, what: &str) {
    assert!(!status.is_server_error(), "{what}: {status} {body}");
    for m in MARKERS {
        assert!(
            !body.contains(m),
            "{what}: the other organisation's {m:?} shows: {body}"
        );
    }
}

/// The value of the first parameter of a query string (`?q=…`), as the user typed it.
fn typed(query: &str) -> String {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(query.trim_start_matches('?')).unwrap();
    pairs.into_iter().next().map(|(_, v)| v).unwrap_or_default()
}

/// How a probe sends its request.
#[derive(Clone)]
enum Send {
    Page,
    Form(Vec<(String, String)>),
    Api(Method, Option<Value>),
}

fn form(fields: &[(&str, &str)]) -> Send {
    Send::Form(
        fields
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    )
}

/// The first organisation's CISO, trying routes and noting which ones it tried.
struct Prober<'a> {
    app: &'a TestApp,
    c: Client,
    token: String,
    covered: BTreeSet<Route>,
}

impl Prober<'_> {
    async fn send(&mut self, how: &Send, path: &str) -> Resp {
        match how {
            Send::Page => self.c.get(path).await,
            Send::Form(fields) => {
                let f: Vec<(&str, &str)> = fields
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                self.c.post_form(path, &f).await
            }
            Send::Api(m, body) => {
                let token = self.token.clone();
                self.c.api(m.clone(), path, &token, body.clone()).await
            }
        }
    }

    fn mark(&mut self, how: &Send, template: &str) {
        let method = match how {
            Send::Page => "get".to_owned(),
            Send::Form(_) => "post".to_owned(),
            Send::Api(m, _) => m.as_str().to_lowercase(),
        };
        self.covered.insert((method, template.to_owned()));
    }

    /// A request that must show nothing of the other organisation.
    async fn clean(&mut self, template: &str, how: Send, path: &str) -> Resp {
        self.mark(&how, template);
        let r = self.send(&how, path).await;
        assert_clean(&r, &format!("{template} ({path})"));
        r
    }

    /// As [`Self::clean`] for a request that carries some of the other organisation's text
    /// (`echo`, a search or filter the viewer typed): the page may repeat the viewer's own
    /// input in the search field and in links, nowhere else.
    async fn clean_echo(&mut self, template: &str, how: Send, path: &str, echo: &str) -> Resp {
        self.mark(&how, template);
        let r = self.send(&how, path).await;
        let encoded = serde_urlencoded::to_string([("", echo)]).unwrap();
        let body = r
            .body
            .replace(&format!("value=\"{echo}\""), "value=\"\"")
            .replace(&encoded, "=")
            .replace(&format!("={echo}&"), "=&");
        assert_clean_body(r.status, &body, &format!("{template} ({path})"));
        r
    }

    /// A request naming the other organisation's object (`other`) must be answered exactly as
    /// the same request naming nothing (`missing`), with `status`, and change nothing.
    async fn hidden(
        &mut self,
        template: &str,
        how: Send,
        other: &str,
        missing: &str,
        status: StatusCode,
    ) {
        self.mark(&how, template);
        let before = snapshot(self.app).await;
        let a = self.send(&how, other).await;
        let b = self.send(&how, missing).await;
        assert_eq!(snapshot(self.app).await, before, "{other}: nothing written");
        assert_eq!(a.status, status, "{other}: {}", a.body);
        assert_clean(&a, other);
        let norm = |r: &Resp| r.body.replace(&request_id(r), "<request-id>");
        assert_eq!(
            a.status, b.status,
            "{other} and {missing} are answered alike"
        );
        assert_eq!(
            norm(&a),
            norm(&b),
            "{other} and {missing} are answered alike"
        );
    }

    /// As [`Self::hidden`] for a value of the other organisation (a unit code or id, a login)
    /// placed in the query or the body by `make`: answered as the same request with a value
    /// nobody has (`missing`), the value itself aside when the answer repeats it.
    async fn hidden_value(
        &mut self,
        template: &str,
        make: impl Fn(&str) -> (Send, String),
        other: &str,
        missing: &str,
        status: StatusCode,
    ) {
        let (how, path) = make(other);
        self.mark(&how, template);
        let before = snapshot(self.app).await;
        let a = self.send(&how, &path).await;
        let (how_b, path_b) = make(missing);
        let b = self.send(&how_b, &path_b).await;
        assert_eq!(
            snapshot(self.app).await,
            before,
            "{path} {other}: nothing written"
        );
        assert_eq!(a.status, status, "{path} {other}: {}", a.body);
        // A number is not searched for: the page's own digits would match it.
        let echoed = |v: &str| !v.chars().all(|c| c.is_ascii_digit());
        let norm = |r: &Resp, v: &str| {
            let body = r.body.replace(&request_id(r), "<request-id>");
            if echoed(v) {
                body.replace(v, "<value>")
            } else {
                body
            }
        };
        assert_clean_body(a.status, &norm(&a, other), &format!("{path} {other}"));
        assert_eq!(a.status, b.status, "{path}: {other} and {missing} alike");
        assert_eq!(
            norm(&a, other),
            norm(&b, missing),
            "{path}: {other} and {missing} alike"
        );
    }
}

#[tokio::test]
async fn no_route_reveals_another_organisation() {
    let app = TestApp::new().await;
    let other = second_org(&app).await;
    let first_persons: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM person WHERE org_id = $1")
        .bind(app.org_id)
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    let c = app.login("ciso").await;
    let token = app.token("ciso").await;
    let mut p = Prober {
        app: &app,
        c,
        token,
        covered: BTreeSet::new(),
    };
    let api = |m: Method| Send::Api(m, None);

    // --- Pages with lists: only the first organisation's rows. ---
    p.clean("/", Send::Page, "/").await;
    let r = p.clean("/org", Send::Page, "/org").await;
    assert!(r.body.contains("峡南広域行政組合"));
    p.clean("/org/roles", Send::Page, "/org/roles").await;
    for q in [
        "",
        "?q=%E9%B7%B2%E8%A6%8B", // 鷲見
        "?q=zz.hokuto",
        "?q=hokuroku",
        "?q=0001",
        "?q=%E5%8D%97%E9%BA%93", // 南麓
        "?unit=jimu",
        "?status=active",
        "?status=retired",
        "?page=2",
        "?page=999",
    ] {
        let r = p
            .clean_echo(
                "/org/persons",
                Send::Page,
                &format!("/org/persons{q}"),
                &typed(q),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{q}");
    }
    // A unit code of the other organisation is answered like a code nobody has.
    p.hidden_value(
        "/org/persons",
        |unit| (Send::Page, format!("/org/persons?unit={unit}")),
        "hokuroku-jimu-somu",
        "nosuch-unit-code0",
        StatusCode::BAD_REQUEST,
    )
    .await;
    for id in &other.persons {
        p.hidden(
            "/org/persons/{id}",
            Send::Page,
            &format!("/org/persons/{id}"),
            &format!("/org/persons/{MISSING}"),
            StatusCode::NOT_FOUND,
        )
        .await;
    }
    p.clean("/account", Send::Page, "/account").await;
    p.clean("/policy", Send::Page, "/policy").await;
    let r = p
        .clean("/policy/versions", Send::Page, "/policy/versions")
        .await;
    assert!(r.body.contains("/policy/versions/1"));
    assert!(!r.body.contains("/policy/versions/2"), "{}", r.body);
    let r = p
        .clean("/policy/versions/{n}", Send::Page, "/policy/versions/1")
        .await;
    assert_eq!(r.status, StatusCode::OK);
    for n in 2..=other.versions {
        p.hidden(
            "/policy/versions/{n}",
            Send::Page,
            &format!("/policy/versions/{n}"),
            &format!("/policy/versions/{MISSING}"),
            StatusCode::NOT_FOUND,
        )
        .await;
    }

    // --- The audit trail, with filters aimed at the other organisation. ---
    let max_seq: i64 = sqlx::query_scalar("SELECT MAX(seq) FROM audit_entry")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    let audit_queries = [
        String::new(),
        "?actor=zz.hokuto.ciso".into(),
        "?actor=cli".into(),
        "?action=login.".into(),
        "?action=policy.".into(),
        "?action=permission.denied".into(),
        "?action=org.create".into(),
        format!("?object_type=person&object_id={}", other.persons[2]),
        format!("?object_type=organisation&object_id={}", other.org_id),
        format!("?object_type=api_token&object_id={}", other.token_id),
        format!("?before={}", max_seq + 1),
        "?from=2000-01-01&until=2100-12-31".into(),
    ];
    for q in &audit_queries {
        let r = p
            .clean_echo("/audit", Send::Page, &format!("/audit{q}"), &typed(q))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{q}");
        let r = p
            .clean(
                "/api/v1/audit",
                api(Method::GET),
                &format!("/api/v1/audit{q}"),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{q}");
        for e in r.json()["items"].as_array().unwrap() {
            assert_eq!(e["org_id"], app.org_id, "{q}: {e}");
        }
    }
    // Unfiltered exports (filtered ones come last: an export records its filter).
    for format in ["csv", "jsonl"] {
        let r = p
            .clean(
                "/audit/export",
                Send::Page,
                &format!("/audit/export?format={format}"),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK);
        let r = p
            .clean(
                "/api/v1/audit",
                api(Method::GET),
                &format!("/api/v1/audit?format={format}"),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK);
    }

    // --- Writes naming the other organisation's objects: answered as for nothing, no change. ---
    let other_fields = |id_unit: &str| {
        form(&[
            ("login", "zz.hokuto.staff"),
            ("staff_no", "0003"),
            ("name", "乗っ取り 太郎"),
            ("unit", id_unit),
            ("employment", "regular"),
        ])
    };
    for id in &other.persons {
        for unit in ["hokuroku-jimu-somu", "jimu"] {
            p.hidden(
                "/org/persons/{id}",
                other_fields(unit),
                &format!("/org/persons/{id}"),
                &format!("/org/persons/{MISSING}"),
                StatusCode::NOT_FOUND,
            )
            .await;
        }
        p.hidden(
            "/org/persons/{id}/assignments",
            form(&[
                ("role", "ciso"),
                ("unit", "jimu"),
                ("valid_from", "2026-04-01"),
            ]),
            &format!("/org/persons/{id}/assignments"),
            &format!("/org/persons/{MISSING}/assignments"),
            StatusCode::NOT_FOUND,
        )
        .await;
        p.hidden(
            "/org/persons/{id}/reset-password",
            form(&[]),
            &format!("/org/persons/{id}/reset-password"),
            &format!("/org/persons/{MISSING}/reset-password"),
            StatusCode::NOT_FOUND,
        )
        .await;
    }
    for id in &other.assignments {
        p.hidden(
            "/org/assignments/{id}/end",
            form(&[("last_day", "2026-04-30")]),
            &format!("/org/assignments/{id}/end"),
            &format!("/org/assignments/{MISSING}/end"),
            StatusCode::NOT_FOUND,
        )
        .await;
    }
    p.hidden(
        "/account/tokens/{id}/revoke",
        form(&[]),
        &format!("/account/tokens/{}/revoke", other.token_id),
        &format!("/account/tokens/{MISSING}/revoke"),
        StatusCode::NOT_FOUND,
    )
    .await;
    // A unit of the other organisation as the parent of a new unit, or as a new person's unit.
    for unit in &other.units {
        let unit = unit.to_string();
        p.hidden_value(
            "/org/units",
            |parent| {
                let f = form(&[
                    ("parent_id", parent),
                    ("code", "new-unit"),
                    ("name", "新設課"),
                ]);
                (f, "/org/units".to_owned())
            },
            &unit,
            &MISSING.to_string(),
            StatusCode::BAD_REQUEST,
        )
        .await;
    }
    let person_with_unit = |unit: &str| {
        form(&[
            ("login", "iso.new"),
            ("name", "新規 花子"),
            ("unit", unit),
            ("employment", "regular"),
        ])
    };
    p.hidden_value(
        "/org/persons",
        |unit| (person_with_unit(unit), "/org/persons".to_owned()),
        "hokuroku-jimu-somu",
        "nosuch-unit-code0",
        StatusCode::BAD_REQUEST,
    )
    .await;
    // A code both organisations use means the viewer's own unit.
    let r = p
        .clean("/org/persons", person_with_unit("jimu"), "/org/persons")
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let created = org::person_by_login(&app.db, "iso.new")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(created.org_id, app.org_id);
    assert_eq!(created.unit_id, app.unit_id("jimu").await);
    // Own-account forms show only the viewer's own things.
    let r = p
        .clean(
            "/account/tokens",
            form(&[("name", "isolation")]),
            "/account/tokens",
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    p.clean(
        "/account/password",
        form(&[
            ("current", "wrong"),
            ("new_password", "x"),
            ("confirm", "x"),
        ]),
        "/account/password",
    )
    .await;
    p.clean("/account/mfa", form(&[]), "/account/mfa").await;
    p.clean(
        "/account/recovery-codes",
        form(&[]),
        "/account/recovery-codes",
    )
    .await;
    // A policy import makes the first organisation's next version; the other's stay as they were.
    let r = p
        .clean(
            "/policy/import",
            form(&[("text", "1. 目的\n峡南の本文。\n2. 定義\n定義。\n")]),
            "/policy/import",
        )
        .await;
    assert_eq!(r.location(), Some("/policy/versions/2"), "{}", r.body);
    let theirs: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM policy_version WHERE org_id = $1")
        .bind(other.org_id)
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(theirs, other.versions);
    let r = p
        .clean("/policy/versions/{n}", Send::Page, "/policy/versions/2")
        .await;
    assert!(r.body.contains("峡南の本文"), "{}", r.body);

    // --- The API. ---
    let r = p.clean("/api/v1/me", api(Method::GET), "/api/v1/me").await;
    assert_eq!(r.json()["organisation"]["id"], app.org_id);
    let r = p
        .clean("/api/v1/units", api(Method::GET), "/api/v1/units")
        .await;
    let ids: Vec<i64> = r.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_i64().unwrap())
        .collect();
    assert!(other.units.iter().all(|u| !ids.contains(u)));
    for q in [
        "",
        "?q=%E9%B7%B2%E8%A6%8B", // 鷲見
        "?q=zz.hokuto",
        "?q=0001",
        "?unit=jimu",
        "?per_page=200",
        "?page=2&per_page=10",
    ] {
        let r = p
            .clean(
                "/api/v1/persons",
                api(Method::GET),
                &format!("/api/v1/persons{q}"),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{q}");
        for item in r.json()["items"].as_array().unwrap() {
            assert_eq!(item["org_id"], app.org_id, "{q}");
        }
    }
    let r = p
        .clean(
            "/api/v1/persons",
            api(Method::GET),
            "/api/v1/persons?per_page=200",
        )
        .await;
    assert_eq!(
        r.json()["total"],
        first_persons + 1,
        "the one created above"
    );
    p.hidden_value(
        "/api/v1/persons",
        |unit| (api(Method::GET), format!("/api/v1/persons?unit={unit}")),
        "hokuroku-jimu",
        "nosuch-unit-cod",
        StatusCode::BAD_REQUEST,
    )
    .await;
    let person_json = |unit: &str| {
        Send::Api(
            Method::POST,
            Some(
                json!({"login": "iso.api", "name": "新規 次郎", "unit": unit,
                "employment": "regular"}),
            ),
        )
    };
    p.hidden_value(
        "/api/v1/persons",
        |unit| (person_json(unit), "/api/v1/persons".to_owned()),
        "hokuroku-jimu-somu",
        "nosuch-unit-code0",
        StatusCode::BAD_REQUEST,
    )
    .await;
    for id in &other.persons {
        for (method, template, path, body) in [
            (
                Method::GET,
                "/api/v1/persons/{id}",
                format!("/api/v1/persons/{id}"),
                None,
            ),
            (
                Method::PUT,
                "/api/v1/persons/{id}",
                format!("/api/v1/persons/{id}"),
                Some(json!({"login": "zz.hokuto.staff", "name": "乗っ取り 太郎",
                    "unit": "jimu", "employment": "regular"})),
            ),
            (
                Method::GET,
                "/api/v1/persons/{id}/assignments",
                format!("/api/v1/persons/{id}/assignments"),
                None,
            ),
            (
                Method::POST,
                "/api/v1/persons/{id}/assignments",
                format!("/api/v1/persons/{id}/assignments"),
                Some(json!({"role": "ciso", "unit": "jimu", "valid_from": "2026-04-01"})),
            ),
        ] {
            let missing = path.replace(&format!("/{id}"), &format!("/{MISSING}"));
            p.hidden(
                template,
                Send::Api(method, body),
                &path,
                &missing,
                StatusCode::NOT_FOUND,
            )
            .await;
        }
    }
    let r = p
        .clean(
            "/api/v1/assignments",
            api(Method::GET),
            "/api/v1/assignments",
        )
        .await;
    let items = r.json()["items"].as_array().unwrap().clone();
    assert!(!items.is_empty());
    for a in &items {
        assert_eq!(a["org_id"], app.org_id);
        assert!(!other.assignments.contains(&a["id"].as_i64().unwrap()));
    }
    let r = p
        .clean("/api/v1/policy", api(Method::GET), "/api/v1/policy")
        .await;
    assert_eq!(r.json()["versions"].as_array().unwrap().len(), 2);
    let r = p
        .clean(
            "/api/v1/openapi.json",
            api(Method::GET),
            "/api/v1/openapi.json",
        )
        .await;
    let doc = r.json();

    // --- Pages without organisation data, and the login stages. ---
    p.clean("/healthz", Send::Page, "/healthz").await;
    p.clean("/assets/mamori.css", Send::Page, "/assets/mamori.css")
        .await;
    for stage in ["/login", "/login/totp", "/login/enroll", "/login/password"] {
        p.clean(stage, Send::Page, stage).await;
    }
    for stage in ["/login/totp", "/login/enroll", "/login/password"] {
        let r = p.clean(stage, form(&[("code", "123456")]), stage).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{stage}");
    }
    // Logging in with the other organisation's login and a wrong password is answered as for a
    // login nobody has.
    p.hidden_value(
        "/login",
        |login| {
            let f = form(&[("login", login), ("password", "wrong-password")]);
            (f, "/login".to_owned())
        },
        "zz.hokuto.kyodo",
        "nobody.at.all",
        StatusCode::UNAUTHORIZED,
    )
    .await;

    // --- Filtered exports (last: each records its filter in the viewer's own trail). ---
    // Unfiltered by actor first: an export records its filter, so a later unfiltered export
    // would show the other organisation's login typed into an earlier filter.
    for q in [
        "&from=2000-01-01",
        "&action=org.create",
        "&actor=zz.hokuto.ciso",
    ] {
        for format in ["csv", "jsonl"] {
            p.clean(
                "/audit/export",
                Send::Page,
                &format!("/audit/export?format={format}{q}"),
            )
            .await;
            p.clean(
                "/api/v1/audit",
                api(Method::GET),
                &format!("/api/v1/audit?format={format}{q}"),
            )
            .await;
        }
    }
    // The other organisation's token still works, and sees only its own organisation.
    let mut other_client = app.client();
    let r = other_client
        .api(
            Method::GET,
            "/api/v1/persons?per_page=200",
            &other.token,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["total"], 4);
    let r = other_client
        .api(Method::GET, "/api/v1/me", &other.token, None)
        .await;
    assert_eq!(r.json()["person"]["login"], "zz.hokuto.ciso");

    // --- ネットワーク構成: the other organisation has versions 1 and 2; this one only 1. ---
    for template in [
        "/network",
        "/network/diagram.svg",
        "/network/edit",
        "/network/export.toml",
        "/network/versions",
    ] {
        p.clean(template, Send::Page, template).await;
    }
    p.hidden(
        "/network/versions/{n}",
        Send::Page,
        "/network/versions/2",
        "/network/versions/999",
        StatusCode::NOT_FOUND,
    )
    .await;
    p.hidden(
        "/network/export.toml",
        Send::Page,
        "/network/export.toml?version=2",
        "/network/export.toml?version=999",
        StatusCode::NOT_FOUND,
    )
    .await;
    for template in [
        "/api/v1/network",
        "/api/v1/network/check",
        "/api/v1/network/versions",
    ] {
        p.clean(template, api(Method::GET), template).await;
    }
    // The CISO reads the network but does not edit it: refused, and nothing of the other shows.
    p.clean("/network", form(&[("toml", "x"), ("note", "")]), "/network")
        .await;
    p.clean("/network/example", form(&[]), "/network/example")
        .await;
    p.clean(
        "/api/v1/network",
        Send::Api(Method::PUT, Some(serde_json::json!({}))),
        "/api/v1/network",
    )
    .await;

    // --- 名簿の取込み: a file naming the other organisation's unit or login. ---
    roster_probes(&mut p).await;

    // --- 情報資産管理台帳 ---
    asset_probes(&mut p, &other).await;
    // --- 情報資産台帳の取込み・出力: files out and in. ---
    assets_io_probes(&mut p, &other).await;

    // --- ポリシー文書・誓約・見直し ---
    documents_probes(&mut p, &other).await;
    // --- 情報セキュリティ監査 ---
    auditing_probes(&mut p, &other).await;

    // --- 対策基準・例外措置 ---
    catalogue_probes::probes(&mut p, other.org_id, other.persons[0]).await;

    // --- 自己点検 ---
    inspection_probes(&mut p, &other).await;
    // --- Tasks and reminders: the viewer's own work; mail only within the organisation. ---
    p.clean("/notifications", Send::Page, "/notifications")
        .await;
    p.clean(
        "/notifications/remind",
        form(&[("scope", "all")]),
        "/notifications/remind",
    )
    .await;
    p.clean("/api/v1/tasks", api(Method::GET), "/api/v1/tasks")
        .await;
    p.clean(
        "/api/v1/reminders",
        Send::Api(Method::POST, Some(serde_json::json!({"scope": "all"}))),
        "/api/v1/reminders",
    )
    .await;

    p.clean("/logout", form(&[]), "/logout").await;

    // --- Every route was tried. ---
    let mut all = declared_routes();
    all.extend(documented_operations(&doc));
    let missed: Vec<&Route> = all.difference(&p.covered).collect();
    assert!(
        missed.is_empty(),
        "routes without an isolation check: {missed:?}"
    );
    let unknown: Vec<&Route> = p.covered.difference(&all).collect();
    assert!(
        unknown.is_empty(),
        "tried routes that do not exist: {unknown:?}"
    );
}

/// The roster routes take files (multipart pages, a raw API body), so they are probed here:
/// a roster naming the other organisation's unit code is refused exactly as one naming a unit
/// nobody has, and neither writes anything; the pages and templates show nothing of it.
async fn roster_probes(p: &mut Prober<'_>) {
    use crate::roster::{multipart, post_multipart};
    for template in [
        "/org/roster",
        "/org/roster/template.csv",
        "/org/roster/template.xlsx",
    ] {
        p.clean(template, Send::Page, template).await;
    }
    let file = |unit: &str| {
        format!("職員番号,氏名,ログインID,所属コード,雇用形態,在職状況,役割\n0801,鷲見 東風,zz.new.person,{unit},正規職員,在職,\n")
            .into_bytes()
    };
    let mut answers = Vec::new();
    for unit in ["hokuroku-jimu-somu", "no-such-unit-zz"] {
        let before = snapshot(p.app).await;
        p.c.get("/org/roster").await;
        let csrf = p.c.csrf.clone().unwrap();
        let body = multipart(
            &[("csrf", &csrf), ("effective", "2027-04-01")],
            Some(("meibo.csv", &file(unit))),
        );
        let page = post_multipart(&mut p.c, "/org/roster/preview", body).await;
        let token = p.token.clone();
        let req = http::Request::builder()
            .method(Method::POST)
            .uri("/api/v1/roster/import?dry_run=false&effective=2027-04-01")
            .header(http::header::AUTHORIZATION, format!("Bearer {token}"))
            .header(http::header::CONTENT_TYPE, "text/csv")
            .body(axum::body::Body::from(file(unit)))
            .unwrap();
        let api = p.c.send(req).await;
        assert_eq!(
            snapshot(p.app).await,
            before,
            "roster {unit}: nothing written"
        );
        for r in [&page, &api] {
            assert_eq!(
                r.status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{unit}: {}",
                r.body
            );
            let body = r
                .body
                .replace(&request_id(r), "<request-id>")
                .replace(unit, "<unit>");
            assert_clean_body(r.status, &body, &format!("roster {unit}"));
        }
        let norm = |r: &Resp| {
            r.body
                .replace(&request_id(r), "<request-id>")
                .replace(unit, "<unit>")
                .replace(&csrf, "<csrf>")
        };
        answers.push((norm(&page), norm(&api)));
    }
    assert_eq!(
        answers[0], answers[1],
        "another organisation's unit is answered as no unit"
    );
    p.covered
        .insert(("post".into(), "/org/roster/preview".into()));
    p.covered
        .insert(("post".into(), "/api/v1/roster/import".into()));

    // Applying needs a plan digest from a preview; a forged one is refused, nothing written.
    let before = snapshot(p.app).await;
    let encoded = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(file("no-such-unit-zz"))
    };
    let r = p
        .clean(
            "/org/roster/apply",
            form(&[
                ("file", &encoded),
                ("file_name", "meibo.csv"),
                ("effective", "2027-04-01"),
                ("digest", "0000"),
            ]),
            "/org/roster/apply",
        )
        .await;
    assert!(r.status.is_client_error(), "{}", r.body);
    assert_eq!(snapshot(p.app).await, before);

    // A result page is addressed by an audit sequence number: the other organisation's are 404.
    let other_seq: i64 = sqlx::query_scalar("SELECT MAX(seq) FROM audit_entry WHERE org_id <> $1")
        .bind(p.app.org_id)
        .fetch_one(p.app.db.pool())
        .await
        .unwrap();
    p.hidden(
        "/org/roster/result/{seq}",
        Send::Page,
        &format!("/org/roster/result/{other_seq}"),
        "/org/roster/result/999999999",
        StatusCode::NOT_FOUND,
    )
    .await;
}

/// The register's pages and API: lists show only this organisation's assets; the other's
/// asset ids, numbers, unit codes, persons, take-outs and certificates are answered exactly as
/// ones nobody has, and nothing is written.
async fn asset_probes(p: &mut Prober<'_>, other: &OtherOrg) {
    use crate::roster::post_multipart;
    let api = |m: Method| Send::Api(m, None);
    let own = asset_id_of(p.app, "J-SYS-003").await;
    let (disposed, _) = other.assets[0].clone();
    let (info, _) = other.assets[1].clone();
    let (system, _) = other.assets[2].clone();
    let other_unit = other.units[2];
    let other_person = other.persons[1];
    for template in [
        "/inventory",
        "/inventory/new",
        "/inventory/todo",
        "/inventory/bulk",
        "/inventory/settings",
    ] {
        p.clean(template, Send::Page, template).await;
    }
    for q in [
        "?q=%E5%8D%97%E9%BA%93", // 南麓
        "?q=N-SYS",
        "?status=all",
        "?status=disposed",
        "?violations=any",
        "?overdue=1",
        "?triage=1",
    ] {
        p.clean_echo(
            "/inventory",
            Send::Page,
            &format!("/inventory{q}"),
            &typed(q),
        )
        .await;
        p.clean_echo(
            "/api/v1/assets",
            api(Method::GET),
            &format!("/api/v1/assets{q}"),
            &typed(q),
        )
        .await;
    }
    for q in [
        format!("?unit={other_unit}"),
        format!("?manager={other_person}"),
    ] {
        let r = p
            .clean("/inventory", Send::Page, &format!("/inventory{q}"))
            .await;
        assert!(r.body.contains("0 件"), "{q}: {}", r.body);
        let r = p
            .clean(
                "/api/v1/assets",
                api(Method::GET),
                &format!("/api/v1/assets{q}"),
            )
            .await;
        assert_eq!(r.json()["total"], 0, "{q}");
    }
    // One asset by id: pages, actions and API, each answered as an id nobody has.
    let missing = MISSING;
    for (template, suffix) in [("/inventory/{id}", ""), ("/inventory/{id}/edit", "/edit")] {
        for id in [disposed, info, system] {
            p.hidden(
                template,
                Send::Page,
                &format!("/inventory/{id}{suffix}"),
                &format!("/inventory/{missing}{suffix}"),
                StatusCode::NOT_FOUND,
            )
            .await;
        }
    }
    let fields = [
        ("asset_no", "X-1"),
        ("name", "x"),
        ("kind", "system"),
        ("unit", "jimu"),
        ("confidentiality", "2"),
        ("integrity", "1"),
        ("availability", "1"),
    ];
    for (template, suffix, how) in [
        ("/inventory/{id}", "", form(&fields)),
        ("/inventory/{id}/review", "/review", form(&[("on", "")])),
        (
            "/inventory/{id}/triage",
            "/triage",
            form(&[("level", "3B")]),
        ),
        (
            "/inventory/{id}/holdings",
            "/holdings",
            form(&[("held", "")]),
        ),
        (
            "/inventory/{id}/take-outs",
            "/take-outs",
            form(&[("person_id", "1"), ("purpose", "x"), ("destination", "x")]),
        ),
    ] {
        p.c.get("/inventory").await;
        p.hidden(
            template,
            how,
            &format!("/inventory/{system}{suffix}"),
            &format!("/inventory/{missing}{suffix}"),
            StatusCode::NOT_FOUND,
        )
        .await;
    }
    p.c.get("/inventory").await;
    p.hidden(
        "/inventory/{id}/take-outs/{tid}/return",
        form(&[]),
        &format!("/inventory/{system}/take-outs/{}/return", other.take_out),
        &format!("/inventory/{missing}/take-outs/{missing}/return"),
        StatusCode::NOT_FOUND,
    )
    .await;
    // The other's take-out id on one's own asset: no such take-out.
    p.c.get("/inventory").await;
    p.hidden(
        "/inventory/{id}/take-outs/{tid}/return",
        form(&[]),
        &format!("/inventory/{own}/take-outs/{}/return", other.take_out),
        &format!("/inventory/{own}/take-outs/{missing}/return"),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    p.hidden(
        "/inventory/{id}/certificates/{cid}",
        Send::Page,
        &format!("/inventory/{disposed}/certificates/{}", other.certificate),
        &format!("/inventory/{missing}/certificates/{missing}"),
        StatusCode::NOT_FOUND,
    )
    .await;
    p.hidden(
        "/inventory/{id}/certificates/{cid}",
        Send::Page,
        &format!("/inventory/{own}/certificates/{}", other.certificate),
        &format!("/inventory/{own}/certificates/{missing}"),
        StatusCode::NOT_FOUND,
    )
    .await;
    // Disposal is a multipart form.
    let mut answers = Vec::new();
    for id in [system, missing] {
        let before = snapshot(p.app).await;
        p.c.get("/inventory").await;
        let csrf = p.c.csrf.clone().unwrap();
        let body = crate::roster::multipart(
            &[("csrf", &csrf), ("person_id", "1"), ("method", "溶解")],
            None,
        );
        let r = post_multipart(&mut p.c, &format!("/inventory/{id}/dispose"), body).await;
        assert_eq!(snapshot(p.app).await, before);
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
        assert_clean(&r, "dispose");
        answers.push(r.body.replace(&request_id(&r), "<request-id>"));
    }
    assert_eq!(answers[0], answers[1]);
    p.covered
        .insert(("post".into(), "/inventory/{id}/dispose".into()));

    // Values of the other organisation inside forms: unit codes, logins, numbers, persons.
    let create = |unit: &str, manager: &str| {
        let mut f: Vec<(String, String)> = fields
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        f.retain(|(k, _)| k != "unit");
        f.push(("unit".into(), unit.into()));
        f.push(("manager".into(), manager.into()));
        f
    };
    p.c.get("/inventory/new").await;
    p.hidden_value(
        "/inventory",
        |v| (Send::Form(create(v, "")), "/inventory".to_owned()),
        "hokuroku-jimu-somu",
        "no-such-unit-zz",
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    p.hidden_value(
        "/inventory",
        |v| (Send::Form(create("jimu-somu", v)), "/inventory".to_owned()),
        "zz.hokuto.kacho",
        "zz.nobody.kacho",
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    p.hidden_value(
        "/api/v1/assets",
        |v| {
            (
                Send::Api(
                    Method::POST,
                    Some(
                        json!({"asset_no": "X-2", "name": "x", "kind": "system", "unit": v,
                        "confidentiality": "2", "integrity": 1, "availability": 1}),
                    ),
                ),
                "/api/v1/assets".to_owned(),
            )
        },
        "hokuroku-jimu-somu",
        "no-such-unit-zz",
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    p.c.get("/inventory").await;
    p.hidden_value(
        "/inventory/{id}/holdings",
        |v| (form(&[("held", v)]), format!("/inventory/{own}/holdings")),
        "N-INF-1",
        "N-NONE-1",
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    p.c.get("/inventory/bulk").await;
    p.hidden_value(
        "/inventory/bulk/move",
        |v| {
            (
                form(&[("assets", v), ("to_unit", "1"), ("manager", "")]),
                "/inventory/bulk/move".to_owned(),
            )
        },
        "N-SYS-1",
        "N-NONE-1",
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let somu_unit = p.app.unit_id("jimu-somu").await.to_string();
    p.hidden_value(
        "/inventory/bulk/move",
        |v| {
            (
                form(&[("assets", "J-SYS-003"), ("to_unit", v), ("manager", "")]),
                "/inventory/bulk/move".to_owned(),
            )
        },
        &other_unit.to_string(),
        &MISSING.to_string(),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let _ = somu_unit;
    let tokatsu = p.app.person_id("tokatsu").await.to_string();
    for (from, to) in [
        (other_person.to_string(), tokatsu.clone()),
        (tokatsu.clone(), other_person.to_string()),
    ] {
        let missing_from = if from == tokatsu {
            from.clone()
        } else {
            MISSING.to_string()
        };
        let missing_to = if to == tokatsu {
            to.clone()
        } else {
            MISSING.to_string()
        };
        p.hidden_value(
            "/inventory/bulk/reassign",
            |v| {
                let (f, t) = if v == "other" {
                    (from.clone(), to.clone())
                } else {
                    (missing_from.clone(), missing_to.clone())
                };
                (
                    form(&[("from", &f), ("to", &t)]),
                    "/inventory/bulk/reassign".to_owned(),
                )
            },
            "other",
            "missing",
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    // Settings: a value refused, nothing of the other shows.
    p.c.get("/inventory/settings").await;
    p.clean(
        "/inventory/settings",
        form(&[("review_interval_days", "0")]),
        "/inventory/settings",
    )
    .await;

    // The API by id.
    for (template, method, suffix, body) in [
        ("/api/v1/assets/{id}", Method::GET, "", None),
        (
            "/api/v1/assets/{id}",
            Method::PUT,
            "",
            Some(
                json!({"asset_no": "X", "name": "x", "kind": "system", "unit": "jimu",
                "confidentiality": "2", "integrity": 1, "availability": 1}),
            ),
        ),
        ("/api/v1/assets/{id}/review", Method::POST, "/review", None),
        (
            "/api/v1/assets/{id}/dispose",
            Method::POST,
            "/dispose",
            Some(json!({"person_id": 1, "method": "x"})),
        ),
        (
            "/api/v1/assets/{id}/take-outs",
            Method::POST,
            "/take-outs",
            Some(json!({"person_id": 1, "purpose": "x", "destination": "x"})),
        ),
    ] {
        for id in [disposed, system] {
            p.hidden(
                template,
                Send::Api(method.clone(), body.clone()),
                &format!("/api/v1/assets/{id}{suffix}"),
                &format!("/api/v1/assets/{missing}{suffix}"),
                StatusCode::NOT_FOUND,
            )
            .await;
        }
    }
    p.hidden(
        "/api/v1/assets/{id}/take-outs/{take_out_id}/return",
        Send::Api(Method::POST, None),
        &format!(
            "/api/v1/assets/{system}/take-outs/{}/return",
            other.take_out
        ),
        &format!("/api/v1/assets/{missing}/take-outs/{missing}/return"),
        StatusCode::NOT_FOUND,
    )
    .await;
}

async fn asset_id_of(app: &TestApp, no: &str) -> i64 {
    sqlx::query_scalar("SELECT id FROM asset WHERE asset_no = $1 AND org_id = $2")
        .bind(no)
        .bind(app.org_id)
        .fetch_one(app.db.pool())
        .await
        .unwrap()
}

/// The register's export and import give and take files, so they are probed here. The other
/// organisation gets an asset of its own (named with its markers); no export shows it, in any
/// format or filter, and a unit id of the other organisation filters like a unit nobody has. A
/// file naming the other organisation's unit code or 管理者 is refused exactly as one naming
/// nothing; a row with its 資産番号 is simply a new asset of the viewer's own; nothing is written.
async fn assets_io_probes(p: &mut Prober<'_>, other: &OtherOrg) {
    use crate::roster::{multipart, post_multipart};
    use mamori_db::assets::{self, draft::AssetDraft, io::COLUMNS};

    let oid = OrgId(other.org_id);
    let tree = org::unit_tree(&p.app.db, oid).await.unwrap();
    let kacho = org::person_by_login(&p.app.db, "zz.hokuto.kacho")
        .await
        .unwrap()
        .unwrap();
    let input = AssetDraft {
        asset_no: "ZZ-HOKUTO-001".into(),
        name: "南麓 住民台帳".into(),
        business: "鷲見の業務".into(),
        kind: "情報（電子）".into(),
        unit: "hokuroku-jimu-somu".into(),
        manager: "zz.hokuto.kacho".into(),
        zone: "LGWAN接続系".into(),
        confidentiality: "3B".into(),
        integrity: "2".into(),
        availability: "2".into(),
        last_reviewed: "2026-04-01".into(),
        ..AssetDraft::default()
    }
    .read(
        &tree,
        assets::settings(&p.app.db, oid).await.unwrap().scheme,
        &|l| (l == "zz.hokuto.kacho").then_some(kacho.id),
    )
    .unwrap();
    let ctx = AuditCtx {
        org_id: Some(other.org_id),
        actor: "cli".into(),
        ..AuditCtx::default()
    };
    let mut tx = p.app.db.begin_write().await.unwrap();
    assets::create(
        &mut tx,
        &Capability::<can::EditAssets>::operator(oid),
        &ctx,
        &tree,
        &input,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let count_own = || async {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM asset WHERE org_id = $1")
            .bind(p.app.org_id)
            .fetch_one(p.app.db.pool())
            .await
            .unwrap();
        n
    };
    let own = count_own().await;

    // Exports: nothing of the other organisation, whatever the format or filter.
    let api = |m: Method| Send::Api(m, None);
    for q in [
        "format=xlsx",
        "format=xlsx&status=all",
        "format=csv",
        "format=csv&encoding=cp932&status=all",
        "format=csv&q=ZZ-HOKUTO",
        "format=csv&manager=0",
    ] {
        for (template, how, path) in [
            (
                "/inventory/export",
                Send::Page,
                format!("/inventory/export?{q}"),
            ),
            (
                "/api/v1/assets/export",
                api(Method::GET),
                format!("/api/v1/assets/export?{q}"),
            ),
        ] {
            let r = p.clean(template, how, &path).await;
            assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.body);
            if q.contains("xlsx") {
                let t = mamori_tabular::read_table(
                    &r.bytes,
                    "export.xlsx",
                    &COLUMNS,
                    &mamori_tabular::ReadOptions::default(),
                )
                .unwrap();
                assert!(t.rows.len() as i64 >= own - 1, "{path}");
                assert_clean_body(r.status, &format!("{:?}", t.rows), &path);
            }
        }
    }
    for unit in [other.units[1], other.units[2]] {
        for (template, how, base) in [
            ("/inventory/export", Send::Page, "/inventory/export"),
            (
                "/api/v1/assets/export",
                api(Method::GET),
                "/api/v1/assets/export",
            ),
        ] {
            p.hidden_value(
                template,
                |u| (how.clone(), format!("{base}?format=csv&unit={u}")),
                &unit.to_string(),
                &MISSING.to_string(),
                StatusCode::OK,
            )
            .await;
        }
    }

    // Imports naming the other organisation's unit or 管理者: refused as naming nothing.
    p.clean("/inventory/import", Send::Page, "/inventory/import")
        .await;
    let file = |unit: &str, manager: &str| {
        format!(
            "資産番号,名称,種別,所管課,管理者,機密性,完全性,可用性\nJ-ISO-001,隔離の試験,情報（電子）,{unit},{manager},2,1,1\n"
        )
        .into_bytes()
    };
    for (theirs, nobody, make) in [
        ("hokuroku-jimu-somu", "no-such-unit-zz", 0),
        ("zz.hokuto.kacho", "no.such.login.zz", 1),
    ] {
        let mut answers = Vec::new();
        for value in [theirs, nobody] {
            let bytes = if make == 0 {
                file(value, "tokatsu")
            } else {
                file("jimu-somu", value)
            };
            let before = snapshot(p.app).await;
            p.c.get("/inventory/import").await;
            let csrf = p.c.csrf.clone().unwrap();
            let body = multipart(&[("csrf", &csrf)], Some(("daicho.csv", &bytes)));
            let page = post_multipart(&mut p.c, "/inventory/import", body).await;
            let token = p.token.clone();
            let req = http::Request::builder()
                .method(Method::POST)
                .uri("/api/v1/assets/import?dry_run=false")
                .header(http::header::AUTHORIZATION, format!("Bearer {token}"))
                .header(http::header::CONTENT_TYPE, "text/csv")
                .header("x-file-name", "daicho.csv")
                .body(axum::body::Body::from(bytes))
                .unwrap();
            let api = p.c.send(req).await;
            assert_eq!(snapshot(p.app).await, before, "{value}: nothing written");
            assert_eq!(count_own().await, own, "{value}: nothing written");
            let norm = |r: &Resp| {
                r.body
                    .replace(&request_id(r), "<request-id>")
                    .replace(value, "<value>")
                    .replace(&csrf, "<csrf>")
            };
            for r in [&page, &api] {
                assert_eq!(
                    r.status,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "{value}: {}",
                    r.body
                );
                assert_clean_body(r.status, &norm(r), &format!("import {value}"));
            }
            answers.push((norm(&page), norm(&api)));
        }
        assert_eq!(answers[0], answers[1], "{theirs} is answered as {nobody}");
    }
    p.covered
        .insert(("post".into(), "/inventory/import".into()));
    p.covered
        .insert(("post".into(), "/api/v1/assets/import".into()));

    // Their 資産番号 is a new number in the viewer's organisation, as any unused one.
    let mut plans = Vec::new();
    for no in ["ZZ-HOKUTO-001", "ZZ-NOBODY-001"] {
        let bytes = format!(
            "資産番号,名称,種別,所管課,管理者,機密性,完全性,可用性\n{no},隔離の試験,情報（電子）,jimu-somu,tokatsu,2,1,1\n"
        );
        let token = p.token.clone();
        let req = http::Request::builder()
            .method(Method::POST)
            .uri("/api/v1/assets/import?dry_run=true")
            .header(http::header::AUTHORIZATION, format!("Bearer {token}"))
            .header(http::header::CONTENT_TYPE, "text/csv")
            .body(axum::body::Body::from(bytes))
            .unwrap();
        let r = p.c.send(req).await;
        assert_eq!(r.status, StatusCode::OK, "{no}: {}", r.body);
        assert_clean_body(r.status, &r.body.replace("ZZ-HOKUTO", "<no>"), no);
        let plan = r.json()["plan"].clone();
        plans.push((
            plan["created"].clone(),
            plan["rows"][0]["action"].clone(),
            plan["rows"][0]["asset_id"].clone(),
        ));
    }
    assert_eq!(plans[0], plans[1]);
    assert_eq!(plans[0].1, "create");

    // Applying needs the digest of a preview: a forged one is refused, nothing written.
    let before = snapshot(p.app).await;
    let encoded = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(file("jimu-somu", "tokatsu"))
    };
    let r = p
        .clean(
            "/inventory/import/apply",
            form(&[
                ("file", &encoded),
                ("file_name", "daicho.csv"),
                ("digest", "0000"),
            ]),
            "/inventory/import/apply",
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert_eq!(snapshot(p.app).await, before);
    assert_eq!(count_own().await, own);
}

/// The second organisation's policy documents and review: a 対策基準, a 実施手順 with a reader
/// list, and a review record, named so that any leak shows. Returns (document ids, review id).
async fn other_documents(app: &TestApp, other: &OtherOrg) -> (Vec<i64>, i64) {
    use mamori_core::document::{DocKind, ReaderRule, ReviewSource};
    use mamori_db::documents::{self, NewDocument, ReviewInputFields};
    let oid = OrgId(other.org_id);
    let tree = org::unit_tree(&app.db, oid).await.unwrap();
    let ciso = org::person_by_login(&app.db, "zz.hokuto.ciso")
        .await
        .unwrap()
        .unwrap();
    let today = mamori_core::calendar::format_iso(mamori_core::calendar::today_jst());
    let actor = org::actor(&app.db, &ciso, &tree, &today).await.unwrap();
    let cap = actor.can::<can::EditPolicy>().unwrap();
    let ctx = AuditCtx {
        org_id: Some(other.org_id),
        actor_id: Some(ciso.id),
        actor: ciso.login.clone(),
        request_id: None,
    };
    let mut tx = app.db.begin_write().await.unwrap();
    let mut ids = Vec::new();
    for (kind, title) in [
        (DocKind::Standard, "南麓 対策基準"),
        (DocKind::Procedure, "南麓 鷲見システム実施手順"),
    ] {
        let id = documents::create(
            &mut tx,
            &cap,
            &ctx,
            &tree,
            &NewDocument {
                kind,
                title: title.into(),
                summary: "鷲見".into(),
                body: "鷲見条項 南麓の手順。".into(),
                readers: vec![ReaderRule {
                    unit: None,
                    role: Some(Role::Staff),
                }],
            },
        )
        .await
        .unwrap();
        ids.push(id);
    }
    let review = documents::open_review(
        &mut tx,
        &cap,
        &ctx,
        &ReviewInputFields {
            title: "南麓 見直し".into(),
            source: ReviewSource::Manual,
            summary: "鷲見".into(),
            decisions: "鷲見の決定".into(),
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    ids.push(
        documents::basic_policy(&app.db, other.org_id)
            .await
            .unwrap()
            .unwrap()
            .id,
    );
    (ids, review)
}

/// Policy documents, acknowledgements and reviews: lists show only the first organisation's,
/// and every route naming the other's document or review answers like an id nobody has.
async fn documents_probes(p: &mut Prober<'_>, other: &OtherOrg) {
    let (docs, review) = other_documents(p.app, other).await;
    let get = || Send::Api(Method::GET, None);
    p.clean("/documents", Send::Page, "/documents").await;
    p.clean_echo(
        "/documents",
        Send::Page,
        "/documents?q=%E5%8D%97%E9%BA%93",
        "南麓",
    )
    .await;
    p.clean("/reviews", Send::Page, "/reviews").await;
    // The public page of the first organisation (another's published 基本方針 is public by
    // law, but it is not shown on this one).
    p.clean("/public/policy", Send::Page, "/public/policy?org=kyonan")
        .await;
    p.clean("/api/v1/documents", get(), "/api/v1/documents")
        .await;
    p.clean("/api/v1/reviews", get(), "/api/v1/reviews").await;
    p.clean(
        "/documents",
        form(&[
            ("kind", "standard"),
            ("title", "分離の試験"),
            ("body", "本文"),
        ]),
        "/documents",
    )
    .await;
    p.clean(
        "/reviews",
        form(&[("title", "分離の試験"), ("source", "manual")]),
        "/reviews",
    )
    .await;
    for id in docs {
        for (template, how, suffix) in [
            ("/documents/{id}", Send::Page, ""),
            ("/documents/{id}/diff", Send::Page, "/diff?from=1&to=2"),
            ("/documents/{id}/versions/{n}", Send::Page, "/versions/1"),
            (
                "/documents/{id}/versions/{n}/download",
                Send::Page,
                "/versions/1/download",
            ),
            (
                "/documents/{id}/versions/{n}/acknowledgements",
                Send::Page,
                "/versions/1/acknowledgements",
            ),
            (
                "/documents/{id}/versions",
                form(&[("title", "鷲見"), ("body", "1. 目的\n本文\n")]),
                "/versions",
            ),
            (
                "/documents/{id}/readers",
                form(&[("readers", "staff")]),
                "/readers",
            ),
            ("/api/v1/documents/{id}", get(), ""),
            ("/api/v1/documents/{id}/versions/{n}", get(), "/versions/1"),
            (
                "/api/v1/documents/{id}/versions/{n}/acknowledgements",
                get(),
                "/versions/1/acknowledgements",
            ),
            (
                "/api/v1/documents/{id}/versions/{n}/acknowledge",
                Send::Api(Method::POST, None),
                "/versions/1/acknowledge",
            ),
        ] {
            let base = if template.starts_with("/api/") {
                "/api/v1/documents"
            } else {
                "/documents"
            };
            p.hidden(
                template,
                how,
                &format!("{base}/{id}{suffix}"),
                &format!("{base}/{MISSING}{suffix}"),
                StatusCode::NOT_FOUND,
            )
            .await;
        }
        for step in [
            "edit",
            "submit",
            "approve",
            "return",
            "publish",
            "acknowledge",
            "remind",
        ] {
            p.hidden(
                "/documents/{id}/versions/{n}/{step}",
                form(&[
                    ("pledge", "1"),
                    ("reason", "鷲見"),
                    ("title", "鷲見"),
                    ("body", "鷲見"),
                ]),
                &format!("/documents/{id}/versions/1/{step}"),
                &format!("/documents/{MISSING}/versions/1/{step}"),
                StatusCode::NOT_FOUND,
            )
            .await;
        }
    }
    p.hidden(
        "/reviews/{id}",
        Send::Page,
        &format!("/reviews/{review}"),
        &format!("/reviews/{MISSING}"),
        StatusCode::NOT_FOUND,
    )
    .await;
    for action in ["update", "input", "threat", "output", "submit", "approve"] {
        p.hidden(
            "/reviews/{id}",
            form(&[
                ("action", action),
                ("title", "鷲見"),
                ("source", "manual"),
                ("kind", "manual"),
                ("reference", "鷲見"),
                ("threat", "deliberate"),
                ("likelihood", "1"),
                ("impact", "1"),
                ("document_id", "1"),
                ("version_no", "1"),
            ]),
            &format!("/reviews/{review}"),
            &format!("/reviews/{MISSING}"),
            StatusCode::NOT_FOUND,
        )
        .await;
    }
    p.hidden(
        "/api/v1/reviews/{id}",
        get(),
        &format!("/api/v1/reviews/{review}"),
        &format!("/api/v1/reviews/{MISSING}"),
        StatusCode::NOT_FOUND,
    )
    .await;
}

/// The other organisation's audit: a plan, an engagement of its 総務課 by its own auditor, a
/// finding with an evidence file and a corrective action: (plan, engagement, item, finding,
/// evidence, action).
async fn other_audit(app: &TestApp, other: &OtherOrg) -> (i64, i64, i64, i64, i64, i64) {
    use mamori_db::auditing::{self, ActionInput, EngagementInput, FindingInput, PlanInput};
    let oid = OrgId(other.org_id);
    let tree = org::unit_tree(&app.db, oid).await.unwrap();
    let persons = org::all_persons(&app.db, oid).await.unwrap();
    let ctx = AuditCtx {
        org_id: Some(other.org_id),
        actor: "zz.hokuto".into(),
        ..AuditCtx::default()
    };
    let today = mamori_core::calendar::today_jst();
    let day = mamori_core::calendar::format_iso(today);
    // 鷲見 西海 (南麓共同事務局) becomes its auditor.
    let auditor = persons.iter().find(|p| p.id == other.persons[3]).unwrap();
    let mut tx = app.db.begin_write().await.unwrap();
    org::create_assignment(
        &mut tx,
        &Capability::<can::EditAssignments>::operator(oid),
        &ctx,
        &AssignmentInput {
            person_id: auditor.id,
            role: Role::Auditor,
            unit_id: other.units[0],
            valid_from: "2026-04-01".into(),
            valid_to: None,
            note: String::new(),
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let actor_of = async |id: i64| {
        let p = persons.iter().find(|p| p.id == id).unwrap();
        org::actor(&app.db, p, &tree, &day).await.unwrap()
    };
    let planner = actor_of(other.persons[0])
        .await
        .can::<can::PlanAudits>()
        .unwrap();
    let conduct = actor_of(auditor.id)
        .await
        .can::<can::ConductAudits>()
        .unwrap();
    let corrective = actor_of(other.persons[1])
        .await
        .can::<can::EditCorrectiveActions>()
        .unwrap();
    let fy = mamori_core::calendar::FiscalYear::of(today);
    let mut tx = app.db.begin_write().await.unwrap();
    let plan = auditing::create_plan(
        &mut tx,
        &planner,
        &ctx,
        &tree,
        &PlanInput {
            kind: mamori_core::auditing::PlanKind::Annual,
            title: "南麓 監査計画".into(),
            fiscal_year: i64::from(fy.year()),
            last_year: i64::from(fy.year()),
            purpose: "南麓の目的".into(),
            ordered_by: None,
            ordered_on: None,
            order_note: String::new(),
        },
        today,
    )
    .await
    .unwrap();
    let engagement = auditing::create_engagement(
        &mut tx,
        &planner,
        &ctx,
        &tree,
        plan,
        &EngagementInput {
            title: "南麓総務課の監査".into(),
            starts_on: Some(fy.start()),
            ends_on: Some(fy.end()),
            units: vec![other.units[2]],
            systems: vec![],
            criteria: vec!["2-4-1".into()],
            auditors: vec![auditor.id],
            note: "南麓".into(),
        },
        today,
    )
    .await
    .unwrap();
    for to in [
        mamori_core::auditing::EngagementStatus::Planning,
        mamori_core::auditing::EngagementStatus::Fieldwork,
    ] {
        auditing::advance(&mut tx, &planner, &ctx, engagement, to)
            .await
            .unwrap();
    }
    let item: i64 = sqlx::query_scalar("SELECT id FROM auditing_item WHERE engagement_id = $1")
        .bind(engagement)
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    let finding = auditing::create_finding(
        &mut tx,
        &conduct,
        &ctx,
        &tree,
        engagement,
        &FindingInput {
            severity: mamori_core::auditing::Severity::Major,
            clause: "2-4-1".into(),
            unit_id: other.units[2],
            description: "南麓の指摘".into(),
            evidence: "南麓の証跡".into(),
            item_id: Some(item),
            file: Some(("南麓-証跡.pdf".into(), b"%PDF hokuroku".to_vec())),
        },
    )
    .await
    .unwrap();
    let action = auditing::plan_action(
        &mut tx,
        &corrective,
        &ctx,
        &tree,
        finding,
        &ActionInput {
            owner_id: other.persons[1],
            due_on: Some(today + time::Duration::days(10)),
            plan: "南麓の改善".into(),
        },
        today,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let evidence: i64 =
        sqlx::query_scalar("SELECT id FROM auditing_evidence WHERE finding_id = $1")
            .bind(finding)
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    (plan, engagement, item, finding, evidence, action)
}

/// Audit routes with the other organisation's plan, engagement, item, finding, evidence and
/// action ids are answered as ids nobody has, and write nothing; lists show none of it.
async fn auditing_probes(p: &mut Prober<'_>, other: &OtherOrg) {
    let (plan, engagement, item, finding, evidence, action) = other_audit(p.app, other).await;
    let before = crate::auditing::auditing_state(p.app).await;
    let missing = MISSING;
    let api = |m: Method| Send::Api(m, None);
    let r = p.clean("/audits", Send::Page, "/audits").await;
    assert!(r.body.contains("慈生園の情報セキュリティ監査"));
    for template in ["/api/v1/audits/plans", "/api/v1/audits/engagements"] {
        let r = p.clean(template, api(Method::GET), template).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    // Creating with nothing valid: refused, nothing of the other organisation named.
    p.clean(
        "/audits/plans",
        form(&[("kind", "annual"), ("title", "")]),
        "/audits/plans",
    )
    .await;
    p.clean(
        "/api/v1/audits/plans",
        Send::Api(
            Method::POST,
            Some(json!({"kind": "annual", "title": "", "fiscal_year": 2026})),
        ),
        "/api/v1/audits/plans",
    )
    .await;
    // The other organisation's unit in a scope is unknown here.
    let own_plan: i64 = sqlx::query_scalar("SELECT MIN(id) FROM auditing_plan")
        .fetch_one(p.app.db.pool())
        .await
        .unwrap();
    let gaibu = p.app.person_id("kansa.gaibu").await;
    let fy = mamori_core::calendar::FiscalYear::of(mamori_core::calendar::today_jst());
    let (start, end) = (
        mamori_core::calendar::format_iso(fy.start()),
        mamori_core::calendar::format_iso(fy.end()),
    );
    let body = |plan: i64, unit: i64| {
        json!({"plan_id": plan, "title": "x", "starts_on": start, "ends_on": end, "units": [unit],
            "criteria": ["2-4"], "auditors": [gaibu]})
    };
    let r = p
        .clean(
            "/api/v1/audits/engagements",
            Send::Api(Method::POST, Some(body(own_plan, other.units[2]))),
            "/api/v1/audits/engagements",
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("見つかりません"));
    let own_unit = p.app.unit_id("shobo-somu").await;
    p.hidden_value(
        "/api/v1/audits/engagements",
        |v| {
            (
                Send::Api(Method::POST, Some(body(v.parse().unwrap(), own_unit))),
                "/api/v1/audits/engagements".to_owned(),
            )
        },
        &plan.to_string(),
        &missing.to_string(),
        StatusCode::NOT_FOUND,
    )
    .await;
    // Pages and reads by id.
    let own_unit_s = own_unit.to_string();
    let gaibu_s = gaibu.to_string();
    let engagement_form = form(&[
        ("title", "x"),
        ("starts_on", &start),
        ("ends_on", &end),
        ("unit", &own_unit_s),
        ("criteria", "2-4"),
        ("auditor", &gaibu_s),
    ]);
    let pages: Vec<(&str, Send, String, String, StatusCode)> = vec![
        (
            "/audits/plans/{id}",
            Send::Page,
            format!("/audits/plans/{plan}"),
            format!("/audits/plans/{missing}"),
            StatusCode::NOT_FOUND,
        ),
        (
            "/audits/plans/{id}/engagements",
            engagement_form.clone(),
            format!("/audits/plans/{plan}/engagements"),
            format!("/audits/plans/{missing}/engagements"),
            StatusCode::NOT_FOUND,
        ),
        (
            "/audits/engagements/{id}",
            Send::Page,
            format!("/audits/engagements/{engagement}"),
            format!("/audits/engagements/{missing}"),
            StatusCode::NOT_FOUND,
        ),
        (
            "/audits/engagements/{id}",
            engagement_form.clone(),
            format!("/audits/engagements/{engagement}"),
            format!("/audits/engagements/{missing}"),
            StatusCode::NOT_FOUND,
        ),
        (
            "/audits/engagements/{id}/status",
            form(&[("status", "reporting")]),
            format!("/audits/engagements/{engagement}/status"),
            format!("/audits/engagements/{missing}/status"),
            StatusCode::NOT_FOUND,
        ),
        (
            "/audits/engagements/{id}/report",
            Send::Page,
            format!("/audits/engagements/{engagement}/report"),
            format!("/audits/engagements/{missing}/report"),
            StatusCode::NOT_FOUND,
        ),
        (
            "/audits/engagements/{id}/export.xlsx",
            Send::Page,
            format!("/audits/engagements/{engagement}/export.xlsx"),
            format!("/audits/engagements/{missing}/export.xlsx"),
            StatusCode::NOT_FOUND,
        ),
        (
            "/audits/findings/{id}/action",
            form(&[("owner_id", "1"), ("due_on", &end), ("plan", "x")]),
            format!("/audits/findings/{finding}/action"),
            format!("/audits/findings/{missing}/action"),
            StatusCode::NOT_FOUND,
        ),
        (
            "/audits/findings/{id}/evidence/{eid}",
            Send::Page,
            format!("/audits/findings/{finding}/evidence/{evidence}"),
            format!("/audits/findings/{missing}/evidence/{missing}"),
            StatusCode::NOT_FOUND,
        ),
        (
            "/audits/actions/{id}/update",
            form(&[("status", "reported"), ("note", "x")]),
            format!("/audits/actions/{action}/update"),
            format!("/audits/actions/{missing}/update"),
            StatusCode::NOT_FOUND,
        ),
        // The CISO does no fieldwork: refused before anything is looked up.
        (
            "/audits/engagements/{id}/items",
            form(&[("clause", "2-4-1"), ("question", "x")]),
            format!("/audits/engagements/{engagement}/items"),
            format!("/audits/engagements/{missing}/items"),
            StatusCode::FORBIDDEN,
        ),
        (
            "/audits/engagements/{id}/items/{item}",
            form(&[("examined", "x"), ("result", "conform")]),
            format!("/audits/engagements/{engagement}/items/{item}"),
            format!("/audits/engagements/{missing}/items/{missing}"),
            StatusCode::FORBIDDEN,
        ),
        (
            "/audits/actions/{id}/follow-up",
            form(&[("decision", "confirm")]),
            format!("/audits/actions/{action}/follow-up"),
            format!("/audits/actions/{missing}/follow-up"),
            StatusCode::FORBIDDEN,
        ),
        (
            "/api/v1/audits/plans/{id}",
            api(Method::GET),
            format!("/api/v1/audits/plans/{plan}"),
            format!("/api/v1/audits/plans/{missing}"),
            StatusCode::NOT_FOUND,
        ),
        (
            "/api/v1/audits/engagements/{id}",
            api(Method::GET),
            format!("/api/v1/audits/engagements/{engagement}"),
            format!("/api/v1/audits/engagements/{missing}"),
            StatusCode::NOT_FOUND,
        ),
        (
            "/api/v1/audits/engagements/{id}",
            Send::Api(Method::PUT, Some(body(own_plan, own_unit))),
            format!("/api/v1/audits/engagements/{engagement}"),
            format!("/api/v1/audits/engagements/{missing}"),
            StatusCode::NOT_FOUND,
        ),
        (
            "/api/v1/audits/engagements/{id}/status",
            Send::Api(Method::POST, Some(json!({"status": "reporting"}))),
            format!("/api/v1/audits/engagements/{engagement}/status"),
            format!("/api/v1/audits/engagements/{missing}/status"),
            StatusCode::NOT_FOUND,
        ),
        (
            "/api/v1/audits/engagements/{id}/export",
            api(Method::GET),
            format!("/api/v1/audits/engagements/{engagement}/export"),
            format!("/api/v1/audits/engagements/{missing}/export"),
            StatusCode::NOT_FOUND,
        ),
        (
            "/api/v1/audits/findings/{id}/action",
            Send::Api(
                Method::POST,
                Some(json!({"owner_id": 1, "due_on": end, "plan": "x"})),
            ),
            format!("/api/v1/audits/findings/{finding}/action"),
            format!("/api/v1/audits/findings/{missing}/action"),
            StatusCode::NOT_FOUND,
        ),
        (
            "/api/v1/audits/actions/{id}/updates",
            Send::Api(
                Method::POST,
                Some(json!({"status": "reported", "note": "x"})),
            ),
            format!("/api/v1/audits/actions/{action}/updates"),
            format!("/api/v1/audits/actions/{missing}/updates"),
            StatusCode::NOT_FOUND,
        ),
        (
            "/api/v1/audits/engagements/{id}/items",
            Send::Api(
                Method::POST,
                Some(json!({"clause": "2-4-1", "question": "x"})),
            ),
            format!("/api/v1/audits/engagements/{engagement}/items"),
            format!("/api/v1/audits/engagements/{missing}/items"),
            StatusCode::FORBIDDEN,
        ),
        (
            "/api/v1/audits/engagements/{id}/items/{item}",
            Send::Api(
                Method::PUT,
                Some(json!({"examined": "x", "result": "conform"})),
            ),
            format!("/api/v1/audits/engagements/{engagement}/items/{item}"),
            format!("/api/v1/audits/engagements/{missing}/items/{missing}"),
            StatusCode::FORBIDDEN,
        ),
        (
            "/api/v1/audits/engagements/{id}/findings",
            Send::Api(
                Method::POST,
                Some(
                    json!({"severity": "minor", "clause": "2-4-1", "unit_id": own_unit, "description": "x"}),
                ),
            ),
            format!("/api/v1/audits/engagements/{engagement}/findings"),
            format!("/api/v1/audits/engagements/{missing}/findings"),
            StatusCode::FORBIDDEN,
        ),
        (
            "/api/v1/audits/actions/{id}/follow-up",
            Send::Api(Method::POST, Some(json!({"decision": "confirm"}))),
            format!("/api/v1/audits/actions/{action}/follow-up"),
            format!("/api/v1/audits/actions/{missing}/follow-up"),
            StatusCode::FORBIDDEN,
        ),
    ];
    for (template, how, other_path, missing_path, status) in pages {
        p.c.get("/audits").await;
        p.hidden(template, how, &other_path, &missing_path, status)
            .await;
    }
    // An evidence file of the other organisation under one of this organisation's findings.
    let own_finding: i64 = sqlx::query_scalar("SELECT MIN(id) FROM auditing_finding")
        .fetch_one(p.app.db.pool())
        .await
        .unwrap();
    p.hidden(
        "/audits/findings/{id}/evidence/{eid}",
        Send::Page,
        &format!("/audits/findings/{own_finding}/evidence/{evidence}"),
        &format!("/audits/findings/{own_finding}/evidence/{missing}"),
        StatusCode::NOT_FOUND,
    )
    .await;
    // Findings are a multipart form: the CISO is refused alike for both ids.
    let mut answers = Vec::new();
    for id in [engagement, missing] {
        p.c.get("/audits").await;
        let csrf = p.c.csrf.clone().unwrap();
        let body = crate::roster::multipart(
            &[
                ("csrf", &csrf),
                ("severity", "minor"),
                ("clause", "2-4-1"),
                ("unit_id", "1"),
                ("description", "x"),
            ],
            None,
        );
        let r = crate::roster::post_multipart(
            &mut p.c,
            &format!("/audits/engagements/{id}/findings"),
            body,
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
        assert_clean(&r, "findings");
        answers.push(r.body.replace(&request_id(&r), "<request-id>"));
    }
    assert_eq!(answers[0], answers[1]);
    p.covered
        .insert(("post".into(), "/audits/engagements/{id}/findings".into()));
    assert_eq!(
        crate::auditing::auditing_state(p.app).await,
        before,
        "no audit record written by any probe"
    );
}

/// 自己点検: the other organisation's campaign, respondent entry and improvement item are
/// answered on every route exactly as ids nobody has; lists and the own roll-up show nothing of
/// it; a unit code of the other organisation is refused as an unknown one.
async fn inspection_probes(p: &mut Prober<'_>, other: &OtherOrg) {
    use mamori_db::inspection::{self as insp, AnswerInput, CampaignInput};
    let oid = OrgId(other.org_id);
    let ctx = AuditCtx {
        org_id: Some(other.org_id),
        actor: "cli".into(),
        ..AuditCtx::default()
    };
    let tree = org::unit_tree(&p.app.db, oid).await.unwrap();
    let today = mamori_core::calendar::today_jst();
    let manage = Capability::<can::ManageInspections>::operator(oid);
    let mut tx = p.app.db.begin_write().await.unwrap();
    let theirs = insp::create(
        &mut tx,
        &manage,
        &ctx,
        &tree,
        &CampaignInput {
            name: "南麓 自己点検".into(),
            fiscal_year: 2026,
            start_on: today,
            end_on: today + time::Duration::days(10),
            groups: vec![mamori_core::inspection::Group::Staff],
            units: Vec::new(),
        },
    )
    .await
    .unwrap();
    insp::set_questions(
        &mut tx,
        &manage,
        &ctx,
        theirs,
        mamori_core::inspection::Group::Staff,
        &[("2-4-4".into(), "南麓の設問".into())],
    )
    .await
    .unwrap();
    insp::open(&mut tx, &manage, &ctx, &tree, theirs, today)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let person = other.persons[2];
    let entry = insp::respondents_of(&p.app.db, oid, person, Some(theirs))
        .await
        .unwrap()[0]
        .id;
    let q = insp::questions(&p.app.db, oid, theirs).await.unwrap()[0].id;
    let mut tx = p.app.db.begin_write().await.unwrap();
    let answer = AnswerInput {
        question_id: q,
        answer: "not_done".into(),
        comment: "南麓".into(),
        ..AnswerInput::default()
    };
    insp::save_answers(&mut tx, oid, &ctx, person, entry, today, &[answer])
        .await
        .unwrap();
    insp::submit(&mut tx, oid, &ctx, person, entry, today)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let item: i64 =
        sqlx::query_scalar("SELECT id FROM inspection_improvement WHERE campaign_id = $1")
            .bind(theirs)
            .fetch_one(p.app.db.pool())
            .await
            .unwrap();
    let own = insp::campaigns(&p.app.db, OrgId(p.app.org_id))
        .await
        .unwrap()[0]
        .id;

    // Lists and the own campaign's pages, roll-up and exports.
    for t in [
        "/inspections",
        "/inspections/new",
        "/inspections/improvements",
        "/api/v1/inspections",
    ] {
        let how = if t.starts_with("/api/") {
            Send::Api(Method::GET, None)
        } else {
            Send::Page
        };
        p.clean(t, how, t).await;
    }
    p.clean(
        "/inspections/improvements",
        Send::Page,
        &format!("/inspections/improvements?campaign={theirs}"),
    )
    .await;
    for (t, suffix) in [
        ("/inspections/{id}", ""),
        ("/inspections/{id}/rollup", "/rollup"),
        (
            "/inspections/{id}/export/answers.xlsx",
            "/export/answers.xlsx",
        ),
        (
            "/inspections/{id}/export/rollup.xlsx",
            "/export/rollup.xlsx",
        ),
    ] {
        p.clean(t, Send::Page, &format!("/inspections/{own}{suffix}"))
            .await;
        p.hidden(
            t,
            Send::Page,
            &format!("/inspections/{theirs}{suffix}"),
            &format!("/inspections/{MISSING}{suffix}"),
            StatusCode::NOT_FOUND,
        )
        .await;
    }
    for (t, suffix) in [
        ("/api/v1/inspections/{id}", ""),
        ("/api/v1/inspections/{id}/rollup", "/rollup"),
        ("/api/v1/inspections/{id}/responses", "/responses"),
        ("/api/v1/inspections/{id}/improvements", "/improvements"),
    ] {
        p.clean(
            t,
            Send::Api(Method::GET, None),
            &format!("/api/v1/inspections/{own}{suffix}"),
        )
        .await;
        p.hidden(
            t,
            Send::Api(Method::GET, None),
            &format!("/api/v1/inspections/{theirs}{suffix}"),
            &format!("/api/v1/inspections/{MISSING}{suffix}"),
            StatusCode::NOT_FOUND,
        )
        .await;
    }
    // Changes naming their campaign, entry or item.
    let campaign_form = form(&[
        ("name", "x"),
        ("start_on", "2026-06-01"),
        ("end_on", "2026-06-30"),
        ("groups", "staff"),
    ]);
    for (t, suffix, how) in [
        ("/inspections/{id}", "", campaign_form.clone()),
        (
            "/inspections/{id}/questions",
            "/questions",
            form(&[("group", "staff"), ("lines", "2-4-4 設問")]),
        ),
        ("/inspections/{id}/open", "/open", form(&[])),
        ("/inspections/{id}/close", "/close", form(&[])),
    ] {
        p.hidden(
            t,
            how,
            &format!("/inspections/{theirs}{suffix}"),
            &format!("/inspections/{MISSING}{suffix}"),
            StatusCode::NOT_FOUND,
        )
        .await;
    }
    let api_body = |m: Method, v: Value| Send::Api(m, Some(v));
    for (t, suffix, how) in [
        (
            "/api/v1/inspections/{id}/questions",
            "/questions",
            api_body(
                Method::PUT,
                serde_json::json!({"group": "staff", "questions": [{"clause": "2-4-4", "text": "x"}]}),
            ),
        ),
        (
            "/api/v1/inspections/{id}/open",
            "/open",
            Send::Api(Method::POST, None),
        ),
        (
            "/api/v1/inspections/{id}/close",
            "/close",
            Send::Api(Method::POST, None),
        ),
    ] {
        p.hidden(
            t,
            how,
            &format!("/api/v1/inspections/{theirs}{suffix}"),
            &format!("/api/v1/inspections/{MISSING}{suffix}"),
            StatusCode::NOT_FOUND,
        )
        .await;
    }
    let answer_form = form(&[(&format!("a{q}"), "done"), ("go", "submit")]);
    for (t, suffix, how) in [
        ("/inspections/{id}/respond/{rid}", "", Send::Page),
        ("/inspections/{id}/respond/{rid}", "", answer_form),
        ("/inspections/{id}/respond/{rid}/q/{n}", "/q/1", Send::Page),
    ] {
        p.hidden(
            t,
            how,
            &format!("/inspections/{theirs}/respond/{entry}{suffix}"),
            &format!("/inspections/{MISSING}/respond/{MISSING}{suffix}"),
            StatusCode::NOT_FOUND,
        )
        .await;
    }
    for (t, suffix, how) in [
        (
            "/api/v1/inspections/{id}/responses/{rid}",
            "",
            api_body(
                Method::PUT,
                serde_json::json!({"answers": [{"question_id": q, "answer": "done"}]}),
            ),
        ),
        (
            "/api/v1/inspections/{id}/responses/{rid}/submit",
            "/submit",
            Send::Api(Method::POST, None),
        ),
    ] {
        p.hidden(
            t,
            how,
            &format!("/api/v1/inspections/{theirs}/responses/{entry}{suffix}"),
            &format!("/api/v1/inspections/{MISSING}/responses/{MISSING}{suffix}"),
            StatusCode::NOT_FOUND,
        )
        .await;
    }
    let item_form = form(&[("status", "done"), ("plan", ""), ("due", ""), ("note", "")]);
    p.hidden(
        "/inspections/improvements/{iid}",
        Send::Page,
        &format!("/inspections/improvements/{item}"),
        &format!("/inspections/improvements/{MISSING}"),
        StatusCode::NOT_FOUND,
    )
    .await;
    p.hidden(
        "/inspections/improvements/{iid}",
        item_form,
        &format!("/inspections/improvements/{item}"),
        &format!("/inspections/improvements/{MISSING}"),
        StatusCode::NOT_FOUND,
    )
    .await;
    p.hidden(
        "/api/v1/inspections/improvements/{iid}",
        api_body(Method::PATCH, serde_json::json!({"status": "done"})),
        &format!("/api/v1/inspections/improvements/{item}"),
        &format!("/api/v1/inspections/improvements/{MISSING}"),
        StatusCode::NOT_FOUND,
    )
    .await;
    // A unit code of theirs is unknown here.
    p.hidden_value(
        "/inspections",
        |code| {
            (
                form(&[
                    ("name", "x"),
                    ("start_on", "2026-06-01"),
                    ("end_on", "2026-06-30"),
                    ("groups", "staff"),
                    ("units", code),
                ]),
                "/inspections".to_owned(),
            )
        },
        "hokuroku-jimu",
        "no-such-unit",
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    p.hidden_value(
        "/api/v1/inspections",
        |code| (api_body(Method::POST, serde_json::json!({"name": "x", "start_on": "2026-06-01", "end_on": "2026-06-30", "groups": ["staff"], "units": [code]})), "/api/v1/inspections".to_owned()),
        "hokuroku-jimu",
        "no-such-unit",
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    // Nothing of theirs was answered or changed.
    let answers: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM inspection_answer WHERE campaign_id = $1")
            .bind(theirs)
            .fetch_one(p.app.db.pool())
            .await
            .unwrap();
    assert_eq!(answers, 1);
    let status: String = sqlx::query_scalar("SELECT status FROM inspection_campaign WHERE id = $1")
        .bind(theirs)
        .fetch_one(p.app.db.pool())
        .await
        .unwrap();
    assert_eq!(status, "open");
}
