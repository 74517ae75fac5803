//! SPEC §2: envelope, status codes for bad input, lists, times, headers, OpenAPI.

use reqwest::Method;
use serde_json::json;

use crate::helpers::TestApp;

#[tokio::test]
async fn malformed_json_is_400_in_the_envelope() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let reply = app
        .raw(
            Method::POST,
            "/api/v1/departments",
            &owner,
            "application/json",
            b"{\"name\": ".to_vec(),
        )
        .await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.body["errors"]["detail"], "Malformed JSON");
    let array = app
        .raw(
            Method::POST,
            "/api/v1/departments",
            &owner,
            "application/json",
            b"[1,2]".to_vec(),
        )
        .await;
    assert_eq!(array.status, 400);
}

#[tokio::test]
async fn a_body_that_is_not_declared_json_is_400() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let reply = app
        .raw(
            Method::POST,
            "/api/v1/departments",
            &owner,
            "text/plain",
            br#"{"name":"Cardio"}"#.to_vec(),
        )
        .await;
    assert_eq!(reply.status, 400, "{}", reply.text);
    assert!(reply.body["errors"]["detail"].is_string());
}

#[tokio::test]
async fn a_field_of_the_wrong_type_is_422_naming_it() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let reply = app
        .post(
            "/api/v1/departments",
            &owner,
            json!({"department": {"name": "Cardio", "max_queue_size": "lots"}}),
        )
        .await;
    assert_eq!(reply.expect(422).field_errors("max_queue_size"), ["is invalid"]);
    let reply = app
        .post("/api/v1/users", &owner, json!({"user": {"name": ["a"]}}))
        .await
        .expect(422);
    assert_eq!(reply.field_errors("name"), ["is invalid"]);
}

#[tokio::test]
async fn a_body_over_one_mebibyte_is_413() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let huge = format!("{{\"name\": \"{}\"}}", "a".repeat(1024 * 1024 + 10));
    let reply = app
        .raw(
            Method::POST,
            "/api/v1/departments",
            &owner,
            "application/json",
            huge.into_bytes(),
        )
        .await;
    assert_eq!(reply.status, 413);
    assert_eq!(reply.body["errors"]["detail"], "Request body too large");
    let list = app.get("/api/v1/departments", &owner).await.expect(200);
    assert_eq!(list.body["meta"]["total_count"], 0, "nothing written");
}

#[tokio::test]
async fn path_ids_that_are_unknown_or_not_uuids_are_404() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    for path in [
        "/api/v1/departments/not-a-uuid",
        "/api/v1/departments/00000000-0000-4000-8000-000000000000",
        "/api/v1/users/%27%3B%20DROP%20TABLE%20users%3B--",
        "/api/v1/providers/00000000-0000-4000-8000-000000000000/users",
    ] {
        let reply = app.get(path, &owner).await;
        assert_eq!(reply.status, 404, "{path}");
        assert!(reply.body["errors"]["detail"].is_string(), "{path}: {}", reply.text);
    }
    app.get("/api/v1/users", &owner).await.expect(200);
}

#[tokio::test]
async fn body_ids_that_do_not_exist_are_422_on_that_field() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let department = app.department(&owner, "Cardio").await;
    for user_id in ["00000000-0000-4000-8000-000000000000", "nope"] {
        let reply = app
            .post(
                &format!("/api/v1/departments/{department}/users"),
                &owner,
                json!({"user_id": user_id}),
            )
            .await
            .expect(422);
        assert_eq!(reply.field_errors("user_id"), ["does not exist"]);
    }
    let reply = app
        .post(
            "/api/v1/departments",
            &owner,
            json!({"department": {"name": "X", "sector_id": "00000000-0000-4000-8000-000000000000"}}),
        )
        .await
        .expect(422);
    assert_eq!(reply.field_errors("sector_id"), ["does not exist"]);
    let list = app.get("/api/v1/departments", &owner).await.expect(200);
    assert_eq!(
        list.body["meta"]["total_count"], 1,
        "the refused department was not written"
    );
}

