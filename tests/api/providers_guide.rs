//! The seed's service-providers guide, replayed as written (SPEC §4.3), in both
//! languages, ending with the ABC Hospital structure and the permission table.

use serde_json::json;

use crate::helpers::{Session, TestApp};

/// Steps 1–4 of the guide with the given example bodies; returns (provider id, user id).
async fn configuration_flow(
    app: &TestApp,
    manager: &Session,
    department_id: &str,
    provider: serde_json::Value,
    user: serde_json::Value,
) -> (String, String) {
    // 1. Create the provider (manager role).
    let created = app
        .post("/api/v1/providers", manager, provider.clone())
        .await
        .expect(201);
    let wanted = &provider["service_provider"];
    for field in ["name", "document", "email", "phone"] {
        assert_eq!(created.data()[field], wanted[field], "{field}");
    }
    assert_eq!(created.data()["active"], true);
    assert_eq!(created.data()["user_count"], 0);
    let provider_id = created.id();

    // 2. Create a user for the professional.
    let user = app.post("/api/v1/users", manager, user).await.expect(201);
    assert_eq!(user.data()["role"], "attendant");
    assert!(user.data().get("password").is_none());
    let user_id = user.id();

    // 3. Associate the user with the provider (unwrapped body).
    let associated = app
        .post(
            &format!("/api/v1/providers/{provider_id}/users"),
            manager,
            json!({"user_id": user_id}),
        )
        .await
        .expect(200);
    assert_eq!(associated.data()["provider_id"], provider_id.as_str());
    assert_eq!(associated.data()["provider_name"], wanted["name"]);

    // 4. Add to a department, so the professional receives that department's calls.
    app.post(
        &format!("/api/v1/departments/{department_id}/users"),
        manager,
        json!({"user_id": user_id}),
    )
    .await
    .expect(200);
    (provider_id, user_id)
}

#[tokio::test]
async fn the_providers_guide_works_as_written_in_french() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let manager = app.user(&owner, "manager").await;
    let department = app.department(&manager, "Télémédecine Cardiologie").await;
    let (provider_id, user_id) = configuration_flow(
        &app,
        &manager,
        &department,
        json!({"service_provider": {
            "name": "Clinique Dr. Silva",
            "document": "11.222.333/0001-44",
            "email": "contact@cliniquesilva.com.br",
            "phone": "+5511977776666"
        }}),
        json!({"user": {
            "name": "Dr. Carlos Silva",
            "email": "carlos@cliniquesilva.com.br",
            "password": "motDePasseTemporaire123",
            "role": "attendant"
        }}),
    )
    .await;
    let provider = app
        .get(&format!("/api/v1/providers/{provider_id}"), &manager)
        .await
        .expect(200);
    assert_eq!(provider.data()["user_count"], 1);
    let member = app.get(&format!("/api/v1/users/{user_id}"), &manager).await.expect(200);
    assert_eq!(member.data()["department_ids"], json!([department]));
    // The professional can log in with the temporary password.
    app.login("acme", "carlos@cliniquesilva.com.br", "motDePasseTemporaire123")
        .await;
}

#[tokio::test]
async fn the_abc_hospital_example_structure_holds() {
    let app = TestApp::spawn().await;
    app.create_tenant("hospital-abc").await;
    let owner = app.owner("hospital-abc").await;
    let manager = app.user(&owner, "manager").await;
    let cardiology = app.department(&manager, "Cardiology Telemedicine").await;

    let (silva, carlos) = configuration_flow(
        &app,
        &manager,
        &cardiology,
        json!({"service_provider": {
            "name": "Dr. Silva Clinic",
            "document": "11.222.333/0001-44",
            "email": "contact@silvaClinic.com.br",
            "phone": "+5511977776666"
        }}),
        json!({"user": {
            "name": "Dr. Carlos Silva",
            "email": "carlos@silvaclinic.com.br",
            "password": "temporaryPassword123",
            "role": "attendant"
        }}),
    )
    .await;
    // Dr. Paulo belongs to Silva Clinic but to no department.
    let paulo = app
        .post(
            "/api/v1/users",
            &manager,
            json!({"user": {"name": "Dr. Paulo", "email": "paulo@silvaclinic.com.br", "password": "temporaryPassword123", "role": "attendant"}}),
        )
        .await
        .expect(201)
        .id();
    app.post(
        &format!("/api/v1/providers/{silva}/users"),
        &manager,
        json!({"user_id": paulo}),
    )
    .await
    .expect(200);
    // Santos Clinic with Dr. Maria, in cardiology.
    let (santos, maria) = configuration_flow(
        &app,
        &manager,
        &cardiology,
        json!({"service_provider": {"name": "Santos Clinic", "document": "98.765.432/0001-10", "email": "contato@santos.com.br", "phone": "+5511988887777"}}),
        json!({"user": {"name": "Dr. Maria", "email": "maria@santos.com.br", "password": "temporaryPassword123", "role": "attendant"}}),
    )
    .await;
    // Dr. John is an employee: in cardiology, with no provider.
    let john = app
        .post(
            "/api/v1/users",
            &manager,
            json!({"user": {"name": "Dr. John", "email": "john@hospital.test", "password": "temporaryPassword123", "role": "attendant"}}),
        )
        .await
        .expect(201)
        .id();
    app.post(
        &format!("/api/v1/departments/{cardiology}/users"),
        &manager,
        json!({"user_id": john}),
    )
    .await
    .expect(200);

    let members = app
        .get(&format!("/api/v1/departments/{cardiology}/users"), &manager)
        .await
        .expect(200);
    let by_name: Vec<(String, serde_json::Value)> = members
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|u| (u["name"].as_str().unwrap().to_string(), u["provider_name"].clone()))
        .collect();
    assert_eq!(
        by_name,
        vec![
            ("Dr. Carlos Silva".to_string(), json!("Dr. Silva Clinic")),
            ("Dr. John".to_string(), json!(null)),
            ("Dr. Maria".to_string(), json!("Santos Clinic")),
        ]
    );
    let silva_users = app
        .get(&format!("/api/v1/providers/{silva}/users"), &manager)
        .await
        .expect(200);
    let mut ids: Vec<&str> = silva_users
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap())
        .collect();
    ids.sort();
    let mut expected = vec![carlos.as_str(), paulo.as_str()];
    expected.sort();
    assert_eq!(ids, expected);
    let santos_users = app
        .get(&format!("/api/v1/providers/{santos}/users"), &manager)
        .await
        .expect(200);
    assert_eq!(santos_users.body["meta"]["total_count"], 1);
    assert_eq!(santos_users.data()[0]["id"], maria.as_str());
    let department = app
        .get(&format!("/api/v1/departments/{cardiology}"), &manager)
        .await
        .expect(200);
    assert_eq!(department.data()["user_count"], 3);
}

