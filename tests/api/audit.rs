//! The audit log and patients' data rights (SPEC §7.5).

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, Session, TestApp, minutes_from_now, multipart_file};

/// The audit rows of one object.
async fn audit_rows(app: &TestApp, session: &Session, object_type: &str, object_id: &str) -> Vec<Value> {
    app.get(
        &format!("/api/v1/audit-log?object_type={object_type}&object_id={object_id}&page_size=100"),
        session,
    )
    .await
    .expect(200)
    .data()
    .as_array()
    .unwrap()
    .clone()
}

fn actions(rows: &[Value]) -> Vec<&str> {
    rows.iter().map(|row| row["action"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn each_create_update_and_delete_writes_one_row_with_its_actor_and_changes() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    // (collection, object_type, create body, update body, changed field, old, new, deletable)
    let cases = [
        (
            "/api/v1/departments",
            "department",
            json!({"name": "Cardio"}),
            json!({"name": "Cardiologia"}),
            "name",
            json!("Cardio"),
            json!("Cardiologia"),
            true,
        ),
        (
            "/api/v1/sectors",
            "sector",
            json!({"name": "North"}),
            json!({"name": "Norte"}),
            "name",
            json!("North"),
            json!("Norte"),
            true,
        ),
        (
            "/api/v1/providers",
            "service_provider",
            json!({"name": "Lab A"}),
            json!({"name": "Lab B"}),
            "name",
            json!("Lab A"),
            json!("Lab B"),
            true,
        ),
        (
            "/api/v1/tags",
            "tag",
            json!({"name": "urgent"}),
            json!({"color": "#ff0000"}),
            "color",
            json!("#6b7280"),
            json!("#ff0000"),
            true,
        ),
        (
            "/api/v1/customers",
            "customer",
            json!({"name": "Ana"}),
            json!({"phone": "+5511999998888"}),
            "phone",
            Value::Null,
            json!("+5511999998888"),
            true,
        ),
        (
            "/api/v1/webhooks",
            "webhook",
            json!({"url": "http://127.0.0.1:9/h", "events": ["call.created"]}),
            json!({"active": false}),
            "active",
            json!(true),
            json!(false),
            true,
        ),
        (
            "/api/v1/users",
            "user",
            json!({"name": "Bia", "email": "bia@acme.test", "password": PASSWORD, "role": "attendant"}),
            json!({"role": "supervisor"}),
            "role",
            json!("attendant"),
            json!("supervisor"),
            false,
        ),
    ];
    for (path, object_type, create, update, field, old, new, deletable) in cases {
        let id = app.post(path, &owner, create).await.expect(201).id();
        app.put(&format!("{path}/{id}"), &owner, update).await.expect(200);
        if deletable {
            app.delete(&format!("{path}/{id}"), &owner).await.expect(204);
        }
        let rows = audit_rows(&app, &owner, object_type, &id).await;
        let mut expected = vec![format!("{object_type}.update"), format!("{object_type}.create")];
        if deletable {
            expected.insert(0, format!("{object_type}.delete"));
        }
        assert_eq!(actions(&rows), expected, "{object_type}: newest first, one row each");
        let update_row = rows
            .iter()
            .find(|r| r["action"] == format!("{object_type}.update"))
            .unwrap();
        assert_eq!(
            update_row["changes"][field],
            json!([old, new]),
            "{object_type}: {update_row}"
        );
        for row in &rows {
            assert_eq!(row["actor_type"], "user");
            assert_eq!(row["actor_id"], owner.user_id.as_str());
            assert_eq!(row["actor_name"], "Owner");
            assert_eq!(row["ip"], "127.0.0.1");
            assert_eq!(row["object_type"], object_type);
        }
        let create_row = rows
            .iter()
            .find(|r| r["action"] == format!("{object_type}.create"))
            .unwrap();
        assert!(
            create_row["changes"]
                .as_object()
                .unwrap()
                .values()
                .all(|v| v[0].is_null())
        );
        let text = serde_json::to_string(&rows).unwrap();
        assert!(!text.contains("\"secret\"") && !text.contains(PASSWORD), "{text}");
    }
    let company = app.get("/api/v1/company", &owner).await.expect(200);
    let company_id = company.data()["id"].as_str().unwrap().to_string();
    app.put(
        "/api/v1/company",
        &owner,
        json!({"company": {"welcome_message": "Olá"}}),
    )
    .await
    .expect(200);
    let rows = audit_rows(&app, &owner, "company", &company_id).await;
    assert_eq!(actions(&rows), ["company.update"]);
    assert_eq!(rows[0]["changes"]["welcome_message"][1], "Olá");
}

#[tokio::test]
async fn actions_on_appointments_links_and_calls_are_audited_by_their_name() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let department = app.department(&owner, "Clínica").await;
    app.add_member(&owner, &department, &owner.user_id).await;
    let appointment = app
        .post(
            "/api/v1/appointments",
            &owner,
            json!({"title": "Consulta", "scheduled_at": minutes_from_now(120), "department_id": department, "customer_name": "Caio"}),
        )
        .await
        .expect(201)
        .id();
    app.post(
        &format!("/api/v1/appointments/{appointment}/cancel"),
        &owner,
        json!({"reason": "ill"}),
    )
    .await
    .expect(200);
    // Repeating the cancel is a no-op: no second row.
    app.post(&format!("/api/v1/appointments/{appointment}/cancel"), &owner, json!({}))
        .await
        .expect(200);
    let rows = audit_rows(&app, &owner, "appointment", &appointment).await;
    assert_eq!(actions(&rows), ["appointment.cancel", "appointment.create"]);
    assert_eq!(rows[0]["changes"]["status"], json!(["scheduled", "cancelled"]));
    assert_eq!(rows[0]["changes"]["cancel_reason"], json!([null, "ill"]));

    let link = app.link(&owner, &department, json!({})).await;
    let link_id = link["id"].as_str().unwrap();
    app.post(&format!("/api/v1/access-links/{link_id}/cancel"), &owner, json!({}))
        .await
        .expect(200);
    let link_rows = audit_rows(&app, &owner, "access_link", link_id).await;
    assert_eq!(actions(&link_rows), ["access_link.cancel", "access_link.create"]);
    let text = serde_json::to_string(&link_rows).unwrap();
    assert!(
        !text.contains(link["token"].as_str().unwrap()),
        "the token is never logged: {text}"
    );

    // The widget acts as the customer; staff actions as the user.
    let call = app.queued_call(&owner, &department, "Dora").await;
    app.post(&format!("/api/v1/calls/{call}/assign"), &owner, json!({}))
        .await
        .expect(200);
    let call_rows = audit_rows(&app, &owner, "call", &call).await;
    assert_eq!(actions(&call_rows), ["call.assign", "call.create"]);
    assert_eq!(call_rows[1]["actor_type"], "customer");
    assert_eq!(call_rows[0]["actor_type"], "user");
    assert_eq!(call_rows[0]["changes"]["user_id"], json!([null, owner.user_id]));
}

#[tokio::test]
async fn api_key_actions_name_the_key_and_key_management_is_audited_without_the_key() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let reply = app
        .post("/api/v1/api-keys", &owner, json!({"name": "ERP", "role": "attendant"}))
        .await
        .expect(201);
    let (key_id, key) = (reply.id(), reply.data()["key"].as_str().unwrap().to_string());
    let created = app
        .client
        .post(format!("{}/api/v1/customers", app.base))
        .bearer_auth(&key)
        .json(&json!({"name": "Via ERP"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let customer: Value = created.json().await.unwrap();
    let rows = audit_rows(&app, &owner, "customer", customer["data"]["id"].as_str().unwrap()).await;
    assert_eq!(rows[0]["actor_type"], "api_key");
    assert_eq!(rows[0]["actor_id"], key_id.as_str());
    assert_eq!(rows[0]["actor_name"], "ERP");
    let by_actor = app
        .get(&format!("/api/v1/audit-log?actor_id={key_id}"), &owner)
        .await
        .expect(200);
    assert_eq!(by_actor.body["meta"]["total_count"], 1);

    app.delete(&format!("/api/v1/api-keys/{key_id}"), &owner)
        .await
        .expect(204);
    let key_rows = rows_of_key(&app, &owner, &key_id).await;
    assert!(!key_rows.contains(&key) && !key_rows.contains("key_hash"), "{key_rows}");
    assert!(key_rows.contains("api_key.create") && key_rows.contains("api_key.delete"));
}

async fn rows_of_key(app: &TestApp, owner: &Session, key_id: &str) -> String {
    serde_json::to_string(&audit_rows(app, owner, "api_key", key_id).await).unwrap()
}

#[tokio::test]
async fn a_rolled_back_write_leaves_no_audit_row() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let db = app.tenant_db("acme").await;
    let failed = db
        .write(|conn| {
            let fields = voki::customers::store::CustomerFields {
                name: Some("Never".into()),
                ..Default::default()
            };
            voki::customers::store::create(conn, &fields)?;
            Err::<(), _>(voki::error::ApiError::Unprocessable("changed my mind".into()))
        })
        .await;
    assert!(failed.is_err());
    let log = app
        .get("/api/v1/audit-log?object_type=customer", &owner)
        .await
        .expect(200);
    assert_eq!(log.body["meta"]["total_count"], 0, "{}", log.text);
    // A refused request (422) writes nothing either.
    app.post("/api/v1/customers", &owner, json!({"name": ""}))
        .await
        .expect(422);
    let log = app
        .get("/api/v1/audit-log?object_type=customer", &owner)
        .await
        .expect(200);
    assert_eq!(log.body["meta"]["total_count"], 0);
}

#[tokio::test]
async fn a_password_change_row_has_no_password() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let new_password = "a-brand-new-password-9";
    app.put(
        "/api/v1/users/me/password",
        &owner,
        json!({"current_password": crate::helpers::OWNER_PASSWORD, "new_password": new_password}),
    )
    .await
    .expect(200);
    let rows = audit_rows(&app, &owner, "user", &owner.user_id).await;
    // The owner was created by `tenant create`, outside any request: the system.
    assert_eq!(actions(&rows), ["user.update", "user.create"]);
    assert_eq!(rows[1]["actor_type"], "system");
    assert_eq!(rows[0]["changes"]["password_changed"], json!([null, true]));
    let text = serde_json::to_string(&rows).unwrap();
    for secret in [new_password, crate::helpers::OWNER_PASSWORD, "argon2", "password_hash"] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
}

#[tokio::test]
async fn reading_a_customer_is_audited_as_customer_view() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let attendant = app.user(&owner, "attendant").await;
    let id = app
        .post("/api/v1/customers", &owner, json!({"name": "Eva"}))
        .await
        .expect(201)
        .id();
    app.get(&format!("/api/v1/customers/{id}"), &attendant)
        .await
        .expect(200);
    let log = app
        .get(
            &format!("/api/v1/audit-log?action=customer.view&object_id={id}"),
            &owner,
        )
        .await
        .expect(200);
    assert_eq!(log.body["meta"]["total_count"], 1);
    assert_eq!(log.data()[0]["actor_id"], attendant.user_id.as_str());
    // Listing customers is not a read of one record.
    app.get("/api/v1/customers", &attendant).await.expect(200);
    let log = app
        .get("/api/v1/audit-log?action=customer.view", &owner)
        .await
        .expect(200);
    assert_eq!(log.body["meta"]["total_count"], 1);
}

