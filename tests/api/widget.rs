//! SPEC §4.7, the customer's side: validate a link, join the queue, status, leave,
//! evaluate, ICE servers, and the whole patient journey over HTTP.

use serde_json::{Value, json};
use voki::auth::token::TokenKind;
use voki::db::PublicKind;

use crate::helpers::{Session, TestApp, from_now};

const INVALID_LINK: &str = r#"{"errors":{"detail":"Invalid or expired access link"}}"#;

fn invalid_link() -> Value {
    serde_json::from_str(INVALID_LINK).unwrap()
}

/// A provider with an attendant associated to it and member of a new department:
/// (department id, attendant, provider id).
async fn clinic_with_provider_agent(app: &TestApp, owner: &Session) -> (String, Session, String) {
    let provider = app
        .post(
            "/api/v1/providers",
            owner,
            json!({"service_provider": {"name": "Clínica Parceira Ltda", "document": "11.222.333/0001-44"}}),
        )
        .await
        .expect(201)
        .id();
    let doctor = app.user(owner, "attendant").await;
    app.post(
        &format!("/api/v1/providers/{provider}/users"),
        owner,
        json!({"user_id": doctor.user_id}),
    )
    .await
    .expect(200);
    let department = app.department(owner, "Telemedicina").await;
    app.add_member(owner, &department, &doctor.user_id).await;
    (department, doctor, provider)
}

#[tokio::test]
async fn patient_journey_from_link_to_evaluation_shows_the_agents_provider() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let (department, doctor, provider) = clinic_with_provider_agent(&app, &owner).await;
    app.put(
        "/api/v1/company",
        &owner,
        json!({"company": {"welcome_message": "Bem-vindo! Um médico atenderá em breve."}}),
    )
    .await
    .expect(200);

    // The clinic sends a link …
    let link = app
        .link(
            &owner,
            &department,
            json!({"customer_name": "Ana Costa", "customer_email": "ana@email.com"}),
        )
        .await;
    let token = link["token"].as_str().unwrap();

    // … the patient opens it …
    let info = app
        .public_get(&format!("/api/v1/call/{token}/validate"))
        .await
        .expect(200);
    assert_eq!(info.data()["valid"], true);
    assert_eq!(info.data()["department_name"], "Telemedicina");
    assert_eq!(info.data()["company_name"], "acme clinic");
    assert_eq!(
        info.data()["welcome_message"],
        "Bem-vindo! Um médico atenderá em breve."
    );
    assert_eq!(info.data()["queue_size"], 0);
    assert_eq!(info.data()["customer_name"], "Ana Costa");
    assert_eq!(info.data()["customer_email"], "ana@email.com");

    // … joins the queue with the pre-filled name …
    let joined = app
        .public_post(&format!("/api/v1/call/{token}/join"), json!({"reason": "Retorno"}))
        .await
        .expect(200);
    let data = joined.data();
    let call_id = data["call_id"].as_str().unwrap().to_string();
    assert_eq!(data["status"], "queued");
    assert_eq!(data["position"], 1);
    assert!(data["estimated_wait_time"].as_i64().unwrap() > 0);
    assert_eq!(data["websocket_url"], "ws://voki.test/socket/websocket");
    assert!(data["websocket_token"].as_str().unwrap().starts_with("eyJ"));

    // … and waits.
    let status = app
        .public_get(&format!("/api/v1/call/status/{call_id}"))
        .await
        .expect(200);
    assert_eq!(
        status.data(),
        &json!({"call_id": call_id, "status": "queued", "position": 1,
                "estimated_wait_time": data["estimated_wait_time"], "user_name": null})
    );

    // The doctor takes the call, starts and completes it.
    let assigned = app
        .post(&format!("/api/v1/calls/{call_id}/assign"), &doctor, json!({}))
        .await
        .expect(200);
    assert_eq!(assigned.data()["status"], "queued");
    assert_eq!(assigned.data()["user_id"], doctor.user_id);
    let status = app
        .public_get(&format!("/api/v1/call/status/{call_id}"))
        .await
        .expect(200);
    assert_eq!(status.data()["user_name"], "A attendant");
    app.post(&format!("/api/v1/calls/{call_id}/start"), &doctor, json!({}))
        .await
        .expect(200);
    let status = app
        .public_get(&format!("/api/v1/call/status/{call_id}"))
        .await
        .expect(200);
    assert_eq!(status.data()["status"], "active");
    assert_eq!(status.data()["position"], Value::Null);
    app.post(&format!("/api/v1/calls/{call_id}/complete"), &doctor, json!({}))
        .await
        .expect(200);

    // The patient rates it.
    let evaluation = app
        .public_post(
            &format!("/api/v1/call/evaluate/{call_id}"),
            json!({"rating": 5, "comment": "Excelente atendimento!"}),
        )
        .await
        .expect(201);
    assert_eq!(evaluation.data()["rating"], 5);
    assert_eq!(evaluation.data()["customer_name"], "Ana Costa");

    // The call carries the doctor's provider, the rating and the reason.
    let call = app.get(&format!("/api/v1/calls/{call_id}"), &owner).await.expect(200);
    let call = call.data();
    assert_eq!(call["status"], "completed");
    assert_eq!(call["provider_id"], provider);
    assert_eq!(call["provider_name"], "Clínica Parceira Ltda");
    assert_eq!(call["user_id"], doctor.user_id);
    assert_eq!(call["rating"], 5);
    assert_eq!(call["reason"], "Retorno");
    assert_eq!(call["customer_name"], "Ana Costa");
    assert_eq!(call["access_link_id"], link["id"]);
    assert!(call["duration"].as_i64().is_some() && call["wait_time"].as_i64().is_some());
    let by_provider = app
        .get(&format!("/api/v1/calls?provider_id={provider}"), &owner)
        .await
        .expect(200);
    assert_eq!(by_provider.body["meta"]["total_count"], 1);

    // The single-use link is used up.
    let link = app
        .get(
            &format!("/api/v1/access-links/{}", link["id"].as_str().unwrap()),
            &owner,
        )
        .await
        .expect(200);
    assert_eq!(link.data()["status"], "used");
    assert_eq!(link.data()["use_count"], 1);
    assert!(link.data()["used_at"].is_string());
    let again = app
        .public_post(&format!("/api/v1/call/{token}/join"), json!({"name": "Ana Costa"}))
        .await
        .expect(404);
    assert_eq!(again.body, invalid_link());
    app.public_get(&format!("/api/v1/call/{token}/validate"))
        .await
        .expect(404);
}

