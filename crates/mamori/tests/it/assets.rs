//! 情報資産管理台帳 end to end: the demo register, lists and filters, create and edit with their
//! checks, handling rules, inheritance, scheme switch and re-triage, review, take-out, disposal
//! with a certificate, history, bulk reassignment, and who may do what — over HTTP, checking the
//! database and the audit trail.

use http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};

use crate::common::{Client, Resp, TestApp};
use crate::support::{assert_error_page, assert_json_error, snapshot};

const BOUNDARY: &str = "----mamori-assets-test";

fn multipart(fields: &[(&str, &str)], file: Option<(&str, &str, &[u8])>) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    if let Some((field, file_name, bytes)) = file {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{file_name}\"\r\nContent-Type: application/pdf\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

async fn post_multipart(c: &mut Client, path: &str, body: Vec<u8>) -> Resp {
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

async fn asset_id(app: &TestApp, no: &str) -> i64 {
    sqlx::query_scalar("SELECT id FROM asset WHERE asset_no = $1 AND org_id = $2")
        .bind(no)
        .bind(app.org_id)
        .fetch_one(app.db.pool())
        .await
        .unwrap()
}

async fn column(app: &TestApp, no: &str, col: &str) -> Option<String> {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT CAST({col} AS TEXT) FROM asset WHERE asset_no = $1 AND org_id = $2"
    )))
    .bind(no)
    .bind(app.org_id)
    .fetch_one(app.db.pool())
    .await
    .unwrap()
}

/// The fields of a new information asset, as the form posts them.
fn new_asset<'a>(no: &'a str, unit: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("asset_no", no),
        ("name", "試験用の情報資産"),
        ("business", "試験業務"),
        ("kind", "info_electronic"),
        ("unit", unit),
        ("manager", ""),
        ("medium", "file"),
        ("location", "共有フォルダ"),
        ("zone", "lgwan"),
        ("confidentiality", "2"),
        ("integrity", "1"),
        ("availability", "1"),
        ("personal_count", ""),
        ("retention", "5年"),
        ("last_reviewed", ""),
        ("note", ""),
    ]
}

#[tokio::test]
async fn the_demo_register_lists_filters_and_searches() {
    let app = TestApp::new().await;
    let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM asset WHERE org_id = $1")
        .bind(app.org_id)
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert!(
        (180..=260).contains(&total),
        "about 200 demo assets: {total}"
    );
    let mut c = app.login("tokatsu").await;
    let r = c.get("/inventory").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("情報資産管理台帳"));
    assert!(r.body.contains("J-DOC-001"), "{}", r.body);
    assert!(
        r.body.contains(&format!("{} 件", total - 1)),
        "disposed ones are not listed by default"
    );

    // Zone filter.
    let r = c.get("/inventory?zone=mynumber").await;
    assert!(r.body.contains("J-INF-003") && !r.body.contains("J-SYS-001"));
    // Japanese substring search in name and 業務名.
    let r = c.get("/inventory?q=救急").await;
    assert!(r.body.contains("救急活動記録") && !r.body.contains("財務会計システム"));
    let r = c
        .get("/inventory?q=%E8%B2%A1%E5%8B%99%E4%BC%9A%E8%A8%88")
        .await;
    assert!(r.body.contains("J-SYS-001"), "{}", r.body);
    // Rule violations, by rule.
    let r = c.get("/inventory?violations=A003").await;
    assert!(r.body.contains("J-INF-032") && !r.body.contains("J-SYS-001"));
    // Overdue reviews: never reviewed and old reviews.
    let r = c.get("/inventory?overdue=1").await;
    assert!(r.body.contains("K-KYU-2021") && r.body.contains("J-INF-035"));
    assert!(!r.body.contains("J-SYS-001"));
    // Personal data, class and kind filters combine.
    let r = c
        .get("/inventory?personal=sensitive&confidentiality=3B&kind=info_printed")
        .await;
    assert!(r.body.contains("S-MIN-Q-2025") && !r.body.contains("J-INF-003"));
    // Restriction filter.
    let r = c.get("/inventory?restriction=encryption_required").await;
    assert!(r.body.contains("K-MED-001") && !r.body.contains("J-MED-002"));
    // Disposed assets are kept and listed on request.
    let r = c.get("/inventory?status=disposed").await;
    assert!(r.body.contains("J-SHI-2021"));
    // Sort and pages.
    let r = c.get("/inventory?sort=confidentiality").await;
    let first_3b = r.body.find("自治体機密性3B").unwrap();
    let first_1 = r.body.find("自治体機密性1").unwrap_or(usize::MAX);
    assert!(first_3b < first_1);
    let r = c.get("/inventory?page=2").await;
    assert!(r.body.contains("2 / "), "{}", r.body);
    // A filter value that means nothing is refused with a Japanese message.
    let r = c.get("/inventory?confidentiality=9").await;
    assert_error_page(&r, StatusCode::BAD_REQUEST, "機密性「9」は指定できません");
    let r = c.get("/inventory?sort=evil").await;
    assert_error_page(&r, StatusCode::BAD_REQUEST, "並び順");

    // The API answers the same filters.
    let token = app.token("tokatsu").await;
    let r = c
        .api(
            Method::GET,
            "/api/v1/assets?zone=mynumber&per_page=500",
            &token,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v = r.json();
    let in_db: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM asset WHERE org_id = $1 AND zone = 'mynumber' AND status = 'active'",
    )
    .bind(app.org_id)
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    assert_eq!(v["total"], in_db);
    assert!(
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["zone"] == "mynumber")
    );
    let r = c
        .api(Method::GET, "/api/v1/assets?integrity=3", &token, None)
        .await;
    assert_json_error(&r, StatusCode::BAD_REQUEST, "bad_request");

    // The 要対応 view names every deliberate breach, per unit.
    let r = c.get("/inventory/todo").await;
    assert_eq!(r.status, StatusCode::OK);
    for (no, rule) in [
        ("J-INF-032", "A003"),
        ("J-INF-034", "A005"),
        ("S-MIN-Q-2025", "A004"),
        ("J-MED-002", "A009"),
        ("K-SYS-001", "A008"),
        ("J-SYS-008", "A010"),
    ] {
        assert!(r.body.contains(no), "{no} on 要対応: {}", r.body);
        assert!(r.body.contains(rule), "{rule}");
    }
    assert!(r.body.contains("事務局 業務課 施設係"), "{}", r.body);
}

