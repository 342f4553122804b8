//! 情報資産台帳の取込み・出力 end to end, on the demo organisation's register: every export
//! (xlsx, CSV UTF-8, CSV CP932) re-imports with no change; an import creates and updates in one
//! transaction with one audit entry per asset; a dry run writes nothing; every kind of bad file
//! is refused with the row, column, value and reason named and nothing written; CP932 exports
//! map look-alikes and report what they cannot hold; exports are guarded against formula
//! injection and audited; and the CLI commands exit 0 or 2 accordingly.

use std::io::{Cursor, Read, Write};
use std::path::Path;
use std::process::ExitCode;

use axum::body::Body;
use http::{Method, Request, StatusCode, header};
use mamori::assets_cmd::{self, ExportArgs, ImportArgs};
use mamori_db::assets::io::{self as assets_io, COLUMNS};
use mamori_tabular::{ExportTable, Limits, TabularErrorKind};
use serde_json::Value;

use crate::common::{Client, Resp, TestApp};
use crate::roster::{XLSX, hidden, multipart, post_multipart};

/// The headers in 台帳 order.
pub(crate) fn headers() -> Vec<String> {
    COLUMNS.iter().map(|c| c.header.to_owned()).collect()
}

fn row(values: &[&str]) -> Vec<String> {
    values.iter().map(|v| (*v).to_owned()).collect()
}

fn table(headers: &[String], rows: &[Vec<String>]) -> ExportTable {
    let mut t = ExportTable::new("台帳", headers.to_vec());
    for r in rows {
        t.push(r.clone());
    }
    t
}

fn xlsx(headers: &[String], rows: &[Vec<String>]) -> Vec<u8> {
    mamori_tabular::write_xlsx(&table(headers, rows)).unwrap()
}

pub(crate) fn csv(headers: &[String], rows: &[Vec<String>]) -> Vec<u8> {
    mamori_tabular::write_csv_utf8(&table(headers, rows)).unwrap()
}

/// A new paper register written as a person would: 全角数字, 和暦, a unit and a manager by name.
pub(crate) fn new_row() -> Vec<String> {
    row(&[
        "J-NEW-001",
        "新規 紙台帳",
        "会計事務",
        "情報（紙）",
        "財政課",
        "市川 浩",
        "紙",
        "財政課 書庫",
        "○",
        "",
        "機密性２",
        "1",
        "１",
        "有",
        "１，２００件",
        "無",
        "いいえ",
        "財政課の職員",
        "関係者限り、持出禁止",
        "５年",
        "",
        "",
        "",
        "令和8年4月1日",
        "取込みの試験",
    ])
}

/// The demo's 施設予約システム with 機密性 and 完全性 raised.
fn changed_row() -> Vec<String> {
    row(&[
        "J-SYS-008",
        "施設予約システム",
        "施設管理",
        "情報システム",
        "jimu-gyomu",
        "gyomu.kacho",
        "DB・システム",
        "本庁舎サーバ室",
        "有",
        "",
        "自治体機密性３Ｃ",
        "２",
        "1",
        "無",
        "",
        "無",
        "無",
        "",
        "",
        "",
        "",
        "",
        "",
        "2026-04-20",
        "",
    ])
}

/// The register as stored (without its derived findings), its holdings, and the audit entries
/// of changes to it: what an import may touch.
async fn register(app: &TestApp) -> (Vec<String>, Vec<(i64, i64)>, i64) {
    let assets: Vec<mamori_db::assets::Asset> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {} {} ORDER BY a.id",
        mamori_db::assets::ASSET_COLUMNS,
        mamori_db::assets::ASSET_FROM
    )))
    .fetch_all(app.db.pool())
    .await
    .unwrap();
    let assets = assets
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
    let holdings =
        sqlx::query_as("SELECT holder_id, held_id FROM asset_holding ORDER BY holder_id, held_id")
            .fetch_all(app.db.pool())
            .await
            .unwrap();
    let changes = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_entry WHERE action LIKE 'asset.%' AND action <> 'asset.export'",
    )
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    (assets, holdings, changes)
}

async fn asset(app: &TestApp, asset_no: &str) -> mamori_db::assets::Asset {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {} {} WHERE a.asset_no = $1 AND a.org_id = $2",
        mamori_db::assets::ASSET_COLUMNS,
        mamori_db::assets::ASSET_FROM
    )))
    .bind(asset_no)
    .bind(app.org_id)
    .fetch_one(app.db.pool())
    .await
    .unwrap()
}

/// The API import: the file as the body, named by `X-File-Name`.
async fn import(app: &TestApp, token: &str, name: &str, bytes: Vec<u8>, dry_run: bool) -> Resp {
    let encoded: String = serde_urlencoded::to_string([("", name)]).unwrap();
    let req = Request::builder()
        .method(Method::POST)
        .uri(format!("/api/v1/assets/import?dry_run={dry_run}"))
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .header("x-file-name", encoded.trim_start_matches('='))
        .body(Body::from(bytes))
        .unwrap();
    app.client().send(req).await
}

