//! Test harness: each test starts the real server on 127.0.0.1:0 with a fresh data dir
//! and talks HTTP to it. Nothing is mocked.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tempfile::TempDir;
use voki::app::{AppState, Server};
use voki::config::Config;
use voki::tenancy::{Owner, create_tenant};

pub const OWNER_PASSWORD: &str = "owner-password-1";
pub const PASSWORD: &str = "user-password-1";

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub server: Option<Server>,
    pub dir: TempDir,
}

/// One logged-in user: the tokens and the tenant they belong to.
#[derive(Clone, Debug)]
pub struct Session {
    pub tenant: String,
    pub token: String,
    pub refresh_token: String,
    pub user_id: String,
    pub email: String,
}

/// A response: status, JSON body (`Value::Null` when the body is not JSON), headers.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
    pub text: String,
    pub headers: reqwest::header::HeaderMap,
}

impl Reply {
    /// `body.data`.
    pub fn data(&self) -> &Value {
        &self.body["data"]
    }

    pub fn id(&self) -> String {
        self.body["data"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("no data.id in {}", self.text))
            .to_string()
    }

    /// Panics with the body when the status is not `expected`.
    #[track_caller]
    pub fn expect(self, expected: u16) -> Reply {
        assert_eq!(self.status.as_u16(), expected, "unexpected status; body: {}", self.text);
        self
    }

    /// The messages of a 422 field error.
    pub fn field_errors(&self, field: &str) -> Vec<String> {
        self.body["errors"][field]
            .as_array()
            .map(|a| a.iter().filter_map(|m| m.as_str().map(str::to_string)).collect())
            .unwrap_or_default()
    }
}

/// The configuration tests run with: a temp data dir, a fixed secret, no demo tenant.
pub fn test_config(data_dir: PathBuf) -> Config {
    Config {
        data_dir,
        listen: "127.0.0.1:0".into(),
        public_url: "http://voki.test".into(),
        jwt_secret: "test-secret-test-secret-test-secret!".into(),
        bootstrap_demo: false,
        log: "warn".into(),
        // Tests log in often from one address; the limits themselves are tested with the
        // defaults restored (tests/api/auth_extras.rs).
        rate_limit_auth_per_minute: 10_000,
        rate_limit_auth_ip_per_minute: 10_000,
        rate_limit_refresh_per_minute: 10_000,
        rate_limit_widget_per_minute: 10_000,
        rate_limit_booking_per_minute: 10_000,
        ..Config::default()
    }
}

impl TestApp {
    /// A server with tenant `acme` and its owner `owner@acme.test`.
    pub async fn spawn() -> TestApp {
        Self::spawn_with(|_| {}).await
    }

    /// Like [`TestApp::spawn`], with the configuration adjusted first.
    /// A server that sends its e-mail to `sink` (a plain LAN-relay connection).
    pub async fn with_smtp(sink: &crate::smtp_sink::SmtpSink) -> TestApp {
        let url = sink.url();
        TestApp::spawn_with(move |c| c.smtp_url = url).await
    }

