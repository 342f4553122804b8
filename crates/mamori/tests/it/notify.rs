//! Tasks and reminder mail end to end: the home page and `/api/v1/tasks` list a person's work;
//! reminders are queued once per person and day and delivered to a real SMTP server on loopback
//! (the standard library's, started by `scripts/smtp-sink.py`); a relay that is down keeps mail
//! queued for a retry; without SMTP nothing breaks.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use http::{Method, StatusCode};
use mamori_web::AppConfig;
use mamori_web::mailer::{self, SmtpSettings};
use serde_json::json;

use crate::common::{TestApp, test_config};

const PUBLIC_URL: &str = "https://mamori.kyonan.example.lg.jp";
const FROM: &str = "mamori@kyonan.example.lg.jp";

/// The SMTP server on loopback; killed when dropped.
struct Sink {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Sink {
    fn start() -> Sink {
        let dir = tempfile::tempdir().unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/smtp-sink.py");
        let mut child = Command::new("python3")
            .arg(script)
            .arg(dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 is needed for the SMTP test server (scripts/smtp-sink.py)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("no port from the sink: {line:?}"));
        Sink { child, port, dir }
    }

    fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Messages received so far: (envelope recipient, raw message).
    fn messages(&self) -> Vec<(String, Vec<u8>)> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .collect();
        files.sort();
        files
            .into_iter()
            .map(|p| {
                let raw = std::fs::read(p).unwrap();
                let text = String::from_utf8_lossy(&raw);
                let to = text
                    .lines()
                    .find_map(|l| l.strip_prefix("X-Envelope-To: "))
                    .unwrap()
                    .to_owned();
                (to, raw)
            })
            .collect()
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn mail_config(url: &str) -> AppConfig {
    AppConfig {
        mail: Some(SmtpSettings::parse(url, FROM).unwrap()),
        public_url: Some(PUBLIC_URL.into()),
        ..test_config()
    }
}

/// Logins of the demo persons who have open tasks today (the demo register has deliberate
/// breaches, so some 管理者 do).
async fn persons_with_tasks(app: &TestApp) -> Vec<(i64, String)> {
    let persons: Vec<(i64, String)> = sqlx::query_as(
        "SELECT id, login FROM person WHERE org_id = $1 AND status = 'active' ORDER BY id",
    )
    .bind(app.org_id)
    .fetch_all(app.db.pool())
    .await
    .unwrap();
    let today = mamori_core::calendar::today_jst();
    let mut out = Vec::new();
    for (id, login) in persons {
        let tasks = mamori_db::tasks::for_person(&app.db, app.org_id, id, today)
            .await
            .unwrap();
        if !tasks.is_empty() {
            out.push((id, login));
        }
    }
    out
}

#[tokio::test]
async fn reminders_are_delivered_once_a_day_to_a_real_smtp_server() {
    let sink = Sink::start();
    let app = TestApp::with_config(mail_config(&sink.url())).await;
    let with_tasks = persons_with_tasks(&app).await;
    assert!(
        !with_tasks.is_empty(),
        "the demo gives some 管理者 work to do"
    );

    let token = app.token("ciso").await;
    let mut c = app.client();
    let r = c
        .api(
            Method::POST,
            "/api/v1/reminders",
            &token,
            Some(json!({"scope": "all"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let run = r.json();
    assert_eq!(run["queued"], with_tasks.len(), "{run}");
    assert_eq!(app.count("mail_outbox").await, with_tasks.len() as i64);

    let smtp = SmtpSettings::parse(&sink.url(), FROM).unwrap();
    let d = mailer::deliver_due(&app.db, &smtp).await.unwrap();
    assert_eq!((d.sent, d.failed), (with_tasks.len(), 0));
    let received = sink.messages();
    assert_eq!(received.len(), with_tasks.len());

    // One manager's mail, read back with an independent MIME parser.
    let (id, login) = &with_tasks[0];
    let address = format!("{login}@kyonan.example.lg.jp");
    let (_, raw) = received.iter().find(|(to, _)| *to == address).unwrap();
    let msg = mail_parser::MessageParser::default().parse(raw).unwrap();
    assert!(
        msg.subject()
            .unwrap()
            .starts_with("【mamori】対応が必要な作業が"),
        "{:?}",
        msg.subject()
    );
    assert_eq!(
        msg.from().unwrap().first().unwrap().address().unwrap(),
        FROM
    );
    let body = msg.body_text(0).unwrap();
    let tasks =
        mamori_db::tasks::for_person(&app.db, app.org_id, *id, mamori_core::calendar::today_jst())
            .await
            .unwrap();
    for t in &tasks {
        assert!(body.contains(&t.title), "{body}");
        assert!(body.contains(&format!("{PUBLIC_URL}{}", t.href)), "{body}");
    }
    let unsent: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM mail_outbox WHERE sent_at IS NULL")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(unsent, 0);

    // The same day again: nobody is reminded twice, nothing more reaches the server.
    let again = c
        .api(
            Method::POST,
            "/api/v1/reminders",
            &token,
            Some(json!({"scope": "all"})),
        )
        .await
        .json();
    assert_eq!(again["queued"], 0);
    assert_eq!(again["already"], with_tasks.len());
    let d = mailer::deliver_due(&app.db, &smtp).await.unwrap();
    assert_eq!(d.sent, 0);
    assert_eq!(sink.messages().len(), with_tasks.len());
    assert_eq!(app.audit_count("reminder.queue").await, 2);

    // The outbox page shows what went out.
    let mut ciso = app.login("ciso").await;
    let page = ciso.get("/notifications").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(
        page.by_id("count-sent").as_deref(),
        Some(with_tasks.len().to_string().as_str())
    );
    assert!(page.body.contains(&address));
}

#[tokio::test]
async fn a_relay_that_is_down_keeps_the_mail_for_a_retry() {
    // A port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("smtp://127.0.0.1:{port}");
    let app = TestApp::with_config(mail_config(&url)).await;
    let mut ciso = app.login("ciso").await;
    let r = ciso
        .post_form("/notifications/remind", &[("scope", "all")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let queued = app.count("mail_outbox").await;
    assert!(queued > 0);
    let d = mailer::deliver_due(&app.db, &SmtpSettings::parse(&url, FROM).unwrap())
        .await
        .unwrap();
    assert_eq!((d.sent, d.failed), (0, queued as usize));
    let rows: Vec<(Option<String>, i64, String)> =
        sqlx::query_as("SELECT sent_at, attempts, last_error FROM mail_outbox")
            .fetch_all(app.db.pool())
            .await
            .unwrap();
    for (sent, attempts, error) in rows {
        assert_eq!(sent, None);
        assert_eq!(attempts, 1);
        assert!(!error.is_empty());
    }
    // Not due again until its retry time: a second pass sends nothing and keeps the count.
    let d = mailer::deliver_due(&app.db, &SmtpSettings::parse(&url, FROM).unwrap())
        .await
        .unwrap();
    assert_eq!((d.sent, d.failed), (0, 0));
    let page = ciso.get("/notifications").await;
    assert!(page.body.contains("再送待ち"), "{}", page.body);
    assert_eq!(
        page.by_id("count-waiting").as_deref(),
        Some(queued.to_string().as_str())
    );
}

#[tokio::test]
async fn without_smtp_tasks_show_and_nothing_breaks() {
    let app = TestApp::new().await;
    let with_tasks = persons_with_tasks(&app).await;
    // Someone other than the CISO, who logs in separately below.
    let (_, login) = with_tasks
        .iter()
        .find(|(_, l)| l != "ciso")
        .expect("a demo 管理者 has work");
    let mut person = app.login(login).await;
    let home = person.get("/").await;
    assert_eq!(home.status, StatusCode::OK);
    let (id, _) = with_tasks.iter().find(|(_, l)| l == login).unwrap();
    let expected =
        mamori_db::tasks::for_person(&app.db, app.org_id, *id, mamori_core::calendar::today_jst())
            .await
            .unwrap();
    for t in &expected {
        assert!(home.body.contains(&t.title), "{}: {}", t.title, home.body);
    }
    let token = app.token(login).await;
    let list = person.api(Method::GET, "/api/v1/tasks", &token, None).await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(!list.json()["tasks"].as_array().unwrap().is_empty());

    // Reminders cannot be sent, and say why; nothing is queued.
    let ciso_token = app.token("ciso").await;
    let r = person
        .api(Method::POST, "/api/v1/reminders", &ciso_token, None)
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(
        r.body.contains("メール送信（SMTP）が設定されていない"),
        "{}",
        r.body
    );
    let mut ciso = app.login("ciso").await;
    let page = ciso.get("/notifications").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.by_id("mail-status")
            .unwrap()
            .contains("設定されていません")
    );
    let r = ciso
        .post_form("/notifications/remind", &[("scope", "all")])
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(app.count("mail_outbox").await, 0);

    // The CISO's home page gathers the yearly cycle: approvals waiting (the demo's submitted
    // 実施手順), and how far the policy in force has been acknowledged, per body.
    let home = ciso.get("/").await;
    assert!(home.body.contains("遵守の誓約（§5）"), "{}", home.body);
    assert!(home.body.contains("/acknowledgements"), "{}", home.body);
    assert!(home.body.contains("消防本部"), "{}", home.body);
    let mine = ciso
        .api(Method::GET, "/api/v1/tasks", &ciso_token, None)
        .await
        .json();
    let kinds: Vec<&str> = mine["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"approve"), "{mine}");
    let staff_home = app.login("keiri").await.get("/").await;
    assert!(!staff_home.body.contains("遵守の誓約（§5）"));

    // Only those who oversee the whole organisation see the outbox or send reminders.
    let mut staff = app.login("keiri").await;
    assert_eq!(
        staff.get("/notifications").await.status,
        StatusCode::FORBIDDEN
    );
    let staff_token = app.token("keiri").await;
    let r = staff
        .api(
            Method::POST,
            "/api/v1/reminders",
            &staff_token,
            Some(json!({"scope": "all"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let bad = ciso
        .api(
            Method::POST,
            "/api/v1/reminders",
            &ciso_token,
            Some(json!({"scope": "weekly"})),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn the_remind_command_needs_a_relay_to_send() {
    let app = TestApp::new().await;
    let out = Command::new(env!("CARGO_BIN_EXE_mamori"))
        .args(["remind", "--send", "--database-url", &app.tdb.url])
        .env_remove("MAMORI_SMTP_URL")
        .env("MAMORI_LOG", "warn")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--smtp-url"));
    assert_eq!(app.count("mail_outbox").await, 0);

    let sink = Sink::start();
    let out = Command::new(env!("CARGO_BIN_EXE_mamori"))
        .args(["remind", "--all-open", "--send", "--smtp-url", &sink.url()])
        .args(["--mail-from", FROM, "--database-url", &app.tdb.url])
        .env("MAMORI_LOG", "warn")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let expected = persons_with_tasks(&app).await.len();
    assert!(
        stdout.contains(&format!("送信 {expected} 通、失敗 0 通")),
        "{stdout}"
    );
    assert_eq!(sink.messages().len(), expected);
}

#[tokio::test]
async fn a_reminder_to_acknowledge_is_mailed_to_each_person_who_has_not() {
    let sink = Sink::start();
    let app = TestApp::with_config(mail_config(&sink.url())).await;
    let (doc, no): (i64, i64) = sqlx::query_as(
        "SELECT d.id, v.version_no FROM document d JOIN document_version v ON v.document_id = d.id \
         WHERE d.org_id = $1 AND d.kind = 'standard' AND v.status = 'published'",
    )
    .bind(app.org_id)
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    let pending: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM person p WHERE p.org_id = $1 AND p.status = 'active' AND NOT EXISTS \
         (SELECT 1 FROM acknowledgement a JOIN document_version v ON v.id = a.version_id \
          WHERE a.person_id = p.id AND v.document_id = $2 AND v.version_no = $3)",
    )
    .bind(app.org_id)
    .bind(doc)
    .bind(no)
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    assert!(pending > 0, "the demo leaves some 職員等 to acknowledge");
    let mut ciso = app.login("ciso").await;
    let page = ciso
        .get(&format!("/documents/{doc}/versions/{no}/acknowledgements"))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    let r = ciso
        .post_form(&format!("/documents/{doc}/versions/{no}/remind"), &[])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let queued: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM mail_outbox WHERE kind = 'reminder'")
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    // Every demo person has an address.
    assert_eq!(queued, pending);
    let d = mailer::deliver_due(&app.db, &SmtpSettings::parse(&sink.url(), FROM).unwrap())
        .await
        .unwrap();
    assert_eq!(d.sent as i64, pending);
    let (_, raw) = sink.messages().into_iter().next().unwrap();
    let msg = mail_parser::MessageParser::default().parse(&raw).unwrap();
    assert!(
        msg.subject().unwrap().contains("遵守の誓約をお願いします"),
        "{:?}",
        msg.subject()
    );
    let body = msg.body_text(0).unwrap();
    assert!(
        body.contains(&format!("{PUBLIC_URL}/documents/{doc}/versions/{no}")),
        "{body}"
    );
}