#[tokio::test]
async fn the_audit_log_is_for_managers_newest_first_filtered_and_read_only() {
    let app = TestApp::spawn().await;
    app.create_tenant("other").await;
    let owner = app.owner("acme").await;
    let supervisor = app.user(&owner, "supervisor").await;
    let manager = app.user(&owner, "manager").await;
    for name in ["first", "second", "third"] {
        app.post("/api/v1/tags", &owner, json!({"name": name}))
            .await
            .expect(201);
    }
    app.get("/api/v1/audit-log", &supervisor).await.expect(403);
    let log = app
        .get("/api/v1/audit-log?object_type=tag&page_size=2", &manager)
        .await
        .expect(200);
    assert_eq!(log.body["meta"]["total_count"], 3);
    assert_eq!(log.body["meta"]["total_pages"], 2);
    assert_eq!(log.data()[0]["changes"]["name"][1], "third", "newest first");
    assert_eq!(log.data()[1]["changes"]["name"][1], "second");
    let today = app
        .get(
            "/api/v1/audit-log?object_type=tag&date_from=2000-01-01&date_to=2000-01-02",
            &manager,
        )
        .await;
    assert_eq!(today.expect(200).body["meta"]["total_count"], 0);
    app.get("/api/v1/audit-log?date_from=yesterday", &manager)
        .await
        .expect(400);
    app.get("/api/v1/audit-log?sort_by=actor", &manager).await.expect(422);
    // Another tenant sees only its own rows.
    let other = app.owner("other").await;
    let theirs = app.get("/api/v1/audit-log?object_type=tag", &other).await.expect(200);
    assert_eq!(theirs.body["meta"]["total_count"], 0);
    // No endpoint edits or deletes rows.
    let id = log.data()[0]["id"].as_str().unwrap().to_string();
    for method in [Method::PUT, Method::DELETE, Method::POST] {
        let reply = app
            .request(
                method.clone(),
                &format!("/api/v1/audit-log/{id}"),
                Some(&owner),
                Some(json!({})),
            )
            .await;
        assert!(reply.status == 404 || reply.status == 405, "{method}: {}", reply.status);
    }
    // Nor can SQL: the table refuses it.
    let db = app.tenant_db("acme").await;
    let refused = db
        .write(move |conn| Ok(conn.execute("DELETE FROM audit_log WHERE id = ?1", [&id])?))
        .await;
    assert!(refused.is_err());
}

