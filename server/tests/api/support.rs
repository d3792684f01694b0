//! Test support: a real server on port 0, on either database, and a client for it.
//!
//! PostgreSQL runs when `PORTICO_TEST_DATABASE_URL` points at a server whose user may create
//! databases; each test gets a fresh database. Without it the PostgreSQL variants skip —
//! except under `CI=true`, where a missing PostgreSQL is a failure.

use std::time::Duration;

use portico::{Config, RunningServer};

use crate::contract::{self, Violations};
use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};
use sqlx::Connection;

/// How every test server resolves webhook hosts (`PORTICO_RESOLVE`): `localhost` only, every
/// other name refused without a lookup — no test asks DNS about a name that is not on this
/// machine. A test that needs a name maps it to a loopback address itself.
pub const RESOLVE: &str = "static:";

/// Which database a test server runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A running server and a client for it.
pub struct TestServer {
    pub base: String,
    pub client: reqwest::Client,
    server: Option<RunningServer>,
    pub data_dir: tempfile::TempDir,
    /// Answers that broke the OpenAPI document (see `contract`); the test fails on any.
    violations: Violations,
}

/// Runs `$name(&TestServer)` once per backend: `storage_tests!(a, b, c);`.
macro_rules! storage_tests {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let server = $crate::support::TestServer::start($crate::support::Backend::Sqlite).await.unwrap();
                    super::$name(&server).await;
                    server.stop().await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(server) = $crate::support::TestServer::start($crate::support::Backend::Postgres).await else { return };
                    super::$name(&server).await;
                    server.stop().await;
                }
            )+
        }
    };
}
pub(crate) use storage_tests;

/// Runs `$name(&TestServer)` once per backend with a customised configuration:
/// `storage_tests_with!(|config| config.session_ttl = Duration::ZERO; a, b);`.
macro_rules! storage_tests_with {
    (|$config:ident| $tweak:expr; $($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let server = $crate::support::TestServer::start_with(
                        $crate::support::Backend::Sqlite,
                        |$config: &mut portico::Config| { $tweak; },
                    ).await.unwrap();
                    super::$name(&server).await;
                    server.stop().await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(server) = $crate::support::TestServer::start_with(
                        $crate::support::Backend::Postgres,
                        |$config: &mut portico::Config| { $tweak; },
                    ).await else { return };
                    super::$name(&server).await;
                    server.stop().await;
                }
            )+
        }
    };
}
pub(crate) use storage_tests_with;

impl TestServer {
    /// Starts a server on `backend` with the default configuration. `None` when the backend
    /// is PostgreSQL and none is configured outside CI.
    pub async fn start(backend: Backend) -> Option<Self> {
        Self::start_with(backend, |_| {}).await
    }

    pub async fn start_with(backend: Backend, tweak: impl FnOnce(&mut Config)) -> Option<Self> {
        let data_dir = tempfile::tempdir().expect("a temporary directory");
        let mut config = Config::new("127.0.0.1:0", data_dir.path());
        config.resolver = portico::webhooks::guard::Resolver::parse(RESOLVE).expect("the tests' resolver");
        if backend == Backend::Postgres {
            config.database_url = Some(fresh_postgres_database().await?);
        }
        tweak(&mut config);
        Some(Self::serve(config, data_dir).await)
    }

    /// Starts the server with `config`, every answer checked against the spec.
    async fn serve(config: Config, data_dir: tempfile::TempDir) -> Self {
        let violations = Violations::default();
        let server = portico::server::start_with(config, |app| contract::wrap(app, violations.clone()))
            .await
            .expect("the test server starts");
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("an HTTP client");
        Self { base: server.base_url(), client, server: Some(server), data_dir, violations }
    }

