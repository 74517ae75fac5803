//! SPEC §4.7, the staff side of calls: list and filters, assignment under concurrency,
//! provider attribution, lifecycle, limits, visibility, files, notes, tags.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Session, TestApp, multipart_file};

/// A department with one attendant member: (department id, attendant).
async fn department_with_attendant(app: &TestApp, owner: &Session, name: &str) -> (String, Session) {
    let department = app.department(owner, name).await;
    let attendant = app.user(owner, "attendant").await;
    app.add_member(owner, &department, &attendant.user_id).await;
    (department, attendant)
}

async fn call_action(app: &TestApp, session: &Session, call: &str, action: &str) -> crate::helpers::Reply {
    app.post(&format!("/api/v1/calls/{call}/{action}"), session, json!({}))
        .await
}

#[tokio::test]
async fn sixteen_parallel_assigns_have_exactly_one_winner() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let department = app.department(&owner, "Clínica Geral").await;
    let mut agents = Vec::new();
    for _ in 0..16 {
        let agent = app.user(&owner, "attendant").await;
        app.add_member(&owner, &department, &agent.user_id).await;
        agents.push(agent);
    }
    let call = app.queued_call(&owner, &department, "Ana Costa").await;
    let path = format!("/api/v1/calls/{call}/assign");
    let replies = futures::future::join_all(agents.iter().map(|agent| app.post(&path, agent, json!({})))).await;
    let winners: Vec<&crate::helpers::Reply> = replies.iter().filter(|r| r.status == 200).collect();
    assert_eq!(winners.len(), 1, "{replies:?}");
    for loser in replies.iter().filter(|r| r.status != 200) {
        assert_eq!(loser.status, 409);
        assert_eq!(loser.body, json!({"errors": {"detail": "Call already assigned"}}));
    }
    let detail = app.get(&format!("/api/v1/calls/{call}"), &owner).await.expect(200);
    assert_eq!(detail.data()["user_id"], winners[0].data()["user_id"]);
    assert!(detail.data()["assigned_at"].is_string());
}

#[tokio::test]
async fn repeating_an_assign_to_the_same_agent_is_a_no_op() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let (department, attendant) = department_with_attendant(&app, &owner, "Clínica Geral").await;
    let call = app.queued_call(&owner, &department, "Ana Costa").await;
    let first = call_action(&app, &attendant, &call, "assign").await.expect(200);
    let second = call_action(&app, &attendant, &call, "assign").await.expect(200);
    assert_eq!(first.data()["assigned_at"], second.data()["assigned_at"]);
}

#[tokio::test]
async fn attendants_assign_only_themselves_and_only_in_their_departments() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let (department, attendant) = department_with_attendant(&app, &owner, "Clínica Geral").await;
    let colleague = app.user(&owner, "attendant").await;
    app.add_member(&owner, &department, &colleague.user_id).await;
    let outsider = app.user(&owner, "attendant").await;
    let call = app.queued_call(&owner, &department, "Ana Costa").await;

    let reply = app
        .post(
            &format!("/api/v1/calls/{call}/assign"),
            &attendant,
            json!({"user_id": colleague.user_id}),
        )
        .await
        .expect(403);
    assert_eq!(
        reply.body["errors"]["detail"],
        "Attendants can only assign calls to themselves"
    );
    // Outside their departments the call is outside what they may touch (SPEC §2.3).
    call_action(&app, &outsider, &call, "assign").await.expect(403);
    app.get(&format!("/api/v1/calls/{call}"), &outsider).await.expect(403);
    call_action(&app, &attendant, &call, "assign").await.expect(200);
    // The assigned agent keeps seeing the call after leaving the department.
    app.delete(
        &format!("/api/v1/departments/{department}/users/{}", attendant.user_id),
        &owner,
    )
    .await
    .expect(204);
    app.get(&format!("/api/v1/calls/{call}"), &attendant).await.expect(200);
}