async fn export(app: &TestApp, token: &str, query: &str) -> Resp {
    app.client()
        .api(
            Method::GET,
            &format!("/api/v1/assets/export?{query}"),
            token,
            None,
        )
        .await
}

/// Asserts a 422 listing problems, each expected one present as (row, column, fragment).
fn assert_problems(r: &Resp, expected: &[(Option<u64>, Option<&str>, &str)]) {
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let v = r.json();
    assert!(v["error"]["message"].as_str().unwrap().contains("件の問題"));
    let errors = v["errors"].as_array().unwrap();
    for (row, column, fragment) in expected {
        let found = errors.iter().any(|e| {
            e["row"].as_u64() == *row
                && column.is_none_or(|c| e["column"].as_str() == Some(c))
                && e["text"].as_str().unwrap_or_default().contains(fragment)
        });
        assert!(
            found,
            "no error at row {row:?} column {column:?} with {fragment:?} in {errors:#?}"
        );
    }
}

/// Refuses a file through the API (asked to apply), naming the problems, and writes nothing.
async fn refused(
    app: &TestApp,
    token: &str,
    name: &str,
    bytes: Vec<u8>,
    expected: &[(Option<u64>, Option<&str>, &str)],
) {
    let before = register(app).await;
    let r = import(app, token, name, bytes, false).await;
    assert_problems(&r, expected);
    assert_eq!(register(app).await, before, "{name}: nothing written");
}

fn plan_of(r: &Resp) -> Value {
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.json()["plan"].clone()
}

fn entry(zip_bytes: &[u8], name: &str) -> String {
    let mut archive = zip::ZipArchive::new(Cursor::new(zip_bytes)).unwrap();
    let mut s = String::new();
    archive
        .by_name(name)
        .unwrap()
        .read_to_string(&mut s)
        .unwrap();
    s
}

#[tokio::test]
async fn every_export_re_imports_unchanged_and_is_guarded() {
    let app = TestApp::new().await;
    // Text that trips spreadsheets up: formula starts, a wave dash CP932 lacks, a line break.
    sqlx::query(
        "UPDATE asset SET name = $1, note = $2, location = $3, users_scope = $4 WHERE asset_no = 'J-INF-032'",
    )
    .bind("会計伝票綴り（9時〜17時受付分）")
    .bind("=SUM(A1:A3)\n2行目")
    .bind("-地下書庫")
    .bind("@全職員")
    .execute(app.db.pool())
    .await
    .unwrap();
    let token = app.token("ciso").await;
    let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM asset WHERE org_id = $1")
        .bind(app.org_id)
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert!(total > 150, "{total}");
    for (query, name, content_type) in [
        ("format=xlsx&status=all", "台帳.xlsx", XLSX),
        (
            "format=csv&encoding=utf8&status=all",
            "台帳.csv",
            "text/csv; charset=utf-8",
        ),
        (
            "format=csv&encoding=cp932&status=all",
            "台帳_sjis.csv",
            "text/csv; charset=Shift_JIS",
        ),
    ] {
        let r = export(&app, &token, query).await;
        assert_eq!(r.status, StatusCode::OK, "{query}: {}", r.body);
        assert_eq!(r.headers[header::CONTENT_TYPE], content_type);
        assert!(
            r.headers[header::CONTENT_DISPOSITION]
                .to_str()
                .unwrap()
                .starts_with("attachment; filename=\"mamori-assets-")
        );
        let bytes = r.bytes.to_vec();
        match query {
            q if q.contains("xlsx") => {
                let sheet = entry(&bytes, "xl/worksheets/sheet1.xml");
                assert!(!sheet.contains("<f>"), "no formula is ever written");
                let strings = entry(&bytes, "xl/sharedStrings.xml");
                assert!(strings.contains("'=SUM(A1:A3)"), "guarded");
                assert!(strings.contains("'-地下書庫"));
                assert!(strings.contains("'@全職員"));
                assert!(strings.contains("9時〜17時"), "UTF-8 keeps the wave dash");
            }
            q if q.contains("cp932") => {
                let (text, _, bad) = encoding_rs::SHIFT_JIS.decode(&bytes);
                assert!(!bad);
                assert!(text.starts_with("資産番号,名称,業務名,種別,所管課,管理者,媒体,保存場所,施錠,ネットワーク区分,機密性,完全性,可用性,個人情報,件数,要配慮個人情報,特定個人情報,利用者範囲,取扱制限,保存期間,バックアップ,委託先・クラウド,例外措置,最終確認日,備考\r\n"), "{}", &text[..300]);
                assert!(text.contains("9時～17時"), "〜 becomes ～ in CP932");
                assert!(text.contains("\"'=SUM(A1:A3)\n2行目\""));
                assert!(text.contains("J-SYS-001,財務会計システム,財務会計,情報システム,jimu-zaimu,zaimu.kacho,DB・システム,本庁舎サーバ室,有,LGWAN接続系,自治体機密性3C,2,2,無,,無,無,"));
            }
            _ => {
                assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "UTF-8 with BOM");
                let text = std::str::from_utf8(&bytes[3..]).unwrap();
                assert!(text.contains("'=SUM(A1:A3)"));
                assert!(text.contains("'-地下書庫"));
                assert!(text.contains("9時〜17時"));
            }
        }
        let before = register(&app).await;
        let plan = plan_of(&import(&app, &token, name, bytes, true).await);
        assert_eq!(plan["created"], 0, "{query}");
        assert_eq!(plan["updated"], 0, "{query}: {plan:#}");
        assert_eq!(plan["unchanged"], total, "{query}");
        assert_eq!(plan["rows"].as_array().unwrap().len() as i64, total);
        assert_eq!(register(&app).await, before);
    }
    // The CP932 look-alike does not overwrite the register's own text when another field of
    // the row changes.
    let r = export(&app, &token, "format=csv&encoding=cp932&q=J-INF-032").await;
    let (text, _, _) = encoding_rs::SHIFT_JIS.decode(&r.bytes);
    let edited = text.replace("会計事務", "会計事務（改）");
    let (bytes, _, _) = encoding_rs::SHIFT_JIS.encode(&edited);
    let plan = plan_of(&import(&app, &token, "edit.csv", bytes.to_vec(), false).await);
    assert_eq!(plan["updated"], 1, "{plan:#}");
    let changes = &plan["rows"][0]["changes"];
    assert_eq!(changes.as_array().unwrap().len(), 1, "{changes:#}");
    assert_eq!(changes[0]["label"], "業務名");
    let a = asset(&app, "J-INF-032").await;
    assert_eq!(a.name, "会計伝票綴り（9時〜17時受付分）");
    assert_eq!(a.business, "会計事務（改）");
}

