//! The administration commands end to end, run as the built binary against the test database:
//! `serve`, `user add`, `token create`, `audit verify` (with a tampered trail on both engines),
//! `backup` / `restore`, `policy import`, `org create`.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Output, Stdio};

use http::{Method, StatusCode};

use crate::common::{TestApp, TestDb, on_postgres};

fn mamori(args: &[&str], url: &str, stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mamori"))
        .args(args)
        .arg("--database-url")
        .arg(url)
        .env_remove("MAMORI_DATABASE_URL")
        .env("MAMORI_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(input) = stdin {
        // The command may refuse its arguments and exit before reading: a closed pipe is fine.
        let _ = child.stdin.take().unwrap().write_all(input.as_bytes());
    } else {
        drop(child.stdin.take());
    }
    child.wait_with_output().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[tokio::test]
async fn audit_verify_passes_on_an_intact_trail() {
    let app = TestApp::new().await;
    let out = mamori(&["audit", "verify"], &app.tdb.url, None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("監査証跡は完全です"), "{}", text(&out));
}

#[tokio::test]
async fn the_database_refuses_to_edit_or_delete_audit_entries() {
    let app = TestApp::new().await;
    let update = sqlx::query("UPDATE audit_entry SET action = 'x' WHERE seq = 3")
        .execute(app.db.pool())
        .await;
    assert!(update.is_err(), "UPDATE must be refused");
    let delete = sqlx::query("DELETE FROM audit_entry WHERE seq = 3")
        .execute(app.db.pool())
        .await;
    assert!(delete.is_err(), "DELETE must be refused");
    let n: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_entry WHERE seq = 3 AND action <> 'x'")
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    assert_eq!(n, 1);
}

/// Runs `sql` (binding `seq`) on the trail behind the triggers' back, as an attacker with
/// database access would: the triggers are disabled (PostgreSQL) or dropped (SQLite) first.
async fn bypass_triggers(app: &TestApp, sql: &'static str, seq: i64) {
    let mut conn = app.db.pool().acquire().await.unwrap();
    let disable = if on_postgres() {
        "ALTER TABLE audit_entry DISABLE TRIGGER USER"
    } else {
        "DROP TRIGGER audit_entry_no_update; DROP TRIGGER audit_entry_no_delete"
    };
    sqlx::raw_sql(disable).execute(&mut *conn).await.unwrap();
    sqlx::query(sql)
        .bind(seq)
        .execute(&mut *conn)
        .await
        .unwrap();
}

async fn tamper(app: &TestApp, seq: i64) {
    bypass_triggers(
        app,
        "UPDATE audit_entry SET actor = 'someone-else' WHERE seq = $1",
        seq,
    )
    .await;
}

#[tokio::test]
async fn audit_verify_names_the_edited_entry() {
    let app = TestApp::new().await;
    tamper(&app, 7).await;
    let out = mamori(&["audit", "verify"], &app.tdb.url, None);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let t = text(&out);
    assert!(t.contains("第 7 件"), "{t}");
    assert!(t.contains("entry 7"), "{t}");
}

#[tokio::test]
async fn audit_verify_notices_entries_cut_from_the_end() {
    let app = TestApp::new().await;
    let last: i64 = sqlx::query_scalar("SELECT MAX(seq) FROM audit_entry")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    bypass_triggers(&app, "DELETE FROM audit_entry WHERE seq = $1", last).await;
    let out = mamori(&["audit", "verify"], &app.tdb.url, None);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains(&format!("第 {last} 件")),
        "{}",
        text(&out)
    );
}

#[tokio::test]
async fn user_add_reads_the_password_from_stdin_and_the_user_can_log_in() {
    let app = TestApp::new().await;
    let out = mamori(
        &[
            "user",
            "add",
            "--login",
            "new.admin",
            "--name",
            "新井 次郎",
            "--unit",
            "jimu-somu",
            "--role",
            "統括",
        ],
        &app.tdb.url,
        Some("Strong-Passw0rd-for-cli\n"),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("二要素認証"), "{}", text(&out));
    let mut c = app.client();
    c.login("new.admin", "Strong-Passw0rd-for-cli").await;
    assert!(c.totp_secret.is_some(), "統括 enrols TOTP at first login");
    assert_eq!(app.audit_count("person.create").await, 42);
}