/// The report figures a patient's erasure must not change.
async fn figures(app: &TestApp, owner: &Session) -> (Value, Value) {
    let overview = app
        .get("/api/v1/analytics/overview", owner)
        .await
        .expect(200)
        .data()
        .clone();
    let stats = app
        .get("/api/v1/evaluations/stats", owner)
        .await
        .expect(200)
        .data()
        .clone();
    (overview, stats)
}

/// A patient with an appointment, a completed call with chat, a rating and a file.
struct Patient {
    id: String,
    call: String,
    name: &'static str,
    email: &'static str,
    phone: &'static str,
}

async fn patient_with_history(app: &TestApp, owner: &Session) -> Patient {
    let department = app.department(owner, "Clínica").await;
    app.add_member(owner, &department, &owner.user_id).await;
    app.post(
        "/api/v1/webhooks",
        owner,
        json!({"url": "http://127.0.0.1:9/h", "events": ["call.created", "customer.created"]}),
    )
    .await
    .expect(201);
    let (name, email, phone) = ("Ana Lima Sigilo", "ana.sigilo@patients.test", "+5511988887777");
    let link = app
        .link(
            owner,
            &department,
            json!({"customer_name": name, "customer_email": email, "customer_phone": phone}),
        )
        .await;
    let joined = app
        .public_post(
            &format!("/api/v1/call/{}/join", link["token"].as_str().unwrap()),
            json!({"name": name, "email": email, "phone": phone, "reason": "dor no peito"}),
        )
        .await
        .expect(200);
    let call = joined.data()["call_id"].as_str().unwrap().to_string();
    for action in ["assign", "start"] {
        app.post(&format!("/api/v1/calls/{call}/{action}"), owner, json!({}))
            .await
            .expect(200);
    }
    app.post(
        &format!("/api/v1/calls/{call}/messages"),
        owner,
        json!({"body": "Olá Ana Lima Sigilo, como está?"}),
    )
    .await
    .expect(201);
    let (content_type, body) = multipart_file("file", "exame.pdf", "application/pdf", b"%PDF secret scan");
    app.raw(
        Method::POST,
        &format!("/api/v1/calls/{call}/upload"),
        owner,
        &content_type,
        body,
    )
    .await
    .expect(201);
    app.post(&format!("/api/v1/calls/{call}/complete"), owner, json!({}))
        .await
        .expect(200);
    app.public_post(
        &format!("/api/v1/call/evaluate/{call}"),
        json!({"rating": 4, "comment": "Ana Lima Sigilo adorou"}),
    )
    .await
    .expect(201);
    let customer = app
        .get(&format!("/api/v1/calls/{call}"), owner)
        .await
        .expect(200)
        .data()["customer_id"]
        .as_str()
        .unwrap()
        .to_string();
    app.post(
        "/api/v1/appointments",
        owner,
        json!({"title": "Retorno", "scheduled_at": minutes_from_now(600), "department_id": department, "customer_id": customer}),
    )
    .await
    .expect(201);
    Patient {
        id: customer,
        call,
        name,
        email,
        phone,
    }
}