#[tokio::test]
async fn a_reusable_link_admits_several_patients_and_counts_them() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let department = app.department(&owner, "Pronto Atendimento").await;
    let link = app.link(&owner, &department, json!({"reusable": true})).await;
    let token = link["token"].as_str().unwrap();
    let mut positions = Vec::new();
    for name in ["Ana Costa", "Roberto Lima", "Patricia Souza"] {
        positions.push(app.join(token, name).await["position"].as_i64().unwrap());
    }
    assert_eq!(positions, [1, 2, 3]);
    let link = app
        .get(
            &format!("/api/v1/access-links/{}", link["id"].as_str().unwrap()),
            &owner,
        )
        .await
        .expect(200);
    assert_eq!(link.data()["status"], "active");
    assert_eq!(link.data()["use_count"], 3);
    assert!(link.data()["used_at"].is_string());
    let info = app
        .public_get(&format!("/api/v1/call/{token}/validate"))
        .await
        .expect(200);
    assert_eq!(info.data()["queue_size"], 3);
}

#[tokio::test]
async fn every_unusable_link_gets_the_same_404() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let department = app.department(&owner, "Clínica Geral").await;
    let closed = app.department(&owner, "Fechado").await;

    let used = app.link(&owner, &department, json!({})).await;
    app.join(used["token"].as_str().unwrap(), "Ana Costa").await;
    let cancelled = app.link(&owner, &department, json!({})).await;
    app.cancel_link(&owner, &cancelled).await;
    let expiring = app.link(&owner, &department, json!({"expires_at": from_now(1)})).await;
    let inactive = app.link(&owner, &closed, json!({})).await;
    app.put(
        &format!("/api/v1/departments/{closed}"),
        &owner,
        json!({"active": false}),
    )
    .await
    .expect(200);
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;

    let tokens = [
        used["token"].as_str().unwrap().to_string(),
        cancelled["token"].as_str().unwrap().to_string(),
        expiring["token"].as_str().unwrap().to_string(),
        inactive["token"].as_str().unwrap().to_string(),
        "unknown-token-unknown-token".to_string(),
        "x".repeat(300),
    ];
    for token in &tokens {
        let validate = app
            .public_get(&format!("/api/v1/call/{token}/validate"))
            .await
            .expect(404);
        assert_eq!(validate.text, INVALID_LINK, "{token}");
        let join = app
            .public_post(&format!("/api/v1/call/{token}/join"), json!({"name": "Ana"}))
            .await
            .expect(404);
        assert_eq!(join.text, INVALID_LINK, "{token}");
    }
}