#[tokio::test]
async fn an_import_creates_and_updates_in_one_audited_transaction() {
    let app = TestApp::new().await;
    let token = app.token("ciso").await;
    let bytes = xlsx(&headers(), &[new_row(), changed_row()]);

    // A dry run shows the plan and writes nothing.
    let before = register(&app).await;
    let plan = plan_of(&import(&app, &token, "追加.xlsx", bytes.clone(), true).await);
    assert_eq!(register(&app).await, before, "a dry run writes nothing");
    assert_eq!(
        (plan["created"].as_i64(), plan["updated"].as_i64()),
        (Some(1), Some(1))
    );
    let rows = plan["rows"].as_array().unwrap();
    assert_eq!(rows[0]["row"], 2);
    assert_eq!(rows[0]["action"], "create");
    assert_eq!(rows[1]["action"], "update");
    let changes: Vec<(String, String, String)> = rows[1]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["label"].as_str().unwrap().to_owned(),
                c["before"].as_str().unwrap().to_owned(),
                c["after"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        changes,
        vec![
            (
                "機密性".into(),
                "自治体機密性2".into(),
                "自治体機密性3C".into()
            ),
            ("完全性".into(), "1".into(), "2".into()),
        ]
    );

    let r = import(&app, &token, "追加.xlsx", bytes.clone(), false).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v = r.json();
    assert_eq!(v["applied"], true);
    assert_eq!(v["summary"]["created"], 1);
    assert_eq!(v["summary"]["updated"], 1);

    let new = asset(&app, "J-NEW-001").await;
    assert_eq!(new.unit_id, app.unit_id("jimu-zaimu").await);
    assert_eq!(new.manager_id, Some(app.person_id("zaimu.kacho").await));
    assert_eq!(
        (new.kind.as_str(), new.medium.as_str()),
        ("info_printed", "paper")
    );
    assert_eq!(new.confidentiality, "2");
    assert_eq!(new.personal_count, Some(1200));
    assert_eq!(new.lockable, 1);
    assert_eq!(new.retention, "５年", "free text is kept as typed");
    assert_eq!(new.restrictions, "no_take_out,need_to_know");
    assert_eq!(new.last_reviewed.as_deref(), Some("2026-04-01"));
    let changed = asset(&app, "J-SYS-008").await;
    assert_eq!(
        (changed.confidentiality.as_str(), changed.integrity),
        ("3C", 2)
    );
    assert_eq!(changed.version, 2);

    // One entry per asset, with the state before and after, and one summary.
    let entries = mamori_db::audit::list(
        &app.db,
        &mamori_db::audit::Filter {
            action_prefix: Some("asset.import".into()),
            ..Default::default()
        },
        10,
    )
    .await
    .unwrap();
    let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        vec!["asset.import", "asset.import.create", "asset.import.update"],
        "newest first"
    );
    let summary: Value = serde_json::from_str(entries[0].after_json.as_deref().unwrap()).unwrap();
    assert_eq!(summary["file_name"], "追加.xlsx");
    assert_eq!(summary["file_sha256"].as_str().unwrap().len(), 64);
    assert_eq!(
        (summary["created"].as_i64(), summary["updated"].as_i64()),
        (Some(1), Some(1))
    );
    assert_eq!(entries[1].object_type, "asset");
    assert_eq!(
        entries[1].object_id.as_deref(),
        Some(new.id.to_string().as_str())
    );
    assert_eq!(entries[1].actor, "ciso");
    let update_before: Value =
        serde_json::from_str(entries[2].before_json.as_deref().unwrap()).unwrap();
    let update_after: Value =
        serde_json::from_str(entries[2].after_json.as_deref().unwrap()).unwrap();
    assert_eq!(update_before["confidentiality"], "2");
    assert_eq!(update_after["confidentiality"], "3C");

    // The same file again changes nothing; a file with only some columns keeps the others.
    let plan = plan_of(&import(&app, &token, "追加.xlsx", bytes, true).await);
    assert_eq!(plan["unchanged"], 2, "{plan:#}");
    let few = [
        "資産番号",
        "名称",
        "種別",
        "所管課",
        "機密性",
        "完全性",
        "可用性",
    ]
    .map(str::to_owned);
    let bytes = csv(
        &few,
        &[row(&[
            "J-SYS-008",
            "施設予約システム",
            "情報システム",
            "業務課",
            "3C",
            "2",
            "可用性２",
        ])],
    );
    let plan = plan_of(&import(&app, &token, "一部.csv", bytes, false).await);
    assert_eq!(plan["updated"], 1);
    assert_eq!(plan["rows"][0]["changes"].as_array().unwrap().len(), 1);
    let after = asset(&app, "J-SYS-008").await;
    assert_eq!(after.availability, 2);
    assert_eq!(
        after.manager_id, changed.manager_id,
        "absent columns are kept"
    );
    assert_eq!(after.location, changed.location);
}

