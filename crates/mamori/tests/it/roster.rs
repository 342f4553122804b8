//! 名簿取込み end to end: the upload → preview → apply pages, the API, and the CLI command, on
//! the demo organisation (峡南広域行政組合) with an April 2027 人事異動.

use axum::body::Body;
use http::{Method, Request, StatusCode, header};
use mamori::roster_cmd::{self, RosterArgs};
use mamori_tabular::ExportTable;

use crate::common::{Client, Resp, TestApp};

const EFFECTIVE: &str = "2027-04-01";
pub(crate) const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
const HEADERS: [&str; 7] = [
    "職員番号",
    "氏名",
    "ログインID",
    "所属コード",
    "雇用形態",
    "在職状況",
    "役割",
];

/// The transfer: 笠井 moves to 財政課; 市川 stays in 財政課 but becomes 管理者 of 業務課;
/// 中村 retires; 新井 joins 総務係.
const TRANSFER: [[&str; 7]; 4] = [
    [
        "0006",
        "笠井 直樹",
        "somu",
        "jimu-zaimu",
        "正規職員",
        "在職",
        "",
    ],
    [
        "0008",
        "市川 浩",
        "zaimu.kacho",
        "jimu-zaimu",
        "正規職員",
        "",
        "情報セキュリティ管理者@jimu-gyomu",
    ],
    [
        "0010",
        "中村 翔太",
        "keiri2",
        "jimu-zaimu-keiri",
        "臨時職員",
        "退職",
        "",
    ],
    [
        "0101",
        "新井 春香",
        "arai.h",
        "jimu-somu-somu",
        "会計年度任用職員",
        "",
        "",
    ],
];

fn table(rows: &[[&str; 7]]) -> ExportTable {
    let mut t = ExportTable::new("名簿", HEADERS.iter().map(|h| (*h).to_owned()).collect());
    for r in rows {
        t.push(r.iter().map(|c| (*c).to_owned()).collect());
    }
    t
}

fn utf8_bom(rows: &[[&str; 7]]) -> Vec<u8> {
    mamori_tabular::write_csv_utf8(&table(rows)).unwrap()
}

fn cp932(rows: &[[&str; 7]]) -> Vec<u8> {
    mamori_tabular::write_csv_cp932(&table(rows)).unwrap()
}

fn xlsx(rows: &[[&str; 7]]) -> Vec<u8> {
    mamori_tabular::write_xlsx(&table(rows)).unwrap()
}

/// Persons, assignments and change entries of the audit trail: what an import may touch.
type State = (
    Vec<(i64, String, Option<String>, i64, String, String, String)>,
    Vec<(i64, i64, String, i64, String, Option<String>)>,
    i64,
);

async fn state(app: &TestApp) -> State {
    let persons = sqlx::query_as(
        "SELECT id, login, staff_no, unit_id, employment, status, updated_at FROM person ORDER BY id",
    )
    .fetch_all(app.db.pool())
    .await
    .unwrap();
    let assignments = sqlx::query_as(
        "SELECT id, person_id, role, unit_id, valid_from, valid_to FROM role_assignment ORDER BY id",
    )
    .fetch_all(app.db.pool())
    .await
    .unwrap();
    let changes = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_entry WHERE action LIKE 'person.%' OR action LIKE 'assignment.%' OR action LIKE 'roster.%'",
    )
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    (persons, assignments, changes)
}

/// (role, unit code) of a person's assignments in force on `day`, sorted.
async fn roles_on(app: &TestApp, login: &str, day: &str) -> Vec<(String, String)> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT a.role, u.code FROM role_assignment a JOIN person p ON p.id = a.person_id \
         JOIN unit u ON u.id = a.unit_id WHERE p.login = $1 AND a.valid_from <= $2 \
         AND (a.valid_to IS NULL OR a.valid_to >= $2) ORDER BY a.role, u.code",
    )
    .bind(login)
    .bind(day)
    .fetch_all(app.db.pool())
    .await
    .unwrap();
    rows
}

async fn person(app: &TestApp, login: &str) -> mamori_db::org::Person {
    mamori_db::org::person_by_login(&app.db, login)
        .await
        .unwrap()
        .unwrap()
}

const BOUNDARY: &str = "mamori-test-boundary-7f3a";

