//! SPEC §4.8 analytics, checked against a hand-computed fixture: calls with known waits,
//! durations, ratings and providers, at hours that cross midnight in the company time
//! zone (America/São Paulo, UTC−3).

use serde_json::{Value, json};

use crate::helpers::{PASSWORD, Session, TestApp};

/// An agent named `name` (attendant), member of `department`, logged in.
pub async fn named_agent(app: &TestApp, owner: &Session, department: &str, name: &str) -> Session {
    let email = format!("{}@acme.test", name.to_lowercase().replace(' ', "."));
    app.post(
        "/api/v1/users",
        owner,
        json!({"user": {"name": name, "email": email, "password": PASSWORD, "role": "attendant"}}),
    )
    .await
    .expect(201);
    let agent = app.login(&owner.tenant, &email, PASSWORD).await;
    app.add_member(owner, department, &agent.user_id).await;
    agent
}

/// A service provider with `agent` associated; returns its id.
pub async fn provider_of(app: &TestApp, owner: &Session, name: &str, document: &str, agent: &Session) -> String {
    let provider = app
        .post(
            "/api/v1/providers",
            owner,
            json!({"service_provider": {"name": name, "document": document}}),
        )
        .await
        .expect(201)
        .id();
    app.post(
        &format!("/api/v1/providers/{provider}/users"),
        owner,
        json!({"user_id": agent.user_id}),
    )
    .await
    .expect(200);
    provider
}

/// Moves call `id` to have joined at `joined` (UTC) and, where the call got that far, to
/// have waited `wait` seconds (until its start, or until it was missed or cancelled) and
/// lasted `duration` seconds, as if it had happened then.
pub async fn retime(app: &TestApp, id: &str, joined: &str, wait: i64, duration: i64) {
    let joined_at = voki::time::parse(joined).expect("RFC 3339");
    let waited = voki::time::format(joined_at + chrono::Duration::seconds(wait));
    let ended = voki::time::format(joined_at + chrono::Duration::seconds(wait + duration));
    let (id, joined) = (id.to_string(), joined.to_string());
    app.tenant_db("acme")
        .await
        .write(move |conn| {
            conn.execute(
                "UPDATE calls SET inserted_at = ?2,
                     assigned_at = CASE WHEN assigned_at IS NULL THEN NULL ELSE ?2 END,
                     started_at = CASE WHEN started_at IS NULL THEN NULL ELSE ?3 END,
                     missed_at = CASE WHEN missed_at IS NULL THEN NULL ELSE ?3 END,
                     cancelled_at = CASE WHEN cancelled_at IS NULL THEN NULL ELSE ?3 END,
                     completed_at = CASE WHEN completed_at IS NULL THEN NULL ELSE ?4 END
                 WHERE id = ?1",
                [&id, &joined, &waited, &ended],
            )?;
            Ok(())
        })
        .await
        .expect("retime call");
}

pub struct Fixture {
    pub app: TestApp,
    pub owner: Session,
    pub department: String,
    pub abc: String,
    pub xyz: String,
    pub ana_agent: Session,
    pub calls: Vec<String>,
}