#[tokio::test]
async fn export_contains_the_patients_appointments_calls_chat_evaluations_and_files() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let patient = patient_with_history(&app, &owner).await;
    let export = app
        .get(&format!("/api/v1/customers/{}/export", patient.id), &owner)
        .await
        .expect(200);
    let data = export.data();
    assert_eq!(data["customer"]["email"], patient.email);
    assert_eq!(data["appointments"][0]["title"], "Retorno");
    assert_eq!(data["calls"][0]["id"], patient.call.as_str());
    assert_eq!(data["calls"][0]["files"][0]["filename"], "exame.pdf");
    assert_eq!(data["chat_messages"][0]["body"], "Olá Ana Lima Sigilo, como está?");
    assert_eq!(data["evaluations"][0]["rating"], 4);
    let log = app
        .get("/api/v1/audit-log?action=customer.export", &owner)
        .await
        .expect(200);
    assert_eq!(log.body["meta"]["total_count"], 1);

    let supervisor = app.user(&owner, "supervisor").await;
    app.get(&format!("/api/v1/customers/{}/export", patient.id), &supervisor)
        .await
        .expect(403);
    app.post(
        &format!("/api/v1/customers/{}/erase", patient.id),
        &supervisor,
        json!({}),
    )
    .await
    .expect(403);
    app.create_tenant("other").await;
    let other = app.owner("other").await;
    app.get(&format!("/api/v1/customers/{}/export", patient.id), &other)
        .await
        .expect(404);
    app.post(&format!("/api/v1/customers/{}/erase", patient.id), &other, json!({}))
        .await
        .expect(404);
    app.get("/api/v1/customers/not-a-uuid/export", &owner).await.expect(404);
}