/// A multipart/form-data body: text fields, then the file (when given).
pub(crate) fn multipart(fields: &[(&str, &str)], file: Option<(&str, &[u8])>) -> Vec<u8> {
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
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
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
        .body(Body::from(body))
        .unwrap();
    c.send(req).await
}

/// Uploads a file for preview with the page's CSRF token.
async fn preview(c: &mut Client, file_name: &str, bytes: &[u8]) -> Resp {
    let page = c.get("/org/roster").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let csrf = c.csrf.clone().unwrap();
    let body = multipart(
        &[("csrf", &csrf), ("effective", "令和9年4月1日")],
        Some((file_name, bytes)),
    );
    post_multipart(c, "/org/roster/preview", body).await
}

/// The value of a hidden input on a page.
pub(crate) fn hidden(body: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let at = body
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in {body}"))
        + marker.len();
    let end = body[at..].find('"').unwrap() + at;
    body[at..end]
        .replace("&#43;", "+")
        .replace("&#47;", "/")
        .replace("&#61;", "=")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&#60;", "<")
        .replace("&#62;", ">")
        .replace("&#38;", "&")
        .replace("&amp;", "&")
}

/// Posts the 「反映する」 form of a preview page, with `digest` replaced when given.
async fn apply(c: &mut Client, preview: &Resp, digest: Option<&str>) -> Resp {
    let file = hidden(&preview.body, "file");
    let file_name = hidden(&preview.body, "file_name");
    let effective = hidden(&preview.body, "effective");
    let shown = hidden(&preview.body, "digest");
    let digest = digest.unwrap_or(&shown).to_owned();
    c.post_form(
        "/org/roster/apply",
        &[
            ("file", &file),
            ("file_name", &file_name),
            ("effective", &effective),
            ("digest", &digest),
        ],
    )
    .await
}

async fn api_import(app: &TestApp, login: &str, query: &str, ct: &str, bytes: Vec<u8>) -> Resp {
    let token = app.token(login).await;
    let mut c = app.client();
    let req = Request::builder()
        .method(Method::POST)
        .uri(format!("/api/v1/roster/import?{query}"))
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, ct)
        .body(Body::from(bytes))
        .unwrap();
    c.send(req).await
}

