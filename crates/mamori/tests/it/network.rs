//! The network page and API (三層の対策, §6(3)): the demo model with its check and diagram,
//! saving versions from the editor, an upload and the API, refusing invalid input with its
//! position, who may read and save, the audited export, and isolation between organisations.

use axum::body::Body;
use http::{Method, Request, StatusCode, header};
use mamori_core::permission::{Capability, can};
use mamori_core::role::Role;
use mamori_db::org::{self, AssignmentInput, AuditCtx, PersonInput};

use crate::common::{Client, PASSWORD, Resp, TestApp};

fn example() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/kyonan-alpha.toml"
    ))
    .unwrap()
}

/// The example with a flow between the マイナンバー zone and the internet appended; returns the
/// text and the line of the flow's `from` (where the checker locates a flow).
fn with_forbidden_flow() -> (String, usize) {
    let mut src = example();
    if !src.ends_with('\n') {
        src.push('\n');
    }
    src.push_str(
        "\n[[flow]]\nname = \"住基サーバからインターネット\"\nfrom = \"host:住基・税務サーバ\"\n\
         to = \"internet\"\nprotocol = \"tcp\"\nports = 443\npurpose = \"試験\"\n",
    );
    let lines: Vec<&str> = src.lines().collect();
    let line = lines
        .iter()
        .rposition(|l| *l == "from = \"host:住基・税務サーバ\"")
        .unwrap()
        + 1;
    (src, line)
}

/// The 1-based line on which `needle` first appears.
fn line_of(src: &str, needle: &str) -> usize {
    src.lines().position(|l| l.contains(needle)).unwrap() + 1
}

/// Rows of the violations table: (rule id, line cell text).
fn violation_rows(r: &Resp) -> Vec<(String, String)> {
    r.body
        .split("<tr class=\"violation\">")
        .skip(1)
        .map(|row| {
            let rule = row
                .split("<td class=\"mono rule\">")
                .nth(1)
                .and_then(|s| s.split('<').next())
                .unwrap()
                .to_owned();
            let line = row
                .split("<td class=\"line\">")
                .nth(1)
                .and_then(|s| s.split("</td>").next())
                .unwrap()
                .to_owned();
            (rule, line)
        })
        .collect()
}

/// A multipart form with the page's CSRF token, a `note` and a `file`.
async fn post_upload(c: &mut Client, file_name: &str, content: &[u8]) -> Resp {
    let boundary = "----mamori-test-boundary";
    let csrf = c.csrf.clone().unwrap();
    let mut body = Vec::new();
    for (name, value) in [("csrf", csrf.as_str()), ("toml", ""), ("note", "取込み")] {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\n\
             Content-Type: application/toml\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(content);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let req = Request::builder()
        .method(Method::POST)
        .uri("/network")
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={boundary}"),
        )
        .header(header::ORIGIN, "http://localhost")
        .header("sec-fetch-site", "same-origin")
        .body(Body::from(body))
        .unwrap();
    c.send(req).await
}

/// A PUT of `body` with a content type of our choosing.
async fn put_raw(c: &mut Client, token: &str, content_type: &str, body: &str) -> Resp {
    let req = Request::builder()
        .method(Method::PUT)
        .uri("/api/v1/network?note=API")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body.to_owned()))
        .unwrap();
    c.send(req).await
}

