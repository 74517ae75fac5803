//! Appointments (seed `Rendez-vous`, SPEC §4.5): the seed's examples replayed, validation,
//! no double booking, transitions, visibility, time zones, and the role/tenant matrix.

use futures::future::join_all;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Reply, Session, TestApp, minutes_from_now};

/// A tenant with a department and an attendant who is a member of it.
struct Clinic {
    app: TestApp,
    owner: Session,
    department: String,
    agent: Session,
}

async fn clinic() -> Clinic {
    clinic_on(TestApp::spawn().await).await
}

async fn clinic_on(app: TestApp) -> Clinic {
    let owner = app.owner("acme").await;
    let department = app.department(&owner, "Cardiologia").await;
    let agent = app.user(&owner, "attendant").await;
    app.add_member(&owner, &department, &agent.user_id).await;
    Clinic {
        app,
        owner,
        department,
        agent,
    }
}

/// A minimal valid booking of `department` at `start`.
fn booking(department: &str, start: &str) -> Value {
    json!({"appointment": {
        "title": "Consulta de acompanhamento",
        "scheduled_at": start,
        "department_id": department,
        "customer_name": "Carlos Ferreira",
    }})
}

impl Clinic {
    async fn book(&self, session: &Session, body: Value) -> Reply {
        self.app.post("/api/v1/appointments", session, body).await
    }

    /// Books `minutes` from now for the agent and returns the id.
    async fn booked(&self, minutes: i64) -> String {
        self.book(&self.agent, booking(&self.department, &minutes_from_now(minutes)))
            .await
            .expect(201)
            .id()
    }

    /// An open appointment of the agent that started `minutes_ago` minutes ago.
    async fn started(&self, minutes_ago: i64) -> String {
        let id = self.booked(60 * 24 * 365).await;
        self.app
            .move_appointment("acme", &id, &minutes_from_now(-minutes_ago))
            .await;
        id
    }

    async fn action(&self, id: &str, action: &str) -> Reply {
        self.app
            .post(&format!("/api/v1/appointments/{id}/{action}"), &self.agent, json!({}))
            .await
    }

    async fn customer_count(&self) -> u64 {
        self.app.get("/api/v1/customers", &self.owner).await.expect(200).body["meta"]["total_count"]
            .as_u64()
            .unwrap()
    }
}

// ---------------------------------------------------------------- the seed replayed

/// The seed's create example (moved from 2026 to 2099 so it lies in the future), by an
/// agent named as in the seed, compared field by field with the seed's response.
#[tokio::test]
async fn seed_create_example_answers_201_with_the_seed_fields() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let department = app.department(&owner, "Suporte Técnico").await;
    let joao = app
        .post(
            "/api/v1/users",
            &owner,
            json!({"user": {"name": "João Silva", "email": "joao@acme.test", "password": "user-password-1", "role": "attendant"}}),
        )
        .await
        .expect(201)
        .id();
    app.add_member(&owner, &department, &joao).await;
    let joao = app.login("acme", "joao@acme.test", "user-password-1").await;

    let reply = app
        .post(
            "/api/v1/appointments",
            &joao,
            json!({"appointment": {
                "title": "Réunion de présentation",
                "scheduled_at": "2099-02-25T14:00:00Z",
                "duration_minutes": 45,
                "department_id": department,
                "customer_name": "Roberto Lima",
                "customer_email": "roberto@email.com",
                "customer_phone": "+5511966665544"
            }}),
        )
        .await
        .expect(201);
    let data = reply.data();
    let expected = json!({
        "title": "Réunion de présentation",
        "status": "scheduled",
        "scheduled_at": "2099-02-25T14:00:00Z",
        "duration_minutes": 45,
        "department_id": department,
        "department_name": "Suporte Técnico",
        "user_id": joao.user_id,
        "user_name": "João Silva",
        "customer_name": "Roberto Lima",
        "customer_email": "roberto@email.com",
        "customer_phone": "+5511966665544",
        // SPEC §4.5 additions
        "description": null,
        "notes": null,
        "provider_id": null,
        "provider_name": null,
        "overdue": false,
        "cancel_reason": null,
        "confirmed_at": null,
        "cancelled_at": null,
        "completed_at": null,
    });
    for (field, value) in expected.as_object().unwrap() {
        assert_eq!(&data[field], value, "{field}");
    }
    // SPEC §7.8: the customer has an e-mail, so the confirmation issued the join link;
    // its id is given too, to send it again (`POST /access-links/:id/send`).
    assert!(
        data["access_link_url"]
            .as_str()
            .unwrap()
            .starts_with("http://voki.test/call/")
    );
    let link_id = data["access_link_id"].as_str().expect("access_link_id");
    let sent = app
        .post(&format!("/api/v1/access-links/{link_id}/send"), &joao, json!({}))
        .await
        .expect(200);
    assert_eq!(sent.data()["to"], "roberto@email.com");
    for field in ["id", "customer_id"] {
        uuid::Uuid::parse_str(data[field].as_str().unwrap()).unwrap_or_else(|_| panic!("{field} is a UUID"));
    }
    assert!(voki::time::parse(data["inserted_at"].as_str().unwrap()).is_some());
    assert_eq!(data["inserted_at"], data["updated_at"]);

    // The customer was created by the matching rule and is a real customer.
    let customer = app
        .get(
            &format!("/api/v1/customers/{}", data["customer_id"].as_str().unwrap()),
            &owner,
        )
        .await
        .expect(200);
    assert_eq!(customer.data()["email"], "roberto@email.com");
}

/// `GET /appointments?date_from=…&status=scheduled` as in the seed: the seed's fields on
/// each row, the seed's `meta`, soonest first.
#[tokio::test]
async fn seed_list_example_filters_by_date_from_and_status() {
    let c = clinic().await;
    let later = c
        .book(&c.agent, booking(&c.department, "2099-02-20T10:00:00Z"))
        .await
        .expect(201);
    let earlier = c
        .book(&c.agent, booking(&c.department, "2099-02-19T10:00:00Z"))
        .await
        .expect(201);
    let before_range = c
        .book(&c.agent, booking(&c.department, "2099-02-17T10:00:00Z"))
        .await
        .expect(201);
    let cancelled = c
        .book(&c.agent, booking(&c.department, "2099-02-21T10:00:00Z"))
        .await
        .expect(201)
        .id();
    c.action(&cancelled, "cancel").await.expect(200);

    let reply = c
        .app
        .get("/api/v1/appointments?date_from=2099-02-18&status=scheduled", &c.agent)
        .await
        .expect(200);
    let ids: Vec<&str> = reply.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [earlier.id(), later.id()]);
    assert!(!ids.contains(&before_range.id().as_str()));
    assert_eq!(
        reply.body["meta"],
        json!({"current_page": 1, "page_size": 20, "total_pages": 1, "total_count": 2})
    );
    let seed_fields = [
        "id",
        "title",
        "description",
        "status",
        "scheduled_at",
        "duration_minutes",
        "department_id",
        "department_name",
        "user_id",
        "user_name",
        "customer_id",
        "customer_name",
        "customer_email",
        "customer_phone",
        "notes",
        "inserted_at",
        "updated_at",
    ];
    let row = &reply.body["data"][0];
    for field in seed_fields {
        assert!(row.get(field).is_some(), "{field} missing from {row}");
    }
    assert_eq!(row["duration_minutes"], 30, "default duration");
    assert_eq!(row["status"], "scheduled");
}

