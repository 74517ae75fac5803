//! Integrators (SPEC §7.4): API keys, the OpenAPI document and docs page, CORS,
//! compression, webhook ping and redeliver.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Reply, Session, TestApp, from_now};

/// A request with `Authorization: Bearer <key>` and, when given, `X-Tenant`.
async fn with_key(
    app: &TestApp,
    method: Method,
    path: &str,
    key: &str,
    tenant: Option<&str>,
    body: Option<Value>,
) -> Reply {
    let mut request = app
        .client
        .request(method, format!("{}{path}", app.base))
        .bearer_auth(key);
    if let Some(tenant) = tenant {
        request = request.header("X-Tenant", tenant);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("request sent");
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap_or_default();
    Reply {
        status,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
        text,
        headers,
    }
}

async fn create_key(app: &TestApp, session: &Session, role: &str) -> (String, String) {
    let reply = app
        .post(
            "/api/v1/api-keys",
            session,
            json!({"api_key": {"name": format!("ERP {role}"), "role": role}}),
        )
        .await
        .expect(201);
    let key = reply.data()["key"].as_str().expect("key shown on create").to_string();
    (reply.id(), key)
}

#[tokio::test]
async fn api_key_works_without_x_tenant_is_capped_by_its_role_and_is_refused_at_once_when_revoked() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let (id, key) = create_key(&app, &owner, "supervisor").await;
    assert!(key.starts_with("vk_acme_"), "{key}");
    assert!(key.len() >= "vk_acme_".len() + 22, "≥128 random bits: {key}");

    // Without X-Tenant, with the right one, with another one.
    with_key(&app, Method::GET, "/api/v1/customers", &key, None, None)
        .await
        .expect(200);
    with_key(&app, Method::GET, "/api/v1/customers", &key, Some("acme"), None)
        .await
        .expect(200);
    let mismatched = with_key(&app, Method::GET, "/api/v1/customers", &key, Some("other"), None).await;
    assert_eq!(mismatched.status, 401, "{}", mismatched.text);
    // It acts with its role: supervisor may merge, not manage webhooks.
    with_key(&app, Method::GET, "/api/v1/webhooks", &key, None, None)
        .await
        .expect(403);
    with_key(
        &app,
        Method::POST,
        "/api/v1/customers",
        &key,
        None,
        Some(json!({"customer": {"name": "From the ERP"}})),
    )
    .await
    .expect(201);

    // Listed with prefix and last use, never the key itself.
    let listed = app.get("/api/v1/api-keys", &owner).await.expect(200);
    let row = &listed.data()[0];
    assert_eq!(row["id"], id.as_str());
    assert!(key.starts_with(row["prefix"].as_str().unwrap()));
    assert!(row["last_used_at"].is_string(), "{}", listed.text);
    assert!(row.get("key").is_none());
    assert!(!listed.text.contains(&key));

    app.delete(&format!("/api/v1/api-keys/{id}"), &owner).await.expect(204);
    with_key(&app, Method::GET, "/api/v1/customers", &key, None, None)
        .await
        .expect(401);
    let listed = app.get("/api/v1/api-keys", &owner).await.expect(200);
    assert_eq!(listed.body["meta"]["total_count"], 0, "deleted keys are not listed");
    app.delete(&format!("/api/v1/api-keys/{id}"), &owner).await.expect(404);
}