#[tokio::test]
async fn the_demo_model_shows_with_its_diagram_and_no_violation() {
    let app = TestApp::new().await;
    let mut c = app.login("tokatsu").await;
    let home = c.get("/").await;
    assert!(home.body.contains("href=\"/network\""), "nav entry");
    assert!(
        home.body
            .contains("ネットワーク構成の違反</div><div class=\"num\">0</div>"),
        "{}",
        home.body
    );

    let r = c.get("/network").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        r.by_id("network-name").unwrap(),
        "峡南広域行政組合 庁内ネットワーク"
    );
    assert_eq!(r.by_id("network-model").unwrap(), "αモデル");
    assert!(r.by_id("count-zones").unwrap().starts_with('3'));
    assert_eq!(r.by_id("count-hosts").unwrap(), "30");
    assert!(r.by_id("network-version").unwrap().contains("第1版"));
    assert!(
        r.by_id("check-result")
            .unwrap()
            .contains("違反はありません")
    );
    assert!(violation_rows(&r).is_empty());
    // The diagram inline: text labels, no script, nothing a strict CSP would strip.
    let svg_at = r.body.find("<svg").unwrap();
    let svg = &r.body[svg_at..r.body.find("</svg>").unwrap()];
    assert!(svg.contains("<text"));
    assert!(svg.contains("LGWAN接続系"));
    assert!(!svg.contains("<script") && !svg.contains(" style=") && !svg.contains("<style"));
    // Tables of the elements.
    assert!(r.body.contains("id=\"segments\""));
    assert!(r.body.contains("住基・税務サーバ"));
    assert!(r.body.contains("中間サーバーとの情報連携"));
    assert!(r.body.contains("R8-CISO-0001"));
    assert!(r.body.contains("<td>インターネット</td>"));
    assert!(r.body.contains("<td>生体認証</td>"));

    let d = c.get("/network/diagram.svg").await;
    assert_eq!(d.status, StatusCode::OK);
    assert!(
        d.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("image/svg+xml")
    );
    assert!(d.body.starts_with("<svg") && d.body.contains("<text"));
    assert!(!d.body.contains("<script"));

    let v = c.get("/network/versions").await;
    assert_eq!(v.status, StatusCode::OK);
    assert!(v.body.contains("/network/versions/1"));
    assert_eq!(c.get("/network/versions/1").await.status, StatusCode::OK);
    assert_eq!(
        c.get("/network/versions/2").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_planted_fault_becomes_version_2_showing_exactly_that_violation() {
    let app = TestApp::new().await;
    let mut c = app.login("sysadmin").await;
    let edit = c.get("/network/edit").await;
    assert_eq!(edit.status, StatusCode::OK, "{}", edit.body);
    assert!(edit.body.contains("第2版"));
    // The editor starts from the current text.
    assert!(edit.body.contains("中間サーバーとの情報連携"));

    let (src, line) = with_forbidden_flow();
    // Browsers send a textarea with CRLF line ends.
    let sent = src.replace('\n', "\r\n");
    let r = c
        .post_form("/network", &[("toml", &sent), ("note", "試験用の変更")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location(), Some("/network?saved=2"));
    assert_eq!(app.count("network_model").await, 2);
    assert_eq!(app.audit_count("network.version.create").await, 2);

    let page = c.get("/network?saved=2").await;
    assert!(page.body.contains("第2版として登録しました"));
    assert!(
        page.by_id("network-version")
            .unwrap()
            .contains("試験用の変更")
    );
    assert!(page.by_id("check-result").unwrap().contains("違反 1 件"));
    let rows = violation_rows(&page);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].0, "NC-101");
    assert!(
        rows[0].1.contains(&format!("href=\"#L{line}\">{line}行")),
        "{rows:?}"
    );
    assert!(page.body.contains("通信「住基サーバからインターネット」"));
    assert!(page.body.contains("基本方針 6(3)①"));
    assert!(page.body.contains(&format!("id=\"L{line}\"")));
    // The diagram marks it.
    let d = c.get("/network/diagram.svg").await;
    assert!(d.body.contains("NC-101"));
    // The old version is unchanged and still clean.
    let v1 = c.get("/network/versions/1").await;
    assert!(
        v1.by_id("check-result")
            .unwrap()
            .contains("違反はありません")
    );
    assert!(v1.body.contains("過去の版です"));
    // The dashboard counts it.
    let home = c.get("/").await;
    assert!(
        home.body
            .contains("ネットワーク構成の違反</div><div class=\"num\">1</div>")
    );
    // Stored with LF line ends: the export is the text as written.
    let e = c.get("/network/export.toml").await;
    assert_eq!(e.body, src);
}