/// Calls of the period 2026-03-09 – 2026-03-10 (São Paulo days), by customer:
///
/// | call | joined (UTC)          | local hour | agent (provider)  | outcome   | wait | duration | rating |
/// |------|-----------------------|------------|-------------------|-----------|------|----------|--------|
/// | 1    | 2026-03-09T12:00:00Z  | 09 (09th)  | Alice (ABC)       | completed | 30   | 300      | 5      |
/// | 2    | 2026-03-10T02:30:00Z  | 23 (09th)  | Alice (ABC)       | completed | 90   | 600      | 3      |
/// | 3    | 2026-03-10T13:15:00Z  | 10 (10th)  | Bruno (none)      | completed | 60   | 120      | —      |
/// | 4    | 2026-03-10T13:40:00Z  | 10 (10th)  | —                 | missed    | 200  |          |        |
/// | 5    | 2026-03-10T14:00:00Z  | 11 (10th)  | Carla (XYZ)       | cancelled |      |          |        |
///
/// (A wait counts only for calls that started.) Outside it: call 6 at 2026-03-11T03:00:00Z (00:00 on the 11th) and call 7 at
/// 2026-03-09T02:59:59Z (23:59:59 on the 8th). Customers: Ana (1, 3), Bia (2, 7), Caio (4),
/// Duda (5), Eva (6): Bia's first call is before the period, so she is not new.
pub async fn fixture() -> Fixture {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let department = app.department(&owner, "Clínica Geral").await;
    let alice = named_agent(&app, &owner, &department, "Alice Souza").await;
    let bruno = named_agent(&app, &owner, &department, "Bruno Lima").await;
    let carla = named_agent(&app, &owner, &department, "Carla Dias").await;
    let abc = provider_of(&app, &owner, "ABC Hospital", "12.345.678/0001-90", &alice).await;
    let xyz = provider_of(&app, &owner, "XYZ Clínica", "123.456.789-09", &carla).await;

    let completed = |agent: &Session, customer: &str| {
        let (agent, customer) = (agent.clone(), customer.to_string());
        let (app, owner, department) = (&app, &owner, &department);
        async move { app.completed_call(owner, &agent, department, &customer).await }
    };
    let call1 = completed(&alice, "Ana").await;
    let call2 = completed(&alice, "Bia").await;
    let call3 = completed(&bruno, "Ana").await;
    let call4 = app.queued_call(&owner, &department, "Caio").await;
    app.public_post(&format!("/api/v1/call/leave/{call4}"), json!({}))
        .await
        .expect(200);
    let call5 = app.queued_call(&owner, &department, "Duda").await;
    for action in ["assign", "cancel"] {
        app.post(&format!("/api/v1/calls/{call5}/{action}"), &carla, json!({}))
            .await
            .expect(200);
    }
    let call6 = completed(&bruno, "Eva").await;
    let call7 = completed(&alice, "Bia").await;
    for (call, rating) in [(&call1, 5), (&call2, 3), (&call6, 1), (&call7, 1)] {
        app.public_post(&format!("/api/v1/call/evaluate/{call}"), json!({"rating": rating}))
            .await
            .expect(201);
    }
    retime(&app, &call1, "2026-03-09T12:00:00Z", 30, 300).await;
    retime(&app, &call2, "2026-03-10T02:30:00Z", 90, 600).await;
    retime(&app, &call3, "2026-03-10T13:15:00Z", 60, 120).await;
    retime(&app, &call4, "2026-03-10T13:40:00Z", 200, 0).await;
    retime(&app, &call5, "2026-03-10T14:00:00Z", 10, 0).await;
    retime(&app, &call6, "2026-03-11T03:00:00Z", 5, 50).await;
    retime(&app, &call7, "2026-03-09T02:59:59Z", 5, 50).await;
    Fixture {
        app,
        owner,
        department,
        abc,
        xyz,
        ana_agent: alice,
        calls: vec![call1, call2, call3, call4, call5, call6, call7],
    }
}

const PERIOD: &str = "date_from=2026-03-09&date_to=2026-03-10";

async fn report(f: &Fixture, path: &str) -> Value {
    f.app.get(path, &f.owner).await.expect(200).data().clone()
}

#[tokio::test]
async fn overview_matches_the_hand_computed_figures() {
    let f = fixture().await;
    let overview = report(&f, &format!("/api/v1/analytics/overview?{PERIOD}")).await;
    assert_eq!(
        overview,
        json!({
            "total_calls": 5, "completed_calls": 3, "missed_calls": 1, "cancelled_calls": 1,
            "avg_wait_time": 60.0, "avg_duration": 340.0, "avg_rating": 4.0,
            "total_customers": 4, "new_customers": 3,
            "completion_rate": 60.0, "satisfaction_rate": 50.0,
        })
    );
}

#[tokio::test]
async fn hourly_has_24_rows_in_company_time_with_midnight_on_the_right_side() {
    let f = fixture().await;
    let hours = report(&f, &format!("/api/v1/analytics/hourly?{PERIOD}")).await;
    let hours = hours.as_array().unwrap();
    assert_eq!(hours.len(), 24);
    for (index, row) in hours.iter().enumerate() {
        assert_eq!(row["hour"], index);
        let expected = match index {
            9 => json!([1, 1, 0]),
            10 => json!([2, 1, 1]),
            11 => json!([1, 0, 0]),
            23 => json!([1, 1, 0]),
            _ => json!([0, 0, 0]),
        };
        assert_eq!(
            json!([row["total"], row["completed"], row["missed"]]),
            expected,
            "hour {index}"
        );
    }
}

