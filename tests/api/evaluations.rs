//! SPEC §4.8, evaluations: one per call, staff or customer; list, filters, statistics.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{Session, TestApp};

/// A department with an attendant member, and `ratings.len()` completed calls rated so
/// by their customers: (department, attendant, call ids).
async fn rated_calls(app: &TestApp, owner: &Session, ratings: &[i64]) -> (String, Session, Vec<String>) {
    let department = app.department(owner, "Clínica Geral").await;
    let agent = app.user(owner, "attendant").await;
    app.add_member(owner, &department, &agent.user_id).await;
    let mut calls = Vec::new();
    for (index, rating) in ratings.iter().enumerate() {
        let call = app
            .completed_call(owner, &agent, &department, &format!("Paciente {index}"))
            .await;
        app.public_post(&format!("/api/v1/call/evaluate/{call}"), json!({"rating": rating}))
            .await
            .expect(201);
        calls.push(call);
    }
    (department, agent, calls)
}

#[tokio::test]
async fn staff_enter_one_evaluation_per_completed_call() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let (department, agent, _) = rated_calls(&app, &owner, &[]).await;
    let call = app.completed_call(&owner, &agent, &department, "Ana Costa").await;
    let reply = app
        .post(
            "/api/v1/evaluations",
            &agent,
            json!({"evaluation": {"call_id": call, "rating": 4, "comment": "Paciente satisfeita"}}),
        )
        .await
        .expect(201);
    let data = reply.data();
    for field in [
        "id",
        "call_id",
        "rating",
        "comment",
        "customer_name",
        "user_name",
        "department_name",
        "inserted_at",
    ] {
        assert!(data.get(field).is_some(), "missing {field}");
    }
    assert_eq!(data["call_id"], call);
    assert_eq!(data["customer_name"], "Ana Costa");
    assert_eq!(data["user_name"], "A attendant");
    assert_eq!(data["department_name"], "Clínica Geral");
    let again = app
        .post("/api/v1/evaluations", &agent, json!({"call_id": call, "rating": 5}))
        .await
        .expect(409);
    assert_eq!(again.body["errors"]["detail"], "Call already evaluated");
    app.public_post(&format!("/api/v1/call/evaluate/{call}"), json!({"rating": 5}))
        .await
        .expect(409);
    let detail = app.get(&format!("/api/v1/calls/{call}"), &agent).await.expect(200);
    assert_eq!(detail.data()["rating"], 4);
    let one = app
        .get(&format!("/api/v1/evaluations/{}", reply.id()), &agent)
        .await
        .expect(200);
    assert_eq!(one.data(), reply.data());
}

#[tokio::test]
async fn bad_evaluations_are_refused() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let (department, _, _) = rated_calls(&app, &owner, &[]).await;
    let queued = app.queued_call(&owner, &department, "Ana Costa").await;
    let reply = app
        .post("/api/v1/evaluations", &owner, json!({"call_id": queued, "rating": 3}))
        .await
        .expect(422);
    assert_eq!(reply.body["errors"]["detail"], "Only a completed call can be evaluated");
    let reply = app
        .post("/api/v1/evaluations", &owner, json!({"rating": 9}))
        .await
        .expect(422);
    assert_eq!(reply.field_errors("call_id"), ["can't be blank"]);
    assert_eq!(reply.field_errors("rating"), ["must be less than or equal to 5"]);
    let reply = app
        .post(
            "/api/v1/evaluations",
            &owner,
            json!({"call_id": uuid::Uuid::new_v4(), "rating": 3}),
        )
        .await
        .expect(422);
    assert_eq!(reply.field_errors("call_id"), ["does not exist"]);
}

#[tokio::test]
async fn the_list_filters_by_rating_and_date_newest_first() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let (department, _, _) = rated_calls(&app, &owner, &[5, 3, 5]).await;
    let all = app.get("/api/v1/evaluations", &owner).await.expect(200);
    assert_eq!(all.body["meta"]["total_count"], 3);
    let fives = app.get("/api/v1/evaluations?rating=5", &owner).await.expect(200);
    assert_eq!(fives.body["meta"]["total_count"], 2);
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::America::Sao_Paulo)
        .date_naive();
    let reply = app
        .get(
            &format!("/api/v1/evaluations?date_from={today}&date_to={today}"),
            &owner,
        )
        .await
        .expect(200);
    assert_eq!(reply.body["meta"]["total_count"], 3);
    let reply = app
        .get(
            &format!("/api/v1/evaluations?date_from={}", today.succ_opt().unwrap()),
            &owner,
        )
        .await
        .expect(200);
    assert_eq!(reply.body["meta"]["total_count"], 0);
    let reply = app
        .get(
            &format!("/api/v1/evaluations?department_id={department}&sort_by=rating&sort_order=asc"),
            &owner,
        )
        .await
        .expect(200);
    assert_eq!(reply.data()[0]["rating"], 3);
    app.get("/api/v1/evaluations?rating=five", &owner).await.expect(400);
}

#[tokio::test]
async fn stats_count_average_distribution_and_satisfaction() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let empty = app.get("/api/v1/evaluations/stats", &owner).await.expect(200);
    assert_eq!(
        empty.data(),
        &json!({"count": 0, "avg_rating": 0.0, "distribution": {"1": 0, "2": 0, "3": 0, "4": 0, "5": 0},
                "satisfaction_rate": 0.0})
    );
    let (_, agent, _) = rated_calls(&app, &owner, &[5, 4, 2]).await;
    let stats = app.get("/api/v1/evaluations/stats", &owner).await.expect(200);
    assert_eq!(
        stats.data(),
        &json!({"count": 3, "avg_rating": 3.7, "distribution": {"1": 0, "2": 1, "3": 0, "4": 1, "5": 1},
                "satisfaction_rate": 66.7})
    );
    let mine = app
        .get(&format!("/api/v1/evaluations/stats?user_id={}", agent.user_id), &owner)
        .await
        .expect(200);
    assert_eq!(mine.data()["count"], 3);
    let other = app
        .get(
            &format!("/api/v1/evaluations/stats?department_id={}", uuid::Uuid::new_v4()),
            &owner,
        )
        .await
        .expect(200);
    assert_eq!(other.data()["count"], 0);
}

#[tokio::test]
async fn attendants_see_the_evaluations_of_their_calls_only() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let (_, agent, _) = rated_calls(&app, &owner, &[5]).await;
    let outsider = app.user(&owner, "attendant").await;
    let list = app.get("/api/v1/evaluations", &agent).await.expect(200);
    assert_eq!(list.body["meta"]["total_count"], 1);
    let id = list.data()[0]["id"].as_str().unwrap().to_string();
    let hidden = app.get("/api/v1/evaluations", &outsider).await.expect(200);
    assert_eq!(hidden.body["meta"]["total_count"], 0);
    app.get(&format!("/api/v1/evaluations/{id}"), &outsider)
        .await
        .expect(404);
    let stats = app.get("/api/v1/evaluations/stats", &outsider).await.expect(200);
    assert_eq!(stats.data()["count"], 0);

    app.create_tenant("other").await;
    let stranger = app.owner("other").await;
    app.get(&format!("/api/v1/evaluations/{id}"), &stranger)
        .await
        .expect(404);
    for (method, path) in [
        (Method::GET, "/api/v1/evaluations".to_string()),
        (Method::GET, "/api/v1/evaluations/stats".to_string()),
        (Method::GET, format!("/api/v1/evaluations/{id}")),
        (Method::POST, "/api/v1/evaluations".to_string()),
    ] {
        app.request(method, &path, None, Some(json!({}))).await.expect(401);
    }
}
