//! The role and tenant matrix (SPEC §2.1, §2.3, §2.7), one row per endpoint: the minimum
//! role works, one role below gets 403, no token gets 401, an `X-Tenant` that differs
//! from the token gets 401, and another tenant's id gets 404.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Session, TestApp};

/// Ids of fresh objects, created for each row so deletes cannot disturb other rows.
struct Fixture {
    department: String,
    sector: String,
    provider: String,
    user: String,
}

async fn fixture(app: &TestApp, owner: &Session) -> Fixture {
    let department = app.department(owner, &format!("Dept {}", uuid::Uuid::new_v4())).await;
    let sector = app
        .post("/api/v1/sectors", owner, json!({"sector": {"name": "Sector"}}))
        .await
        .expect(201)
        .id();
    let provider = app
        .post("/api/v1/providers", owner, json!({"name": "Provider"}))
        .await
        .expect(201)
        .id();
    let user = app
        .post(
            "/api/v1/users",
            owner,
            json!({"name": "Member", "email": format!("m-{}@x.test", uuid::Uuid::new_v4().simple()), "password": "password-1", "role": "attendant"}),
        )
        .await
        .expect(201)
        .id();
    app.post(
        &format!("/api/v1/departments/{department}/users"),
        owner,
        json!({"user_id": user}),
    )
    .await
    .expect(200);
    app.post(
        &format!("/api/v1/providers/{provider}/users"),
        owner,
        json!({"user_id": user}),
    )
    .await
    .expect(200);
    Fixture {
        department,
        sector,
        provider,
        user,
    }
}

fn fill(template: &str, f: &Fixture) -> String {
    template
        .replace("{department}", &f.department)
        .replace("{sector}", &f.sector)
        .replace("{provider}", &f.provider)
        .replace("{user}", &f.user)
}

fn body(name: &str, f: &Fixture) -> Option<Value> {
    let unique = uuid::Uuid::new_v4().simple().to_string();
    Some(match name {
        "none" => return None,
        "user" => {
            json!({"user": {"name": "New", "email": format!("n-{unique}@x.test"), "password": "password-1", "role": "attendant"}})
        }
        "user_update" => json!({"user": {"name": "Renamed"}}),
        "me" => json!({"user": {"name": "Me"}}),
        "department" => json!({"department": {"name": format!("D {unique}")}}),
        "sector" => json!({"sector": {"name": "S"}}),
        "provider" => json!({"service_provider": {"name": "P"}}),
        "member" => json!({"user_id": f.user}),
        "company" => json!({"company": {"welcome_message": "Olá"}}),
        other => panic!("unknown body {other}"),
    })
}

const ROLES: [&str; 4] = ["attendant", "supervisor", "manager", "owner"];

/// (method, path, minimum role, body, whether the path holds an id of this tenant)
const MATRIX: &[(&str, &str, &str, &str, bool)] = &[
    ("GET", "/api/v1/users/me", "attendant", "none", false),
    ("PUT", "/api/v1/users/me", "attendant", "me", false),
    ("GET", "/api/v1/users", "manager", "none", false),
    ("POST", "/api/v1/users", "manager", "user", false),
    ("GET", "/api/v1/users/{user}", "manager", "none", true),
    ("PUT", "/api/v1/users/{user}", "manager", "user_update", true),
    ("GET", "/api/v1/departments", "supervisor", "none", false),
    ("POST", "/api/v1/departments", "supervisor", "department", false),
    ("GET", "/api/v1/departments/{department}", "supervisor", "none", true),
    (
        "PUT",
        "/api/v1/departments/{department}",
        "supervisor",
        "department",
        true,
    ),
    ("DELETE", "/api/v1/departments/{department}", "supervisor", "none", true),
    (
        "GET",
        "/api/v1/departments/{department}/users",
        "supervisor",
        "none",
        true,
    ),
    (
        "POST",
        "/api/v1/departments/{department}/users",
        "supervisor",
        "member",
        true,
    ),
    (
        "DELETE",
        "/api/v1/departments/{department}/users/{user}",
        "supervisor",
        "none",
        true,
    ),
    ("GET", "/api/v1/sectors", "supervisor", "none", false),
    ("POST", "/api/v1/sectors", "supervisor", "sector", false),
    ("GET", "/api/v1/sectors/{sector}", "supervisor", "none", true),
    ("PUT", "/api/v1/sectors/{sector}", "supervisor", "sector", true),
    ("DELETE", "/api/v1/sectors/{sector}", "supervisor", "none", true),
    ("GET", "/api/v1/providers", "supervisor", "none", false),
    ("POST", "/api/v1/providers", "manager", "provider", false),
    ("GET", "/api/v1/providers/{provider}", "supervisor", "none", true),
    ("PUT", "/api/v1/providers/{provider}", "manager", "provider", true),
    ("DELETE", "/api/v1/providers/{provider}", "manager", "none", true),
    ("GET", "/api/v1/providers/{provider}/users", "supervisor", "none", true),
    ("POST", "/api/v1/providers/{provider}/users", "manager", "member", true),
    (
        "DELETE",
        "/api/v1/providers/{provider}/users/{user}",
        "manager",
        "none",
        true,
    ),
    ("GET", "/api/v1/company", "manager", "none", false),
    ("PUT", "/api/v1/company", "manager", "company", false),
    ("GET", "/api/v1/analytics/overview", "manager", "none", false),
    ("GET", "/api/v1/analytics/hourly", "manager", "none", false),
    ("GET", "/api/v1/analytics/agents", "manager", "none", false),
    ("GET", "/api/v1/analytics/providers", "manager", "none", false),
    ("GET", "/api/v1/analytics/trends", "manager", "none", false),
    ("POST", "/api/v1/analytics/refresh-views", "manager", "none", false),
    ("GET", "/api/v1/export/calls.csv", "supervisor", "none", false),
    ("GET", "/api/v1/export/customers.csv", "supervisor", "none", false),
    ("GET", "/api/v1/export/links.csv", "supervisor", "none", false),
];

