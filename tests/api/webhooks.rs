//! Outgoing webhooks (SPEC §4.9) against a real local receiver: signed bodies, retries
//! with backoff, the delivery log, and nothing lost across a restart.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Session, TestApp};

/// What the receiver saw: (headers, body) per request.
type Seen = Arc<Mutex<Vec<(HeaderMap, String)>>>;

/// A receiver on 127.0.0.1 that answers 500 to its first `failures` requests, then 200.
async fn receiver(failures: usize, addr: Option<SocketAddr>) -> (String, Seen) {
    let seen: Seen = Arc::default();
    let record = seen.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let record = record.clone();
            async move {
                let mut seen = record.lock().unwrap();
                seen.push((headers, String::from_utf8_lossy(&body).into_owned()));
                if seen.len() <= failures {
                    StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    StatusCode::OK
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind(addr.unwrap_or_else(|| "127.0.0.1:0".parse().unwrap()))
        .await
        .unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen)
}

async fn subscribe(app: &TestApp, manager: &Session, url: &str, events: Value) -> (String, String) {
    let reply = app
        .post(
            "/api/v1/webhooks",
            manager,
            json!({"webhook": {"url": url, "events": events}}),
        )
        .await
        .expect(201);
    let secret = reply.data()["secret"]
        .as_str()
        .expect("secret shown on create")
        .to_string();
    (reply.id(), secret)
}

async fn wait_for(seen: &Seen, count: usize) {
    for _ in 0..100 {
        if seen.lock().unwrap().len() >= count {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("receiver saw {} requests, expected {count}", seen.lock().unwrap().len());
}

#[tokio::test]
async fn customer_created_is_delivered_signed() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let (url, seen) = receiver(0, None).await;
    let (_, secret) = subscribe(&app, &owner, &url, json!(["customer.created"])).await;
    let customer = app
        .post("/api/v1/customers", &owner, json!({"name": "Ana Costa"}))
        .await
        .expect(201)
        .id();
    wait_for(&seen, 1).await;
    let (headers, body) = seen.lock().unwrap()[0].clone();
    let expected = voki::webhooks::signature(&secret, body.as_bytes());
    assert_eq!(headers["x-voki-signature"].to_str().unwrap(), expected);
    assert_eq!(headers["x-voki-event"], "customer.created");
    let payload: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(payload["event"], "customer.created");
    assert_eq!(payload["data"]["id"], customer.as_str());
    assert!(payload["timestamp"].as_str().unwrap().ends_with('Z'));
}

#[tokio::test]
async fn a_receiver_that_fails_twice_gets_the_event_exactly_once_with_attempts_logged() {
    let app = TestApp::spawn_with(|c| c.webhook_retry_base_secs = 1).await;
    let owner = app.owner("acme").await;
    let (url, seen) = receiver(2, None).await;
    let (webhook, _) = subscribe(&app, &owner, &url, json!(["customer.created"])).await;
    app.post("/api/v1/customers", &owner, json!({"name": "Ana"}))
        .await
        .expect(201);
    wait_for(&seen, 3).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(seen.lock().unwrap().len(), 3, "no delivery after the success");
    let bodies: Vec<String> = seen.lock().unwrap().iter().map(|(_, b)| b.clone()).collect();
    assert!(
        bodies.windows(2).all(|w| w[0] == w[1]),
        "every attempt sends the same body"
    );
    let log = app
        .get(&format!("/api/v1/webhooks/{webhook}/deliveries"), &owner)
        .await
        .expect(200);
    let delivery = &log.data()[0];
    assert_eq!(delivery["status"], "delivered");
    assert_eq!(delivery["attempts"], 3);
    let codes: Vec<Value> = delivery["attempt_log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["status_code"].clone())
        .collect();
    assert_eq!(codes, [json!(500), json!(500), json!(200)]);
}

#[tokio::test]
async fn a_restart_loses_no_pending_delivery() {
    let mut app = TestApp::spawn_with(|c| c.webhook_retry_base_secs = 1).await;
    let owner = app.owner("acme").await;
    // Reserve a port, then close it: the first attempts meet a closed port.
    let probe = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = probe.local_addr().unwrap();
    drop(probe);
    let url = format!("http://{addr}/hook");
    let (webhook, _) = subscribe(&app, &owner, &url, json!(["customer.created"])).await;
    app.post("/api/v1/customers", &owner, json!({"name": "Ana"}))
        .await
        .expect(201);
    tokio::time::sleep(Duration::from_millis(1500)).await;

    app.restart_with(|c| {
        c.webhook_retry_base_secs = 1;
        c.sweep_interval_secs = 1;
    })
    .await;
    let (_, seen) = receiver(0, Some(addr)).await;
    wait_for(&seen, 1).await;
    let owner = app.owner("acme").await;
    let log = app
        .get(&format!("/api/v1/webhooks/{webhook}/deliveries"), &owner)
        .await
        .expect(200);
    assert_eq!(log.data()[0]["status"], "delivered");
    assert!(log.data()[0]["attempts"].as_i64().unwrap() >= 2);
}

#[tokio::test]
async fn only_subscribed_events_reach_a_webhook_and_inactive_ones_wait() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let (url, seen) = receiver(0, None).await;
    let (webhook, _) = subscribe(&app, &owner, &url, json!(["call.completed"])).await;
    app.post("/api/v1/customers", &owner, json!({"name": "Ana"}))
        .await
        .expect(201);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(seen.lock().unwrap().is_empty());
    let log = app
        .get(&format!("/api/v1/webhooks/{webhook}/deliveries"), &owner)
        .await
        .expect(200);
    assert_eq!(log.body["meta"]["total_count"], 0);
}

#[tokio::test]
async fn webhook_management_validates_and_hides_the_secret() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let supervisor = app.user(&owner, "supervisor").await;
    let body = json!({"url": "http://192.168.0.10:9000/voki", "events": ["call.created"]});
    app.post("/api/v1/webhooks", &supervisor, body.clone())
        .await
        .expect(403);
    let created = app.post("/api/v1/webhooks", &owner, body).await.expect(201);
    assert!(created.data()["secret"].as_str().unwrap().len() >= 32);
    let id = created.id();
    let read = app.get(&format!("/api/v1/webhooks/{id}"), &owner).await.expect(200);
    assert!(read.data().get("secret").is_none(), "the secret is shown once");
    let bad = app
        .post(
            "/api/v1/webhooks",
            &owner,
            json!({"url": "ftp://x", "events": ["call.created", "call.exploded"], "secret": "short"}),
        )
        .await
        .expect(422);
    assert_eq!(bad.field_errors("url"), ["has invalid format"]);
    assert_eq!(bad.field_errors("events.1"), ["is invalid"]);
    assert!(!bad.field_errors("secret").is_empty());
    let updated = app
        .put(&format!("/api/v1/webhooks/{id}"), &owner, json!({"active": false}))
        .await
        .expect(200);
    assert_eq!(updated.data()["active"], false);
    app.delete(&format!("/api/v1/webhooks/{id}"), &owner).await.expect(204);
    app.get(&format!("/api/v1/webhooks/{id}"), &owner).await.expect(404);
    app.create_tenant("other").await;
    let other = app.owner("other").await;
    let theirs = app
        .post(
            "/api/v1/webhooks",
            &other,
            json!({"url": "http://x.test/h", "events": ["call.created"]}),
        )
        .await;
    app.get(&format!("/api/v1/webhooks/{}", theirs.expect(201).id()), &owner)
        .await
        .expect(404);
}

#[tokio::test]
async fn appointment_events_are_emitted_with_their_changes() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let (url, seen) = receiver(0, None).await;
    subscribe(
        &app,
        &owner,
        &url,
        json!(["appointment.created", "appointment.confirmed", "appointment.cancelled"]),
    )
    .await;
    let department = app.department(&owner, "Cardio").await;
    app.add_member(&owner, &department, &owner.user_id).await;
    let appointment = app
        .post(
            "/api/v1/appointments",
            &owner,
            json!({"appointment": {"title": "Retorno", "scheduled_at": crate::helpers::minutes_from_now(120),
                   "department_id": department, "customer_name": "Ana"}}),
        )
        .await
        .expect(201)
        .id();
    app.post(
        &format!("/api/v1/appointments/{appointment}/confirm"),
        &owner,
        json!({}),
    )
    .await
    .expect(200);
    // A repeated confirm changes nothing, so it announces nothing.
    app.post(
        &format!("/api/v1/appointments/{appointment}/confirm"),
        &owner,
        json!({}),
    )
    .await
    .expect(200);
    app.post(
        &format!("/api/v1/appointments/{appointment}/cancel"),
        &owner,
        json!({"reason": "r"}),
    )
    .await
    .expect(200);
    wait_for(&seen, 3).await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let events: Vec<String> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|(_, body)| {
            serde_json::from_str::<Value>(body).unwrap()["event"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        events,
        ["appointment.created", "appointment.confirmed", "appointment.cancelled"]
    );
    let last: Value = serde_json::from_str(&seen.lock().unwrap()[2].1).unwrap();
    assert_eq!(last["data"]["status"], "cancelled");
    assert_eq!(last["data"]["cancel_reason"], "r");
}

fn events_of(seen: &Seen) -> Vec<String> {
    seen.lock()
        .unwrap()
        .iter()
        .map(|(_, body)| {
            serde_json::from_str::<Value>(body).unwrap()["event"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

#[tokio::test]
async fn the_call_lifecycle_emits_every_call_event_in_order() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let agent = app.user(&owner, "attendant").await;
    let (url, seen) = receiver(0, None).await;
    let events = json!([
        "call.created",
        "call.assigned",
        "call.started",
        "call.completed",
        "call.missed",
        "customer.created"
    ]);
    subscribe(&app, &owner, &url, events).await;
    let department = app.department(&owner, "Cardio").await;
    app.add_member(&owner, &department, &agent.user_id).await;

    let served = app.completed_call(&owner, &agent, &department, "Ana Costa").await;
    let left = app.queued_call(&owner, &department, "Bia Souza").await;
    app.public_post(&format!("/api/v1/call/leave/{left}"), json!({}))
        .await
        .expect(200);
    wait_for(&seen, 8).await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(
        events_of(&seen),
        [
            "customer.created",
            "call.created",
            "call.assigned",
            "call.started",
            "call.completed",
            "customer.created",
            "call.created",
            "call.missed",
        ]
    );
    let completed: Value = serde_json::from_str(&seen.lock().unwrap()[4].1).unwrap();
    assert_eq!(completed["data"]["id"], served.as_str());
    assert_eq!(completed["data"]["status"], "completed");
    assert_eq!(completed["data"]["user_id"], agent.user_id.as_str());
}

#[tokio::test]
async fn a_call_assigned_by_a_supervisor_notifies_the_agent() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let agent = app.user(&owner, "attendant").await;
    let department = app.department(&owner, "Cardio").await;
    app.add_member(&owner, &department, &agent.user_id).await;
    let call = app.queued_call(&owner, &department, "Ana").await;
    app.post(
        &format!("/api/v1/calls/{call}/assign"),
        &owner,
        json!({"user_id": agent.user_id}),
    )
    .await
    .expect(200);
    let notes = app.get("/api/v1/notifications", &agent).await.expect(200);
    assert_eq!(notes.body["meta"]["total_count"], 1);
    assert_eq!(notes.data()[0]["type"], "call_assigned");
    assert_eq!(notes.data()[0]["data"]["call_id"], call.as_str());
}