#[tokio::test]
async fn the_guides_permission_table() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let manager = app.user(&owner, "manager").await;
    let supervisor = app.user(&owner, "supervisor").await;
    let attendant = app.user(&owner, "attendant").await;
    let provider = app
        .post(
            "/api/v1/providers",
            &manager,
            json!({"service_provider": {"name": "Clinic", "document": "12345678900"}}),
        )
        .await
        .expect(201)
        .id();
    let path = format!("/api/v1/providers/{provider}");
    let users_path = format!("{path}/users");

    // List and view: supervisor and up.
    app.get("/api/v1/providers", &supervisor).await.expect(200);
    app.get(&path, &supervisor).await.expect(200);
    app.get(&users_path, &supervisor).await.expect(200);
    app.get("/api/v1/providers", &attendant).await.expect(403);
    app.get(&path, &attendant).await.expect(403);

    // Create, edit, delete, associate: manager and up.
    let body = json!({"service_provider": {"name": "Other"}});
    app.post("/api/v1/providers", &supervisor, body.clone())
        .await
        .expect(403);
    app.put(&path, &supervisor, json!({"name": "Renamed"}))
        .await
        .expect(403);
    app.delete(&path, &supervisor).await.expect(403);
    app.post(&users_path, &supervisor, json!({"user_id": attendant.user_id}))
        .await
        .expect(403);
    app.delete(&format!("{users_path}/{}", attendant.user_id), &supervisor)
        .await
        .expect(403);

    app.put(&path, &manager, json!({"provider": {"name": "Renamed"}}))
        .await
        .expect(200);
    app.post(&users_path, &manager, json!({"user_id": attendant.user_id}))
        .await
        .expect(200);
    app.delete(&format!("{users_path}/{}", attendant.user_id), &manager)
        .await
        .expect(204);
    app.delete(&path, &manager).await.expect(204);
    app.get(&path, &manager).await.expect(404);
}

#[tokio::test]
async fn provider_document_must_have_11_or_14_digits() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    for ok in ["11.222.333/0001-44", "11222333000144", "123.456.789-00"] {
        let reply = app
            .post("/api/v1/providers", &owner, json!({"name": "P", "document": ok}))
            .await
            .expect(201);
        assert_eq!(reply.data()["document"], ok, "stored as given");
    }
    let bad = app
        .post(
            "/api/v1/providers",
            &owner,
            json!({"name": "P", "document": "11.222.333/0001"}),
        )
        .await
        .expect(422);
    assert!(!bad.field_errors("document").is_empty());
}

#[tokio::test]
async fn a_user_belongs_to_at_most_one_provider() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let agent = app.user(&owner, "attendant").await;
    let first = app
        .post("/api/v1/providers", &owner, json!({"name": "First"}))
        .await
        .expect(201)
        .id();
    let second = app
        .post("/api/v1/providers", &owner, json!({"name": "Second"}))
        .await
        .expect(201)
        .id();
    app.post(
        &format!("/api/v1/providers/{first}/users"),
        &owner,
        json!({"user_id": agent.user_id}),
    )
    .await
    .expect(200);
    // Repeating the association is 200 as well.
    app.post(
        &format!("/api/v1/providers/{first}/users"),
        &owner,
        json!({"user_id": agent.user_id}),
    )
    .await
    .expect(200);
    let other = app
        .post(
            &format!("/api/v1/providers/{second}/users"),
            &owner,
            json!({"user_id": agent.user_id}),
        )
        .await
        .expect(422);
    assert!(!other.field_errors("user_id").is_empty());
    // Deleting a provider without history dissociates its users.
    app.delete(&format!("/api/v1/providers/{first}"), &owner)
        .await
        .expect(204);
    let user = app
        .get(&format!("/api/v1/users/{}", agent.user_id), &owner)
        .await
        .expect(200);
    assert_eq!(user.data()["provider_id"], serde_json::Value::Null);
}

#[tokio::test]
async fn deactivating_a_provider_keeps_it_listed() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let id = app
        .post("/api/v1/providers", &owner, json!({"name": "Leaving"}))
        .await
        .expect(201)
        .id();
    let reply = app
        .put(&format!("/api/v1/providers/{id}"), &owner, json!({"active": false}))
        .await
        .expect(200);
    assert_eq!(reply.data()["active"], false);
    let inactive = app.get("/api/v1/providers?active=false", &owner).await.expect(200);
    assert_eq!(inactive.body["meta"]["total_count"], 1);
}