/// The seed's conflicts example: a free slot, then the same slot once taken.
#[tokio::test]
async fn seed_conflicts_example_reports_free_and_taken_slots() {
    let c = clinic().await;
    let query = format!(
        "/api/v1/appointments/conflicts?user_id={}&scheduled_at=2099-02-25T14:00:00Z&duration_minutes=45",
        c.agent.user_id
    );
    let free = c.app.get(&query, &c.agent).await.expect(200);
    assert_eq!(free.body, json!({"data": {"has_conflicts": false, "conflicts": []}}));

    let taken = c
        .book(&c.agent, booking(&c.department, "2099-02-25T14:30:00Z"))
        .await
        .expect(201)
        .id();
    let busy = c.app.get(&query, &c.agent).await.expect(200);
    assert_eq!(busy.data()["has_conflicts"], true);
    assert_eq!(busy.data()["conflicts"][0]["id"], taken);
    assert_eq!(busy.data()["conflicts"][0]["customer_name"], "Carlos Ferreira");
}

/// The seed's confirm, cancel-with-reason, complete and no-show examples.
#[tokio::test]
async fn seed_action_examples_move_the_status_and_stamp_the_time() {
    let c = clinic().await;
    let id = c.booked(60).await;
    let confirmed = c.action(&id, "confirm").await.expect(200);
    assert_eq!(confirmed.data()["status"], "confirmed");
    assert!(confirmed.data()["confirmed_at"].is_string());

    let cancelled = c
        .app
        .post(
            &format!("/api/v1/appointments/{id}/cancel"),
            &c.agent,
            json!({"reason": "Le client a demandé un report"}),
        )
        .await
        .expect(200);
    assert_eq!(cancelled.data()["status"], "cancelled");
    assert_eq!(cancelled.data()["cancel_reason"], "Le client a demandé un report");
    assert!(cancelled.data()["cancelled_at"].is_string());

    let done = c.started(10).await;
    let completed = c.action(&done, "complete").await.expect(200);
    assert_eq!(completed.data()["status"], "completed");
    assert!(completed.data()["completed_at"].is_string());

    let missed = c.started(10).await;
    let no_show = c.action(&missed, "no-show").await.expect(200);
    assert_eq!(no_show.data()["status"], "no_show");
    assert_eq!(no_show.data()["completed_at"], Value::Null);
}

// ---------------------------------------------------------------- transitions

/// Every (status, action) pair over HTTP: the legal ones move, the action that produced
/// the current status is a 200 no-op, everything else is 422 with the documented shape.
#[tokio::test]
async fn every_status_and_action_pair_answers_as_the_table_says() {
    let c = clinic().await;
    // The path that reaches each status from a started, scheduled appointment.
    let reach: [(&str, Option<&str>); 5] = [
        ("scheduled", None),
        ("confirmed", Some("confirm")),
        ("completed", Some("complete")),
        ("cancelled", Some("cancel")),
        ("no_show", Some("no-show")),
    ];
    let legal = |status: &str, action: &str| -> Option<&'static str> {
        match (status, action) {
            ("scheduled", "confirm") => Some("confirmed"),
            ("scheduled" | "confirmed", "cancel") => Some("cancelled"),
            ("scheduled" | "confirmed", "complete") => Some("completed"),
            ("scheduled" | "confirmed", "no-show") => Some("no_show"),
            _ => None,
        }
    };
    let produced_by = |action: &str| match action {
        "confirm" => "confirmed",
        "cancel" => "cancelled",
        "complete" => "completed",
        _ => "no_show",
    };
    for (status, path) in reach {
        for action in ["confirm", "cancel", "complete", "no-show"] {
            let id = c.started(5).await;
            if let Some(path) = path {
                c.action(&id, path).await.expect(200);
            }
            let before = c
                .app
                .get(&format!("/api/v1/appointments/{id}"), &c.agent)
                .await
                .expect(200);
            let reply = c.action(&id, action).await;
            let label = format!("{action} on {status}");
            if produced_by(action) == status {
                let reply = reply.expect(200);
                assert_eq!(reply.data(), before.data(), "{label}: a repeat changes nothing");
            } else if let Some(next) = legal(status, action) {
                assert_eq!(reply.expect(200).data()["status"], next, "{label}");
            } else {
                let reply = reply.expect(422);
                assert_eq!(
                    reply.body,
                    json!({"errors": {"status": [format!("cannot {action} a {status} appointment")]}}),
                    "{label}"
                );
                let after = c
                    .app
                    .get(&format!("/api/v1/appointments/{id}"), &c.agent)
                    .await
                    .expect(200);
                assert_eq!(after.data()["status"], status, "{label}: nothing changed");
            }
        }
    }
}

#[tokio::test]
async fn complete_before_start_is_422() {
    let c = clinic().await;
    let id = c.booked(30).await;
    for action in ["complete", "no-show"] {
        let reply = c.action(&id, action).await.expect(422);
        assert_eq!(
            reply.field_errors("status"),
            [format!("cannot {action} an appointment before it starts")]
        );
    }
    let confirmed = c.action(&id, "confirm").await.expect(200);
    assert_eq!(confirmed.data()["status"], "confirmed");
}

#[tokio::test]
async fn cancel_repeated_keeps_the_first_reason() {
    let c = clinic().await;
    let id = c.booked(30).await;
    let first = c
        .app
        .post(
            &format!("/api/v1/appointments/{id}/cancel"),
            &c.agent,
            json!({"reason": "Patient asked"}),
        )
        .await
        .expect(200);
    let again = c
        .app
        .post(
            &format!("/api/v1/appointments/{id}/cancel"),
            &c.agent,
            json!({"reason": "Other"}),
        )
        .await
        .expect(200);
    assert_eq!(again.data(), first.data());
    // The body is optional.
    let bare = c.booked(90).await;
    let reply = c
        .app
        .request(
            Method::POST,
            &format!("/api/v1/appointments/{bare}/cancel"),
            Some(&c.agent),
            None,
        )
        .await
        .expect(200);
    assert_eq!(reply.data()["cancel_reason"], Value::Null);
}

// ---------------------------------------------------------------- overdue on reads

/// Reads compute `overdue` themselves: an open appointment whose end has passed shows
/// `overdue: true` before the sweeper has stored anything; a terminal status clears it.
#[tokio::test]
async fn an_open_appointment_past_its_end_reads_as_overdue_before_any_sweep() {
    // The sweeper ran once at start; the next run is an hour away.
    let c = clinic_on(TestApp::spawn_with(|config| config.sweep_interval_secs = 3600).await).await;
    let id = c.started(45).await; // 30 minutes long: ended 15 minutes ago
    let stored = {
        let id = id.clone();
        c.app
            .tenant_db("acme")
            .await
            .read(move |conn| {
                Ok(
                    conn.query_row("SELECT overdue FROM appointments WHERE id = ?1", [&id], |r| {
                        r.get::<_, i64>(0)
                    })?,
                )
            })
            .await
            .unwrap()
    };
    assert_eq!(stored, 0, "the sweeper has not run for this appointment yet");
    let read = c
        .app
        .get(&format!("/api/v1/appointments/{id}"), &c.agent)
        .await
        .expect(200);
    assert_eq!(read.data()["overdue"], true);
    let listed = c
        .app
        .get("/api/v1/appointments?overdue=true", &c.agent)
        .await
        .expect(200);
    assert_eq!(listed.body["data"][0]["id"], id);
    assert_eq!(listed.body["meta"]["total_count"], 1);

    let running = c.started(10).await; // ends in 20 minutes
    let read = c
        .app
        .get(&format!("/api/v1/appointments/{running}"), &c.agent)
        .await
        .expect(200);
    assert_eq!(read.data()["overdue"], false);
    let not_overdue = c
        .app
        .get("/api/v1/appointments?overdue=false", &c.agent)
        .await
        .expect(200);
    assert_eq!(not_overdue.body["meta"]["total_count"], 1);

    voki::sweeper::sweep_once(c.app.state()).await;
    let completed = c.action(&id, "complete").await.expect(200);
    assert_eq!(
        completed.data()["overdue"],
        false,
        "a terminal transition clears the flag"
    );
}

