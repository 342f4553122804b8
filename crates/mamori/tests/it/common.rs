//! The harness: a fresh database per test — a temporary SQLite file, or a UUID-named
//! PostgreSQL database when `MAMORI_TEST_DATABASE_URL` names a server — with the demo
//! organisation loaded, the application built in-process by the same `mamori_web::build` the
//! server runs, and clients that keep cookies, follow the login stages and compute TOTP codes.
// Not every module uses every helper.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::SocketAddr;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::ConnectInfo;
use http::{HeaderMap, HeaderValue, Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use mamori_db::Db;
use mamori_web::AppConfig;
use tower::ServiceExt;

/// Every demo user's password in tests.
pub const PASSWORD: &str = "Test-Passw0rd-kyonan";

/// A database made for one test; a PostgreSQL one is dropped when the test ends.
pub struct TestDb {
    pub url: String,
    pub db: Db,
    _dir: Option<tempfile::TempDir>,
    pg: Option<(String, String)>,
}

/// Whether the suite runs on PostgreSQL.
pub fn on_postgres() -> bool {
    std::env::var("MAMORI_TEST_DATABASE_URL").is_ok_and(|u| u.starts_with("postgres"))
}

fn server_base(url: &str) -> String {
    // postgres://user@host:port[/db][?…] → postgres://user@host:port
    let (scheme, rest) = url.split_once("://").unwrap();
    let host = rest.split(['/', '?']).next().unwrap();
    format!("{scheme}://{host}")
}

impl TestDb {
    pub async fn new() -> TestDb {
        match std::env::var("MAMORI_TEST_DATABASE_URL") {
            Ok(url) if url.starts_with("postgres") => {
                let base = server_base(&url);
                let name = format!("mamori_t_{}", uuid::Uuid::new_v4().simple());
                let admin = Db::connect(&format!("{base}/postgres")).await.unwrap();
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(admin.pool())
                    .await
                    .unwrap();
                admin.close().await;
                let url = format!("{base}/{name}");
                let db = Db::connect(&url).await.unwrap();
                mamori_db::migrate::run(&db).await.unwrap();
                TestDb {
                    url,
                    db,
                    _dir: None,
                    pg: Some((base, name)),
                }
            }
            _ => {
                let dir = tempfile::tempdir().unwrap();
                let url = format!("sqlite://{}", dir.path().join("mamori.db").display());
                let db = Db::connect(&url).await.unwrap();
                mamori_db::migrate::run(&db).await.unwrap();
                TestDb {
                    url,
                    db,
                    _dir: Some(dir),
                    pg: None,
                }
            }
        }
    }

    /// The data directory of a SQLite test database.
    pub fn dir(&self) -> Option<&std::path::Path> {
        self._dir.as_ref().map(|d| d.path())
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((base, name)) = self.pg.take() {
            // Drop is synchronous: clean up on a thread with its own small runtime.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async {
                    if let Ok(admin) = Db::connect(&format!("{base}/postgres")).await {
                        let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                        )))
                        .execute(admin.pool())
                        .await;
                        admin.close().await;
                    }
                });
            })
            .join();
        }
    }
}

/// Settings for tests: cheap Argon2, otherwise as in production.
pub fn test_config() -> AppConfig {
    AppConfig {
        argon2_memory_kib: 64,
        ..AppConfig::default()
    }
}

/// The application on a fresh database with the demo organisation.
pub struct TestApp {
    pub tdb: TestDb,
    pub db: Db,
    pub router: Router,
    pub org_id: i64,
}

impl TestApp {
    pub async fn new() -> TestApp {
        TestApp::with_config(test_config()).await
    }

    pub async fn with_config(config: AppConfig) -> TestApp {
        let tdb = TestDb::new().await;
        let db = tdb.db.clone();
        let loaded = mamori::demo::load(&db, PASSWORD, config.argon2_memory_kib)
            .await
            .unwrap();
        let router = mamori_web::build(db.clone(), config);
        TestApp {
            tdb,
            db,
            router,
            org_id: loaded.org_id,
        }
    }