#[tokio::test]
async fn join_matches_an_existing_customer_and_counts_the_call() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let department = app.department(&owner, "Clínica Geral").await;
    let customer = app
        .post(
            "/api/v1/customers",
            &owner,
            json!({"customer": {"name": "Ana Costa", "email": "ana@email.com"}}),
        )
        .await
        .expect(201)
        .id();
    let link = app.link(&owner, &department, json!({})).await;
    let joined = app
        .public_post(
            &format!("/api/v1/call/{}/join", link["token"].as_str().unwrap()),
            json!({"name": "Ana C.", "email": "ANA@email.com", "phone": "+55 11 99999-8888"}),
        )
        .await
        .expect(200);
    let call = app
        .get(
            &format!("/api/v1/calls/{}", joined.data()["call_id"].as_str().unwrap()),
            &owner,
        )
        .await
        .expect(200);
    assert_eq!(call.data()["customer_id"], customer);
    // An anonymous caller is matched for history only: the agent sees the name typed,
    // unverified, and the stored record is not filled with the caller's data.
    assert_eq!(call.data()["customer_name"], "Ana C.");
    assert_eq!(call.data()["customer_verified"], false);
    let customer = app
        .get(&format!("/api/v1/customers/{customer}"), &owner)
        .await
        .expect(200);
    assert_eq!(customer.data()["name"], "Ana Costa", "a match never overwrites");
    assert_eq!(
        customer.data()["phone"],
        Value::Null,
        "nor fills from an anonymous caller"
    );
    assert_eq!(customer.data()["call_count"], 1);
    assert!(customer.data()["last_call_at"].is_string());
    let reply = app
        .delete(&format!("/api/v1/customers/{}", customer.id()), &owner)
        .await
        .expect(422);
    assert_eq!(reply.body["errors"]["detail"], "Customer has history; merge it instead");
}

#[tokio::test]
async fn join_needs_a_name_and_valid_contact_fields() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let department = app.department(&owner, "Clínica Geral").await;
    let link = app.link(&owner, &department, json!({})).await;
    let path = format!("/api/v1/call/{}/join", link["token"].as_str().unwrap());
    let reply = app
        .public_post(&path, json!({"email": "nope", "phone": "abc"}))
        .await
        .expect(422);
    assert_eq!(reply.field_errors("name"), ["can't be blank"]);
    assert_eq!(reply.field_errors("email"), ["has invalid format"]);
    assert_eq!(reply.field_errors("phone"), ["has invalid format"]);
    // Nothing was consumed by the refused join.
    app.join(link["token"].as_str().unwrap(), "Ana Costa").await;
}

#[tokio::test]
async fn queue_positions_follow_join_order_and_move_up() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let department = app.department(&owner, "Clínica Geral").await;
    let first = app.queued_call(&owner, &department, "Ana Costa").await;
    let second = app.queued_call(&owner, &department, "Roberto Lima").await;
    let third = app.queued_call(&owner, &department, "Patricia Souza").await;
    let position = |call: String| {
        let app = &app;
        async move {
            app.public_get(&format!("/api/v1/call/status/{call}"))
                .await
                .expect(200)
                .data()["position"]
                .clone()
        }
    };
    assert_eq!(position(third.clone()).await, 3);
    app.public_post(&format!("/api/v1/call/leave/{first}"), json!({}))
        .await
        .expect(200);
    assert_eq!(position(second.clone()).await, 1);
    assert_eq!(position(third.clone()).await, 2);
    assert_eq!(position(first).await, Value::Null);
}