#[tokio::test]
async fn moving_an_overdue_appointment_to_a_later_time_clears_the_flag() {
    let c = clinic().await;
    let id = c.started(45).await;
    voki::sweeper::sweep_once(c.app.state()).await;
    let path = format!("/api/v1/appointments/{id}");
    assert_eq!(c.app.get(&path, &c.agent).await.expect(200).data()["overdue"], true);
    let moved = c
        .app
        .put(&path, &c.agent, json!({"scheduled_at": minutes_from_now(60)}))
        .await
        .expect(200);
    assert_eq!(moved.data()["overdue"], false);
}

// ---------------------------------------------------------------- validation

#[tokio::test]
async fn create_without_required_fields_is_422_naming_each() {
    let c = clinic().await;
    let reply = c.book(&c.agent, json!({"appointment": {}})).await.expect(422);
    for field in ["title", "scheduled_at", "department_id", "customer_name"] {
        assert_eq!(reply.field_errors(field), ["can't be blank"], "{field}: {}", reply.text);
    }
}

#[tokio::test]
async fn create_validation_names_the_field_at_fault() {
    let c = clinic().await;
    let inactive = c.app.department(&c.owner, "Closed").await;
    c.app.add_member(&c.owner, &inactive, &c.agent.user_id).await;
    c.app
        .put(
            &format!("/api/v1/departments/{inactive}"),
            &c.owner,
            json!({"active": false}),
        )
        .await
        .expect(200);
    let outsider = c.app.user(&c.owner, "attendant").await;
    let deactivated = c.app.user(&c.owner, "attendant").await;
    c.app.add_member(&c.owner, &c.department, &deactivated.user_id).await;
    c.app
        .put(
            &format!("/api/v1/users/{}", deactivated.user_id),
            &c.owner,
            json!({"active": false}),
        )
        .await
        .expect(200);
    let unknown = uuid::Uuid::new_v4().to_string();
    let future = minutes_from_now(60);

    let cases: Vec<(Value, &str, &str)> = vec![
        (
            json!({"scheduled_at": minutes_from_now(-1)}),
            "scheduled_at",
            "must be in the future",
        ),
        (
            json!({"scheduled_at": "2099-02-30T10:00:00Z"}),
            "scheduled_at",
            "is invalid",
        ),
        (json!({"scheduled_at": "tomorrow"}), "scheduled_at", "is invalid"),
        (
            json!({"scheduled_at": "9999-12-31T23:59:00Z"}),
            "scheduled_at",
            "is invalid",
        ),
        (json!({"title": "  "}), "title", "can't be blank"),
        (
            json!({"title": "x".repeat(201)}),
            "title",
            "should be at most 200 character(s)",
        ),
        (
            json!({"duration_minutes": 0}),
            "duration_minutes",
            "must be greater than or equal to 1",
        ),
        (
            json!({"duration_minutes": 1441}),
            "duration_minutes",
            "must be less than or equal to 1440",
        ),
        (json!({"duration_minutes": "45"}), "duration_minutes", "is invalid"),
        (json!({"department_id": unknown}), "department_id", "does not exist"),
        (
            json!({"department_id": "not-a-uuid"}),
            "department_id",
            "does not exist",
        ),
        (json!({"department_id": inactive}), "department_id", "is inactive"),
        (
            json!({"user_id": outsider.user_id}),
            "user_id",
            "must be an active member of the department",
        ),
        (
            json!({"user_id": deactivated.user_id}),
            "user_id",
            "must be an active member of the department",
        ),
        (json!({"user_id": unknown}), "user_id", "does not exist"),
        (
            json!({"customer_id": unknown, "customer_name": null}),
            "customer_id",
            "does not exist",
        ),
        (json!({"customer_name": null}), "customer_name", "can't be blank"),
        (
            json!({"customer_email": "not-an-email"}),
            "customer_email",
            "has invalid format",
        ),
        (
            json!({"customer_phone": "call me"}),
            "customer_phone",
            "has invalid format",
        ),
    ];
    for (change, field, message) in cases {
        let mut body = booking(&c.department, &future);
        for (key, value) in change.as_object().unwrap() {
            body["appointment"][key] = value.clone();
        }
        let reply = c.book(&c.agent, body).await;
        assert_eq!(reply.status, 422, "{change}: {}", reply.text);
        assert_eq!(reply.field_errors(field), [message], "{change}: {}", reply.text);
    }
    assert_eq!(
        c.customer_count().await,
        0,
        "no customer was created by a refused booking"
    );
    let list = c.app.get("/api/v1/appointments", &c.owner).await.expect(200);
    assert_eq!(list.body["meta"]["total_count"], 0);
}

#[tokio::test]
async fn bad_bodies_are_400_and_bare_bodies_are_accepted() {
    let c = clinic().await;
    let reply = c
        .app
        .raw(
            Method::POST,
            "/api/v1/appointments",
            &c.agent,
            "application/json",
            b"{\"appointment\": ".to_vec(),
        )
        .await
        .expect(400);
    assert_eq!(reply.body, json!({"errors": {"detail": "Malformed JSON"}}));
    c.app
        .raw(
            Method::POST,
            "/api/v1/appointments",
            &c.agent,
            "text/plain",
            b"title=x".to_vec(),
        )
        .await
        .expect(400);
    let bare = booking(&c.department, &minutes_from_now(60))["appointment"].clone();
    c.book(&c.agent, bare).await.expect(201);
}

#[tokio::test]
async fn read_only_fields_are_not_writable_through_create() {
    let c = clinic().await;
    let mut body = booking(&c.department, &minutes_from_now(60));
    body["appointment"]["status"] = json!("completed");
    body["appointment"]["overdue"] = json!(true);
    body["appointment"]["id"] = json!(uuid::Uuid::new_v4().to_string());
    body["appointment"]["access_link_url"] = json!("http://evil.test");
    let reply = c.book(&c.agent, body.clone()).await.expect(201);
    assert_eq!(reply.data()["status"], "scheduled");
    assert_eq!(reply.data()["overdue"], false);
    assert_ne!(reply.data()["id"], body["appointment"]["id"]);
    assert_eq!(reply.data()["access_link_url"], Value::Null);
}

// ---------------------------------------------------------------- customers

#[tokio::test]
async fn customer_fields_match_an_existing_customer_by_email_then_phone() {
    let c = clinic().await;
    let existing = c
        .app
        .post(
            "/api/v1/customers",
            &c.agent,
            json!({"customer": {"name": "Roberto Lima", "email": "Roberto@Email.com", "phone": "+55 (11) 96666-5544"}}),
        )
        .await
        .expect(201)
        .id();
    let mut by_email = booking(&c.department, &minutes_from_now(60));
    by_email["appointment"]["customer_name"] = json!("Roberto");
    by_email["appointment"]["customer_email"] = json!("roberto@email.com");
    let reply = c.book(&c.agent, by_email).await.expect(201);
    assert_eq!(reply.data()["customer_id"], existing);
    assert_eq!(
        reply.data()["customer_name"],
        "Roberto Lima",
        "a match never overwrites"
    );

    let mut by_phone = booking(&c.department, &minutes_from_now(120));
    by_phone["appointment"]["customer_phone"] = json!("+5511966665544");
    assert_eq!(
        c.book(&c.agent, by_phone).await.expect(201).data()["customer_id"],
        existing
    );

    let mut by_id = booking(&c.department, &minutes_from_now(180));
    by_id["appointment"]["customer_id"] = json!(existing);
    by_id["appointment"]["customer_name"] = json!(null);
    assert_eq!(
        c.book(&c.agent, by_id).await.expect(201).data()["customer_id"],
        existing
    );
    assert_eq!(c.customer_count().await, 1);
}