    /// A client with no session, from `127.0.0.1`.
    pub fn client(&self) -> Client {
        self.client_from("127.0.0.1:50000")
    }

    /// A client with no session, from `addr`.
    pub fn client_from(&self, addr: &str) -> Client {
        Client {
            router: self.router.clone(),
            cookies: BTreeMap::new(),
            addr: addr.parse().unwrap(),
            csrf: None,
            totp_secret: None,
            used_steps: Vec::new(),
            recovery_codes: Vec::new(),
        }
    }

    /// A client logged in as `login` (enrolling TOTP when the role requires it).
    pub async fn login(&self, login: &str) -> Client {
        let mut c = self.client();
        c.login(login, PASSWORD).await;
        c
    }

    /// A personal API token for `login`.
    pub async fn token(&self, login: &str) -> String {
        let person = mamori_db::org::person_by_login(&self.db, login)
            .await
            .unwrap()
            .unwrap();
        let ctx = mamori_db::org::AuditCtx {
            org_id: Some(person.org_id),
            actor: "test".into(),
            ..Default::default()
        };
        mamori_web::features::account::issue_token(&self.db, &ctx, person.id, "test")
            .await
            .unwrap()
            .1
    }

    /// The id of the person with `login`.
    pub async fn person_id(&self, login: &str) -> i64 {
        mamori_db::org::person_by_login(&self.db, login)
            .await
            .unwrap()
            .unwrap()
            .id
    }

    /// The id of the demo unit with `code`.
    pub async fn unit_id(&self, code: &str) -> i64 {
        mamori_db::org::unit_tree(&self.db, mamori_core::org::OrgId(self.org_id))
            .await
            .unwrap()
            .by_code(code)
            .unwrap()
            .id
    }

    /// How many audit entries have `action`.
    pub async fn audit_count(&self, action: &str) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_entry WHERE action = $1")
            .bind(action)
            .fetch_one(self.db.pool())
            .await
            .unwrap()
    }

    /// Number of rows in `table`.
    pub async fn count(&self, table: &'static str) -> i64 {
        sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
            .fetch_one(self.db.pool())
            .await
            .unwrap()
    }
}

/// A response, read whole.
#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub bytes: Bytes,
    pub body: String,
}

impl Resp {
    pub fn location(&self) -> Option<&str> {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.bytes)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    /// Text of the element with `id` (first occurrence), tags stripped.
    pub fn by_id(&self, id: &str) -> Option<String> {
        let marker = format!("id=\"{id}\"");
        let start = self.body.find(&marker)?;
        let open_end = self.body[start..].find('>')? + start + 1;
        let close = self.body[open_end..].find('<')? + open_end;
        Some(self.body[open_end..close].trim().to_owned())
    }
}

/// A browser-like client: keeps cookies, picks up the CSRF token from pages.
pub struct Client {
    pub router: Router,
    pub cookies: BTreeMap<String, String>,
    pub addr: SocketAddr,
    pub csrf: Option<String>,
    pub totp_secret: Option<String>,
    used_steps: Vec<u64>,
    pub recovery_codes: Vec<String>,
}

pub fn form_body(fields: &[(&str, &str)]) -> String {
    serde_urlencoded::to_string(fields).unwrap()
}

/// The value of the first hidden `csrf` input on a page.
pub fn scrape_csrf(body: &str) -> Option<String> {
    let at = body.find("name=\"csrf\" value=\"")? + "name=\"csrf\" value=\"".len();
    let end = body[at..].find('"')? + at;
    Some(body[at..end].to_owned())
}

/// A TOTP code for `secret` at `unix`.
pub fn totp_code(secret: &str, unix: u64) -> String {
    let secret = totp_rs::Secret::try_from_base32(secret).unwrap();
    totp_rs::Builder::new()
        .with_secret(secret)
        .build()
        .unwrap()
        .generate(unix)
        .to_string()
}

pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

