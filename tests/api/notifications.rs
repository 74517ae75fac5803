//! Notifications (SPEC §4.10) and the appointment jobs of the sweeper (SPEC §4.5, §6):
//! overdue flags and reminders, each exactly once, across restarts and failing tenants.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use voki::notifications::NotificationType;
use voki::sweeper::{Job, Sweep};

use crate::helpers::{Reply, Session, TestApp, minutes_from_now};

/// Stores a notification for `user_id` the way server code does.
async fn notify(app: &TestApp, user_id: &str, title: &str) -> String {
    let (user_id, title) = (user_id.to_string(), title.to_string());
    app.tenant_db("acme")
        .await
        .write(move |conn| {
            voki::notifications::store::create(
                conn,
                &user_id,
                NotificationType::CallAssigned,
                &title,
                "A call is waiting for you",
                &json!({"call_id": "c-1"}),
            )
        })
        .await
        .unwrap()
        .id
}

fn titles(reply: &Reply) -> Vec<String> {
    reply.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["title"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn notifications_list_only_the_callers_own_newest_first() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let agent = app.user(&owner, "attendant").await;
    for title in ["first", "second", "third"] {
        notify(&app, &agent.user_id, title).await;
    }
    notify(&app, &owner.user_id, "for the owner").await;

    let reply = app.get("/api/v1/notifications", &agent).await.expect(200);
    assert_eq!(titles(&reply), ["third", "second", "first"]);
    assert_eq!(
        reply.body["meta"],
        json!({"current_page": 1, "page_size": 20, "total_pages": 1, "total_count": 3})
    );
    let row = &reply.body["data"][0];
    let mut keys: Vec<&str> = row.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(keys, ["body", "data", "id", "inserted_at", "read_at", "title", "type"]);
    assert_eq!(row["type"], "call_assigned");
    assert_eq!(row["data"], json!({"call_id": "c-1"}));
    assert_eq!(row["read_at"], Value::Null);

    let paged = app
        .get("/api/v1/notifications?page=2&page_size=2", &agent)
        .await
        .expect(200);
    assert_eq!(titles(&paged), ["first"]);
    assert_eq!(
        titles(&app.get("/api/v1/notifications", &owner).await.expect(200)),
        ["for the owner"]
    );
}

#[tokio::test]
async fn read_marks_one_and_the_unread_filter_follows() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let first = notify(&app, &owner.user_id, "first").await;
    notify(&app, &owner.user_id, "second").await;

    let read = app
        .post(&format!("/api/v1/notifications/{first}/read"), &owner, json!({}))
        .await
        .expect(200);
    let read_at = read.data()["read_at"].clone();
    assert!(read_at.is_string());
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let again = app
        .post(&format!("/api/v1/notifications/{first}/read"), &owner, json!({}))
        .await
        .expect(200);
    assert_eq!(
        again.data()["read_at"],
        read_at,
        "reading again keeps the first read_at"
    );

    let unread = app.get("/api/v1/notifications?unread=true", &owner).await.expect(200);
    assert_eq!(titles(&unread), ["second"]);
    let seen = app.get("/api/v1/notifications?unread=false", &owner).await.expect(200);
    assert_eq!(titles(&seen), ["first"]);
    app.get("/api/v1/notifications?unread=perhaps", &owner)
        .await
        .expect(400);
}

#[tokio::test]
async fn read_all_marks_every_unread_notification_of_the_caller_only() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let agent = app.user(&owner, "attendant").await;
    for title in ["a", "b"] {
        notify(&app, &owner.user_id, title).await;
    }
    notify(&app, &agent.user_id, "theirs").await;
    let reply = app
        .post("/api/v1/notifications/read-all", &owner, json!({}))
        .await
        .expect(200);
    assert_eq!(reply.body, json!({"data": {"updated": 2}}));
    let again = app
        .post("/api/v1/notifications/read-all", &owner, json!({}))
        .await
        .expect(200);
    assert_eq!(again.body, json!({"data": {"updated": 0}}));
    let unread = app.get("/api/v1/notifications?unread=true", &agent).await.expect(200);
    assert_eq!(titles(&unread), ["theirs"]);
}

#[tokio::test]
async fn another_users_notification_is_404() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let agent = app.user(&owner, "attendant").await;
    let theirs = notify(&app, &agent.user_id, "private").await;
    let reply = app
        .post(&format!("/api/v1/notifications/{theirs}/read"), &owner, json!({}))
        .await
        .expect(404);
    assert_eq!(reply.body["errors"]["detail"], "Notification not found");
    let unread = app.get("/api/v1/notifications?unread=true", &agent).await.expect(200);
    assert_eq!(titles(&unread), ["private"], "nothing was marked");
    app.post("/api/v1/notifications/not-a-uuid/read", &agent, json!({}))
        .await
        .expect(404);
}