#[tokio::test]
async fn customers_and_departments_with_appointments_keep_their_history() {
    let c = clinic().await;
    let appointment = c
        .book(&c.agent, booking(&c.department, &minutes_from_now(60)))
        .await
        .expect(201);
    let customer = appointment.data()["customer_id"].as_str().unwrap().to_string();
    let reply = c
        .app
        .delete(&format!("/api/v1/customers/{customer}"), &c.owner)
        .await
        .expect(422);
    assert_eq!(reply.body["errors"]["detail"], "Customer has history; merge it instead");
    let reply = c
        .app
        .delete(&format!("/api/v1/departments/{}", c.department), &c.owner)
        .await
        .expect(422);
    assert_eq!(
        reply.body["errors"]["detail"],
        "Department has history; deactivate it instead"
    );

    // A merge moves the appointment to the primary customer.
    let primary = c
        .app
        .post("/api/v1/customers", &c.owner, json!({"name": "Carlos F."}))
        .await
        .expect(201)
        .id();
    c.app
        .post(
            "/api/v1/customers/merge",
            &c.owner,
            json!({"primary_id": primary, "secondary_ids": [customer]}),
        )
        .await
        .expect(200);
    let moved = c
        .app
        .get(&format!("/api/v1/appointments/{}", appointment.id()), &c.agent)
        .await
        .expect(200);
    assert_eq!(moved.data()["customer_id"], primary);
    assert_eq!(moved.data()["customer_name"], "Carlos F.");
}

// ---------------------------------------------------------------- no double booking

#[tokio::test]
async fn overlapping_appointments_conflict_with_409_listing_them() {
    let c = clinic().await;
    let first = c
        .book(&c.agent, booking(&c.department, "2099-06-03T10:00:00Z"))
        .await
        .expect(201);
    let mut overlapping = booking(&c.department, "2099-06-03T09:45:00Z");
    overlapping["appointment"]["duration_minutes"] = json!(30);
    let reply = c.book(&c.agent, overlapping).await.expect(409);
    assert_eq!(reply.body["errors"]["detail"], "Schedule conflict");
    assert_eq!(reply.body["errors"]["conflicts"], json!([first.data()]));
    // Inside, around, and the same slot through another offset.
    for (start, duration) in [
        ("2099-06-03T10:10:00Z", 5),
        ("2099-06-03T09:00:00Z", 180),
        ("2099-06-03T07:00:00-03:00", 30),
    ] {
        let mut body = booking(&c.department, start);
        body["appointment"]["duration_minutes"] = json!(duration);
        c.book(&c.agent, body).await.expect(409);
    }
    // Another agent is free at that time.
    let colleague = c.app.user(&c.owner, "attendant").await;
    c.app.add_member(&c.owner, &c.department, &colleague.user_id).await;
    let mut theirs = booking(&c.department, "2099-06-03T10:00:00Z");
    theirs["appointment"]["user_id"] = json!(colleague.user_id);
    c.book(&c.agent, theirs).await.expect(201);
}

#[tokio::test]
async fn touching_appointments_do_not_conflict() {
    let c = clinic().await;
    c.book(&c.agent, booking(&c.department, "2099-06-03T10:00:00Z"))
        .await
        .expect(201);
    c.book(&c.agent, booking(&c.department, "2099-06-03T10:30:00Z"))
        .await
        .expect(201);
    let mut before = booking(&c.department, "2099-06-03T09:00:00Z");
    before["appointment"]["duration_minutes"] = json!(60);
    c.book(&c.agent, before).await.expect(201);
    let check = c
        .app
        .get(
            &format!(
                "/api/v1/appointments/conflicts?user_id={}&scheduled_at=2099-06-03T11:00:00Z",
                c.agent.user_id
            ),
            &c.agent,
        )
        .await
        .expect(200);
    assert_eq!(check.data()["has_conflicts"], false);
}

#[tokio::test]
async fn cancelled_completed_and_no_show_appointments_never_block() {
    let c = clinic().await;
    let cancelled = c
        .book(&c.agent, booking(&c.department, "2099-06-03T10:00:00Z"))
        .await
        .expect(201)
        .id();
    c.action(&cancelled, "cancel").await.expect(200);
    c.book(&c.agent, booking(&c.department, "2099-06-03T10:00:00Z"))
        .await
        .expect(201);

    // A completed or missed appointment that is still running blocks nothing either.
    for action in ["complete", "no-show"] {
        let running = c.started(5).await;
        let free_now = minutes_from_now(10);
        c.book(&c.agent, booking(&c.department, &free_now)).await.expect(409);
        c.action(&running, action).await.expect(200);
        let id = c
            .book(&c.agent, booking(&c.department, &free_now))
            .await
            .expect(201)
            .id();
        c.action(&id, "cancel").await.expect(200);
    }
}

#[tokio::test]
async fn exclude_id_leaves_the_edited_appointment_out() {
    let c = clinic().await;
    let id = c
        .book(&c.agent, booking(&c.department, "2099-06-03T10:00:00Z"))
        .await
        .expect(201)
        .id();
    let base = format!(
        "/api/v1/appointments/conflicts?user_id={}&scheduled_at=2099-06-03T10:15:00Z&duration_minutes=30",
        c.agent.user_id
    );
    let with = c.app.get(&base, &c.agent).await.expect(200);
    assert_eq!(with.data()["has_conflicts"], true);
    let without = c
        .app
        .get(&format!("{base}&exclude_id={id}"), &c.agent)
        .await
        .expect(200);
    assert_eq!(without.body, json!({"data": {"has_conflicts": false, "conflicts": []}}));
}

#[tokio::test]
async fn update_that_would_overlap_is_409_and_changes_nothing() {
    let c = clinic().await;
    let first = c
        .book(&c.agent, booking(&c.department, "2099-06-03T10:00:00Z"))
        .await
        .expect(201);
    let second = c
        .book(&c.agent, booking(&c.department, "2099-06-03T11:00:00Z"))
        .await
        .expect(201);
    let path = format!("/api/v1/appointments/{}", second.id());
    let reply = c
        .app
        .put(
            &path,
            &c.agent,
            json!({"appointment": {"scheduled_at": "2099-06-03T10:20:00Z"}}),
        )
        .await
        .expect(409);
    assert_eq!(reply.body["errors"]["conflicts"][0]["id"], first.id());
    // Lengthening the first one into the second is refused as well.
    let reply = c
        .app
        .put(
            &format!("/api/v1/appointments/{}", first.id()),
            &c.agent,
            json!({"duration_minutes": 90}),
        )
        .await
        .expect(409);
    assert_eq!(reply.body["errors"]["conflicts"][0]["id"], second.id());
    assert_eq!(c.app.get(&path, &c.agent).await.expect(200).data(), second.data());
    // Moving within its own slot conflicts with nothing (it excludes itself).
    let moved = c
        .app
        .put(
            &path,
            &c.agent,
            json!({"appointment": {"scheduled_at": "2099-06-03T10:30:00Z"}}),
        )
        .await
        .expect(200);
    assert_eq!(moved.data()["scheduled_at"], "2099-06-03T10:30:00Z");
}

