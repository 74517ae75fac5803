//! Free slots of a busy department through the real HTTP stack.
//!
//! `cargo bench --bench availability` (optionally `-- <runs>`, default 15). One department
//! with 20 agents working Monday to Friday 08:00–12:00 and 13:00–18:00 (America/Sao_Paulo),
//! a day off each, and four open appointments per agent and working day for the next 60
//! days; then times `GET /api/v1/availability` over 60 days and the
//! booking page's `GET /api/v1/book/<token>/slots` over 60 days (median and slowest run).

mod common;

use std::time::{Duration, Instant};

use chrono::{Datelike, Duration as Span, Utc};
use common::{TENANT, millis};
use serde_json::{Value, json};

const AGENTS: usize = 20;
const DAYS: i64 = 60;

async fn timed(client: &reqwest::Client, url: &str, token: Option<&str>, runs: usize) -> (Duration, Duration, usize) {
    let mut times = Vec::with_capacity(runs);
    let mut slots = 0;
    for _ in 0..runs {
        let mut request = client.get(url);
        if let Some(token) = token {
            request = request.bearer_auth(token).header("X-Tenant", TENANT);
        }
        let began = Instant::now();
        let reply = request.send().await.expect("request");
        assert_eq!(reply.status(), 200);
        let body: Value = reply.json().await.expect("body");
        times.push(began.elapsed());
        let data = body["data"].as_array().expect("data");
        slots = data.iter().map(|row| row["slots"].as_array().map_or(1, Vec::len)).sum();
    }
    times.sort();
    (times[times.len() / 2], times[times.len() - 1], slots)
}

#[tokio::main]
async fn main() {
    let runs: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(15);
    let (state, _dir) = common::bench_state().await;
    let (server, base) = common::serve(state).await;
    let client = reqwest::Client::new();
    let token = common::login(&client, &base).await;
    let call = |method: reqwest::Method, path: String, body: Value| {
        let (client, base, token) = (client.clone(), base.clone(), token.clone());
        async move {
            let reply = client
                .request(method, format!("{base}{path}"))
                .bearer_auth(token)
                .header("X-Tenant", TENANT)
                .json(&body)
                .send()
                .await
                .expect("request");
            assert!(reply.status().is_success(), "{path}: {}", reply.status());
            reply.json::<Value>().await.expect("body")
        }
    };
    let department = call(
        reqwest::Method::POST,
        "/api/v1/departments".into(),
        json!({"name": "Clínica Geral", "public_booking": true, "min_notice_minutes": 0}),
    )
    .await;
    let department_id = department["data"]["id"].as_str().unwrap().to_string();
    let booking_token = department["data"]["booking_url"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    let today = Utc::now().date_naive();
    let mut agents = Vec::new();
    for index in 0..AGENTS {
        let user = call(
            reqwest::Method::POST,
            "/api/v1/users".into(),
            json!({"name": format!("Agent {index:02}"), "email": format!("agent{index}@bench.test"),
                   "password": "bench-password-1", "role": "attendant"}),
        )
        .await;
        let user_id = user["data"]["id"].as_str().unwrap().to_string();
        call(
            reqwest::Method::POST,
            format!("/api/v1/departments/{department_id}/users"),
            json!({"user_id": user_id}),
        )
        .await;
        let weekly: Vec<Value> = (1..=5)
            .flat_map(|day| {
                [
                    json!({"weekday": day, "start": "08:00", "end": "12:00"}),
                    json!({"weekday": day, "start": "13:00", "end": "18:00"}),
                ]
            })
            .collect();
        let day_off = (today + Span::days(7 + index as i64)).format("%Y-%m-%d").to_string();
        call(
            reqwest::Method::PUT,
            format!("/api/v1/users/{user_id}/availability"),
            json!({"weekly": weekly, "exceptions": [{"date": day_off, "intervals": []}]}),
        )
        .await;
        agents.push(user_id);
    }
    // Four open appointments per agent and working day, written straight to the database.
    let db = server.state.tenants.get(TENANT).await.expect("open").expect("tenant");
    let seeded_department = department_id.clone();
    let appointments = db
        .write(move |conn| {
            let now = voki::time::now_text();
            let customer = uuid::Uuid::new_v4().to_string();
            conn.execute(
                "INSERT INTO customers (id, name, inserted_at, updated_at) VALUES (?1, 'Paciente', ?2, ?2)",
                (&customer, &now),
            )?;
            let mut count = 0;
            for day in 1..=DAYS {
                let date = today + Span::days(day);
                if date.weekday().number_from_monday() > 5 {
                    continue;
                }
                for agent in &agents {
                    for hour in [9, 11, 14, 16] {
                        // 09:00 in São Paulo is 12:00 UTC.
                        let start = date.and_hms_opt(hour + 3, 0, 0).unwrap().and_utc();
                        conn.execute(
                            "INSERT INTO appointments (id, title, scheduled_at, duration_minutes, ends_at, department_id,
                                                       user_id, customer_id, inserted_at, updated_at)
                             VALUES (?1, 'Consulta', ?2, 30, ?3, ?4, ?5, ?6, ?7, ?7)",
                            (
                                uuid::Uuid::new_v4().to_string(),
                                voki::time::format(start),
                                voki::time::format(start + Span::minutes(30)),
                                &seeded_department,
                                agent,
                                &customer,
                                &now,
                            ),
                        )?;
                        count += 1;
                    }
                }
            }
            Ok(count)
        })
        .await
        .expect("seed");
    let from = today.format("%Y-%m-%d");
    let to = (today + Span::days(DAYS - 1)).format("%Y-%m-%d");
    println!("{AGENTS} agents, {DAYS} days, {appointments} open appointments; median of {runs} runs\n");
    println!("| request | median | slowest | slots |\n|---|---|---|---|");
    let staff = format!("{base}/api/v1/availability?department_id={department_id}&date_from={from}&date_to={to}");
    let (median, slowest, slots) = timed(&client, &staff, Some(&token), runs).await;
    println!(
        "| GET /availability, {AGENTS} agents × {DAYS} days | {} | {} | {slots} |",
        millis(median),
        millis(slowest)
    );
    let public = format!("{base}/api/v1/book/{booking_token}/slots?date_from={from}&date_to={to}");
    let (median, slowest, starts) = timed(&client, &public, None, runs).await;
    println!(
        "| GET /book/<token>/slots, {DAYS} days (merged by start) | {} | {} | {starts} starts |",
        millis(median),
        millis(slowest)
    );
    server.stop().await;
}