#[tokio::test]
async fn preview_shows_the_plan_and_changes_nothing() {
    let app = TestApp::new().await;
    let mut c = app.login("tokatsu").await;
    let before = state(&app).await;
    let r = preview(&mut c, "jinji.xlsx", &xlsx(&TRANSFER)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(state(&app).await, before, "a preview writes nothing");

    assert!(r.body.contains("令和9年4月1日"), "effective date in 和暦");
    let new = r.by_id("roster-new").unwrap_or_default();
    assert!(r.body.contains("新井 春香"), "{new}");
    // Before → after of the transfer, and the role changes.
    assert!(r.body.contains("財政課"));
    assert!(r.body.contains("<td>所属</td>"), "{}", r.body);
    assert!(r.body.contains("id=\"roster-starts\""));
    assert!(r.body.contains("id=\"roster-ends\""));
    assert!(r.body.contains("名簿に記載なし"));
    assert!(r.body.contains("id=\"roster-retirements\""));
    assert!(r.body.contains("中村 翔太"));
    // Everyone else is listed for information.
    assert!(r.body.contains("id=\"roster-absent\""));
    assert!(r.body.contains("望月 正和"));
    assert!(r.body.contains("反映する"));
    assert!(!r.body.contains("style="), "CSP forbids inline styles");
}

#[tokio::test]
async fn apply_creates_updates_and_ends_in_one_go() {
    let app = TestApp::new().await;
    let mut c = app.login("tokatsu").await;
    let p = preview(&mut c, "jinji.csv", &utf8_bom(&TRANSFER)).await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    let r = apply(&mut c, &p, None).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let result_url = r.location().unwrap().to_owned();
    assert!(result_url.starts_with("/org/roster/result/"));

    // 笠井: moved, 職員 moved with him.
    let somu = person(&app, "somu").await;
    assert_eq!(somu.unit_id, app.unit_id("jimu-zaimu").await);
    assert_eq!(
        roles_on(&app, "somu", "2027-03-31").await,
        vec![("staff".into(), "jimu-somu-somu".into())]
    );
    assert_eq!(
        roles_on(&app, "somu", EFFECTIVE).await,
        vec![("staff".into(), "jimu-zaimu".into())]
    );
    // 市川: 管理者 of 業務課 from the effective date, of 財政課 until the day before.
    assert_eq!(
        roles_on(&app, "zaimu.kacho", EFFECTIVE).await,
        vec![
            ("security_manager".into(), "jimu-gyomu".into()),
            ("staff".into(), "jimu-zaimu".into())
        ]
    );
    assert!(
        roles_on(&app, "zaimu.kacho", "2027-03-31")
            .await
            .contains(&("security_manager".into(), "jimu-zaimu".into()))
    );
    // 中村: retired, no role after the effective date.
    assert_eq!(person(&app, "keiri2").await.status, "retired");
    assert!(roles_on(&app, "keiri2", EFFECTIVE).await.is_empty());
    // 新井: registered with 職員 in 総務係.
    let arai = person(&app, "arai.h").await;
    assert_eq!(arai.staff_no.as_deref(), Some("0101"));
    assert_eq!(arai.employment, "fiscal_year_appointed");
    assert_eq!(
        roles_on(&app, "arai.h", EFFECTIVE).await,
        vec![("staff".into(), "jimu-somu-somu".into())]
    );
    // Everyone else untouched.
    assert_eq!(
        roles_on(&app, "ciso", EFFECTIVE).await,
        roles_on(&app, "ciso", "2027-03-31").await
    );
    assert_eq!(app.audit_count("roster.import").await, 1);
    assert_eq!(
        app.audit_count("person.create").await,
        41 + 1,
        "demo + 新井"
    );

    let done = c.get(&result_url).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert!(done.body.contains("反映しました"));
    assert!(done.body.contains("jinji.csv"));

    // Applying the same file again changes nothing.
    let again = preview(&mut c, "jinji.csv", &utf8_bom(&TRANSFER)).await;
    assert!(
        again.body.contains("id=\"roster-nothing\""),
        "{}",
        again.body
    );
}

#[tokio::test]
async fn cp932_bom_and_xlsx_files_are_all_accepted() {
    let app = TestApp::new().await;
    let cp = cp932(&TRANSFER);
    assert!(
        std::str::from_utf8(&cp).is_err(),
        "the fixture really is Shift_JIS"
    );
    let bom = utf8_bom(&TRANSFER);
    assert!(bom.starts_with(b"\xEF\xBB\xBF"));
    let mut digests = Vec::new();
    for (ct, bytes) in [
        ("text/csv; charset=Shift_JIS", cp),
        ("text/csv", bom),
        (XLSX, xlsx(&TRANSFER)),
    ] {
        let r = api_import(&app, "tokatsu", "effective=2027-04-01", ct, bytes).await;
        assert_eq!(r.status, StatusCode::OK, "{ct}: {}", r.body);
        let v = r.json();
        assert_eq!(v["applied"], false, "dry run is the default");
        let plan = &v["plan"];
        assert_eq!(plan["new_persons"].as_array().unwrap().len(), 1, "{ct}");
        assert_eq!(plan["new_persons"][0]["input"]["name"], "新井 春香");
        assert_eq!(plan["retirements"].as_array().unwrap().len(), 1);
        digests.push(plan["state_digest"].as_str().unwrap().to_owned());
    }
    assert!(digests.windows(2).all(|w| w[0] == w[1]));

    // The browser path reads Shift_JIS too.
    let mut c = app.login("tokatsu").await;
    let r = preview(&mut c, "jinji.csv", &cp932(&TRANSFER)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("新井 春香"));
}

/// Every kind of bad file comes back as the upload page with HTTP 422 and the place named.
#[tokio::test]
async fn bad_files_are_refused_with_the_place_named_and_nothing_written() {
    let app = TestApp::new().await;
    let mut c = app.login("tokatsu").await;
    let before = state(&app).await;

    let missing_header = "職員番号,氏名,ログインID,雇用形態\r\n0006,笠井 直樹,somu,正規職員\r\n"
        .as_bytes()
        .to_vec();
    let mut bad_cell = TRANSFER;
    bad_cell[1][4] = "アルバイト";
    let garbage: Vec<u8> = (0..600u32)
        .map(|i| u8::try_from((i * 7919 + 13) % 251).unwrap())
        .collect();
    let full = xlsx(&TRANSFER);
    let truncated = full[..full.len() / 2].to_vec();

    let cases: [(&str, Vec<u8>, &[&str]); 5] = [
        (
            "missing.csv",
            missing_header,
            &["1行目", "必要な列がありません: 所属コード"],
        ),
        (
            "bad.csv",
            utf8_bom(&bad_cell),
            &["3行目", "雇用形態", "アルバイト"],
        ),
        ("bad.xlsx", xlsx(&bad_cell), &["3行目", "E3", "アルバイト"]),
        (
            "garbage.csv",
            garbage,
            &["行目", "文字コードを判別できません"],
        ),
        (
            "truncated.xlsx",
            truncated,
            &["xlsx ファイルが壊れています"],
        ),
    ];
    for (name, bytes, expected) in cases {
        let r = preview(&mut c, name, &bytes).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{name}: {}",
            r.body
        );
        assert!(r.body.contains("id=\"roster-errors\""), "{name}");
        assert!(r.body.contains("何も反映していません"), "{name}");
        for e in expected {
            assert!(r.body.contains(e), "{name}: no {e} in {}", r.body);
        }
        // The same file over the API: 422 with the errors as JSON.
        let ct = if name.ends_with(".xlsx") {
            XLSX
        } else {
            "text/csv"
        };
        let api = api_import(&app, "tokatsu", "dry_run=false", ct, bytes).await;
        assert_eq!(
            api.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{name}: {}",
            api.body
        );
        let v = api.json();
        assert_eq!(v["error"]["code"], "invalid_file");
        assert!(!v["errors"].as_array().unwrap().is_empty());
    }
    assert_eq!(state(&app).await, before, "nothing written");
}