#[tokio::test]
async fn missing_fields_are_422_naming_every_field() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let reply = app.post("/api/v1/users", &owner, json!({"user": {}})).await.expect(422);
    for field in ["name", "email", "password", "role"] {
        assert_eq!(reply.field_errors(field), ["can't be blank"], "{field}");
    }
    let reply = app
        .post(
            "/api/v1/users",
            &owner,
            json!({"name": "A", "email": "not-an-email", "password": "short", "role": "boss"}),
        )
        .await
        .expect(422);
    assert_eq!(reply.field_errors("email"), ["has invalid format"]);
    assert_eq!(reply.field_errors("password"), ["should be at least 8 character(s)"]);
    assert_eq!(reply.field_errors("role"), ["is invalid"]);
}

#[tokio::test]
async fn email_is_unique_per_tenant_ignoring_case() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let user = json!({"user": {"name": "A", "email": "Dup@Acme.test", "password": "password-1", "role": "attendant"}});
    app.post("/api/v1/users", &owner, user).await.expect(201);
    let again = json!({"user": {"name": "B", "email": "dup@acme.TEST", "password": "password-1", "role": "attendant"}});
    let reply = app.post("/api/v1/users", &owner, again).await.expect(422);
    assert_eq!(reply.field_errors("email"), ["has already been taken"]);
    // The same address in another tenant is fine.
    app.create_tenant("other").await;
    let other = app.owner("other").await;
    let there = json!({"user": {"name": "A", "email": "dup@acme.test", "password": "password-1", "role": "attendant"}});
    app.post("/api/v1/users", &other, there).await.expect(201);
}

#[tokio::test]
async fn hostile_strings_are_stored_verbatim_or_refused_never_executed() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let name = "Robert'); DROP TABLE departments;-- <script>alert(1)</script> 🩺";
    let reply = app
        .post("/api/v1/departments", &owner, json!({"name": name}))
        .await
        .expect(201);
    assert_eq!(reply.data()["name"], name);
    assert_eq!(
        reply.data()["identifier"],
        "robert-drop-table-departments-script-alert-1-script-stethoscope"
    );
    let control = app
        .post("/api/v1/departments", &owner, json!({"name": "bad\u{0000}name"}))
        .await
        .expect(422);
    assert_eq!(control.field_errors("name"), ["is invalid"]);
    let long = app
        .post("/api/v1/departments", &owner, json!({"name": "x".repeat(201)}))
        .await
        .expect(422);
    assert_eq!(long.field_errors("name"), ["should be at most 200 character(s)"]);
}

#[tokio::test]
async fn unknown_and_read_only_fields_are_ignored() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let reply = app
        .post(
            "/api/v1/departments",
            &owner,
            json!({"department": {"name": "Cardio", "id": "00000000-0000-4000-8000-000000000000", "user_count": 99, "inserted_at": "2000-01-01T00:00:00Z", "colour": "red"}}),
        )
        .await
        .expect(201);
    assert_ne!(reply.data()["id"], "00000000-0000-4000-8000-000000000000");
    assert_eq!(reply.data()["user_count"], 0);
    assert_ne!(reply.data()["inserted_at"], "2000-01-01T00:00:00Z");
}

#[tokio::test]
async fn times_are_utc_rfc3339_with_whole_seconds() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let reply = app.get("/api/v1/users/me", &owner).await.expect(200);
    let inserted = reply.data()["inserted_at"].as_str().unwrap();
    assert_eq!(inserted.len(), 20, "{inserted}");
    assert!(inserted.ends_with('Z') && inserted.as_bytes()[10] == b'T', "{inserted}");
}