#[tokio::test]
async fn accepted_spellings_and_refused_files() {
    let app = TestApp::new().await;
    let token = app.token("ciso").await;
    let h = headers();

    // Accepted: an Excel date serial and full-width digits in xlsx, 和暦, 「機密性２」.
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    for (col, header) in (0u16..).zip(&h) {
        ws.write_string(0, col, header).unwrap();
    }
    for (col, value) in (0u16..).zip(new_row()) {
        if col == 23 {
            ws.write_number(1, col, 46113.0).unwrap();
        } else {
            ws.write_string(1, col, value).unwrap();
        }
    }
    let plan = plan_of(
        &import(
            &app,
            &token,
            "serial.xlsx",
            wb.save_to_buffer().unwrap(),
            true,
        )
        .await,
    );
    assert_eq!(plan["created"], 1, "{plan:#}");

    let with = |col: usize, value: &str| {
        let mut r = new_row();
        r[col] = value.to_owned();
        r
    };
    let numbered = |no: &str, col: usize, value: &str| {
        let mut r = with(col, value);
        r[0] = no.to_owned();
        r
    };
    // Missing or renamed headers.
    let mut renamed = h.clone();
    renamed[0] = "資産コード".into();
    refused(
        &app,
        &token,
        "renamed.xlsx",
        xlsx(&renamed, &[new_row()]),
        &[(
            Some(1),
            None,
            "必要な列がありません: 資産番号（見つかった見出し: 名称、",
        )],
    )
    .await;
    refused(
        &app,
        &token,
        "missing.csv",
        csv(&h[..3], &[row(&["J-NEW-001", "名称", "業務"])]),
        &[(
            Some(1),
            None,
            "必要な列がありません: 種別、所管課、機密性、完全性、可用性",
        )],
    )
    .await;
    // Merged cells and formulas.
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    for (col, header) in (0u16..).zip(&h) {
        ws.write_string(0, col, header).unwrap();
    }
    for (col, value) in (0u16..).zip(new_row()) {
        ws.write_string(1, col, value).unwrap();
    }
    ws.merge_range(2, 1, 3, 1, "結合", &rust_xlsxwriter::Format::new())
        .unwrap();
    ws.write_formula(1, 17, "=CONCAT(\"a\",\"b\")").unwrap();
    refused(
        &app,
        &token,
        "merged.xlsx",
        wb.save_to_buffer().unwrap(),
        &[
            (Some(3), None, "結合されたセル（B3:B4）"),
            (Some(2), Some("利用者範囲"), "数式"),
        ],
    )
    .await;
    // Dates that cannot be read or are ambiguous, rows numbered as Excel shows them (the blank
    // row 3 is skipped, not renumbered).
    let dates = vec![
        with(23, "平成31年5月1日"),
        vec![String::new(); 25],
        numbered("J-NEW-002", 23, "26/4/1"),
    ];
    refused(
        &app,
        &token,
        "dates.xlsx",
        xlsx(&h, &dates),
        &[
            (
                Some(2),
                Some("最終確認日"),
                "令和元年5月1日ではありませんか",
            ),
            (Some(4), Some("最終確認日"), "西暦か和暦か判断できません"),
        ],
    )
    .await;
    // Classes, units and managers that are unknown or ambiguous, a number that is not one,
    // a duplicate 資産番号 — every row checked, each named by row, column and value.
    let rows = vec![
        new_row(),
        vec![String::new(); 25],
        numbered("J-NEW-002", 10, "機密性4"),
        numbered("J-NEW-003", 10, "機密性３"),
        numbered("J-NEW-004", 4, "nosuch-unit"),
        numbered("J-NEW-005", 4, "総務課"),
        numbered("J-NEW-006", 12, "３"),
        numbered("J-NEW-007", 14, "たくさん"),
        numbered("J-NEW-008", 5, "山田 花子"),
        new_row(),
    ];
    refused(
        &app,
        &token,
        "bad.xlsx",
        xlsx(&h, &rows),
        &[
            (
                Some(4),
                Some("機密性"),
                "「機密性4」は機密性の区分として認識できません",
            ),
            (Some(5), Some("機密性"), "3A・3B・3C のどれか判断できません"),
            (
                Some(6),
                Some("所管課"),
                "所管課「nosuch-unit」が見つかりません",
            ),
            (Some(7), Some("所管課"), "jimu-somu・shobo-somu"),
            (
                Some(8),
                Some("可用性"),
                "「３」は可用性の区分として認識できません",
            ),
            (
                Some(9),
                Some("件数"),
                "件数「たくさん」は0以上の数で入力してください",
            ),
            (
                Some(10),
                Some("管理者"),
                "管理者「山田 花子」が見つかりません",
            ),
            (
                Some(11),
                Some("資産番号"),
                "資産番号が2行目と重複しています",
            ),
        ],
    )
    .await;
    // A file named .xlsx that is not, a zip bomb, a file over the limit.
    refused(
        &app,
        &token,
        "台帳.xlsx",
        csv(&h, &[new_row()]),
        &[(None, None, "中身が xlsx 形式ではありません")],
    )
    .await;
    let bomb = {
        let mut zw = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, data) in [
            ("[Content_Types].xml", b"<Types/>".to_vec()),
            ("xl/workbook.xml", b"<workbook/>".to_vec()),
            ("xl/worksheets/sheet1.xml", vec![b' '; 30 * 1024 * 1024]),
        ] {
            zw.start_file(name, options).unwrap();
            zw.write_all(&data).unwrap();
        }
        zw.finish().unwrap().into_inner()
    };
    assert!(bomb.len() < 256 * 1024);
    refused(&app, &token, "bomb.xlsx", bomb, &[(None, None, "zip 爆弾")]).await;
    let big = xlsx(&h, &vec![new_row(); 50]);
    let small = Limits {
        max_file_bytes: big.len() - 1,
        ..assets_io::limits()
    };
    let e = assets_io::read_file_with(&big, "big.xlsx", &small).unwrap_err();
    assert!(matches!(
        e.errors[0].kind,
        TabularErrorKind::FileTooLarge { .. }
    ));
    assert!(e.to_string().starts_with("ファイルが大きすぎます"), "{e}");
    // CSV in an encoding Excel does not write, broken bytes, ragged rows.
    let mut utf16 = vec![0xFF, 0xFE];
    for unit in "資産番号,名称\r\n".encode_utf16() {
        utf16.extend_from_slice(&unit.to_le_bytes());
    }
    refused(&app, &token, "u16.csv", utf16, &[(None, None, "UTF-16")]).await;
    let mut broken = csv(&h, &[new_row()]);
    broken.extend_from_slice(b"J-NEW-009,\xFF\xFE\xFD\r\n");
    refused(
        &app,
        &token,
        "broken.csv",
        broken,
        &[(Some(3), None, "文字コードを判別できません")],
    )
    .await;
    let mut ragged = String::from_utf8(csv(&h, &[new_row()])[3..].to_vec()).unwrap();
    ragged.push_str("J-NEW-003,短い行\r\n");
    refused(
        &app,
        &token,
        "ragged.csv",
        ragged.into_bytes(),
        &[(
            Some(3),
            None,
            "列の数が見出し行と違います（見出しは25列、この行は2列）",
        )],
    )
    .await;
    // A row that breaks a handling rule of severity error (特定個人情報 outside
    // マイナンバー利用事務系), among good rows.
    let mut breach = changed_row();
    breach[9] = "LGWAN接続系".into();
    breach[13] = "有".into();
    breach[16] = "有".into();
    refused(
        &app,
        &token,
        "rule.xlsx",
        xlsx(&h, &[new_row(), breach]),
        &[(Some(3), Some("特定個人情報"), "取扱いルール［A001］")],
    )
    .await;
    // Rows outside the importer's reach: 財政課's 管理者 may not import for 消防本部, nor
    // change an asset of 業務課.
    let kacho = app.token("zaimu.kacho").await;
    refused(
        &app,
        &kacho,
        "reach.xlsx",
        xlsx(&h, &[with(4, "shobo-somu"), changed_row()]),
        &[
            (Some(2), Some("所管課"), "取込みの権限の範囲外です"),
            (Some(3), Some("所管課"), "取込みの権限の範囲外です"),
        ],
    )
    .await;
    // Staff may not import at all.
    let staff = app.token("keiri").await;
    let before = register(&app).await;
    let r = import(&app, &staff, "x.xlsx", xlsx(&h, &[new_row()]), false).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert_eq!(register(&app).await, before);
}