#[tokio::test]
async fn a_row_failing_late_in_the_file_leaves_nothing_written() {
    let app = TestApp::new().await;
    let before = state(&app).await;
    // Forty good rows (new staff), then one whose unit does not exist.
    let numbers: Vec<(String, String)> = (0..40)
        .map(|i| (format!("{}", 500 + i), format!("new.staff{i}")))
        .collect();
    let mut rows: Vec<[&str; 7]> = numbers
        .iter()
        .map(|(no, login)| {
            [
                no.as_str(),
                "新規 職員",
                login.as_str(),
                "jimu-somu-somu",
                "正規職員",
                "",
                "",
            ]
        })
        .collect();
    rows.extend_from_slice(&TRANSFER);
    rows.push([
        "0999",
        "最後 の行",
        "last.row",
        "no-such-unit",
        "正規職員",
        "",
        "",
    ]);
    let r = api_import(
        &app,
        "tokatsu",
        "dry_run=false&effective=R9.4.1",
        "text/csv",
        utf8_bom(&rows),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let errors = r.json()["errors"].clone();
    assert_eq!(errors.as_array().unwrap().len(), 1, "{errors}");
    assert_eq!(errors[0]["row"], 46);
    assert_eq!(errors[0]["column"], "所属コード");
    assert_eq!(state(&app).await, before);
}

#[tokio::test]
async fn the_api_applies_when_asked_and_is_in_the_openapi_document() {
    let app = TestApp::new().await;
    let r = api_import(
        &app,
        "tokatsu",
        "dry_run=false&effective=2027-04-01",
        XLSX,
        xlsx(&TRANSFER),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v = r.json();
    assert_eq!(v["applied"], true);
    assert_eq!(v["summary"]["created"], 1);
    assert_eq!(v["summary"]["retired"], 1);
    assert_eq!(person(&app, "keiri2").await.status, "retired");

    let wrong = api_import(&app, "tokatsu", "", "application/json", b"{}".to_vec()).await;
    assert_eq!(
        wrong.status,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "{}",
        wrong.body
    );
    assert_eq!(wrong.json()["error"]["code"], "unsupported_media_type");

    let mut c = app.client();
    let doc = c.get("/api/v1/openapi.json").await.json();
    let path = &doc["paths"]["/api/v1/roster/import"]["post"];
    assert!(path.is_object(), "{doc}");
    assert!(path["requestBody"]["content"]["text/csv"].is_object());
    assert!(path["requestBody"]["content"][XLSX].is_object());
}

#[tokio::test]
async fn staff_are_refused_and_the_refusal_is_audited() {
    let app = TestApp::new().await;
    let mut c = app.login("somu").await;
    let org_page = c.get("/org").await;
    assert!(!org_page.body.contains("/org/roster"), "no link for staff");
    let denied_before = app.audit_count("permission.denied").await;
    let r = c.get("/org/roster").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert!(r.body.contains("名簿の取込みの権限がありません"));
    // A well-formed upload with a valid token is refused too, before the file is read.
    let csrf = c.csrf.clone().unwrap();
    let body = multipart(
        &[("csrf", &csrf), ("effective", EFFECTIVE)],
        Some(("jinji.csv", &utf8_bom(&TRANSFER))),
    );
    let before = state(&app).await;
    let r = post_multipart(&mut c, "/org/roster/preview", body).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = api_import(
        &app,
        "somu",
        "dry_run=false",
        "text/csv",
        utf8_bom(&TRANSFER),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert_eq!(
        app.audit_count("permission.denied").await,
        denied_before + 3
    );
    let entries = mamori_db::audit::list(
        &app.db,
        &mamori_db::audit::Filter {
            action_prefix: Some("permission.denied".into()),
            ..Default::default()
        },
        10,
    )
    .await
    .unwrap();
    assert!(
        entries
            .iter()
            .all(|e| e.actor == "somu" && e.object_id.as_deref() == Some("roster.import"))
    );
    let (persons, assignments, _) = before;
    let (persons_after, assignments_after, _) = state(&app).await;
    assert_eq!((persons, assignments), (persons_after, assignments_after));
}

#[tokio::test]
async fn an_upload_without_the_csrf_token_is_refused() {
    let app = TestApp::new().await;
    let mut c = app.login("tokatsu").await;
    let body = multipart(
        &[("csrf", "forged"), ("effective", EFFECTIVE)],
        Some(("jinji.csv", &utf8_bom(&TRANSFER))),
    );
    let r = post_multipart(&mut c, "/org/roster/preview", body).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let body = multipart(&[("effective", EFFECTIVE)], Some(("jinji.csv", b"x")));
    let r = post_multipart(&mut c, "/org/roster/preview", body).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
}

#[tokio::test]
async fn a_stale_digest_is_refused_and_the_current_plan_shown() {
    let app = TestApp::new().await;
    let mut c = app.login("tokatsu").await;
    let p = preview(&mut c, "jinji.xlsx", &xlsx(&TRANSFER)).await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);

    // A tampered digest is refused.
    let before = state(&app).await;
    let r = apply(&mut c, &p, Some(&"0".repeat(64))).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert!(r.body.contains("id=\"roster-stale\""));
    assert_eq!(state(&app).await, before);

    // Someone changes 笠井 between preview and apply: the shown digest is now stale.
    let somu = person(&app, "somu").await;
    sqlx::query("UPDATE person SET phone = '内線 999', updated_at = $1 WHERE id = $2")
        .bind(mamori_db::now_text())
        .bind(somu.id)
        .execute(app.db.pool())
        .await
        .unwrap();
    let before = state(&app).await;
    let r = apply(&mut c, &p, None).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert!(r.body.contains("反映しませんでした"));
    assert_eq!(state(&app).await, before, "nothing applied");
    assert_eq!(app.audit_count("roster.import").await, 0);

    // The page shown is the current plan, which applies.
    let r2 = apply(&mut c, &r, None).await;
    assert_eq!(r2.status, StatusCode::SEE_OTHER, "{}", r2.body);
    assert_eq!(app.audit_count("roster.import").await, 1);
}

#[tokio::test]
async fn the_templates_download_and_read_back() {
    let app = TestApp::new().await;
    let mut c = app.login("tokatsu").await;
    let org_page = c.get("/org").await;
    assert!(
        org_page.body.contains("href=\"/org/roster\""),
        "linked from the organisation page"
    );
    let x = c.get("/org/roster/template.xlsx").await;
    assert_eq!(x.status, StatusCode::OK);
    assert_eq!(x.headers[header::CONTENT_TYPE], XLSX);
    assert!(x.bytes.starts_with(b"PK"));
    let csv = c.get("/org/roster/template.csv").await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.bytes.starts_with(b"\xEF\xBB\xBF"));
    assert!(
        csv.body
            .contains("職員番号,氏名,ふりがな,ログインID,所属コード")
    );
    // An untouched template is refused with a clear message, not imported as nothing.
    let r = preview(&mut c, "template.xlsx", &x.bytes).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("職員の行がありません"));
}

