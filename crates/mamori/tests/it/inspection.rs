//! 自己点検: a campaign from creation to its closed roll-up through the API and through the
//! pages; answers after the end date refused; double submission; the improvement plan a 管理者
//! owes; permissions by role and unit; the exports read back with mamori-tabular.

use axum::http::{Method, StatusCode};
use mamori_core::calendar::{format_iso, today_jst};
use serde_json::{Value, json};
use time::Duration;

use crate::common::{Client, TestApp};
use crate::support::strip_tags;

/// A campaign for 財政課 (and its 会計係) only: staff keiri, keiri2, zaimu.kacho and the 管理者
/// zaimu.kacho answer.
fn zaimu_campaign(name: &str) -> Value {
    let today = today_jst();
    json!({
        "name": name,
        "fiscal_year": "",
        "start_on": format_iso(today - Duration::days(1)),
        "end_on": format_iso(today + Duration::days(20)),
        "groups": ["staff", "manager"],
        "units": ["jimu-zaimu"],
    })
}

struct Api<'a> {
    app: &'a TestApp,
    c: Client,
}

impl Api<'_> {
    async fn call(
        &mut self,
        login: &str,
        m: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let token = self.app.token(login).await;
        let r = self.c.api(m, path, &token, body).await;
        let v = if r.body.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&r.body).unwrap_or(Value::Null)
        };
        (r.status, v)
    }
}