#[tokio::test]
async fn a_body_over_the_configured_limit_is_refused() {
    let app = TestApp::with_config(mamori_web::AppConfig {
        max_body_bytes: 64 * 1024,
        ..crate::common::test_config()
    })
    .await;
    let token = app.token("ciso").await;
    let big = {
        let mut rows = Vec::new();
        for i in 0..5_000 {
            let mut r = new_row();
            r[0] = format!("J-BIG-{i:05}");
            r[7] = format!("書庫{}", i * 7919 % 10_007);
            r[24] = format!("備考{i} {}", i * 104_729 % 1_000_003);
            rows.push(r);
        }
        xlsx(&headers(), &rows)
    };
    assert!(big.len() > 64 * 1024);
    let before = register(&app).await;
    let r = import(&app, &token, "big.xlsx", big, false).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.body);
    assert_eq!(r.json()["error"]["code"], "payload_too_large");
    assert_eq!(register(&app).await, before);
}

#[tokio::test]
async fn cp932_exports_report_what_they_cannot_hold_and_exports_are_audited() {
    let app = TestApp::new().await;
    for (no, name) in [
        ("J-INF-001", "人事記録（𠮷田分）"),
        ("J-INF-002", "給与🙂データ"),
    ] {
        sqlx::query("UPDATE asset SET name = $1 WHERE asset_no = $2")
            .bind(name)
            .bind(no)
            .execute(app.db.pool())
            .await
            .unwrap();
    }
    let token = app.token("ciso").await;
    let exports = app.audit_count("asset.export").await;
    let r = export(&app, &token, "format=csv&encoding=cp932").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let v = r.json();
    assert_eq!(v["error"]["code"], "unencodable");
    let errors = v["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert_eq!(errors[0]["column"], "名称");
    assert_eq!(errors[0]["value"], "人事記録（𠮷田分）");
    assert!(errors[0]["text"].as_str().unwrap().contains("U+20BB7"));
    assert_eq!(errors[1]["value"], "給与🙂データ");
    assert!(errors[1]["row"].as_u64().unwrap() > errors[0]["row"].as_u64().unwrap());
    assert_eq!(
        app.audit_count("asset.export").await,
        exports,
        "nothing exported"
    );

    // The page says the same, naming the cells; UTF-8 and xlsx hold everything.
    let mut c = app.login("ciso").await;
    let page = c.get("/inventory/export?format=csv&encoding=cp932").await;
    assert_eq!(
        page.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        page.body
    );
    assert!(page.body.contains("人事記録（𠮷田分）"));
    assert!(page.body.contains("Shift_JIS"));
    let ok = c
        .get("/inventory/export?format=csv&encoding=utf8&kind=info_electronic")
        .await;
    assert_eq!(ok.status, StatusCode::OK);
    assert!(ok.body.contains("給与🙂データ"));
    assert!(!ok.body.contains("J-SYS-001"), "the list's filters apply");
    let bad = c.get("/inventory/export?format=pdf").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);

    // Every export is audited with its format, encoding, size and filter.
    assert_eq!(app.audit_count("asset.export").await, exports + 1);
    let e = mamori_db::audit::list(
        &app.db,
        &mamori_db::audit::Filter {
            action_prefix: Some("asset.export".into()),
            ..Default::default()
        },
        1,
    )
    .await
    .unwrap();
    let after: Value = serde_json::from_str(e[0].after_json.as_deref().unwrap()).unwrap();
    assert_eq!(after["format"], "csv");
    assert_eq!(after["encoding"], "utf8");
    assert_eq!(after["filter"], "kind=info_electronic");
    assert!(after["rows"].as_i64().unwrap() > 10);
    assert_eq!(e[0].actor, "ciso");

    // Staff export only their own unit's assets.
    let keiri = app.token("keiri").await;
    let r = export(&app, &keiri, "format=csv").await;
    assert_eq!(r.status, StatusCode::OK);
    let text = String::from_utf8_lossy(&r.bytes);
    assert!(text.contains("J-INF-011"), "会計係's own");
    assert!(!text.contains("S-SYS-001"), "not 消防本部's");
}

