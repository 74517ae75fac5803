//! Many tenants (SPEC §7.6): `cargo bench --bench tenants [-- <n>]` (default 10 000).
//!
//! Makes `n` tenant files (one real tenant, created with its owner, then copied file by file
//! and registered, which is what `n` clinics' files look like to the server), then measures
//! the first start (every file migrated), a normal restart (the registry knows every file is
//! migrated), the first sweep (every tenant due once), a steady sweep (nothing due), the
//! first requests to closed tenants, and the process's RSS and open files at each step.

mod common;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use voki::app::AppState;
use voki::config::Config;
use voki::tenancy::{Owner, create_tenant};

fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kb| kb.parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

fn open_files() -> usize {
    std::fs::read_dir("/proc/self/fd").map(|d| d.count()).unwrap_or(0)
}

fn report(step: &str, took: Duration) {
    println!(
        "{step:<44} {:>10}   RSS {:>7.1} MiB   open files {:>5}",
        common::millis(took),
        rss_mib(),
        open_files()
    );
}

fn config(dir: &std::path::Path) -> Config {
    Config {
        data_dir: dir.to_path_buf(),
        listen: "127.0.0.1:0".into(),
        jwt_secret: common::SECRET.into(),
        bootstrap_demo: false,
        log: "error".into(),
        rate_limit_auth_per_minute: 0,
        rate_limit_auth_ip_per_minute: 0,
        ..Config::default()
    }
}

fn slug(n: usize) -> String {
    format!("clinic-{n:05}")
}

#[tokio::main]
async fn main() {
    let count: usize = std::env::args()
        .skip(1)
        .find_map(|arg| arg.parse().ok())
        .unwrap_or(10_000);
    let dir = tempfile::tempdir().expect("temp dir");
    println!("{count} tenants, max_open_tenants 64 (default), tenant_idle_secs 300 (default)");

    // One real tenant, then copies of its file registered under other slugs.
    {
        let state = AppState::open(config(dir.path())).await.expect("open");
        let owner = Owner {
            name: "Owner".into(),
            email: common::OWNER_EMAIL.into(),
            password: common::PASSWORD.into(),
        };
        create_tenant(&state, &slug(0), "Clinic 0", owner)
            .await
            .expect("tenant");
        state.tenants.close_all().await;
    }
    let began = Instant::now();
    let template = dir.path().join("tenants").join(format!("{}.db", slug(0)));
    for n in 1..count {
        std::fs::copy(&template, dir.path().join("tenants").join(format!("{}.db", slug(n)))).expect("copy");
    }
    {
        let mut registry = rusqlite::Connection::open(dir.path().join("voki.db")).expect("registry");
        let tx = registry.transaction().expect("tx");
        for n in 1..count {
            tx.execute(
                "INSERT INTO tenants (slug, name, inserted_at) VALUES (?1, ?2, '2026-01-01T00:00:00Z')",
                rusqlite::params![slug(n), format!("Clinic {n}")],
            )
            .expect("register");
        }
        // As after an upgrade from a version without the schedule: nothing recorded.
        tx.execute("DELETE FROM tenant_state", []).expect("reset state");
        tx.commit().expect("commit");
    }
    let bytes = std::fs::metadata(&template).map(|m| m.len()).unwrap_or(0);
    println!(
        "made {count} tenant files of {} KiB in {:.1} s",
        bytes / 1024,
        began.elapsed().as_secs_f64()
    );
    report("before start", Duration::ZERO);

    let began = Instant::now();
    let state = AppState::open(config(dir.path())).await.expect("first start");
    report("first start (migration check of every file)", began.elapsed());
    let began = Instant::now();
    let failures = voki::sweeper::sweep_once(&state).await;
    assert_eq!(failures, 0);
    report("first sweep (every tenant due once)", began.elapsed());
    state.tenants.close_all().await;
    drop(state);

    let began = Instant::now();
    let state = AppState::open(config(dir.path())).await.expect("restart");
    report("restart (registry knows every file)", began.elapsed());
    let began = Instant::now();
    assert_eq!(voki::sweeper::sweep_once(&state).await, 0);
    report("steady sweep (nothing due)", began.elapsed());
    println!(
        "tenants open after the steady sweep: {}",
        state.tenants.open_slugs().len()
    );

    let (server, base) = common::serve(state.clone()).await;
    let client = reqwest::Client::new();
    let mut first = Vec::new();
    let began = Instant::now();
    let step = (count / 100).max(1);
    for n in (0..count).step_by(step) {
        let tenant = slug(n);
        let login: Value = client
            .post(format!("{base}/api/auth/login"))
            .json(&json!({"email": common::OWNER_EMAIL, "password": common::PASSWORD, "tenant": tenant}))
            .send()
            .await
            .expect("login")
            .json()
            .await
            .expect("login body");
        let token = login["data"]["access_token"].as_str().expect("token").to_string();
        let asked = Instant::now();
        let reply = client
            .get(format!("{base}/api/v1/departments"))
            .bearer_auth(&token)
            .header("X-Tenant", &tenant)
            .send()
            .await
            .expect("request");
        assert_eq!(reply.status(), 200);
        first.push(asked.elapsed());
    }
    first.sort();
    report(
        &format!("{} tenants: login + first request each", first.len()),
        began.elapsed(),
    );
    println!(
        "request after login: median {}, max {}",
        common::millis(first[first.len() / 2]),
        common::millis(first[first.len() - 1])
    );
    println!("tenants open now: {}", state.tenants.open_slugs().len());
    server.stop().await;
}
