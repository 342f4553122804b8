//! The login flow in a real browser: headless Chromium, driven over WebDriver by chromedriver,
//! against the real server listening on a loopback port. The browser runs with JavaScript
//! switched off, so the test also proves that logging in — password, TOTP enrolment, recovery
//! codes, dashboard — works with plain HTML forms alone.
//!
//! Without chromedriver the test is skipped with a message (so `scripts/test.sh` passes on a
//! fresh machine), unless `MAMORI_REQUIRE_BROWSER=1` (CI) makes that a failure.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use mamori::startup::Server;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::common::{PASSWORD, TestDb, test_config, totp_code, unix_now};

const CHROMIUM: &str = "/usr/bin/chromium";

/// Longest the whole browser session may take before the test fails instead of hanging.
const BUDGET: Duration = Duration::from_secs(120);

/// chromedriver in `PATH`, or Debian's.
fn find_chromedriver() -> Option<PathBuf> {
    let in_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("chromedriver"))
            .find(|p| p.is_file())
    });
    in_path.or_else(|| {
        let debian = Path::new("/usr/bin/chromedriver");
        debian.is_file().then(|| debian.to_owned())
    })
}

/// A running chromedriver; killed when dropped.
struct Driver {
    _child: Child,
    url: String,
}

impl Driver {
    /// Starts chromedriver on a port of its own choosing and waits for the line announcing it.
    async fn start(exe: &Path) -> Driver {
        let mut child = Command::new(exe)
            .arg("--port=0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", exe.display()));
        let stdout = child.stdout.take().expect("chromedriver stdout");
        let mut lines = BufReader::new(stdout).lines();
        let port = loop {
            let line = lines
                .next_line()
                .await
                .expect("reading chromedriver's output")
                .expect("chromedriver exited before it was ready");
            // "ChromeDriver was started successfully on port 34499."
            if let Some(rest) = line.split("started successfully on port ").nth(1) {
                break rest.trim_end_matches('.').trim().to_owned();
            }
        };
        // Keep draining its output so a full pipe can never stall it.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Driver {
            _child: child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }
}

/// Headless Chromium with JavaScript disabled and no network beyond loopback.
fn capabilities(profile: &Path) -> serde_json::Map<String, serde_json::Value> {
    let caps = serde_json::json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": CHROMIUM,
            "args": [
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-quic",
                "--no-first-run",
                format!("--user-data-dir={}", profile.display()),
            ],
            "prefs": { "profile.managed_default_content_settings.javascript": 2 }
        }
    });
    match caps {
        serde_json::Value::Object(m) => m,
        _ => unreachable!(),
    }
}

#[tokio::test]
async fn ciso_enrols_totp_and_reaches_the_japanese_dashboard_in_a_browser() {
    let required = std::env::var("MAMORI_REQUIRE_BROWSER").is_ok_and(|v| v == "1");
    let driver_exe = find_chromedriver().filter(|_| Path::new(CHROMIUM).is_file());
    let Some(driver_exe) = driver_exe else {
        assert!(
            !required,
            "MAMORI_REQUIRE_BROWSER=1 but chromedriver or {CHROMIUM} is missing; \
             install them with scripts/install-test-deps.sh"
        );
        println!("browser test skipped: chromedriver not installed");
        return;
    };

    // The real server, in-process, on a free loopback port.
    let tdb = TestDb::new().await;
    let config = test_config();
    mamori::demo::load(&tdb.db, PASSWORD, config.argon2_memory_kib)
        .await
        .unwrap();
    let server = Server::bind(tdb.db.clone(), config, "127.0.0.1:0")
        .await
        .unwrap();
    let base = format!("http://{}", server.addr);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.run(async {
        let _ = stopped.await;
    }));

    let driver = Driver::start(&driver_exe).await;
    let profile = tempfile::tempdir().unwrap();
    let browser = ClientBuilder::new(HttpConnector::new())
        .capabilities(capabilities(profile.path()))
        .connect(&driver.url)
        .await
        .unwrap_or_else(|e| panic!("cannot open a Chromium session via chromedriver: {e}"));

    let outcome = tokio::time::timeout(BUDGET, login_flow(&browser, &base)).await;
    let _ = browser.close().await;
    drop(driver);
    let _ = stop.send(());
    serving.await.unwrap().unwrap();
    outcome.unwrap_or_else(|_| panic!("the browser flow took longer than {BUDGET:?}"));
}

