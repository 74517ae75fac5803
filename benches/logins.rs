//! Logins against raw argon2id, and the server's memory under them, with the release
//! binary. `cargo bench --bench logins` (optionally `-- <seconds>`, default 10).
//!
//! - raw: argon2id verifications with voki's parameters (19 MiB, 2 passes) on as many
//!   threads as cores, for the same time: the most logins these cores can check;
//! - `POST /api/auth/login` (right password) from 16 connections: logins/s, the ratio to
//!   raw, p50/p99, the server's RSS over time and its peak;
//! - a burst of 60 parallel wrong-password logins from two client IPs (the attack of a
//!   memory DoS): the RSS before, the peak, and two seconds after.
//!
//! `VOKI_BENCH_BIN=<path to another voki>` runs the same against another build.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};
use common::{OWNER_EMAIL, PASSWORD, TENANT, millis, percentile};
use serde_json::json;

const CLIENTS: usize = 16;
const BURST: usize = 60;

fn raw_rate(seconds: u64) -> f64 {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let argon = || {
        Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(19_456, 2, 1, None).expect("params"),
        )
    };
    let stored = argon().hash_password(PASSWORD.as_bytes()).expect("hash").to_string();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let done = Arc::new(AtomicU64::new(0));
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let (stored, done) = (stored.clone(), done.clone());
            std::thread::spawn(move || {
                while Instant::now() < deadline {
                    argon()
                        .verify_password(PASSWORD.as_bytes(), stored.as_str())
                        .expect("verify");
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join().expect("raw worker");
    }
    done.load(Ordering::Relaxed) as f64 / seconds as f64
}

#[tokio::main]
async fn main() {
    let seconds: u64 = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(10);
    let bin = common::voki_binary();
    let dir = tempfile::tempdir().expect("temp dir");
    common::create_tenant_with_cli(&bin, dir.path(), TENANT);
    let server = common::start_server(
        &bin,
        dir.path(),
        &[
            ("VOKI_RATE_LIMIT_AUTH_PER_MINUTE", "0"),
            ("VOKI_RATE_LIMIT_AUTH_IP_PER_MINUTE", "0"),
            ("VOKI_TRUSTED_PROXIES", "127.0.0.1"),
        ],
    );
    let pid = server.pid();
    let client = reqwest::Client::new();
    common::login(&client, &server.base).await;
    println!("binary {bin}");

    let raw = raw_rate(seconds);
    let idle = common::rss_mib(pid);
    let sampler = common::RssSampler::start(pid);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (client, base) = (client.clone(), server.base.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                while Instant::now() < deadline {
                    let began = Instant::now();
                    let reply = client
                        .post(format!("{base}/api/auth/login"))
                        .json(&json!({"email": OWNER_EMAIL, "password": PASSWORD, "tenant": TENANT}))
                        .send()
                        .await
                        .expect("login");
                    assert_eq!(reply.status(), 200);
                    reply.bytes().await.expect("body");
                    latencies.push(began.elapsed());
                }
                latencies
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.expect("client"));
    }
    latencies.sort();
    let memory = sampler.finish();
    let rate = latencies.len() as f64 / seconds as f64;
    println!(
        "raw argon2id verify: {raw:.1}/s on {} threads | voki logins, {CLIENTS} connections: {rate:.1}/s = {:.2} of raw; p50 {}, p99 {}",
        std::thread::available_parallelism().map_or(2, |n| n.get()),
        rate / raw,
        millis(percentile(&latencies, 0.5)),
        millis(percentile(&latencies, 0.99)),
    );
    println!(
        "RSS idle {idle:.0} MiB, peak {:.0} MiB (VmHWM); {memory}",
        common::proc_status(pid, "VmHWM:") as f64 / 1024.0
    );

    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = common::rss_mib(pid);
    // Forget the peak so far (writing 5 to clear_refs resets VmHWM).
    let _ = std::fs::write(format!("/proc/{pid}/clear_refs"), "5");
    let began = Instant::now();
    let tasks: Vec<_> =
        (0..BURST)
            .map(|index| {
                let (client, base) = (client.clone(), server.base.clone());
                tokio::spawn(async move {
                    client
                    .post(format!("{base}/api/auth/login"))
                    .header("X-Forwarded-For", if index % 2 == 0 { "198.51.100.7" } else { "203.0.113.9" })
                    .json(&json!({"email": format!("nobody{index}@bench.test"), "password": "wrong", "tenant": TENANT}))
                    .send()
                    .await
                    .expect("login")
                    .status()
                })
            })
            .collect();
    for task in tasks {
        assert_eq!(task.await.expect("burst"), 401);
    }
    let burst = began.elapsed();
    let peak = common::proc_status(pid, "VmHWM:") as f64 / 1024.0;
    tokio::time::sleep(Duration::from_secs(2)).await;
    println!(
        "{BURST} parallel wrong-password logins from 2 IPs: answered in {:.2} s; RSS {before:.0} MiB before, peak {peak:.0} MiB, {:.0} MiB 2 s after",
        burst.as_secs_f64(),
        common::rss_mib(pid)
    );
}