#[tokio::test]
async fn supervisors_assign_any_active_member_of_the_department() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let supervisor = app.user(&owner, "supervisor").await;
    let (department, attendant) = department_with_attendant(&app, &owner, "Clínica Geral").await;
    let stranger = app.user(&owner, "attendant").await;
    let call = app.queued_call(&owner, &department, "Ana Costa").await;
    let path = format!("/api/v1/calls/{call}/assign");
    for (user_id, message) in [
        (stranger.user_id.clone(), "is not a member of the department"),
        (uuid::Uuid::new_v4().to_string(), "does not exist"),
        ("not-a-uuid".to_string(), "does not exist"),
    ] {
        let reply = app
            .post(&path, &supervisor, json!({"user_id": user_id}))
            .await
            .expect(422);
        assert_eq!(reply.field_errors("user_id"), [message]);
    }
    // The supervisor is no member either: taking it for themselves is refused the same way.
    let reply = app.post(&path, &supervisor, json!({})).await.expect(422);
    assert_eq!(reply.field_errors("user_id"), ["is not a member of the department"]);
    let reply = app
        .post(&path, &supervisor, json!({"user_id": attendant.user_id}))
        .await
        .expect(200);
    assert_eq!(reply.data()["user_id"], attendant.user_id);
    assert_eq!(reply.data()["user_name"], "A attendant");
    app.add_member(&owner, &department, &supervisor.user_id).await;
    let reply = app
        .post(&path, &owner, json!({"user_id": supervisor.user_id}))
        .await
        .expect(409);
    assert_eq!(reply.body["errors"]["detail"], "Call already assigned");
}

#[tokio::test]
async fn the_provider_is_recorded_at_assignment_and_kept_afterwards() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let (department, doctor) = department_with_attendant(&app, &owner, "Telemedicina").await;
    let provider = app
        .post(
            "/api/v1/providers",
            &owner,
            json!({"service_provider": {"name": "MedParceiros"}}),
        )
        .await
        .expect(201)
        .id();
    let early = app.queued_call(&owner, &department, "Roberto Lima").await;
    app.post(
        &format!("/api/v1/providers/{provider}/users"),
        &owner,
        json!({"user_id": doctor.user_id}),
    )
    .await
    .expect(200);
    let call = app.completed_call(&owner, &doctor, &department, "Ana Costa").await;
    // The doctor leaves the provider: the call keeps the provider it was assigned with.
    app.delete(
        &format!("/api/v1/providers/{provider}/users/{}", doctor.user_id),
        &owner,
    )
    .await
    .expect(204);
    let detail = app.get(&format!("/api/v1/calls/{call}"), &owner).await.expect(200);
    assert_eq!(detail.data()["provider_id"], provider);
    assert_eq!(detail.data()["provider_name"], "MedParceiros");
    // A call assigned after leaving has no provider.
    call_action(&app, &doctor, &early, "assign").await.expect(200);
    let early = app.get(&format!("/api/v1/calls/{early}"), &owner).await.expect(200);
    assert_eq!(early.data()["provider_id"], Value::Null);
    // A provider with attributed calls cannot be deleted.
    let reply = app
        .delete(&format!("/api/v1/providers/{provider}"), &owner)
        .await
        .expect(422);
    assert!(
        reply.body["errors"]["detail"]
            .as_str()
            .unwrap()
            .contains("deactivate it instead")
    );
}

#[tokio::test]
async fn starting_needs_an_assignment_and_respects_max_concurrent_calls() {
    let app = TestApp::spawn_with(|config| config.max_concurrent_calls = 1).await;
    let owner = app.owner("acme").await;
    let (department, attendant) = department_with_attendant(&app, &owner, "Clínica Geral").await;
    let first = app.queued_call(&owner, &department, "Ana Costa").await;
    let second = app.queued_call(&owner, &department, "Roberto Lima").await;
    let reply = call_action(&app, &attendant, &first, "start").await.expect(422);
    assert_eq!(reply.field_errors("status"), ["cannot start an unassigned call"]);
    for call in [&first, &second] {
        call_action(&app, &attendant, call, "assign").await.expect(200);
    }
    let started = call_action(&app, &attendant, &first, "start").await.expect(200);
    assert_eq!(started.data()["status"], "active");
    assert!(started.data()["started_at"].is_string());
    let reply = call_action(&app, &attendant, &second, "start").await.expect(409);
    assert_eq!(
        reply.body,
        json!({"errors": {"detail": "Concurrent call limit reached"}})
    );
    // Repeating a start of the running call is still fine.
    call_action(&app, &attendant, &first, "start").await.expect(200);
    call_action(&app, &attendant, &first, "complete").await.expect(200);
    call_action(&app, &attendant, &second, "start").await.expect(200);
}

