//! SPEC §3 beyond login: TOTP MFA, `company.mfa_required`, password reset, rate limits.

use reqwest::Method;
use serde_json::{Value, json};
use voki::auth::mfa::code_at;
use voki::config::Config;

use crate::helpers::{OWNER_PASSWORD, PASSWORD, Session, TestApp};

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Sets up and enables MFA for `session` with the code of the current step; returns the secret.
async fn enrol(app: &TestApp, session: &Session) -> String {
    let setup = app
        .post("/api/v1/users/me/mfa/setup", session, json!({}))
        .await
        .expect(200);
    let secret = setup.data()["secret"].as_str().unwrap().to_string();
    assert!(
        setup.data()["otpauth_url"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/")
    );
    let wrong = app
        .post("/api/v1/users/me/mfa/enable", session, json!({"code": "000000"}))
        .await;
    if wrong.status == 422 {
        assert_eq!(wrong.field_errors("code"), ["is invalid"]);
    }
    let enabled = app
        .post(
            "/api/v1/users/me/mfa/enable",
            session,
            json!({"code": code_at(&secret, now()).unwrap()}),
        )
        .await
        .expect(200);
    assert_eq!(enabled.data()["mfa_enabled"], true);
    secret
}

async fn login_body(app: &TestApp, email: &str, password: &str) -> crate::helpers::Reply {
    app.request(
        Method::POST,
        "/api/auth/login",
        None,
        Some(json!({"email": email, "password": password, "tenant": "acme"})),
    )
    .await
}

#[tokio::test]
async fn login_with_mfa_needs_a_totp_code_accepted_once() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let secret = enrol(&app, &owner).await;

    let challenge = login_body(&app, "owner@acme.test", OWNER_PASSWORD).await.expect(200);
    assert_eq!(challenge.data()["mfa_required"], true);
    assert!(challenge.data().get("access_token").is_none());
    let mfa_token = challenge.data()["mfa_token"].as_str().unwrap().to_string();

    let verify = |code: String| {
        app.request(
            Method::POST,
            "/api/auth/mfa/verify",
            None,
            Some(json!({"mfa_token": mfa_token, "code": code})),
        )
    };
    verify("123456".into()).await.expect(401);
    // The current step was spent by `enable`; the next one is within the ±1 skew.
    let next = code_at(&secret, now() + 30).unwrap();
    let tokens = verify(next.clone()).await.expect(200);
    assert!(tokens.data()["access_token"].as_str().is_some());
    assert!(tokens.data()["refresh_token"].as_str().is_some());
    verify(next).await.expect(401);
    let missing = app
        .request(Method::POST, "/api/auth/mfa/verify", None, Some(json!({})))
        .await
        .expect(422);
    assert_eq!(missing.field_errors("code"), ["can't be blank"]);
}

#[tokio::test]
async fn mfa_can_be_disabled_with_a_code() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let secret = enrol(&app, &owner).await;
    let wrong = app
        .post("/api/v1/users/me/mfa/disable", &owner, json!({"code": "000000"}))
        .await
        .expect(422);
    assert_eq!(wrong.field_errors("code"), ["is invalid"]);
    let off = app
        .post(
            "/api/v1/users/me/mfa/disable",
            &owner,
            json!({"code": code_at(&secret, now() + 30).unwrap()}),
        )
        .await
        .expect(200);
    assert_eq!(off.data()["mfa_enabled"], false);
    let plain = login_body(&app, "owner@acme.test", OWNER_PASSWORD).await.expect(200);
    assert!(plain.data()["access_token"].is_string());
}

#[tokio::test]
async fn company_mfa_required_limits_unenrolled_users_to_enrolment() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let supervisor = app.user(&owner, "supervisor").await;
    app.put("/api/v1/company", &owner, json!({"mfa_required": true}))
        .await
        .expect(200);
    // Tokens issued before keep working, so the owner is not locked out.
    app.get("/api/v1/company", &owner).await.expect(200);

    let login = login_body(&app, &supervisor.email, PASSWORD).await.expect(200);
    assert_eq!(login.data()["mfa_setup_required"], true);
    let restricted = Session {
        token: login.data()["access_token"].as_str().unwrap().into(),
        ..supervisor.clone()
    };
    let refused = app.get("/api/v1/departments", &restricted).await.expect(403);
    assert_eq!(refused.body["errors"]["detail"], "MFA setup required");
    app.get("/api/v1/users/me", &restricted).await.expect(200);
    enrol(&app, &restricted).await;
    // After enrolment a login asks for the code, then gives full access.
    let again = login_body(&app, &supervisor.email, PASSWORD).await.expect(200);
    assert_eq!(again.data()["mfa_required"], true);
}