async fn upload(c: &mut Client, name: &str, bytes: &[u8], csrf: bool) -> Resp {
    let page = c.get("/inventory/import").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let token = if csrf {
        c.csrf.clone().unwrap()
    } else {
        String::new()
    };
    let body = multipart(&[("csrf", &token)], Some((name, bytes)));
    post_multipart(c, "/inventory/import", body).await
}

async fn apply(c: &mut Client, preview: &Resp, digest: Option<&str>) -> Resp {
    let file = hidden(&preview.body, "file");
    let file_name = hidden(&preview.body, "file_name");
    let shown = hidden(&preview.body, "digest");
    c.post_form(
        "/inventory/import/apply",
        &[
            ("file", &file),
            ("file_name", &file_name),
            ("digest", digest.unwrap_or(&shown)),
        ],
    )
    .await
}

#[tokio::test]
async fn the_pages_upload_preview_and_apply() {
    let app = TestApp::new().await;
    let mut c = app.login("tokatsu").await;
    let page = c.get("/inventory/import").await;
    assert!(page.body.contains("id=\"import-columns\""));
    assert!(page.body.contains("委託先・クラウド"));
    let bytes = xlsx(&headers(), &[new_row(), changed_row()]);

    let before = register(&app).await;
    let r = upload(&mut c, "追加.xlsx", &bytes, false).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "no CSRF token: {}", r.body);
    let preview = upload(&mut c, "追加.xlsx", &bytes, true).await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.body);
    assert_eq!(register(&app).await, before, "a preview writes nothing");
    assert!(preview.body.contains("J-NEW-001"));
    assert!(preview.body.contains("<td>新規</td>"));
    assert!(
        preview
            .body
            .contains("機密性: 自治体機密性2 → 自治体機密性3C")
    );
    assert!(
        !preview.body.contains("style="),
        "CSP forbids inline styles"
    );

    // A digest other than the one shown is refused with the current plan.
    let stale = apply(&mut c, &preview, Some("0000")).await;
    assert_eq!(stale.status, StatusCode::CONFLICT, "{}", stale.body);
    assert!(stale.body.contains("id=\"import-stale\""));
    assert_eq!(register(&app).await, before);

    let done = apply(&mut c, &preview, None).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert!(done.body.contains("反映しました"));
    assert!(done.by_id("import-result").is_some());
    assert_eq!(asset(&app, "J-NEW-001").await.confidentiality, "2");

    // The same preview applied again: its digest no longer matches the register.
    let again = apply(&mut c, &preview, None).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
    assert!(
        again.body.contains("id=\"import-nothing\""),
        "{}",
        again.body
    );

    // A bad file brings the upload page back with the problems in a table.
    let mut bad = new_row();
    bad[10] = "機密性３".into();
    let r = upload(&mut c, "bad.csv", &csv(&headers(), &[bad]), true).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("id=\"import-errors\""));
    assert!(
        r.body.contains("<td>2行目</td><td>機密性</td>"),
        "{}",
        r.body
    );
    assert!(r.body.contains("機密性３"));
}