#[tokio::test]
async fn every_illegal_call_transition_is_422_and_repeats_are_no_ops() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let (department, agent) = department_with_attendant(&app, &owner, "Clínica Geral").await;
    let queued = app.queued_call(&owner, &department, "Ana Costa").await;
    let reply = call_action(&app, &agent, &queued, "complete").await.expect(422);
    assert_eq!(reply.field_errors("status"), ["cannot complete a queued call"]);

    let active = app.queued_call(&owner, &department, "Roberto Lima").await;
    call_action(&app, &agent, &active, "assign").await.expect(200);
    call_action(&app, &agent, &active, "start").await.expect(200);
    for (action, message) in [
        ("cancel", "cannot cancel an active call"),
        ("assign", "cannot assign an active call"),
    ] {
        let reply = call_action(&app, &agent, &active, action).await.expect(422);
        assert_eq!(reply.field_errors("status"), [message]);
    }

    let completed = app.completed_call(&owner, &agent, &department, "Patricia Souza").await;
    call_action(&app, &agent, &completed, "complete").await.expect(200);
    for action in ["assign", "start", "cancel"] {
        let reply = call_action(&app, &agent, &completed, action).await.expect(422);
        assert_eq!(
            reply.field_errors("status"),
            [format!("cannot {action} a completed call")]
        );
    }

    let cancelled = app.queued_call(&owner, &department, "Carlos Ferreira").await;
    let reply = call_action(&app, &agent, &cancelled, "cancel").await.expect(200);
    assert_eq!(reply.data()["status"], "cancelled");
    assert!(reply.data()["cancelled_at"].is_string());
    call_action(&app, &agent, &cancelled, "cancel").await.expect(200);
    for action in ["assign", "start", "complete"] {
        call_action(&app, &agent, &cancelled, action).await.expect(422);
    }
    let reply = app
        .public_post(&format!("/api/v1/call/leave/{cancelled}"), json!({}))
        .await
        .expect(422);
    assert_eq!(reply.field_errors("status"), ["cannot leave a cancelled call"]);

    let missed = app.queued_call(&owner, &department, "Joana Dias").await;
    app.public_post(&format!("/api/v1/call/leave/{missed}"), json!({}))
        .await
        .expect(200);
    for action in ["assign", "start", "complete", "cancel"] {
        let reply = call_action(&app, &agent, &missed, action).await.expect(422);
        assert_eq!(reply.field_errors("status"), [format!("cannot {action} a missed call")]);
    }
}

#[tokio::test]
async fn wait_time_and_duration_are_measured_in_seconds() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let (department, agent) = department_with_attendant(&app, &owner, "Clínica Geral").await;
    let call = app.queued_call(&owner, &department, "Ana Costa").await;
    call_action(&app, &agent, &call, "assign").await.expect(200);
    let queued = app.get(&format!("/api/v1/calls/{call}"), &agent).await.expect(200);
    assert_eq!(queued.data()["wait_time"], Value::Null);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    call_action(&app, &agent, &call, "start").await.expect(200);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let done = call_action(&app, &agent, &call, "complete").await.expect(200);
    let data = done.data();
    assert!(data["wait_time"].as_i64().unwrap() >= 1, "{data}");
    assert!(data["duration"].as_i64().unwrap() >= 1, "{data}");
    let span = |from: &str, to: &str| {
        chrono::DateTime::parse_from_rfc3339(data[to].as_str().unwrap()).unwrap()
            - chrono::DateTime::parse_from_rfc3339(data[from].as_str().unwrap()).unwrap()
    };
    assert_eq!(data["wait_time"], span("inserted_at", "started_at").num_seconds());
    assert_eq!(data["duration"], span("started_at", "completed_at").num_seconds());
}