impl Client {
    pub async fn send(&mut self, mut req: Request<Body>) -> Resp {
        if !self.cookies.is_empty() {
            let cookie = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ");
            req.headers_mut()
                .insert(header::COOKIE, HeaderValue::from_str(&cookie).unwrap());
        }
        req.headers_mut()
            .entry(header::HOST)
            .or_insert(HeaderValue::from_static("localhost"));
        req.extensions_mut().insert(ConnectInfo(self.addr));
        let res = self.router.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        for v in headers.get_all(header::SET_COOKIE) {
            let v = v.to_str().unwrap();
            let pair = v.split(';').next().unwrap();
            let (k, val) = pair.split_once('=').unwrap();
            if val.is_empty() || v.contains("Max-Age=0") {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_owned(), val.to_owned());
            }
        }
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        let body = String::from_utf8_lossy(&bytes).into_owned();
        if let Some(t) = scrape_csrf(&body) {
            self.csrf = Some(t);
        }
        Resp {
            status,
            headers,
            bytes,
            body,
        }
    }

    pub async fn get(&mut self, path: &str) -> Resp {
        let req = Request::builder().uri(path).body(Body::empty()).unwrap();
        self.send(req).await
    }

    /// Posts a form; the page's CSRF token is added unless the fields carry one.
    pub async fn post_form(&mut self, path: &str, fields: &[(&str, &str)]) -> Resp {
        let mut all: Vec<(&str, &str)> = fields.to_vec();
        let csrf = self.csrf.clone();
        if !fields.iter().any(|(k, _)| *k == "csrf")
            && let Some(t) = csrf.as_deref()
        {
            all.push(("csrf", t));
        }
        let req = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ORIGIN, "http://localhost")
            .header("sec-fetch-site", "same-origin")
            .body(Body::from(form_body(&all)))
            .unwrap();
        self.send(req).await
    }

    /// A fresh TOTP code (each time step is used once, as the server requires).
    pub fn next_code(&mut self) -> String {
        let secret = self.totp_secret.clone().expect("no TOTP secret enrolled");
        let now = unix_now();
        for t in [now, now + 30, now.saturating_sub(30)] {
            let step = t / 30;
            if !self.used_steps.contains(&step) {
                self.used_steps.push(step);
                return totp_code(&secret, t);
            }
        }
        panic!("all TOTP steps within the skew window are used")
    }

    /// Logs in through every stage (password, TOTP enrolment or code, password change is not
    /// expected) and ends on the dashboard.
    pub async fn login(&mut self, login: &str, password: &str) {
        let r = self
            .post_form("/login", &[("login", login), ("password", password)])
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "login failed: {}", r.body);
        match r.location().unwrap() {
            "/" => {}
            "/login/enroll" => {
                let page = self.get("/login/enroll").await;
                assert_eq!(page.status, StatusCode::OK, "{}", page.body);
                self.totp_secret = Some(page.by_id("totp-secret").unwrap());
                let code = self.next_code();
                let done = self.post_form("/login/enroll", &[("code", &code)]).await;
                assert_eq!(done.status, StatusCode::OK, "{}", done.body);
                self.recovery_codes = scrape_codes(&done.body);
            }
            "/login/totp" => {
                self.get("/login/totp").await;
                let code = self.next_code();
                let done = self.post_form("/login/totp", &[("code", &code)]).await;
                assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
            }
            other => panic!("unexpected login stage {other}"),
        }
        let home = self.get("/").await;
        assert_eq!(home.status, StatusCode::OK, "{}", home.body);
    }

    /// A request with a JSON body and a bearer token.
    pub async fn api(
        &mut self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<serde_json::Value>,
    ) -> Resp {
        let mut b = Request::builder()
            .method(method)
            .uri(path)
            .header(header::AUTHORIZATION, format!("Bearer {token}"));
        let body = match body {
            Some(v) => {
                b = b.header(header::CONTENT_TYPE, "application/json");
                Body::from(v.to_string())
            }
            None => Body::empty(),
        };
        self.send(b.body(body).unwrap()).await
    }
}

/// Recovery codes from the page shown after enrolment (`<li class="code">…</li>` items).
pub fn scrape_codes(body: &str) -> Vec<String> {
    body.split("<code class=\"recovery\">")
        .skip(1)
        .filter_map(|s| s.split('<').next())
        .map(|s| s.trim().to_owned())
        .collect()
}
