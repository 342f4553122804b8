//! 情報セキュリティ監査 end to end: a plan, an engagement with independent auditors, fieldwork,
//! findings with evidence, corrective actions followed up until closed — through the API and
//! through the pages — with the independence check, the assigned-auditor rule, separation of
//! duties on confirmation, the printable report, the xlsx export, permissions by role and unit,
//! each person's tasks, and bad input refused with a clear Japanese message and nothing written.

use http::{Method, Request, StatusCode, header};
use mamori_core::calendar::{FiscalYear, format_iso, today_jst};
use mamori_core::org::OrgId;
use mamori_core::permission::{Capability, can};
use mamori_core::role::Role;
use mamori_core::task::TaskKind;
use mamori_db::org::{self, AssignmentInput, AuditCtx};
use serde_json::{Value, json};

use crate::common::{Client, Resp, TestApp};
use crate::support::{assert_error_page, assert_json_error};

const BOUNDARY: &str = "----mamori-auditing-test";

fn multipart(fields: &[(&str, &str)], file: Option<(&str, &[u8])>) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    if let Some((file_name, bytes)) = file {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\nContent-Type: application/pdf\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

pub(crate) async fn post_multipart(c: &mut Client, path: &str, body: Vec<u8>) -> Resp {
    let req = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .header(header::ORIGIN, "http://localhost")
        .header("sec-fetch-site", "same-origin")
        .body(axum::body::Body::from(body))
        .unwrap();
    c.send(req).await
}

fn fiscal_year() -> i32 {
    FiscalYear::of(today_jst()).year()
}

fn fy_start() -> String {
    format_iso(FiscalYear::of(today_jst()).start())
}

fn fy_end() -> String {
    format_iso(FiscalYear::of(today_jst()).end())
}

fn in_days(n: i64) -> String {
    format_iso(today_jst() + time::Duration::days(n))
}

/// Rows of every audit table, and the audit-trail entries about audits: equal before and after
/// means a refused request wrote nothing.
pub(crate) async fn auditing_state(app: &TestApp) -> Vec<i64> {
    let mut out = Vec::new();
    for table in [
        "auditing_plan",
        "auditing_engagement",
        "auditing_scope_unit",
        "auditing_scope_system",
        "auditing_criterion",
        "auditing_auditor",
        "auditing_item",
        "auditing_finding",
        "auditing_evidence",
        "auditing_action",
        "auditing_action_update",
    ] {
        out.push(app.count(table).await);
    }
    let recorded: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM auditing_item WHERE recorded_at IS NOT NULL")
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    out.push(recorded);
    let trail: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_entry WHERE action LIKE 'auditing.%'")
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    out.push(trail);
    out
}

/// A client and the API tokens of the people the tests use.
struct Api {
    c: Client,
    tokatsu: String,
    gaibu: String,
    kansa: String,
    zaimu: String,
}

impl Api {
    async fn new(app: &TestApp) -> Api {
        Api {
            c: app.client(),
            tokatsu: app.token("tokatsu").await,
            gaibu: app.token("kansa.gaibu").await,
            kansa: app.token("kansa").await,
            zaimu: app.token("zaimu.kacho").await,
        }
    }

    async fn call(&mut self, token: &str, m: Method, path: &str, body: Option<Value>) -> Resp {
        let token = token.to_owned();
        self.c.api(m, path, &token, body).await
    }
}

async fn plan(api: &mut Api) -> i64 {
    let tok = api.tokatsu.clone();
    let r = api
        .call(
            &tok,
            Method::POST,
            "/api/v1/audits/plans",
            Some(
                json!({"kind": "annual", "title": "年度監査計画", "fiscal_year": fiscal_year(),
                "purpose": "対策基準の遵守状況を確かめる"}),
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.json()["id"].as_i64().unwrap()
}

fn engagement_body(plan: i64, units: &[i64], auditors: &[i64], criteria: &[&str]) -> Value {
    json!({"plan_id": plan, "title": "財政課の監査", "starts_on": fy_start(), "ends_on": fy_end(),
        "units": units, "systems": ["J-SYS-001"], "criteria": criteria, "auditors": auditors})
}

async fn engagement(api: &mut Api, body: Value) -> Resp {
    let tok = api.tokatsu.clone();
    api.call(&tok, Method::POST, "/api/v1/audits/engagements", Some(body))
        .await
}

async fn advance(api: &mut Api, id: i64, to: &str) -> Resp {
    let tok = api.tokatsu.clone();
    api.call(
        &tok,
        Method::POST,
        &format!("/api/v1/audits/engagements/{id}/status"),
        Some(json!({"status": to})),
    )
    .await
}

/// An engagement of 財政課 audited by the external auditor, in fieldwork: (plan, engagement).
async fn in_fieldwork(app: &TestApp, api: &mut Api) -> (i64, i64) {
    let plan = plan(api).await;
    let zaimu = app.unit_id("jimu-zaimu").await;
    let gaibu = app.person_id("kansa.gaibu").await;
    let r = engagement(
        api,
        engagement_body(plan, &[zaimu], &[gaibu], &["2-4", "2-6-1"]),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let id = r.json()["engagement"]["id"].as_i64().unwrap();
    for to in ["planning", "fieldwork"] {
        let r = advance(api, id, to).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    (plan, id)
}

async fn finding(api: &mut Api, engagement: i64, unit: i64, severity: &str) -> i64 {
    let tok = api.gaibu.clone();
    let r = api
        .call(
            &tok,
            Method::POST,
            &format!("/api/v1/audits/engagements/{engagement}/findings"),
            Some(
                json!({"severity": severity, "clause": "2-4-1", "unit_id": unit,
                "description": "持出しの許可記録が一部ない", "evidence": "持出簿 令和8年5月分"}),
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.json()["id"].as_i64().unwrap()
}

#[tokio::test]
async fn audit_from_plan_to_closed_finding_through_the_api() {
    let app = TestApp::new().await;
    let mut api = Api::new(&app).await;
    let trail = [
        ("auditing.plan.create", 1),
        ("auditing.engagement.create", 1),
        ("auditing.engagement.status", 5),
        ("auditing.item.record", 1),
        ("auditing.finding.create", 1),
        ("auditing.action.plan", 1),
        ("auditing.action.update", 2),
        ("auditing.action.confirm", 1),
    ];
    let mut demo = Vec::new();
    for (action, _) in trail {
        demo.push(app.audit_count(action).await);
    }
    let (_, id) = in_fieldwork(&app, &mut api).await;
    let zaimu_unit = app.unit_id("jimu-zaimu").await;
    let zaimu = app.person_id("zaimu.kacho").await;
    let gaibu_id = app.person_id("kansa.gaibu").await;
    let gaibu = api.gaibu.clone();
    let tokatsu = api.tokatsu.clone();
    let kacho = api.zaimu.clone();

    // The checklist came from the criteria: every section of 2-4, and 2-6-1.
    let r = api
        .call(
            &gaibu,
            Method::GET,
            &format!("/api/v1/audits/engagements/{id}"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v = r.json();
    let sections = mamori_core::standards::sections_of("2-4").count();
    let items = v["items"].as_array().unwrap();
    assert_eq!(items.len(), sections + 1);
    assert_eq!(items.last().unwrap()["clause"], "2-6-1");
    assert_eq!(v["status_label"], "実施中");
    assert_eq!(v["systems"][0]["asset_no"], "J-SYS-001");
    let item = items[0]["id"].as_i64().unwrap();

    // Fieldwork and a finding with an evidence file.
    let r = api
        .call(
            &gaibu,
            Method::PUT,
            &format!("/api/v1/audits/engagements/{id}/items/{item}"),
            Some(json!({"examined": "持出簿と許可記録を照合", "result": "nonconform", "notes": "2件の記録漏れ"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let content = b"%PDF-1.4 evidence".to_vec();
    let r = api
        .call(
            &gaibu,
            Method::POST,
            &format!("/api/v1/audits/engagements/{id}/findings"),
            Some(json!({"severity": "moderate", "clause": "２－４－１", "unit_id": zaimu_unit, "item_id": item,
                "description": "持出しの許可記録が一部ない", "evidence": "持出簿 令和8年5月分",
                "file": {"file_name": "持出簿.pdf", "content_base64": base64_of(&content)}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let fid = r.json()["id"].as_i64().unwrap();
    let (clause, sha): (String, String) = sqlx::query_as(
        "SELECT f.clause, e.sha256 FROM auditing_finding f JOIN auditing_evidence e ON e.finding_id = f.id WHERE f.id = $1",
    )
    .bind(fid)
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    assert_eq!(clause, "2-4-1", "the clause number is normalised");
    assert_eq!(
        sha,
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&content))
    );

    // The 管理者 plans the corrective action; it is their task from then on.
    let r = api
        .call(
            &kacho,
            Method::POST,
            &format!("/api/v1/audits/findings/{fid}/action"),
            Some(json!({"owner_id": zaimu, "due_on": in_days(30), "plan": "持出簿の様式を改め、課内で周知する"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let action = r.json()["id"].as_i64().unwrap();
    let org = app.org_id;
    let tasks = mamori_db::auditing::tasks_for(&app.db, org, zaimu, today_jst())
        .await
        .unwrap();
    assert_eq!(tasks.len(), 1, "{tasks:?}");
    assert_eq!(tasks[0].kind, TaskKind::Fix);
    assert_eq!(tasks[0].due, Some(today_jst() + time::Duration::days(30)));
    assert!(tasks[0].href.contains(&format!("#finding-{fid}")));
    // Past its due date, the auditor has a follow-up task too.
    let later = today_jst() + time::Duration::days(31);
    let tasks = mamori_db::auditing::tasks_for(&app.db, org, gaibu_id, later)
        .await
        .unwrap();
    assert_eq!(tasks.len(), 1, "{tasks:?}");
    assert_eq!(tasks[0].kind, TaskKind::FollowUp);
    assert!(tasks[0].title.contains("期限を過ぎた"));
    assert!(
        mamori_db::auditing::tasks_for(&app.db, org, gaibu_id, today_jst())
            .await
            .unwrap()
            .is_empty()
    );

    for to in ["reporting", "follow_up"] {
        let r = advance(&mut api, id, to).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    // Not closed while the finding is open.
    let r = advance(&mut api, id, "closed").await;
    let msg = assert_json_error(&r, StatusCode::CONFLICT, "conflict");
    assert!(msg.contains("完了していない指摘が1件"), "{msg}");

    let r = api
        .call(
            &kacho,
            Method::POST,
            &format!("/api/v1/audits/actions/{action}/updates"),
            Some(json!({"status": "in_progress", "note": "様式を改訂中"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = api
        .call(
            &kacho,
            Method::POST,
            &format!("/api/v1/audits/actions/{action}/updates"),
            Some(json!({"status": "reported", "note": "新様式で運用を開始し、課内研修を実施した"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(
        mamori_db::auditing::tasks_for(&app.db, org, zaimu, today_jst())
            .await
            .unwrap()
            .is_empty(),
        "reported: nothing left for the owner"
    );
    let tasks = mamori_db::auditing::tasks_for(&app.db, org, gaibu_id, today_jst())
        .await
        .unwrap();
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].kind, TaskKind::FollowUp);
    assert!(tasks[0].title.contains("完了報告"), "{}", tasks[0].title);

    let r = api
        .call(
            &gaibu,
            Method::POST,
            &format!("/api/v1/audits/actions/{action}/follow-up"),
            Some(json!({"decision": "confirm", "note": "新様式の記入を確認"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = advance(&mut api, id, "closed").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = api
        .call(
            &tokatsu,
            Method::GET,
            &format!("/api/v1/audits/engagements/{id}"),
            None,
        )
        .await;
    let v = r.json();
    assert_eq!(v["engagement"]["status"], "closed");
    assert_eq!(v["findings"][0]["closed"], true);
    assert_eq!(v["findings"][0]["action"]["status"], "confirmed");
    assert_eq!(v["findings"][0]["action"]["confirmed_by"], gaibu_id);
    assert_eq!(v["findings"][0]["updates"].as_array().unwrap().len(), 3);
    assert!(
        mamori_db::auditing::tasks_for(&app.db, org, gaibu_id, later)
            .await
            .unwrap()
            .is_empty()
    );
    // Every step is in the audit trail.
    for ((action, n), before) in trail.into_iter().zip(demo) {
        assert_eq!(app.audit_count(action).await, before + n, "{action}");
    }
    let verified = mamori_db::audit::verify(&app.db).await.unwrap();
    assert!(verified.first_break.is_none());
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[tokio::test]
async fn audit_through_the_pages() {
    let app = TestApp::new().await;
    let mut planner = app.login("tokatsu").await;
    let r = planner.get("/audits").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("監査計画を作成する"));
    let fy = fiscal_year().to_string();
    let r = planner
        .post_form(
            "/audits/plans",
            &[
                ("kind", "annual"),
                ("title", "画面で作る年度計画"),
                ("fiscal_year", &fy),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let plan_path = r.location().unwrap().split('?').next().unwrap().to_owned();
    let r = planner.get(&plan_path).await;
    assert!(r.body.contains("画面で作る年度計画"));
    assert!(
        r.body.contains("清水 亮"),
        "the external auditor is offered"
    );
    let shobo = app.unit_id("shobo-somu").await.to_string();
    let yobo = app.unit_id("shobo-yobo").await.to_string();
    let gaibu = app.person_id("kansa.gaibu").await.to_string();
    let kansa = app.person_id("kansa").await.to_string();
    let (start, end) = (fy_start(), fy_end());
    let r = planner
        .post_form(
            &format!("{plan_path}/engagements"),
            &[
                ("title", "消防本部の監査"),
                ("starts_on", &start),
                ("ends_on", &end),
                ("unit", &shobo),
                ("unit", &yobo),
                ("criteria", "2-5-1、2-6-1"),
                ("systems", ""),
                ("auditor", &gaibu),
                ("auditor", &kansa),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let e_path = r.location().unwrap().split('?').next().unwrap().to_owned();
    let r = planner.get(&e_path).await;
    assert!(r.body.contains("消防本部 総務課"), "{}", r.body);
    assert!(r.body.contains("井上 久美子") && r.body.contains("清水 亮"));
    for to in ["planning", "fieldwork"] {
        let r = planner
            .post_form(&format!("{e_path}/status"), &[("status", to)])
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    }
    let id: i64 = e_path.rsplit('/').next().unwrap().parse().unwrap();
    let items: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM auditing_item WHERE engagement_id = $1 ORDER BY position",
    )
    .bind(id)
    .fetch_all(app.db.pool())
    .await
    .unwrap();
    assert_eq!(items.len(), 2);

    // The auditor records fieldwork and a finding with a file.
    let mut auditor = app.login("kansa").await;
    let r = auditor.get(&e_path).await;
    assert!(r.body.contains("実施記録を入力する"), "{}", r.body);
    let r = auditor
        .post_form(
            &format!("{e_path}/items/{}", items[0]),
            &[
                ("examined", "入退室記録を確認"),
                ("result", "適合"),
                ("notes", ""),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    auditor.get(&e_path).await;
    let csrf = auditor.csrf.clone().unwrap();
    let body = multipart(
        &[
            ("csrf", &csrf),
            ("severity", "minor"),
            ("clause", "2-6-1"),
            ("unit_id", &yobo),
            (
                "description",
                "パスワードを付箋に書いて貼っている端末がある",
            ),
            ("evidence", "現地確認 令和8年7月"),
            ("item_id", ""),
        ],
        Some(("写真.pdf", b"%PDF photo")),
    );
    let r = post_multipart(&mut auditor, &format!("{e_path}/findings"), body).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let fid: i64 = sqlx::query_scalar("SELECT id FROM auditing_finding WHERE engagement_id = $1")
        .bind(id)
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    let eid: i64 = sqlx::query_scalar("SELECT id FROM auditing_evidence WHERE finding_id = $1")
        .bind(fid)
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    let r = auditor
        .get(&format!("/audits/findings/{fid}/evidence/{eid}"))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(&r.bytes[..], b"%PDF photo");

    // The 予防課長 plans and reports the action; the other auditor confirms it.
    let mut kacho = app.login("yobo.kacho").await;
    let r = kacho.get(&e_path).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("改善措置を計画する"), "{}", r.body);
    // The owner is chosen among those who may act in 予防課: its 管理者 first, not its staff.
    let select = r.body.split(&format!("id=\"ao-{fid}\"")).nth(1).unwrap();
    let select = select.split("</select>").next().unwrap();
    let first = select.split("<option").nth(1).unwrap();
    assert!(first.contains("近藤 和也"), "{select}");
    assert!(!select.contains("野沢 彩"), "{select}");
    let owner = app.person_id("yobo.kacho").await.to_string();
    let due = in_days(14);
    let r = kacho
        .post_form(
            &format!("/audits/findings/{fid}/action"),
            &[
                ("owner_id", &owner),
                ("due_on", &due),
                ("plan", "付箋を撤去し、パスワード管理を周知する"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let action: i64 = sqlx::query_scalar("SELECT id FROM auditing_action WHERE finding_id = $1")
        .bind(fid)
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    let r = kacho
        .post_form(
            &format!("/audits/actions/{action}/update"),
            &[("status", "reported"), ("note", "全端末を点検し撤去した")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let mut gaibu_c = app.login("kansa.gaibu").await;
    let r = gaibu_c.get(&e_path).await;
    assert!(r.body.contains("確認済にする"), "{}", r.body);
    let r = gaibu_c
        .post_form(
            &format!("/audits/actions/{action}/follow-up"),
            &[("decision", "confirm"), ("note", "")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    for to in ["reporting", "follow_up", "closed"] {
        let r = planner
            .post_form(&format!("{e_path}/status"), &[("status", to)])
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{to}: {}", r.body);
    }
    let r = planner.get(&e_path).await;
    assert_eq!(r.by_id("status").unwrap(), "完了");
    assert!(r.body.contains("確認済"));
    let r = planner.get("/audits").await;
    assert!(r.body.contains("消防本部の監査"));
}

#[tokio::test]
async fn an_auditor_never_audits_their_own_unit() {
    let app = TestApp::new().await;
    let mut api = Api::new(&app).await;
    let plan = plan(&mut api).await;
    // 井上 (監査人) belongs to 事務局 業務課.
    let kansa = app.person_id("kansa").await;
    for (code, name) in [
        ("jimu-gyomu", "事務局 業務課"),
        ("jimu", "事務局"),
        ("jimu-gyomu-shisetsu", "事務局 業務課 施設係"),
    ] {
        let unit = app.unit_id(code).await;
        let before = auditing_state(&app).await;
        let mut body = engagement_body(plan, &[unit], &[kansa], &["2-4"]);
        body["systems"] = json!([]);
        let r = engagement(&mut api, body).await;
        let msg = assert_json_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "unprocessable");
        assert!(msg.contains("監査の独立性"), "{msg}");
        assert!(msg.contains("井上 久美子"), "{msg}");
        assert!(msg.contains(&format!("「{name}」")), "{msg}");
        assert_eq!(
            auditing_state(&app).await,
            before,
            "{code}: nothing written"
        );
    }
    // A system owned by 業務課 puts 業務課 in scope too.
    let zaimu = app.unit_id("jimu-zaimu").await;
    let mut body = engagement_body(plan, &[zaimu], &[kansa], &["2-4"]);
    body["systems"] = json!(["J-SYS-008"]);
    let r = engagement(&mut api, body).await;
    let msg = assert_json_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "unprocessable");
    assert!(msg.contains("業務課"), "{msg}");
    // 財政課 (a sibling) is fine.
    let r = engagement(
        &mut api,
        engagement_body(plan, &[zaimu], &[kansa], &["2-4"]),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let id = r.json()["engagement"]["id"].as_i64().unwrap();
    // Adding 業務課 later is refused just the same, and the scope stays as it was.
    let gyomu = app.unit_id("jimu-gyomu").await;
    let before = auditing_state(&app).await;
    let tok = api.tokatsu.clone();
    let mut body = engagement_body(plan, &[zaimu, gyomu], &[kansa], &["2-4"]);
    body["title"] = json!("変更後");
    let r = api
        .call(
            &tok,
            Method::PUT,
            &format!("/api/v1/audits/engagements/{id}"),
            Some(body),
        )
        .await;
    let msg = assert_json_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "unprocessable");
    assert!(msg.contains("監査の独立性"), "{msg}");
    assert_eq!(auditing_state(&app).await, before);
    let title: String = sqlx::query_scalar("SELECT title FROM auditing_engagement WHERE id = $1")
        .bind(id)
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(title, "財政課の監査");
    // The page says it in Japanese, too.
    let mut c = app.login("tokatsu").await;
    c.get(&format!("/audits/plans/{plan}")).await;
    let (start, end) = (fy_start(), fy_end());
    let r = c
        .post_form(
            &format!("/audits/plans/{plan}/engagements"),
            &[
                ("title", "自部署"),
                ("starts_on", &start),
                ("ends_on", &end),
                ("unit", &gyomu.to_string()),
                ("criteria", "2-4"),
                ("auditor", &kansa.to_string()),
            ],
        )
        .await;
    assert_error_page(&r, StatusCode::UNPROCESSABLE_ENTITY, "監査の独立性");
}

#[tokio::test]
async fn only_assigned_auditors_record_fieldwork_and_findings() {
    let app = TestApp::new().await;
    let mut api = Api::new(&app).await;
    let (_, id) = in_fieldwork(&app, &mut api).await;
    let item: i64 = sqlx::query_scalar(
        "SELECT id FROM auditing_item WHERE engagement_id = $1 ORDER BY position LIMIT 1",
    )
    .bind(id)
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    let zaimu_unit = app.unit_id("jimu-zaimu").await;
    // 井上 is a 監査人 but not assigned to this engagement.
    let kansa = api.kansa.clone();
    let denied_before = app.audit_count("permission.denied").await;
    let before = auditing_state(&app).await;
    let r = api
        .call(
            &kansa,
            Method::PUT,
            &format!("/api/v1/audits/engagements/{id}/items/{item}"),
            Some(json!({"examined": "x", "result": "conform"})),
        )
        .await;
    assert_json_error(&r, StatusCode::FORBIDDEN, "forbidden");
    let r = api
        .call(
            &kansa,
            Method::POST,
            &format!("/api/v1/audits/engagements/{id}/findings"),
            Some(json!({"severity": "minor", "clause": "2-4-1", "unit_id": zaimu_unit, "description": "x"})),
        )
        .await;
    assert_json_error(&r, StatusCode::FORBIDDEN, "forbidden");
    // Nor may the planner (統括 has no 監査の実施).
    let tok = api.tokatsu.clone();
    let r = api
        .call(
            &tok,
            Method::PUT,
            &format!("/api/v1/audits/engagements/{id}/items/{item}"),
            Some(json!({"examined": "x", "result": "conform"})),
        )
        .await;
    assert_json_error(&r, StatusCode::FORBIDDEN, "forbidden");
    assert_eq!(auditing_state(&app).await, before, "nothing written");
    assert_eq!(
        app.audit_count("permission.denied").await,
        denied_before + 3,
        "each refusal is in the audit trail"
    );
    // The page offers the unassigned auditor no fieldwork form, and a post is refused.
    let mut c = app.login("kansa").await;
    let r = c.get(&format!("/audits/engagements/{id}")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(!r.body.contains("実施記録を入力する"));
    let r = c
        .post_form(
            &format!("/audits/engagements/{id}/items/{item}"),
            &[("examined", "x"), ("result", "conform")],
        )
        .await;
    assert_error_page(&r, StatusCode::FORBIDDEN, "監査の実施の権限がありません");
    assert_eq!(auditing_state(&app).await, before);
}

#[tokio::test]
async fn the_owner_of_an_action_cannot_confirm_it() {
    let app = TestApp::new().await;
    // 清水 (external auditor) is also made 統括, so could own corrective actions anywhere.
    let gaibu_id = app.person_id("kansa.gaibu").await;
    let root = app.unit_id("kyonan").await;
    let mut tx = app.db.begin_write().await.unwrap();
    org::create_assignment(
        &mut tx,
        &Capability::<can::EditAssignments>::operator(OrgId(app.org_id)),
        &AuditCtx::default(),
        &AssignmentInput {
            person_id: gaibu_id,
            role: Role::ChiefOfficer,
            unit_id: root,
            valid_from: "2026-04-01".into(),
            valid_to: None,
            note: String::new(),
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let mut api = Api::new(&app).await;
    let plan = plan(&mut api).await;
    let zaimu_unit = app.unit_id("jimu-zaimu").await;
    let kansa_id = app.person_id("kansa").await;
    let r = engagement(
        &mut api,
        engagement_body(plan, &[zaimu_unit], &[gaibu_id, kansa_id], &["2-4-1"]),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let id = r.json()["engagement"]["id"].as_i64().unwrap();
    for to in ["planning", "fieldwork"] {
        advance(&mut api, id, to).await;
    }
    let fid = finding(&mut api, id, zaimu_unit, "major").await;
    let gaibu = api.gaibu.clone();
    let r = api
        .call(
            &gaibu,
            Method::POST,
            &format!("/api/v1/audits/findings/{fid}/action"),
            Some(json!({"owner_id": gaibu_id, "due_on": in_days(10), "plan": "自ら是正する"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let action = r.json()["id"].as_i64().unwrap();
    let r = api
        .call(
            &gaibu,
            Method::POST,
            &format!("/api/v1/audits/actions/{action}/updates"),
            Some(json!({"status": "reported", "note": "是正した"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let before = auditing_state(&app).await;
    let r = api
        .call(
            &gaibu,
            Method::POST,
            &format!("/api/v1/audits/actions/{action}/follow-up"),
            Some(json!({"decision": "confirm"})),
        )
        .await;
    let msg = assert_json_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "unprocessable");
    assert!(msg.contains("職務の分離"), "{msg}");
    assert_eq!(auditing_state(&app).await, before, "nothing written");
    // Setting 確認済 through the owner's update is refused too.
    let r = api
        .call(
            &gaibu,
            Method::POST,
            &format!("/api/v1/audits/actions/{action}/updates"),
            Some(json!({"status": "confirmed", "note": "x"})),
        )
        .await;
    assert_json_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "unprocessable");
    assert_eq!(auditing_state(&app).await, before);
    // The other assigned auditor may.
    let kansa = api.kansa.clone();
    let r = api
        .call(
            &kansa,
            Method::POST,
            &format!("/api/v1/audits/actions/{action}/follow-up"),
            Some(json!({"decision": "confirm", "note": "確認した"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

/// An engagement of 事務局 with two findings: one in 財政課 closed, one in 業務課 open.
async fn two_findings(app: &TestApp, api: &mut Api) -> (i64, i64, i64) {
    let plan = plan(api).await;
    let jimu = app.unit_id("jimu").await;
    let gaibu = app.person_id("kansa.gaibu").await;
    let mut body = engagement_body(plan, &[jimu], &[gaibu], &["2-4-1", "2-6-1"]);
    body["title"] = json!("事務局の定期監査");
    let r = engagement(api, body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let id = r.json()["engagement"]["id"].as_i64().unwrap();
    for to in ["planning", "fieldwork"] {
        advance(api, id, to).await;
    }
    let zaimu_unit = app.unit_id("jimu-zaimu").await;
    let gyomu_unit = app.unit_id("jimu-gyomu").await;
    let f1 = finding(api, id, zaimu_unit, "moderate").await;
    let tok = api.gaibu.clone();
    let r = api
        .call(
            &tok,
            Method::POST,
            &format!("/api/v1/audits/engagements/{id}/findings"),
            Some(json!({"severity": "major", "clause": "2-6-1", "unit_id": gyomu_unit,
                "description": "共有フォルダに住民情報が置かれている", "evidence": "ファイルサーバの一覧"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let f2 = r.json()["id"].as_i64().unwrap();
    let kacho = api.zaimu.clone();
    let zaimu = app.person_id("zaimu.kacho").await;
    let r = api
        .call(
            &kacho,
            Method::POST,
            &format!("/api/v1/audits/findings/{f1}/action"),
            Some(json!({"owner_id": zaimu, "due_on": in_days(20), "plan": "持出簿を改める"})),
        )
        .await;
    let action = r.json()["id"].as_i64().unwrap();
    api.call(
        &kacho,
        Method::POST,
        &format!("/api/v1/audits/actions/{action}/updates"),
        Some(json!({"status": "reported", "note": "改めた"})),
    )
    .await;
    let r = api
        .call(
            &tok,
            Method::POST,
            &format!("/api/v1/audits/actions/{action}/follow-up"),
            Some(json!({"decision": "confirm", "note": ""})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    (id, f1, f2)
}

#[tokio::test]
async fn the_report_page_shows_scope_criteria_auditors_counts_and_findings() {
    let app = TestApp::new().await;
    let mut api = Api::new(&app).await;
    let (id, _, _) = two_findings(&app, &mut api).await;
    let mut c = app.login("ciso").await;
    let r = c.get(&format!("/audits/engagements/{id}/report")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let b = &r.body;
    assert!(b.contains("情報セキュリティ監査報告書"));
    assert!(!b.contains("<script"), "no JavaScript");
    let summary = r.by_id("report-summary").unwrap_or_default();
    let _ = summary;
    for text in [
        "事務局の定期監査",
        "事務局",
        "J-SYS-001 財務会計システム",
        "2-4-1",
        "2-6-1",
        "清水 亮",
        "持出しの許可記録が一部ない",
        "持出簿を改める",
        "確認済",
        "共有フォルダに住民情報が置かれている",
        "未計画",
    ] {
        assert!(b.contains(text), "report shows {text}");
    }
    // Counts by severity: 重大 1 (open), 中 1 (closed).
    let counts = b.split("id=\"report-counts\"").nth(1).unwrap();
    let counts = counts.split("</table>").next().unwrap();
    assert!(
        counts.contains("<td>重大</td><td>1</td><td>1</td>"),
        "{counts}"
    );
    assert!(
        counts.contains("<td>中</td><td>1</td><td>0</td>"),
        "{counts}"
    );
    assert!(counts.contains("<td>2</td><td>1</td>"), "{counts}");
    // The print stylesheet hides navigation and forms.
    let css = c.get("/assets/mamori.css").await;
    assert!(css.body.contains("@media print") && css.body.contains(".no-print"));
    // The 財政課長 reads only the finding of 財政課.
    let mut kacho = app.login("zaimu.kacho").await;
    let r = kacho.get(&format!("/audits/engagements/{id}/report")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("持出しの許可記録が一部ない"));
    assert!(!r.body.contains("共有フォルダに住民情報"));
    assert!(r.body.contains("閲覧の範囲外の組織に対する指摘が 1 件"));
}

#[tokio::test]
async fn the_xlsx_export_holds_checklist_findings_and_actions() {
    let app = TestApp::new().await;
    let mut api = Api::new(&app).await;
    let (id, _, _) = two_findings(&app, &mut api).await;
    let tok = api.tokatsu.clone();
    let r = api
        .call(
            &tok,
            Method::GET,
            &format!("/api/v1/audits/engagements/{id}/export"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let bytes = r.bytes.to_vec();
    use mamori_tabular::{Column, ReadOptions, read_table};
    let read = |sheet: &str, cols: &[Column]| {
        read_table(
            &bytes,
            "audit.xlsx",
            cols,
            &ReadOptions {
                sheet: Some(sheet.to_owned()),
                ..ReadOptions::default()
            },
        )
        .unwrap()
    };
    let items = read(
        "チェックリスト",
        &[
            Column::required("clause", "項番"),
            Column::required("question", "確認項目"),
            Column::required("result", "結果"),
        ],
    );
    assert_eq!(items.rows.len(), 2);
    assert_eq!(items.rows[0].text("clause"), "2-4-1");
    assert!(items.rows[0].text("question").contains("2-4-1"));
    let findings = read(
        "指摘事項",
        &[
            Column::required("no", "指摘番号"),
            Column::required("severity", "重要度"),
            Column::required("unit", "対象組織"),
            Column::required("description", "指摘の内容"),
            Column::required("state", "状態"),
        ],
    );
    assert_eq!(findings.rows.len(), 2);
    assert_eq!(findings.rows[0].text("severity"), "中");
    assert_eq!(findings.rows[0].text("unit"), "事務局 財政課");
    assert_eq!(findings.rows[0].text("state"), "完了");
    assert_eq!(findings.rows[1].text("severity"), "重大");
    assert_eq!(findings.rows[1].text("state"), "未完了");
    let actions = read(
        "改善措置",
        &[
            Column::required("no", "指摘番号"),
            Column::required("owner", "担当者"),
            Column::required("plan", "改善計画"),
            Column::required("status", "状態"),
            Column::required("confirmed_by", "確認者"),
        ],
    );
    assert_eq!(actions.rows.len(), 1);
    assert_eq!(actions.rows[0].text("no"), "1");
    assert_eq!(actions.rows[0].text("owner"), "市川 浩");
    assert_eq!(actions.rows[0].text("plan"), "持出簿を改める");
    assert_eq!(actions.rows[0].text("status"), "確認済");
    assert_eq!(actions.rows[0].text("confirmed_by"), "清水 亮");
    assert_eq!(app.audit_count("auditing.export").await, 1);
    assert_eq!(
        sqlx::query_scalar::<_, String>(
            "SELECT after_json FROM audit_entry WHERE action = 'auditing.export'"
        )
        .fetch_one(app.db.pool())
        .await
        .unwrap(),
        r#"{"findings":2,"format":"xlsx","items":2}"#
    );
    // The page link gives the same file.
    let mut c = app.login("tokatsu").await;
    let r = c
        .get(&format!("/audits/engagements/{id}/export.xlsx"))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .contains("spreadsheetml")
    );
}

#[tokio::test]
async fn who_may_see_and_do_what() {
    let app = TestApp::new().await;
    let mut api = Api::new(&app).await;
    let (id, f1, f2) = two_findings(&app, &mut api).await;
    // An engagement of 消防本部 総務課.
    let plan: i64 = sqlx::query_scalar("SELECT MAX(id) FROM auditing_plan")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    let shobo = app.unit_id("shobo-somu").await;
    let gaibu = app.person_id("kansa.gaibu").await;
    let mut body = engagement_body(plan, &[shobo], &[gaibu], &["2-4"]);
    body["systems"] = json!([]);
    body["title"] = json!("消防総務課の監査");
    let r = engagement(&mut api, body).await;
    let other = r.json()["engagement"]["id"].as_i64().unwrap();

    // 職員: nothing.
    let mut staff = app.login("keiri").await;
    let r = staff.get("/audits").await;
    assert_error_page(
        &r,
        StatusCode::FORBIDDEN,
        "監査結果の閲覧の権限がありません",
    );
    let r = staff.get(&format!("/audits/engagements/{id}")).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(!staff.get("/").await.body.contains("href=\"/audits\""));
    let keiri = app.token("keiri").await;
    let r = api
        .call(&keiri, Method::GET, "/api/v1/audits/engagements", None)
        .await;
    assert_json_error(&r, StatusCode::FORBIDDEN, "forbidden");

    // 管理者 of 財政課: the 事務局 engagement (its scope contains 財政課), not the 消防 one.
    let kacho = api.zaimu.clone();
    let r = api
        .call(&kacho, Method::GET, "/api/v1/audits/engagements", None)
        .await;
    let ids: Vec<i64> = r.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["engagement"]["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![id]);
    let r = api
        .call(
            &kacho,
            Method::GET,
            &format!("/api/v1/audits/engagements/{other}"),
            None,
        )
        .await;
    assert_json_error(&r, StatusCode::NOT_FOUND, "not_found");
    let r = api
        .call(
            &kacho,
            Method::GET,
            &format!("/api/v1/audits/engagements/{id}"),
            None,
        )
        .await;
    let v = r.json();
    assert_eq!(v["findings"].as_array().unwrap().len(), 1);
    assert_eq!(v["findings"][0]["finding"]["id"], f1);
    assert_eq!(v["hidden_findings"], 1);
    // …and may not plan the action of 業務課's finding, nor plan audits.
    let zaimu = app.person_id("zaimu.kacho").await;
    let before = auditing_state(&app).await;
    let r = api
        .call(
            &kacho,
            Method::POST,
            &format!("/api/v1/audits/findings/{f2}/action"),
            Some(json!({"owner_id": zaimu, "due_on": in_days(5), "plan": "x"})),
        )
        .await;
    assert_json_error(&r, StatusCode::FORBIDDEN, "forbidden");
    let r = api
        .call(
            &kacho,
            Method::POST,
            "/api/v1/audits/plans",
            Some(json!({"kind": "annual", "title": "x", "fiscal_year": fiscal_year()})),
        )
        .await;
    assert_json_error(&r, StatusCode::FORBIDDEN, "forbidden");
    assert_eq!(auditing_state(&app).await, before);

    // 責任者 of 消防本部 sees the 消防 engagement only.
    let shobocho = app.token("shobocho").await;
    let r = api
        .call(&shobocho, Method::GET, "/api/v1/audits/engagements", None)
        .await;
    let items = r.json()["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["engagement"]["id"], other);

    // CISO and 監査人 see both; a 監査人 may plan.
    let mut ciso = app.login("ciso").await;
    let r = ciso.get("/audits").await;
    assert!(r.body.contains("事務局の定期監査") && r.body.contains("消防総務課の監査"));
    let kansa = api.kansa.clone();
    let r = api
        .call(
            &kansa,
            Method::POST,
            "/api/v1/audits/plans",
            Some(
                json!({"kind": "midterm", "title": "中期監査計画", "fiscal_year": fiscal_year(),
                "last_year": fiscal_year() + 2}),
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(
        r.json()["period"].as_str().unwrap().matches("年度").count(),
        2
    );
}

#[tokio::test]
async fn bad_input_is_refused_with_a_clear_message_and_nothing_written() {
    let app = TestApp::new().await;
    let mut api = Api::new(&app).await;
    let (plan, id) = in_fieldwork(&app, &mut api).await;
    let zaimu_unit = app.unit_id("jimu-zaimu").await;
    let gaibu = app.person_id("kansa.gaibu").await;
    let before = auditing_state(&app).await;

    // Engagements: an unknown clause number, an unknown unit, a non-system asset, dates outside
    // the plan, a non-auditor.
    let cases: Vec<(Value, &str)> = vec![
        (
            engagement_body(plan, &[zaimu_unit], &[gaibu], &["2-99"]),
            "監査基準の項番「2-99」は対策基準",
        ),
        (
            engagement_body(plan, &[987_654], &[gaibu], &["2-4"]),
            "監査対象の組織（ID 987654）が見つかりません",
        ),
        (
            engagement_body(plan, &[app.unit_id("kyonan").await], &[gaibu], &["2-4"]),
            "組織全体ではなく",
        ),
        (
            {
                let mut b = engagement_body(plan, &[zaimu_unit], &[gaibu], &["2-4"]);
                b["systems"] = json!(["J-INF-010"]);
                b
            },
            "情報システム・ネットワークではない",
        ),
        (
            {
                let mut b = engagement_body(plan, &[zaimu_unit], &[gaibu], &["2-4"]);
                b["ends_on"] = json!(format_iso(
                    FiscalYear::of(today_jst()).end() + time::Duration::days(1)
                ));
                b
            },
            "監査計画の期間",
        ),
        (
            engagement_body(
                plan,
                &[zaimu_unit],
                &[app.person_id("keiri").await],
                &["2-4"],
            ),
            "監査人の役割を持っていない",
        ),
    ];
    for (body, expected) in cases {
        let r = engagement(&mut api, body).await;
        let msg = assert_json_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "unprocessable");
        assert!(msg.contains(expected), "{expected}: {msg}");
    }
    // Special audits record the CISO's order.
    let tok = api.tokatsu.clone();
    let r = api
        .call(
            &tok,
            Method::POST,
            "/api/v1/audits/plans",
            Some(
                json!({"kind": "special", "title": "特別監査", "fiscal_year": fiscal_year(),
                "ordered_by": app.person_id("tokatsu").await, "ordered_on": format_iso(today_jst()),
                "order_note": "不正アクセスの疑い"}),
            ),
        )
        .await;
    let msg = assert_json_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "unprocessable");
    assert!(msg.contains("CISO"), "{msg}");
    // Findings: unknown clause, a unit outside the scope, a file over the limit.
    let gaibu_tok = api.gaibu.clone();
    let shobo = app.unit_id("shobo-somu").await;
    let big = vec![0u8; mamori_db::auditing::MAX_EVIDENCE_BYTES + 1];
    let cases = vec![
        (
            json!({"severity": "minor", "clause": "9-9", "unit_id": zaimu_unit, "description": "x"}),
            "項番「9-9」は対策基準",
        ),
        (
            json!({"severity": "minor", "clause": "2-4-1", "unit_id": shobo, "description": "x"}),
            "この監査の対象範囲にありません",
        ),
        (
            json!({"severity": "minor", "clause": "2-4-1", "unit_id": 987_654, "description": "x"}),
            "指摘の対象組織（ID 987654）が見つかりません",
        ),
        (
            json!({"severity": "minor", "clause": "2-4-1", "unit_id": zaimu_unit, "description": "x",
                "file": {"file_name": "big.bin", "content_base64": base64_of(&big)}}),
            "5 MB以下",
        ),
        (
            json!({"severity": "致命的", "clause": "2-4-1", "unit_id": zaimu_unit, "description": "x"}),
            "重要度を選んでください",
        ),
    ];
    for (body, expected) in cases {
        let r = api
            .call(
                &gaibu_tok,
                Method::POST,
                &format!("/api/v1/audits/engagements/{id}/findings"),
                Some(body),
            )
            .await;
        let msg = assert_json_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "unprocessable");
        assert!(msg.contains(expected), "{expected}: {msg}");
    }
    assert_eq!(auditing_state(&app).await, before, "nothing written");

    // A corrective action due before the day it is planned.
    let fid = finding(&mut api, id, zaimu_unit, "minor").await;
    let before = auditing_state(&app).await;
    let kacho = api.zaimu.clone();
    let zaimu = app.person_id("zaimu.kacho").await;
    let r = api
        .call(
            &kacho,
            Method::POST,
            &format!("/api/v1/audits/findings/{fid}/action"),
            Some(json!({"owner_id": zaimu, "due_on": in_days(-1), "plan": "改める"})),
        )
        .await;
    let msg = assert_json_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "unprocessable");
    assert!(msg.contains("対応期限") && msg.contains("計画日"), "{msg}");
    // An owner who cannot act in the finding's unit.
    let r = api
        .call(
            &kacho,
            Method::POST,
            &format!("/api/v1/audits/findings/{fid}/action"),
            Some(json!({"owner_id": app.person_id("keiri").await, "due_on": in_days(3), "plan": "改める"})),
        )
        .await;
    let msg = assert_json_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "unprocessable");
    assert!(msg.contains("担当者にできません"), "{msg}");
    // Reporting completion without saying what was done is refused before any action exists.
    assert_eq!(auditing_state(&app).await, before, "nothing written");
    // The pages give the same messages.
    let mut c = app.login("zaimu.kacho").await;
    c.get(&format!("/audits/engagements/{id}")).await;
    let due = in_days(-1);
    let r = c
        .post_form(
            &format!("/audits/findings/{fid}/action"),
            &[
                ("owner_id", &zaimu.to_string()),
                ("due_on", &due),
                ("plan", "改める"),
            ],
        )
        .await;
    assert_error_page(&r, StatusCode::UNPROCESSABLE_ENTITY, "計画日");
    let mut p = app.login("tokatsu").await;
    p.get(&format!("/audits/plans/{plan}")).await;
    let (start, end) = (fy_start(), fy_end());
    let r = p
        .post_form(
            &format!("/audits/plans/{plan}/engagements"),
            &[
                ("title", "x"),
                ("starts_on", &start),
                ("ends_on", &end),
                ("unit", "987654"),
                ("criteria", "2-4, 2-99"),
                ("auditor", &gaibu.to_string()),
            ],
        )
        .await;
    assert_error_page(&r, StatusCode::UNPROCESSABLE_ENTITY, "2-99");
    assert!(r.body.contains("見つかりません"), "every problem at once");
    assert_eq!(auditing_state(&app).await, before, "nothing written");
}

#[tokio::test]
async fn the_demo_has_an_audit_in_follow_up() {
    let app = TestApp::new().await;
    let mut c = app.login("kansa").await;
    let r = c.get("/audits").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("慈生園の情報セキュリティ監査"));
    assert!(r.body.contains("フォローアップ"));
    let id: i64 = sqlx::query_scalar("SELECT id FROM auditing_engagement WHERE org_id = $1")
        .bind(app.org_id)
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    let r = c.get(&format!("/audits/engagements/{id}")).await;
    assert_eq!(r.by_id("status").unwrap(), "フォローアップ");
    assert!(
        r.body.contains("確認済にする"),
        "the reported action awaits the auditor"
    );
    // The auditor has a follow-up task; the 係長 with an open action has a fix task.
    let org = app.org_id;
    let kansa = app.person_id("kansa").await;
    let tasks = mamori_db::auditing::tasks_for(&app.db, org, kansa, today_jst())
        .await
        .unwrap();
    assert_eq!(tasks.len(), 1, "{tasks:?}");
    assert_eq!(tasks[0].kind, TaskKind::FollowUp);
    let shien = app.person_id("shien.kakaricho").await;
    let tasks = mamori_db::auditing::tasks_for(&app.db, org, shien, today_jst())
        .await
        .unwrap();
    assert_eq!(tasks.len(), 1, "{tasks:?}");
    assert_eq!(tasks[0].kind, TaskKind::Fix);
    // It cannot be closed while findings are open.
    let mut p = app.login("tokatsu").await;
    p.get(&format!("/audits/engagements/{id}")).await;
    let r = p
        .post_form(
            &format!("/audits/engagements/{id}/status"),
            &[("status", "closed")],
        )
        .await;
    assert_error_page(&r, StatusCode::CONFLICT, "完了していない指摘が2件");
}

/// Every audit API route, each answering with success, in the order of an audit: the routes
/// tried (for the OpenAPI test, which checks that the document lists exactly the routes served).
pub(crate) async fn api_cycle(app: &TestApp) -> std::collections::BTreeSet<crate::support::Route> {
    use crate::support::route;
    let mut api = Api::new(app).await;
    let mut tried = std::collections::BTreeSet::new();
    let (plan, id) = in_fieldwork(app, &mut api).await;
    tried.insert(route("post", "/api/v1/audits/plans"));
    tried.insert(route("post", "/api/v1/audits/engagements"));
    tried.insert(route("post", "/api/v1/audits/engagements/{id}/status"));
    let zaimu_unit = app.unit_id("jimu-zaimu").await;
    let gaibu_id = app.person_id("kansa.gaibu").await;
    let zaimu = app.person_id("zaimu.kacho").await;
    let (tokatsu, gaibu, kacho) = (api.tokatsu.clone(), api.gaibu.clone(), api.zaimu.clone());
    let mut ok = async |api: &mut Api,
                        token: &str,
                        m: &str,
                        template: &str,
                        path: String,
                        body: Option<Value>| {
        let method = Method::from_bytes(m.to_uppercase().as_bytes()).unwrap();
        let r = api.call(token, method, &path, body).await;
        assert!(
            r.status.is_success(),
            "{m} {template}: {} {}",
            r.status,
            r.body
        );
        tried.insert(route(m, template));
        r
    };
    ok(
        &mut api,
        &tokatsu,
        "get",
        "/api/v1/audits/plans",
        "/api/v1/audits/plans".into(),
        None,
    )
    .await;
    ok(
        &mut api,
        &tokatsu,
        "get",
        "/api/v1/audits/plans/{id}",
        format!("/api/v1/audits/plans/{plan}"),
        None,
    )
    .await;
    ok(
        &mut api,
        &tokatsu,
        "get",
        "/api/v1/audits/engagements",
        "/api/v1/audits/engagements".into(),
        None,
    )
    .await;
    let r = ok(
        &mut api,
        &tokatsu,
        "get",
        "/api/v1/audits/engagements/{id}",
        format!("/api/v1/audits/engagements/{id}"),
        None,
    )
    .await;
    let item = r.json()["items"][0]["id"].as_i64().unwrap();
    ok(
        &mut api,
        &tokatsu,
        "put",
        "/api/v1/audits/engagements/{id}",
        format!("/api/v1/audits/engagements/{id}"),
        Some(engagement_body(
            plan,
            &[zaimu_unit],
            &[gaibu_id],
            &["2-4", "2-6-1", "2-5-1"],
        )),
    )
    .await;
    ok(
        &mut api,
        &gaibu,
        "post",
        "/api/v1/audits/engagements/{id}/items",
        format!("/api/v1/audits/engagements/{id}/items"),
        Some(json!({"clause": "2-4-1", "question": "鍵の管理簿を確認する"})),
    )
    .await;
    ok(
        &mut api,
        &gaibu,
        "put",
        "/api/v1/audits/engagements/{id}/items/{item}",
        format!("/api/v1/audits/engagements/{id}/items/{item}"),
        Some(json!({"examined": "管理簿", "result": "observation"})),
    )
    .await;
    let r = ok(&mut api, &gaibu, "post", "/api/v1/audits/engagements/{id}/findings", format!("/api/v1/audits/engagements/{id}/findings"),
        Some(json!({"severity": "minor", "clause": "2-4-1", "unit_id": zaimu_unit, "description": "管理簿の記入漏れ"}))).await;
    let finding = r.json()["id"].as_i64().unwrap();
    let r = ok(
        &mut api,
        &kacho,
        "post",
        "/api/v1/audits/findings/{id}/action",
        format!("/api/v1/audits/findings/{finding}/action"),
        Some(json!({"owner_id": zaimu, "due_on": in_days(7), "plan": "記入を徹底する"})),
    )
    .await;
    let action = r.json()["id"].as_i64().unwrap();
    ok(
        &mut api,
        &kacho,
        "post",
        "/api/v1/audits/actions/{id}/updates",
        format!("/api/v1/audits/actions/{action}/updates"),
        Some(json!({"status": "reported", "note": "徹底した"})),
    )
    .await;
    ok(
        &mut api,
        &gaibu,
        "post",
        "/api/v1/audits/actions/{id}/follow-up",
        format!("/api/v1/audits/actions/{action}/follow-up"),
        Some(json!({"decision": "confirm"})),
    )
    .await;
    ok(
        &mut api,
        &tokatsu,
        "get",
        "/api/v1/audits/engagements/{id}/export",
        format!("/api/v1/audits/engagements/{id}/export"),
        None,
    )
    .await;
    tried
}