#[tokio::test]
async fn the_call_object_has_every_documented_field() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let (department, _) = department_with_attendant(&app, &owner, "Clínica Geral").await;
    let call = app.queued_call(&owner, &department, "Ana Costa").await;
    let detail = app.get(&format!("/api/v1/calls/{call}"), &owner).await.expect(200);
    for field in [
        "id",
        "protocol",
        "status",
        "department_id",
        "department_name",
        "user_id",
        "user_name",
        "provider_id",
        "provider_name",
        "customer_id",
        "customer_name",
        "customer_email",
        "customer_phone",
        "reason",
        "access_link_id",
        "wait_time",
        "duration",
        "rating",
        "tags",
        "manager_notes",
        "files",
        "inserted_at",
        "assigned_at",
        "started_at",
        "completed_at",
    ] {
        assert!(detail.data().get(field).is_some(), "missing {field}");
    }
    assert_eq!(detail.data()["tags"], json!([]));
    assert_eq!(detail.data()["customer_email"], "ana.costa@patients.test");
}

#[tokio::test]
async fn list_filters_by_every_parameter_newest_first() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let (general, agent) = department_with_attendant(&app, &owner, "Clínica Geral").await;
    let cardio = app.department(&owner, "Cardiologia").await;
    let provider = app
        .post(
            "/api/v1/providers",
            &owner,
            json!({"service_provider": {"name": "MedParceiros"}}),
        )
        .await
        .expect(201)
        .id();
    app.post(
        &format!("/api/v1/providers/{provider}/users"),
        &owner,
        json!({"user_id": agent.user_id}),
    )
    .await
    .expect(200);
    let completed = app.completed_call(&owner, &agent, &general, "Ana Costa").await;
    let queued = app.queued_call(&owner, &general, "Roberto Lima").await;
    let other = app.queued_call(&owner, &cardio, "Patricia Souza").await;

    let ids = |reply: crate::helpers::Reply| -> Vec<String> {
        reply
            .data()
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap().to_string())
            .collect()
    };
    let all = app.get("/api/v1/calls", &owner).await.expect(200);
    assert_eq!(all.body["meta"]["total_count"], 3);
    let keys: Vec<(String, String)> = all
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["inserted_at"].as_str().unwrap().into(),
                c["id"].as_str().unwrap().into(),
            )
        })
        .collect();
    let mut newest_first = keys.clone();
    newest_first.sort_by(|a, b| b.cmp(a));
    assert_eq!(keys, newest_first);

    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::America::Sao_Paulo)
        .date_naive();
    let tomorrow = today.succ_opt().unwrap();
    let cases: Vec<(String, Vec<&String>)> = vec![
        ("status=completed".into(), vec![&completed]),
        ("status=queued".into(), vec![&queued, &other]),
        (format!("department_id={cardio}"), vec![&other]),
        (format!("user_id={}", agent.user_id), vec![&completed]),
        (format!("provider_id={provider}"), vec![&completed]),
        ("search=ROBERTO".into(), vec![&queued]),
        ("search=patricia.souza@".into(), vec![&other]),
        (
            format!("date_from={today}&date_to={today}"),
            vec![&completed, &queued, &other],
        ),
        (format!("date_from={tomorrow}"), vec![]),
        (format!("date_to={}", today.pred_opt().unwrap()), vec![]),
    ];
    for (query, expected) in cases {
        let mut found = ids(app.get(&format!("/api/v1/calls?{query}"), &owner).await.expect(200));
        found.sort();
        let mut expected: Vec<String> = expected.into_iter().cloned().collect();
        expected.sort();
        assert_eq!(found, expected, "{query}");
    }
    let protocol = app
        .get(&format!("/api/v1/calls/{other}"), &owner)
        .await
        .expect(200)
        .data()["protocol"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        ids(app
            .get(&format!("/api/v1/calls?search={protocol}"), &owner)
            .await
            .expect(200)),
        std::slice::from_ref(&other)
    );
    let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let reply = app
        .get(
            &format!("/api/v1/calls?date_to={now}&sort_by=protocol&sort_order=asc"),
            &owner,
        )
        .await
        .expect(200);
    assert_eq!(reply.body["meta"]["total_count"], 3);

    app.get("/api/v1/calls?status=assigned", &owner).await.expect(422);
    app.get("/api/v1/calls?sort_by=secret", &owner).await.expect(422);
    app.get("/api/v1/calls?date_from=last-week", &owner).await.expect(400);
    app.get("/api/v1/calls?user_id=42", &owner).await.expect(400);
}

