//! Reports and exports on a tenant with 100 000 calls, through the real HTTP stack.
//!
//! `cargo bench --bench reports` (optionally `-- <calls>`). Seeds one tenant with calls
//! spread over 90 days (4 departments, 20 agents, 5 service providers, 30 000 customers,
//! ratings on 60 % of the completed calls), then times each analytics endpoint (median
//! of 15 requests for the default period and for the whole 90 days) and the full CSV
//! export, with the peak memory the export added to the process.

mod common;

use std::time::{Duration, Instant};

use common::{TENANT, millis};

const RUNS: usize = 15;

/// A small deterministic generator, so every run seeds the same data.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn stamp(unix: i64) -> String {
    voki::time::format(chrono::DateTime::from_timestamp(unix, 0).expect("valid time"))
}

/// Inserts the fixture (in the one transaction of the write job).
fn seed(conn: &rusqlite::Connection, calls: usize) -> rusqlite::Result<()> {
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let now = chrono::Utc::now().timestamp();
    let start = now - 90 * 86_400;
    let created = stamp(start - 86_400);

    let providers: Vec<String> = (0..5).map(|_| uuid::Uuid::new_v4().to_string()).collect();
    for (index, id) in providers.iter().enumerate() {
        conn.execute(
            "INSERT INTO service_providers (id, name, inserted_at, updated_at) VALUES (?1, ?2, ?3, ?3)",
            (id, format!("Provider {index}"), &created),
        )?;
    }
    let departments: Vec<String> = (0..4).map(|_| uuid::Uuid::new_v4().to_string()).collect();
    for (index, id) in departments.iter().enumerate() {
        conn.execute(
            "INSERT INTO departments (id, name, identifier, inserted_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?4)",
            (
                id,
                format!("Department {index}"),
                format!("department-{index}"),
                &created,
            ),
        )?;
    }
    // Agents 0–14 belong to a provider, 15–19 are the clinic's own staff.
    let agents: Vec<(String, Option<String>)> = (0..20)
        .map(|index| {
            let provider = (index < 15).then(|| providers[index % providers.len()].clone());
            (uuid::Uuid::new_v4().to_string(), provider)
        })
        .collect();
    for (index, (id, provider)) in agents.iter().enumerate() {
        conn.execute(
            "INSERT INTO users (id, name, email, password_hash, role, provider_id, inserted_at, updated_at)
             VALUES (?1, ?2, ?3, 'x', 'attendant', ?4, ?5, ?5)",
            (
                id,
                format!("Agent {index}"),
                format!("agent{index}@bench.test"),
                provider,
                &created,
            ),
        )?;
        conn.execute(
            "INSERT INTO department_members (department_id, user_id, inserted_at) VALUES (?1, ?2, ?3)",
            (&departments[index % departments.len()], id, &created),
        )?;
    }
    let customers: Vec<String> = (0..30_000).map(|_| uuid::Uuid::new_v4().to_string()).collect();
    let mut insert_customer = conn.prepare(
        "INSERT INTO customers (id, name, email, phone, phone_digits, inserted_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
    )?;
    for (index, id) in customers.iter().enumerate() {
        let phone = format!("+55119{index:08}");
        insert_customer.execute((
            id,
            format!("Paciente {index}"),
            format!("paciente{index}@example.com"),
            &phone,
            &phone[1..],
            &created,
        ))?;
    }
    let mut insert_call = conn.prepare(
        "INSERT INTO calls (id, protocol, status, department_id, customer_id, user_id, provider_id, provider_name,
                            inserted_at, assigned_at, started_at, completed_at, missed_at, cancelled_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?9)",
    )?;
    let mut insert_rating =
        conn.prepare("INSERT INTO evaluations (id, call_id, rating, inserted_at) VALUES (?1, ?2, ?3, ?4)")?;
    for index in 0..calls {
        let id = uuid::Uuid::new_v4().to_string();
        let joined = start + (index as i64 * 90 * 86_400) / calls as i64;
        let agent = &agents[rng.below(agents.len() as u64) as usize];
        let department = &departments[rng.below(departments.len() as u64) as usize];
        let customer = &customers[rng.below(customers.len() as u64) as usize];
        let wait = 5 + rng.below(300) as i64;
        let roll = rng.below(100);
        let (status, assigned, started, completed, missed, cancelled) = match roll {
            0..=79 => (
                "completed",
                true,
                Some(joined + wait),
                Some(joined + wait + 60 + rng.below(1200) as i64),
                None,
                None,
            ),
            80..=91 => ("missed", false, None, None, Some(joined + wait), None),
            _ => ("cancelled", true, None, None, None, Some(joined + wait)),
        };
        let provider = agent.1.as_ref().filter(|_| assigned);
        insert_call.execute(rusqlite::params![
            id,
            format!("B{index:08}"),
            status,
            department,
            customer,
            assigned.then_some(&agent.0),
            provider,
            provider.map(|p| format!("Provider {}", providers.iter().position(|x| x == p).unwrap_or(0))),
            stamp(joined),
            assigned.then(|| stamp(joined)),
            started.map(stamp),
            completed.map(stamp),
            missed.map(stamp),
            cancelled.map(stamp),
        ])?;
        if let Some(completed) = completed.filter(|_| rng.below(10) < 6) {
            insert_rating.execute((
                uuid::Uuid::new_v4().to_string(),
                &id,
                1 + rng.below(5) as i64,
                stamp(completed + 60),
            ))?;
        }
    }
    Ok(())
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// `VmRSS` or `VmHWM` of this process in KiB (Linux).
fn memory_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[tokio::main]
async fn main() {
    let calls: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(100_000);
    let (state, _dir) = common::bench_state().await;
    let db = state.tenants.get(TENANT).await.expect("open").expect("tenant");
    let seeding = Instant::now();
    db.write(move |conn| Ok(seed(conn, calls)?)).await.expect("seed");
    println!("seeded {calls} calls in {:.1} s", seeding.elapsed().as_secs_f64());

    let (server, base) = common::serve(state).await;
    let client = reqwest::Client::new();
    let token = common::login(&client, &base).await;
    let get = |path: String| {
        client
            .get(format!("{base}{path}"))
            .bearer_auth(&token)
            .header("X-Tenant", TENANT)
            .send()
    };

    let whole = {
        let today = chrono::Utc::now().date_naive();
        format!("date_from={}&date_to={today}", today - chrono::Days::new(91))
    };
    let (department, provider) = db
        .read(|conn| {
            Ok(conn.query_row(
                "SELECT (SELECT id FROM departments LIMIT 1), (SELECT id FROM service_providers LIMIT 1)",
                [],
                |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?)),
            )?)
        })
        .await
        .expect("ids");
    let narrowed = format!("{whole}&department_id={department}&provider_id={provider}");
    println!(
        "\n| endpoint | default period (30 days) | all {calls} calls (90 days) | 90 days, one department and provider |\n|---|---|---|---|"
    );
    for report in [
        "overview",
        "hourly",
        "agents",
        "providers",
        "trends",
        "trends?granularity=week",
    ] {
        let mut timings = [Vec::new(), Vec::new(), Vec::new()];
        for (index, query) in ["", whole.as_str(), narrowed.as_str()].into_iter().enumerate() {
            let separator = if report.contains('?') { '&' } else { '?' };
            let path = format!("/api/v1/analytics/{report}{separator}{query}");
            for _ in 0..RUNS {
                let began = Instant::now();
                let reply = get(path.clone()).await.expect("report");
                assert!(reply.status().is_success(), "{path}: {}", reply.status());
                reply.bytes().await.expect("report body");
                timings[index].push(began.elapsed());
            }
        }
        let [recent, all, narrow] = timings.map(median);
        println!(
            "| `{report}` | {} | {} | {} |",
            millis(recent),
            millis(all),
            millis(narrow)
        );
    }

    // Forget the peak so far (Linux: writing 5 to clear_refs resets VmHWM).
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let before = memory_kib("VmRSS:").unwrap_or(0);
    let began = Instant::now();
    let mut reply = get(format!("/api/v1/export/calls.csv?{whole}")).await.expect("export");
    assert!(reply.status().is_success());
    let (mut bytes, mut lines) = (0usize, 0usize);
    while let Some(chunk) = reply.chunk().await.expect("chunk") {
        bytes += chunk.len();
        lines += chunk.iter().filter(|b| **b == b'\n').count();
    }
    let elapsed = began.elapsed();
    let peak = memory_kib("VmHWM:").unwrap_or(0);
    println!(
        "\ncalls.csv: {} records, {:.1} MB in {} ({:.0} records/s); peak memory +{:.1} MB over {:.1} MB",
        lines - 1,
        bytes as f64 / 1e6,
        millis(elapsed),
        (lines - 1) as f64 / elapsed.as_secs_f64(),
        peak.saturating_sub(before) as f64 / 1024.0,
        before as f64 / 1024.0,
    );
    server.stop().await;
}
