//! Many tenants, each touched once, against the release binary: 1 000 tenants (optionally
//! `-- <tenants>`), one login each from 16 connections, with the default
//! `max_open_tenants` (64). Prints the server's start time (it migrates every tenant
//! before serving), its RSS, open files and threads after the logins and after a pause,
//! and the login rate.
//!
//! The tenants are copies of one made with `voki tenant create` (each copy's company slug
//! set to its own), registered in the registry like the CLI does, so seeding takes
//! seconds rather than 1 000 password hashes.
//!
//! `VOKI_BENCH_BIN=<path to another voki>` runs the same against another build.

mod common;

use std::time::{Duration, Instant};

use common::{OWNER_EMAIL, PASSWORD};
use serde_json::json;

const CLIENTS: usize = 16;

fn report(label: &str, pid: u32) {
    println!(
        "{label}: RSS {:.0} MiB, {} open files, {} threads",
        common::rss_mib(pid),
        common::open_files(pid),
        common::proc_status(pid, "Threads:")
    );
}

#[tokio::main]
async fn main() {
    let tenants: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(1_000);
    let bin = common::voki_binary();
    let dir = tempfile::tempdir().expect("temp dir");
    common::create_tenant_with_cli(&bin, dir.path(), "t0000");
    let template = dir.path().join("tenants").join("t0000.db");
    let registry = rusqlite::Connection::open(dir.path().join("voki.db")).expect("registry");
    let now = voki::time::now_text();
    for index in 1..tenants {
        let slug = format!("t{index:04}");
        let path = dir.path().join("tenants").join(format!("{slug}.db"));
        std::fs::copy(&template, &path).expect("copy tenant");
        rusqlite::Connection::open(&path)
            .and_then(|conn| conn.execute("UPDATE company SET slug = ?1", [&slug]))
            .expect("company slug");
        registry
            .execute(
                "INSERT INTO tenants (slug, name, inserted_at) VALUES (?1, ?2, ?3)",
                (&slug, format!("Clinic {index}"), &now),
            )
            .expect("register tenant");
    }
    drop(registry);

    let server = common::start_server(
        &bin,
        dir.path(),
        &[
            ("VOKI_RATE_LIMIT_AUTH_PER_MINUTE", "0"),
            ("VOKI_RATE_LIMIT_AUTH_IP_PER_MINUTE", "0"),
        ],
    );
    let pid = server.pid();
    println!(
        "binary {bin}\n{tenants} tenants: server ready in {:.2} s",
        server.started_in.as_secs_f64()
    );
    report("after start", pid);

    let sampler = common::RssSampler::start(pid);
    let began = Instant::now();
    let client = reqwest::Client::new();
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (client, base, next) = (client.clone(), server.base.clone(), next.clone());
            tokio::spawn(async move {
                loop {
                    let index = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if index >= tenants {
                        break;
                    }
                    let reply = client
                        .post(format!("{base}/api/auth/login"))
                        .json(&json!({"email": OWNER_EMAIL, "password": PASSWORD, "tenant": format!("t{index:04}")}))
                        .send()
                        .await
                        .expect("login");
                    assert_eq!(reply.status(), 200, "tenant t{index:04}");
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("client");
    }
    let elapsed = began.elapsed();
    let memory = sampler.finish();
    println!(
        "{tenants} tenants logged in once in {:.1} s ({:.0} logins/s); peak RSS {:.0} MiB (VmHWM)",
        elapsed.as_secs_f64(),
        tenants as f64 / elapsed.as_secs_f64(),
        common::proc_status(pid, "VmHWM:") as f64 / 1024.0
    );
    report("after the logins", pid);
    tokio::time::sleep(Duration::from_secs(5)).await;
    report("5 s later", pid);
    println!("{memory}");
}
