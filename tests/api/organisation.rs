//! Users, departments, sectors and company settings (SPEC §4.1, §4.2, §4.8).

use serde_json::{Value, json};

use crate::helpers::TestApp;

#[tokio::test]
async fn user_object_has_the_spec_fields_and_never_a_password() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let reply = app.get("/api/v1/users/me", &owner).await.expect(200);
    let keys: Vec<&str> = reply.data().as_object().unwrap().keys().map(String::as_str).collect();
    for field in [
        "id",
        "name",
        "email",
        "role",
        "active",
        "avatar_url",
        "mfa_enabled",
        "locale",
        "provider_id",
        "provider_name",
        "department_ids",
        "last_login_at",
        "inserted_at",
        "updated_at",
    ] {
        assert!(keys.contains(&field), "{field} missing");
    }
    assert!(!reply.text.contains("argon2"), "no hash in the body");
    assert!(reply.data()["last_login_at"].is_string());
}

#[tokio::test]
async fn users_edit_only_their_own_name_locale_and_avatar_through_me() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let agent = app.user(&owner, "attendant").await;
    let reply = app
        .put(
            "/api/v1/users/me",
            &agent,
            json!({"user": {"name": "New Name", "locale": "en-US", "avatar_url": "https://cdn.test/a.png", "role": "owner", "email": "x@y.test"}}),
        )
        .await
        .expect(200);
    assert_eq!(reply.data()["name"], "New Name");
    assert_eq!(reply.data()["locale"], "en-US");
    assert_eq!(reply.data()["avatar_url"], "https://cdn.test/a.png");
    assert_eq!(reply.data()["role"], "attendant", "role is not writable through /me");
    assert_eq!(reply.data()["email"], agent.email.as_str());
    let cleared = app
        .put("/api/v1/users/me", &agent, json!({"avatar_url": null}))
        .await
        .expect(200);
    assert_eq!(cleared.data()["avatar_url"], Value::Null);
}

/// Every staff screen shows times in the company's zone: `/users/me` carries it (and the
/// company's language and the user's departments by name) for any role, while the
/// company settings and the department list stay with higher roles.
#[tokio::test]
async fn users_me_carries_the_company_time_zone_and_locale_for_every_role() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    app.put(
        "/api/v1/company",
        &owner,
        json!({"company": {"timezone": "Europe/Paris", "locale": "fr"}}),
    )
    .await
    .expect(200);
    let agent = app.user(&owner, "attendant").await;
    let me = app.get("/api/v1/users/me", &agent).await.expect(200);
    assert_eq!(me.data()["company_timezone"], "Europe/Paris");
    assert_eq!(me.data()["company_locale"], "fr");
    assert_eq!(me.data()["id"], agent.user_id.as_str());
    app.get("/api/v1/company", &agent).await.expect(403);
    // And the names of their departments, which they may not list.
    let department = app.department(&owner, "Pediatria").await;
    app.add_member(&owner, &department, &agent.user_id).await;
    let me = app.get("/api/v1/users/me", &agent).await.expect(200);
    assert_eq!(
        me.data()["departments"],
        json!([{"id": department, "name": "Pediatria"}])
    );
    app.get("/api/v1/departments", &agent).await.expect(403);
}

#[tokio::test]
async fn users_list_filters_by_role_active_and_search() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    app.user(&owner, "attendant").await;
    let leaving = app.user(&owner, "attendant").await;
    app.user(&owner, "supervisor").await;
    app.put(
        &format!("/api/v1/users/{}", leaving.user_id),
        &owner,
        json!({"active": false}),
    )
    .await
    .expect(200);
    let count = |reply: crate::helpers::Reply| reply.body["meta"]["total_count"].as_i64().unwrap();
    assert_eq!(
        count(app.get("/api/v1/users?role=attendant", &owner).await.expect(200)),
        2
    );
    assert_eq!(
        count(
            app.get("/api/v1/users?role=attendant&active=true", &owner)
                .await
                .expect(200)
        ),
        1
    );
    assert_eq!(
        count(app.get("/api/v1/users?search=SUPERVISOR-", &owner).await.expect(200)),
        1
    );
    assert_eq!(
        count(
            app.get("/api/v1/users?sort_by=email&sort_order=desc", &owner)
                .await
                .expect(200)
        ),
        4
    );
    app.get("/api/v1/users?role=boss", &owner).await.expect(422);
}