    /// Starts another instance on this server's database, with its master key — as a second
    /// instance behind a load balancer runs. `tweak` adjusts its configuration.
    pub async fn beside(&self, tweak: impl FnOnce(&mut Config)) -> Self {
        let config = &self.server().state().config;
        let database_url = match config.database().expect("a database") {
            portico::config::DatabaseTarget::Sqlite { url }
            | portico::config::DatabaseTarget::Postgres { url } => url,
        };
        let master_key = match &config.master_key {
            Some(key) => key.expose().clone(),
            None => {
                std::fs::read_to_string(self.data_dir.path().join("master.key")).expect("the master key file")
            }
        };
        let data_dir = tempfile::tempdir().expect("a temporary directory");
        let mut config = Config::new("127.0.0.1:0", data_dir.path());
        config.database_url = Some(database_url);
        config.master_key = Some(portico::secret::Secret::new(master_key));
        config.resolver = portico::webhooks::guard::Resolver::parse(RESOLVE).expect("the tests' resolver");
        tweak(&mut config);
        Self::serve(config, data_dir).await
    }

    pub fn server(&self) -> &RunningServer {
        self.server.as_ref().expect("the server is running")
    }

    /// Moves the server's clock forward (expiries, grace periods, sessions) instead of sleeping.
    pub fn advance_clock(&self, by: Duration) {
        self.server().state().clock().advance(by);
    }

    /// Runs a `SELECT COUNT(*)`-style query, with text parameters, on the server's database.
    pub async fn count(&self, sql: &'static str, params: &[&str]) -> i64 {
        portico::dispatch!(self.server().state().db, |pool| {
            let mut query = sqlx::query_scalar(sql);
            for param in params {
                query = query.bind(*param);
            }
            query.fetch_one(pool).await.unwrap()
        })
    }

    /// Runs a statement, with text parameters, on the server's database (a test breaking
    /// something on purpose); returns the rows it touched.
    pub async fn execute(&self, sql: &'static str, params: &[&str]) -> u64 {
        portico::dispatch!(self.server().state().db, |pool| {
            let mut query = sqlx::query(sql);
            for param in params {
                query = query.bind(*param);
            }
            query.execute(pool).await.unwrap().rows_affected()
        })
    }

    /// Writes what the batch writers hold (request log and usage, clicks, last-used stamps)
    /// and waits until it is committed.
    pub async fn flush(&self) {
        self.server().state().flush_now().await.expect("the batch writers flush");
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.client.request(method, self.url(path))
    }

    pub async fn get(&self, path: &str) -> Response {
        self.request(Method::GET, path).send().await.expect("the request is answered")
    }

    pub async fn get_with_token(&self, path: &str, token: &str) -> Response {
        self.request(Method::GET, path).bearer_auth(token).send().await.expect("the request is answered")
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Response {
        self.request(Method::POST, path).json(body).send().await.expect("the request is answered")
    }

    /// Signs up `email` (password `correct horse battery`) and returns the 201 body.
    pub async fn signup(&self, email: &str) -> Value {
        let response = self
            .post_json(
                "/api/developer/signup",
                &json!({"email": email, "password": PASSWORD, "organization_name": format!("Org of {email}")}),
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED, "sign-up of {email}");
        response.json().await.unwrap()
    }

    /// Creates an API key with the dashboard session `token`; returns the 201 body (`key` and
    /// metadata).
    pub async fn create_key(&self, token: &str, body: Value) -> Value {
        let response = self
            .request(Method::POST, "/api/developer/apikeys")
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED, "creating a key with {body}");
        response.json().await.unwrap()
    }

    /// Signs up `email` and creates a full-access key; returns (session token, key, key id).
    pub async fn org_with_key(&self, email: &str, scopes: &[&str]) -> (String, String, String) {
        let token = self.signup(email).await["token"].as_str().unwrap().to_owned();
        let created = self.create_key(&token, json!({"name": "test key", "scopes": scopes})).await;
        (token, created["key"].as_str().unwrap().to_owned(), created["id"].as_str().unwrap().to_owned())
    }

    /// A dashboard request authenticated with the session `token`.
    pub fn session(&self, method: Method, path: &str, token: &str) -> reqwest::RequestBuilder {
        self.request(method, path).bearer_auth(token)
    }

