//! Lists at the SQLite ceiling: one tenant with 100 000 appointments (100 agents × 1 000),
//! `GET /api/v1/appointments?user_id=<agent>&page=<1..50>&page_size=20` from 64
//! connections against the release binary, next to the two ceilings measured in the same
//! run on the same machine:
//! - raw rusqlite: the same page of 20 appointment rows plus its COUNT on the same file,
//!   with the server's pragmas and its `LIMIT +?` (a bound LIMIT would be compiled again
//!   for every new offset), on as many threads as cores (what SQLite alone can do);
//! - a bare axum handler answering a JSON body of the same size over HTTP (what the HTTP
//!   stack and this load generator alone can do).
//!
//! The combined ceiling is `1 / (1/raw + 1/http)`. The three are measured in turn, in
//! three rounds (a virtual machine's speed drifts over a minute: each ratio compares runs
//! seconds apart). The bench prints each round's rates and ratio, the median ratio, the
//! latency over every voki run (p50, p99) and the server's RSS over them.
//!
//! `cargo bench --bench lists` (optionally `-- <seconds per run> [rounds]`, defaults 5
//! and 3).
//! `VOKI_BENCH_BIN=<path to another voki>` runs the same against another build.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::{TENANT, millis, percentile};

const AGENTS: usize = 100;
const PER_AGENT: usize = 1_000;
const CONNECTIONS: usize = 64;
const PAGES: u64 = 50;
const PAGE_SIZE: i64 = 20;

struct XorShift(u64);

impl XorShift {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn stamp(unix: i64) -> String {
    voki::time::format(chrono::DateTime::from_timestamp(unix, 0).expect("valid time"))
}

/// Seeds the tenant file directly (the server is not running yet); returns the agents' ids.
fn seed(path: &std::path::Path) -> Vec<String> {
    let mut conn = rusqlite::Connection::open(path).expect("open tenant");
    conn.execute_batch("PRAGMA synchronous = OFF").expect("pragma");
    let tx = conn.transaction().expect("transaction");
    let now = chrono::Utc::now().timestamp();
    let created = stamp(now - 86_400);
    let departments: Vec<String> = (0..4).map(|_| uuid::Uuid::new_v4().to_string()).collect();
    for (index, id) in departments.iter().enumerate() {
        tx.execute(
            "INSERT INTO departments (id, name, identifier, inserted_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?4)",
            (
                id,
                format!("Department {index}"),
                format!("department-{index}"),
                &created,
            ),
        )
        .expect("department");
    }
    let agents: Vec<String> = (0..AGENTS).map(|_| uuid::Uuid::new_v4().to_string()).collect();
    for (index, id) in agents.iter().enumerate() {
        tx.execute(
            "INSERT INTO users (id, name, email, password_hash, role, inserted_at, updated_at)
             VALUES (?1, ?2, ?3, 'x', 'attendant', ?4, ?4)",
            (
                id,
                format!("Agent {index}"),
                format!("agent{index}@bench.test"),
                &created,
            ),
        )
        .expect("agent");
        tx.execute(
            "INSERT INTO department_members (department_id, user_id, inserted_at) VALUES (?1, ?2, ?3)",
            (&departments[index % departments.len()], id, &created),
        )
        .expect("member");
    }
    let customers: Vec<String> = (0..10_000).map(|_| uuid::Uuid::new_v4().to_string()).collect();
    {
        let mut insert = tx
            .prepare(
                "INSERT INTO customers (id, name, email, phone, phone_digits, inserted_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
            )
            .expect("prepare");
        for (index, id) in customers.iter().enumerate() {
            let phone = format!("+55119{index:08}");
            insert
                .execute((
                    id,
                    format!("Paciente {index}"),
                    format!("paciente{index}@example.com"),
                    &phone,
                    &phone[1..],
                    &created,
                ))
                .expect("customer");
        }
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
        let mut insert = tx
            .prepare(
                "INSERT INTO appointments (id, title, scheduled_at, duration_minutes, ends_at, department_id,
                                           user_id, customer_id, notes, inserted_at, updated_at)
                 VALUES (?1, ?2, ?3, 30, ?4, ?5, ?6, ?7, ?8, ?9, ?9)",
            )
            .expect("prepare");
        // Ten days ahead and half an hour apart: no reminder or overdue sweep touches them.
        let first = now + 10 * 86_400;
        for slot in 0..PER_AGENT {
            for (index, agent) in agents.iter().enumerate() {
                let at = first + slot as i64 * 1_800;
                insert
                    .execute((
                        uuid::Uuid::new_v4().to_string(),
                        format!("Consulta {slot}"),
                        stamp(at),
                        stamp(at + 1_800),
                        &departments[index % departments.len()],
                        agent,
                        &customers[rng.below(customers.len() as u64) as usize],
                        "Retorno",
                        &created,
                    ))
                    .expect("appointment");
            }
        }
    }
    tx.commit().expect("commit");
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
        .expect("checkpoint");
    agents
}