#[tokio::test]
async fn join_is_refused_with_409_when_the_queue_is_full() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let department = app
        .post(
            "/api/v1/departments",
            &owner,
            json!({"department": {"name": "Pequena", "max_queue_size": 2}}),
        )
        .await
        .expect(201)
        .id();
    let link = app.link(&owner, &department, json!({"reusable": true})).await;
    let token = link["token"].as_str().unwrap();
    let first = app.join(token, "Ana Costa").await;
    app.join(token, "Roberto Lima").await;
    let full = app
        .public_post(&format!("/api/v1/call/{token}/join"), json!({"name": "Patricia Souza"}))
        .await
        .expect(409);
    assert_eq!(full.body, json!({"errors": {"detail": "Queue is full"}}));
    let link = app
        .get(
            &format!("/api/v1/access-links/{}", link["id"].as_str().unwrap()),
            &owner,
        )
        .await
        .expect(200);
    assert_eq!(link.data()["use_count"], 2, "the refused join used nothing");
    app.public_post(
        &format!("/api/v1/call/leave/{}", first["call_id"].as_str().unwrap()),
        json!({}),
    )
    .await
    .expect(200);
    app.join(token, "Patricia Souza").await;
}

#[tokio::test]
async fn leave_marks_a_queued_call_missed_and_repeating_it_is_a_no_op() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let department = app.department(&owner, "Clínica Geral").await;
    app.add_member(&owner, &department, &owner.user_id).await;
    let call = app.queued_call(&owner, &department, "Ana Costa").await;
    for _ in 0..2 {
        let reply = app
            .public_post(&format!("/api/v1/call/leave/{call}"), json!({}))
            .await
            .expect(200);
        assert_eq!(reply.data()["status"], "missed");
    }
    let detail = app.get(&format!("/api/v1/calls/{call}"), &owner).await.expect(200);
    assert!(detail.data()["wait_time"].as_i64().is_some(), "waited until missed");

    let active = app.queued_call(&owner, &department, "Roberto Lima").await;
    for action in ["assign", "start"] {
        app.post(&format!("/api/v1/calls/{active}/{action}"), &owner, json!({}))
            .await
            .expect(200);
    }
    let reply = app
        .public_post(&format!("/api/v1/call/leave/{active}"), json!({}))
        .await
        .expect(422);
    assert_eq!(reply.field_errors("status"), ["cannot leave an active call"]);
    app.public_post(&format!("/api/v1/call/leave/{}", uuid::Uuid::new_v4()), json!({}))
        .await
        .expect(404);
    app.public_get("/api/v1/call/status/not-a-uuid").await.expect(404);
}

#[tokio::test]
async fn evaluate_only_a_completed_call_and_only_once() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let department = app.department(&owner, "Clínica Geral").await;
    app.add_member(&owner, &department, &owner.user_id).await;
    let queued = app.queued_call(&owner, &department, "Roberto Lima").await;
    let reply = app
        .public_post(&format!("/api/v1/call/evaluate/{queued}"), json!({"rating": 4}))
        .await
        .expect(422);
    assert_eq!(reply.body["errors"]["detail"], "Only a completed call can be evaluated");

    let call = app.completed_call(&owner, &owner, &department, "Ana Costa").await;
    let path = format!("/api/v1/call/evaluate/{call}");
    for (body, field, message) in [
        (json!({}), "rating", "can't be blank"),
        (json!({"rating": 0}), "rating", "must be greater than or equal to 1"),
        (json!({"rating": 6}), "rating", "must be less than or equal to 5"),
        (json!({"rating": "five"}), "rating", "is invalid"),
    ] {
        let reply = app.public_post(&path, body).await.expect(422);
        assert_eq!(reply.field_errors(field), [message]);
    }
    app.public_post(&path, json!({"evaluation": {"rating": 4}}))
        .await
        .expect(201);
    let again = app.public_post(&path, json!({"rating": 1})).await.expect(409);
    assert_eq!(again.body, json!({"errors": {"detail": "Call already evaluated"}}));
}