    /// A `/v1` request authenticated with `key` as a bearer token.
    pub fn v1(&self, method: Method, path: &str, key: &str) -> reqwest::RequestBuilder {
        self.request(method, path).bearer_auth(key)
    }

    /// GETs `path` with `key` until `done` holds for the JSON answer (or about 5 s pass);
    /// returns the last answer.
    pub async fn poll(&self, path: &str, key: &str, done: impl Fn(&Value) -> bool) -> Value {
        let mut last = Value::Null;
        for _ in 0..100 {
            last = self.v1(Method::GET, path, key).send().await.unwrap().json().await.unwrap();
            if done(&last) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        last
    }

    /// Stops the server gracefully; fails the test if any answer broke the spec.
    pub async fn stop(mut self) {
        if let Some(server) = self.server.take() {
            server.shutdown().await;
        }
        self.assert_contract_kept();
    }

    fn assert_contract_kept(&self) {
        let violations = self.violations.take();
        assert!(
            violations.is_empty(),
            "answers that break spec/openapi.json:\n  {}",
            violations.join("\n  ")
        );
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            self.assert_contract_kept();
        }
    }
}

/// The password `signup` uses.
pub const PASSWORD: &str = "correct horse battery";

/// GETs `url` with `key` as a bearer token and returns the JSON body.
pub async fn get_json(client: &reqwest::Client, url: impl AsRef<str>, key: &str) -> Value {
    client
        .get(url.as_ref())
        .bearer_auth(key)
        .send()
        .await
        .expect("answered")
        .json()
        .await
        .expect("a JSON body")
}