    pub async fn spawn_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = test_config(dir.path().to_path_buf());
        adjust(&mut config);
        let state = AppState::open(config).await.expect("open state");
        let server = Server::start(state, "127.0.0.1:0".parse().unwrap())
            .await
            .expect("start server");
        let app = TestApp {
            base: format!("http://{}", server.addr),
            client: reqwest::Client::new(),
            server: Some(server),
            dir,
        };
        app.create_tenant("acme").await;
        app
    }

    pub fn state(&self) -> &AppState {
        &self.server.as_ref().expect("server running").state
    }

    /// Creates tenant `slug` with owner `owner@<slug>.test`.
    pub async fn create_tenant(&self, slug: &str) {
        let owner = Owner {
            name: "Owner".into(),
            email: format!("owner@{slug}.test"),
            password: OWNER_PASSWORD.into(),
        };
        create_tenant(self.state(), slug, &format!("{slug} clinic"), owner)
            .await
            .expect("create tenant");
    }

    pub async fn request(&self, method: Method, path: &str, session: Option<&Session>, body: Option<Value>) -> Reply {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(session) = session {
            request = request.bearer_auth(&session.token).header("X-Tenant", &session.tenant);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request sent");
        reply(response).await
    }

    pub async fn get(&self, path: &str, session: &Session) -> Reply {
        self.request(Method::GET, path, Some(session), None).await
    }

    pub async fn post(&self, path: &str, session: &Session, body: Value) -> Reply {
        self.request(Method::POST, path, Some(session), Some(body)).await
    }

    pub async fn put(&self, path: &str, session: &Session, body: Value) -> Reply {
        self.request(Method::PUT, path, Some(session), Some(body)).await
    }

    pub async fn delete(&self, path: &str, session: &Session) -> Reply {
        self.request(Method::DELETE, path, Some(session), None).await
    }

    /// Sends raw bytes with a content type, for bad-input tests and multipart uploads.
    pub async fn raw(&self, method: Method, path: &str, session: &Session, content_type: &str, body: Vec<u8>) -> Reply {
        let response = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&session.token)
            .header("X-Tenant", &session.tenant)
            .header("Content-Type", content_type)
            .body(body)
            .send()
            .await
            .expect("request sent");
        reply(response).await
    }

    pub async fn login(&self, tenant: &str, email: &str, password: &str) -> Session {
        let reply = self
            .request(
                Method::POST,
                "/api/auth/login",
                None,
                Some(json!({"email": email, "password": password, "tenant": tenant})),
            )
            .await
            .expect(200);
        let data = reply.data();
        Session {
            tenant: tenant.into(),
            token: data["access_token"].as_str().expect("access_token").into(),
            refresh_token: data["refresh_token"].as_str().expect("refresh_token").into(),
            user_id: data["user"]["id"].as_str().expect("user.id").into(),
            email: email.into(),
        }
    }

    /// The owner of `tenant`, logged in.
    pub async fn owner(&self, tenant: &str) -> Session {
        self.login(tenant, &format!("owner@{tenant}.test"), OWNER_PASSWORD)
            .await
    }

    /// Creates a user with `role` (through the API, as the owner) and logs them in.
    pub async fn user(&self, owner: &Session, role: &str) -> Session {
        let email = format!("{role}-{}@{}.test", uuid::Uuid::new_v4().simple(), owner.tenant);
        self.post(
            "/api/v1/users",
            owner,
            json!({"user": {"name": format!("A {role}"), "email": email, "password": PASSWORD, "role": role}}),
        )
        .await
        .expect(201);
        self.login(&owner.tenant, &email, PASSWORD).await
    }

    /// Creates a department (as `session`) and returns its id.
    pub async fn department(&self, session: &Session, name: &str) -> String {
        self.post("/api/v1/departments", session, json!({"department": {"name": name}}))
            .await
            .expect(201)
            .id()
    }

    /// Stops the server and starts a new one on the same data dir (and configuration).
    pub async fn restart_with(&mut self, adjust: impl FnOnce(&mut Config)) {
        self.stop().await;
        let mut config = test_config(self.dir.path().to_path_buf());
        adjust(&mut config);
        let state = AppState::open(config).await.expect("reopen state");
        let server = Server::start(state, "127.0.0.1:0".parse().unwrap())
            .await
            .expect("restart server");
        self.base = format!("http://{}", server.addr);
        self.server = Some(server);
    }

    /// A request without token or tenant, as a customer's browser sends it.
    pub async fn public_get(&self, path: &str) -> Reply {
        self.request(Method::GET, path, None, None).await
    }

    pub async fn public_post(&self, path: &str, body: Value) -> Reply {
        self.request(Method::POST, path, None, Some(body)).await
    }

    /// Creates an access link for a department with the extra fields of `link`; returns
    /// the link's JSON.
    pub async fn link(&self, session: &Session, department_id: &str, mut link: Value) -> Value {
        link["department_id"] = json!(department_id);
        self.post("/api/v1/access-links", session, json!({ "link": link }))
            .await
            .expect(201)
            .data()
            .clone()
    }

    /// A customer joins a queue with link `token`; returns the join answer.
    pub async fn join(&self, token: &str, name: &str) -> Value {
        self.public_post(
            &format!("/api/v1/call/{token}/join"),
            json!({"name": name, "email": format!("{}@patients.test", name.to_lowercase().replace(' ', "."))}),
        )
        .await
        .expect(200)
        .data()
        .clone()
    }

    /// A customer named `name` joins `department_id`'s queue through a new link; returns
    /// the call id.
    pub async fn queued_call(&self, session: &Session, department_id: &str, name: &str) -> String {
        let link = self.link(session, department_id, json!({})).await;
        let joined = self.join(link["token"].as_str().expect("token"), name).await;
        joined["call_id"].as_str().expect("call_id").to_string()
    }

    /// A call of `department_id` taken, started and completed by `agent` (a member).
    pub async fn completed_call(&self, owner: &Session, agent: &Session, department_id: &str, name: &str) -> String {
        let call_id = self.queued_call(owner, department_id, name).await;
        for action in ["assign", "start", "complete"] {
            self.post(&format!("/api/v1/calls/{call_id}/{action}"), agent, json!({}))
                .await
                .expect(200);
        }
        call_id
    }

    /// Gives `user_id` working hours `start`–`end` on every day of the week (as `owner`).
    pub async fn works_every_day(&self, owner: &Session, user_id: &str, start: &str, end: &str) {
        let weekly: Vec<Value> = (1..=7)
            .map(|weekday| json!({"weekday": weekday, "start": start, "end": end}))
            .collect();
        self.put(
            &format!("/api/v1/users/{user_id}/availability"),
            owner,
            json!({"availability": {"weekly": weekly}}),
        )
        .await
        .expect(200);
    }

    /// Runs every sweeper job once, as the background task does each interval.
    pub async fn sweep(&self) {
        assert_eq!(voki::sweeper::sweep_once(self.state()).await, 0, "sweeper jobs failed");
    }

    /// Stops the server gracefully; the data dir stays.
    pub async fn stop(&mut self) {
        if let Some(server) = self.server.take() {
            server.stop().await;
        }
    }
}