fn args(file: &std::path::Path, dry_run: bool) -> RosterArgs {
    RosterArgs {
        file: file.to_owned(),
        org: None,
        effective: Some("令和9年4月1日".into()),
        dry_run,
    }
}

#[tokio::test]
async fn the_cli_plans_applies_and_refuses_bad_files() {
    let app = TestApp::new().await;
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("jinji.csv");
    std::fs::write(&good, cp932(&TRANSFER)).unwrap();
    let bad = dir.path().join("bad.csv");
    let mut bad_cell = TRANSFER;
    bad_cell[3][3] = "nowhere";
    std::fs::write(&bad, cp932(&bad_cell)).unwrap();

    // What the command prints, from the same plan it computes.
    let org = mamori_core::org::OrgId(app.org_id);
    let cap =
        mamori_core::permission::Capability::<mamori_core::permission::can::ImportRoster>::operator(
            org,
        );
    let tree = mamori_db::org::unit_tree(&app.db, org).await.unwrap();
    let file = mamori_db::roster::read_file(&std::fs::read(&good).unwrap(), "jinji.csv").unwrap();
    let plan = mamori_db::roster::plan(
        &app.db,
        &cap,
        &tree,
        &file,
        &mamori_core::role::Role::ALL,
        time::macros::date!(2027 - 04 - 01),
    )
    .await
    .unwrap();
    let text = roster_cmd::render("峡南広域行政組合", &plan);
    for expected in [
        "峡南広域行政組合 名簿の取込み: jinji.csv（4行）",
        "新規1人 変更1人 退職1人",
        "■ 新規\n  5行目 0101 新井 春香（arai.h）",
        "所属: jimu-somu-somu 事務局 総務課 総務係 → jimu-zaimu 事務局 財政課",
        "■ 役割の終了（2027-03-31まで）",
        "■ ファイルにない職員（変更しません）",
    ] {
        assert!(text.contains(expected), "no {expected} in\n{text}");
    }

    let before = state(&app).await;
    let code = roster_cmd::run(&app.db, args(&bad, false)).await.unwrap();
    assert_eq!(code, std::process::ExitCode::from(2));
    let code = roster_cmd::run(&app.db, args(&good, true)).await.unwrap();
    assert_eq!(code, std::process::ExitCode::SUCCESS);
    assert_eq!(
        state(&app).await,
        before,
        "bad file and dry run write nothing"
    );

    let code = roster_cmd::run(&app.db, args(&good, false)).await.unwrap();
    assert_eq!(code, std::process::ExitCode::SUCCESS);
    assert_eq!(person(&app, "keiri2").await.status, "retired");
    let entry = mamori_db::audit::list(
        &app.db,
        &mamori_db::audit::Filter {
            action_prefix: Some("roster.import".into()),
            ..Default::default()
        },
        1,
    )
    .await
    .unwrap();
    assert_eq!(entry[0].actor, "cli");

    let mut wrong_org = args(&good, true);
    wrong_org.org = Some("nope".into());
    let code = roster_cmd::run(&app.db, wrong_org).await.unwrap();
    assert_eq!(code, std::process::ExitCode::from(2));
}

#[tokio::test]
async fn oversized_files_are_refused_by_size() {
    let app = TestApp::new().await;
    // Over the roster's own limit but within the request limit: a 422 that names the size.
    let big = vec![b'a'; mamori_db::roster::MAX_FILE_BYTES + 1];
    let r = api_import(&app, "tokatsu", "", "text/csv", big).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("ファイルが大きすぎます"));
    // Over the request limit: 413 before anything is read.
    let huge = vec![b'a'; mamori_web::AppConfig::default().max_body_bytes + 1];
    let r = api_import(&app, "tokatsu", "", "text/csv", huge).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.body);
    assert_eq!(r.json()["error"]["code"], "payload_too_large");
}
