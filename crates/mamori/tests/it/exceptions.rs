//! 例外措置: application → endorsement by the unit's 情報セキュリティ責任者 → CISO decision →
//! in force → expiry, through the pages and through the API; nobody approves their own
//! application; the emergency path; the asset register and the network model accept only a
//! reference to an exception in force; permissions by role and unit; tasks.

use http::{Method, StatusCode};
use mamori_core::calendar::{format_iso, today_jst};
use mamori_core::org::OrgId;
use mamori_core::permission::{Capability, can};
use mamori_core::task::TaskKind;
use serde_json::json;
use time::Duration;

use crate::common::{Client, TestApp};
use crate::support::{assert_error_page, assert_json_error, snapshot};

fn day(offset: i64) -> String {
    format_iso(today_jst() + Duration::days(offset))
}

fn year() -> i32 {
    today_jst().year()
}

async fn exception_rows(app: &TestApp) -> Vec<(i64, Option<String>, String)> {
    sqlx::query_as("SELECT id, ref_no, status FROM exception_request ORDER BY id")
        .fetch_all(app.db.pool())
        .await
        .unwrap()
}

fn id_from(location: &str) -> i64 {
    location
        .trim_start_matches("/exceptions/")
        .split('?')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

async fn apply_page(c: &mut Client, unit: i64, clause: &str, to: &str) -> crate::common::Resp {
    let form = c.get("/exceptions/new").await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    let unit = unit.to_string();
    let from = day(0);
    c.post_form(
        "/exceptions",
        &[
            ("clause_no", clause),
            ("unit_id", &unit),
            (
                "reason",
                "税務システム更改作業のため、一時的に保守事業者のリモート接続を許可する",
            ),
            ("scope", "財政課 財務会計システム"),
            ("asset_no", "J-SYS-001"),
            ("compensating", "作業は職員が立ち会い、接続記録を保存する"),
            ("valid_from", &from),
            ("valid_to", to),
        ],
    )
    .await
}

#[tokio::test]
async fn an_application_goes_through_endorsement_and_decision_to_expiry_on_the_pages() {
    let app = TestApp::new().await;
    let demo_refs: Vec<Option<String>> = exception_rows(&app)
        .await
        .into_iter()
        .map(|r| r.1)
        .collect();
    assert_eq!(
        demo_refs,
        vec![
            Some(format!("例外-{}-001", year())),
            Some(format!("例外-{}-002", year()))
        ],
        "the demo has two exceptions with references"
    );

    // 財政課長 applies for their own unit.
    let mut kacho = app.login("zaimu.kacho").await;
    let zaimu = app.unit_id("jimu-zaimu").await;
    let r = apply_page(&mut kacho, zaimu, "2-6-2", &day(20)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let id = id_from(r.location().unwrap());
    let page = kacho.get(&format!("/exceptions/{id}")).await;
    assert!(page.body.contains("責任者の承認待ち"), "{}", page.body);
    assert!(page.body.contains("（承認時に付番）"));

    // The CISO cannot decide before the 責任者 has endorsed.
    let mut ciso = app.login("ciso").await;
    ciso.get(&format!("/exceptions/{id}")).await;
    let r = ciso
        .post_form(
            &format!("/exceptions/{id}/decide"),
            &[("decision", "approve"), ("conditions", "")],
        )
        .await;
    assert_error_page(
        &r,
        StatusCode::FORBIDDEN,
        "情報セキュリティ責任者の承認がまだ",
    );

    // 事務局's 情報セキュリティ責任者 (vciso) endorses; the task disappears from their list.
    let tasks = mamori_db::catalogue::tasks_for(
        &app.db,
        app.org_id,
        app.person_id("vciso").await,
        today_jst(),
    )
    .await
    .unwrap();
    assert!(
        tasks
            .iter()
            .any(|t| t.kind == TaskKind::Approve && t.href == format!("/exceptions/{id}")),
        "{tasks:?}"
    );
    let mut officer = app.login("vciso").await;
    let page = officer.get(&format!("/exceptions/{id}")).await;
    assert!(page.body.contains("endorse-form"), "{}", page.body);
    let r = officer
        .post_form(
            &format!("/exceptions/{id}/endorse"),
            &[("decision", "approve"), ("comment", "立会いを条件に妥当")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(
        app.audit_count("exception.endorse").await,
        2,
        "demo + this one"
    );
    let tasks = mamori_db::catalogue::tasks_for(
        &app.db,
        app.org_id,
        app.person_id("vciso").await,
        today_jst(),
    )
    .await
    .unwrap();
    assert!(!tasks.iter().any(|t| t.href == format!("/exceptions/{id}")));

    // The CISO approves with conditions: the reference number is the year's third.
    let ciso_tasks = mamori_db::catalogue::tasks_for(
        &app.db,
        app.org_id,
        app.person_id("ciso").await,
        today_jst(),
    )
    .await
    .unwrap();
    assert!(
        ciso_tasks
            .iter()
            .any(|t| t.kind == TaskKind::Approve && t.href == format!("/exceptions/{id}"))
    );
    let page = ciso.get(&format!("/exceptions/{id}")).await;
    assert!(page.body.contains("decide-form"), "{}", page.body);
    let r = ciso
        .post_form(
            &format!("/exceptions/{id}/decide"),
            &[
                ("decision", "approve"),
                ("conditions", "作業終了後に接続設定を元に戻すこと"),
                ("comment", ""),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let reference = format!("例外-{}-003", year());
    let page = kacho.get(&format!("/exceptions/{id}")).await;
    assert!(page.body.contains(&reference), "{}", page.body);
    assert!(page.body.contains("作業終了後に接続設定を元に戻すこと"));
    assert!(page.body.contains("適用中"));
    // The decided application is no longer anyone's approval; it expires within 30 days, so it
    // is a follow-up for the applicant.
    let tasks = mamori_db::catalogue::tasks_for(
        &app.db,
        app.org_id,
        app.person_id("zaimu.kacho").await,
        today_jst(),
    )
    .await
    .unwrap();
    let follow = tasks
        .iter()
        .find(|t| t.href == format!("/exceptions/{id}"))
        .expect("a follow-up task for the applicant");
    assert_eq!(follow.kind, TaskKind::FollowUp);
    assert_eq!(follow.due.map(format_iso), Some(day(20)));

    // In force: listed as active, and the asset register accepts the reference.
    let list = kacho.get("/exceptions").await;
    let active = &list.body
        [list.body.find("id=\"active\"").unwrap()..list.body.find("id=\"expired\"").unwrap()];
    assert!(active.contains(&reference), "{}", list.body);
    let token = app.token("zaimu.kacho").await;
    let mut api = app.client();
    let asset = |no: &str, reference: &str| {
        json!({"asset_no": no, "name": "保守用リモート接続", "kind": "system", "unit": "jimu-zaimu",
            "manager": "zaimu.kacho", "zone": "lgwan", "confidentiality": "2", "integrity": 1,
            "availability": 1, "exception_ref": reference})
    };
    let r = api
        .api(
            Method::POST,
            "/api/v1/assets",
            &token,
            Some(asset("J-TMP-001", &reference)),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let asset_id = r.json()["id"].as_i64().unwrap();
    // The asset page links to the exception.
    let page = kacho.get(&format!("/inventory/{asset_id}")).await;
    assert!(
        page.body
            .contains(&format!("<a href=\"/exceptions/{id}\">{reference}</a>")),
        "{}",
        page.body
    );

    // Expiry: once its period is over it is listed apart and no longer accepted.
    sqlx::query("UPDATE exception_request SET valid_from = $1, valid_to = $2 WHERE id = $3")
        .bind(day(-30))
        .bind(day(-1))
        .bind(id)
        .execute(app.db.pool())
        .await
        .unwrap();
    let list = kacho.get("/exceptions").await;
    let expired = &list.body
        [list.body.find("id=\"expired\"").unwrap()..list.body.find("id=\"closed\"").unwrap()];
    assert!(expired.contains(&reference), "{}", list.body);
    assert!(expired.contains("期限切れ"));
    let before = snapshot(&app).await;
    let r = api
        .api(
            Method::POST,
            "/api/v1/assets",
            &token,
            Some(asset("J-TMP-002", &reference)),
        )
        .await;
    let message = assert_json_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "unprocessable");
    assert!(
        message.contains("期限") && message.contains(&reference),
        "{message}"
    );
    assert_eq!(snapshot(&app).await, before, "nothing written");
    let r = api
        .api(
            Method::GET,
            "/api/v1/exceptions?state=expired",
            &token,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(
        r.json()["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["ref_no"] == reference.as_str())
    );
}

#[tokio::test]
async fn the_api_runs_the_cycle_and_nobody_approves_their_own_application() {
    let app = TestApp::new().await;
    let mut c = app.client();
    let chief = app.token("shobocho").await;
    let applicant = app.token("keibo.kacho").await;
    let ciso = app.token("ciso").await;
    let body = json!({"clause_no": "２－４－４", "reason": "救急隊の記録を病院へ渡す媒体が必要", "scope": "警防課の記録媒体",
        "compensating": "暗号化ソフトで保護する", "valid_from": day(0), "valid_to": day(90)});
    let r = c
        .api(
            Method::POST,
            "/api/v1/exceptions",
            &applicant,
            Some(body.clone()),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let e = r.json();
    assert_eq!(e["clause_no"], "2-4-4", "the number is normalised");
    assert_eq!(e["status"], "applied");
    assert_eq!(e["unit_code"], "shobo-keibo");
    let id = e["id"].as_i64().unwrap();

    // The 消防長 (情報セキュリティ責任者 of 消防本部) files an application and tries to endorse it.
    let r = c
        .api(
            Method::POST,
            "/api/v1/exceptions",
            &chief,
            Some(body.clone()),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let own = r.json()["id"].as_i64().unwrap();
    let before = exception_rows(&app).await;
    let denials = app.audit_count("permission.denied").await;
    let r = c
        .api(
            Method::POST,
            &format!("/api/v1/exceptions/{own}/endorse"),
            &chief,
            Some(json!({"decision": "approve"})),
        )
        .await;
    let message = assert_json_error(&r, StatusCode::FORBIDDEN, "forbidden");
    assert!(message.contains("申請者本人は承認できません"), "{message}");
    assert_eq!(exception_rows(&app).await, before, "nothing changed");
    assert_eq!(
        app.audit_count("permission.denied").await,
        denials + 1,
        "the refusal is recorded"
    );
    // The page says so too and offers no button.
    let mut page_client = app.login("shobocho").await;
    let page = page_client.get(&format!("/exceptions/{own}")).await;
    assert!(
        page.body.contains("ご自身の申請は承認できません"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("endorse-form"));
    let r = page_client
        .post_form(
            &format!("/exceptions/{own}/endorse"),
            &[("decision", "approve")],
        )
        .await;
    assert_error_page(&r, StatusCode::FORBIDDEN, "申請者本人は承認できません");

    // Rejecting needs a reason; then the 消防長 endorses the other application.
    let r = c
        .api(
            Method::POST,
            &format!("/api/v1/exceptions/{id}/endorse"),
            &chief,
            Some(json!({"decision": "reject"})),
        )
        .await;
    let message = assert_json_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "unprocessable");
    assert!(message.contains("理由"), "{message}");
    let r = c
        .api(
            Method::POST,
            &format!("/api/v1/exceptions/{id}/endorse"),
            &chief,
            Some(json!({"decision": "approve", "comment": "妥当"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["status"], "endorsed");
    // A second endorsement is refused (the step is done).
    let r = c
        .api(
            Method::POST,
            &format!("/api/v1/exceptions/{id}/endorse"),
            &chief,
            Some(json!({"decision": "approve"})),
        )
        .await;
    assert_json_error(&r, StatusCode::FORBIDDEN, "forbidden");
    // The CISO rejects with a reason: no reference is given.
    let r = c
        .api(
            Method::POST,
            &format!("/api/v1/exceptions/{id}/decide"),
            &ciso,
            Some(json!({"decision": "reject", "comment": "代替手段がある"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["status"], "rejected");
    assert!(r.json()["ref_no"].is_null());
    let r = c
        .api(Method::GET, "/api/v1/exceptions?state=closed", &ciso, None)
        .await;
    assert!(
        r.json()["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["id"] == id)
    );

    // The decision step checks the applicant too (the CISO's capability, the applicant's own id).
    let org = OrgId(app.org_id);
    let tree = mamori_db::org::unit_tree(&app.db, org).await.unwrap();
    let ctx = mamori_db::org::AuditCtx::default();
    // Someone holding both roles (a 統括 acting as CISO): their own application is theirs.
    let tokatsu = app.person_id("tokatsu").await;
    let jimu = mamori_core::org::UnitId(app.unit_id("jimu").await);
    let both = mamori_core::permission::Actor {
        person: mamori_core::org::PersonId(tokatsu),
        org,
        held: vec![
            mamori_core::permission::Held {
                role: mamori_core::role::Role::ChiefOfficer,
                unit: jimu,
                body: jimu,
            },
            mamori_core::permission::Held {
                role: mamori_core::role::Role::Ciso,
                unit: jimu,
                body: jimu,
            },
        ],
    };
    let mut tx = app.db.begin_write().await.unwrap();
    let operator = both.can::<can::ApplyExceptions>().unwrap();
    let mine = mamori_db::exceptions::apply(
        &mut tx,
        &operator,
        &ctx,
        &tree,
        &mamori_db::exceptions::ApplyInput {
            clause_no: "2-6-1".into(),
            reason: "試験".into(),
            scope: "試験".into(),
            asset_no: String::new(),
            compensating: String::new(),
            valid_from: Some(today_jst()),
            valid_to: Some(today_jst()),
            emergency: true,
            unit_id: app.unit_id("jimu").await,
        },
        today_jst(),
    )
    .await
    .unwrap();
    let err = mamori_db::exceptions::decide(
        &mut tx,
        &both.can::<can::DecideExceptions>().unwrap(),
        &ctx,
        mine,
        true,
        "",
        "",
        today_jst(),
    )
    .await
    .unwrap_err();
    assert!(
        err.to_string().contains("申請者本人は承認できません"),
        "{err}"
    );
}

#[tokio::test]
async fn the_emergency_path_is_in_force_until_the_ciso_confirms_or_revokes() {
    let app = TestApp::new().await;
    let mut c = app.client();
    let kacho = app.token("yobo.kacho").await;
    let ciso = app.token("ciso").await;
    let r = c
        .api(Method::POST, "/api/v1/exceptions", &kacho, Some(json!({"clause_no": "2-6-5",
            "reason": "査察システムの障害対応で保守事業者が緊急にリモート接続した", "scope": "予防査察支援システム",
            "valid_from": day(-1), "valid_to": day(10), "emergency": true})))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let e = r.json();
    assert_eq!(e["status"], "provisional");
    assert_eq!(e["in_force"], true);
    let reference = e["ref_no"].as_str().unwrap().to_owned();
    assert_eq!(reference, format!("例外-{}-003", year()));
    let id = e["id"].as_i64().unwrap();
    // While provisional, the reference is accepted by the network model.
    let editor = app.token("tokatsu").await;
    let toml = |r: &str| {
        mamori_web::features::network::EXAMPLE_TOML.replacen(
            "[[flow]]\n",
            &format!("[[flow]]\nexception = \"{r}\"\n"),
            1,
        )
    };
    let put = |body: String| {
        http::Request::builder()
            .method(Method::PUT)
            .uri("/api/v1/network?note=exception")
            .header(http::header::AUTHORIZATION, format!("Bearer {editor}"))
            .header(http::header::CONTENT_TYPE, "application/toml")
            .body(axum::body::Body::from(body))
            .unwrap()
    };
    let r = c.send(put(toml(&reference))).await;
    assert!(r.status.is_success(), "{} {}", r.status, r.body);
    // Unknown references are refused with the flow named, and nothing is stored.
    let versions = app.count("network_model").await;
    let r = c.send(put(toml("例外-2099-999"))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let d = &r.json()["diagnostics"][0];
    assert_eq!(d["path"], "flow[0].exception");
    assert!(
        d["message"].as_str().unwrap().contains("例外-2099-999"),
        "{d}"
    );
    assert!(
        d["message"]
            .as_str()
            .unwrap()
            .contains("インターネットメール受信"),
        "{d}"
    );
    assert!(d["location"]["line"].as_i64().unwrap() > 400, "{d}");
    assert_eq!(app.count("network_model").await, versions);
    // The CISO revokes after review: it stops counting as approval.
    let r = c
        .api(
            Method::POST,
            &format!("/api/v1/exceptions/{id}/decide"),
            &ciso,
            Some(json!({"decision": "revoke", "comment": "事後の説明が不十分"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["status"], "revoked");
    assert_eq!(r.json()["in_force"], false);
    let r = c.send(put(toml(&reference))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("取消し"), "{}", r.body);
    // The demo's emergency exception is confirmed by the CISO on the page.
    let demo_emergency = format!("例外-{}-002", year());
    let (demo_id,): (i64,) = sqlx::query_as("SELECT id FROM exception_request WHERE ref_no = $1")
        .bind(&demo_emergency)
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    let mut page = app.login("ciso").await;
    let p = page.get(&format!("/exceptions/{demo_id}")).await;
    assert!(p.body.contains("CISO の確認（実施後報告）"), "{}", p.body);
    let r = page
        .post_form(
            &format!("/exceptions/{demo_id}/decide"),
            &[
                ("decision", "approve"),
                ("conditions", "修正版の適用後に自動更新を再開すること"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let p = page.get(&format!("/exceptions/{demo_id}")).await;
    assert!(
        p.body.contains(&demo_emergency) && p.body.contains("適用中"),
        "{}",
        p.body
    );
}

#[tokio::test]
async fn asset_saves_accept_only_references_in_force_of_the_same_organisation() {
    let app = TestApp::new().await;
    let token = app.token("tokatsu").await;
    let mut c = app.client();
    // The demo asset cites the demo's approved exception, and its page links to it.
    let (asset_id, cited): (i64, String) =
        sqlx::query_as("SELECT id, exception_ref FROM asset WHERE asset_no = 'J-MED-002'")
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    assert_eq!(cited, format!("例外-{}-001", year()));
    let mut page = app.login("tokatsu").await;
    let p = page.get(&format!("/inventory/{asset_id}")).await;
    assert!(
        p.body.contains("/exceptions/") && p.body.contains(&cited),
        "{}",
        p.body
    );
    let body = |reference: &str| {
        json!({"asset_no": "J-TMP-100", "name": "試験", "kind": "system", "unit": "jimu-somu",
            "manager": "tokatsu", "zone": "lgwan", "confidentiality": "2", "integrity": 1,
            "availability": 1, "exception_ref": reference})
    };
    for (reference, expected) in [
        ("例外-2026-999", "登録されていません"),
        ("適当な番号", "登録されていません"),
    ] {
        let before = snapshot(&app).await;
        let r = c
            .api(
                Method::POST,
                "/api/v1/assets",
                &token,
                Some(body(reference)),
            )
            .await;
        let message = assert_json_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "unprocessable");
        assert!(
            message.contains(expected) && message.contains("例外措置"),
            "{message}"
        );
        assert_eq!(
            snapshot(&app).await,
            before,
            "nothing written for {reference}"
        );
    }
    // A pending application has no reference; a rejected one's would not count either. Another
    // organisation's reference with the same text is not this organisation's.
    let ctx = mamori_db::org::AuditCtx::default();
    let mut tx = app.db.begin_write().await.unwrap();
    let (other, other_root) =
        mamori_db::org::create_organisation(&mut tx, &ctx, "other", "別の組合")
            .await
            .unwrap();
    let now = mamori_db::now_text();
    let applicant = mamori_db::org::create_person(
        &mut tx,
        &Capability::<can::EditPersons>::operator(OrgId(other)),
        &ctx,
        &mamori_db::org::PersonInput {
            login: "zz.other".into(),
            staff_no: None,
            name: "別 太郎".into(),
            name_kana: "べつ たろう".into(),
            unit_id: other_root,
            employment: "regular".into(),
            email: String::new(),
            phone: String::new(),
            status: "active".into(),
        },
        None,
    )
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO exception_request (org_id, ref_no, ref_year, ref_seq, clause_no, reason, valid_from, valid_to, \
         unit_id, applicant_id, status, created_at, updated_at) VALUES ($1, '例外-2000-777', 2000, 777, '2-4-4', 'x', $2, $3, $4, $5, 'approved', $6, $6)",
    )
    .bind(other)
    .bind(day(-1))
    .bind(day(30))
    .bind(other_root)
    .bind(applicant)
    .bind(&now)
    .execute(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let r = c
        .api(
            Method::POST,
            "/api/v1/assets",
            &token,
            Some(body("例外-2000-777")),
        )
        .await;
    let message = assert_json_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "unprocessable");
    assert!(message.contains("登録されていません"), "{message}");
    // The demo's approved reference is accepted.
    let r = c
        .api(Method::POST, "/api/v1/assets", &token, Some(body(&cited)))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    // Rule A002 (機密性3B以上はインターネット接続系に置かない) counts an exception only while it
    // is in force.
    let risky = |reference: &str| {
        json!({"asset_no": "J-TMP-101", "name": "試験（インターネット）", "kind": "system",
            "unit": "jimu-somu", "manager": "tokatsu", "zone": "internet", "confidentiality": "3B",
            "integrity": 1, "availability": 1, "exception_ref": reference})
    };
    let r = c
        .api(Method::POST, "/api/v1/assets", &token, Some(risky("")))
        .await;
    let message = assert_json_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "unprocessable");
    assert!(message.contains("A002"), "{message}");
    let r = c
        .api(Method::POST, "/api/v1/assets", &token, Some(risky(&cited)))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let risky_id = r.json()["id"].as_i64().unwrap();
    let p = page.get(&format!("/inventory/{risky_id}")).await;
    let section = |body: &str| {
        body.find("id=\"findings\"")
            .map(|at| body[at..].split("</section>").next().unwrap().to_owned())
            .unwrap_or_default()
    };
    assert!(!section(&p.body).contains("A002"), "{}", p.body);
    sqlx::query("UPDATE exception_request SET valid_to = $1 WHERE ref_no = $2")
        .bind(day(-1))
        .bind(&cited)
        .execute(app.db.pool())
        .await
        .unwrap();
    let p = page.get(&format!("/inventory/{risky_id}")).await;
    assert!(section(&p.body).contains("A002"), "{}", p.body);
    assert!(
        p.body.contains("期限切れ"),
        "the asset page says the exception expired"
    );
    sqlx::query("UPDATE exception_request SET valid_to = $1 WHERE ref_no = $2")
        .bind(day(100))
        .bind(&cited)
        .execute(app.db.pool())
        .await
        .unwrap();

    // The asset import refuses an unknown reference too, naming the row.
    let req = http::Request::builder()
        .method(Method::POST)
        .uri("/api/v1/assets/import?dry_run=true")
        .header(http::header::AUTHORIZATION, format!("Bearer {token}"))
        .header(http::header::CONTENT_TYPE, "text/csv")
        .header("x-file-name", "daicho.csv")
        .body(axum::body::Body::from(
            "資産番号,名称,種別,所管課,管理者,機密性,完全性,可用性,例外措置\nJ-IMP-001,取込み試験,情報（電子）,jimu-somu,tokatsu,2,1,1,例外-2026-999\n",
        ))
        .unwrap();
    let r = c.send(req).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("例外-2026-999"), "{}", r.body);
}

#[tokio::test]
async fn permissions_follow_role_and_unit() {
    let app = TestApp::new().await;
    let mut c = app.client();
    // 職員 may neither read nor apply.
    let staff = app.token("keiri").await;
    let r = c.api(Method::GET, "/api/v1/exceptions", &staff, None).await;
    assert_json_error(&r, StatusCode::FORBIDDEN, "forbidden");
    let r = c
        .api(Method::POST, "/api/v1/exceptions", &staff, Some(json!({"clause_no": "2-4-4", "reason": "x", "scope": "x", "valid_from": day(0), "valid_to": day(1)})))
        .await;
    assert_json_error(&r, StatusCode::FORBIDDEN, "forbidden");
    let mut page = app.login("keiri").await;
    let r = page.get("/exceptions").await;
    assert_error_page(&r, StatusCode::FORBIDDEN, "例外措置の閲覧");
    // A 管理者 applies for their own unit only.
    let kacho = app.token("zaimu.kacho").await;
    let before = exception_rows(&app).await;
    let r = c
        .api(
            Method::POST,
            "/api/v1/exceptions",
            &kacho,
            Some(json!({"clause_no": "2-4-4", "reason": "x", "scope": "x",
            "valid_from": day(0), "valid_to": day(1), "unit": "jimu-somu"})),
        )
        .await;
    assert_json_error(&r, StatusCode::FORBIDDEN, "forbidden");
    assert_eq!(exception_rows(&app).await, before);
    // … and sees only its own unit's exceptions: 消防's emergency one is not found.
    let r = c.api(Method::GET, "/api/v1/exceptions", &kacho, None).await;
    assert_eq!(r.json()["items"].as_array().unwrap().len(), 0, "{}", r.body);
    let shobo_id = before[1].0;
    let r = c
        .api(
            Method::GET,
            &format!("/api/v1/exceptions/{shobo_id}"),
            &kacho,
            None,
        )
        .await;
    assert_json_error(&r, StatusCode::NOT_FOUND, "not_found");
    // Another body's 責任者 cannot endorse (the application is out of sight) and the CISO
    // alone decides.
    let r = c
        .api(
            Method::POST,
            "/api/v1/exceptions",
            &kacho,
            Some(json!({"clause_no": "2-4-4", "reason": "x", "scope": "x",
            "valid_from": day(0), "valid_to": day(1)})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let id = r.json()["id"].as_i64().unwrap();
    let encho = app.token("encho").await;
    let r = c
        .api(
            Method::POST,
            &format!("/api/v1/exceptions/{id}/endorse"),
            &encho,
            Some(json!({"decision": "approve"})),
        )
        .await;
    assert_json_error(&r, StatusCode::NOT_FOUND, "not_found");
    let tokatsu = app.token("tokatsu").await;
    let r = c
        .api(
            Method::POST,
            &format!("/api/v1/exceptions/{id}/decide"),
            &tokatsu,
            Some(json!({"decision": "approve"})),
        )
        .await;
    assert_json_error(&r, StatusCode::FORBIDDEN, "forbidden");
    // Bad input: dates, clause, missing reason — Japanese messages, nothing written.
    let before = exception_rows(&app).await;
    for (body, expected) in [
        (
            json!({"clause_no": "9-9-9", "reason": "x", "scope": "x", "valid_from": day(0), "valid_to": day(1)}),
            "9-9-9",
        ),
        (
            json!({"clause_no": "2-4-4", "reason": " ", "scope": "x", "valid_from": day(0), "valid_to": day(1)}),
            "理由",
        ),
        (
            json!({"clause_no": "2-4-4", "reason": "x", "scope": "x", "valid_from": day(5), "valid_to": day(1)}),
            "終了日は開始日以降",
        ),
        (
            json!({"clause_no": "2-4-4", "reason": "x", "scope": "x", "valid_from": "昨日", "valid_to": day(1)}),
            "開始日",
        ),
        (
            json!({"clause_no": "2-4-4", "reason": "x", "scope": "x", "asset_no": "NO-SUCH", "valid_from": day(0), "valid_to": day(1)}),
            "NO-SUCH",
        ),
    ] {
        let r = c
            .api(Method::POST, "/api/v1/exceptions", &kacho, Some(body))
            .await;
        let message = assert_json_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "unprocessable");
        assert!(message.contains(expected), "{expected}: {message}");
    }
    assert_eq!(exception_rows(&app).await, before, "nothing written");
}