#[tokio::test]
async fn an_uploaded_file_is_checked_and_stored() {
    let app = TestApp::new().await;
    let mut c = app.login("tokatsu").await;
    c.get("/network/edit").await;
    let src = example().replacen("approval = \"R8-CISO-0001\"\n", "", 1);
    let r = post_upload(&mut c, "kyonan.toml", src.as_bytes()).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = c.get("/network").await;
    let rows = violation_rows(&page);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].0, "NC-102");
    assert_eq!(app.count("network_model").await, 2);

    // A bad upload: errors name the uploaded file's lines, nothing is stored.
    c.get("/network/edit").await;
    let bad = example().replacen("10.20.1.0/24", "10.20.1.0/33", 1);
    let r = post_upload(&mut c, "bad.toml", bad.as_bytes()).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let line = line_of(&bad, "10.20.1.0/33");
    assert!(r.body.contains(&format!("{line}行 ")), "{}", r.body);
    // Not UTF-8: the position of the bad byte.
    let mut bytes = b"[network]\nname = \"x\"\n".to_vec();
    bytes.extend_from_slice(&[0xff, 0xfe]);
    let r = post_upload(&mut c, "bin.toml", &bytes).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("3行 1列"), "{}", r.body);
    assert_eq!(app.count("network_model").await, 2);
    // A form without the CSRF token is refused before anything is read.
    c.csrf = Some("wrong".into());
    let r = post_upload(&mut c, "kyonan.toml", src.as_bytes()).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(app.count("network_model").await, 2);
}