/// SPEC §4.5: under concurrent creates for the same slot exactly one succeeds.
#[tokio::test]
async fn parallel_creates_for_one_slot_book_exactly_one() {
    let c = clinic().await;
    let start = "2099-07-01T15:00:00Z";
    let replies = join_all((0..64).map(|i| {
        let mut body = booking(&c.department, start);
        body["appointment"]["customer_name"] = json!(format!("Patient {i}"));
        c.book(&c.agent, body)
    }))
    .await;
    let created = replies.iter().filter(|r| r.status == 201).count();
    let refused = replies.iter().filter(|r| r.status == 409).count();
    assert_eq!(
        (created, refused),
        (1, 63),
        "statuses: {:?}",
        replies.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    let list = c.app.get("/api/v1/appointments", &c.owner).await.expect(200);
    assert_eq!(list.body["meta"]["total_count"], 1);
    assert_eq!(c.customer_count().await, 1, "refused bookings left no customer behind");
}

// ---------------------------------------------------------------- conflicts endpoint

#[tokio::test]
async fn conflicts_without_user_or_time_is_422() {
    let c = clinic().await;
    let reply = c.app.get("/api/v1/appointments/conflicts", &c.agent).await.expect(422);
    assert_eq!(reply.field_errors("user_id"), ["can't be blank"]);
    assert_eq!(reply.field_errors("scheduled_at"), ["can't be blank"]);
    let user = &c.agent.user_id;
    let cases = [
        (
            format!("user_id={user}&scheduled_at=soon"),
            "scheduled_at",
            "is invalid",
        ),
        (
            format!("user_id={}&scheduled_at=2099-01-01T10:00:00Z", uuid::Uuid::new_v4()),
            "user_id",
            "does not exist",
        ),
        (
            format!("user_id={user}&scheduled_at=2099-01-01T10:00:00Z&duration_minutes=0"),
            "duration_minutes",
            "must be greater than or equal to 1",
        ),
    ];
    for (query, field, message) in cases {
        let reply = c
            .app
            .get(&format!("/api/v1/appointments/conflicts?{query}"), &c.agent)
            .await
            .expect(422);
        assert_eq!(reply.field_errors(field), [message], "{query}");
    }
    c.app
        .get(
            &format!(
                "/api/v1/appointments/conflicts?user_id={user}&scheduled_at=2099-01-01T10:00:00Z&duration_minutes=x"
            ),
            &c.agent,
        )
        .await
        .expect(400);
}

// ---------------------------------------------------------------- update

#[tokio::test]
async fn update_changes_the_fields_and_only_while_open() {
    let c = clinic().await;
    let id = c.booked(60).await;
    let path = format!("/api/v1/appointments/{id}");
    let updated = c
        .app
        .put(
            &path,
            &c.agent,
            json!({"appointment": {"title": "Retorno", "description": "Exames", "notes": "Trazer exames", "duration_minutes": 50}}),
        )
        .await
        .expect(200);
    let data = updated.data();
    assert_eq!(
        (
            &data["title"],
            &data["description"],
            &data["notes"],
            &data["duration_minutes"]
        ),
        (&json!("Retorno"), &json!("Exames"), &json!("Trazer exames"), &json!(50))
    );
    let cleared = c
        .app
        .put(&path, &c.agent, json!({"description": null}))
        .await
        .expect(200);
    assert_eq!(cleared.data()["description"], Value::Null);
    assert_eq!(cleared.data()["notes"], "Trazer exames");

    c.action(&id, "cancel").await.expect(200);
    let reply = c
        .app
        .put(&path, &c.agent, json!({"title": "Too late"}))
        .await
        .expect(422);
    assert_eq!(reply.field_errors("status"), ["cannot update a cancelled appointment"]);
}

#[tokio::test]
async fn update_keeps_a_past_start_but_refuses_moving_into_the_past() {
    let c = clinic().await;
    let id = c.started(10).await;
    let path = format!("/api/v1/appointments/{id}");
    let current = c.app.get(&path, &c.agent).await.expect(200);
    let start = current.data()["scheduled_at"].clone();
    c.app
        .put(
            &path,
            &c.agent,
            json!({"scheduled_at": start, "notes": "Começou atrasado"}),
        )
        .await
        .expect(200);
    let reply = c
        .app
        .put(&path, &c.agent, json!({"scheduled_at": minutes_from_now(-60)}))
        .await
        .expect(422);
    assert_eq!(reply.field_errors("scheduled_at"), ["must be in the future"]);
}

#[tokio::test]
async fn update_checks_the_new_agent_and_department_like_create() {
    let c = clinic().await;
    let id = c.booked(60).await;
    let path = format!("/api/v1/appointments/{id}");
    let outsider = c.app.user(&c.owner, "attendant").await;
    let reply = c
        .app
        .put(&path, &c.owner, json!({"user_id": outsider.user_id}))
        .await
        .expect(422);
    assert_eq!(
        reply.field_errors("user_id"),
        ["must be an active member of the department"]
    );
    let other = c.app.department(&c.owner, "Pediatria").await;
    let reply = c
        .app
        .put(&path, &c.owner, json!({"department_id": other}))
        .await
        .expect(422);
    assert_eq!(
        reply.field_errors("user_id"),
        ["must be an active member of the department"]
    );

    c.app.add_member(&c.owner, &other, &outsider.user_id).await;
    let moved = c
        .app
        .put(
            &path,
            &c.owner,
            json!({"department_id": other, "user_id": outsider.user_id}),
        )
        .await
        .expect(200);
    assert_eq!(moved.data()["department_name"], "Pediatria");
    assert_eq!(moved.data()["user_id"], outsider.user_id);
}

#[tokio::test]
async fn update_with_the_same_customer_fields_creates_no_customer() {
    let c = clinic().await;
    let mut body = booking(&c.department, &minutes_from_now(60));
    body["appointment"]["customer_email"] = json!("carlos@email.com");
    let created = c.book(&c.agent, body).await.expect(201);
    let path = format!("/api/v1/appointments/{}", created.id());
    // A client sending the object back as it read it.
    let echoed = c
        .app
        .put(&path, &c.agent, json!({"appointment": created.data()}))
        .await
        .expect(200);
    assert_eq!(echoed.data()["customer_id"], created.data()["customer_id"]);
    assert_eq!(c.customer_count().await, 1);
    // Another person: matched or created by the customer rule.
    let other = c
        .app
        .put(
            &path,
            &c.agent,
            json!({"customer_name": "Ana Souza", "customer_email": "ana@email.com"}),
        )
        .await
        .expect(200);
    assert_eq!(other.data()["customer_name"], "Ana Souza");
    assert_eq!(c.customer_count().await, 2);
}

// ---------------------------------------------------------------- visibility

/// The agent works in departments A and B; the attendant is in A only (and once was in B).
struct Visibility {
    c: Clinic,
    attendant: Session,
    supervisor: Session,
    in_a: String,
    in_b: String,
    own_in_b: String,
}

async fn visibility() -> Visibility {
    let c = clinic().await;
    let dept_b = c.app.department(&c.owner, "Pediatria").await;
    let attendant = c.app.user(&c.owner, "attendant").await;
    let supervisor = c.app.user(&c.owner, "supervisor").await;
    c.app.add_member(&c.owner, &c.department, &attendant.user_id).await;
    c.app.add_member(&c.owner, &dept_b, &attendant.user_id).await;
    c.app.add_member(&c.owner, &dept_b, &c.agent.user_id).await;
    let in_a = c
        .book(&c.agent, booking(&c.department, "2099-06-03T10:00:00Z"))
        .await
        .expect(201)
        .id();
    let in_b = c
        .book(&c.agent, booking(&dept_b, "2099-06-03T11:00:00Z"))
        .await
        .expect(201)
        .id();
    let own_in_b = c
        .book(&attendant, booking(&dept_b, "2099-06-03T12:00:00Z"))
        .await
        .expect(201)
        .id();
    c.app
        .delete(
            &format!("/api/v1/departments/{dept_b}/users/{}", attendant.user_id),
            &c.owner,
        )
        .await
        .expect(204);
    let attendant = c.app.login("acme", &attendant.email, crate::helpers::PASSWORD).await;
    Visibility {
        c,
        attendant,
        supervisor,
        in_a,
        in_b,
        own_in_b,
    }
}

fn ids(reply: &Reply) -> Vec<String> {
    reply.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn attendants_see_their_departments_and_their_own_appointments() {
    let v = visibility().await;
    let seen = v.c.app.get("/api/v1/appointments", &v.attendant).await.expect(200);
    assert_eq!(ids(&seen), [v.in_a.clone(), v.own_in_b.clone()]);
    let all = v.c.app.get("/api/v1/appointments", &v.supervisor).await.expect(200);
    assert_eq!(ids(&all), [v.in_a.clone(), v.in_b.clone(), v.own_in_b.clone()]);
    v.c.app
        .get(&format!("/api/v1/appointments/{}", v.own_in_b), &v.attendant)
        .await
        .expect(200);
    v.c.app
        .get(&format!("/api/v1/appointments/{}", v.in_b), &v.supervisor)
        .await
        .expect(200);
}

#[tokio::test]
async fn another_departments_appointment_is_403_for_reads_edits_and_actions() {
    // SPEC §2.3: an object outside what the user may touch is 403 (another tenant's stays 404).
    let v = visibility().await;
    let path = format!("/api/v1/appointments/{}", v.in_b);
    let app = &v.c.app;
    app.get(&path, &v.attendant).await.expect(403);
    app.put(&path, &v.attendant, json!({"title": "Mine now"}))
        .await
        .expect(403);
    for action in ["confirm", "cancel", "complete", "no-show"] {
        app.post(&format!("{path}/{action}"), &v.attendant, json!({}))
            .await
            .expect(403);
    }
    assert_eq!(
        app.get(&path, &v.supervisor).await.expect(200).data()["status"],
        "scheduled"
    );
}

#[tokio::test]
async fn conflicts_outside_the_callers_sight_show_only_a_busy_slot() {
    let v = visibility().await;
    let query = format!(
        "/api/v1/appointments/conflicts?user_id={}&scheduled_at=2099-06-03T10:00:00Z&duration_minutes=120",
        v.c.agent.user_id
    );
    let reply = v.c.app.get(&query, &v.attendant).await.expect(200);
    let conflicts = reply.data()["conflicts"].as_array().unwrap();
    assert_eq!(conflicts.len(), 2);
    assert_eq!(conflicts[0]["id"], v.in_a);
    assert_eq!(conflicts[0]["customer_name"], "Carlos Ferreira");
    assert_eq!(conflicts[1]["id"], v.in_b);
    assert_eq!(conflicts[1]["title"], "Busy");
    assert_eq!(conflicts[1]["customer_name"], Value::Null);
    assert_eq!(conflicts[1]["customer_id"], Value::Null);
    assert_eq!(conflicts[1]["scheduled_at"], "2099-06-03T11:00:00Z");
    // The same slot through a 409.
    let mut body = booking(&v.c.department, "2099-06-03T11:15:00Z");
    body["appointment"]["user_id"] = json!(v.c.agent.user_id);
    let refused = v.c.book(&v.attendant, body).await.expect(409);
    assert_eq!(refused.body["errors"]["conflicts"][0]["title"], "Busy");
}

#[tokio::test]
async fn attendants_schedule_only_in_their_own_departments() {
    let v = visibility().await;
    let dept_b =
        v.c.app
            .get(&format!("/api/v1/appointments/{}", v.in_b), &v.c.owner)
            .await
            .expect(200)
            .data()["department_id"]
            .as_str()
            .unwrap()
            .to_string();
    let mut body = booking(&dept_b, "2099-06-04T10:00:00Z");
    body["appointment"]["user_id"] = json!(v.c.agent.user_id);
    let reply = v.c.book(&v.attendant, body.clone()).await.expect(403);
    assert!(reply.body["errors"]["detail"].is_string());
    v.c.book(&v.supervisor, body).await.expect(201);
}

// ---------------------------------------------------------------- list filters

#[tokio::test]
async fn list_filters_by_agent_department_provider_and_status() {
    let c = clinic().await;
    let provider = c
        .app
        .post("/api/v1/providers", &c.owner, json!({"name": "Clínica Parceira"}))
        .await
        .expect(201)
        .id();
    let partner = c.app.user(&c.owner, "attendant").await;
    c.app.add_member(&c.owner, &c.department, &partner.user_id).await;
    c.app
        .post(
            &format!("/api/v1/providers/{provider}/users"),
            &c.owner,
            json!({"user_id": partner.user_id}),
        )
        .await
        .expect(200);
    let other_dept = c.app.department(&c.owner, "Pediatria").await;
    c.app.add_member(&c.owner, &other_dept, &c.agent.user_id).await;

    let mine = c.booked(60).await;
    let mut theirs = booking(&c.department, &minutes_from_now(60));
    theirs["appointment"]["user_id"] = json!(partner.user_id);
    let theirs = c.book(&c.agent, theirs).await.expect(201);
    assert_eq!(theirs.data()["provider_id"], provider);
    assert_eq!(theirs.data()["provider_name"], "Clínica Parceira");
    let theirs = theirs.id();
    let elsewhere = c
        .book(&c.agent, booking(&other_dept, &minutes_from_now(120)))
        .await
        .expect(201)
        .id();
    c.action(&elsewhere, "confirm").await.expect(200);

    let cases = [
        (
            format!("user_id={}", c.agent.user_id),
            vec![mine.clone(), elsewhere.clone()],
        ),
        (format!("user_id={}", partner.user_id), vec![theirs.clone()]),
        (format!("department_id={other_dept}"), vec![elsewhere.clone()]),
        (format!("provider_id={provider}"), vec![theirs.clone()]),
        ("status=confirmed".into(), vec![elsewhere.clone()]),
        (
            "status=scheduled,confirmed".into(),
            vec![mine.clone(), theirs.clone(), elsewhere.clone()],
        ),
        ("status=cancelled".into(), vec![]),
        ("overdue=true".into(), vec![]),
    ];
    for (query, expected) in cases {
        let reply = c
            .app
            .get(&format!("/api/v1/appointments?{query}"), &c.owner)
            .await
            .expect(200);
        let mut got = ids(&reply);
        let mut expected = expected;
        got.sort();
        expected.sort();
        assert_eq!(got, expected, "{query}");
    }
    c.app
        .get("/api/v1/appointments?status=done", &c.owner)
        .await
        .expect(422);
    c.app
        .get("/api/v1/appointments?user_id=nope", &c.owner)
        .await
        .expect(400);
    c.app
        .get("/api/v1/appointments?overdue=maybe", &c.owner)
        .await
        .expect(400);
    c.app
        .get("/api/v1/appointments?date_from=yesterday", &c.owner)
        .await
        .expect(400);

    // A page names each row's department, agent and provider as reading the row alone
    // does (the page reads each distinct one once).
    let page = c.app.get("/api/v1/appointments", &c.owner).await.expect(200);
    let rows = page.body["data"].as_array().unwrap().clone();
    assert_eq!(rows.len(), 3);
    for row in rows {
        let id = row["id"].as_str().unwrap();
        let alone = c
            .app
            .get(&format!("/api/v1/appointments/{id}"), &c.owner)
            .await
            .expect(200);
        assert_eq!(&row, alone.data(), "{id}");
    }
}

#[tokio::test]
async fn list_sorts_by_whitelisted_keys_then_id() {
    let c = clinic().await;
    for (title, minutes) in [("B", 60), ("a", 120), ("C", 180)] {
        let mut body = booking(&c.department, &minutes_from_now(minutes));
        body["appointment"]["title"] = json!(title);
        c.book(&c.agent, body).await.expect(201);
    }
    let titles = |reply: &Reply| -> Vec<String> {
        reply.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["title"].as_str().unwrap().to_string())
            .collect()
    };
    let default = c.app.get("/api/v1/appointments", &c.agent).await.expect(200);
    assert_eq!(titles(&default), ["B", "a", "C"]);
    let by_title = c
        .app
        .get("/api/v1/appointments?sort_by=title&sort_order=desc", &c.agent)
        .await
        .expect(200);
    assert_eq!(titles(&by_title), ["C", "B", "a"]);
    let paged = c
        .app
        .get("/api/v1/appointments?page=2&page_size=2", &c.agent)
        .await
        .expect(200);
    assert_eq!(titles(&paged), ["C"]);
    assert_eq!(
        paged.body["meta"],
        json!({"current_page": 2, "page_size": 2, "total_pages": 2, "total_count": 3})
    );
    let reply = c
        .app
        .get("/api/v1/appointments?sort_by=password", &c.agent)
        .await
        .expect(422);
    assert_eq!(reply.field_errors("sort_by"), ["is invalid"]);
}

// ---------------------------------------------------------------- time zones

async fn set_timezone(app: &TestApp, owner: &Session, zone: &str) {
    let reply = app
        .put("/api/v1/company", owner, json!({"company": {"timezone": zone}}))
        .await
        .expect(200);
    assert_eq!(reply.data()["timezone"], zone);
}

/// New York springs forward on 8 March 2099: that local day runs from 05:00Z to 04:00Z
/// the next day (23 hours), and `date_from`/`date_to` follow it.
#[tokio::test]
async fn dates_are_read_in_the_company_time_zone_across_a_dst_change() {
    let c = clinic().await;
    set_timezone(&c.app, &c.owner, "America/New_York").await;
    let mut by_start = std::collections::BTreeMap::new();
    for start in [
        "2099-03-08T04:30:00Z", // 7 March, 23:30 EST
        "2099-03-08T05:00:00Z", // 8 March, 00:00 EST
        "2099-03-09T03:30:00Z", // 8 March, 23:30 EDT
        "2099-03-09T04:00:00Z", // 9 March, 00:00 EDT
    ] {
        by_start.insert(
            start,
            c.book(&c.agent, booking(&c.department, start)).await.expect(201).id(),
        );
    }
    let day = c
        .app
        .get("/api/v1/appointments?date_from=2099-03-08&date_to=2099-03-08", &c.agent)
        .await
        .expect(200);
    assert_eq!(
        ids(&day),
        [
            by_start["2099-03-08T05:00:00Z"].clone(),
            by_start["2099-03-09T03:30:00Z"].clone()
        ]
    );

    // The same dates read in UTC select other rows: the zone is what made the difference.
    set_timezone(&c.app, &c.owner, "UTC").await;
    let utc_day = c
        .app
        .get("/api/v1/appointments?date_from=2099-03-08&date_to=2099-03-08", &c.agent)
        .await
        .expect(200);
    assert_eq!(
        ids(&utc_day),
        [
            by_start["2099-03-08T04:30:00Z"].clone(),
            by_start["2099-03-08T05:00:00Z"].clone()
        ]
    );
}

/// A duration is elapsed time: 01:30 EST + 60 minutes ends at 03:30 EDT on the night the
/// clocks skip 02:00–03:00, whatever offset each request is written in.
#[tokio::test]
async fn durations_are_elapsed_time_across_a_dst_change() {
    let c = clinic().await;
    set_timezone(&c.app, &c.owner, "America/New_York").await;
    let mut body = booking(&c.department, "2099-03-08T01:30:00-05:00");
    body["appointment"]["duration_minutes"] = json!(60);
    let created = c.book(&c.agent, body).await.expect(201);
    assert_eq!(created.data()["scheduled_at"], "2099-03-08T06:30:00Z");
    c.book(&c.agent, booking(&c.department, "2099-03-08T03:15:00-04:00"))
        .await
        .expect(409);
    c.book(&c.agent, booking(&c.department, "2099-03-08T03:30:00-04:00"))
        .await
        .expect(201);
}

#[tokio::test]
async fn sao_paulo_dates_and_offsets_are_read_in_local_time() {
    let c = clinic().await;
    set_timezone(&c.app, &c.owner, "America/Sao_Paulo").await;
    let mut by_start = std::collections::BTreeMap::new();
    for start in [
        "2099-05-20T02:29:00Z",      // 19 May, 23:29 local
        "2099-05-20T00:00:00-03:00", // 20 May, 00:00 local
        "2099-05-21T02:30:00Z",      // 20 May, 23:30 local
        "2099-05-21T03:00:00Z",      // 21 May, 00:00 local
    ] {
        let reply = c.book(&c.agent, booking(&c.department, start)).await.expect(201);
        by_start.insert(reply.data()["scheduled_at"].as_str().unwrap().to_string(), reply.id());
    }
    assert!(
        by_start.contains_key("2099-05-20T03:00:00Z"),
        "stored in UTC: {by_start:?}"
    );
    let day = c
        .app
        .get("/api/v1/appointments?date_from=2099-05-20&date_to=2099-05-20", &c.agent)
        .await
        .expect(200);
    assert_eq!(
        ids(&day),
        [
            by_start["2099-05-20T03:00:00Z"].clone(),
            by_start["2099-05-21T02:30:00Z"].clone()
        ]
    );
    // An RFC 3339 `date_to` includes its own instant.
    let until = c
        .app
        .get(
            "/api/v1/appointments?date_from=2099-05-20T03:00:00Z&date_to=2099-05-21T02:30:00Z",
            &c.agent,
        )
        .await
        .expect(200);
    assert_eq!(ids(&until), ids(&day));
}

// ---------------------------------------------------------------- roles and tenants

/// Every appointment endpoint: an attendant (the minimum role) succeeds; no token and an
/// `X-Tenant` that differs from the token are 401; another tenant's id is 404.
#[tokio::test]
async fn every_appointment_endpoint_needs_a_token_of_its_tenant() {
    let c = clinic().await;
    c.app.create_tenant("other").await;
    let other_owner = c.app.owner("other").await;
    let conflicts = format!(
        "/api/v1/appointments/conflicts?user_id={}&scheduled_at=2099-01-01T10:00:00Z",
        c.agent.user_id
    );
    // (method, path, body, whether the path holds an appointment id, needs a started one)
    let rows: Vec<(Method, String, Option<Value>, bool, bool)> = vec![
        (Method::GET, "/api/v1/appointments".into(), None, false, false),
        (
            Method::POST,
            "/api/v1/appointments".into(),
            Some(json!({})),
            false,
            false,
        ),
        (Method::GET, conflicts, None, false, false),
        (Method::GET, "/api/v1/appointments/{id}".into(), None, true, false),
        (
            Method::PUT,
            "/api/v1/appointments/{id}".into(),
            Some(json!({"title": "Novo"})),
            true,
            false,
        ),
        (
            Method::POST,
            "/api/v1/appointments/{id}/confirm".into(),
            None,
            true,
            false,
        ),
        (
            Method::POST,
            "/api/v1/appointments/{id}/cancel".into(),
            Some(json!({"reason": "x"})),
            true,
            false,
        ),
        (
            Method::POST,
            "/api/v1/appointments/{id}/complete".into(),
            None,
            true,
            true,
        ),
        (
            Method::POST,
            "/api/v1/appointments/{id}/no-show".into(),
            None,
            true,
            true,
        ),
    ];
    let mut minutes = 60;
    for (method, template, body, has_id, started) in rows {
        minutes += 60;
        let id = if started {
            c.started(5).await
        } else {
            c.booked(minutes).await
        };
        let path = template.replace("{id}", &id);
        let body = match (&method, body) {
            (&Method::POST, Some(b)) if b == json!({}) => Some(booking(&c.department, &minutes_from_now(minutes + 30))),
            (_, b) => b,
        };
        let label = format!("{method} {template}");
        let ok = c.app.request(method.clone(), &path, Some(&c.agent), body.clone()).await;
        assert!(ok.status.is_success(), "{label}: {} {}", ok.status, ok.text);

        let anonymous = c
            .app
            .request(method.clone(), &path, None, body.clone())
            .await
            .expect(401);
        assert_eq!(anonymous.body["errors"]["detail"], "Unauthorized", "{label}");
        let mismatched = Session {
            tenant: "other".into(),
            ..c.agent.clone()
        };
        c.app
            .request(method.clone(), &path, Some(&mismatched), body.clone())
            .await
            .expect(401);
        if has_id {
            let foreign = c
                .app
                .request(method.clone(), &path, Some(&other_owner), body.clone())
                .await;
            assert_eq!(foreign.status, 404, "{label}: {}", foreign.text);
        }
    }
    // Non-UUID and unknown ids are 404 as well; `/conflicts` is not taken for an id.
    c.app.get("/api/v1/appointments/not-a-uuid", &c.agent).await.expect(404);
    c.app
        .get(&format!("/api/v1/appointments/{}", uuid::Uuid::new_v4()), &c.agent)
        .await
        .expect(404);
    c.app
        .post(
            &format!("/api/v1/appointments/{}/confirm", uuid::Uuid::new_v4()),
            &c.agent,
            json!({}),
        )
        .await
        .expect(404);
}

#[tokio::test]
async fn the_openapi_document_describes_every_appointment_endpoint() {
    let c = clinic().await;
    let reply = c
        .app
        .request(Method::GET, "/api/openapi.json", None, None)
        .await
        .expect(200);
    let paths = &reply.body["paths"];
    for (path, method) in [
        ("/api/v1/appointments", "get"),
        ("/api/v1/appointments", "post"),
        ("/api/v1/appointments/conflicts", "get"),
        ("/api/v1/appointments/{id}", "get"),
        ("/api/v1/appointments/{id}", "put"),
        ("/api/v1/appointments/{id}/confirm", "post"),
        ("/api/v1/appointments/{id}/cancel", "post"),
        ("/api/v1/appointments/{id}/complete", "post"),
        ("/api/v1/appointments/{id}/no-show", "post"),
        ("/api/v1/notifications", "get"),
        ("/api/v1/notifications/{id}/read", "post"),
        ("/api/v1/notifications/read-all", "post"),
    ] {
        assert!(paths[path][method].is_object(), "{method} {path} missing");
    }
    assert!(reply.body["components"]["schemas"]["Appointment"]["properties"]["overdue"].is_object());
}

#[tokio::test]
async fn an_appointment_issues_a_reusable_link_for_its_patient_until_one_hour_after_its_end() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let department = app.department(&owner, "Cardio").await;
    app.add_member(&owner, &department, &owner.user_id).await;
    let start = crate::helpers::minutes_from_now(120);
    let appointment = app
        .post(
            "/api/v1/appointments",
            &owner,
            json!({"appointment": {"title": "Retorno", "scheduled_at": start, "duration_minutes": 45,
                   "department_id": department, "customer_name": "Roberto Lima",
                   "customer_email": "roberto@email.com", "customer_phone": "+5511966665544"}}),
        )
        .await
        .expect(201)
        .id();
    let link = app
        .post(
            &format!("/api/v1/appointments/{appointment}/access-link"),
            &owner,
            json!({}),
        )
        .await
        .expect(201);
    let data = link.data();
    assert_eq!(data["reusable"], true);
    assert_eq!(data["status"], "active");
    assert_eq!(data["department_id"], department.as_str());
    assert_eq!(data["customer_name"], "Roberto Lima");
    assert_eq!(data["customer_email"], "roberto@email.com");
    let expected_expiry = voki::time::parse(&start).unwrap() + chrono::Duration::minutes(45 + 60);
    assert_eq!(data["expires_at"], voki::time::format(expected_expiry));
    let url = data["url"].as_str().unwrap().to_string();
    let read = app
        .get(&format!("/api/v1/appointments/{appointment}"), &owner)
        .await
        .expect(200);
    assert_eq!(read.data()["access_link_url"], url.as_str());
    // The patient can use it.
    let token = data["token"].as_str().unwrap();
    let valid = app
        .public_get(&format!("/api/v1/call/{token}/validate"))
        .await
        .expect(200);
    assert_eq!(valid.data()["customer_name"], "Roberto Lima");

    app.post(&format!("/api/v1/appointments/{appointment}/cancel"), &owner, json!({}))
        .await
        .expect(200);
    let refused = app
        .post(
            &format!("/api/v1/appointments/{appointment}/access-link"),
            &owner,
            json!({}),
        )
        .await;
    assert_eq!(
        refused.expect(422).field_errors("status"),
        ["cannot update a cancelled appointment"]
    );
    app.post(
        "/api/v1/appointments/00000000-0000-4000-8000-000000000000/access-link",
        &owner,
        json!({}),
    )
    .await
    .expect(404);
}