#[tokio::test]
async fn staff_read_their_own_units_assets_only() {
    let app = TestApp::new().await;
    let own = asset_id(&app, "J-SYS-003").await; // 総務係
    let other = asset_id(&app, "J-SYS-001").await; // 財政課
    let shobo = asset_id(&app, "S-SYS-001").await; // 消防本部
    let mut c = app.login("somu").await;
    let r = c.get("/inventory").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("J-SYS-003") && !r.body.contains("J-SYS-001"));
    assert_eq!(
        c.get(&format!("/inventory/{own}")).await.status,
        StatusCode::OK
    );
    // Out of reach reads as absent, exactly like an id nobody has.
    let a = c.get(&format!("/inventory/{other}")).await;
    let b = c.get("/inventory/987654321").await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert_eq!(b.status, StatusCode::NOT_FOUND);
    // A member of staff edits nothing.
    let before = snapshot(&app).await;
    c.get(&format!("/inventory/{own}")).await;
    let r = c
        .post_form(&format!("/inventory/{own}/review"), &[("on", "")])
        .await;
    assert_error_page(
        &r,
        StatusCode::FORBIDDEN,
        "情報資産の編集の権限がありません",
    );
    assert_eq!(snapshot(&app).await, before);
    assert_eq!(c.get("/inventory/new").await.status, StatusCode::FORBIDDEN);

    // 消防長 (情報セキュリティ責任者) reads and edits the whole 消防本部, nothing of 事務局.
    let mut chief = app.login("shobocho").await;
    assert_eq!(
        chief.get(&format!("/inventory/{shobo}")).await.status,
        StatusCode::OK
    );
    assert_eq!(
        chief.get(&format!("/inventory/{other}")).await.status,
        StatusCode::NOT_FOUND
    );
    let r = chief
        .post_form(&format!("/inventory/{shobo}/review"), &[("on", "")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);

    // The auditor and the system manager read everything and change nothing.
    for login in ["kansa", "sysadmin"] {
        let mut c = app.login(login).await;
        assert_eq!(
            c.get(&format!("/inventory/{shobo}")).await.status,
            StatusCode::OK,
            "{login}"
        );
        let r = c
            .post_form(&format!("/inventory/{shobo}/review"), &[("on", "")])
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{login}");
        assert_eq!(
            c.get("/inventory/settings").await.status,
            StatusCode::FORBIDDEN,
            "{login}"
        );
    }
}

/// Per role: (login, may read 財政課's J-SYS-001, may edit it, may change settings).
const ROLE_TABLE: &[(&str, bool, bool, bool)] = &[
    ("ciso", true, true, true),
    ("vciso", true, true, false),
    ("tokatsu", true, true, true),
    ("sysadmin", true, false, false),
    ("kansa", true, false, false),
    ("shobocho", false, false, false),
    ("zaimu.kacho", true, true, false),
    ("keiri", false, false, false), // 会計係: 財政課 itself is above its own unit
    ("somu", false, false, false),
];

#[tokio::test]
async fn every_role_reads_and_edits_exactly_its_reach() {
    let app = TestApp::new().await;
    let id = asset_id(&app, "J-SYS-001").await;
    for (login, read, edit, settings) in ROLE_TABLE {
        let mut c = app.login(login).await;
        let token = app.token(login).await;
        let page = c.get(&format!("/inventory/{id}")).await;
        let api = c
            .api(Method::GET, &format!("/api/v1/assets/{id}"), &token, None)
            .await;
        let want = if *read {
            StatusCode::OK
        } else {
            StatusCode::NOT_FOUND
        };
        assert_eq!(page.status, want, "{login} page");
        assert_eq!(api.status, want, "{login} api");
        let r = c
            .api(
                Method::POST,
                &format!("/api/v1/assets/{id}/review"),
                &token,
                Some(json!({})),
            )
            .await;
        let want = match (read, edit) {
            (_, true) => StatusCode::OK,
            (true, false) => StatusCode::FORBIDDEN,
            (false, _) => StatusCode::NOT_FOUND,
        };
        assert_eq!(r.status, want, "{login} review: {}", r.body);
        let r = c.get("/inventory/settings").await;
        assert_eq!(
            r.status == StatusCode::OK,
            *settings,
            "{login} settings: {}",
            r.status
        );
    }
}