#[tokio::test]
async fn attendants_see_their_departments_calls_and_their_own_only() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let (general, agent) = department_with_attendant(&app, &owner, "Clínica Geral").await;
    let cardio = app.department(&owner, "Cardiologia").await;
    let mine = app.queued_call(&owner, &general, "Ana Costa").await;
    let elsewhere = app.queued_call(&owner, &cardio, "Roberto Lima").await;
    let list = app.get("/api/v1/calls", &agent).await.expect(200);
    assert_eq!(list.body["meta"]["total_count"], 1);
    assert_eq!(list.data()[0]["id"], mine);
    for path in [
        format!("/api/v1/calls/{elsewhere}"),
        format!("/api/v1/calls/{elsewhere}/tags"),
        format!("/api/v1/calls/{elsewhere}/transcript"),
    ] {
        // Outside what they may touch: 403 (SPEC §2.3); another tenant's id stays 404.
        app.get(&path, &agent).await.expect(403);
    }
    for action in ["assign", "start", "complete", "cancel"] {
        call_action(&app, &agent, &elsewhere, action).await.expect(403);
    }
    let supervisor = app.user(&owner, "supervisor").await;
    let list = app.get("/api/v1/calls", &supervisor).await.expect(200);
    assert_eq!(list.body["meta"]["total_count"], 2);
}

#[tokio::test]
async fn files_are_uploaded_within_the_size_limit_and_downloaded_as_sent() {
    let app = TestApp::spawn_with(|config| config.max_upload_mb = 1).await;
    let owner = app.owner("acme").await;
    let (department, agent) = department_with_attendant(&app, &owner, "Clínica Geral").await;
    let call = app.queued_call(&owner, &department, "Ana Costa").await;
    let path = format!("/api/v1/calls/{call}/upload");

    // Exactly max_upload_mb: the body (with its multipart framing) is over the 1 MiB JSON
    // limit, so this also shows the upload route has its own limit.
    let bytes: Vec<u8> = (0..1024 * 1024).map(|i| (i % 251) as u8).collect();
    let (content_type, body) = multipart_file("file", "exame relatório.pdf", "application/pdf", &bytes);
    let uploaded = app
        .raw(Method::POST, &path, &agent, &content_type, body)
        .await
        .expect(201);
    let file = uploaded.data().clone();
    assert_eq!(file["filename"], "exame relatório.pdf");
    assert_eq!(file["content_type"], "application/pdf");
    assert_eq!(file["size"], 1024 * 1024);
    assert_eq!(file["call_id"], call);
    assert_eq!(file["uploaded_by"], agent.user_id);
    let url = file["url"].as_str().unwrap();
    assert_eq!(
        url,
        format!("/api/v1/calls/{call}/files/{}", file["id"].as_str().unwrap())
    );
    let stored = app
        .dir
        .path()
        .join("files/acme")
        .join(&call)
        .join(file["id"].as_str().unwrap());
    assert_eq!(std::fs::read(&stored).unwrap(), bytes);

    let response = app
        .client
        .get(format!("{}{url}", app.base))
        .bearer_auth(&agent.token)
        .header("X-Tenant", "acme")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/pdf");
    assert!(
        response.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment; filename=\"exame relat_rio.pdf\"")
    );
    assert_eq!(response.bytes().await.unwrap().as_ref(), bytes.as_slice());
    let detail = app.get(&format!("/api/v1/calls/{call}"), &agent).await.expect(200);
    assert_eq!(detail.data()["files"], json!([file]));

    // One byte over the limit: 413, and nothing recorded or left on disk.
    let too_big = vec![7u8; 1024 * 1024 + 1];
    let (content_type, body) = multipart_file("file", "big.bin", "application/octet-stream", &too_big);
    app.raw(Method::POST, &path, &agent, &content_type, body)
        .await
        .expect(413);
    let detail = app.get(&format!("/api/v1/calls/{call}"), &agent).await.expect(200);
    assert_eq!(detail.data()["files"].as_array().unwrap().len(), 1);
    assert_eq!(std::fs::read_dir(stored.parent().unwrap()).unwrap().count(), 1);

    let (content_type, body) = multipart_file("document", "a.txt", "text/plain", b"hello");
    let reply = app
        .raw(Method::POST, &path, &agent, &content_type, body)
        .await
        .expect(422);
    assert_eq!(reply.field_errors("file"), ["can't be blank"]);
    app.raw(Method::POST, &path, &agent, "application/json", b"{}".to_vec())
        .await
        .expect(400);
    app.get(&format!("/api/v1/calls/{call}/files/{}", uuid::Uuid::new_v4()), &agent)
        .await
        .expect(404);
    let (content_type, body) = multipart_file("file", "a.txt", "text/plain", b"hello");
    app.raw(
        Method::POST,
        &format!("/api/v1/calls/{}/upload", uuid::Uuid::new_v4()),
        &agent,
        &content_type,
        body,
    )
    .await
    .expect(404);
}