#[tokio::test]
async fn users_cannot_change_their_own_role_or_deactivate_themselves() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let path = format!("/api/v1/users/{}", owner.user_id);
    let reply = app
        .put(&path, &owner, json!({"role": "attendant", "active": false}))
        .await
        .expect(422);
    assert_eq!(reply.field_errors("role"), ["cannot change your own role"]);
    assert_eq!(reply.field_errors("active"), ["cannot deactivate yourself"]);
}

#[tokio::test]
async fn a_password_set_by_a_manager_ends_the_users_sessions() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let agent = app.user(&owner, "attendant").await;
    app.put(
        &format!("/api/v1/users/{}", agent.user_id),
        &owner,
        json!({"password": "brand-new-password"}),
    )
    .await
    .expect(200);
    let refreshed = app
        .request(
            reqwest::Method::POST,
            "/api/auth/refresh",
            None,
            Some(json!({"refresh_token": agent.refresh_token})),
        )
        .await;
    assert_eq!(refreshed.status, 401);
    app.login("acme", &agent.email, "brand-new-password").await;
}

#[tokio::test]
async fn department_identifier_is_generated_unique_and_ascii() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let first = app
        .post("/api/v1/departments", &owner, json!({"name": "Suporte Técnico"}))
        .await
        .expect(201);
    assert_eq!(first.data()["identifier"], "suporte-tecnico");
    let second = app
        .post("/api/v1/departments", &owner, json!({"name": "Suporte técnico"}))
        .await
        .expect(201);
    assert_eq!(second.data()["identifier"], "suporte-tecnico-2");
    let third = app
        .post("/api/v1/departments", &owner, json!({"name": "Suporte Tecnico"}))
        .await
        .expect(201);
    assert_eq!(third.data()["identifier"], "suporte-tecnico-3");
    let taken = app
        .post(
            "/api/v1/departments",
            &owner,
            json!({"name": "X", "identifier": "suporte-tecnico"}),
        )
        .await
        .expect(422);
    assert_eq!(taken.field_errors("identifier"), ["has already been taken"]);
    let invalid = app
        .post(
            "/api/v1/departments",
            &owner,
            json!({"name": "X", "identifier": "Not A Slug"}),
        )
        .await;
    assert_eq!(invalid.expect(422).field_errors("identifier"), ["has invalid format"]);
}

#[tokio::test]
async fn department_defaults_and_limits() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let reply = app
        .post(
            "/api/v1/departments",
            &owner,
            json!({"department": {"name": "Cardio", "description": "Heart"}}),
        )
        .await
        .expect(201);
    let data = reply.data();
    assert_eq!(data["max_queue_size"], 0);
    assert_eq!(data["max_wait_time"], 0);
    assert_eq!(data["active"], true);
    assert_eq!(data["sector_id"], Value::Null);
    assert_eq!(data["user_count"], 0);
    let negative = app
        .post("/api/v1/departments", &owner, json!({"name": "X", "max_wait_time": -1}))
        .await
        .expect(422);
    assert_eq!(
        negative.field_errors("max_wait_time"),
        ["must be greater than or equal to 0"]
    );
}

#[tokio::test]
async fn department_membership_is_idempotent() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let agent = app.user(&owner, "attendant").await;
    let department = app.department(&owner, "Cardio").await;
    let path = format!("/api/v1/departments/{department}/users");
    app.post(&path, &owner, json!({"user_id": agent.user_id}))
        .await
        .expect(200);
    app.post(&path, &owner, json!({"user_id": agent.user_id}))
        .await
        .expect(200);
    let members = app.get(&path, &owner).await.expect(200);
    assert_eq!(members.body["meta"]["total_count"], 1);
    let me = app.get("/api/v1/users/me", &agent).await.expect(200);
    assert_eq!(me.data()["department_ids"], json!([department]));
    app.delete(&format!("{path}/{}", agent.user_id), &owner)
        .await
        .expect(204);
    app.delete(&format!("{path}/{}", agent.user_id), &owner)
        .await
        .expect(204);
    let members = app.get(&path, &owner).await.expect(200);
    assert_eq!(members.body["meta"]["total_count"], 0);
    let missing = app.post(&path, &owner, json!({})).await.expect(422);
    assert_eq!(missing.field_errors("user_id"), ["can't be blank"]);
}