#[tokio::test]
async fn queue_timeout_marks_the_call_missed_through_the_sweeper() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let department = app
        .post(
            "/api/v1/departments",
            &owner,
            json!({"department": {"name": "Rápida", "max_wait_time": 1}}),
        )
        .await
        .expect(201)
        .id();
    let patient = app.department(&owner, "Sem limite").await;
    let timed_out = app.queued_call(&owner, &department, "Ana Costa").await;
    let unlimited = app.queued_call(&owner, &patient, "Roberto Lima").await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    app.sweep().await;
    app.sweep().await;
    let status = |call: String| {
        let app = &app;
        async move {
            app.public_get(&format!("/api/v1/call/status/{call}"))
                .await
                .expect(200)
                .data()["status"]
                .clone()
        }
    };
    assert_eq!(status(timed_out.clone()).await, "missed");
    assert_eq!(status(unlimited).await, "queued", "max_wait_time 0 means no limit");
    let call = app.get(&format!("/api/v1/calls/{timed_out}"), &owner).await.expect(200);
    assert!(call.data()["wait_time"].as_i64().unwrap() >= 1);
}

#[tokio::test]
async fn the_websocket_token_is_for_that_call_only_and_valid_four_hours() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let department = app.department(&owner, "Clínica Geral").await;
    let link = app.link(&owner, &department, json!({})).await;
    let joined = app.join(link["token"].as_str().unwrap(), "Ana Costa").await;
    let token = joined["websocket_token"].as_str().unwrap();
    let claims = app.state().keys.verify(token, TokenKind::Websocket).unwrap();
    assert_eq!(claims.sub, joined["call_id"].as_str().unwrap());
    assert_eq!(claims.tenant, "acme");
    assert_eq!(claims.role, None);
    assert_eq!(claims.exp - claims.iat, 4 * 3600);
    assert!(app.state().keys.verify(token, TokenKind::Access).is_err());
    // It is not an access token: the staff API refuses it.
    let session = Session {
        tenant: "acme".into(),
        token: token.into(),
        refresh_token: String::new(),
        user_id: String::new(),
        email: String::new(),
    };
    app.get("/api/v1/calls", &session).await.expect(401);
}

#[tokio::test]
async fn protocol_numbers_count_up_per_tenant_and_day() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let department = app.department(&owner, "Clínica Geral").await;
    let first = app.queued_call(&owner, &department, "Ana Costa").await;
    let second = app.queued_call(&owner, &department, "Roberto Lima").await;
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::America::Sao_Paulo)
        .format("%Y%m%d")
        .to_string();
    for (call, number) in [(first, 1), (second, 2)] {
        let call = app.get(&format!("/api/v1/calls/{call}"), &owner).await.expect(200);
        let protocol = call.data()["protocol"].as_str().unwrap().to_string();
        // Around midnight in São Paulo the day may have just turned.
        assert!(
            protocol == format!("{today}-{number:06}") || protocol.ends_with(&format!("-{number:06}")),
            "{protocol}"
        );
    }
}

