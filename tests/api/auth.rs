//! SPEC §2.1 and §3: login, tokens, refresh rotation, logout, deactivation.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{OWNER_PASSWORD, PASSWORD, TestApp};

#[tokio::test]
async fn login_returns_tokens_and_the_user() {
    let app = TestApp::spawn().await;
    let reply = app
        .request(
            Method::POST,
            "/api/auth/login",
            None,
            Some(json!({"email": "OWNER@acme.test", "password": OWNER_PASSWORD, "tenant": "acme"})),
        )
        .await
        .expect(200);
    let data = reply.data();
    assert!(data["access_token"].as_str().unwrap().starts_with("eyJ"));
    assert!(data["refresh_token"].as_str().unwrap().starts_with("acme."));
    assert_eq!(data["expires_in"], 900);
    assert_eq!(data["user"]["role"], "owner");
    assert!(data["user"].get("password_hash").is_none());
}

#[tokio::test]
async fn login_failures_are_all_the_same_401() {
    let app = TestApp::spawn().await;
    for body in [
        json!({"email": "owner@acme.test", "password": "wrong-password", "tenant": "acme"}),
        json!({"email": "nobody@acme.test", "password": OWNER_PASSWORD, "tenant": "acme"}),
        json!({"email": "owner@acme.test", "password": OWNER_PASSWORD, "tenant": "no-such-tenant"}),
    ] {
        let reply = app
            .request(Method::POST, "/api/auth/login", None, Some(body))
            .await
            .expect(401);
        assert_eq!(reply.body, json!({"errors": {"detail": "Invalid credentials"}}));
        assert_eq!(reply.headers["www-authenticate"], "Bearer");
    }
}

#[tokio::test]
async fn login_without_fields_is_422_naming_each() {
    let app = TestApp::spawn().await;
    let reply = app
        .request(Method::POST, "/api/auth/login", None, Some(json!({})))
        .await
        .expect(422);
    for field in ["email", "password", "tenant"] {
        assert_eq!(reply.field_errors(field), ["can't be blank"], "{field}");
    }
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_family() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let first = app
        .request(
            Method::POST,
            "/api/auth/refresh",
            None,
            Some(json!({"refresh_token": owner.refresh_token})),
        )
        .await
        .expect(200);
    let second_token = first.data()["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(second_token, owner.refresh_token);
    assert!(first.data()["access_token"].as_str().is_some());

    // The used token is revoked; presenting it again revokes the whole family …
    app.request(
        Method::POST,
        "/api/auth/refresh",
        None,
        Some(json!({"refresh_token": owner.refresh_token})),
    )
    .await
    .expect(401);
    // … including the token that rotation had just produced.
    app.request(
        Method::POST,
        "/api/auth/refresh",
        None,
        Some(json!({"refresh_token": second_token})),
    )
    .await
    .expect(401);
}

#[tokio::test]
async fn logout_revokes_the_refresh_token() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let reply = app
        .request(
            Method::POST,
            "/api/auth/logout",
            None,
            Some(json!({"refresh_token": owner.refresh_token})),
        )
        .await;
    assert_eq!(reply.status, 204);
    app.request(
        Method::POST,
        "/api/auth/refresh",
        None,
        Some(json!({"refresh_token": owner.refresh_token})),
    )
    .await
    .expect(401);
}

#[tokio::test]
async fn logout_all_ends_every_session_of_the_caller() {
    let app = TestApp::spawn().await;
    let first = app.owner("acme").await;
    let second = app.owner("acme").await;
    let reply = app
        .request(
            Method::POST,
            "/api/auth/logout",
            Some(&first),
            Some(json!({"all": true})),
        )
        .await;
    assert_eq!(reply.status, 204);
    for session in [&first, &second] {
        app.request(
            Method::POST,
            "/api/auth/refresh",
            None,
            Some(json!({"refresh_token": session.refresh_token})),
        )
        .await
        .expect(401);
    }
}

#[tokio::test]
async fn deactivated_users_access_token_stops_working_at_once() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let agent = app.user(&owner, "attendant").await;
    app.get("/api/v1/users/me", &agent).await.expect(200);
    app.put(
        &format!("/api/v1/users/{}", agent.user_id),
        &owner,
        json!({"user": {"active": false}}),
    )
    .await
    .expect(200);
    app.get("/api/v1/users/me", &agent).await.expect(401);
    app.request(
        Method::POST,
        "/api/auth/refresh",
        None,
        Some(json!({"refresh_token": agent.refresh_token})),
    )
    .await
    .expect(401);
    let login = app
        .request(
            Method::POST,
            "/api/auth/login",
            None,
            Some(json!({"email": agent.email, "password": PASSWORD, "tenant": "acme"})),
        )
        .await
        .expect(401);
    assert_eq!(login.body["errors"]["detail"], "Invalid credentials");
}

#[tokio::test]
async fn x_tenant_must_match_the_token() {
    let app = TestApp::spawn().await;
    app.create_tenant("other").await;
    let owner = app.owner("acme").await;
    let mut wrong = owner.clone();
    wrong.tenant = "other".into();
    app.get("/api/v1/users/me", &wrong).await.expect(401);
    let no_header = app
        .client
        .get(format!("{}/api/v1/users/me", app.base))
        .bearer_auth(&owner.token)
        .send()
        .await
        .unwrap();
    assert_eq!(no_header.status(), 401);
    let mut garbage = owner.clone();
    garbage.token = "not-a-jwt".into();
    app.get("/api/v1/users/me", &garbage).await.expect(401);
}

#[tokio::test]
async fn password_change_needs_the_current_password_and_keeps_only_this_session() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let other_session = app.owner("acme").await;
    let wrong = app
        .put(
            "/api/v1/users/me/password",
            &owner,
            json!({"current_password": "not-it-at-all", "new_password": "a-new-password"}),
        )
        .await
        .expect(422);
    assert_eq!(wrong.field_errors("current_password"), ["is invalid"]);
    let short = app
        .put(
            "/api/v1/users/me/password",
            &owner,
            json!({"current_password": OWNER_PASSWORD, "new_password": "short"}),
        )
        .await
        .expect(422);
    assert_eq!(
        short.field_errors("new_password"),
        ["should be at least 8 character(s)"]
    );
    app.put(
        "/api/v1/users/me/password",
        &owner,
        json!({"current_password": OWNER_PASSWORD, "new_password": "a-new-password"}),
    )
    .await
    .expect(200);
    app.login("acme", "owner@acme.test", "a-new-password").await;
    app.request(
        Method::POST,
        "/api/auth/refresh",
        None,
        Some(json!({"refresh_token": other_session.refresh_token})),
    )
    .await
    .expect(401);
    app.request(
        Method::POST,
        "/api/auth/refresh",
        None,
        Some(json!({"refresh_token": owner.refresh_token})),
    )
    .await
    .expect(200);
}