#[tokio::test]
async fn creating_an_asset_checks_every_field_and_the_rules() {
    let app = TestApp::new().await;
    let zaimu = app.unit_id("jimu-zaimu").await.to_string();
    let shobo = app.unit_id("shobo-somu").await.to_string();
    let manager = app.person_id("zaimu.kacho").await.to_string();
    let mut c = app.login("zaimu.kacho").await;
    let r = c.get("/inventory/new").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("情報資産の登録"));

    let mut fields = new_asset("Z-001", &zaimu);
    fields.retain(|(k, _)| *k != "manager");
    fields.push(("manager", &manager));
    fields.push(("restriction", "no_copy"));
    fields.push(("restriction", "need_to_know"));
    let r = c.post_form("/inventory", &fields).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let id = asset_id(&app, "Z-001").await;
    assert_eq!(
        r.location(),
        Some(format!("/inventory/{id}?saved=1").as_str())
    );
    assert_eq!(
        column(&app, "Z-001", "restrictions").await.as_deref(),
        Some("no_copy,need_to_know")
    );
    assert!(app.audit_count("asset.create").await > 0);
    let page = c.get(&format!("/inventory/{id}?saved=1")).await;
    assert!(page.body.contains("保存しました"));
    assert!(page.body.contains("複製禁止・関係者限り"));
    // Handling of its class is shown.
    assert!(page.body.contains("送信・運搬・提供"), "{}", page.body);

    // Bad input: every problem named, nothing written.
    let before = snapshot(&app).await;
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (new_asset("", &zaimu), "資産番号を入力してください"),
        (
            {
                let mut f = new_asset("Z-002", &zaimu);
                f.retain(|(k, _)| *k != "confidentiality");
                f.push(("confidentiality", "機密性３"));
                f
            },
            "3A・3B・3C のどれか判断できません",
        ),
        (
            {
                let mut f = new_asset("Z-003", &zaimu);
                f.retain(|(k, _)| *k != "zone");
                f.push(("zone", "社内LAN"));
                f
            },
            "ネットワーク区分「社内LAN」は認識できません",
        ),
        (
            {
                let mut f = new_asset("Z-004", &zaimu);
                f.retain(|(k, _)| *k != "last_reviewed");
                f.push(("last_reviewed", "令和99年13月1日"));
                f
            },
            "最終確認日",
        ),
        (
            {
                let mut f = new_asset("Z-005", &zaimu);
                f.retain(|(k, _)| *k != "personal_count");
                f.push(("personal_count", "たくさん"));
                f
            },
            "件数「たくさん」は0以上の数で入力してください",
        ),
        // 特定個人情報 on LGWAN: rule A001, an error.
        (
            {
                let mut f = new_asset("Z-006", &zaimu);
                f.push(("personal", "1"));
                f.push(("my_number", "1"));
                f
            },
            "A001",
        ),
        // The same 資産番号 twice.
        (
            new_asset("J-SYS-001", &zaimu),
            "資産番号 J-SYS-001は既に使われています",
        ),
    ];
    for (fields, expected) in cases {
        let r = c.post_form("/inventory", &fields).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{expected}: {}",
            r.body
        );
        assert!(r.body.contains(expected), "{expected}: {}", r.body);
        assert!(r.body.contains("保存できませんでした"));
    }
    assert_eq!(snapshot(&app).await, before, "nothing written");
    // A unit outside the 管理者's reach is refused.
    let r = c.post_form("/inventory", &new_asset("Z-007", &shobo)).await;
    assert_error_page(&r, StatusCode::FORBIDDEN, "権限がありません");
    assert_eq!(snapshot(&app).await, before, "nothing written");

    // Full-width digits and 和暦 are read as a Japanese user types them.
    let mut f = new_asset("Ｚ－００８", &zaimu);
    f.retain(|(k, _)| !matches!(*k, "last_reviewed" | "personal_count" | "manager"));
    f.push(("manager", "zaimu.kacho"));
    f.push(("last_reviewed", "令和8年4月1日"));
    f.push(("personal", "1"));
    f.push(("personal_count", "１，２３４件"));
    let r = c.post_form("/inventory", &f).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(
        column(&app, "Z-008", "last_reviewed").await.as_deref(),
        Some("2026-04-01")
    );
    assert_eq!(
        column(&app, "Z-008", "personal_count").await.as_deref(),
        Some("1234")
    );
}

