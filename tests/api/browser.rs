//! The web console and the patient's page in a real browser (headless Chromium driven by
//! playwright-core, tests/js/browser.mjs): a whole consultation with real WebRTC video.
//! CI installs Chromium and the npm packages and sets `VOKI_REQUIRE_BROWSER`; elsewhere,
//! without them, the test says it skipped.

use std::path::PathBuf;

use serde_json::json;

use crate::helpers::{PASSWORD, TestApp, js_fixture, run_node, run_node_output};

#[tokio::test]
async fn a_patient_and_an_agent_hold_a_video_call_in_the_browser() {
    let chromium = PathBuf::from(std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()));
    let Some(fixture) = js_fixture("playwright-core", &[&chromium], "VOKI_REQUIRE_BROWSER") else {
        return;
    };
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let department = app.department(&owner, "Clínica Geral").await;
    let agent = crate::analytics::named_agent(&app, &owner, &department, "Alice Souza").await;
    // A manager: the console then also shows the dashboard's live figures and the reports.
    app.put(
        &format!("/api/v1/users/{}", agent.user_id),
        &owner,
        json!({"role": "manager"}),
    )
    .await
    .expect(200);
    let link = app.link(&owner, &department, json!({})).await;
    let link_url = format!("{}/call/{}", app.base, link["token"].as_str().unwrap());
    let args = vec![
        "browser.mjs".to_string(),
        app.base.clone(),
        "acme".into(),
        agent.email.clone(),
        PASSWORD.into(),
        link_url,
    ];
    run_node(fixture, args, vec![("CHROMIUM".into(), chromium.display().to_string())]).await;

    // What the two pages did is what the API recorded.
    let calls = app.get("/api/v1/calls", &owner).await.expect(200);
    let call = &calls.data()[0];
    assert_eq!(call["status"], "completed");
    assert_eq!(call["customer_name"], "Paciente Teste");
    assert_eq!(call["user_name"], "Alice Souza");
    assert_eq!(call["rating"], 5);
}

#[tokio::test]
async fn a_patient_who_reloads_resumes_their_call_and_leaves_the_queue_within_the_grace_once_gone() {
    let chromium = PathBuf::from(std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()));
    let Some(fixture) = js_fixture("playwright-core", &[&chromium], "VOKI_REQUIRE_BROWSER") else {
        return;
    };
    let app = TestApp::spawn_with(|config| config.socket_reconnect_grace_secs = 2).await;
    let owner = app.owner("acme").await;
    let department = app.department(&owner, "Clínica Geral").await;
    // A single-use link: a reload must not need it again.
    let link = app.link(&owner, &department, json!({"reusable": false})).await;
    let link_url = format!("{}/call/{}", app.base, link["token"].as_str().unwrap());
    let call_id = run_node_output(
        fixture,
        vec!["reload.mjs".to_string(), link_url],
        vec![("CHROMIUM".into(), chromium.display().to_string())],
    )
    .await;
    // One call only: the reload resumed it rather than joining again.
    let calls = app.get("/api/v1/calls", &owner).await.expect(200);
    assert_eq!(calls.body["meta"]["total_count"], 1, "{}", calls.text);
    let mut status = serde_json::Value::Null;
    for _ in 0..50 {
        status = app
            .public_get(&format!("/api/v1/call/status/{call_id}"))
            .await
            .expect(200)
            .data()["status"]
            .clone();
        if status == "missed" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(status, "missed", "the vanished patient is still {status}");
}

/// A patient books alone on the public page at phone width (390 px), meets a time taken
/// meanwhile and takes one of the next times offered, then opens the manage link and
/// moves the appointment (tests/js/booking.mjs).
#[tokio::test]
async fn a_patient_books_and_reschedules_on_a_phone_sized_page() {
    let chromium = PathBuf::from(std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()));
    let Some(fixture) = js_fixture("playwright-core", &[&chromium], "VOKI_REQUIRE_BROWSER") else {
        return;
    };
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let department = app.department(&owner, "Clínica Geral").await;
    let agent = crate::analytics::named_agent(&app, &owner, &department, "Alice Souza").await;
    let weekly: Vec<_> = (1..=7)
        .map(|weekday| json!({"weekday": weekday, "start": "07:00", "end": "20:00"}))
        .collect();
    app.put(
        &format!("/api/v1/users/{}/availability", agent.user_id),
        &owner,
        json!({"availability": {"weekly": weekly}}),
    )
    .await
    .expect(200);
    let settings = app
        .put(
            &format!("/api/v1/departments/{department}"),
            &owner,
            json!({"department": {"public_booking": true, "min_notice_minutes": 0}}),
        )
        .await
        .expect(200);
    let booking_url = settings.data()["booking_url"].as_str().unwrap();
    let local_url = booking_url.replace("http://voki.test", &app.base);
    run_node(
        fixture,
        vec!["booking.mjs".to_string(), local_url],
        vec![("CHROMIUM".into(), chromium.display().to_string())],
    )
    .await;

    let list = app
        .get(&format!("/api/v1/appointments?user_id={}", agent.user_id), &owner)
        .await
        .expect(200);
    let appointments = list.data().as_array().unwrap();
    assert_eq!(appointments.len(), 2, "the other patient's and the browser's");
    let mine = appointments
        .iter()
        .find(|a| a["customer_name"] == "Paciente Navegador")
        .expect("the browser's booking");
    assert_eq!(mine["customer_phone"], "+55 11 98888-7777");
    let notifications = app.get("/api/v1/notifications", &agent).await.expect(200);
    let types: Vec<&str> = notifications
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        ["appointment_rescheduled", "appointment_booked", "appointment_booked"]
    );
}