#[tokio::test]
async fn password_reset_by_emailed_single_use_token() {
    let sink = crate::smtp_sink::SmtpSink::start().await;
    let app = TestApp::with_smtp(&sink).await;
    let owner = app.owner("acme").await;
    let agent = app.user(&owner, "attendant").await;
    let forgot = |email: &str| {
        app.request(
            Method::POST,
            "/api/auth/forgot-password",
            None,
            Some(json!({"email": email, "tenant": "acme"})),
        )
    };
    let sent = forgot(&agent.email).await.expect(200);
    assert_eq!(sent.body, json!({"data": {"sent": true}}));
    // Unknown addresses get the same answer and no e-mail.
    assert_eq!(forgot("nobody@acme.test").await.expect(200).body, sent.body);
    let mails = sink.wait_for(1, 10).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(sink.received().len(), 1);
    assert_eq!(mails[0].to, std::slice::from_ref(&agent.email));
    let text = crate::email::parse(&mails[0]).text;
    let url = crate::email::link(&text, "http://voki.test/reset-password?");
    let token = url.split("token=").nth(1).unwrap().to_string();

    let reset = |token: &str, password: &str| {
        app.request(
            Method::POST,
            "/api/auth/reset-password",
            None,
            Some(json!({"tenant": "acme", "token": token, "password": password})),
        )
    };
    let short = reset(&token, "short").await.expect(422);
    assert_eq!(short.field_errors("password"), ["should be at least 8 character(s)"]);
    reset(&token, "a-brand-new-password").await.expect(200);
    app.login("acme", &agent.email, "a-brand-new-password").await;
    let reused = reset(&token, "another-password").await.expect(422);
    assert_eq!(reused.field_errors("token"), ["is invalid or expired"]);
    let refresh = app
        .request(
            Method::POST,
            "/api/auth/refresh",
            None,
            Some(json!({"refresh_token": agent.refresh_token})),
        )
        .await;
    assert_eq!(refresh.status, 401, "sessions from before the reset are gone");
    reset("made-up-token", "a-brand-new-password").await.expect(422);
}

#[tokio::test]
async fn login_is_limited_per_ip_and_email_then_per_ip() {
    let app = TestApp::spawn_with(|c| {
        let defaults = Config::default();
        c.rate_limit_auth_per_minute = defaults.rate_limit_auth_per_minute;
        c.rate_limit_auth_ip_per_minute = defaults.rate_limit_auth_ip_per_minute;
    })
    .await;
    for _ in 0..5 {
        login_body(&app, "owner@acme.test", "wrong-password").await.expect(401);
    }
    let limited = login_body(&app, "owner@acme.test", OWNER_PASSWORD).await.expect(429);
    let retry: u64 = limited.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry));
    assert_eq!(limited.body["errors"]["detail"], "Too many requests");
    // A colleague behind the same address is not blocked by it …
    let mut statuses = Vec::new();
    for n in 0..30 {
        statuses.push(
            login_body(&app, &format!("colleague{n}@acme.test"), "whatever-password")
                .await
                .status
                .as_u16(),
        );
    }
    // … until the address as a whole has made 30 attempts in the minute (the limiter
    // refills one attempt every 2 s, so a slow run may see one or two more pass).
    assert!(statuses[..24].iter().all(|s| *s == 401), "{statuses:?}");
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
}

#[tokio::test]
async fn refresh_is_limited_per_ip() {
    let app = TestApp::spawn_with(|c| c.rate_limit_refresh_per_minute = 3).await;
    let body: Value = json!({"refresh_token": "acme.nothing"});
    for _ in 0..3 {
        app.request(Method::POST, "/api/auth/refresh", None, Some(body.clone()))
            .await
            .expect(401);
    }
    app.request(Method::POST, "/api/auth/refresh", None, Some(body))
        .await
        .expect(429);
}