#[tokio::test]
async fn agents_are_reported_with_the_provider_their_calls_were_attributed_to() {
    let f = fixture().await;
    let agents = report(&f, &format!("/api/v1/analytics/agents?{PERIOD}")).await;
    let rows: Vec<Value> = agents
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            json!([
                r["user_name"],
                r["provider_name"],
                r["total_calls"],
                r["completed_calls"],
                r["missed_calls"],
                r["avg_wait_time"],
                r["avg_duration"],
                r["avg_rating"],
                r["completion_rate"]
            ])
        })
        .collect();
    assert_eq!(
        rows,
        [
            json!(["Alice Souza", "ABC Hospital", 2, 2, 0, 60.0, 450.0, 4.0, 100.0]),
            json!(["Bruno Lima", null, 1, 1, 0, 60.0, 120.0, 0.0, 100.0]),
            json!(["Carla Dias", "XYZ Clínica", 1, 0, 0, 0.0, 0.0, 0.0, 0.0]),
        ]
    );
    assert_eq!(agents[0]["user_id"], f.ana_agent.user_id);
    assert_eq!(agents[0]["provider_id"], f.abc);
}

#[tokio::test]
async fn providers_report_matches_their_calls_and_survives_the_agent_leaving() {
    let f = fixture().await;
    // Alice leaves ABC after her calls: they stay ABC's.
    f.app
        .delete(
            &format!("/api/v1/providers/{}/users/{}", f.abc, f.ana_agent.user_id),
            &f.owner,
        )
        .await
        .expect(204);
    let providers = report(&f, &format!("/api/v1/analytics/providers?{PERIOD}")).await;
    assert_eq!(
        providers,
        json!([
            {"provider_id": f.abc, "provider_name": "ABC Hospital", "agent_count": 1,
             "total_calls": 2, "completed_calls": 2, "missed_calls": 0, "avg_wait_time": 60.0,
             "avg_duration": 450.0, "avg_rating": 4.0, "completion_rate": 100.0},
            {"provider_id": f.xyz, "provider_name": "XYZ Clínica", "agent_count": 1,
             "total_calls": 1, "completed_calls": 0, "missed_calls": 0, "avg_wait_time": 0.0,
             "avg_duration": 0.0, "avg_rating": 0.0, "completion_rate": 0.0},
        ])
    );
    // The per-provider figures are those of the provider's calls in the calls list.
    let listed = f
        .app
        .get(&format!("/api/v1/calls?provider_id={}&{PERIOD}", f.abc), &f.owner)
        .await
        .expect(200);
    assert_eq!(listed.body["meta"]["total_count"], 2);
}

#[tokio::test]
async fn provider_and_department_filters_narrow_every_report() {
    let f = fixture().await;
    let abc = report(
        &f,
        &format!("/api/v1/analytics/overview?{PERIOD}&provider_id={}", f.abc),
    )
    .await;
    assert_eq!(
        (
            abc["total_calls"].clone(),
            abc["avg_duration"].clone(),
            abc["total_customers"].clone()
        ),
        (json!(2), json!(450.0), json!(2))
    );
    let other = f.app.department(&f.owner, "Pediatria").await;
    let empty = report(
        &f,
        &format!("/api/v1/analytics/overview?{PERIOD}&department_id={other}"),
    )
    .await;
    assert_eq!(empty["total_calls"], 0);
    assert_eq!(empty["avg_rating"], 0.0);
    assert_eq!(empty["completion_rate"], 0.0);
    let same = report(
        &f,
        &format!("/api/v1/analytics/agents?{PERIOD}&department_id={}", f.department),
    )
    .await;
    assert_eq!(same.as_array().unwrap().len(), 3);
    let xyz_hours = report(&f, &format!("/api/v1/analytics/hourly?{PERIOD}&provider_id={}", f.xyz)).await;
    let total: i64 = xyz_hours
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["total"].as_i64().unwrap())
        .sum();
    assert_eq!(total, 1);
    assert_eq!(xyz_hours[11]["total"], 1);
}