#[tokio::test]
async fn a_token_is_looked_up_only_in_the_tenant_it_is_registered_to() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    app.create_tenant("other").await;
    let other_owner = app.owner("other").await;
    let department = app.department(&other_owner, "Dermatologia").await;
    let link = app.link(&other_owner, &department, json!({})).await;
    let token = link["token"].as_str().unwrap();

    let info = app
        .public_get(&format!("/api/v1/call/{token}/validate"))
        .await
        .expect(200);
    assert_eq!(info.data()["company_name"], "other clinic");
    let joined = app.join(token, "Ana Costa").await;
    let call_id = joined["call_id"].as_str().unwrap();
    let claims = app
        .state()
        .keys
        .verify(joined["websocket_token"].as_str().unwrap(), TokenKind::Websocket)
        .unwrap();
    assert_eq!(claims.tenant, "other");
    app.get(&format!("/api/v1/calls/{call_id}"), &other_owner)
        .await
        .expect(200);
    app.get(&format!("/api/v1/calls/{call_id}"), &owner).await.expect(404);
    let acme_calls = app.get("/api/v1/calls", &owner).await.expect(200);
    assert_eq!(acme_calls.body["meta"]["total_count"], 0);

    // An index entry naming a tenant that has no such row answers 404, even when another
    // tenant holds a link with that token.
    let stray = "stray-token-stray-token-stray-token";
    let other_db = app.state().tenants.get("other").await.unwrap().unwrap();
    let department_id = department.clone();
    other_db
        .write(move |conn| {
            conn.execute(
                "INSERT INTO access_links (id, token, department_id, expires_at, inserted_at, updated_at)
                 VALUES (?1, ?2, ?3, '2999-01-01T00:00:00Z', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')",
                rusqlite::params![uuid::Uuid::new_v4().to_string(), stray, department_id],
            )?;
            Ok(())
        })
        .await
        .unwrap();
    app.state()
        .tenants
        .register_public(PublicKind::AccessLink, vec![stray.into()], "acme")
        .await
        .unwrap();
    let reply = app
        .public_get(&format!("/api/v1/call/{stray}/validate"))
        .await
        .expect(404);
    assert_eq!(reply.body, invalid_link());
}

#[tokio::test]
async fn turn_credentials_follow_the_coturn_rest_scheme() {
    let app = TestApp::spawn_with(|config| {
        config.stun_urls = vec!["stun:stun.clinic.test:3478".into()];
        config.turn_urls = vec![
            "turn:turn.clinic.test:3478?transport=udp".into(),
            "turns:turn.clinic.test:5349".into(),
        ];
        config.turn_secret = "coturn-static-auth-secret".into();
        config.turn_ttl_secs = 600;
    })
    .await;
    let owner = app.owner("acme").await;
    let department = app.department(&owner, "Clínica Geral").await;
    let link = app.link(&owner, &department, json!({})).await;
    let joined = app.join(link["token"].as_str().unwrap(), "Ana Costa").await;
    let (call, token) = (
        joined["call_id"].as_str().unwrap().to_string(),
        joined["websocket_token"].as_str().unwrap().to_string(),
    );
    // Only with the token of a call that has not ended.
    app.public_get("/api/v1/call/turn-credentials").await.expect(401);
    let credentials = |query: String| {
        let (client, url, token) = (
            app.client.clone(),
            format!("{}/api/v1/call/turn-credentials{query}", app.base),
            token.clone(),
        );
        async move { client.get(url).bearer_auth(token).send().await.unwrap() }
    };
    let reply = credentials(String::new()).await;
    assert_eq!(reply.status(), 200);
    let reply: Value = reply.json().await.unwrap();
    let data = &reply["data"];
    assert_eq!(data["ttl"], 600);
    assert_eq!(data["ice_servers"][0], json!({"urls": ["stun:stun.clinic.test:3478"]}));
    let turn = &data["ice_servers"][1];
    assert_eq!(turn["urls"].as_array().unwrap().len(), 2);
    let username = turn["username"].as_str().unwrap();
    let (expiry, label) = username.split_once(':').unwrap();
    assert_eq!(label, call);
    let expiry: i64 = expiry.parse().unwrap();
    assert!((expiry - (chrono::Utc::now().timestamp() + 600)).abs() < 5);
    assert_eq!(
        turn["credential"].as_str().unwrap(),
        voki::widget::ice::turn_credential("coturn-static-auth-secret", username)
    );

    let reply = credentials(format!("?call_id={call}")).await;
    assert_eq!(reply.status(), 200);
    // Another call than the token's.
    let reply = credentials(format!("?call_id={}", uuid::Uuid::new_v4())).await;
    assert_eq!(reply.status(), 404);
}

