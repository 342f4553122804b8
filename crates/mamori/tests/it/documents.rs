//! Policy documents (§5, §8–§10): the version cycle draft → submitted → approved → published,
//! acknowledgement by staff and its rates, 実施手順 hidden from everyone not on their list,
//! the public 基本方針, the diff of Japanese text, review records, permissions and bad input.

use axum::http::{Method, StatusCode};

use crate::common::{Client, Resp, TestApp};
use crate::support::request_id;

/// The id of the demo document titled `title`.
async fn doc_id(app: &TestApp, title: &str) -> i64 {
    sqlx::query_scalar("SELECT id FROM document WHERE org_id = $1 AND title = $2")
        .bind(app.org_id)
        .bind(title)
        .fetch_one(app.db.pool())
        .await
        .unwrap()
}

async fn status_of(app: &TestApp, doc: i64, n: i64) -> String {
    sqlx::query_scalar(
        "SELECT status FROM document_version WHERE document_id = $1 AND version_no = $2",
    )
    .bind(doc)
    .bind(n)
    .fetch_one(app.db.pool())
    .await
    .unwrap()
}

async fn count_where(app: &TestApp, sql: &'static str, id: i64) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_one(app.db.pool())
        .await
        .unwrap()
}

/// Opens the page first (for its CSRF token), then posts.
async fn post(c: &mut Client, page: &str, path: &str, fields: &[(&str, &str)]) -> Resp {
    let r = c.get(page).await;
    assert_eq!(r.status, StatusCode::OK, "{page}: {}", r.body);
    c.post_form(path, fields).await
}

const STANDARD_V2: &str = "情報セキュリティ対策基準（例）\n\n2-5 人的セキュリティ\n職員等は年2回以上、情報セキュリティ研修を受講する。\n";