#[tokio::test]
async fn editing_refuses_a_stale_page_and_disposal_archives_read_only() {
    let app = TestApp::new().await;
    let id = asset_id(&app, "J-INF-033").await;
    let keiri = app.person_id("keiri").await.to_string();
    let mut c = app.login("zaimu.kacho").await;
    let form = c.get(&format!("/inventory/{id}/edit")).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains("入札・契約関係書類"));
    let version = column(&app, "J-INF-033", "version").await.unwrap();
    let unit = app.unit_id("jimu-zaimu").await.to_string();
    let mut fields = new_asset("J-INF-033", &unit);
    fields.retain(|(k, _)| {
        !matches!(
            *k,
            "kind" | "medium" | "zone" | "confidentiality" | "manager"
        )
    });
    fields.push(("manager", "zaimu.kacho"));
    fields.extend([
        ("kind", "info_printed"),
        ("medium", "paper"),
        ("zone", ""),
        ("confidentiality", "3C"),
        ("lockable", "1"),
        ("restriction", "no_take_out"),
        ("version", version.as_str()),
    ]);
    let r = c.post_form(&format!("/inventory/{id}"), &fields).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(
        column(&app, "J-INF-033", "name").await.as_deref(),
        Some("試験用の情報資産")
    );
    // The same page posted again is stale: refused, nothing changed.
    let before = snapshot(&app).await;
    let r = c.post_form(&format!("/inventory/{id}"), &fields).await;
    assert_error_page(
        &r,
        StatusCode::CONFLICT,
        "他の利用者によって更新されています",
    );
    assert_eq!(snapshot(&app).await, before);

    // Disposal with a certificate from a contractor.
    let page = c.get(&format!("/inventory/{id}")).await;
    assert!(page.body.contains("廃棄を記録"));
    let csrf = c.csrf.clone().unwrap();
    let certificate = b"%PDF-1.4 certificate of destruction".as_slice();
    // A contractor's disposal of a class-2+ asset needs the certificate.
    let body = multipart(
        &[
            ("csrf", &csrf),
            ("on", "2026-11-01"),
            ("person_id", &keiri),
            ("method", "委託業者による溶解処理"),
        ],
        None,
    );
    let r = post_multipart(&mut c, &format!("/inventory/{id}/dispose"), body).await;
    assert_error_page(
        &r,
        StatusCode::UNPROCESSABLE_ENTITY,
        "廃棄証明書を添付してください",
    );
    assert_eq!(snapshot(&app).await, before);
    // Without the CSRF token: refused.
    let body = multipart(
        &[("on", "2026-11-01"), ("person_id", &keiri), ("method", "x")],
        Some(("certificate", "証明書.pdf", certificate)),
    );
    let r = post_multipart(&mut c, &format!("/inventory/{id}/dispose"), body).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert_eq!(snapshot(&app).await, before);
    let body = multipart(
        &[
            ("csrf", &csrf),
            ("on", "令和8年11月1日"),
            ("person_id", &keiri),
            ("method", "委託業者による溶解処理"),
        ],
        Some(("certificate", "廃棄証明書.pdf", certificate)),
    );
    let r = post_multipart(&mut c, &format!("/inventory/{id}/dispose"), body).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(
        column(&app, "J-INF-033", "status").await.as_deref(),
        Some("disposed")
    );
    assert_eq!(
        column(&app, "J-INF-033", "disposed_on").await.as_deref(),
        Some("2026-11-01")
    );
    let sha: String =
        sqlx::query_scalar("SELECT sha256 FROM asset_certificate WHERE asset_id = $1")
            .bind(id)
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    assert_eq!(
        sha,
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(certificate))
    );
    // The page shows the archive read-only; the certificate downloads and the download is
    // audited.
    let page = c.get(&format!("/inventory/{id}")).await;
    assert!(page.body.contains("廃棄済み") && page.body.contains("変更できません"));
    assert!(!page.body.contains("/edit\""), "no edit link");
    let cert_id: i64 = sqlx::query_scalar("SELECT id FROM asset_certificate WHERE asset_id = $1")
        .bind(id)
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    let downloads = app.audit_count("asset.certificate.download").await;
    let r = c
        .get(&format!("/inventory/{id}/certificates/{cert_id}"))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.bytes.as_ref(), certificate);
    assert!(
        r.headers[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .contains("filename*=UTF-8''%E5%BB%83")
    );
    assert_eq!(
        app.audit_count("asset.certificate.download").await,
        downloads + 1
    );
    // Nothing changes a disposed asset.
    let before = snapshot(&app).await;
    let r = c.get(&format!("/inventory/{id}/edit")).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let r = c
        .post_form(&format!("/inventory/{id}/review"), &[("on", "")])
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert_eq!(snapshot(&app).await, before);
    // The history comes from the audit trail.
    assert!(page.body.contains("廃棄") && page.body.contains("変更") && page.body.contains("登録"));
    assert!(
        page.body
            .contains("名称: 入札・契約関係書類 → 試験用の情報資産"),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn a_system_takes_the_highest_class_of_what_it_holds() {
    let app = TestApp::new().await;
    let token = app.token("tokatsu").await;
    let mut c = app.client();
    // A new LGWAN system at 機密性2 holding nothing.
    let body = json!({
        "asset_no": "J-SYS-900", "name": "試験システム", "kind": "情報システム",
        "unit": "jimu-somu", "manager": "tokatsu", "medium": "DB・システム",
        "zone": "LGWAN接続系", "confidentiality": "自治体機密性２", "integrity": 1,
        "availability": "可用性1", "last_reviewed": "2026-04-01"
    });
    let r = c
        .api(Method::POST, "/api/v1/assets", &token, Some(body))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let sys = r.json()["id"].as_i64().unwrap();
    assert_eq!(r.json()["confidentiality"], "2");
    // It now holds 人事記録 (3C) and 給与支給データ (3B, 完全性2, 可用性2).
    let mut ui = app.login("tokatsu").await;
    ui.get(&format!("/inventory/{sys}")).await;
    let r = ui
        .post_form(
            &format!("/inventory/{sys}/holdings"),
            &[("held", "J-INF-001\nJ-INF-002")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = c
        .api(Method::GET, &format!("/api/v1/assets/{sys}"), &token, None)
        .await;
    let v = r.json();
    assert_eq!(v["in_force"]["confidentiality"]["value"], "3B", "{v}");
    assert_eq!(v["in_force"]["confidentiality"]["from"][1], "J-INF-002");
    assert_eq!(v["in_force"]["availability"]["value"], "2");
    assert!(
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["rule"] == "A008")
    );
    let page = ui.get(&format!("/inventory/{sys}")).await;
    assert!(
        page.body
            .contains("保存する情報により <strong>自治体機密性3B</strong> として扱う"),
        "{}",
        page.body
    );
    assert!(page.body.contains("J-INF-002 給与支給データ"));
    // Holding 特定個人情報 would put My Number data on LGWAN: refused, holdings unchanged.
    let before = snapshot(&app).await;
    let r = ui
        .post_form(
            &format!("/inventory/{sys}/holdings"),
            &[("held", "J-INF-001\nJ-INF-003")],
        )
        .await;
    assert_error_page(&r, StatusCode::UNPROCESSABLE_ENTITY, "A001");
    // Unknown numbers are named.
    let r = ui
        .post_form(
            &format!("/inventory/{sys}/holdings"),
            &[("held", "NO-SUCH-1")],
        )
        .await;
    assert_error_page(
        &r,
        StatusCode::UNPROCESSABLE_ENTITY,
        "資産番号が見つかりません：NO-SUCH-1",
    );
    // Information cannot hold anything.
    let info = asset_id(&app, "J-INF-001").await;
    ui.get(&format!("/inventory/{info}")).await;
    let r = ui
        .post_form(
            &format!("/inventory/{info}/holdings"),
            &[("held", "J-INF-002")],
        )
        .await;
    assert_error_page(
        &r,
        StatusCode::UNPROCESSABLE_ENTITY,
        "保存する種別ではありません",
    );
    assert_eq!(snapshot(&app).await, before);
}

#[tokio::test]
async fn switching_the_scheme_maps_levels_and_lists_ambiguous_ones_for_triage() {
    let app = TestApp::new().await;
    let count = |level: &'static str| {
        let app = &app;
        async move {
            let n: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM asset WHERE org_id = $1 AND confidentiality = $2",
            )
            .bind(app.org_id)
            .bind(level)
            .fetch_one(app.db.pool())
            .await
            .unwrap();
            n
        }
    };
    let (c3b, c3c, c2) = (count("3B").await, count("3C").await, count("2").await);
    assert!(c3b > 0 && c3c > 0 && c2 > 0);
    let mut c = app.login("tokatsu").await;
    let r = c.get("/inventory/settings").await;
    assert!(r.body.contains("自治体機密性（3A・3B・3C・2・1）"));
    let r = c
        .post_form("/inventory/settings", &[("scheme", "legacy")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(count("3B").await + count("3C").await, 0);
    assert_eq!(count("2").await, c3b + c3c + c2);
    assert_eq!(app.audit_count("asset.scheme.switch").await, 1);
    // Under the legacy scheme 「機密性３」 is a level, 「3B」 is not.
    let token = app.token("tokatsu").await;
    let mut api = app.client();
    let body = json!({"asset_no": "L-1", "name": "従前の分類", "kind": "info_electronic",
        "unit": "jimu-somu", "manager": "tokatsu", "zone": "lgwan", "confidentiality": "機密性３", "integrity": 2, "availability": 1});
    let r = api
        .api(Method::POST, "/api/v1/assets", &token, Some(body.clone()))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let mut bad = body;
    bad["asset_no"] = json!("L-2");
    bad["confidentiality"] = json!("3B");
    let r = api
        .api(Method::POST, "/api/v1/assets", &token, Some(bad))
        .await;
    let msg = assert_json_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "unprocessable");
    assert!(msg.contains("この団体の分類"), "{msg}");

    // Back to R6: every legacy 2 is ambiguous (3B, 3C or 2) and goes on the re-triage list.
    let legacy2 = count("2").await;
    let r = c
        .post_form("/inventory/settings", &[("scheme", "r6")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let triage: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM asset WHERE org_id = $1 AND triage <> '' AND status = 'active'",
    )
    .bind(app.org_id)
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    let disposed_2: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM asset WHERE org_id = $1 AND status = 'disposed'")
            .bind(app.org_id)
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    assert_eq!(triage, legacy2 - disposed_2);
    // Personal data suggests the likelier level: My Number data is proposed as 3B.
    assert_eq!(
        column(&app, "J-INF-003", "confidentiality")
            .await
            .as_deref(),
        Some("3B")
    );
    assert_eq!(
        column(&app, "J-SYS-004", "confidentiality")
            .await
            .as_deref(),
        Some("2")
    );
    let r = c.get("/inventory?triage=1").await;
    assert!(r.body.contains("再判定"), "{}", r.body);
    // Choosing the level settles it.
    let id = asset_id(&app, "J-INF-012").await;
    let page = c.get(&format!("/inventory/{id}")).await;
    assert!(page.body.contains("分類の再判定"));
    let r = c
        .post_form(&format!("/inventory/{id}/triage"), &[("level", "3C")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(
        column(&app, "J-INF-012", "triage").await.as_deref(),
        Some("")
    );
    assert_eq!(
        column(&app, "J-INF-012", "confidentiality")
            .await
            .as_deref(),
        Some("3C")
    );
    // Switching to the scheme in use is refused.
    let r = c
        .post_form("/inventory/settings", &[("scheme", "r6")])
        .await;
    assert_error_page(&r, StatusCode::UNPROCESSABLE_ENTITY, "既に");
}

#[tokio::test]
async fn the_review_interval_decides_what_is_overdue_and_review_stamps_today() {
    let app = TestApp::new().await;
    let mut c = app.login("ciso").await;
    let token = app.token("ciso").await;
    let total = |v: Value| v["total"].as_i64().unwrap();
    let before = total(
        c.api(Method::GET, "/api/v1/assets?overdue=1", &token, None)
            .await
            .json(),
    );
    c.get("/inventory/settings").await;
    let r = c
        .post_form("/inventory/settings", &[("review_interval_days", "３０")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let after = total(
        c.api(Method::GET, "/api/v1/assets?overdue=1", &token, None)
            .await
            .json(),
    );
    assert!(after > before, "{before} → {after}");
    let r = c
        .post_form("/inventory/settings", &[("review_interval_days", "0")])
        .await;
    assert_error_page(&r, StatusCode::UNPROCESSABLE_ENTITY, "1日から3650日");
    // 確認した: 最終確認日 becomes today, the review is audited, and it leaves the overdue list.
    let id = asset_id(&app, "K-KYU-2021").await;
    let reviews = app.audit_count("asset.review").await;
    let r = c
        .api(
            Method::POST,
            &format!("/api/v1/assets/{id}/review"),
            &token,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let today = r.json()["last_reviewed"].as_str().unwrap().to_owned();
    assert_eq!(
        column(&app, "K-KYU-2021", "last_reviewed").await,
        Some(today)
    );
    assert_eq!(app.audit_count("asset.review").await, reviews + 1);
    let r = c
        .api(
            Method::GET,
            "/api/v1/assets?overdue=1&per_page=500",
            &token,
            None,
        )
        .await;
    assert!(!r.body.contains("K-KYU-2021"));
    // A review in the future is refused.
    let r = c
        .api(
            Method::POST,
            &format!("/api/v1/assets/{id}/review"),
            &token,
            Some(json!({"on": "2099-01-01"})),
        )
        .await;
    assert_json_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "unprocessable");
}

#[tokio::test]
async fn take_out_needs_a_permitter_other_than_the_taker_and_is_returned() {
    let app = TestApp::new().await;
    let shocho = app.person_id("minobu.shocho").await;
    let minobu1 = app.person_id("minobu1").await;
    let q = asset_id(&app, "S-MIN-Q-2025").await; // printed 3B without 持出禁止: A004
    let locked = asset_id(&app, "S-MIN-Q-2024").await; // 持出禁止
    assert!(
        column(&app, "S-MIN-Q-2025", "findings")
            .await
            .unwrap()
            .contains("A004")
    );
    let token = app.token("minobu.shocho").await;
    let mut c = app.client();
    let before = snapshot(&app).await;
    // Permitting one's own take-out is refused (separation of duties).
    let r = c
        .api(
            Method::POST,
            &format!("/api/v1/assets/{q}/take-outs"),
            &token,
            Some(json!({"person_id": shocho, "purpose": "会議", "destination": "本部"})),
        )
        .await;
    let msg = assert_json_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "unprocessable");
    assert!(msg.contains("職務の分離"), "{msg}");
    // 持出禁止 is honoured.
    let r = c
        .api(
            Method::POST,
            &format!("/api/v1/assets/{locked}/take-outs"),
            &token,
            Some(json!({"person_id": minobu1, "purpose": "会議", "destination": "本部"})),
        )
        .await;
    let msg = assert_json_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "unprocessable");
    assert!(msg.contains("持出禁止"), "{msg}");
    // Missing purpose and a return date before the take-out.
    let r = c
        .api(
            Method::POST,
            &format!("/api/v1/assets/{q}/take-outs"),
            &token,
            Some(
                json!({"person_id": minobu1, "purpose": "", "destination": "本部",
                        "out_on": "2026-11-10", "due_on": "2026-11-01"}),
            ),
        )
        .await;
    let msg = assert_json_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "unprocessable");
    assert!(msg.contains("目的") && msg.contains("返却予定日"), "{msg}");
    assert_eq!(snapshot(&app).await, before, "nothing written");
    // A permitted take-out is recorded; the record satisfies A004.
    let r = c
        .api(
            Method::POST,
            &format!("/api/v1/assets/{q}/take-outs"),
            &token,
            Some(json!({"person_id": minobu1, "purpose": "救急事案の検証会議", "destination": "消防本部 会議室",
                        "out_on": "令和8年11月20日", "due_on": "2026-11-21"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let tid = r.json()["id"].as_i64().unwrap();
    assert!(
        !column(&app, "S-MIN-Q-2025", "findings")
            .await
            .unwrap()
            .contains("A004")
    );
    let mut ui = app.login("minobu.shocho").await;
    let page = ui.get(&format!("/inventory/{q}")).await;
    assert!(page.body.contains("救急事案の検証会議") && page.body.contains("返却を記録"));
    let r = ui
        .post_form(&format!("/inventory/{q}/take-outs/{tid}/return"), &[])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let returned: Option<String> =
        sqlx::query_scalar("SELECT returned_at FROM asset_takeout WHERE id = $1")
            .bind(tid)
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    assert!(returned.is_some());
    // Returning twice is refused.
    let r = c
        .api(
            Method::POST,
            &format!("/api/v1/assets/{q}/take-outs/{tid}/return"),
            &token,
            None,
        )
        .await;
    assert_json_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "unprocessable");
    assert_eq!(app.audit_count("asset.take_out").await, 3);
}

#[tokio::test]
async fn april_transfers_reassign_and_move_assets_in_one_audited_step() {
    let app = TestApp::new().await;
    let from = app.person_id("zaimu.kacho").await;
    let to = app.person_id("keiri").await;
    let held: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM asset WHERE manager_id = $1 AND status = 'active'",
    )
    .bind(from)
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    assert!(held > 5);
    let mut c = app.login("tokatsu").await;
    let page = c.get("/inventory/bulk").await;
    assert!(
        page.body.contains(&format!("市川 浩（{held} 件）")),
        "{}",
        page.body
    );
    let reassigned = app.audit_count("asset.reassign").await;
    let r = c
        .post_form(
            "/inventory/bulk/reassign",
            &[("from", &from.to_string()), ("to", &to.to_string())],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let now_to: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM asset WHERE manager_id = $1 AND status = 'active'",
    )
    .bind(to)
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    assert_eq!(now_to, held);
    assert_eq!(app.audit_count("asset.reassign").await, reassigned + held);
    let r = c.get(r.location().unwrap()).await;
    assert!(
        r.body
            .contains(&format!("{held} 件の情報資産の管理者を引き継ぎました"))
    );
    // keiri holds no 管理者 role: every reassigned asset breaks A005 until one is granted.
    let r = c.get("/inventory/todo").await;
    assert!(r.body.contains("J-SYS-001"), "{}", r.body);
    assert!(
        column(&app, "J-SYS-001", "findings")
            .await
            .unwrap()
            .contains("A005")
    );
    // Moving two assets to 施設係 with a new 管理者, and an unknown number refusing the lot.
    let shisetsu = app.unit_id("jimu-gyomu-shisetsu").await.to_string();
    let gyomu = app.person_id("gyomu.kacho").await.to_string();
    let before = snapshot(&app).await;
    let r = c
        .post_form(
            "/inventory/bulk/move",
            &[
                ("assets", "J-INF-010\nNO-SUCH-9"),
                ("to_unit", &shisetsu),
                ("manager", &gyomu),
            ],
        )
        .await;
    assert_error_page(&r, StatusCode::UNPROCESSABLE_ENTITY, "NO-SUCH-9");
    assert_eq!(snapshot(&app).await, before);
    let r = c
        .post_form(
            "/inventory/bulk/move",
            &[
                ("assets", "J-INF-010, J-INF-011"),
                ("to_unit", &shisetsu),
                ("manager", &gyomu),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(
        column(&app, "J-INF-011", "unit_id").await,
        Some(shisetsu.clone())
    );
    assert_eq!(column(&app, "J-INF-011", "manager_id").await, Some(gyomu));
    assert_eq!(app.audit_count("asset.move").await, 2 + 2); // the demo's own 人事異動 moved two
    // A 管理者 cannot move an asset out of another unit.
    let mut kacho = app.login("zaimu.kacho").await;
    kacho.get("/inventory/bulk").await;
    let r = kacho
        .post_form(
            "/inventory/bulk/move",
            &[
                ("assets", "S-SYS-001"),
                ("to_unit", &shisetsu),
                ("manager", ""),
            ],
        )
        .await;
    assert_error_page(
        &r,
        StatusCode::UNPROCESSABLE_ENTITY,
        "資産番号が見つかりません",
    );
}

#[tokio::test]
async fn the_api_creates_updates_and_disposes_with_versions() {
    let app = TestApp::new().await;
    let token = app.token("ciso").await;
    let keiri = app.person_id("keiri").await;
    let mut c = app.client();
    let r = c
        .api(
            Method::POST,
            "/api/v1/assets",
            &token,
            Some(json!({"asset_no": "API-1", "name": "API登録", "kind": "medium", "unit": "jimu-zaimu",
                "manager": "zaimu.kacho", "confidentiality": "3C", "integrity": 1, "availability": 1,
                "restrictions": ["暗号化必須", "持出禁止"], "lockable": true, "location": "金庫"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let v = r.json();
    let id = v["id"].as_i64().unwrap();
    assert_eq!(
        v["restrictions"],
        json!(["no_take_out", "encryption_required"])
    );
    assert_eq!(v["medium"], "removable", "the kind's usual medium");
    let version = v["version"].as_i64().unwrap();
    // Update with the version read; a second update from the same version is a conflict.
    let mut body = json!({"asset_no": "API-1", "name": "API更新", "kind": "medium", "unit": "jimu-zaimu",
        "manager": "zaimu.kacho", "confidentiality": "3C", "integrity": 1, "availability": 1,
        "restrictions": "暗号化必須・持出禁止", "lockable": true, "version": version});
    let r = c
        .api(
            Method::PUT,
            &format!("/api/v1/assets/{id}"),
            &token,
            Some(body.clone()),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["name"], "API更新");
    body["name"] = json!("衝突");
    let r = c
        .api(
            Method::PUT,
            &format!("/api/v1/assets/{id}"),
            &token,
            Some(body),
        )
        .await;
    assert_json_error(&r, StatusCode::CONFLICT, "conflict");
    // Bad JSON shapes are named.
    let r = c
        .api(
            Method::POST,
            "/api/v1/assets",
            &token,
            Some(json!({"asset_no": ["x"], "name": "x"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    // Dispose with a certificate in base64; then the asset is read-only.
    use base64::Engine;
    let cert = base64::engine::general_purpose::STANDARD.encode(b"certificate");
    let r = c
        .api(
            Method::POST,
            &format!("/api/v1/assets/{id}/dispose"),
            &token,
            Some(json!({"person_id": keiri, "method": "物理破壊（委託）",
                "certificate": {"file_name": "cert.pdf", "content_base64": cert}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = c
        .api(
            Method::POST,
            &format!("/api/v1/assets/{id}/dispose"),
            &token,
            Some(json!({"person_id": keiri, "method": "二度目"})),
        )
        .await;
    assert_json_error(&r, StatusCode::CONFLICT, "conflict");
    let r = c
        .api(Method::GET, &format!("/api/v1/assets/{id}"), &token, None)
        .await;
    assert_eq!(r.json()["asset"]["status"], "disposed");
    assert!(r.json()["findings"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn the_next_list_rechecks_the_managers_rule_after_a_role_ends_or_returns() {
    let app = TestApp::new().await;
    let token = app.token("ciso").await;
    let mut c = app.client();
    let zaimu = app.person_id("zaimu.kacho").await;
    let yesterday = mamori_core::calendar::format_iso(
        mamori_core::calendar::today_jst() - time::Duration::days(1),
    );
    let set_role_end = |end: Option<String>| {
        let db = app.db.clone();
        async move {
            sqlx::query(
                "UPDATE role_assignment SET valid_to = $1 WHERE person_id = $2 AND role = 'security_manager'",
            )
            .bind(end)
            .bind(zaimu)
            .execute(db.pool())
            .await
            .unwrap();
        }
    };
    let a005 = async |c: &mut Client| {
        let r = c
            .api(Method::GET, "/api/v1/assets?q=J-SYS-001", &token, None)
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let listed = r.json()["items"][0]["violations"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v == "A005");
        let stored = column(&app, "J-SYS-001", "findings")
            .await
            .unwrap()
            .contains("A005");
        assert_eq!(listed, stored);
        stored
    };
    assert!(!a005(&mut c).await, "財務課長 is the 管理者 of 財務課");
    // The role ends: the next list finds every asset of theirs without a 管理者.
    set_role_end(Some(yesterday.clone())).await;
    assert!(a005(&mut c).await);
    // It returns: the finding goes.
    set_role_end(None).await;
    assert!(!a005(&mut c).await);
    // An asset evaluated while the role was away (an edit) is checked again once it is back,
    // though nothing the rules read differs from the last check.
    set_role_end(Some(yesterday)).await;
    let id = asset_id(&app, "J-SYS-001").await;
    let mut tx = app.db.begin_write().await.unwrap();
    mamori_db::assets::refresh(&mut tx, app.org_id, Some(&[id]))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert!(
        column(&app, "J-SYS-001", "findings")
            .await
            .unwrap()
            .contains("A005")
    );
    set_role_end(None).await;
    assert!(!a005(&mut c).await);
}

/// After a bulk import the register's statistics are fresh (PostgreSQL plans the list from
/// them), and every sort order pages through the whole register exactly once: the first page
/// of each is what the database itself orders first, and no asset is skipped or repeated.
#[tokio::test]
async fn a_bulk_import_refreshes_statistics_and_every_sort_pages_exactly() {
    let app = TestApp::new().await;
    let dir = tempfile::tempdir().unwrap();
    let rows: Vec<Vec<String>> = (0..1_200)
        .map(|i| {
            let mut r = crate::assets_io::new_row();
            r[0] = format!("J-BULK-{i:04}");
            r[1] = format!("一括登録 {}", 1_200 - i);
            r
        })
        .collect();
    let file = dir.path().join("一括.csv");
    std::fs::write(
        &file,
        crate::assets_io::csv(&crate::assets_io::headers(), &rows),
    )
    .unwrap();
    let (code, said, err) = crate::assets_io::cli_import(&app, &file, false).await;
    assert_eq!(code, std::process::ExitCode::SUCCESS, "{said}{err}");
    assert!(said.contains("反映しました: 新規1200件"), "{said}");
    assert!(err.is_empty(), "{err}");

    let active: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM asset WHERE org_id = $1 AND status = 'active'")
            .bind(app.org_id)
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    assert!(active > 1_200);
    if app.db.backend() == mamori_db::Backend::Postgres {
        // reltuples is -1 until the table is analysed, and the background analysis would not
        // have come round yet.
        let estimate: f32 =
            sqlx::query_scalar("SELECT reltuples FROM pg_class WHERE relname = 'asset'")
                .fetch_one(app.db.pool())
                .await
                .unwrap();
        assert!(
            f64::from(estimate) >= 1_200.0,
            "statistics refreshed after the import: {estimate}"
        );
    }

    let token = app.token("tokatsu").await;
    let mut c = app.login("tokatsu").await;
    for sort in [
        "number",
        "name",
        "confidentiality",
        "reviewed",
        "unit",
        "updated",
    ] {
        let mut seen = std::collections::HashSet::new();
        let mut page = 1;
        loop {
            let r = c
                .api(
                    Method::GET,
                    &format!("/api/v1/assets?sort={sort}&per_page=500&page={page}"),
                    &token,
                    None,
                )
                .await;
            assert_eq!(r.status, StatusCode::OK, "{sort}: {}", r.body);
            let v = r.json();
            assert_eq!(v["total"], active, "{sort}");
            let items = v["items"].as_array().unwrap();
            if page == 1 && sort == "number" {
                let first: Vec<String> = sqlx::query_scalar(
                    "SELECT asset_no FROM asset WHERE org_id = $1 AND status = 'active' \
                     ORDER BY asset_no, id LIMIT 500",
                )
                .bind(app.org_id)
                .fetch_all(app.db.pool())
                .await
                .unwrap();
                let got: Vec<&str> = items
                    .iter()
                    .map(|i| i["asset_no"].as_str().unwrap())
                    .collect();
                assert_eq!(got, first);
            }
            for i in items {
                assert!(
                    seen.insert(i["asset_no"].as_str().unwrap().to_owned()),
                    "{sort}: {} twice",
                    i["asset_no"]
                );
            }
            if items.len() < 500 {
                break;
            }
            page += 1;
        }
        assert_eq!(i64::try_from(seen.len()).unwrap(), active, "{sort}");
    }
}