#[tokio::test]
async fn erase_removes_the_patients_data_from_every_table_and_file_and_keeps_the_figures() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let patient = patient_with_history(&app, &owner).await;
    let before = figures(&app, &owner).await;
    let files_dir = app.dir.path().join("files").join("acme").join(&patient.call);
    assert_eq!(std::fs::read_dir(&files_dir).unwrap().count(), 1);

    let erased = app
        .post(&format!("/api/v1/customers/{}/erase", patient.id), &owner, json!({}))
        .await
        .expect(200);
    assert_eq!(erased.data()["name"], "Erased customer");
    assert!(erased.data()["email"].is_null() && erased.data()["phone"].is_null());
    assert_eq!(figures(&app, &owner).await, before, "figures unchanged");
    assert_eq!(
        std::fs::read_dir(&files_dir).map(|d| d.count()).unwrap_or(0),
        0,
        "files removed"
    );
    let call = app
        .get(&format!("/api/v1/calls/{}", patient.call), &owner)
        .await
        .expect(200);
    assert_eq!(call.data()["status"], "completed");
    assert_eq!(call.data()["customer_name"], "Erased customer");

    // No table holds the name, e-mail or phone any more.
    let db = app.tenant_db("acme").await;
    let needles = [patient.name, patient.email, patient.phone, "5511988887777", "Sigilo"];
    let found = db
        .read(move |conn| {
            let tables: Vec<String> = conn
                .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")?
                .query_map([], |row| row.get(0))?
                .collect::<Result<_, _>>()?;
            let mut found = Vec::new();
            for table in tables {
                let mut statement = conn.prepare(&format!("SELECT * FROM \"{table}\""))?;
                let columns = statement.column_count();
                let mut cursor = statement.query([])?;
                while let Some(row) = cursor.next()? {
                    for index in 0..columns {
                        if let Ok(Some(text)) = row.get::<_, Option<String>>(index)
                            && needles.iter().any(|needle| text.contains(needle))
                        {
                            found.push(format!("{table}: {text}"));
                        }
                    }
                }
            }
            Ok(found)
        })
        .await
        .unwrap();
    assert!(found.is_empty(), "personal data left: {found:#?}");
    let log = app
        .get("/api/v1/audit-log?action=customer.erase", &owner)
        .await
        .expect(200);
    assert_eq!(log.body["meta"]["total_count"], 1);
    assert_eq!(log.data()[0]["changes"]["email"], json!(["[erased]", null]));
}