/// 統括 drafts version 2 of the demo 対策基準 and submits it; the CISO approves it with the
/// committee's decision; 統括 publishes it. Returns the document id.
async fn publish_standard_v2(app: &TestApp, tokatsu: &mut Client, ciso: &mut Client) -> i64 {
    let std = doc_id(app, "情報セキュリティ対策基準").await;
    let doc_page = format!("/documents/{std}");
    let v2 = format!("/documents/{std}/versions/2");
    let r = post(
        tokatsu,
        &doc_page,
        &format!("{doc_page}/versions"),
        &[
            ("title", "情報セキュリティ対策基準"),
            ("body", STANDARD_V2),
            ("note", "研修回数の見直し"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location(), Some(v2.as_str()));
    let r = post(tokatsu, &v2, &format!("{v2}/submit"), &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = ciso.get(&v2).await;
    assert!(page.body.contains("承認待ち"), "{}", page.body);
    let r = post(
        ciso,
        &v2,
        &format!("{v2}/approve"),
        &[
            ("committee_date", "2026-10-20"),
            ("committee_ref", "令和8年度第2回委員会"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(status_of(app, std, 2).await, "approved");
    let r = post(tokatsu, &v2, &format!("{v2}/publish"), &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(status_of(app, std, 2).await, "published");
    assert_eq!(status_of(app, std, 1).await, "superseded");
    let page = ciso.get(&v2).await;
    assert!(page.body.contains("令和8年度第2回委員会"), "{}", page.body);
    std
}

#[tokio::test]
async fn publish_then_staff_acknowledge_and_the_rate_follows() {
    let app = TestApp::new().await;
    let mut tokatsu = app.login("tokatsu").await;
    let mut ciso = app.login("ciso").await;
    let std = publish_standard_v2(&app, &mut tokatsu, &mut ciso).await;
    let v2 = format!("/documents/{std}/versions/2");
    let version: i64 = sqlx::query_scalar(
        "SELECT id FROM document_version WHERE document_id = $1 AND version_no = 2",
    )
    .bind(std)
    .fetch_one(app.db.pool())
    .await
    .unwrap();

    // Everyone active has the task; nobody has acknowledged the new version yet.
    let somu = app.person_id("somu").await;
    let today = mamori_core::calendar::today_jst();
    let tasks = mamori_db::documents::tasks_for(&app.db, app.org_id, somu, today)
        .await
        .unwrap();
    assert!(
        tasks
            .iter()
            .any(|t| t.kind == mamori_core::task::TaskKind::Acknowledge
                && t.href == v2
                && t.due.is_some()),
        "{tasks:?}"
    );
    let token = app.token("ciso").await;
    let mut api = app.client();
    let rates = api
        .api(
            Method::GET,
            &format!("/api/v1/documents/{std}/versions/2/acknowledgements"),
            &token,
            None,
        )
        .await;
    assert_eq!(rates.status, StatusCode::OK, "{}", rates.body);
    let before = rates.json();
    assert_eq!(before["acknowledged"], 0);
    let active = before["active"].as_i64().unwrap();
    assert!(active > 30, "{before}");

    // A staff member ticks the pledge on the page …
    let mut c = app.login("somu").await;
    let page = c.get(&v2).await;
    assert!(
        page.body.contains("遵守することを誓約します"),
        "{}",
        page.body
    );
    let r = c
        .post_form(&format!("{v2}/acknowledge"), &[("pledge", "1")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = c.get(&v2).await;
    assert!(
        page.by_id("ack-done").unwrap().contains("誓約済み"),
        "{}",
        page.body
    );
    let tasks = mamori_db::documents::tasks_for(&app.db, app.org_id, somu, today)
        .await
        .unwrap();
    assert!(!tasks.iter().any(|t| t.href == v2), "{tasks:?}");
    // … and another through the API, twice: one record.
    let staff_token = app.token("somu2").await;
    let path = format!("/api/v1/documents/{std}/versions/2/acknowledge");
    let first = api.api(Method::POST, &path, &staff_token, None).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert_eq!(first.json()["created"], true);
    let audits = app.audit_count("document.acknowledge").await;
    let second = api.api(Method::POST, &path, &staff_token, None).await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.body);
    assert_eq!(second.json()["created"], false);
    assert_eq!(
        second.json()["acknowledged_at"],
        first.json()["acknowledged_at"]
    );
    assert_eq!(app.audit_count("document.acknowledge").await, audits);
    // The double submission on the page is one record too.
    let r = c
        .post_form(&format!("{v2}/acknowledge"), &[("pledge", "1")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(
        count_where(
            &app,
            "SELECT COUNT(*) FROM acknowledgement WHERE version_id = $1",
            version
        )
        .await,
        2
    );

    // The rate moved, per unit through the tree (API and page).
    let after = api
        .api(
            Method::GET,
            &format!("/api/v1/documents/{std}/versions/2/acknowledgements"),
            &token,
            None,
        )
        .await
        .json();
    assert_eq!(after["acknowledged"], 2);
    assert_eq!(after["active"], active);
    let somu_unit = app.unit_id("jimu-somu-somu").await;
    let unit = after["units"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["unit_id"] == somu_unit)
        .unwrap();
    assert_eq!(unit["acknowledged"], 2, "{unit}");
    let jimu = app.unit_id("jimu").await;
    let body_row = after["units"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["unit_id"] == jimu)
        .unwrap();
    assert_eq!(
        body_row["acknowledged"], 2,
        "rolled up to the body: {body_row}"
    );
    let dashboard = mamori_db::documents::ack_rates(&app.db, app.org_id)
        .await
        .unwrap();
    let mine = dashboard.iter().find(|a| a.version_id == version).unwrap();
    assert_eq!((mine.acknowledged, mine.active), (2, active));
    assert!(
        !mine
            .pending
            .iter()
            .any(|p| p.login == "somu" || p.login == "somu2")
    );

    let acks = ciso.get(&format!("{v2}/acknowledgements")).await;
    assert_eq!(acks.status, StatusCode::OK, "{}", acks.body);
    assert!(
        acks.by_id("ack-total")
            .unwrap()
            .contains(&format!("2 / {active} 名")),
        "{}",
        acks.body
    );
    assert!(
        !acks.body.contains("笠井 直樹"),
        "acknowledged people are not listed as pending"
    );
    // A reminder to everyone pending: one recorded event per person, audited.
    let reminders = app.audit_count("document.acknowledge.remind").await;
    let r = ciso.post_form(&format!("{v2}/remind"), &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let sent = count_where(
        &app,
        "SELECT COUNT(*) FROM ack_reminder WHERE version_id = $1",
        version,
    )
    .await;
    assert_eq!(sent, active - 2);
    assert_eq!(
        app.audit_count("document.acknowledge.remind").await,
        reminders + active - 2
    );
    let pending =
        mamori_db::documents::reminders_since(&app.db, app.org_id, "2000-01-01T00:00:00.000000Z")
            .await
            .unwrap();
    assert_eq!(pending.len() as i64, active - 2);
    let acks = ciso.get(&format!("{v2}/acknowledgements")).await;
    assert!(
        acks.body.contains("<td>1</td>"),
        "reminder count shown: {}",
        acks.body
    );

    // A 管理者 sees only their own unit's rows; staff may not see the report at all.
    let mut manager = app.login("zaimu.kacho").await;
    let scoped = manager.get(&format!("{v2}/acknowledgements")).await;
    assert_eq!(scoped.status, StatusCode::OK, "{}", scoped.body);
    assert!(!scoped.body.contains("消防本部"), "{}", scoped.body);
    assert!(
        !scoped.body.contains("笠井"),
        "other units' staff are not listed"
    );
    assert_eq!(
        c.get(&format!("{v2}/acknowledgements")).await.status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn a_procedure_is_invisible_to_the_unlisted_and_its_reads_are_audited() {
    let app = TestApp::new().await;
    let id = doc_id(&app, "ネットワーク管理実施手順").await;
    let missing = 987_654_321;
    // 笠井 (総務係) is not on the list (情報政策係, 情報システム管理者).
    let mut outsider = app.login("somu").await;
    let norm = |r: &Resp| r.body.replace(&request_id(r), "<id>");
    for (hidden, absent) in [
        (format!("/documents/{id}"), format!("/documents/{missing}")),
        (
            format!("/documents/{id}/versions/1"),
            format!("/documents/{missing}/versions/1"),
        ),
        (
            format!("/documents/{id}/versions/1/download"),
            format!("/documents/{missing}/versions/1/download"),
        ),
        (
            format!("/documents/{id}/diff"),
            format!("/documents/{missing}/diff"),
        ),
    ] {
        let a = outsider.get(&hidden).await;
        let b = outsider.get(&absent).await;
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{hidden}");
        assert_eq!(
            norm(&a),
            norm(&b),
            "{hidden} answered like an id nobody has"
        );
        assert!(!a.body.contains("ネットワーク管理"));
    }
    let list = outsider.get("/documents").await;
    assert!(list.body.contains("情報セキュリティ対策基準"));
    assert!(
        !list.body.contains("ネットワーク管理実施手順"),
        "{}",
        list.body
    );
    let search = outsider
        .get("/documents?q=%E3%83%8D%E3%83%83%E3%83%88")
        .await; // ネット
    assert!(!search.body.contains("ネットワーク管理実施手順"));
    let token = app.token("somu").await;
    let api = outsider
        .api(Method::GET, "/api/v1/documents", &token, None)
        .await;
    assert!(!api.body.contains("ネットワーク管理"), "{}", api.body);
    let a = outsider
        .api(
            Method::GET,
            &format!("/api/v1/documents/{id}/versions/1"),
            &token,
            None,
        )
        .await;
    let b = outsider
        .api(
            Method::GET,
            &format!("/api/v1/documents/{missing}/versions/1"),
            &token,
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert_eq!(norm(&a), norm(&b));
    // The refused attempts are on record for the security team, never a read.
    assert_eq!(app.audit_count("document.read").await, 0);
    assert!(app.audit_count("document.read.refused").await >= 5);

    // 渡辺 (情報政策係) is listed: page, download and API reads are each audited.
    let mut reader = app.login("joho").await;
    let list = reader.get("/documents").await;
    assert!(list.body.contains("ネットワーク管理実施手順"));
    let page = reader.get(&format!("/documents/{id}/versions/1")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("設定変更"), "{}", page.body);
    assert_eq!(app.audit_count("document.read").await, 1);
    let file = reader
        .get(&format!("/documents/{id}/versions/1/download"))
        .await;
    assert_eq!(file.status, StatusCode::OK);
    assert!(file.body.contains("ログの確認"));
    let token = app.token("joho").await;
    let api = reader
        .api(
            Method::GET,
            &format!("/api/v1/documents/{id}/versions/1"),
            &token,
            None,
        )
        .await;
    assert_eq!(api.status, StatusCode::OK, "{}", api.body);
    assert!(api.json()["text"].as_str().unwrap().contains("設定変更"));
    assert_eq!(app.audit_count("document.read").await, 3);
    let who: Vec<String> =
        sqlx::query_scalar("SELECT actor FROM audit_entry WHERE action = 'document.read'")
            .fetch_all(app.db.pool())
            .await
            .unwrap();
    assert!(who.iter().all(|w| w == "joho"), "{who:?}");
    // A 情報システム管理者 elsewhere is listed by role; the maintainers always read it.
    let mut tokatsu = app.login("tokatsu").await;
    assert_eq!(
        tokatsu.get(&format!("/documents/{id}")).await.status,
        StatusCode::OK
    );
    for login in ["sysadmin", "ciso"] {
        let mut c = app.login(login).await;
        assert_eq!(
            c.get(&format!("/documents/{id}")).await.status,
            StatusCode::OK,
            "{login}"
        );
    }

    // The list changes with the reader list: 統括 adds 総務係, 笠井 now sees it.
    let r = post(
        &mut tokatsu,
        &format!("/documents/{id}"),
        &format!("/documents/{id}/readers"),
        &[("readers", "jimu-somu-joho\nsystem_manager\njimu-somu-somu")],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(
        outsider.get(&format!("/documents/{id}")).await.status,
        StatusCode::OK
    );
    // A reader list naming nothing known is refused, the list unchanged.
    let before = count_where(
        &app,
        "SELECT COUNT(*) FROM document_reader WHERE document_id = $1",
        id,
    )
    .await;
    let r = post(
        &mut tokatsu,
        &format!("/documents/{id}"),
        &format!("/documents/{id}/readers"),
        &[("readers", "no-such-unit")],
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.body.contains("組織コードにも役割にも当たりません"),
        "{}",
        r.body
    );
    assert_eq!(
        count_where(
            &app,
            "SELECT COUNT(*) FROM document_reader WHERE document_id = $1",
            id
        )
        .await,
        before
    );
}

#[tokio::test]
async fn the_public_page_shows_only_the_published_basic_policy() {
    let app = TestApp::new().await;
    let mut anon = app.client();
    let r = anon.get("/public/policy").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("情報セキュリティ基本方針"), "{}", r.body);
    assert!(r.body.contains("職員等の遵守義務"));
    assert!(r.by_id("public-version").unwrap().contains("第1版"));
    // A draft of the 基本方針 is not shown there, nor are standards and procedures.
    let mut ciso = app.login("ciso").await;
    ciso.get("/policy").await;
    let r = ciso
        .post_form(
            "/policy/import",
            &[("text", "1. 目的\n下書きの秘密条項。\n2. 定義\n用語。\n")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = anon.get("/public/policy").await;
    assert!(!r.body.contains("下書きの秘密条項"), "{}", r.body);
    assert!(r.by_id("public-version").unwrap().contains("第1版"));
    assert!(!r.body.contains("研修を受講する"), "no 対策基準");
    assert!(!r.body.contains("設定変更"), "no 実施手順");
    // Nothing else answers without login.
    let std = doc_id(&app, "情報セキュリティ対策基準").await;
    for path in [
        "/documents".to_owned(),
        format!("/documents/{std}"),
        format!("/documents/{std}/versions/1"),
        "/reviews".to_owned(),
    ] {
        let r = anon.get(&path).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(r.location(), Some("/login"), "{path}");
    }
    let r = anon.get("/api/v1/documents").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        anon.get("/public/policy?org=nosuch").await.status,
        StatusCode::NOT_FOUND
    );
    // The draft is not the policy for staff either until it is published.
    let mut staff = app.login("somu").await;
    assert!(!staff.get("/policy").await.body.contains("下書きの秘密条項"));
    assert_eq!(
        staff.get("/policy/versions/2").await.status,
        StatusCode::NOT_FOUND
    );
    assert!(
        !staff
            .get("/policy/versions")
            .await
            .body
            .contains("/policy/versions/2")
    );
}

#[tokio::test]
async fn nobody_approves_a_version_they_drafted_or_submitted() {
    let app = TestApp::new().await;
    let std = doc_id(&app, "情報セキュリティ対策基準").await;
    let v2 = format!("/documents/{std}/versions/2");
    // The CISO holds the right to edit too: a version they drafted they cannot approve.
    let mut ciso = app.login("ciso").await;
    let r = post(
        &mut ciso,
        &format!("/documents/{std}"),
        &format!("/documents/{std}/versions"),
        &[("title", "情報セキュリティ対策基準"), ("body", STANDARD_V2)],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = post(&mut ciso, &v2, &format!("{v2}/submit"), &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = ciso.get(&v2).await;
    assert!(page.body.contains("職務の分離"), "{}", page.body);
    let approvals = app.audit_count("document.version.approve").await;
    let r = ciso.post_form(&format!("{v2}/approve"), &[]).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert!(r.body.contains("申請者本人は承認できません"), "{}", r.body);
    assert_eq!(status_of(&app, std, 2).await, "submitted");
    assert_eq!(app.audit_count("document.version.approve").await, approvals);
    assert_eq!(app.audit_count("document.version.approve.refused").await, 1);
    // Nobody else is CISO, so the CISO's task list does not offer it either.
    let tasks = mamori_db::documents::tasks_for(
        &app.db,
        app.org_id,
        app.person_id("ciso").await,
        mamori_core::calendar::today_jst(),
    )
    .await
    .unwrap();
    assert!(!tasks.iter().any(|t| t.href == v2), "{tasks:?}");
    // 統括 may not approve at all (only the CISO decides).
    let mut tokatsu = app.login("tokatsu").await;
    let r = post(&mut tokatsu, &v2, &format!("{v2}/approve"), &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert_eq!(status_of(&app, std, 2).await, "submitted");
}

#[tokio::test]
async fn bad_inputs_are_refused_clearly_and_write_nothing() {
    let app = TestApp::new().await;
    let std = doc_id(&app, "情報セキュリティ対策基準").await;
    let mut tokatsu = app.login("tokatsu").await;
    // An empty title.
    let docs = app.count("document").await;
    let versions = app.count("document_version").await;
    let r = post(
        &mut tokatsu,
        "/documents",
        "/documents",
        &[("kind", "standard"), ("title", "　"), ("body", "本文")],
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("表題を入力してください"), "{}", r.body);
    assert_eq!(app.count("document").await, docs);
    let r = tokatsu
        .post_form(
            &format!("/documents/{std}/versions"),
            &[("title", ""), ("body", "本文")],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("表題を入力してください"), "{}", r.body);
    assert_eq!(app.count("document_version").await, versions);
    // An unknown kind, and the 基本方針 created a second time.
    let r = tokatsu
        .post_form("/documents", &[("kind", "memo"), ("title", "メモ")])
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("文書の種類"), "{}", r.body);
    let r = tokatsu
        .post_form(
            "/documents",
            &[("kind", "basic_policy"), ("title", "二つ目")],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(app.count("document").await, docs);

    // Approving a draft that was never submitted.
    let r = tokatsu
        .post_form(
            &format!("/documents/{std}/versions"),
            &[("title", "情報セキュリティ対策基準"), ("body", STANDARD_V2)],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let v2 = format!("/documents/{std}/versions/2");
    let mut ciso = app.login("ciso").await;
    let audits = app.count("audit_entry").await;
    let r = post(&mut ciso, &v2, &format!("{v2}/approve"), &[]).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert!(
        r.body
            .contains("下書きの版は承認できません（先に承認申請をしてください）"),
        "{}",
        r.body
    );
    assert_eq!(status_of(&app, std, 2).await, "draft");
    assert_eq!(app.count("audit_entry").await, audits);
    // Publishing before approval, and publishing twice.
    let r = post(&mut tokatsu, &v2, &format!("{v2}/publish"), &[]).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.body.contains("CISOの承認が必要です"), "{}", r.body);
    let v1 = format!("/documents/{std}/versions/1");
    let audits = app.count("audit_entry").await;
    let r = post(&mut tokatsu, &v1, &format!("{v1}/publish"), &[]).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.body.contains("既に公開されています"), "{}", r.body);
    assert_eq!(app.count("audit_entry").await, audits);
    assert_eq!(status_of(&app, std, 1).await, "published");
    // A committee date that is not a date.
    post(&mut tokatsu, &v2, &format!("{v2}/submit"), &[]).await;
    let r = post(
        &mut ciso,
        &v2,
        &format!("{v2}/approve"),
        &[("committee_date", "来週")],
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("委員会の決定日"), "{}", r.body);
    assert_eq!(status_of(&app, std, 2).await, "submitted");
    // Editing what is no longer a draft.
    let r = post(
        &mut tokatsu,
        &v2,
        &format!("{v2}/edit"),
        &[("title", "改"), ("body", "改")],
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(
        r.body.contains("編集できるのは下書きだけです"),
        "{}",
        r.body
    );
    // Acknowledging without the pledge ticked, or a version not in force.
    let mut staff = app.login("somu").await;
    let acks = app.count("acknowledgement").await;
    let r = post(&mut staff, &v1, &format!("{v1}/acknowledge"), &[]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("誓約します」にチェック"), "{}", r.body);
    assert_eq!(app.count("acknowledgement").await, acks);
    let proc_id = doc_id(&app, "ネットワーク管理実施手順").await;
    let token = app.token("ciso").await;
    let r = staff
        .api(
            Method::POST,
            &format!("/api/v1/documents/{proc_id}/versions/1/acknowledge"),
            &token,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert_eq!(app.count("acknowledgement").await, acks);
    // An unknown step.
    let r = post(&mut tokatsu, &v2, &format!("{v2}/delete"), &[]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_diff_of_japanese_text_marks_the_changed_characters() {
    let app = TestApp::new().await;
    let mut tokatsu = app.login("tokatsu").await;
    let mut ciso = app.login("ciso").await;
    let std = publish_standard_v2(&app, &mut tokatsu, &mut ciso).await;
    let mut staff = app.login("somu").await;
    let doc = staff.get(&format!("/documents/{std}")).await;
    assert!(
        doc.body
            .contains(&format!("/documents/{std}/diff?from=1&amp;to=2")),
        "{}",
        doc.body
    );
    let r = staff
        .get(&format!("/documents/{std}/diff?from=1&to=2"))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // 「年1回以上」→「年2回以上」: exactly the digit is marked on each side.
    assert!(r.body.contains("年<del>1</del>回以上"), "{}", r.body);
    assert!(r.body.contains("年<ins>2</ins>回以上"), "{}", r.body);
    // Lines only in version 1 are shown removed, whole.
    assert!(r.body.contains("<del>2-1 組織体制</del>"), "{}", r.body);
    assert!(
        r.by_id("diff-summary").unwrap().contains("変更"),
        "{}",
        r.body
    );
    // A version that does not exist is not found; staff never see a draft in a diff.
    assert_eq!(
        staff
            .get(&format!("/documents/{std}/diff?from=1&to=9"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    post(
        &mut tokatsu,
        &format!("/documents/{std}"),
        &format!("/documents/{std}/versions"),
        &[("title", "対策基準"), ("body", "草案の文。")],
    )
    .await;
    assert_eq!(
        staff
            .get(&format!("/documents/{std}/diff?from=2&to=3"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        tokatsu
            .get(&format!("/documents/{std}/diff?from=2&to=3"))
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_review_goes_from_its_inputs_to_the_cisos_approval() {
    let app = TestApp::new().await;
    let mut tokatsu = app.login("tokatsu").await;
    let mut ciso = app.login("ciso").await;
    let std = publish_standard_v2(&app, &mut tokatsu, &mut ciso).await;
    let r = post(
        &mut tokatsu,
        "/reviews",
        "/reviews",
        &[
            ("title", "インシデントを受けた見直し"),
            ("source", "incident"),
            ("summary", "標的型メールの被害。"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let path = r.location().unwrap().to_owned();
    let id: i64 = path.trim_start_matches("/reviews/").parse().unwrap();
    for fields in [
        vec![
            ("action", "input"),
            ("kind", "incident"),
            ("reference", "INC-2026-007"),
            ("note", "添付ファイルを開いた"),
        ],
        vec![
            ("action", "threat"),
            ("threat", "deliberate"),
            ("likelihood", "3"),
            ("impact", "3"),
            ("note", "攻撃が増えている"),
        ],
        vec![
            ("action", "update"),
            ("title", "インシデントを受けた見直し"),
            ("source", "incident"),
            ("summary", "標的型メールの被害。"),
            ("decisions", "研修を年2回にする。"),
        ],
        vec![
            ("action", "output"),
            ("document_id", &std.to_string()),
            ("version_no", "2"),
        ],
    ] {
        let r = post(&mut tokatsu, &path, &path, &fields).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{fields:?}: {}", r.body);
    }
    // A threat outside the policy's classes, and a level outside 1–3, are refused.
    let threats = count_where(
        &app,
        "SELECT COUNT(*) FROM review_threat WHERE review_id = $1",
        id,
    )
    .await;
    let r = post(
        &mut tokatsu,
        &path,
        &path,
        &[
            ("action", "threat"),
            ("threat", "aliens"),
            ("likelihood", "1"),
            ("impact", "1"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("脅威の分類"), "{}", r.body);
    let r = post(
        &mut tokatsu,
        &path,
        &path,
        &[
            ("action", "threat"),
            ("threat", "disaster"),
            ("likelihood", "4"),
            ("impact", "1"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("起こりやすさ"), "{}", r.body);
    assert_eq!(
        count_where(
            &app,
            "SELECT COUNT(*) FROM review_threat WHERE review_id = $1",
            id
        )
        .await,
        threats
    );
    let r = post(&mut tokatsu, &path, &path, &[("action", "submit")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    // Submitted: no more changes; the author cannot approve (and is not CISO anyway).
    let r = post(
        &mut tokatsu,
        &path,
        &path,
        &[
            ("action", "input"),
            ("kind", "manual"),
            ("reference", "後から"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = post(&mut tokatsu, &path, &path, &[("action", "approve")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // The CISO has it as a task and approves.
    let ciso_id = app.person_id("ciso").await;
    let tasks = mamori_db::documents::tasks_for(
        &app.db,
        app.org_id,
        ciso_id,
        mamori_core::calendar::today_jst(),
    )
    .await
    .unwrap();
    assert!(
        tasks
            .iter()
            .any(|t| t.href == path && t.kind == mamori_core::task::TaskKind::Approve),
        "{tasks:?}"
    );
    let r = post(
        &mut ciso,
        &path,
        &path,
        &[("action", "approve"), ("note", "了承")],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = ciso.get(&path).await;
    assert_eq!(page.by_id("review-status").unwrap(), "承認済み");
    assert!(page.body.contains("INC-2026-007"));
    assert!(page.body.contains("意図的な要因"));
    assert!(page.body.contains("9（高）"), "{}", page.body);
    assert!(page.body.contains(&format!("/documents/{std}/versions/2")));
    let token = app.token("ciso").await;
    let api = ciso
        .api(Method::GET, &format!("/api/v1/reviews/{id}"), &token, None)
        .await;
    assert_eq!(api.status, StatusCode::OK, "{}", api.body);
    let json = api.json();
    assert_eq!(json["review"]["status"], "approved");
    assert_eq!(json["outputs"][0]["version_no"], 2);
    assert_eq!(json["threats"][0]["likelihood"], 3);
    // Approving twice is refused.
    let r = post(&mut ciso, &path, &path, &[("action", "approve")]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("既に承認されています"), "{}", r.body);
    // A review the CISO opened, the CISO cannot approve.
    let r = post(
        &mut ciso,
        "/reviews",
        "/reviews",
        &[("title", "CISO自身の見直し"), ("source", "manual")],
    )
    .await;
    let own = r.location().unwrap().to_owned();
    post(
        &mut ciso,
        &own,
        &own,
        &[
            ("action", "update"),
            ("title", "CISO自身の見直し"),
            ("source", "manual"),
            ("decisions", "決定。"),
        ],
    )
    .await;
    post(&mut ciso, &own, &own, &[("action", "submit")]).await;
    let r = post(&mut ciso, &own, &own, &[("action", "approve")]).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert!(r.body.contains("申請者本人は承認できません"));
}

#[tokio::test]
async fn permissions_follow_the_roles() {
    let app = TestApp::new().await;
    let std = doc_id(&app, "情報セキュリティ対策基準").await;
    let v1 = format!("/documents/{std}/versions/1");
    let mut staff = app.login("somu").await;
    // Everyone reads the 基本方針 and 対策基準 in force; only CISO and 統括 write.
    assert_eq!(staff.get(&v1).await.status, StatusCode::OK);
    let docs = app.count("document").await;
    let r = post(
        &mut staff,
        "/documents",
        "/documents",
        &[("kind", "standard"), ("title", "職員の文書")],
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(app.count("document").await, docs);
    for step in ["submit", "approve", "publish", "remind", "edit"] {
        let r = post(&mut staff, &v1, &format!("{v1}/{step}"), &[]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{step}");
    }
    assert_eq!(staff.get("/reviews").await.status, StatusCode::FORBIDDEN);
    let token = app.token("somu").await;
    assert_eq!(
        staff
            .api(Method::GET, "/api/v1/reviews", &token, None)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert!(app.audit_count("permission.denied").await >= 8);
    // The auditor and the vice-CISO read reviews but write nothing.
    for login in ["vciso"] {
        let mut c = app.login(login).await;
        assert_eq!(c.get("/reviews").await.status, StatusCode::OK, "{login}");
        let r = post(
            &mut c,
            "/reviews",
            "/reviews",
            &[("title", "x"), ("source", "manual")],
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{login}");
    }
    // A 管理者 sees its unit's acknowledgement report; staff do not.
    let mut manager = app.login("zaimu.kacho").await;
    assert_eq!(
        manager.get(&format!("{v1}/acknowledgements")).await.status,
        StatusCode::OK
    );
    let json = manager
        .api(
            Method::GET,
            &format!("/api/v1/documents/{std}/versions/1/acknowledgements"),
            &app.token("zaimu.kacho").await,
            None,
        )
        .await;
    assert_eq!(json.status, StatusCode::OK, "{}", json.body);
    let units = json.json()["units"].as_array().unwrap().len();
    assert!(
        (1..5).contains(&units),
        "only the manager's own unit: {units}"
    );
}

/// The documents' API routes with a concrete path each, for the OpenAPI test (called as the
/// CISO: every one succeeds).
pub async fn api_routes(
    app: &TestApp,
) -> Vec<(crate::support::Route, String, Option<serde_json::Value>)> {
    use crate::support::route;
    let std = doc_id(app, "情報セキュリティ対策基準").await;
    let review: i64 = sqlx::query_scalar("SELECT MIN(id) FROM review WHERE org_id = $1")
        .bind(app.org_id)
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    vec![
        (
            route("get", "/api/v1/documents"),
            "/api/v1/documents?q=%E5%9F%BA%E6%BA%96".into(),
            None,
        ),
        (
            route("get", "/api/v1/documents/{id}"),
            format!("/api/v1/documents/{std}"),
            None,
        ),
        (
            route("get", "/api/v1/documents/{id}/versions/{n}"),
            format!("/api/v1/documents/{std}/versions/1"),
            None,
        ),
        (
            route("post", "/api/v1/documents/{id}/versions/{n}/acknowledge"),
            format!("/api/v1/documents/{std}/versions/1/acknowledge"),
            None,
        ),
        (
            route(
                "get",
                "/api/v1/documents/{id}/versions/{n}/acknowledgements",
            ),
            format!("/api/v1/documents/{std}/versions/1/acknowledgements"),
            None,
        ),
        (
            route("get", "/api/v1/reviews"),
            "/api/v1/reviews".into(),
            None,
        ),
        (
            route("get", "/api/v1/reviews/{id}"),
            format!("/api/v1/reviews/{review}"),
            None,
        ),
    ]
}

#[tokio::test]
async fn a_new_basic_policy_goes_public_only_once_approved_and_published() {
    let app = TestApp::new().await;
    let basic: i64 =
        sqlx::query_scalar("SELECT id FROM document WHERE org_id = $1 AND kind = 'basic_policy'")
            .bind(app.org_id)
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    let mut tokatsu = app.login("tokatsu").await;
    tokatsu.get("/policy").await;
    let r = tokatsu
        .post_form(
            "/policy/import",
            &[
                ("text", "1. 目的\n旧い草案。\n2. 定義\n用語。\n"),
                ("note", "改定"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let v2 = format!("/documents/{basic}/versions/2");
    // The draft is replaced by a corrected text, then submitted, approved and published.
    let r = post(
        &mut tokatsu,
        &v2,
        &format!("{v2}/edit"),
        &[
            (
                "body",
                "1. 目的\n全ての職員等は情報資産を守る。\n2. 定義\n用語。\n",
            ),
            ("note", "修正"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = tokatsu.get(&v2).await;
    assert!(
        page.body.contains("全ての職員等は情報資産を守る。"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("旧い草案"));
    post(&mut tokatsu, &v2, &format!("{v2}/submit"), &[]).await;
    let mut ciso = app.login("ciso").await;
    let r = post(
        &mut ciso,
        &v2,
        &format!("{v2}/approve"),
        &[("committee_ref", "臨時委員会")],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let mut anon = app.client();
    assert!(
        !anon
            .get("/public/policy")
            .await
            .body
            .contains("全ての職員等は情報資産を守る。")
    );
    let r = post(&mut tokatsu, &v2, &format!("{v2}/publish"), &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let public = anon.get("/public/policy").await;
    assert!(
        public.body.contains("全ての職員等は情報資産を守る。"),
        "{}",
        public.body
    );
    assert!(public.by_id("public-version").unwrap().contains("第2版"));
    let mut staff = app.login("somu").await;
    assert!(
        staff
            .get("/policy")
            .await
            .body
            .contains("全ての職員等は情報資産を守る。")
    );
    // Every active member of staff now has to acknowledge it, including part-time staff.
    for login in ["somu", "somu2"] {
        let id = app.person_id(login).await;
        let tasks = mamori_db::documents::tasks_for(
            &app.db,
            app.org_id,
            id,
            mamori_core::calendar::today_jst(),
        )
        .await
        .unwrap();
        assert!(tasks.iter().any(|t| t.href == v2), "{login}: {tasks:?}");
    }
    let r = post(
        &mut staff,
        &v2,
        &format!("{v2}/acknowledge"),
        &[("pledge", "1")],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    // The superseded version can no longer be acknowledged.
    let v1 = format!("/documents/{basic}/versions/1");
    let r = post(
        &mut staff,
        &v1,
        &format!("{v1}/acknowledge"),
        &[("pledge", "1")],
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("公開中の版ではない"), "{}", r.body);
    // The diff between the shipped structure and the new text shows the new words.
    let diff = staff
        .get(&format!("/documents/{basic}/diff?from=1&to=2"))
        .await;
    assert_eq!(diff.status, StatusCode::OK, "{}", diff.body);
    assert!(diff.body.contains("<ins>"), "{}", diff.body);
}

/// Migration 7 turns the 基本方針 versions stored before it into versions of a document: the
/// newest published (it was the one in force), the older superseded. Replayed here on versions
/// written directly, as an older mamori wrote them.
#[tokio::test]
async fn existing_policy_versions_become_published_and_superseded_document_versions() {
    let app = TestApp::new().await;
    let pool = app.db.pool();
    let org: i64 = sqlx::query_scalar(
        "INSERT INTO organisation (code, name, created_at) VALUES ('old', '旧団体', '2025-04-01T00:00:00.000000Z') RETURNING id",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    for n in 1..=3_i64 {
        sqlx::query(
            "INSERT INTO policy_version (org_id, version_no, title, source, content_json, created_at) \
             VALUES ($1, $2, '情報セキュリティ基本方針', 'imported', '{}', '2025-04-01T00:00:00.000000Z')",
        )
        .bind(org)
        .bind(n)
        .execute(pool)
        .await
        .unwrap();
    }
    let v7 = mamori_db::migrate::MIGRATIONS
        .iter()
        .find(|m| m.version == 7)
        .unwrap();
    let backend = app.db.backend();
    let copy: Vec<String> = v7
        .steps
        .iter()
        .map(|s| mamori_db::migrate::render(s, backend))
        .filter(|sql| sql.trim_start().starts_with("INSERT"))
        .collect();
    assert_eq!(copy.len(), 2);
    // Only the organisation without documents is copied again (the demo's already has its own).
    for sql in copy {
        let sql = sql.replace("GROUP BY org_id", "WHERE org_id = $1 GROUP BY org_id").replace(
            "JOIN document d ON d.org_id = p.org_id AND d.kind = 'basic_policy'",
            "JOIN document d ON d.org_id = p.org_id AND d.kind = 'basic_policy' WHERE p.org_id = $1",
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(org)
            .execute(pool)
            .await
            .unwrap();
    }
    let rows: Vec<(i64, String, Option<String>)> = sqlx::query_as(
        "SELECT version_no, status, published_at FROM document_version WHERE org_id = $1 ORDER BY version_no",
    )
    .bind(org)
    .fetch_all(pool)
    .await
    .unwrap();
    let states: Vec<(i64, &str)> = rows.iter().map(|r| (r.0, r.1.as_str())).collect();
    assert_eq!(
        states,
        [(1, "superseded"), (2, "superseded"), (3, "published")]
    );
    assert!(rows.iter().all(|r| r.2.is_some()));
    let current = mamori_db::policy::current(&app.db, org)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(current.version_no, 3);
}