#[tokio::test]
async fn every_endpoint_enforces_its_minimum_role_and_tenant() {
    let app = TestApp::spawn().await;
    app.create_tenant("other").await;
    let owner = app.owner("acme").await;
    let other_owner = app.owner("other").await;
    let mut sessions = Vec::new();
    for role in ROLES {
        sessions.push(if role == "owner" {
            owner.clone()
        } else {
            app.user(&owner, role).await
        });
    }

    for &(method, template, minimum, body_name, has_id) in MATRIX {
        let method: Method = method.parse().unwrap();
        let rank = ROLES.iter().position(|r| *r == minimum).unwrap();
        let label = format!("{method} {template}");

        let f = fixture(&app, &owner).await;
        let path = fill(template, &f);
        let reply = app
            .request(method.clone(), &path, Some(&sessions[rank]), body(body_name, &f))
            .await;
        assert!(
            reply.status.is_success(),
            "{label}: {minimum} must be allowed, got {} {}",
            reply.status,
            reply.text
        );

        if rank > 0 {
            let f = fixture(&app, &owner).await;
            let below = app
                .request(
                    method.clone(),
                    &fill(template, &f),
                    Some(&sessions[rank - 1]),
                    body(body_name, &f),
                )
                .await;
            assert_eq!(
                below.status,
                403,
                "{label}: {} must be refused: {}",
                ROLES[rank - 1],
                below.text
            );
            assert_eq!(below.body["errors"]["detail"], "Forbidden", "{label}");
        }

        let f = fixture(&app, &owner).await;
        let anonymous = app
            .request(method.clone(), &fill(template, &f), None, body(body_name, &f))
            .await;
        assert_eq!(anonymous.status, 401, "{label}: no token");
        assert_eq!(anonymous.body["errors"]["detail"], "Unauthorized", "{label}");

        let mut wrong_tenant = sessions[rank].clone();
        wrong_tenant.tenant = "other".into();
        let mismatch = app
            .request(
                method.clone(),
                &fill(template, &f),
                Some(&wrong_tenant),
                body(body_name, &f),
            )
            .await;
        assert_eq!(mismatch.status, 401, "{label}: X-Tenant differs from the token");

        if has_id {
            let theirs = fixture(&app, &other_owner).await;
            let foreign = app
                .request(
                    method.clone(),
                    &fill(template, &theirs),
                    Some(&owner),
                    body(body_name, &f),
                )
                .await;
            assert_eq!(foreign.status, 404, "{label}: another tenant's id: {}", foreign.text);
        }
    }
}

#[tokio::test]
async fn nobody_grants_a_role_above_their_own() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let manager = app.user(&owner, "manager").await;
    let new_owner = json!({"user": {"name": "X", "email": "x@acme.test", "password": "password-1", "role": "owner"}});
    app.post("/api/v1/users", &manager, new_owner.clone()).await.expect(403);
    app.post("/api/v1/users", &owner, new_owner).await.expect(201);
    let attendant = app.user(&owner, "attendant").await;
    app.put(
        &format!("/api/v1/users/{}", attendant.user_id),
        &manager,
        json!({"role": "owner"}),
    )
    .await
    .expect(403);
    app.put(
        &format!("/api/v1/users/{}", attendant.user_id),
        &manager,
        json!({"role": "manager"}),
    )
    .await
    .expect(200);
    // A manager cannot edit the owner at all.
    let owner_id = owner.user_id.clone();
    app.put(
        &format!("/api/v1/users/{owner_id}"),
        &manager,
        json!({"name": "Hijacked"}),
    )
    .await
    .expect(403);
}

#[tokio::test]
async fn a_demotion_takes_effect_at_once() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let manager = app.user(&owner, "manager").await;
    app.get("/api/v1/users", &manager).await.expect(200);
    app.put(
        &format!("/api/v1/users/{}", manager.user_id),
        &owner,
        json!({"role": "attendant"}),
    )
    .await
    .expect(200);
    app.get("/api/v1/users", &manager).await.expect(403);
}