/// Every notification endpoint: the minimum role (attendant) succeeds; no token and an
/// `X-Tenant` that differs from the token are 401; another tenant's id is 404.
#[tokio::test]
async fn every_notification_endpoint_needs_a_token_of_its_tenant() {
    let app = TestApp::spawn().await;
    app.create_tenant("other").await;
    let owner = app.owner("acme").await;
    let agent = app.user(&owner, "attendant").await;
    let other_owner = app.owner("other").await;
    let id = notify(&app, &agent.user_id, "mine").await;
    let rows = [
        (Method::GET, "/api/v1/notifications".to_string(), false),
        (Method::POST, format!("/api/v1/notifications/{id}/read"), true),
        (Method::POST, "/api/v1/notifications/read-all".to_string(), false),
    ];
    for (method, path, has_id) in rows {
        let label = format!("{method} {path}");
        let ok = app.request(method.clone(), &path, Some(&agent), None).await;
        assert_eq!(ok.status, 200, "{label}: {}", ok.text);
        app.request(method.clone(), &path, None, None).await.expect(401);
        let mismatched = Session {
            tenant: "other".into(),
            ..agent.clone()
        };
        app.request(method.clone(), &path, Some(&mismatched), None)
            .await
            .expect(401);
        if has_id {
            app.request(method.clone(), &path, Some(&other_owner), None)
                .await
                .expect(404);
        }
    }
}

// ---------------------------------------------------------------- the sweeper

/// A department, an agent in it, and one booked appointment of the agent at `start`.
async fn booked(app: &TestApp, start: &str) -> (Session, String) {
    let owner = app.owner("acme").await;
    let department = app
        .department(&owner, &format!("Dept {}", uuid::Uuid::new_v4().simple()))
        .await;
    let agent = app.user(&owner, "attendant").await;
    app.add_member(&owner, &department, &agent.user_id).await;
    let id = app
        .post(
            "/api/v1/appointments",
            &agent,
            json!({"appointment": {"title": "Retorno", "scheduled_at": start, "department_id": department,
                                   "customer_name": "Maria Souza"}}),
        )
        .await
        .expect(201)
        .id();
    (agent, id)
}

/// Runs one sweeper job on tenant `acme` as if the clock said `now`.
async fn run_job(app: &TestApp, job: Job, now: &str) {
    let sweep = Sweep {
        tenant: "acme".into(),
        now: voki::time::parse(now).unwrap(),
        config: app.state().config.clone(),
    };
    app.tenant_db("acme")
        .await
        .write(move |conn| job(conn, &sweep))
        .await
        .expect("job runs");
}

async fn of_type(app: &TestApp, session: &Session, kind: &str) -> Vec<Value> {
    let reply = app
        .get("/api/v1/notifications?page_size=100", session)
        .await
        .expect(200);
    reply.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["type"] == kind)
        .cloned()
        .collect()
}