#[tokio::test]
async fn manager_notes_are_appended_by_supervisors() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let supervisor = app.user(&owner, "supervisor").await;
    let (department, agent) = department_with_attendant(&app, &owner, "Clínica Geral").await;
    let call = app.queued_call(&owner, &department, "Ana Costa").await;
    let path = format!("/api/v1/calls/{call}/manager-notes");
    app.post(&path, &agent, json!({"note": "não"})).await.expect(403);
    let reply = app.post(&path, &supervisor, json!({})).await.expect(422);
    assert_eq!(reply.field_errors("note"), ["can't be blank"]);
    let first = app
        .post(&path, &supervisor, json!({"note": "Paciente pediu retorno"}))
        .await
        .expect(201);
    assert_eq!(first.data()["author_id"], supervisor.user_id);
    assert_eq!(first.data()["author_name"], "A supervisor");
    app.post(&path, &owner, json!({"manager_note": {"note": "Verificado"}}))
        .await
        .expect(201);
    let detail = app.get(&format!("/api/v1/calls/{call}"), &agent).await.expect(200);
    let notes = detail.data()["manager_notes"].as_array().unwrap();
    assert_eq!(notes.len(), 2);
    assert_eq!(notes[0], *first.data());
    assert_eq!(notes[1]["note"], "Verificado");
    app.post(
        &format!("/api/v1/calls/{}/manager-notes", uuid::Uuid::new_v4()),
        &owner,
        json!({"note": "x"}),
    )
    .await
    .expect(404);
}

#[tokio::test]
async fn tags_on_calls_are_added_idempotently_and_removed() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let (department, agent) = department_with_attendant(&app, &owner, "Clínica Geral").await;
    let call = app.queued_call(&owner, &department, "Ana Costa").await;
    let tag = app
        .post(
            "/api/v1/tags",
            &agent,
            json!({"tag": {"name": "Retorno", "color": "#3b82f6"}}),
        )
        .await
        .expect(201)
        .id();
    let path = format!("/api/v1/calls/{call}/tags");
    for _ in 0..2 {
        let reply = app.post(&path, &agent, json!({"tag_id": tag})).await.expect(200);
        assert_eq!(reply.data()["id"], tag);
        assert_eq!(reply.data()["usage_count"], 1);
    }
    let list = app.get(&path, &agent).await.expect(200);
    assert_eq!(list.data().as_array().unwrap().len(), 1);
    let detail = app.get(&format!("/api/v1/calls/{call}"), &agent).await.expect(200);
    assert_eq!(
        detail.data()["tags"],
        json!([{"id": tag, "name": "Retorno", "color": "#3b82f6"}])
    );
    for (body, message) in [
        (json!({}), "can't be blank"),
        (json!({"tag_id": uuid::Uuid::new_v4()}), "does not exist"),
    ] {
        let reply = app.post(&path, &agent, body).await.expect(422);
        assert_eq!(reply.field_errors("tag_id"), [message]);
    }
    for _ in 0..2 {
        app.delete(&format!("{path}/{tag}"), &agent).await.expect(204);
    }
    assert_eq!(app.get(&path, &agent).await.expect(200).data(), &json!([]));
    app.delete(&format!("{path}/{}", uuid::Uuid::new_v4()), &agent)
        .await
        .expect(404);
}