#[tokio::test]
async fn trends_by_day_week_and_month_fold_the_local_days() {
    let f = fixture().await;
    let days = report(&f, &format!("/api/v1/analytics/trends?{PERIOD}&granularity=day")).await;
    assert_eq!(
        days,
        json!([
            {"period_start": "2026-03-09", "total": 2, "completed": 2, "missed": 0,
             "avg_wait_time": 60.0, "avg_duration": 450.0, "avg_rating": 4.0},
            {"period_start": "2026-03-10", "total": 3, "completed": 1, "missed": 1,
             "avg_wait_time": 60.0, "avg_duration": 120.0, "avg_rating": 0.0},
        ])
    );
    let weeks = report(&f, &format!("/api/v1/analytics/trends?{PERIOD}&granularity=week")).await;
    assert_eq!(weeks.as_array().unwrap().len(), 1);
    assert_eq!(weeks[0]["period_start"], "2026-03-09");
    assert_eq!(weeks[0]["total"], 5);
    // The whole month: calls 6 and 7 (the 8th and the 11th) count too.
    let months = report(
        &f,
        "/api/v1/analytics/trends?date_from=2026-03-01&date_to=2026-03-31&granularity=month",
    )
    .await;
    assert_eq!(
        months,
        json!([{"period_start": "2026-03-01", "total": 7, "completed": 5, "missed": 1,
        "avg_wait_time": 38.0, "avg_duration": 224.0, "avg_rating": 2.5}])
    );
    // A week-long range gives every day, the empty ones too.
    let sparse = report(&f, "/api/v1/analytics/trends?date_from=2026-03-06&date_to=2026-03-12").await;
    let totals: Vec<i64> = sparse
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["total"].as_i64().unwrap())
        .collect();
    assert_eq!(totals, [0, 0, 1, 2, 3, 1, 0]);
}

#[tokio::test]
async fn hourly_and_days_follow_the_company_time_zone_across_a_dst_change() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    app.put(
        "/api/v1/company",
        &owner,
        json!({"company": {"timezone": "America/New_York"}}),
    )
    .await
    .expect(200);
    let department = app.department(&owner, "Clínica").await;
    let agent = named_agent(&app, &owner, &department, "Dana Reis").await;
    // 13:00 UTC is 08:00 in New York on Saturday 7 March 2026 (EST) and 09:00 on Monday
    // 9 March (EDT: the clocks went forward on the 8th).
    let before = app.completed_call(&owner, &agent, &department, "Ana").await;
    let after = app.completed_call(&owner, &agent, &department, "Bia").await;
    retime(&app, &before, "2026-03-07T13:00:00Z", 10, 100).await;
    retime(&app, &after, "2026-03-09T13:00:00Z", 10, 100).await;
    let range = "date_from=2026-03-07&date_to=2026-03-09";
    let hours = app
        .get(&format!("/api/v1/analytics/hourly?{range}"), &owner)
        .await
        .expect(200);
    let busy: Vec<(i64, i64)> = hours
        .data()
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["total"] != 0)
        .map(|h| (h["hour"].as_i64().unwrap(), h["total"].as_i64().unwrap()))
        .collect();
    assert_eq!(busy, [(8, 1), (9, 1)]);
    let days = app
        .get(&format!("/api/v1/analytics/trends?{range}"), &owner)
        .await
        .expect(200);
    let days: Vec<(String, i64)> = days
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["period_start"].as_str().unwrap().to_string(),
                d["total"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        days,
        [
            ("2026-03-07".into(), 1),
            ("2026-03-08".into(), 0),
            ("2026-03-09".into(), 1)
        ]
    );
}

#[tokio::test]
async fn reports_default_to_the_recent_past() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let department = app.department(&owner, "Clínica").await;
    let agent = named_agent(&app, &owner, &department, "Eli Rocha").await;
    app.completed_call(&owner, &agent, &department, "Ana").await;
    let overview = app.get("/api/v1/analytics/overview", &owner).await.expect(200);
    assert_eq!(overview.data()["total_calls"], 1);
    assert_eq!(overview.data()["new_customers"], 1);
    let days = app.get("/api/v1/analytics/trends", &owner).await.expect(200);
    let days = days.data().as_array().unwrap().clone();
    assert_eq!(days.len(), 31, "the last 30 days and today");
    assert_eq!(days.last().unwrap()["total"], 1);
    let hours = app.get("/api/v1/analytics/hourly", &owner).await.expect(200);
    let total: i64 = hours
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["total"].as_i64().unwrap())
        .sum();
    assert_eq!(total, 1);
    assert_eq!(
        app.get("/api/v1/analytics/agents", &owner).await.expect(200).data()[0]["total_calls"],
        1
    );
}