#[tokio::test]
async fn invalid_input_is_refused_with_line_and_column_and_nothing_is_stored() {
    let app = TestApp::new().await;
    let mut c = app.login("tokatsu").await;
    let token = app.token("tokatsu").await;
    let base = example();
    let cases = [
        (
            "CIDR",
            base.replacen("10.20.1.0/24", "10.20.1.0/33", 1),
            "10.20.1.0/33",
        ),
        (
            "zone",
            base.replacen("zone = \"lgwan\"", "zone = \"dmz\"", 1),
            "zone = \"dmz\"",
        ),
        (
            "syntax",
            base.replacen("name = \"事務局LGWAN端末\"", "name = \"事務局LGWAN端末", 1),
            "name = \"事務局LGWAN端末",
        ),
    ];
    for (what, src, needle) in &cases {
        let line = line_of(src, needle);
        c.get("/network/edit").await;
        let r = c.post_form("/network", &[("toml", src.as_str())]).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{what}: {}",
            r.body
        );
        let errors = r.by_id("network-errors");
        assert!(errors.is_some(), "{what}: {}", r.body);
        let at = r.body.find("id=\"network-errors\"").unwrap();
        let block = &r.body[at..];
        assert!(
            block.contains(&format!("<span class=\"mono\">{line}行 ")),
            "{what}: expected line {line}: {block}"
        );
        assert!(block.contains("列</span>"), "{what}");
        // The text stays in the editor to be fixed.
        assert!(r.body.contains("aria-invalid=\"true\""));

        let api = put_raw(&mut c, &token, "application/toml", src).await;
        assert_eq!(
            api.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{what}: {}",
            api.body
        );
        let j = api.json();
        assert_eq!(j["error"]["code"], "invalid_network");
        assert_eq!(
            j["diagnostics"][0]["location"]["line"].as_u64(),
            Some(line as u64),
            "{what}: {j}"
        );
        assert!(j["diagnostics"][0]["location"]["column"].as_u64().unwrap() >= 1);
    }
    // Empty input.
    let r = c.post_form("/network", &[("toml", "  ")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    // A dangling reference in JSON has no line, but names the element.
    let mut net = c
        .api(Method::GET, "/api/v1/network", &token, None)
        .await
        .json()["network"]
        .clone();
    net["flow"][0]["via"] = "存在しない装置".into();
    let r = c
        .api(Method::PUT, "/api/v1/network", &token, Some(net))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.json()["diagnostics"][0]["path"], "flow[0].via");
    // Versions unchanged, nothing audited as saved.
    assert_eq!(app.count("network_model").await, 1);
    assert_eq!(app.audit_count("network.version.create").await, 1);
    let list = c
        .api(Method::GET, "/api/v1/network/versions", &token, None)
        .await
        .json();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn staff_and_managers_are_refused_auditors_read_only() {
    let app = TestApp::new().await;
    for login in ["somu", "zaimu.kacho"] {
        let before = app.audit_count("permission.denied").await;
        let mut c = app.login(login).await;
        let home = c.get("/").await;
        assert!(!home.body.contains("href=\"/network\""), "{login}: nav");
        assert!(!home.body.contains("ネットワーク構成の違反"), "{login}");
        for path in [
            "/network",
            "/network/edit",
            "/network/versions",
            "/network/versions/1",
            "/network/export.toml",
            "/network/diagram.svg",
        ] {
            let r = c.get(path).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{login} {path}");
        }
        let r = c
            .post_form("/network", &[("toml", example().as_str())])
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{login}");
        let token = app.token(login).await;
        for path in [
            "/api/v1/network",
            "/api/v1/network/check",
            "/api/v1/network/versions",
        ] {
            let r = c.api(Method::GET, path, &token, None).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{login} {path}");
            assert_eq!(r.json()["error"]["code"], "forbidden");
        }
        let r = put_raw(&mut c, &token, "application/toml", &example()).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert!(app.audit_count("permission.denied").await >= before + 11);
    }
    let denied: Vec<String> = sqlx::query_scalar(
        "SELECT object_id FROM audit_entry WHERE action = 'permission.denied' ORDER BY seq",
    )
    .fetch_all(app.db.pool())
    .await
    .unwrap();
    assert!(denied.iter().any(|a| a == "network.view"));
    assert!(denied.iter().any(|a| a == "network.edit"));

    // 監査人 reads everything, saves nothing.
    let mut k = app.login("kansa").await;
    assert!(k.get("/").await.body.contains("href=\"/network\""));
    assert_eq!(k.get("/network").await.status, StatusCode::OK);
    let page = k.get("/network").await;
    assert!(!page.body.contains("href=\"/network/edit\""));
    assert_eq!(k.get("/network/export.toml").await.status, StatusCode::OK);
    assert_eq!(k.get("/network/edit").await.status, StatusCode::FORBIDDEN);
    let r = k
        .post_form("/network", &[("toml", example().as_str())])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let token = app.token("kansa").await;
    assert_eq!(
        k.api(Method::GET, "/api/v1/network/check", &token, None)
            .await
            .status,
        StatusCode::OK
    );
    let r = put_raw(&mut k, &token, "application/toml", &example()).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // The CISO reads too, but network edits belong to 統括 and 情報システム管理者.
    let mut ciso = app.login("ciso").await;
    assert_eq!(ciso.get("/network").await.status, StatusCode::OK);
    assert_eq!(
        ciso.get("/network/edit").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(app.count("network_model").await, 1);

    // 統括 saves.
    let mut t = app.login("tokatsu").await;
    t.get("/network/edit").await;
    let src = example().replacen("ports = 8443", "ports = 9443", 1);
    let r = t.post_form("/network", &[("toml", src.as_str())]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(app.count("network_model").await, 2);
}

#[tokio::test]
async fn the_export_is_the_saved_text_and_is_audited() {
    let app = TestApp::new().await;
    let mut c = app.login("kansa").await;
    assert_eq!(app.audit_count("network.export").await, 0);
    let r = c.get("/network/export.toml").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("application/toml")
    );
    assert_eq!(
        r.headers[header::CONTENT_DISPOSITION],
        "attachment; filename=\"network-v1.toml\""
    );
    assert_eq!(r.body, example());
    assert_eq!(app.audit_count("network.export").await, 1);
    let actor: String =
        sqlx::query_scalar("SELECT actor FROM audit_entry WHERE action = 'network.export'")
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    assert_eq!(actor, "kansa");
    assert_eq!(
        c.get("/network/export.toml?version=9").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        c.get("/network/export.toml?version=1").await.status,
        StatusCode::OK
    );
    assert_eq!(app.audit_count("network.export").await, 2);
}

#[tokio::test]
async fn the_api_reads_checks_and_stores_versions() {
    let app = TestApp::new().await;
    let mut c = app.client();
    let token = app.token("sysadmin").await;

    let r = c.api(Method::GET, "/api/v1/network", &token, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let j = r.json();
    assert_eq!(j["version"]["version_no"], 1);
    assert_eq!(j["network"]["network"]["model"], "alpha");
    assert_eq!(j["network"]["host"].as_array().unwrap().len(), 30);
    assert_eq!(j["summary"]["violations"], 0);

    let r = c
        .api(Method::GET, "/api/v1/network/check", &token, None)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let report = r.json();
    assert_eq!(report["violations"].as_array().unwrap().len(), 0);
    assert_eq!(report["summary"]["hosts"], 30);

    // JSON in: the 中間サーバー flow without its approval.
    let mut net = j["network"].clone();
    let flows = net["flow"].as_array_mut().unwrap();
    let flow = flows
        .iter_mut()
        .find(|f| f["name"] == "中間サーバーとの情報連携")
        .unwrap();
    flow.as_object_mut().unwrap().remove("approval");
    let uri = format!(
        "/api/v1/network?{}",
        serde_urlencoded::to_string([("note", "承認番号の確認")]).unwrap()
    );
    let r = c.api(Method::PUT, &uri, &token, Some(net)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let j = r.json();
    assert_eq!(j["version"]["version_no"], 2);
    assert_eq!(j["version"]["note"], "承認番号の確認");
    let violations = j["report"]["violations"].as_array().unwrap();
    assert_eq!(violations.len(), 1);
    assert_eq!(violations[0]["rule"], "NC-102");
    assert_eq!(violations[0]["element"]["name"], "中間サーバーとの情報連携");
    // Stored as TOML, so the position is a line of the export.
    assert_eq!(violations[0]["location"]["file"], "network-v2.toml");
    assert!(violations[0]["location"]["line"].as_u64().unwrap() > 1);

    // TOML in.
    let (src, line) = with_forbidden_flow();
    let r = put_raw(&mut c, &token, "application/toml; charset=utf-8", &src).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let j = r.json();
    assert_eq!(j["version"]["version_no"], 3);
    assert_eq!(j["report"]["violations"][0]["rule"], "NC-101");
    assert_eq!(
        j["report"]["violations"][0]["location"]["line"].as_u64(),
        Some(line as u64)
    );
    let r = c
        .api(Method::GET, "/api/v1/network/check?version=2", &token, None)
        .await;
    assert_eq!(r.json()["violations"][0]["rule"], "NC-102");

    // Anything else is refused as the wrong media type.
    let r = put_raw(&mut c, &token, "text/plain", &src).await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{}", r.body);
    assert_eq!(r.json()["error"]["code"], "unsupported_media_type");

    let r = c
        .api(Method::GET, "/api/v1/network/versions", &token, None)
        .await;
    let items = r.json()["items"].as_array().unwrap().clone();
    assert_eq!(
        items
            .iter()
            .map(|i| i["version_no"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        [3, 2, 1]
    );
    assert_eq!(items[0]["created_by_name"], items[1]["created_by_name"]);
    assert_eq!(app.audit_count("network.version.create").await, 3);

    // Every route is in the OpenAPI document.
    let doc = c.get("/api/v1/openapi.json").await.json();
    let paths = &doc["paths"];
    assert!(paths["/api/v1/network"]["get"].is_object());
    assert!(paths["/api/v1/network"]["put"].is_object());
    assert!(
        paths["/api/v1/network"]["put"]["requestBody"]["content"]["application/toml"].is_object()
    );
    assert!(paths["/api/v1/network/check"]["get"].is_object());
    assert!(paths["/api/v1/network/versions"]["get"].is_object());
}

#[tokio::test]
async fn another_organisation_never_sees_this_model() {
    let app = TestApp::new().await;
    // A second organisation with one person who is both its CISO and its 統括.
    let hash = mamori_web::password::hash(PASSWORD.to_owned(), 64)
        .await
        .unwrap();
    let ctx = AuditCtx {
        actor: "test".into(),
        ..AuditCtx::default()
    };
    let mut tx = app.db.begin_write().await.unwrap();
    let (other, root) = org::create_organisation(&mut tx, &ctx, "other", "別の団体")
        .await
        .unwrap();
    let oid = mamori_core::org::OrgId(other);
    let person = org::create_person(
        &mut tx,
        &Capability::<can::EditPersons>::operator(oid),
        &ctx,
        &PersonInput {
            login: "other.ciso".into(),
            staff_no: Some("1".into()),
            name: "別団体 太郎".into(),
            name_kana: String::new(),
            unit_id: root,
            employment: "regular".into(),
            email: String::new(),
            phone: String::new(),
            status: "active".into(),
        },
        Some(&hash),
    )
    .await
    .unwrap();
    for role in [Role::Ciso, Role::ChiefOfficer] {
        org::create_assignment(
            &mut tx,
            &Capability::<can::EditAssignments>::operator(oid),
            &ctx,
            &AssignmentInput {
                person_id: person,
                role,
                unit_id: root,
                valid_from: "2026-04-01".into(),
                valid_to: None,
                note: String::new(),
            },
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();

    let mut c = app.login("other.ciso").await;
    let r = c.get("/network").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.by_id("network-empty").is_some(), "{}", r.body);
    assert!(!r.body.contains("峡南広域行政組合 庁内ネットワーク"));
    assert!(r.body.contains("id=\"load-example\""));
    for path in [
        "/network/versions/1",
        "/network/export.toml",
        "/network/export.toml?version=1",
        "/network/diagram.svg",
    ] {
        assert_eq!(c.get(path).await.status, StatusCode::NOT_FOUND, "{path}");
    }
    assert!(!c.get("/network/versions").await.body.contains("第1版"));
    let token = app.token("other.ciso").await;
    for path in [
        "/api/v1/network",
        "/api/v1/network/check",
        "/api/v1/network/check?version=1",
    ] {
        let r = c.api(Method::GET, path, &token, None).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
    }
    let r = c
        .api(Method::GET, "/api/v1/network/versions", &token, None)
        .await;
    assert_eq!(r.json()["items"].as_array().unwrap().len(), 0);

    // Their own first version is their version 1; the demo organisation's stays its own.
    let r = c.post_form("/network/example", &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let (src, _) = with_forbidden_flow();
    let r = put_raw(&mut c, &token, "application/toml", &src).await;
    assert_eq!(r.json()["version"]["version_no"], 2);
    let mine = c
        .api(Method::GET, "/api/v1/network/versions", &token, None)
        .await
        .json();
    assert_eq!(mine["items"].as_array().unwrap().len(), 2);
    let kyonan = app.token("sysadmin").await;
    let theirs = c
        .api(Method::GET, "/api/v1/network/check", &kyonan, None)
        .await
        .json();
    assert_eq!(theirs["violations"].as_array().unwrap().len(), 0);
    let v: Vec<i64> = sqlx::query_scalar(
        "SELECT version_no FROM network_model WHERE org_id = $1 ORDER BY version_no",
    )
    .bind(app.org_id)
    .fetch_all(app.db.pool())
    .await
    .unwrap();
    assert_eq!(v, [1]);
}