#[tokio::test]
async fn the_sweeper_flags_overdue_within_one_interval_and_notifies_once() {
    let app = TestApp::spawn_with(|c| c.sweep_interval_secs = 1).await;
    let (agent, id) = booked(&app, &minutes_from_now(60 * 24 * 30)).await;
    app.move_appointment("acme", &id, &minutes_from_now(-45)).await;

    let db = app.tenant_db("acme").await;
    let stored_flag = || {
        let id = id.clone();
        db.read(move |conn| {
            Ok(
                conn.query_row("SELECT overdue FROM appointments WHERE id = ?1", [&id], |r| {
                    r.get::<_, i64>(0)
                })?,
            )
        })
    };
    let mut flagged = false;
    for _ in 0..40 {
        if stored_flag().await.unwrap() == 1 {
            flagged = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(flagged, "the sweeper stored the overdue flag within one interval");
    // More intervals pass: still one notification.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let overdue = of_type(&app, &agent, "appointment_overdue").await;
    assert_eq!(overdue.len(), 1, "{overdue:?}");
    assert_eq!(overdue[0]["data"]["appointment_id"], id);
    assert_eq!(overdue[0]["title"], "Appointment overdue");

    // Completing it clears the flag for good.
    let completed = app
        .post(&format!("/api/v1/appointments/{id}/complete"), &agent, json!({}))
        .await
        .expect(200);
    assert_eq!(completed.data()["overdue"], false);
    assert_eq!(stored_flag().await.unwrap(), 0);
}

#[tokio::test]
async fn reminders_fire_once_per_offset_even_across_restarts_and_overlapping_runs() {
    let mut app = TestApp::spawn_with(|c| c.reminder_offsets_minutes = vec![1440, 15]).await;
    let (agent, id) = booked(&app, "2099-08-01T12:00:00Z").await;
    let remind = voki::appointments::jobs::send_reminders;

    run_job(&app, remind, "2099-07-31T11:59:00Z").await;
    assert!(
        of_type(&app, &agent, "appointment_reminder").await.is_empty(),
        "too early"
    );

    run_job(&app, remind, "2099-07-31T12:00:30Z").await;
    let reminders = of_type(&app, &agent, "appointment_reminder").await;
    assert_eq!(reminders.len(), 1);
    assert_eq!(reminders[0]["title"], "Appointment in 24 h");
    assert_eq!(
        reminders[0]["data"],
        json!({"appointment_id": id, "title": "Retorno", "scheduled_at": "2099-08-01T12:00:00Z",
               "minutes_before": 1440, "offset_minutes": 1440})
    );

    // Two overlapping runs at the same moment, then a later one before the next offset.
    tokio::join!(
        run_job(&app, remind, "2099-07-31T12:01:00Z"),
        run_job(&app, remind, "2099-07-31T12:01:00Z")
    );
    run_job(&app, remind, "2099-08-01T11:00:00Z").await;
    assert_eq!(of_type(&app, &agent, "appointment_reminder").await.len(), 1);

    run_job(&app, remind, "2099-08-01T11:45:00Z").await;
    let reminders = of_type(&app, &agent, "appointment_reminder").await;
    assert_eq!(reminders.len(), 2);
    assert_eq!(reminders[0]["data"]["offset_minutes"], 15);
    assert_eq!(reminders[0]["data"]["minutes_before"], 15);

    app.restart().await;
    run_job(&app, remind, "2099-08-01T11:50:00Z").await;
    voki::sweeper::sweep_once(app.state()).await;
    assert_eq!(of_type(&app, &agent, "appointment_reminder").await.len(), 2);
}

/// An appointment booked ten minutes ahead gets one reminder saying so, not one per offset.
#[tokio::test]
async fn a_late_booking_gets_one_reminder_with_the_time_really_left() {
    let app = TestApp::spawn().await;
    let (agent, id) = booked(&app, &minutes_from_now(10)).await;
    voki::sweeper::sweep_once(app.state()).await;
    voki::sweeper::sweep_once(app.state()).await;
    let reminders = of_type(&app, &agent, "appointment_reminder").await;
    assert_eq!(reminders.len(), 1, "{reminders:?}");
    assert_eq!(reminders[0]["data"]["appointment_id"], id);
    assert_eq!(reminders[0]["data"]["offset_minutes"], 15);
    let left = reminders[0]["data"]["minutes_before"].as_i64().unwrap();
    assert!((9..=10).contains(&left), "{left}");
}

#[tokio::test]
async fn a_rescheduled_appointment_is_reminded_again_for_its_new_time() {
    let app = TestApp::spawn().await;
    let (agent, id) = booked(&app, "2099-08-01T12:00:00Z").await;
    let remind = voki::appointments::jobs::send_reminders;
    run_job(&app, remind, "2099-08-01T11:50:00Z").await;
    app.put(
        &format!("/api/v1/appointments/{id}"),
        &agent,
        json!({"scheduled_at": "2099-08-02T12:00:00Z"}),
    )
    .await
    .expect(200);
    run_job(&app, remind, "2099-08-02T11:50:00Z").await;
    run_job(&app, remind, "2099-08-02T11:55:00Z").await;
    let reminders = of_type(&app, &agent, "appointment_reminder").await;
    let starts: Vec<&Value> = reminders.iter().map(|r| &r["data"]["scheduled_at"]).collect();
    assert_eq!(starts, [&json!("2099-08-02T12:00:00Z"), &json!("2099-08-01T12:00:00Z")]);
}

#[tokio::test]
async fn closed_appointments_get_no_reminder_and_never_turn_overdue() {
    let app = TestApp::spawn().await;
    let (agent, id) = booked(&app, "2099-08-01T12:00:00Z").await;
    app.post(&format!("/api/v1/appointments/{id}/cancel"), &agent, json!({}))
        .await
        .expect(200);
    run_job(&app, voki::appointments::jobs::send_reminders, "2099-08-01T11:50:00Z").await;
    run_job(&app, voki::appointments::jobs::flag_overdue, "2099-08-02T00:00:00Z").await;
    let all = app.get("/api/v1/notifications", &agent).await.expect(200);
    assert_eq!(all.body["meta"]["total_count"], 0);
    app.move_appointment("acme", &id, &minutes_from_now(-120)).await;
    let read = app.get(&format!("/api/v1/appointments/{id}"), &agent).await.expect(200);
    assert_eq!(read.data()["overdue"], false);
}

#[tokio::test]
async fn one_failing_tenant_does_not_stop_the_others() {
    let app = TestApp::spawn().await;
    // Swept before `acme` (tenants are walked in slug order), and broken.
    app.create_tenant("aaa-broken").await;
    app.tenant_db("aaa-broken")
        .await
        .write(|conn| {
            conn.execute_batch("DROP TABLE appointment_reminders; DROP TABLE appointments;")?;
            Ok(())
        })
        .await
        .unwrap();
    let (agent, _) = booked(&app, &minutes_from_now(10)).await;
    let failures = voki::sweeper::sweep_once(app.state()).await;
    assert_eq!(failures, 2, "both appointment jobs failed for the broken tenant");
    assert_eq!(of_type(&app, &agent, "appointment_reminder").await.len(), 1);
}