/// Signs up on a server started by hand (not a `TestServer`) and creates a key with `scopes`;
/// returns (session token, key).
pub async fn account_with_key(
    client: &reqwest::Client,
    base: &str,
    email: &str,
    scopes: &[&str],
) -> (String, String) {
    let signup: Value = client
        .post(format!("{base}/api/developer/signup"))
        .json(&json!({"email": email, "password": PASSWORD, "organization_name": format!("Org of {email}")}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = signup["token"].as_str().expect("signed up").to_owned();
    let created: Value = client
        .post(format!("{base}/api/developer/apikeys"))
        .bearer_auth(&token)
        .json(&json!({"name": "test key", "scopes": scopes}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (token, created["key"].as_str().expect("key created").to_owned())
}

/// Starts the `portico` binary on port 0 with `data_dir` and extra environment (an empty
/// `DATABASE_URL` means SQLite); returns the child and the base URL it announced.
pub fn start_binary(data_dir: &std::path::Path, env: &[(&str, &str)]) -> (std::process::Child, String) {
    use std::io::BufRead;
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_portico"));
    command
        .args(["--addr", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .env_remove("PORTICO_LOG")
        .env_remove("DATABASE_URL")
        .env("PORTICO_RESOLVE", RESOLVE)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null());
    for (name, value) in env {
        command.env(name, value);
    }
    let mut child = command.spawn().expect("the binary starts");
    let mut lines = std::io::BufReader::new(child.stdout.take().expect("piped stdout")).lines();
    let base = loop {
        let line = lines.next().expect("the server announces its address").expect("readable stdout");
        if let Some(rest) = line.trim().strip_prefix("Portico is running on ") {
            break rest.split_whitespace().next().expect("a URL").to_owned();
        }
    };
    // Keep reading, so the server never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    (child, base)
}

/// The test Redis (`PORTICO_TEST_REDIS_URL`); `None` outside CI when it is not set (the test
/// then skips), a failure under `CI=true`.
pub fn test_redis_url() -> Option<String> {
    match std::env::var("PORTICO_TEST_REDIS_URL").ok().filter(|u| !u.is_empty()) {
        Some(url) => Some(url),
        None if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("CI=true but PORTICO_TEST_REDIS_URL is not set: the Redis tests cannot be skipped in CI")
        }
        None => {
            eprintln!("skipping: PORTICO_TEST_REDIS_URL is not set");
            None
        }
    }
}

/// Creates a database on the test PostgreSQL server, already migrated, and returns its URL.
///
/// The first call migrates a template database; every test database is a copy of it
/// (`CREATE DATABASE … TEMPLATE`), which takes a fraction of running every migration again.
pub async fn fresh_postgres_database() -> Option<String> {
    let Some(admin_url) = std::env::var("PORTICO_TEST_DATABASE_URL").ok().filter(|u| !u.is_empty()) else {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!(
                "CI=true but PORTICO_TEST_DATABASE_URL is not set: the PostgreSQL tests cannot be skipped in CI"
            );
        }
        eprintln!("skipping the PostgreSQL variant: PORTICO_TEST_DATABASE_URL is not set");
        return None;
    };
    // One clone at a time: PostgreSQL refuses to copy a template another session is reading.
    static TEMPLATE: tokio::sync::Mutex<Option<String>> = tokio::sync::Mutex::const_new(None);
    let mut template = TEMPLATE.lock().await;
    if template.is_none() {
        let name = unique_database_name("portico_template");
        create_database(&admin_url, &name, None).await;
        let url = with_database(&admin_url, &name);
        let db = portico::db::Db::connect(&portico::config::DatabaseTarget::Postgres { url })
            .await
            .unwrap_or_else(|e| panic!("cannot connect to the template database: {e}"));
        db.migrate().await.unwrap_or_else(|e| panic!("cannot migrate the template database: {e}"));
        db.close().await;
        *template = Some(name);
    }
    let name = unique_database_name("portico_test");
    create_database(&admin_url, &name, template.as_deref()).await;
    Some(with_database(&admin_url, &name))
}

/// A fixed prefix and a ULID: safe to splice into SQL.
fn unique_database_name(prefix: &str) -> String {
    format!("{prefix}_{}", ulid::Ulid::new().to_string().to_lowercase())
}

async fn create_database(admin_url: &str, name: &str, template: Option<&str>) {
    let mut admin = sqlx::PgConnection::connect(admin_url)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to PORTICO_TEST_DATABASE_URL: {e}"));
    let sql = match template {
        Some(template) => format!("CREATE DATABASE {name} TEMPLATE {template}"),
        None => format!("CREATE DATABASE {name}"),
    };
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .execute(&mut admin)
        .await
        .unwrap_or_else(|e| panic!("cannot create a test database: {e}"));
    let _ = admin.close().await;
}

/// `admin_url` with its database name replaced by `name`.
fn with_database(admin_url: &str, name: &str) -> String {
    let (base, query) = match admin_url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (admin_url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

/// Asserts that `response` is a problem+json with `status` and `code`, and returns its body.
pub async fn assert_problem(response: Response, status: u16, code: &str) -> Value {
    assert_eq!(response.status().as_u16(), status, "status of a response that should be `{code}`");
    let content_type =
        response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    assert_eq!(content_type, "application/problem+json");
    let request_id =
        response.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let body: Value = response.json().await.expect("a JSON problem body");
    assert_eq!(body["code"], code, "problem: {body}");
    assert_eq!(body["status"], status);
    assert_eq!(body["type"], format!("urn:portico:error:{code}"));
    assert!(body["title"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(body["detail"].as_str().is_some_and(|d| !d.is_empty()));
    assert_eq!(body["request_id"], request_id, "the body's request id is the header's");
    body
}

#[test]
fn database_names_are_swapped_in_urls() {
    assert_eq!(with_database("postgres://u:p@h:5/postgres", "x"), "postgres://u:p@h:5/x");
    assert_eq!(
        with_database("postgres://u@h/postgres?sslmode=disable", "x"),
        "postgres://u@h/x?sslmode=disable"
    );
    assert_eq!(with_database("postgres://u@h", "x"), "postgres://u@h/x");
}