#[tokio::test]
async fn refresh_views_answers_refreshed() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let reply = app
        .post("/api/v1/analytics/refresh-views", &owner, json!({}))
        .await
        .expect(200);
    assert_eq!(reply.body, json!({"data": {"refreshed": true}}));
}

#[tokio::test]
async fn bad_report_parameters_are_refused_clearly() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let reply = app
        .get("/api/v1/analytics/trends?granularity=year", &owner)
        .await
        .expect(422);
    assert_eq!(reply.field_errors("granularity"), ["is invalid"]);
    let reply = app
        .get(
            "/api/v1/analytics/trends?date_from=1900-01-01&date_to=2026-01-01",
            &owner,
        )
        .await
        .expect(422);
    assert!(!reply.field_errors("date_from").is_empty(), "{}", reply.text);
    for path in [
        "/api/v1/analytics/overview?date_from=yesterday",
        "/api/v1/analytics/hourly?date_to=2026-02-30",
        "/api/v1/analytics/agents?department_id=not-a-uuid",
        "/api/v1/analytics/providers?provider_id=1",
    ] {
        let reply = app.get(path, &owner).await.expect(400);
        assert!(reply.body["errors"]["detail"].is_string(), "{path}: {}", reply.text);
    }
    // A reversed range is simply empty.
    let reply = app
        .get(
            "/api/v1/analytics/overview?date_from=2026-03-10&date_to=2026-03-01",
            &owner,
        )
        .await
        .expect(200);
    assert_eq!(reply.data()["total_calls"], 0);
}

#[tokio::test]
async fn reports_never_count_another_tenants_calls() {
    let f = fixture().await;
    f.app.create_tenant("other").await;
    let other = f.app.owner("other").await;
    let overview = f
        .app
        .get(&format!("/api/v1/analytics/overview?{PERIOD}"), &other)
        .await
        .expect(200);
    assert_eq!(overview.data()["total_calls"], 0);
    let providers = f
        .app
        .get(
            &format!("/api/v1/analytics/providers?{PERIOD}&provider_id={}", f.abc),
            &other,
        )
        .await
        .expect(200);
    assert_eq!(providers.data(), &json!([]));
    assert_eq!(f.calls.len(), 7);
}

/// A customer is new in the period of their first call ever; merging two customers makes
/// one customer whose first call is the earlier of the two (kept by triggers on calls).
#[tokio::test]
async fn new_customers_follow_the_first_call_through_a_merge() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let department = app.department(&owner, "Clínica").await;
    let agent = named_agent(&app, &owner, &department, "Eli Rocha").await;
    let first = app.completed_call(&owner, &agent, &department, "Ana").await;
    let second = app.completed_call(&owner, &agent, &department, "Bia").await;
    let customer_of = |call: String| {
        let app = &app;
        let owner = &owner;
        async move {
            let call = app.get(&format!("/api/v1/calls/{call}"), owner).await.expect(200);
            call.data()["customer_id"].as_str().unwrap().to_string()
        }
    };
    let (ana, bia) = (customer_of(first).await, customer_of(second).await);
    let overview = app.get("/api/v1/analytics/overview", &owner).await.expect(200);
    assert_eq!(
        (
            overview.data()["total_customers"].clone(),
            overview.data()["new_customers"].clone()
        ),
        (json!(2), json!(2))
    );
    app.post(
        "/api/v1/customers/merge",
        &owner,
        json!({"primary_id": bia, "secondary_ids": [ana]}),
    )
    .await
    .expect(200);
    let overview = app.get("/api/v1/analytics/overview", &owner).await.expect(200);
    assert_eq!(
        (
            overview.data()["total_customers"].clone(),
            overview.data()["new_customers"].clone()
        ),
        (json!(1), json!(1))
    );
    // One department's overview counts the same customer once.
    let narrowed = app
        .get(
            &format!("/api/v1/analytics/overview?department_id={department}"),
            &owner,
        )
        .await
        .expect(200);
    assert_eq!(narrowed.data()["new_customers"], 1);
}