#[tokio::test]
async fn transcript_summary_and_recording_answer_404_with_their_messages() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let (department, agent) = department_with_attendant(&app, &owner, "Clínica Geral").await;
    let call = app.completed_call(&owner, &agent, &department, "Ana Costa").await;
    for (part, message) in [
        ("transcript", "Transcript not available"),
        ("summary", "Summary not available"),
        ("recording", "Recording not found"),
    ] {
        let reply = app
            .get(&format!("/api/v1/calls/{call}/{part}"), &agent)
            .await
            .expect(404);
        assert_eq!(reply.body, json!({"errors": {"detail": message}}));
        let reply = app
            .get(&format!("/api/v1/calls/{}/{part}", uuid::Uuid::new_v4()), &agent)
            .await
            .expect(404);
        assert_eq!(reply.body["errors"]["detail"], "Call not found");
    }
}

#[tokio::test]
async fn calls_need_a_token_and_stay_in_their_tenant() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let (department, agent) = department_with_attendant(&app, &owner, "Clínica Geral").await;
    let call = app.queued_call(&owner, &department, "Ana Costa").await;
    app.create_tenant("other").await;
    let stranger = app.owner("other").await;
    let reads = [
        format!("/api/v1/calls/{call}"),
        format!("/api/v1/calls/{call}/tags"),
        format!("/api/v1/calls/{call}/transcript"),
        format!("/api/v1/calls/{call}/summary"),
        format!("/api/v1/calls/{call}/recording"),
    ];
    for path in &reads {
        app.request(Method::GET, path, None, None).await.expect(401);
        app.get(path, &stranger).await.expect(404);
    }
    app.request(Method::GET, "/api/v1/calls", None, None).await.expect(401);
    let stranger_list = app.get("/api/v1/calls", &stranger).await.expect(200);
    assert_eq!(stranger_list.body["meta"]["total_count"], 0);
    for action in ["assign", "start", "complete", "cancel", "manager-notes", "tags"] {
        let path = format!("/api/v1/calls/{call}/{action}");
        app.request(Method::POST, &path, None, Some(json!({})))
            .await
            .expect(401);
        app.post(&path, &stranger, json!({"note": "x", "tag_id": uuid::Uuid::new_v4()}))
            .await
            .expect(404);
    }
    let (content_type, body) = multipart_file("file", "a.txt", "text/plain", b"hello");
    let file = app
        .raw(
            Method::POST,
            &format!("/api/v1/calls/{call}/upload"),
            &agent,
            &content_type,
            body.clone(),
        )
        .await
        .expect(201)
        .id();
    app.get(&format!("/api/v1/calls/{call}/files/{file}"), &stranger)
        .await
        .expect(404);
    app.raw(
        Method::POST,
        &format!("/api/v1/calls/{call}/upload"),
        &stranger,
        &content_type,
        body,
    )
    .await
    .expect(404);
    app.request(Method::GET, &format!("/api/v1/calls/{call}/files/{file}"), None, None)
        .await
        .expect(401);
    // The attendant (the minimum role) works on it; nothing happened to it meanwhile.
    let detail = app.get(&format!("/api/v1/calls/{call}"), &agent).await.expect(200);
    assert_eq!(detail.data()["status"], "queued");
    assert_eq!(detail.data()["manager_notes"], json!([]));
    app.get("/api/v1/calls/not-a-uuid", &agent).await.expect(404);
}