/// Raw rusqlite on the same file: page + COUNT per "request", one connection per thread.
fn raw_rate(path: &std::path::Path, agents: &[String], seconds: u64) -> f64 {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let done = Arc::new(AtomicU64::new(0));
    let workers: Vec<_> = (0..threads)
        .map(|thread| {
            let (path, agents, done) = (path.to_path_buf(), agents.to_vec(), done.clone());
            std::thread::spawn(move || {
                let conn = rusqlite::Connection::open_with_flags(&path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
                    .expect("open");
                conn.execute_batch(&voki::db::reader_pragmas()).expect("pragma");
                let mut rng = XorShift(0x1234_5678 + thread as u64);
                let mut count = conn
                    .prepare("SELECT count(*) FROM appointments WHERE user_id = ?1")
                    .expect("count");
                let mut page = conn
                    .prepare(
                        "SELECT id, title, description, status, scheduled_at, duration_minutes, department_id, user_id,
                                customer_id, notes, overdue, cancel_reason, confirmed_at, cancelled_at, completed_at,
                                access_link_url, inserted_at, updated_at
                         FROM appointments WHERE user_id = ?1 ORDER BY scheduled_at, id LIMIT +?2 OFFSET ?3",
                    )
                    .expect("page");
                while Instant::now() < deadline {
                    let agent = &agents[rng.below(agents.len() as u64) as usize];
                    let offset = rng.below(PAGES) as i64 * PAGE_SIZE;
                    let total: i64 = count.query_row([agent], |row| row.get(0)).expect("count");
                    let rows = page
                        .query_map(rusqlite::params![agent, PAGE_SIZE, offset], |row| {
                            Ok((
                                row.get::<_, String>(0)?,
                                row.get::<_, String>(1)?,
                                row.get::<_, String>(4)?,
                            ))
                        })
                        .expect("page")
                        .count();
                    assert!(total > 0 && rows > 0);
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

/// 64 connections requesting `path_of(request number)` for `seconds`; requests/s and
/// the sorted latencies.
async fn load(
    base: &str,
    token: Option<&str>,
    seconds: u64,
    path_of: Arc<dyn Fn(u64) -> String + Send + Sync>,
) -> (f64, Vec<Duration>) {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(CONNECTIONS)
        .build()
        .expect("client");
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for worker in 0..CONNECTIONS as u64 {
        let (client, base, token, path_of) = (
            client.clone(),
            base.to_string(),
            token.map(str::to_string),
            path_of.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut index = worker * 7_919;
            while Instant::now() < deadline {
                index += 1;
                let began = Instant::now();
                let mut request = client.get(format!("{base}{}", path_of(index)));
                if let Some(token) = &token {
                    request = request.bearer_auth(token).header("X-Tenant", TENANT);
                }
                let reply = request.send().await.expect("request");
                assert!(reply.status().is_success(), "{}", reply.status());
                reply.bytes().await.expect("body");
                latencies.push(began.elapsed());
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.expect("load task"));
    }
    latencies.sort();
    (latencies.len() as f64 / seconds as f64, latencies)
}

/// A bare axum server answering `body` as JSON, on its own runtime with one worker per core.
fn bare_http(body: String) -> String {
    let (ready, address) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            let body: Arc<str> = body.into();
            let app = axum::Router::new().route(
                "/page",
                axum::routing::get(move || {
                    let body = body.clone();
                    async move {
                        (
                            [(axum::http::header::CONTENT_TYPE, "application/json")],
                            body.to_string(),
                        )
                    }
                }),
            );
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
            ready.send(listener.local_addr().expect("address")).expect("ready");
            axum::serve(listener, app).await.expect("serve");
        });
    });
    format!("http://{}", address.recv().expect("bare server address"))
}

#[tokio::main]
async fn main() {
    let mut numbers = std::env::args().skip(1).filter_map(|a| a.parse::<u64>().ok());
    let seconds = numbers.next().unwrap_or(5);
    let rounds = numbers.next().unwrap_or(3).max(1);
    let bin = common::voki_binary();
    let dir = tempfile::tempdir().expect("temp dir");
    common::create_tenant_with_cli(&bin, dir.path(), TENANT);
    let path = dir.path().join("tenants").join(format!("{TENANT}.db"));
    let seeding = Instant::now();
    let agents = Arc::new(seed(&path));
    println!(
        "binary {bin}\nseeded {} appointments in {:.1} s",
        AGENTS * PER_AGENT,
        seeding.elapsed().as_secs_f64()
    );

    let server = common::start_server(&bin, dir.path(), &[]);
    let client = reqwest::Client::new();
    let token = common::login(&client, &server.base).await;
    let list_path = {
        let agents = agents.clone();
        Arc::new(move |index: u64| {
            let agent = &agents[(index.wrapping_mul(2_654_435_761) % AGENTS as u64) as usize];
            let page = 1 + (index.wrapping_mul(40_503) % PAGES);
            format!("/api/v1/appointments?user_id={agent}&page={page}&page_size={PAGE_SIZE}")
        })
    };
    let sample = client
        .get(format!("{}{}", server.base, list_path(1)))
        .bearer_auth(&token)
        .header("X-Tenant", TENANT)
        .send()
        .await
        .expect("sample page")
        .text()
        .await
        .expect("sample body");
    assert!(
        sample.contains("\"total_count\":1000"),
        "unexpected page: {sample:.300}"
    );

    let bare = bare_http(sample.clone());
    let sampler = common::RssSampler::start(server.pid());
    let mut ratios = Vec::new();
    let mut latencies = Vec::new();
    for round in 1..=rounds {
        let raw = raw_rate(&path, &agents, seconds);
        let (http, _) = load(&bare, None, seconds, Arc::new(|_| "/page".to_string())).await;
        let ceiling = 1.0 / (1.0 / raw + 1.0 / http);
        let (rate, mut run) = load(&server.base, Some(&token), seconds, list_path.clone()).await;
        println!(
            "round {round}: raw rusqlite page+count {raw:.0}/s on {} threads | bare axum, same body {http:.0} req/s | combined ceiling {ceiling:.0} req/s | voki {rate:.0} req/s = {:.2} of the ceiling, {:.2} of raw; p50 {}, p99 {}",
            std::thread::available_parallelism().map_or(2, |n| n.get()),
            rate / ceiling,
            rate / raw,
            millis(percentile(&run, 0.5)),
            millis(percentile(&run, 0.99)),
        );
        ratios.push(rate / ceiling);
        latencies.append(&mut run);
    }
    let memory = sampler.finish();
    ratios.sort_by(f64::total_cmp);
    latencies.sort();
    println!(
        "voki GET /appointments?user_id&page (page of {PAGE_SIZE}, pages 1–{PAGES}), {CONNECTIONS} connections: median {:.2} of the ceiling over {rounds} rounds ({:.2}–{:.2}); p50 {}, p99 {} over every round",
        ratios[ratios.len() / 2],
        ratios[0],
        ratios[ratios.len() - 1],
        millis(percentile(&latencies, 0.5)),
        millis(percentile(&latencies, 0.99)),
    );
    println!("{memory}");
}