#[tokio::test]
async fn api_key_role_above_the_caller_or_owner_is_403_and_bad_input_is_422() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let manager = app.user(&owner, "manager").await;
    let supervisor = app.user(&owner, "supervisor").await;
    let body = |role: &str| json!({"name": "Billing", "role": role});
    app.post("/api/v1/api-keys", &owner, body("owner")).await.expect(403);
    app.post("/api/v1/api-keys", &manager, body("owner")).await.expect(403);
    app.post("/api/v1/api-keys", &manager, body("manager"))
        .await
        .expect(201);
    // Creating keys is for managers and up.
    app.post("/api/v1/api-keys", &supervisor, body("attendant"))
        .await
        .expect(403);
    app.get("/api/v1/api-keys", &supervisor).await.expect(403);

    let reply = app
        .post("/api/v1/api-keys", &manager, json!({"name": "", "role": "chief"}))
        .await
        .expect(422);
    assert_eq!(reply.field_errors("name"), ["can't be blank"]);
    assert_eq!(reply.field_errors("role"), ["is invalid"]);
    let reply = app
        .post(
            "/api/v1/api-keys",
            &manager,
            json!({"name": "Old", "role": "attendant", "expires_at": from_now(-60)}),
        )
        .await
        .expect(422);
    assert_eq!(reply.field_errors("expires_at"), ["must be in the future"]);
}

#[tokio::test]
async fn an_expired_api_key_is_refused() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let reply = app
        .post(
            "/api/v1/api-keys",
            &owner,
            json!({"name": "Short", "role": "attendant", "expires_at": from_now(2)}),
        )
        .await
        .expect(201);
    let key = reply.data()["key"].as_str().unwrap().to_string();
    with_key(&app, Method::GET, "/api/v1/customers", &key, None, None)
        .await
        .expect(200);
    tokio::time::sleep(std::time::Duration::from_millis(3100)).await;
    with_key(&app, Method::GET, "/api/v1/customers", &key, None, None)
        .await
        .expect(401);
}

#[tokio::test]
async fn api_key_is_refused_on_auth_and_me_endpoints_and_on_the_socket() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let (_, key) = create_key(&app, &owner, "manager").await;
    with_key(&app, Method::GET, "/api/v1/users/me", &key, None, None)
        .await
        .expect(401);
    with_key(&app, Method::GET, "/api/v1/users/me", &key, Some("acme"), None)
        .await
        .expect(401);
    with_key(
        &app,
        Method::POST,
        "/api/auth/logout",
        &key,
        Some("acme"),
        Some(json!({"all": true})),
    )
    .await
    .expect(401);
    let url = format!(
        "{}/socket/websocket?token={key}&vsn=2.0.0",
        app.base.replace("http://", "ws://")
    );
    match tokio_tungstenite::connect_async(url.as_str()).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => assert_eq!(response.status(), 403),
        other => panic!(
            "expected 403 before the upgrade, got {:?}",
            other.map(|_| "a connection")
        ),
    }
}

#[tokio::test]
async fn api_keys_of_one_tenant_do_not_reach_another() {
    let app = TestApp::spawn().await;
    app.create_tenant("other").await;
    let owner = app.owner("acme").await;
    let other = app.owner("other").await;
    let (id, key) = create_key(&app, &owner, "manager").await;
    with_key(&app, Method::GET, "/api/v1/customers", &key, Some("other"), None)
        .await
        .expect(401);
    // Another tenant's manager cannot see or delete it.
    let listed = app.get("/api/v1/api-keys", &other).await.expect(200);
    assert_eq!(listed.body["meta"]["total_count"], 0);
    app.delete(&format!("/api/v1/api-keys/{id}"), &other).await.expect(404);
    with_key(&app, Method::GET, "/api/v1/customers", &key, None, None)
        .await
        .expect(200);
    // A forged key naming another tenant is simply unknown.
    let forged = key.replacen("vk_acme_", "vk_other_", 1);
    with_key(&app, Method::GET, "/api/v1/customers", &forged, None, None)
        .await
        .expect(401);
}