async fn reply(response: reqwest::Response) -> Reply {
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Reply {
        status,
        body,
        text,
        headers,
    }
}

/// An RFC 3339 UTC time `minutes` from now, on a whole minute (appointments must start in
/// the future; whole minutes keep expected values readable).
pub fn minutes_from_now(minutes: i64) -> String {
    let now = chrono::Utc::now().timestamp();
    let at = (now / 60 + minutes) * 60;
    voki::time::format(chrono::DateTime::from_timestamp(at, 0).expect("valid time"))
}

impl TestApp {
    /// Adds `user_id` to `department` (as `session`, a supervisor or above).
    pub async fn add_member(&self, session: &Session, department: &str, user_id: &str) {
        self.post(
            &format!("/api/v1/departments/{department}/users"),
            session,
            json!({"user_id": user_id}),
        )
        .await
        .expect(200);
    }

    /// The database of tenant `slug`, for fixtures the API cannot make (an appointment
    /// whose time has passed) and for checking what was stored.
    pub async fn tenant_db(&self, slug: &str) -> std::sync::Arc<voki::db::Database> {
        self.state()
            .tenants
            .get(slug)
            .await
            .expect("open tenant")
            .expect("tenant exists")
    }

    /// Moves appointment `id` of `slug` to start at `start` (keeping its duration), as if
    /// time had passed: the API itself refuses a start in the past.
    pub async fn move_appointment(&self, slug: &str, id: &str, start: &str) {
        let (id, start) = (id.to_string(), start.to_string());
        self.tenant_db(slug)
            .await
            .write(move |conn| {
                conn.execute(
                    "UPDATE appointments SET scheduled_at = ?2,
                         ends_at = strftime('%Y-%m-%dT%H:%M:%SZ', ?2, '+' || duration_minutes || ' minutes')
                     WHERE id = ?1",
                    [&id, &start],
                )?;
                Ok(())
            })
            .await
            .expect("move appointment");
    }