#[tokio::test]
async fn deleting_a_sector_leaves_its_departments_without_a_sector() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let sector = app
        .post(
            "/api/v1/sectors",
            &owner,
            json!({"sector": {"name": "Comercial", "description": "Vendas"}}),
        )
        .await
        .expect(201);
    assert_eq!(sector.data()["department_count"], 0);
    let sector = sector.id();
    let department = app
        .post(
            "/api/v1/departments",
            &owner,
            json!({"department": {"name": "Cardio", "sector_id": sector}}),
        )
        .await
        .expect(201);
    assert_eq!(department.data()["sector_name"], "Comercial");
    let department = department.id();
    let counted = app.get(&format!("/api/v1/sectors/{sector}"), &owner).await.expect(200);
    assert_eq!(counted.data()["department_count"], 1);
    app.delete(&format!("/api/v1/sectors/{sector}"), &owner)
        .await
        .expect(204);
    let after = app
        .get(&format!("/api/v1/departments/{department}"), &owner)
        .await
        .expect(200);
    assert_eq!(after.data()["sector_id"], Value::Null);
    app.get(&format!("/api/v1/sectors/{sector}"), &owner).await.expect(404);
}

#[tokio::test]
async fn a_department_can_be_moved_out_of_its_sector_and_deleted() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let sector = app
        .post("/api/v1/sectors", &owner, json!({"name": "S"}))
        .await
        .expect(201)
        .id();
    let department = app
        .post("/api/v1/departments", &owner, json!({"name": "D", "sector_id": sector}))
        .await
        .expect(201)
        .id();
    let moved = app
        .put(
            &format!("/api/v1/departments/{department}"),
            &owner,
            json!({"sector_id": null}),
        )
        .await;
    assert_eq!(moved.expect(200).data()["sector_id"], Value::Null);
    app.delete(&format!("/api/v1/departments/{department}"), &owner)
        .await
        .expect(204);
    app.get(&format!("/api/v1/departments/{department}"), &owner)
        .await
        .expect(404);
}

#[tokio::test]
async fn company_settings_read_and_write() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let company = app.get("/api/v1/company", &owner).await.expect(200);
    let data = company.data();
    assert_eq!(data["slug"], "acme");
    assert_eq!(data["plan"], "self_hosted");
    assert_eq!(data["timezone"], "America/Sao_Paulo");
    assert_eq!(data["max_concurrent_calls"], 10);
    let updated = app
        .put(
            "/api/v1/company",
            &owner,
            json!({"company": {
                "name": "Clínica Acme", "primary_color": "#0EA5E9", "timezone": "America/New_York",
                "welcome_message": "Bem-vindo!", "mfa_required": false, "slug": "hijack", "plan": "enterprise",
                "max_concurrent_calls": 999
            }}),
        )
        .await
        .expect(200);
    let data = updated.data();
    assert_eq!(data["name"], "Clínica Acme");
    assert_eq!(data["primary_color"], "#0ea5e9");
    assert_eq!(data["timezone"], "America/New_York");
    assert_eq!(data["welcome_message"], "Bem-vindo!");
    assert_eq!(data["slug"], "acme", "read-only");
    assert_eq!(data["plan"], "self_hosted", "read-only");
    assert_eq!(data["max_concurrent_calls"], 10, "read-only");
    let bad = app
        .put(
            "/api/v1/company",
            &owner,
            json!({"timezone": "Mars/Olympus", "primary_color": "blue"}),
        )
        .await;
    let bad = bad.expect(422);
    assert_eq!(bad.field_errors("timezone"), ["is invalid"]);
    assert_eq!(bad.field_errors("primary_color"), ["has invalid format"]);
}

#[tokio::test]
async fn two_tenants_never_see_each_others_data() {
    let app = TestApp::spawn().await;
    app.create_tenant("beta").await;
    let acme = app.owner("acme").await;
    let beta = app.owner("beta").await;
    let department = app.department(&acme, "Acme only").await;
    let listed = app.get("/api/v1/departments", &beta).await.expect(200);
    assert_eq!(listed.body["meta"]["total_count"], 0);
    app.get(&format!("/api/v1/departments/{department}"), &beta)
        .await
        .expect(404);
    app.put(
        &format!("/api/v1/departments/{department}"),
        &beta,
        json!({"name": "Stolen"}),
    )
    .await
    .expect(404);
    app.delete(&format!("/api/v1/departments/{department}"), &beta)
        .await
        .expect(404);
    let still = app
        .get(&format!("/api/v1/departments/{department}"), &acme)
        .await
        .expect(200);
    assert_eq!(still.data()["name"], "Acme only");
    // Two files on disk.
    let tenants = app.dir.path().join("tenants");
    assert!(tenants.join("acme.db").exists());
    assert!(tenants.join("beta.db").exists());
}