#[tokio::test]
async fn openapi_every_response_has_a_description_and_every_tenant_operation_lists_x_tenant() {
    let app = TestApp::spawn().await;
    let reply = app.public_get("/api/openapi.json").await.expect(200);
    let document = &reply.body;
    assert!(document["openapi"].as_str().unwrap().starts_with("3.1"));
    assert_eq!(document["servers"][0]["url"], "http://voki.test");
    let schemes = &document["components"]["securitySchemes"];
    assert!(schemes["bearer"].is_object() && schemes["api_key"].is_object());
    let mut tenant_operations = 0;
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            if !["get", "put", "post", "delete", "patch"].contains(&method.as_str()) {
                continue;
            }
            for (status, response) in operation["responses"].as_object().unwrap() {
                let description = response["description"].as_str().unwrap_or_default();
                assert!(
                    !description.trim().is_empty(),
                    "{method} {path} {status} has no description"
                );
            }
            let security: Vec<String> = operation["security"]
                .as_array()
                .map(|list| {
                    list.iter()
                        .flat_map(|s| s.as_object().unwrap().keys().cloned())
                        .collect()
                })
                .unwrap_or_default();
            let x_tenant = operation["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|p| p["name"] == "X-Tenant");
            let public = path.starts_with("/api/v1/call/")
                || path.starts_with("/api/v1/book/")
                || path.starts_with("/api/v1/manage/");
            if public {
                assert!(x_tenant.is_none() && security.is_empty(), "{method} {path} is public");
            }
            if path.starts_with("/api/v1/") && !public {
                tenant_operations += 1;
                let x_tenant = x_tenant.unwrap_or_else(|| panic!("{method} {path} lacks X-Tenant"));
                assert_eq!(x_tenant["in"], "header");
                assert_eq!(x_tenant["required"], false);
                assert!(security.contains(&"bearer".to_string()), "{method} {path}");
                let keys_refused = path.starts_with("/api/v1/users/me");
                assert_eq!(
                    security.contains(&"api_key".to_string()),
                    !keys_refused,
                    "{method} {path}"
                );
            }
        }
    }
    assert!(tenant_operations > 100, "{tenant_operations}");
}

#[tokio::test]
async fn docs_page_is_served_from_the_binary() {
    let app = TestApp::spawn().await;
    let page = app.public_get("/api/docs").await.expect(200);
    assert!(page.headers["content-type"].to_str().unwrap().starts_with("text/html"));
    assert!(page.text.contains("swagger-ui"), "{}", page.text);
    assert!(!page.text.contains("https://"), "no CDN: {}", page.text);
    let bundle = app.public_get("/api/docs/swagger-ui-bundle.js").await.expect(200);
    assert!(bundle.text.len() > 100_000);
    let init = app.public_get("/api/docs/swagger-initializer.js").await.expect(200);
    assert!(init.text.contains("/api/openapi.json"), "{}", init.text);
}

#[tokio::test]
async fn cors_preflight_for_an_allowed_origin_is_204_and_a_refused_origin_gets_no_cors_headers() {
    let app = TestApp::spawn_with(|c| c.cors_allowed_origins = vec!["https://erp.clinic.example".into()]).await;
    let preflight = |origin: &'static str| {
        app.client
            .request(Method::OPTIONS, format!("{}/api/v1/customers", app.base))
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "POST")
            .header(
                "Access-Control-Request-Headers",
                "authorization, x-tenant, content-type",
            )
            .send()
    };
    let allowed = preflight("https://erp.clinic.example").await.unwrap();
    assert_eq!(allowed.status(), 204);
    let headers = allowed.headers();
    assert_eq!(headers["access-control-allow-origin"], "https://erp.clinic.example");
    assert_eq!(
        headers["access-control-allow-methods"],
        "GET, POST, PUT, DELETE, OPTIONS"
    );
    assert_eq!(
        headers["access-control-allow-headers"],
        "Authorization, Content-Type, X-Tenant"
    );
    let refused = preflight("https://evil.example").await.unwrap();
    assert!(refused.headers().get("access-control-allow-origin").is_none());
    assert_ne!(refused.status(), 204);

    let owner = app.owner("acme").await;
    let answer = app
        .client
        .get(format!("{}/api/v1/customers", app.base))
        .bearer_auth(&owner.token)
        .header("X-Tenant", "acme")
        .header("Origin", "https://erp.clinic.example")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(
        answer.headers()["access-control-allow-origin"],
        "https://erp.clinic.example"
    );
    assert!(answer.headers().contains_key("x-request-id"));
}