/// Runs `mamori assets import`: the exit code, standard output and standard error.
pub(crate) async fn cli_import(
    app: &TestApp,
    file: &Path,
    dry_run: bool,
) -> (ExitCode, String, String) {
    let args = ImportArgs {
        file: file.to_owned(),
        org: None,
        dry_run,
    };
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = assets_cmd::import_to(&app.db, args, &mut out, &mut err)
        .await
        .unwrap();
    let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
    (code, text(out), text(err))
}

/// Runs `mamori assets export --include-disposed`, to `org` when given.
async fn cli_export(
    app: &TestApp,
    out_file: &Path,
    format: &str,
    encoding: &str,
    org: Option<&str>,
) -> (ExitCode, String, String) {
    let args = ExportArgs {
        format: format.into(),
        encoding: encoding.into(),
        out: out_file.to_owned(),
        org: org.map(str::to_owned),
        include_disposed: true,
    };
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = assets_cmd::export_to(&app.db, args, &mut out, &mut err)
        .await
        .unwrap();
    let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
    (code, text(out), text(err))
}

/// The newest audit entry whose action starts with `prefix`.
async fn newest(app: &TestApp, prefix: &str) -> mamori_db::audit::Entry {
    let filter = mamori_db::audit::Filter {
        action_prefix: Some(prefix.into()),
        ..Default::default()
    };
    let mut entries = mamori_db::audit::list(&app.db, &filter, 1).await.unwrap();
    entries.remove(0)
}

