//! What the benchmarks share: tenant `bench` on a fresh data dir, its owner's login, and
//! how a duration is printed. Each bench uses part of it.

#![allow(dead_code)]

use std::time::Duration;

use serde_json::{Value, json};
use tempfile::TempDir;
use voki::app::{AppState, Server};
use voki::config::Config;
use voki::tenancy::{Owner, create_tenant};

pub const TENANT: &str = "bench";
pub const OWNER_EMAIL: &str = "owner@bench.test";
pub const PASSWORD: &str = "bench-password-1";
pub const SECRET: &str = "bench-secret-bench-secret-bench-secret";

/// The state of a server with tenant `bench` and its owner, on a fresh temp data dir
/// (removed when the returned `TempDir` is dropped).
pub async fn bench_state() -> (AppState, TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = Config {
        data_dir: dir.path().to_path_buf(),
        listen: "127.0.0.1:0".into(),
        jwt_secret: SECRET.into(),
        bootstrap_demo: false,
        log: "error".into(),
        ..Config::default()
    };
    let state = AppState::open(config).await.expect("open state");
    let owner = Owner {
        name: "Owner".into(),
        email: OWNER_EMAIL.into(),
        password: PASSWORD.into(),
    };
    create_tenant(&state, TENANT, "Bench clinic", owner)
        .await
        .expect("tenant");
    (state, dir)
}

/// Serves `state` on loopback; the server and its base URL.
pub async fn serve(state: AppState) -> (Server, String) {
    let server = Server::start(state, "127.0.0.1:0".parse().expect("address"))
        .await
        .expect("server");
    let base = format!("http://{}", server.addr);
    (server, base)
}

/// The owner's access token.
pub async fn login(client: &reqwest::Client, base: &str) -> String {
    let login: Value = client
        .post(format!("{base}/api/auth/login"))
        .json(&json!({"email": OWNER_EMAIL, "password": PASSWORD, "tenant": TENANT}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("login body");
    login["data"]["access_token"].as_str().expect("token").to_string()
}

pub fn millis(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1000.0)
}