/// Creates and opens a 財政課 campaign with small question sets; returns its id.
async fn open_campaign(api: &mut Api<'_>, name: &str) -> i64 {
    let (s, v) = api
        .call(
            "ciso",
            Method::POST,
            "/api/v1/inspections",
            Some(zaimu_campaign(name)),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["id"].as_i64().unwrap();
    assert_eq!(v["phase"], "draft");
    let (s, v) = api
        .call(
            "ciso",
            Method::PUT,
            &format!("/api/v1/inspections/{id}/questions"),
            Some(json!({"group": "staff", "questions": [
                {"clause": "2-4-4", "text": "離席時に画面をロックしている。"},
                {"clause": "２－５－４", "text": "IDを貸し借りしていない。"},
                {"clause": "2-5-2", "text": "研修を受講した。"}]})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = api
        .call(
            "ciso",
            Method::PUT,
            &format!("/api/v1/inspections/{id}/questions"),
            Some(json!({"group": "manager", "questions": [
                {"clause": "2-2-1", "text": "台帳に登録している。"},
                {"clause": "2-5-2", "text": "課員の受講を確認している。"}]})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = api
        .call(
            "ciso",
            Method::POST,
            &format!("/api/v1/inspections/{id}/open"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // Staff of 財政課 and 会計係 (3) plus its 管理者 (1).
    assert_eq!(v["respondents"], 4, "{v}");
    assert_eq!(v["phase"], "open");
    id
}

/// `login`'s entry in campaign `id` for `group`: (respondent id, question ids in order).
async fn entry(api: &mut Api<'_>, login: &str, id: i64, group: &str) -> (i64, Vec<i64>) {
    let (s, v) = api
        .call(
            login,
            Method::GET,
            &format!("/api/v1/inspections/{id}/responses"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let item = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["group"] == group)
        .unwrap_or_else(|| panic!("{login} has no {group} entry: {v}"));
    let qs = item["questions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["id"].as_i64().unwrap())
        .collect();
    (item["id"].as_i64().unwrap(), qs)
}

fn answers(qs: &[i64], values: &[&str]) -> Value {
    json!({"answers": qs.iter().zip(values).map(|(q, a)| json!({"question_id": q, "answer": a, "comment": "確認済み"})).collect::<Vec<_>>()})
}

async fn count(app: &TestApp, sql: &str, id: i64) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
        .bind(id)
        .fetch_one(app.db.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn a_campaign_runs_from_creation_to_a_closed_rollup_through_the_api() {
    let app = TestApp::new().await;
    let mut api = Api {
        app: &app,
        c: app.client(),
    };
    let id = open_campaign(&mut api, "令和8年度 財政課 臨時点検").await;
    // Questions can no longer change.
    let (s, v) = api
        .call(
            "ciso",
            Method::PUT,
            &format!("/api/v1/inspections/{id}/questions"),
            Some(json!({"group": "staff", "questions": [{"clause": "2-4-4", "text": "x"}]})),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("変更できません")
    );

    // keiri answers partly (progress kept), then completes and submits.
    let (rid, qs) = entry(&mut api, "keiri", id, "staff").await;
    let (s, v) = api
        .call(
            "keiri",
            Method::PUT,
            &format!("/api/v1/inspections/{id}/responses/{rid}"),
            Some(answers(&qs[..1], &["done"])),
        )
        .await;
    assert_eq!((s, v["saved"].as_i64()), (StatusCode::OK, Some(1)));
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM inspection_answer WHERE respondent_id = $1",
            rid
        )
        .await,
        1
    );
    let (s, v) = api
        .call(
            "keiri",
            Method::POST,
            &format!("/api/v1/inspections/{id}/responses/{rid}/submit"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("2問が未回答です"),
        "{v}"
    );
    api.call(
        "keiri",
        Method::PUT,
        &format!("/api/v1/inspections/{id}/responses/{rid}"),
        Some(answers(&qs, &["done", "not_done", "na"])),
    )
    .await;
    let (s, v) = api
        .call(
            "keiri",
            Method::POST,
            &format!("/api/v1/inspections/{id}/responses/{rid}/submit"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["already_submitted"], false);
    // keiri2 answers all 実施.
    let (rid2, qs2) = entry(&mut api, "keiri2", id, "staff").await;
    api.call(
        "keiri2",
        Method::PUT,
        &format!("/api/v1/inspections/{id}/responses/{rid2}"),
        Some(answers(&qs2, &["done", "done", "一部実施"])),
    )
    .await;
    let (s, _) = api
        .call(
            "keiri2",
            Method::POST,
            &format!("/api/v1/inspections/{id}/responses/{rid2}/submit"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    // The 管理者 answers with a plan for the shortfall.
    let (mrid, mqs) = entry(&mut api, "zaimu.kacho", id, "manager").await;
    let due = format_iso(today_jst() + Duration::days(60));
    let body = json!({"answers": [
        {"question_id": mqs[0], "answer": "partial", "plan": "未登録の帳票を登録する", "due": due},
        {"question_id": mqs[1], "answer": "done"}]});
    let (s, v) = api
        .call(
            "zaimu.kacho",
            Method::PUT,
            &format!("/api/v1/inspections/{id}/responses/{mrid}"),
            Some(body),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    api.call(
        "zaimu.kacho",
        Method::POST,
        &format!("/api/v1/inspections/{id}/responses/{mrid}/submit"),
        None,
    )
    .await;

    // Roll-up: 3 of 4 submitted; 8 answers: 実施 4, 一部実施 2, 未実施 1, 該当なし 1.
    let (s, r) = api
        .call(
            "ciso",
            Method::GET,
            &format!("/api/v1/inspections/{id}/rollup"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["total"]["respondents"], 4);
    assert_eq!(r["total"]["submitted"], 3);
    assert_eq!(r["total"]["response_rate"], "75.0%");
    assert_eq!(
        r["total"]["answers"],
        json!({"done": 4, "partial": 2, "not_done": 1, "na": 1})
    );
    assert_eq!(r["total"]["conformity"], "57.1%");
    // Rolled up the tree: 事務局 above 財政課 above 会計係.
    let names: Vec<&str> = r["units"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["峡南広域行政組合", "事務局", "財政課", "会計係"],
        "{r}"
    );
    let keiri_line = &r["units"][3];
    assert_eq!(
        (
            keiri_line["respondents"].as_i64(),
            keiri_line["submitted"].as_i64()
        ),
        (Some(2), Some(2))
    );
    assert_eq!(r["units"][1]["respondents"], 4);
    let clause = r["clauses"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["clause"] == "2-5-2")
        .unwrap();
    assert_eq!(
        clause["answers"],
        json!({"done": 1, "partial": 1, "not_done": 0, "na": 1})
    );

    // Improvement items: one per 管理者 answer (owned by them, with their plan), one per unit
    // and question for staff answers (owned by the unit's 管理者).
    let (s, items) = api
        .call(
            "ciso",
            Method::GET,
            &format!("/api/v1/inspections/{id}/improvements"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let items = items["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 3, "{items:?}");
    let kacho = app.person_id("zaimu.kacho").await;
    assert!(items.iter().all(|i| i["owner_id"] == kacho), "{items:?}");
    let planned = items
        .iter()
        .find(|i| i["plan"] == "未登録の帳票を登録する")
        .unwrap();
    assert_eq!(planned["due_on"], due.as_str());
    // The owner has Fix tasks; keiri no longer has an Answer task, zaimu.kacho's staff entry does.
    let tasks = mamori_db::inspection::tasks_for(&app.db, app.org_id, kacho, today_jst())
        .await
        .unwrap();
    for i in &items {
        let href = format!("/inspections/improvements/{}", i["id"]);
        assert!(
            tasks
                .iter()
                .any(|t| t.kind == mamori_core::task::TaskKind::Fix && t.href == href),
            "{tasks:?}"
        );
    }
    assert!(
        tasks
            .iter()
            .any(|t| t.kind == mamori_core::task::TaskKind::Answer
                && t.href.contains(&format!("/inspections/{id}/")))
    );
    let keiri = app.person_id("keiri").await;
    let keiri_tasks = mamori_db::inspection::tasks_for(&app.db, app.org_id, keiri, today_jst())
        .await
        .unwrap();
    assert!(
        !keiri_tasks
            .iter()
            .any(|t| t.href.contains(&format!("/inspections/{id}/"))),
        "{keiri_tasks:?}"
    );

    // The 管理者 marks an item done.
    let iid = planned["id"].as_i64().unwrap();
    let (s, v) = api
        .call(
            "zaimu.kacho",
            Method::PATCH,
            &format!("/api/v1/inspections/improvements/{iid}"),
            Some(json!({"status": "done", "plan": "登録した", "due": due, "note": "完了"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "done");

    // Closing keeps the roll-up as it was, recounted from the answers.
    let (s, v) = api
        .call(
            "ciso",
            Method::POST,
            &format!("/api/v1/inspections/{id}/close"),
            None,
        )
        .await;
    assert_eq!((s, v["phase"].as_str()), (StatusCode::OK, Some("closed")));
    let (_, after) = api
        .call(
            "ciso",
            Method::GET,
            &format!("/api/v1/inspections/{id}/rollup"),
            None,
        )
        .await;
    assert_eq!(after["total"], r["total"]);
    assert_eq!(
        app.audit_count("inspection.close").await,
        2,
        "demo closed one, this test one"
    );
    // Nobody answers a closed campaign.
    let (rid3, qs3) = entry(&mut api, "zaimu.kacho", id, "staff").await;
    let (s, v) = api
        .call(
            "zaimu.kacho",
            Method::PUT,
            &format!("/api/v1/inspections/{id}/responses/{rid3}"),
            Some(answers(&qs3, &["done", "done", "done"])),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("締め切られました"),
        "{v}"
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM inspection_answer WHERE respondent_id = $1",
            rid3
        )
        .await,
        0
    );
}

#[tokio::test]
async fn the_tally_equals_a_recount_of_the_answers() {
    let app = TestApp::new().await;
    // The demo's open campaign has submissions from many units.
    let campaigns = mamori_db::inspection::campaigns(&app.db, mamori_core::org::OrgId(app.org_id))
        .await
        .unwrap();
    let open = campaigns.iter().find(|c| c.status == "open").unwrap();
    let read = async || -> Vec<(i64, i64, i64, i64, i64, i64)> {
        sqlx::query_as("SELECT unit_id, question_id, done, partial, not_done, na FROM inspection_tally WHERE campaign_id = $1 ORDER BY unit_id, question_id")
            .bind(open.id).fetch_all(app.db.pool()).await.unwrap()
    };
    let kept = read().await;
    assert!(kept.len() > 20, "{}", kept.len());
    let mut tx = app.db.begin_write().await.unwrap();
    mamori_db::inspection::recount(&mut tx, app.org_id, open.id)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(read().await, kept);
}

#[tokio::test]
async fn answers_after_the_end_date_are_refused_and_nothing_is_stored() {
    let app = TestApp::new().await;
    let mut api = Api {
        app: &app,
        c: app.client(),
    };
    let id = open_campaign(&mut api, "期限切れの点検").await;
    let (rid, qs) = entry(&mut api, "keiri", id, "staff").await;
    api.call(
        "keiri",
        Method::PUT,
        &format!("/api/v1/inspections/{id}/responses/{rid}"),
        Some(answers(&qs[..1], &["done"])),
    )
    .await;
    // Time passes: the end date was yesterday.
    let yesterday = today_jst() - Duration::days(1);
    sqlx::query("UPDATE inspection_campaign SET start_on = $1, end_on = $1 WHERE id = $2")
        .bind(format_iso(yesterday - Duration::days(10)))
        .bind(id)
        .execute(app.db.pool())
        .await
        .unwrap();
    sqlx::query("UPDATE inspection_campaign SET end_on = $1 WHERE id = $2")
        .bind(format_iso(yesterday))
        .bind(id)
        .execute(app.db.pool())
        .await
        .unwrap();
    let before = count(
        &app,
        "SELECT COUNT(*) FROM inspection_answer WHERE campaign_id = $1",
        id,
    )
    .await;
    let audit_before = app.audit_count("inspection.answer").await;
    let ended = format!(
        "回答期間は{}に終了しました",
        mamori_core::calendar::format_wareki(yesterday)
    );
    let (s, v) = api
        .call(
            "keiri",
            Method::PUT,
            &format!("/api/v1/inspections/{id}/responses/{rid}"),
            Some(answers(&qs, &["done", "done", "done"])),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert!(
        v["error"]["message"].as_str().unwrap().contains(&ended),
        "{v}"
    );
    let (s, v) = api
        .call(
            "keiri",
            Method::POST,
            &format!("/api/v1/inspections/{id}/responses/{rid}/submit"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    // The page says so too, and its form is gone; a form posted anyway is refused.
    let mut c = app.login("keiri").await;
    let page = c.get(&format!("/inspections/{id}/respond/{rid}")).await;
    assert!(page.body.contains(&ended), "{}", page.body);
    assert!(!page.body.contains("id=\"submit\""));
    let q = format!("a{}", qs[1]);
    let r = c
        .post_form(
            &format!("/inspections/{id}/respond/{rid}"),
            &[(q.as_str(), "done"), ("go", "submit")],
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(strip_tags(&r.body).contains(&ended), "{}", r.body);
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM inspection_answer WHERE campaign_id = $1",
            id
        )
        .await,
        before
    );
    assert_eq!(app.audit_count("inspection.answer").await, audit_before);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM inspection_respondent WHERE campaign_id = $1 AND status = 'submitted'", id).await, 0);
    // The campaign reads as closed, with no job having run.
    let (_, v) = api
        .call(
            "ciso",
            Method::GET,
            &format!("/api/v1/inspections/{id}"),
            None,
        )
        .await;
    assert_eq!(v["phase"], "closed");
    assert_eq!(v["status"], "open");
    // And no Answer task remains for it.
    let keiri = app.person_id("keiri").await;
    let tasks = mamori_db::inspection::tasks_for(&app.db, app.org_id, keiri, today_jst())
        .await
        .unwrap();
    assert!(
        !tasks
            .iter()
            .any(|t| t.href.contains(&format!("/inspections/{id}/")))
    );
}

#[tokio::test]
async fn submitting_twice_changes_nothing() {
    let app = TestApp::new().await;
    let mut api = Api {
        app: &app,
        c: app.client(),
    };
    let id = open_campaign(&mut api, "二重提出の確認").await;
    let (rid, qs) = entry(&mut api, "keiri", id, "staff").await;
    api.call(
        "keiri",
        Method::PUT,
        &format!("/api/v1/inspections/{id}/responses/{rid}"),
        Some(answers(&qs, &["done", "not_done", "done"])),
    )
    .await;
    let (s, v) = api
        .call(
            "keiri",
            Method::POST,
            &format!("/api/v1/inspections/{id}/responses/{rid}/submit"),
            None,
        )
        .await;
    assert_eq!(
        (s, &v["already_submitted"]),
        (StatusCode::OK, &json!(false))
    );
    type State = (Vec<(i64, i64, i64)>, Vec<(i64, i64)>, i64, Option<String>);
    let snapshot = async || -> State {
        let t = sqlx::query_as("SELECT question_id, done, not_done FROM inspection_tally WHERE campaign_id = $1 ORDER BY question_id").bind(id).fetch_all(app.db.pool()).await.unwrap();
        let i = sqlx::query_as(
            "SELECT id, not_done FROM inspection_improvement WHERE campaign_id = $1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(app.db.pool())
        .await
        .unwrap();
        let audit = app.audit_count("inspection.submit").await;
        let at: Option<String> =
            sqlx::query_scalar("SELECT submitted_at FROM inspection_respondent WHERE id = $1")
                .bind(rid)
                .fetch_one(app.db.pool())
                .await
                .unwrap();
        (t, i, audit, at)
    };
    let first = snapshot().await;
    assert_eq!(first.1.len(), 1);
    let (s, v) = api
        .call(
            "keiri",
            Method::POST,
            &format!("/api/v1/inspections/{id}/responses/{rid}/submit"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["already_submitted"], true);
    // The same form sent again from the page (a double click): answered alike, nothing changes.
    let mut c = app.login("keiri").await;
    c.get(&format!("/inspections/{id}/respond/{rid}")).await;
    let q = format!("a{}", qs[0]);
    let r = c
        .post_form(
            &format!("/inspections/{id}/respond/{rid}"),
            &[(q.as_str(), "partial"), ("go", "submit")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        r.location(),
        Some(format!("/inspections/{id}/respond/{rid}?again=1").as_str())
    );
    let page = c.get(r.location().unwrap()).await;
    assert!(page.body.contains("既に提出済みです"));
    assert_eq!(snapshot().await, first);
    // Changing a submitted answer is refused.
    let (s, v) = api
        .call(
            "keiri",
            Method::PUT,
            &format!("/api/v1/inspections/{id}/responses/{rid}"),
            Some(answers(&qs, &["done", "done", "done"])),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert_eq!(snapshot().await, first);
}

#[tokio::test]
async fn a_manager_reporting_a_shortfall_must_give_a_plan_and_due_date() {
    let app = TestApp::new().await;
    let mut api = Api {
        app: &app,
        c: app.client(),
    };
    let id = open_campaign(&mut api, "改善計画の確認").await;
    let (mrid, mqs) = entry(&mut api, "zaimu.kacho", id, "manager").await;
    let path = format!("/api/v1/inspections/{id}/responses/{mrid}");
    let yesterday = format_iso(today_jst() - Duration::days(1));
    let cases = [
        (
            json!({"question_id": mqs[0], "answer": "partial"}),
            "改善計画を入力してください",
        ),
        (
            json!({"question_id": mqs[0], "answer": "未実施", "plan": "計画"}),
            "改善期限を入力してください",
        ),
        (
            json!({"question_id": mqs[0], "answer": "not_done", "plan": "計画", "due": "来月"}),
            "日付として読めません",
        ),
        (
            json!({"question_id": mqs[0], "answer": "not_done", "plan": "計画", "due": yesterday}),
            "今日以降",
        ),
        (
            json!({"question_id": mqs[0], "answer": "maybe"}),
            "選べません",
        ),
    ];
    for (answer, message) in cases {
        // A good answer beside the bad one is not stored either: all or nothing.
        let body = json!({"answers": [{"question_id": mqs[1], "answer": "done"}, answer]});
        let (s, v) = api
            .call("zaimu.kacho", Method::PUT, &path, Some(body))
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        let m = v["error"]["message"].as_str().unwrap();
        assert!(m.contains(message) && m.contains("問1"), "{m}");
        assert_eq!(
            count(
                &app,
                "SELECT COUNT(*) FROM inspection_answer WHERE respondent_id = $1",
                mrid
            )
            .await,
            0
        );
    }
    // On the page: the error stands under the question, the typed values are kept.
    let mut c = app.login("zaimu.kacho").await;
    c.get(&format!("/inspections/{id}/respond/{mrid}")).await;
    let (a, p) = (format!("a{}", mqs[0]), format!("c{}", mqs[0]));
    let r = c
        .post_form(
            &format!("/inspections/{id}/respond/{mrid}"),
            &[
                (a.as_str(), "partial"),
                (p.as_str(), "棚の鍵が壊れている"),
                ("go", "save"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body
            .contains("「一部実施」と回答する場合は改善計画を入力してください"),
        "{}",
        r.body
    );
    assert!(r.body.contains("棚の鍵が壊れている"));
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM inspection_answer WHERE respondent_id = $1",
            mrid
        )
        .await,
        0
    );
    // Staff need no plan for the same answer.
    let (rid, qs) = entry(&mut api, "keiri", id, "staff").await;
    let (s, _) = api
        .call(
            "keiri",
            Method::PUT,
            &format!("/api/v1/inspections/{id}/responses/{rid}"),
            Some(answers(&qs[..1], &["partial"])),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn the_cycle_through_the_pages_with_one_question_per_screen() {
    let app = TestApp::new().await;
    let mut ciso = app.login("ciso").await;
    let today = today_jst();
    let new = ciso.get("/inspections/new").await;
    assert_eq!(new.status, StatusCode::OK);
    let (start, end) = (format_iso(today), format_iso(today + Duration::days(7)));
    // A bad period first: refused with the reason, nothing written.
    let before = app.count("inspection_campaign").await;
    let r = ciso
        .post_form(
            "/inspections",
            &[
                ("name", "画面からの点検"),
                ("fiscal_year", "令和8年度"),
                ("start_on", &end),
                ("end_on", &start),
                ("groups", "staff"),
                ("units", "jimu-zaimu"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("開始日より後の日付を指定してください"));
    assert_eq!(app.count("inspection_campaign").await, before);
    let r = ciso
        .post_form(
            "/inspections",
            &[
                ("name", "画面からの点検"),
                ("fiscal_year", "令和8年度"),
                ("start_on", &start),
                ("end_on", &end),
                ("groups", "staff"),
                ("units", "jimu-zaimu"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let loc = r.location().unwrap().to_owned();
    let id: i64 = loc
        .trim_start_matches("/inspections/")
        .split('?')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let page = ciso.get(&loc).await;
    assert!(
        page.body.contains("準備中") && page.body.contains("離席するときは端末の画面をロック"),
        "shipped questions"
    );
    // An unknown clause in the question set: refused, the set unchanged.
    let qbefore = count(
        &app,
        "SELECT COUNT(*) FROM inspection_question WHERE campaign_id = $1",
        id,
    )
    .await;
    let r = ciso
        .post_form(
            &format!("/inspections/{id}/questions"),
            &[
                ("group", "staff"),
                ("lines", "2-4-4 画面をロックしている\n2-10 存在しない番号"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body.contains("2行目") && r.body.contains("「2-10」は見つかりません"),
        "{}",
        r.body
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM inspection_question WHERE campaign_id = $1",
            id
        )
        .await,
        qbefore
    );
    let r = ciso
        .post_form(
            &format!("/inspections/{id}/questions"),
            &[
                ("group", "staff"),
                (
                    "lines",
                    "2-4-4 画面をロックしている\n\n２－５－４ IDを貸し借りしていない",
                ),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = ciso
        .post_form(&format!("/inspections/{id}/open"), &[])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = ciso.get(&format!("/inspections/{id}")).await;
    assert!(
        page.body.contains("回答受付中") && page.body.contains("0 / 3 人が提出"),
        "{}",
        strip_tags(&page.body)
    );
    // Opening twice is refused.
    let r = ciso
        .post_form(&format!("/inspections/{id}/open"), &[])
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);

    // keiri finds the task on the list and answers one question per screen.
    let mut keiri = app.login("keiri").await;
    let list = keiri.get("/inspections").await;
    let rid: i64 = sqlx::query_scalar("SELECT r.id FROM inspection_respondent r JOIN person p ON p.id = r.person_id WHERE r.campaign_id = $1 AND p.login = 'keiri'").bind(id).fetch_one(app.db.pool()).await.unwrap();
    let href = format!("/inspections/{id}/respond/{rid}");
    assert!(list.body.contains(&href), "{}", list.body);
    let q1 = keiri.get(&format!("{href}/q/1")).await;
    assert_eq!(q1.status, StatusCode::OK);
    assert!(q1.body.contains("問1 / 2") && q1.body.contains("画面をロックしている"));
    let qids: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM inspection_question WHERE campaign_id = $1 AND grp = 'staff' ORDER BY seq",
    )
    .bind(id)
    .fetch_all(app.db.pool())
    .await
    .unwrap();
    let (a1, c1, a2) = (
        format!("a{}", qids[0]),
        format!("c{}", qids[0]),
        format!("a{}", qids[1]),
    );
    let r = keiri
        .post_form(
            &href,
            &[
                (a1.as_str(), "done"),
                (c1.as_str(), "常に施錠"),
                ("single", "1"),
                ("go", "next"),
            ],
        )
        .await;
    assert_eq!(r.location(), Some(format!("{href}/q/2?saved=1").as_str()));
    let q2 = keiri.get(r.location().unwrap()).await;
    assert!(q2.body.contains("問2 / 2") && q2.body.contains("保存しました"));
    let r = keiri
        .post_form(
            &href,
            &[(a2.as_str(), "not_done"), ("single", "2"), ("go", "next")],
        )
        .await;
    assert_eq!(
        r.location(),
        Some(href.as_str()),
        "past the last question: the whole form"
    );
    let whole = keiri.get(&href).await;
    assert!(
        whole.body.contains("回答済み 2 / 2 問") && whole.body.contains("常に施錠"),
        "{}",
        strip_tags(&whole.body)
    );
    let r = keiri.post_form(&href, &[("go", "submit")]).await;
    assert_eq!(r.location(), Some(format!("{href}?submitted=1").as_str()));
    let done = keiri.get(r.location().unwrap()).await;
    assert!(done.body.contains("回答を提出しました") && done.body.contains("提出済みです"));

    // The roll-up page: figures and charts drawn on the server.
    let r = ciso.get(&format!("/inspections/{id}/rollup")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.body.contains("<svg") && r.body.contains("適合 50.0%"),
        "{}",
        r.body
    );
    assert_eq!(r.by_id("total-rate").as_deref(), Some("33.3%"));
    let r = ciso
        .post_form(&format!("/inspections/{id}/close"), &[])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let page = ciso.get(&format!("/inspections/{id}")).await;
    assert_eq!(page.by_id("phase").as_deref(), Some("終了"));
    let r = ciso.get(&format!("/inspections/{id}/rollup")).await;
    assert!(r.body.contains("適合 50.0%"));
    // The improvement item from the 未実施 answer, owned by 財政課's 管理者, updated by them.
    let mut kacho = app.login("zaimu.kacho").await;
    let items = kacho.get("/inspections/improvements").await;
    let iid: i64 =
        sqlx::query_scalar("SELECT id FROM inspection_improvement WHERE campaign_id = $1")
            .bind(id)
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    assert!(
        items
            .body
            .contains(&format!("/inspections/improvements/{iid}"))
    );
    kacho.get(&format!("/inspections/improvements/{iid}")).await;
    let r = kacho
        .post_form(
            &format!("/inspections/improvements/{iid}"),
            &[
                ("status", "in_progress"),
                ("plan", "係会議で周知"),
                ("due", "令和9年3月31日"),
                ("note", ""),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = kacho.get(r.location().unwrap()).await;
    assert_eq!(page.by_id("status").as_deref(), Some("対応中"));
    let due: Option<String> =
        sqlx::query_scalar("SELECT due_on FROM inspection_improvement WHERE id = $1")
            .bind(iid)
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    assert_eq!(due.as_deref(), Some("2027-03-31"));
}

#[tokio::test]
async fn who_sees_and_changes_what_follows_role_and_unit() {
    let app = TestApp::new().await;
    let mut api = Api {
        app: &app,
        c: app.client(),
    };
    // Staff cannot create or read results.
    let (s, _) = api
        .call(
            "keiri",
            Method::POST,
            "/api/v1/inspections",
            Some(zaimu_campaign("x")),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let campaigns = mamori_db::inspection::campaigns(&app.db, mamori_core::org::OrgId(app.org_id))
        .await
        .unwrap();
    let open = campaigns.iter().find(|c| c.status == "open").unwrap().id;
    let (s, _) = api
        .call(
            "keiri",
            Method::GET,
            &format!("/api/v1/inspections/{open}/rollup"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let mut keiri = app.login("keiri").await;
    for path in [
        format!("/inspections/{open}/rollup"),
        format!("/inspections/{open}/export/answers.xlsx"),
        format!("/inspections/{open}"),
        "/inspections/new".into(),
    ] {
        assert_eq!(
            keiri.get(&path).await.status,
            StatusCode::FORBIDDEN,
            "{path}"
        );
    }
    // 管理者 see their own section; 責任者 their body; CISO and 監査人 everything.
    let units = async |api: &mut Api<'_>, login: &str| -> Vec<String> {
        let (s, v) = api
            .call(
                login,
                Method::GET,
                &format!("/api/v1/inspections/{open}/rollup"),
                None,
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{login} {v}");
        v["units"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(units(&mut api, "zaimu.kacho").await, ["財政課", "会計係"]);
    let shobo = units(&mut api, "shobocho").await;
    assert_eq!(shobo.first().map(String::as_str), Some("消防本部"));
    assert!(!shobo.iter().any(|u| u == "財政課" || u == "事務局"));
    assert_eq!(
        units(&mut api, "kansa").await.first().map(String::as_str),
        Some("峡南広域行政組合")
    );
    // The 管理者's export holds its own section's respondents only.
    let mut kacho = app.login("zaimu.kacho").await;
    let r = kacho
        .get(&format!("/inspections/{open}/export/answers.xlsx"))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let schema = [mamori_tabular::Column::required("unit", "所属")];
    let t = mamori_tabular::read_table(
        &r.bytes,
        "a.xlsx",
        &schema,
        &mamori_tabular::ReadOptions::default(),
    )
    .unwrap();
    assert!(
        !t.rows.is_empty()
            && t.rows
                .iter()
                .all(|row| row.text("unit").starts_with("事務局 財政課")),
        "{:?}",
        t.rows.first()
    );
    // Only the CISO and 統括 manage.
    for login in ["zaimu.kacho", "shobocho", "kansa", "vciso"] {
        let (s, _) = api
            .call(
                login,
                Method::POST,
                &format!("/api/v1/inspections/{open}/close"),
                None,
            )
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{login}");
    }
    // Someone else's entry is answered as if it did not exist.
    let (rid, qs) = entry(&mut api, "keiri", open, "staff").await;
    let (s, _) = api
        .call(
            "keiri2",
            Method::PUT,
            &format!("/api/v1/inspections/{open}/responses/{rid}"),
            Some(answers(&qs, &["done"])),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let mut keiri2 = app.login("keiri2").await;
    assert_eq!(
        keiri2
            .get(&format!("/inspections/{open}/respond/{rid}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    // Improvement items: a 管理者 updates their own unit's, not another unit's.
    let fix = mamori_core::permission::Capability::<
        mamori_core::permission::can::EditCorrectiveActions,
    >::operator(mamori_core::org::OrgId(app.org_id));
    let tree = mamori_db::org::unit_tree(&app.db, mamori_core::org::OrgId(app.org_id))
        .await
        .unwrap();
    let items = mamori_db::inspection::improvements(&app.db, &fix, &tree, open)
        .await
        .unwrap();
    let zaimu = app.unit_id("jimu-zaimu").await;
    let keiri_unit = app.unit_id("jimu-zaimu-keiri").await;
    let own = items
        .iter()
        .find(|i| i.unit_id == zaimu || i.unit_id == keiri_unit)
        .expect("an item in 財政課");
    let other = items
        .iter()
        .find(|i| !tree.path(i.unit_id).iter().any(|u| u.0 == zaimu))
        .expect("an item elsewhere");
    let body = json!({"status": "in_progress", "plan": "p", "due": "", "note": ""});
    let (s, v) = api
        .call(
            "zaimu.kacho",
            Method::PATCH,
            &format!("/api/v1/inspections/improvements/{}", own.id),
            Some(body.clone()),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let before = app.audit_count("inspection.improvement.update").await;
    let (s, _) = api
        .call(
            "zaimu.kacho",
            Method::PATCH,
            &format!("/api/v1/inspections/improvements/{}", other.id),
            Some(body.clone()),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = api
        .call(
            "keiri",
            Method::PATCH,
            &format!("/api/v1/inspections/improvements/{}", own.id),
            Some(body),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(
        app.audit_count("inspection.improvement.update").await,
        before
    );
}

#[tokio::test]
async fn the_exports_hold_every_answer_and_the_rollup() {
    let app = TestApp::new().await;
    let campaigns = mamori_db::inspection::campaigns(&app.db, mamori_core::org::OrgId(app.org_id))
        .await
        .unwrap();
    let past = campaigns.iter().find(|c| c.status == "closed").unwrap().id;
    let mut ciso = app.login("ciso").await;
    let r = ciso
        .get(&format!("/inspections/{past}/export/answers.xlsx"))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.headers["content-type"],
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    let schema: Vec<mamori_tabular::Column> =
        mamori_web::features::inspection::export::ANSWER_HEADERS
            .iter()
            .enumerate()
            .map(|(i, h)| {
                mamori_tabular::Column::optional(
                    [
                        "no",
                        "name",
                        "unit",
                        "group",
                        "status",
                        "q",
                        "clause",
                        "text",
                        "answer",
                        "comment",
                        "plan",
                        "due",
                        "saved",
                        "submitted",
                    ][i],
                    h,
                )
            })
            .collect();
    let t = mamori_tabular::read_table(
        &r.bytes,
        "answers.xlsx",
        &schema,
        &mamori_tabular::ReadOptions::default(),
    )
    .unwrap();
    let stored = count(
        &app,
        "SELECT COUNT(*) FROM inspection_answer WHERE campaign_id = $1",
        past,
    )
    .await;
    assert_eq!(t.rows.len() as i64, stored);
    // Every row says who, where, which question and what, as stored.
    let (login_name, answer, text): (String, String, String) = sqlx::query_as(
        "SELECT p.name, a.answer, q.text FROM inspection_answer a JOIN inspection_respondent r ON r.id = a.respondent_id \
         JOIN person p ON p.id = r.person_id JOIN inspection_question q ON q.id = a.question_id \
         WHERE a.campaign_id = $1 AND p.login = 'keiri' AND r.grp = 'staff' AND q.seq = 2").bind(past).fetch_one(app.db.pool()).await.unwrap();
    let row = t
        .rows
        .iter()
        .find(|row| {
            row.text("name") == login_name
                && row.text("q") == "問2"
                && row.text("group") == "全職員"
        })
        .unwrap();
    assert_eq!(row.text("text"), text);
    assert_eq!(
        row.text("answer"),
        mamori_core::inspection::AnswerValue::parse(&answer)
            .unwrap()
            .label_ja()
    );
    assert_eq!(row.text("no"), "0009");
    assert_eq!(row.text("status"), "提出済み");
    assert_eq!(app.audit_count("inspection.export").await, 1);

    // The roll-up workbook: the same figures as the page, per unit and per clause.
    let r = ciso
        .get(&format!("/inspections/{past}/export/rollup.xlsx"))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let token = app.token("ciso").await;
    let json = app
        .client()
        .api(
            Method::GET,
            &format!("/api/v1/inspections/{past}/rollup"),
            &token,
            None,
        )
        .await
        .json();
    let schema = [
        mamori_tabular::Column::required("unit", "所属"),
        mamori_tabular::Column::required("n", "回答者数"),
        mamori_tabular::Column::required("done", "実施"),
        mamori_tabular::Column::required("rate", "適合率"),
    ];
    let t = mamori_tabular::read_table(
        &r.bytes,
        "rollup.xlsx",
        &schema,
        &mamori_tabular::ReadOptions {
            sheet: Some("所属別".into()),
            ..Default::default()
        },
    )
    .unwrap();
    let last = t.rows.last().unwrap();
    assert_eq!(last.text("unit"), "合計");
    assert_eq!(last.text("n"), json["total"]["respondents"].to_string());
    assert_eq!(
        last.text("done"),
        json["total"]["answers"]["done"].to_string()
    );
    assert_eq!(
        last.text("rate"),
        json["total"]["conformity"].as_str().unwrap()
    );
    let schema = [
        mamori_tabular::Column::required("clause", "対策基準"),
        mamori_tabular::Column::required("text", "設問"),
    ];
    let t = mamori_tabular::read_table(
        &r.bytes,
        "rollup.xlsx",
        &schema,
        &mamori_tabular::ReadOptions {
            sheet: Some("対策基準別".into()),
            ..Default::default()
        },
    )
    .unwrap();
    assert!(t.rows.iter().any(|row| row.text("clause") == "2-5-2"
        && row.text("text") == "今年度の情報セキュリティ研修を受講した。"));
}

/// Calls every self-inspection API route once as the CISO, each succeeding; returns the routes
/// (for the OpenAPI completeness test in `api`).
pub async fn exercise_api(
    app: &TestApp,
    c: &mut Client,
    token: &str,
) -> std::collections::BTreeSet<crate::support::Route> {
    use crate::support::route;
    let mut tried = std::collections::BTreeSet::new();
    let mut call = async |m: Method, template: &str, path: String, body: Option<Value>| -> Value {
        let r = c.api(m.clone(), &path, token, body).await;
        assert!(r.status.is_success(), "{m} {path}: {} {}", r.status, r.body);
        tried.insert(route(&m.as_str().to_lowercase(), template));
        serde_json::from_slice(&r.bytes).unwrap_or(Value::Null)
    };
    call(
        Method::GET,
        "/api/v1/inspections",
        "/api/v1/inspections".into(),
        None,
    )
    .await;
    let v = call(
        Method::POST,
        "/api/v1/inspections",
        "/api/v1/inspections".into(),
        Some(zaimu_campaign("API の点検")),
    )
    .await;
    let id = v["id"].as_i64().unwrap();
    call(
        Method::GET,
        "/api/v1/inspections/{id}",
        format!("/api/v1/inspections/{id}"),
        None,
    )
    .await;
    call(
        Method::PUT,
        "/api/v1/inspections/{id}/questions",
        format!("/api/v1/inspections/{id}/questions"),
        Some(
            json!({"group": "staff", "questions": [{"clause": "2-4-4", "text": "施錠している。"}]}),
        ),
    )
    .await;
    call(
        Method::POST,
        "/api/v1/inspections/{id}/open",
        format!("/api/v1/inspections/{id}/open"),
        None,
    )
    .await;
    call(
        Method::GET,
        "/api/v1/inspections/{id}/rollup",
        format!("/api/v1/inspections/{id}/rollup"),
        None,
    )
    .await;
    call(
        Method::GET,
        "/api/v1/inspections/{id}/improvements",
        format!("/api/v1/inspections/{id}/improvements"),
        None,
    )
    .await;
    call(
        Method::POST,
        "/api/v1/inspections/{id}/close",
        format!("/api/v1/inspections/{id}/close"),
        None,
    )
    .await;
    // The CISO answers the demo's open campaign.
    let open = mamori_db::inspection::campaigns(&app.db, mamori_core::org::OrgId(app.org_id))
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.status == "open")
        .unwrap()
        .id;
    let v = call(
        Method::GET,
        "/api/v1/inspections/{id}/responses",
        format!("/api/v1/inspections/{open}/responses"),
        None,
    )
    .await;
    let item = &v["items"][0];
    let rid = item["id"].as_i64().unwrap();
    let body = json!({"answers": item["questions"].as_array().unwrap().iter().map(|q| json!({"question_id": q["id"], "answer": "done"})).collect::<Vec<_>>()});
    call(
        Method::PUT,
        "/api/v1/inspections/{id}/responses/{rid}",
        format!("/api/v1/inspections/{open}/responses/{rid}"),
        Some(body),
    )
    .await;
    call(
        Method::POST,
        "/api/v1/inspections/{id}/responses/{rid}/submit",
        format!("/api/v1/inspections/{open}/responses/{rid}/submit"),
        None,
    )
    .await;
    let items = call(
        Method::GET,
        "/api/v1/inspections/{id}/improvements",
        format!("/api/v1/inspections/{open}/improvements"),
        None,
    )
    .await;
    let iid = items["items"][0]["id"].as_i64().unwrap();
    call(
        Method::PATCH,
        "/api/v1/inspections/improvements/{iid}",
        format!("/api/v1/inspections/improvements/{iid}"),
        Some(json!({"status": "in_progress", "plan": "手順を見直す", "due": "", "note": ""})),
    )
    .await;
    tried
}