#[tokio::test]
async fn without_cors_origins_no_cors_headers_are_sent() {
    let app = TestApp::spawn().await;
    let answer = app
        .client
        .get(format!("{}/healthz", app.base))
        .header("Origin", "https://erp.clinic.example")
        .send()
        .await
        .unwrap();
    assert!(answer.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn json_of_1_kib_or_more_is_gzip_or_brotli_compressed_when_accepted() {
    let app = TestApp::spawn().await;
    for (accept, encoding) in [("gzip", "gzip"), ("br", "br")] {
        let big = app
            .client
            .get(format!("{}/api/openapi.json", app.base))
            .header("Accept-Encoding", accept)
            .send()
            .await
            .unwrap();
        assert_eq!(big.headers()["content-encoding"], encoding);
    }
    let gz = app
        .client
        .get(format!("{}/api/openapi.json", app.base))
        .header("Accept-Encoding", "gzip")
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let mut decoded = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&gz[..]), &mut decoded).unwrap();
    assert!(serde_json::from_str::<Value>(&decoded).is_ok());
    // Small bodies are sent as they are; so is everything to a client that did not ask.
    let small = app
        .client
        .get(format!("{}/healthz", app.base))
        .header("Accept-Encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert!(small.headers().get("content-encoding").is_none());
    let plain = app
        .client
        .get(format!("{}/api/openapi.json", app.base))
        .send()
        .await
        .unwrap();
    assert!(plain.headers().get("content-encoding").is_none());
}

/// A receiver that records the bodies it gets and answers 200.
async fn receiver() -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = seen.clone();
    let router = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |body: String| {
            let record = record.clone();
            async move {
                record.lock().unwrap().push(body);
                axum::http::StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (url, seen)
}

#[tokio::test]
async fn webhook_ping_is_delivered_at_once_and_redeliver_sends_the_same_body_again() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let (url, seen) = receiver().await;
    let hook = app
        .post(
            "/api/v1/webhooks",
            &owner,
            json!({"url": url, "events": ["customer.created"]}),
        )
        .await
        .expect(201)
        .id();
    let ping = app
        .post(&format!("/api/v1/webhooks/{hook}/ping"), &owner, json!({}))
        .await
        .expect(200);
    assert_eq!(ping.data()["event"], "ping");
    assert_eq!(ping.data()["status"], "delivered", "{}", ping.text);
    assert_eq!(ping.data()["attempt_log"][0]["status_code"], 200);
    let first_body = seen.lock().unwrap()[0].clone();
    assert_eq!(serde_json::from_str::<Value>(&first_body).unwrap()["event"], "ping");

    let delivery = ping.data()["id"].as_str().unwrap().to_string();
    let again = app
        .post(
            &format!("/api/v1/webhooks/{hook}/deliveries/{delivery}/redeliver"),
            &owner,
            json!({}),
        )
        .await
        .expect(201);
    assert_ne!(again.data()["id"], delivery.as_str());
    assert_eq!(again.data()["payload"], ping.data()["payload"]);
    for _ in 0..50 {
        if seen.lock().unwrap().len() >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        seen.lock().unwrap().get(1),
        Some(&first_body),
        "the same body, sent again"
    );

    // Role matrix and isolation: a supervisor cannot; another tenant's id is unknown.
    let supervisor = app.user(&owner, "supervisor").await;
    app.post(&format!("/api/v1/webhooks/{hook}/ping"), &supervisor, json!({}))
        .await
        .expect(403);
    app.create_tenant("other").await;
    let other = app.owner("other").await;
    app.post(&format!("/api/v1/webhooks/{hook}/ping"), &other, json!({}))
        .await
        .expect(404);
    app.post(
        &format!("/api/v1/webhooks/{hook}/deliveries/{delivery}/redeliver"),
        &other,
        json!({}),
    )
    .await
    .expect(404);
    app.post(
        &format!("/api/v1/webhooks/{hook}/deliveries/not-a-delivery/redeliver"),
        &owner,
        json!({}),
    )
    .await
    .expect(404);
}