async fn login_flow(b: &Client, base: &str) {
    // JavaScript really is off in this browser: an inline script must not run.
    b.goto("data:text/html,<title>off</title><script>document.title='on'</script>")
        .await
        .unwrap();
    assert_eq!(
        b.title().await.unwrap(),
        "off",
        "JavaScript is not disabled"
    );

    // 1. Password.
    b.goto(&format!("{base}/login")).await.unwrap();
    assert_no_scripts(b).await;
    b.find(Locator::Id("login"))
        .await
        .unwrap()
        .send_keys("ciso")
        .await
        .unwrap();
    b.find(Locator::Id("password"))
        .await
        .unwrap()
        .send_keys(PASSWORD)
        .await
        .unwrap();
    b.find(Locator::Css("form[action='/login'] button[type='submit']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();

    // 2. TOTP enrolment: the secret shown for manual entry, then a code computed from it.
    let found = b.wait().for_element(Locator::Id("totp-secret")).await;
    let secret = match found {
        Ok(el) => el,
        Err(e) => {
            let url = b
                .current_url()
                .await
                .map(|u| u.to_string())
                .unwrap_or_default();
            let source = b.source().await.unwrap_or_default();
            panic!("no enrolment page after the password: {e}\nat {url}\n{source}")
        }
    }
    .text()
    .await
    .unwrap();
    assert_eq!(b.current_url().await.unwrap().path(), "/login/enroll");
    assert_no_scripts(b).await;
    let code = totp_code(secret.trim(), unix_now());
    b.find(Locator::Id("code"))
        .await
        .unwrap()
        .send_keys(&code)
        .await
        .unwrap();
    b.find(Locator::Css(
        "form[action='/login/enroll'] button[type='submit']",
    ))
    .await
    .unwrap()
    .click()
    .await
    .unwrap();

    // 3. Recovery codes, shown once; continue.
    let list = b
        .wait()
        .for_element(Locator::Id("recovery-codes"))
        .await
        .unwrap_or_else(|e| panic!("no recovery codes after enrolment: {e}"));
    let codes = list.find_all(Locator::Css("code.recovery")).await.unwrap();
    assert!(!codes.is_empty(), "no recovery codes listed");
    assert_no_scripts(b).await;
    b.find(Locator::LinkText("控えたので次へ進む"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();

    // 4. The dashboard, in Japanese, with the person's name.
    let nav = b
        .wait()
        .for_element(Locator::Css("nav.global"))
        .await
        .unwrap_or_else(|e| panic!("no dashboard after the recovery codes: {e}"));
    assert_eq!(
        nav.attr("aria-label").await.unwrap().as_deref(),
        Some("メインメニュー")
    );
    assert_eq!(b.current_url().await.unwrap().path(), "/");
    let lang = b
        .find(Locator::Css("html"))
        .await
        .unwrap()
        .attr("lang")
        .await
        .unwrap();
    assert_eq!(lang.as_deref(), Some("ja"));
    let lead = b
        .find(Locator::Css("main p.lead"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(lead.contains("望月 正和"), "dashboard greeting: {lead}");
    let heading = b.find(Locator::Css("main h1")).await.unwrap();
    assert_eq!(heading.text().await.unwrap(), "ホーム");
    assert_no_scripts(b).await;
}

/// The page carries no script at all: everything it does, it does with HTML forms and links.
async fn assert_no_scripts(b: &Client) {
    let scripts = b.find_all(Locator::Css("script")).await.unwrap();
    let url = b.current_url().await.unwrap();
    assert!(scripts.is_empty(), "{url} contains <script> elements");
}

/// 自己点検 answered in the browser, with JavaScript off and a phone-sized window: a member of
/// staff opens this 年度's campaign from the list, answers the first question on its own
/// screen, then the rest on the long form, and submits; the database then holds the submission.
#[tokio::test]
async fn staff_answer_a_self_inspection_in_a_browser_on_a_phone() {
    let required = std::env::var("MAMORI_REQUIRE_BROWSER").is_ok_and(|v| v == "1");
    let driver_exe = find_chromedriver().filter(|_| Path::new(CHROMIUM).is_file());
    let Some(driver_exe) = driver_exe else {
        assert!(
            !required,
            "MAMORI_REQUIRE_BROWSER=1 but chromedriver or {CHROMIUM} is missing"
        );
        println!("browser test skipped: chromedriver not installed");
        return;
    };
    let tdb = TestDb::new().await;
    let config = test_config();
    mamori::demo::load(&tdb.db, PASSWORD, config.argon2_memory_kib)
        .await
        .unwrap();
    let server = Server::bind(tdb.db.clone(), config, "127.0.0.1:0")
        .await
        .unwrap();
    let base = format!("http://{}", server.addr);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.run(async {
        let _ = stopped.await;
    }));
    let driver = Driver::start(&driver_exe).await;
    let profile = tempfile::tempdir().unwrap();
    let browser = ClientBuilder::new(HttpConnector::new())
        .capabilities(capabilities(profile.path()))
        .connect(&driver.url)
        .await
        .unwrap_or_else(|e| panic!("cannot open a Chromium session via chromedriver: {e}"));
    let outcome = tokio::time::timeout(BUDGET, answer_flow(&browser, &base)).await;
    let _ = browser.close().await;
    drop(driver);
    let _ = stop.send(());
    serving.await.unwrap().unwrap();
    outcome.unwrap_or_else(|_| panic!("the browser flow took longer than {BUDGET:?}"));
    let status: String = sqlx::query_scalar(
        "SELECT r.status FROM inspection_respondent r JOIN person p ON p.id = r.person_id \
         JOIN inspection_campaign c ON c.id = r.campaign_id WHERE p.login = 'somu' AND c.status = 'open'",
    )
    .fetch_one(tdb.db.pool())
    .await
    .unwrap();
    assert_eq!(status, "submitted");
    let comment: String = sqlx::query_scalar(
        "SELECT a.comment FROM inspection_answer a JOIN inspection_respondent r ON r.id = a.respondent_id \
         JOIN person p ON p.id = r.person_id JOIN inspection_campaign c ON c.id = r.campaign_id \
         JOIN inspection_question q ON q.id = a.question_id \
         WHERE p.login = 'somu' AND c.status = 'open' AND q.seq = 1",
    )
    .fetch_one(tdb.db.pool())
    .await
    .unwrap();
    assert_eq!(comment, "書類は帰庁時に施錠保管");
}

async fn answer_flow(b: &Client, base: &str) {
    b.set_window_size(390, 844).await.unwrap();
    b.goto(&format!("{base}/login")).await.unwrap();
    b.find(Locator::Id("login"))
        .await
        .unwrap()
        .send_keys("somu")
        .await
        .unwrap();
    b.find(Locator::Id("password"))
        .await
        .unwrap()
        .send_keys(PASSWORD)
        .await
        .unwrap();
    b.find(Locator::Css("form[action='/login'] button[type='submit']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.wait()
        .for_element(Locator::Css("nav.global"))
        .await
        .unwrap();
    // The list names this 年度's campaign (the newest) first among the person's own answers.
    b.find(Locator::Css("nav.global a[href='/inspections']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let own = b.wait().for_element(Locator::Id("own")).await.unwrap();
    let link = own.find(Locator::Css("a")).await.unwrap();
    link.click().await.unwrap();
    b.wait()
        .for_element(Locator::LinkText("1問ずつ回答する"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // One question on the screen.
    b.wait()
        .for_element(Locator::Css("fieldset.question"))
        .await
        .unwrap();
    assert_eq!(
        b.find_all(Locator::Css("fieldset.question"))
            .await
            .unwrap()
            .len(),
        1
    );
    assert_no_scripts(b).await;
    b.find(Locator::Css(
        "fieldset.question input[type='radio'][value='done']",
    ))
    .await
    .unwrap()
    .click()
    .await
    .unwrap();
    b.find(Locator::Css("fieldset.question textarea"))
        .await
        .unwrap()
        .send_keys("書類は帰庁時に施錠保管")
        .await
        .unwrap();
    b.find(Locator::Id("next"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let notice = b
        .wait()
        .for_element(Locator::Css(".notice.success"))
        .await
        .unwrap();
    assert_eq!(notice.text().await.unwrap(), "保存しました");
    assert!(b.current_url().await.unwrap().path().ends_with("/q/2"));
    // The rest on the long form.
    b.find(Locator::LinkText("すべての設問を1ページで表示"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.wait().for_element(Locator::Id("submit")).await.unwrap();
    let radios = b
        .find_all(Locator::Css("input[type='radio'][value='done']"))
        .await
        .unwrap();
    assert!(radios.len() >= 10, "{} questions", radios.len());
    for r in radios.into_iter().skip(1) {
        r.click().await.unwrap();
    }
    b.find(Locator::Id("submit"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let done = b
        .wait()
        .for_element(Locator::Id("submitted"))
        .await
        .unwrap();
    assert!(done.text().await.unwrap().contains("提出済みです"));
    let notice = b
        .find(Locator::Css(".notice.success"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(notice.contains("回答を提出しました"), "{notice}");
    assert_no_scripts(b).await;
}