#[tokio::test]
async fn lists_page_sort_and_clamp() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    for name in ["Delta", "alpha", "Charlie", "bravo", "Echo"] {
        app.department(&owner, name).await;
    }
    let first = app.get("/api/v1/departments?page_size=2", &owner).await.expect(200);
    assert_eq!(
        first.body["meta"],
        json!({"current_page": 1, "page_size": 2, "total_pages": 3, "total_count": 5})
    );
    let names = |reply: &crate::helpers::Reply| -> Vec<String> {
        reply
            .data()
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(names(&first), ["alpha", "bravo"], "names sort without regard to case");
    let third = app
        .get("/api/v1/departments?page_size=2&page=3", &owner)
        .await
        .expect(200);
    assert_eq!(names(&third), ["Echo"]);
    let desc = app
        .get("/api/v1/departments?sort_by=name&sort_order=desc", &owner)
        .await
        .expect(200);
    assert_eq!(names(&desc)[0], "Echo");
    let clamped = app.get("/api/v1/departments?page_size=1000", &owner).await.expect(200);
    assert_eq!(clamped.body["meta"]["page_size"], 100);
    let bad_sort = app
        .get("/api/v1/departments?sort_by=password_hash", &owner)
        .await
        .expect(422);
    assert_eq!(bad_sort.field_errors("sort_by"), ["is invalid"]);
    let bad_order = app
        .get("/api/v1/departments?sort_order=sideways", &owner)
        .await
        .expect(422);
    assert_eq!(bad_order.field_errors("sort_order"), ["is invalid"]);
    let bad_page = app.get("/api/v1/departments?page=two", &owner).await;
    assert_eq!(bad_page.status, 400);
    assert!(bad_page.body["errors"]["detail"].is_string());
}

#[tokio::test]
async fn pages_never_repeat_or_skip_rows_with_equal_sort_keys() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let mut created = Vec::new();
    for _ in 0..7 {
        let reply = app
            .post("/api/v1/sectors", &owner, json!({"name": "Same"}))
            .await
            .expect(201);
        created.push(reply.id());
    }
    let mut seen = Vec::new();
    for page in 1..=4 {
        let reply = app
            .get(&format!("/api/v1/sectors?page_size=2&page={page}"), &owner)
            .await
            .expect(200);
        seen.extend(
            reply
                .data()
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["id"].as_str().unwrap().to_string()),
        );
    }
    created.sort();
    let mut sorted_seen = seen.clone();
    sorted_seen.sort();
    assert_eq!(sorted_seen, created);
}

#[tokio::test]
async fn search_is_a_case_insensitive_substring_where_percent_and_underscore_are_literal() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    for name in ["Télémédecine", "100% Cardio", "Neuro_Lab", "Neurology"] {
        app.department(&owner, name).await;
    }
    let count = |reply: crate::helpers::Reply| reply.body["meta"]["total_count"].as_i64().unwrap();
    assert_eq!(
        count(
            app.get("/api/v1/departments?search=T%C3%89L%C3%89", &owner)
                .await
                .expect(200)
        ),
        1
    );
    assert_eq!(
        count(app.get("/api/v1/departments?search=%25", &owner).await.expect(200)),
        1
    );
    assert_eq!(
        count(app.get("/api/v1/departments?search=_", &owner).await.expect(200)),
        1
    );
    assert_eq!(
        count(app.get("/api/v1/departments?search=neuro", &owner).await.expect(200)),
        2
    );
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_in_the_envelope() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let missing = app.get("/api/v1/no-such-thing", &owner).await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.body["errors"]["detail"], "Not found");
    let wrong_method = app
        .request(Method::PATCH, "/api/v1/company", Some(&owner), Some(json!({})))
        .await;
    assert_eq!(wrong_method.status, 405);
    assert!(wrong_method.body["errors"]["detail"].is_string());
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    for reply in [
        app.get("/api/v1/users/me", &owner).await,
        app.get("/api/v1/nothing", &owner).await,
    ] {
        assert_eq!(reply.headers["x-content-type-options"], "nosniff");
        assert_eq!(reply.headers["x-frame-options"], "DENY");
        assert!(reply.headers.contains_key("referrer-policy"));
        assert!(reply.headers.contains_key("content-security-policy"));
        assert!(reply.headers.contains_key("x-request-id"));
    }
}

#[tokio::test]
async fn health_and_readiness() {
    let app = TestApp::spawn().await;
    let health = app.request(Method::GET, "/healthz", None, None).await.expect(200);
    assert_eq!(health.body["status"], "ok");
    app.request(Method::GET, "/readyz", None, None).await.expect(200);
}