    /// Stops the server and starts a new one on the same data dir and configuration, as a
    /// process restart would. Sessions stay valid (the signing secret is fixed).
    pub async fn restart(&mut self) {
        let config = self.state().config.as_ref().clone();
        self.stop().await;
        let state = AppState::open(config).await.expect("reopen state");
        let server = Server::start(state, "127.0.0.1:0".parse().unwrap())
            .await
            .expect("restart server");
        self.base = format!("http://{}", server.addr);
        self.server = Some(server);
    }
}

/// An RFC 3339 time `seconds` from now, in whole seconds.
pub fn from_now(seconds: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::seconds(seconds))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// A `multipart/form-data` body with one file field; returns (content type, body).
pub fn multipart_file(field: &str, filename: &str, content_type: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = "voki-test-boundary-7d1e";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{filename}\"\r\n\
         Content-Type: {content_type}\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// The `tests/js` fixture with `module` and the Chromium binary (`CHROMIUM`, else Debian's),
/// for the browser tests; `None` (the test skips) without them, unless
/// `VOKI_REQUIRE_BROWSER` is set (see [`js_fixture`]).
pub fn browser_fixture(module: &str) -> Option<(PathBuf, PathBuf)> {
    let chromium = PathBuf::from(std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()));
    let fixture = js_fixture(module, &[&chromium], "VOKI_REQUIRE_BROWSER")?;
    Some((fixture, chromium))
}

/// The npm fixture folder (`tests/js`) when `module` is installed there (`npm ci`) and
/// `also` exists; `None` otherwise, after checking that `required` (an environment
/// variable CI sets) does not demand it.
pub fn js_fixture(module: &str, also: &[&Path], required: &str) -> Option<PathBuf> {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/js");
    if fixture.join("node_modules").join(module).exists() && also.iter().all(|p| p.exists()) {
        return Some(fixture);
    }
    assert!(
        std::env::var_os(required).is_none(),
        "{required} is set: install {module} (`npm ci` in tests/js) and {also:?}"
    );
    eprintln!("skipped: needs `npm ci` in tests/js and {also:?}");
    None
}

/// Runs `node <args>` in `fixture` with `env`; panics with its output unless it exits 0
/// after printing `OK` and nothing else.
pub async fn run_node(fixture: PathBuf, args: Vec<String>, env: Vec<(String, String)>) {
    let printed = run_node_output(fixture, args, env).await;
    assert!(printed.is_empty(), "printed before OK: {printed}");
}

impl TestApp {
    /// Cancels access link `link` (its JSON), as `session`.
    pub async fn cancel_link(&self, session: &Session, link: &Value) {
        self.post(
            &format!("/api/v1/access-links/{}/cancel", link["id"].as_str().expect("link id")),
            session,
            json!({}),
        )
        .await
        .expect(200);
    }
}

/// Runs `node <args>` in `fixture` with `env`; panics with its output unless it exits 0
/// and its output ends with `OK`. Returns what it printed before that `OK`.
pub async fn run_node_output(fixture: PathBuf, args: Vec<String>, env: Vec<(String, String)>) -> String {
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new("node")
            .args(&args)
            .envs(env)
            .current_dir(&fixture)
            .output()
    })
    .await
    .expect("node task")
    .expect("node runs");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr),
    );
    assert!(output.status.success(), "stdout: {stdout}\nstderr: {stderr}");
    let printed = stdout
        .trim()
        .strip_suffix("OK")
        .unwrap_or_else(|| panic!("no OK in {stdout}"));
    printed.trim().to_string()
}
