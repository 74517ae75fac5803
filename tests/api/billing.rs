//! The self-hosted plan (SPEC §4.8): limits from the configuration, real usage, and the
//! limits enforced where users, departments and active calls are added.

use serde_json::{Value, json};

use crate::helpers::TestApp;

#[tokio::test]
async fn the_plan_is_self_hosted_with_configured_limits_and_real_usage() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let agent = app.user(&owner, "attendant").await;
    let department = app.department(&owner, "Cardio").await;
    app.add_member(&owner, &department, &agent.user_id).await;
    app.completed_call(&owner, &agent, &department, "Ana").await;
    let plan = app.get("/api/v1/billing/plan", &owner).await.expect(200);
    let data = plan.data();
    assert_eq!(data["plan"], "self_hosted");
    assert_eq!(data["status"], "active");
    assert_eq!(data["max_concurrent_calls"], 10);
    assert_eq!(data["max_users"], Value::Null, "0 in the configuration = unlimited");
    assert_eq!(data["max_departments"], Value::Null);
    assert_eq!(data["usage"]["active_users"], 2);
    assert_eq!(data["usage"]["active_departments"], 1);
    assert_eq!(data["usage"]["calls_this_month"], 1);
    assert_eq!(data["usage"]["active_calls"], 0);
    assert!(data["current_period_start"].as_str().unwrap() < data["current_period_end"].as_str().unwrap());
    let supervisor = app.user(&owner, "supervisor").await;
    app.get("/api/v1/billing/plan", &supervisor).await.expect(403);
}

#[tokio::test]
async fn the_user_limit_refuses_one_more_active_user_and_writes_nothing() {
    let app = TestApp::spawn_with(|c| c.max_users = 2).await;
    let owner = app.owner("acme").await;
    let second = app.user(&owner, "attendant").await;
    let body =
        json!({"user": {"name": "Third", "email": "third@acme.test", "password": "password-1", "role": "attendant"}});
    let refused = app.post("/api/v1/users", &owner, body.clone()).await.expect(422);
    assert_eq!(
        refused.body["errors"]["detail"],
        "Plan limit reached: at most 2 active users"
    );
    let users = app.get("/api/v1/users", &owner).await.expect(200);
    assert_eq!(users.body["meta"]["total_count"], 2, "the refused user was not written");
    // An inactive user does not count; reactivating past the limit is refused too.
    app.put(
        &format!("/api/v1/users/{}", second.user_id),
        &owner,
        json!({"active": false}),
    )
    .await
    .expect(200);
    let third = app.post("/api/v1/users", &owner, body).await.expect(201).id();
    let back = app
        .put(
            &format!("/api/v1/users/{}", second.user_id),
            &owner,
            json!({"active": true}),
        )
        .await;
    assert_eq!(
        back.expect(422).body["errors"]["detail"],
        "Plan limit reached: at most 2 active users"
    );
    let still = app
        .get(&format!("/api/v1/users/{}", second.user_id), &owner)
        .await
        .expect(200);
    assert_eq!(still.data()["active"], false);
    assert!(!third.is_empty());
}

#[tokio::test]
async fn the_department_limit_refuses_one_more_active_department() {
    let app = TestApp::spawn_with(|c| c.max_departments = 1).await;
    let owner = app.owner("acme").await;
    let first = app.department(&owner, "Cardio").await;
    let refused = app
        .post("/api/v1/departments", &owner, json!({"name": "Neuro"}))
        .await
        .expect(422);
    assert_eq!(
        refused.body["errors"]["detail"],
        "Plan limit reached: at most 1 active departments"
    );
    // An inactive one may be created, and the first deactivated to make room.
    let spare = app
        .post("/api/v1/departments", &owner, json!({"name": "Neuro", "active": false}))
        .await
        .expect(201)
        .id();
    app.put(
        &format!("/api/v1/departments/{first}"),
        &owner,
        json!({"active": false}),
    )
    .await
    .expect(200);
    app.put(&format!("/api/v1/departments/{spare}"), &owner, json!({"active": true}))
        .await
        .expect(200);
    app.put(&format!("/api/v1/departments/{first}"), &owner, json!({"active": true}))
        .await
        .expect(422);
}

#[tokio::test]
async fn zero_concurrent_calls_means_unlimited() {
    let app = TestApp::spawn_with(|c| c.max_concurrent_calls = 0).await;
    let owner = app.owner("acme").await;
    let plan = app.get("/api/v1/billing/plan", &owner).await.expect(200);
    assert_eq!(plan.data()["max_concurrent_calls"], Value::Null);
    let company = app.get("/api/v1/company", &owner).await.expect(200);
    assert_eq!(company.data()["max_concurrent_calls"], Value::Null);
}