#[tokio::test]
async fn user_add_refuses_bad_input_and_writes_nothing() {
    let app = TestApp::new().await;
    let before = app.count("person").await;
    let cases: &[(&[&str], &str, &str)] = &[
        (
            &["--login", "x", "--name", "短い"],
            "Strong-Passw0rd-1\n",
            "ログインID",
        ),
        (
            &["--login", "somu", "--name", "重複"],
            "Strong-Passw0rd-1\n",
            "既に使われています",
        ),
        (
            &["--login", "weak.pw", "--name", "弱い"],
            "123\n",
            "パスワード",
        ),
        (
            &["--login", "no.unit", "--name", "所属", "--unit", "nowhere"],
            "Strong-Passw0rd-1\n",
            "nowhere",
        ),
        (
            &["--login", "no.role", "--name", "役割", "--role", "king"],
            "Strong-Passw0rd-1\n",
            "king",
        ),
    ];
    for (args, pw, expected) in cases {
        let mut all = vec!["user", "add"];
        all.extend_from_slice(args);
        let out = mamori(&all, &app.tdb.url, Some(pw));
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
        assert!(text(&out).contains(expected), "{args:?}: {}", text(&out));
    }
    assert_eq!(app.count("person").await, before);
}

#[tokio::test]
async fn token_create_prints_a_working_token() {
    let app = TestApp::new().await;
    let out = mamori(
        &["token", "create", "--login", "tokatsu"],
        &app.tdb.url,
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert!(token.starts_with("mmr_"), "{token}");
    let mut c = app.client();
    let me = c.api(Method::GET, "/api/v1/me", &token, None).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    assert_eq!(me.json()["person"]["login"], "tokatsu");
    // Only its hash is stored.
    let stored: Vec<String> = sqlx::query_scalar("SELECT token_hash FROM api_token")
        .fetch_all(app.db.pool())
        .await
        .unwrap();
    assert!(!stored.iter().any(|h| h == &token));
    let unknown = mamori(
        &["token", "create", "--login", "nobody"],
        &app.tdb.url,
        None,
    );
    assert_eq!(unknown.status.code(), Some(2));
}

const POLICY_TEXT: &str = "峡南広域行政組合情報セキュリティ基本方針\n令和8年4月1日 策定\n\n\
1. 目的\n本基本方針は、情報資産を脅威から守ることを目的とする。\n\n\
2. 定義\n(1) ネットワーク\n機器を接続する仕組み。\n\n\
3. 対象とする脅威\n① 不正アクセス\n\n\
4. 適用範囲\n(1) 事務局、消防本部、慈生園\n";

#[tokio::test]
async fn policy_import_loads_the_text_as_a_new_version() {
    let app = TestApp::new().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("policy.txt");
    std::fs::write(&file, POLICY_TEXT).unwrap();
    let out = mamori(
        &["policy", "import", file.to_str().unwrap()],
        &app.tdb.url,
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("第 2 版"), "{}", text(&out));
    assert!(text(&out).contains("4 章"), "{}", text(&out));
    let mut c = app.login("somu").await;
    let page = c.get("/policy").await;
    assert!(
        page.body.contains("情報資産を脅威から守ることを目的とする"),
        "{}",
        page.body
    );

    // Not UTF-8, and not there: refused, no version added.
    std::fs::write(&file, b"\x82\xa0\x82\xa2 Shift_JIS").unwrap();
    let bad = mamori(
        &["policy", "import", file.to_str().unwrap()],
        &app.tdb.url,
        None,
    );
    assert_eq!(bad.status.code(), Some(2));
    assert!(text(&bad).contains("UTF-8"), "{}", text(&bad));
    let missing = mamori(
        &["policy", "import", "/nonexistent/p.txt"],
        &app.tdb.url,
        None,
    );
    assert_eq!(missing.status.code(), Some(2));
    assert_eq!(app.count("policy_version").await, 2);
}

/// The rows of the tables a restore must bring back, as text.
async fn snapshot(db: &mamori_db::Db) -> Vec<String> {
    let queries: [&'static str; 5] = [
        "SELECT id || '|' || code || '|' || name || '|' || COALESCE(CAST(parent_id AS TEXT), '') FROM unit ORDER BY id",
        "SELECT id || '|' || login || '|' || name || '|' || COALESCE(password_hash, '') || '|' || status FROM person ORDER BY id",
        "SELECT id || '|' || person_id || '|' || role || '|' || valid_from || '|' || COALESCE(valid_to, '') FROM role_assignment ORDER BY id",
        "SELECT seq || '|' || hash FROM audit_entry ORDER BY seq",
        "SELECT version_no || '|' || content_json FROM policy_version ORDER BY id",
    ];
    let mut out = Vec::new();
    for q in queries {
        let rows: Vec<String> = sqlx::query_scalar(q).fetch_all(db.pool()).await.unwrap();
        out.extend(rows);
    }
    out
}

#[tokio::test]
async fn backup_then_restore_yields_identical_data() {
    let app = TestApp::new().await;
    if on_postgres() {
        let out = mamori(&["backup", "--out", "/tmp/x.dump"], &app.tdb.url, None);
        assert_eq!(out.status.code(), Some(0));
        assert!(text(&out).contains("pg_dump"), "{}", text(&out));
        return;
    }
    let dir = app.tdb.dir().unwrap().to_path_buf();
    let data_dir = dir.to_str().unwrap();
    let before = snapshot(&app.db).await;
    let backup = dir.join("backup.mamori");
    let run = |args: &[&str], stdin: Option<&str>| {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--data-dir", data_dir]);
        let mut child = Command::new(env!("CARGO_BIN_EXE_mamori"))
            .args(&all)
            .env_remove("MAMORI_DATABASE_URL")
            .env("MAMORI_LOG", "warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut input = child.stdin.take().unwrap();
        let _ = input.write_all(stdin.unwrap_or("").as_bytes());
        drop(input);
        child.wait_with_output().unwrap()
    };
    let out = run(&["backup", "--out", backup.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // A second backup to the same file is refused rather than overwriting it.
    let again = run(&["backup", "--out", backup.to_str().unwrap()], None);
    assert_eq!(again.status.code(), Some(2));

    let added = run(
        &[
            "user",
            "add",
            "--login",
            "after.backup",
            "--name",
            "後藤 三郎",
        ],
        Some("Strong-Passw0rd-after\n"),
    );
    assert_eq!(added.status.code(), Some(0), "{}", text(&added));
    assert_ne!(snapshot(&app.db).await, before);
    app.db.close().await;

    let restored = run(&["restore", backup.to_str().unwrap()], None);
    assert_eq!(restored.status.code(), Some(0), "{}", text(&restored));
    let db = mamori_db::Db::connect(&app.tdb.url).await.unwrap();
    assert_eq!(snapshot(&db).await, before);
    let verify = run(&["audit", "verify"], None);
    assert_eq!(verify.status.code(), Some(0), "{}", text(&verify));
    // The replaced database was kept beside it.
    let kept = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(Result::ok)
        .any(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("mamori.db.before-restore-")
        });
    assert!(kept);
    db.close().await;
}

#[tokio::test]
async fn restore_refuses_files_that_are_not_mamori_backups() {
    if on_postgres() {
        return;
    }
    let tdb = TestDb::new().await;
    let dir = tdb.dir().unwrap().to_path_buf();
    let live = dir.join("mamori.db");
    tdb.db.close().await;
    let original = std::fs::read(&live).unwrap();
    let junk = dir.join("junk.bin");
    std::fs::write(&junk, b"this is not a database").unwrap();
    // A SQLite database, but not one written by `mamori backup`.
    let plain = dir.join("plain.db");
    std::fs::copy(&live, &plain).unwrap();
    for file in [&junk, &plain] {
        let out = Command::new(env!("CARGO_BIN_EXE_mamori"))
            .args([
                "restore",
                file.to_str().unwrap(),
                "--data-dir",
                dir.to_str().unwrap(),
            ])
            .env_remove("MAMORI_DATABASE_URL")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
        assert!(
            text(&out).contains("mamori のバックアップではありません"),
            "{}",
            text(&out)
        );
    }
    assert_eq!(
        std::fs::read(&live).unwrap(),
        original,
        "live database untouched"
    );
}

#[tokio::test]
async fn org_create_makes_a_separate_organisation_with_the_shipped_policy() {
    let app = TestApp::new().await;
    let out = mamori(&["org", "create", "nanbu", "南部町"], &app.tdb.url, None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let dup = mamori(&["org", "create", "nanbu", "南部町"], &app.tdb.url, None);
    assert_eq!(dup.status.code(), Some(2));
    // With two organisations, commands must say which one.
    let ambiguous = mamori(
        &["user", "add", "--login", "who.am.i", "--name", "名前"],
        &app.tdb.url,
        Some("Strong-Passw0rd-1\n"),
    );
    assert_eq!(ambiguous.status.code(), Some(2));
    assert!(text(&ambiguous).contains("--org"), "{}", text(&ambiguous));
    let ok = mamori(
        &[
            "user",
            "add",
            "--login",
            "nanbu.admin",
            "--name",
            "南部 太郎",
            "--org",
            "nanbu",
            "--role",
            "ciso",
        ],
        &app.tdb.url,
        Some("Strong-Passw0rd-1\n"),
    );
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok));
    let versions: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM policy_version v JOIN organisation o ON o.id = v.org_id WHERE o.code = 'nanbu'",
    )
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    assert_eq!(versions, 1);
}

#[test]
fn help_and_version() {
    let out = Command::new(env!("CARGO_BIN_EXE_mamori"))
        .arg("--version")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("mamori "));
    let out = Command::new(env!("CARGO_BIN_EXE_mamori"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout).into_owned();
    for sub in [
        "serve", "migrate", "user", "token", "audit", "backup", "restore", "policy", "sanitize",
        "netcheck",
    ] {
        assert!(help.contains(sub), "{sub} missing from --help:\n{help}");
    }
}

#[test]
fn serve_demo_answers_healthz_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_mamori"))
        .args(["serve", "--demo", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .env_remove("MAMORI_DATABASE_URL")
        .env("MAMORI_DEMO_PASSWORD", "Demo-Start-Passw0rd")
        .env("MAMORI_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = String::new();
    let addr = loop {
        let line = lines
            .next()
            .expect("server exited before listening")
            .unwrap();
        seen.push_str(&line);
        seen.push('\n');
        if let Some(rest) = line.split("http://").nth(1)
            && line.contains("待ち受け")
        {
            break rest.split('/').next().unwrap().to_owned();
        }
    };
    assert!(seen.contains("峡南広域行政組合"), "{seen}");
    assert!(seen.contains("Demo-Start-Passw0rd"), "{seen}");
    assert!(seen.contains("ciso"), "{seen}");
    assert!(dir.path().join("mamori.db").exists());

    let mut stream = std::net::TcpStream::connect(&addr).unwrap();
    write!(
        stream,
        "GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("\"status\":\"ok\""), "{response}");
    assert!(
        response.to_ascii_lowercase().contains("x-request-id"),
        "{response}"
    );

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "graceful shutdown exits 0");
}

#[tokio::test]
async fn roster_import_from_the_command_line_refuses_a_bad_file() {
    let app = TestApp::new().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("meibo.csv");
    std::fs::write(&file, "氏名,好きな色\n山田,青\n").unwrap();
    let before = app.count("person").await;
    let out = mamori(
        &["roster", "import", file.to_str().unwrap(), "--dry-run"],
        &app.tdb.url,
        None,
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert_eq!(app.count("person").await, before);
}