/// Every route the router serves is described in `/api/openapi.json`, and the document
/// is OpenAPI 3.1.
#[tokio::test]
async fn openapi_describes_every_endpoint() {
    let app = TestApp::spawn().await;
    let doc = app
        .request(Method::GET, "/api/openapi.json", None, None)
        .await
        .expect(200)
        .body;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = doc["paths"].as_object().unwrap();
    let expected: &[(&str, &[&str])] = &[
        ("/api/auth/login", &["post"]),
        ("/api/auth/refresh", &["post"]),
        ("/api/auth/logout", &["post"]),
        ("/api/auth/mfa/verify", &["post"]),
        ("/api/auth/forgot-password", &["post"]),
        ("/api/auth/reset-password", &["post"]),
        ("/api/v1/users/me/mfa/setup", &["post"]),
        ("/api/v1/users/me/mfa/enable", &["post"]),
        ("/api/v1/users/me/mfa/disable", &["post"]),
        ("/api/v1/users/me", &["get", "put"]),
        ("/api/v1/users/me/password", &["put"]),
        ("/api/v1/users", &["get", "post"]),
        ("/api/v1/users/{id}", &["get", "put"]),
        ("/api/v1/departments", &["get", "post"]),
        ("/api/v1/departments/{id}", &["get", "put", "delete"]),
        ("/api/v1/departments/{id}/users", &["get", "post"]),
        ("/api/v1/departments/{id}/users/{user_id}", &["delete"]),
        ("/api/v1/sectors", &["get", "post"]),
        ("/api/v1/sectors/{id}", &["get", "put", "delete"]),
        ("/api/v1/providers", &["get", "post"]),
        ("/api/v1/providers/{id}", &["get", "put", "delete"]),
        ("/api/v1/providers/{id}/users", &["get", "post"]),
        ("/api/v1/providers/{id}/users/{user_id}", &["delete"]),
        ("/api/v1/company", &["get", "put"]),
        ("/api/v1/customers", &["get", "post"]),
        ("/api/v1/customers/{id}", &["get", "put", "delete"]),
        ("/api/v1/customers/merge", &["post"]),
        ("/healthz", &["get"]),
        ("/readyz", &["get"]),
    ];
    for (path, methods) in expected {
        let item = paths
            .get(*path)
            .unwrap_or_else(|| panic!("{path} missing from the OpenAPI document"));
        for method in *methods {
            assert!(item.get(*method).is_some(), "{method} {path} missing");
        }
    }
    // And the document itself is consistent: every operation has responses, among them
    // the error answers SPEC §2.3 gives every operation of its kind.
    for (path, item) in paths {
        for (method, operation) in item.as_object().unwrap() {
            let responses = &operation["responses"];
            assert!(responses.is_object(), "{method} {path}");
            assert!(responses.get("400").is_some(), "{method} {path} documents 400");
            if operation["security"].as_array().is_some_and(|s| !s.is_empty()) {
                for code in ["401", "403"] {
                    assert!(responses.get(code).is_some(), "{method} {path} documents {code}");
                }
            }
            if operation.get("requestBody").is_some() {
                for code in ["413", "422"] {
                    assert!(responses.get(code).is_some(), "{method} {path} documents {code}");
                }
            }
        }
    }
}

#[tokio::test]
async fn metrics_are_prometheus_text_and_can_require_a_token() {
    let app = TestApp::spawn().await;
    let open = app.request(Method::GET, "/metrics", None, None).await.expect(200);
    assert!(open.headers["content-type"].to_str().unwrap().starts_with("text/plain"));
    assert!(
        open.text.contains("voki_http_requests_total{class=\"2xx\"}"),
        "{}",
        open.text
    );
    assert!(open.text.contains("voki_tenants 1"));

    let guarded = TestApp::spawn_with(|c| c.metrics_token = "scrape-me".into()).await;
    guarded.request(Method::GET, "/metrics", None, None).await.expect(401);
    let scraped = guarded
        .client
        .get(format!("{}/metrics", guarded.base))
        .bearer_auth("scrape-me")
        .send()
        .await
        .unwrap();
    assert_eq!(scraped.status(), 200);
}