#[tokio::test]
async fn the_cli_exports_plans_imports_and_refuses() {
    let app = TestApp::new().await;
    let dir = tempfile::tempdir().unwrap();

    let file = dir.path().join("台帳.xlsx");
    let (code, said, _) = cli_export(&app, &file, "xlsx", "", None).await;
    assert_eq!(code, ExitCode::SUCCESS);
    assert!(
        said.contains("件の情報資産を出力しました（xlsx、utf8"),
        "{said}"
    );
    assert_eq!(newest(&app, "asset.export").await.actor, "cli");

    // Re-import: nothing to do.
    let before = register(&app).await;
    let (code, said, _) = cli_import(&app, &file, false).await;
    assert_eq!(code, ExitCode::SUCCESS);
    assert!(said.contains("新規0件 変更0件 変更なし"), "{said}");
    assert!(said.contains("反映する変更はありません"), "{said}");
    assert_eq!(register(&app).await, before);

    // A dry run lists the changes and writes nothing; without it they are applied.
    let edit = dir.path().join("追加.csv");
    std::fs::write(&edit, csv(&headers(), &[new_row(), changed_row()])).unwrap();
    let (code, said, _) = cli_import(&app, &edit, true).await;
    assert_eq!(code, ExitCode::SUCCESS);
    for expected in [
        "新規1件 変更1件 変更なし0件",
        "■ 新規\n  2行目 J-NEW-001 新規 紙台帳",
        "■ 変更\n  3行目 J-SYS-008 施設予約システム\n    機密性: 自治体機密性2 → 自治体機密性3C\n    完全性: 1 → 2",
        "--dry-run のため反映していません",
    ] {
        assert!(said.contains(expected), "no {expected} in\n{said}");
    }
    assert_eq!(register(&app).await, before);
    let (code, said, _) = cli_import(&app, &edit, false).await;
    assert_eq!(code, ExitCode::SUCCESS);
    assert!(said.contains("反映しました: 新規1件、変更1件"), "{said}");
    assert_eq!(newest(&app, "asset.import").await.actor, "cli");

    // Bad input: exit 2, every problem listed, nothing written.
    let before = register(&app).await;
    let bad = dir.path().join("bad.csv");
    let mut dup = new_row();
    dup[0] = "J-SYS-001".into();
    let mut wrong = new_row();
    wrong[10] = "機密性３".into();
    wrong[0] = "J-NEW-005".into();
    std::fs::write(&bad, csv(&headers(), &[dup.clone(), dup, wrong])).unwrap();
    let (code, _, said) = cli_import(&app, &bad, false).await;
    assert_eq!(code, ExitCode::from(2));
    assert!(
        said.contains("bad.csv に2件の問題があります。何も反映していません。"),
        "{said}"
    );
    assert!(
        said.contains("3行目「資産番号」列の値「J-SYS-001」: 資産番号が2行目と重複しています"),
        "{said}"
    );
    assert!(said.contains("4行目「機密性」列の値「機密性３」"), "{said}");
    assert_eq!(register(&app).await, before);
    let (code, _, said) = cli_import(&app, &dir.path().join("none.xlsx"), true).await;
    assert_eq!(code, ExitCode::from(2));
    assert!(said.contains("を開けません"), "{said}");

    // A CP932 export that cannot hold a note: exit 2, the cell named, no file; other mistakes.
    sqlx::query("UPDATE asset SET note = '𠮷' WHERE asset_no = 'J-NW-001'")
        .execute(app.db.pool())
        .await
        .unwrap();
    let sjis = dir.path().join("sjis.csv");
    let (code, _, said) = cli_export(&app, &sjis, "csv", "cp932", None).await;
    assert_eq!(code, ExitCode::from(2));
    assert!(said.contains("「備考」列の値「𠮷」"), "{said}");
    assert!(!sjis.exists(), "no file written");
    let (code, _, said) = cli_export(&app, &sjis, "ods", "", None).await;
    assert_eq!(code, ExitCode::from(2));
    assert!(said.contains("形式「ods」は指定できません"), "{said}");
    let (code, _, said) = cli_export(&app, &sjis, "csv", "utf8", Some("nope")).await;
    assert_eq!(code, ExitCode::from(2));
    assert!(
        said.contains("団体コード「nope」の団体はありません"),
        "{said}"
    );
}

/// `bytes` (a zip) with entry `name` replaced by `data`.
fn with_entry(bytes: &[u8], name: &str, data: &[u8]) -> Vec<u8> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for i in 0..archive.len() {
        let mut e = archive.by_index(i).unwrap();
        let entry_name = e.name().unwrap().into_owned();
        let mut content = Vec::new();
        e.read_to_end(&mut content).unwrap();
        out.start_file(entry_name.as_str(), options).unwrap();
        out.write_all(if entry_name == name { data } else { &content })
            .unwrap();
    }
    out.finish().unwrap().into_inner()
}

#[tokio::test]
async fn malformed_files_are_refused_with_a_clear_error_and_nothing_written() {
    let app = TestApp::new().await;
    let token = app.token("ciso").await;
    let good = xlsx(&headers(), &[new_row(), changed_row()]);

    // A workbook cut off in transfer.
    let truncated = good.get(..good.len() / 2).unwrap().to_vec();
    refused(
        &app,
        &token,
        "途中まで.xlsx",
        truncated,
        &[(None, None, "xlsx ファイルが壊れています")],
    )
    .await;

    // A sheet whose XML stops in the middle of a row, and one with a cell no sheet can hold.
    let sheet = entry(&good, "xl/worksheets/sheet1.xml");
    let cut = sheet.get(..sheet.len() * 2 / 3).unwrap();
    refused(
        &app,
        &token,
        "壊れたXML.xlsx",
        with_entry(&good, "xl/worksheets/sheet1.xml", cut.as_bytes()),
        &[(None, None, "xlsx ファイルが壊れています")],
    )
    .await;
    let crafted = sheet.replacen("r=\"A2\"", "r=\"ZZZZZZZZZZ2\"", 1);
    refused(
        &app,
        &token,
        "番地.xlsx",
        with_entry(&good, "xl/worksheets/sheet1.xml", crafted.as_bytes()),
        &[(None, None, "範囲外のセル番地")],
    )
    .await;

    // A cell of 40,000 characters, over Excel's own limit.
    let mut huge = new_row();
    huge[24] = "あ".repeat(40_000);
    refused(
        &app,
        &token,
        "長い備考.csv",
        csv(&headers(), &[huge]),
        &[(Some(2), Some("備考"), "セルの文字数が多すぎます（40000文字")],
    )
    .await;
}