#[tokio::test]
async fn without_stun_or_turn_configured_no_ice_server_is_offered() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let department = app.department(&owner, "Clínica Geral").await;
    let link = app.link(&owner, &department, json!({})).await;
    let joined = app.join(link["token"].as_str().unwrap(), "Ana Costa").await;
    let reply: Value = app
        .client
        .get(format!("{}/api/v1/call/turn-credentials", app.base))
        .bearer_auth(joined["websocket_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(reply["data"]["ice_servers"], json!([]));
    assert_eq!(reply["data"]["ttl"], 3600);
}

#[tokio::test]
async fn the_demo_tenant_comes_with_an_active_reusable_link() {
    let dir = tempfile::tempdir().unwrap();
    let state = voki::app::AppState::open(crate::helpers::test_config(dir.path().to_path_buf()))
        .await
        .unwrap();
    let login = voki::tenancy::bootstrap_demo(&state)
        .await
        .unwrap()
        .expect("demo created");
    let token = login
        .link_url
        .strip_prefix("http://voki.test/call/")
        .expect("a public link")
        .to_string();
    let (slug, db) = state
        .tenants
        .resolve_public(PublicKind::AccessLink, &token)
        .await
        .unwrap()
        .expect("registered");
    assert_eq!(slug, "demo");
    let link = db
        .read(move |conn| voki::access_links::store::usable(conn, "http://voki.test", &token))
        .await
        .unwrap();
    assert!(link.reusable);
    assert_eq!(link.department_name, "General Practice");
}

#[tokio::test]
async fn parallel_joins_with_a_single_use_link_admit_exactly_one_patient() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let department = app.department(&owner, "Clínica Geral").await;
    let link = app.link(&owner, &department, json!({})).await;
    let path = format!("/api/v1/call/{}/join", link["token"].as_str().unwrap());
    let replies =
        futures::future::join_all((0..8).map(|i| app.public_post(&path, json!({"name": format!("Paciente {i}")}))))
            .await;
    let statuses: Vec<u16> = replies.iter().map(|r| r.status.as_u16()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|s| [200, 404].contains(s)), "{statuses:?}");
    let calls = app.get("/api/v1/calls", &owner).await.expect(200);
    assert_eq!(calls.body["meta"]["total_count"], 1);
}

#[tokio::test]
async fn the_background_sweeper_ends_waits_and_links_within_its_interval() {
    let app = TestApp::spawn_with(|config| config.sweep_interval_secs = 1).await;
    let owner = app.owner("acme").await;
    let department = app
        .post(
            "/api/v1/departments",
            &owner,
            json!({"department": {"name": "Rápida", "max_wait_time": 1}}),
        )
        .await
        .expect(201)
        .id();
    let call = app.queued_call(&owner, &department, "Ana Costa").await;
    let link = app.link(&owner, &department, json!({"expires_at": from_now(1)})).await;
    let link_id = link["id"].as_str().unwrap().to_string();
    let db = app.state().tenants.get("acme").await.unwrap().unwrap();
    let stored = || {
        let (db, call, link_id) = (db.clone(), call.clone(), link_id.clone());
        async move {
            db.read(move |conn| {
                let call: String = conn.query_row("SELECT status FROM calls WHERE id = ?1", [&call], |r| r.get(0))?;
                let link: String =
                    conn.query_row("SELECT status FROM access_links WHERE id = ?1", [&link_id], |r| {
                        r.get(0)
                    })?;
                Ok((call, link))
            })
            .await
            .unwrap()
        }
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while stored().await != ("missed".to_string(), "expired".to_string()) {
        assert!(
            std::time::Instant::now() < deadline,
            "sweeper did not act: {:?}",
            stored().await
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn the_public_widget_is_limited_per_ip() {
    let app = TestApp::spawn_with(|c| c.rate_limit_widget_per_minute = 3).await;
    for _ in 0..3 {
        app.public_get("/api/v1/call/no-such-token/validate").await.expect(404);
    }
    let limited = app.public_get("/api/v1/call/no-such-token/validate").await.expect(429);
    assert!(limited.headers.contains_key("retry-after"));
    // Staff endpoints are not counted against it.
    let owner = app.owner("acme").await;
    app.get("/api/v1/calls", &owner).await.expect(200);
}