// ---------------------------------------------------------------- deferred pages

/// A page is picked from the index alone and its rows are joined afterwards: the page
/// still comes in the list's order (here the reverse of insertion) with every joined
/// field, and consecutive pages neither repeat nor skip a row.
#[tokio::test]
async fn names_and_customers_on_a_page_kept_between_reads_follow_an_edit_at_once() {
    let c = clinic().await;
    c.booked(60).await;
    let names = |reply: &Reply| reply.data()[0]["department_name"].as_str().unwrap().to_string();
    let list = "/api/v1/appointments?page_size=5";
    for _ in 0..3 {
        let reply = c.app.get(list, &c.owner).await.expect(200);
        assert_eq!(names(&reply), "Cardiologia");
    }
    c.app
        .put(
            &format!("/api/v1/departments/{}", c.department),
            &c.owner,
            json!({"department": {"name": "Cardiologia Infantil"}}),
        )
        .await
        .expect(200);
    let reply = c.app.get(list, &c.owner).await.expect(200);
    assert_eq!(names(&reply), "Cardiologia Infantil", "a commit: read again");
    let agent = c.agent.user_id.clone();
    c.app
        .put(
            &format!("/api/v1/users/{agent}"),
            &c.owner,
            json!({"user": {"name": "Dra. Renomeada"}}),
        )
        .await
        .expect(200);
    let reply = c.app.get(list, &c.owner).await.expect(200);
    assert_eq!(reply.data()[0]["user_name"], "Dra. Renomeada");
    let customer = reply.data()[0]["customer_id"].as_str().unwrap().to_string();
    c.app
        .put(
            &format!("/api/v1/customers/{customer}"),
            &c.owner,
            json!({"customer": {"name": "Carlos F. Lima", "email": "carlos@example.com"}}),
        )
        .await
        .expect(200);
    let reply = c.app.get(list, &c.owner).await.expect(200);
    assert_eq!(reply.data()[0]["customer_name"], "Carlos F. Lima");
    assert_eq!(reply.data()[0]["customer_email"], "carlos@example.com");
}

#[tokio::test]
async fn a_page_joined_after_it_is_picked_keeps_the_list_order_and_names() {
    let c = clinic().await;
    let mut booked = Vec::new();
    for hours in (1..=7).rev() {
        booked.push(c.booked(60 * hours).await);
    }
    booked.reverse(); // soonest first, the default order
    let mut paged = Vec::new();
    for page in 1..=4 {
        let reply = c
            .app
            .get(&format!("/api/v1/appointments?page={page}&page_size=2"), &c.owner)
            .await
            .expect(200);
        assert_eq!(reply.body["meta"]["total_count"], 7);
        for appointment in reply.data().as_array().unwrap() {
            assert_eq!(appointment["department_name"], "Cardiologia");
            assert_eq!(appointment["customer_name"], "Carlos Ferreira");
            assert!(appointment["user_name"].as_str().is_some_and(|n| !n.is_empty()));
            paged.push(appointment["id"].as_str().unwrap().to_string());
        }
    }
    assert_eq!(paged, booked);
    let newest_first = c
        .app
        .get("/api/v1/appointments?sort_order=desc&page_size=3", &c.owner)
        .await
        .expect(200);
    let ids: Vec<&str> = newest_first
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [&booked[6], &booked[5], &booked[4]]);
}