#[tokio::test]
async fn a_department_with_calls_or_links_cannot_be_deleted() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let with_call = app.department(&owner, "Com chamadas").await;
    let with_link = app.department(&owner, "Com links").await;
    app.queued_call(&owner, &with_call, "Ana Costa").await;
    app.link(&owner, &with_link, json!({})).await;
    for department in [with_call, with_link] {
        let reply = app
            .delete(&format!("/api/v1/departments/{department}"), &owner)
            .await
            .expect(422);
        assert_eq!(
            reply.body["errors"]["detail"],
            "Department has history; deactivate it instead"
        );
    }
}

#[tokio::test]
async fn merging_customers_moves_their_calls() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let department = app.department(&owner, "Clínica Geral").await;
    let first = app.queued_call(&owner, &department, "Ana Costa").await;
    let link = app.link(&owner, &department, json!({})).await;
    let second = app
        .public_post(
            &format!("/api/v1/call/{}/join", link["token"].as_str().unwrap()),
            json!({"name": "Ana C", "email": "ana.c@other.test"}),
        )
        .await
        .expect(200)
        .data()["call_id"]
        .as_str()
        .unwrap()
        .to_string();
    let customer = |call: String| {
        let (app, owner) = (&app, &owner);
        async move {
            app.get(&format!("/api/v1/calls/{call}"), owner)
                .await
                .expect(200)
                .data()["customer_id"]
                .as_str()
                .unwrap()
                .to_string()
        }
    };
    let (primary, secondary) = (customer(first.clone()).await, customer(second.clone()).await);
    let merged = app
        .post(
            "/api/v1/customers/merge",
            &owner,
            json!({"primary_id": primary, "secondary_ids": [secondary]}),
        )
        .await
        .expect(200);
    assert_eq!(merged.data()["call_count"], 2);
    assert_eq!(customer(second).await, primary);
}

#[tokio::test]
async fn openapi_describes_every_link_widget_call_tag_and_evaluation_endpoint() {
    let document = serde_json::to_value(voki::app::openapi()).unwrap();
    let paths = &document["paths"];
    for (path, methods) in [
        ("/api/v1/access-links", &["get", "post"][..]),
        ("/api/v1/access-links/batch", &["post"]),
        ("/api/v1/access-links/{id}", &["get"]),
        ("/api/v1/access-links/{id}/cancel", &["post"]),
        ("/api/v1/call/{token}/validate", &["get"]),
        ("/api/v1/call/{token}/join", &["post"]),
        ("/api/v1/call/status/{call_id}", &["get"]),
        ("/api/v1/call/leave/{call_id}", &["post"]),
        ("/api/v1/call/evaluate/{call_id}", &["post"]),
        ("/api/v1/call/turn-credentials", &["get"]),
        ("/api/v1/calls", &["get"]),
        ("/api/v1/calls/{id}", &["get"]),
        ("/api/v1/calls/{id}/assign", &["post"]),
        ("/api/v1/calls/{id}/start", &["post"]),
        ("/api/v1/calls/{id}/complete", &["post"]),
        ("/api/v1/calls/{id}/cancel", &["post"]),
        ("/api/v1/calls/{id}/upload", &["post"]),
        ("/api/v1/calls/{id}/files/{file_id}", &["get"]),
        ("/api/v1/calls/{id}/manager-notes", &["post"]),
        ("/api/v1/calls/{id}/tags", &["get", "post"]),
        ("/api/v1/calls/{id}/tags/{tag_id}", &["delete"]),
        ("/api/v1/calls/{id}/transcript", &["get"]),
        ("/api/v1/calls/{id}/summary", &["get"]),
        ("/api/v1/calls/{id}/recording", &["get"]),
        ("/api/v1/tags", &["get", "post"]),
        ("/api/v1/tags/tree", &["get"]),
        ("/api/v1/tags/{id}", &["get", "put", "delete"]),
        ("/api/v1/evaluations", &["get", "post"]),
        ("/api/v1/evaluations/stats", &["get"]),
        ("/api/v1/evaluations/{id}", &["get"]),
    ] {
        for method in methods {
            assert!(paths[path][method].is_object(), "{method} {path} missing");
        }
    }
}
