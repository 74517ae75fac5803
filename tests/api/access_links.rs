//! Seed "Liens d'Accès" and SPEC §4.6: list, get, create, batch, cancel, expiry.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, from_now};

/// The fields every link shows: the seed's, plus SPEC §4.6's additions.
const LINK_FIELDS: [&str; 15] = [
    "id",
    "token",
    "url",
    "status",
    "department_id",
    "department_name",
    "customer_name",
    "customer_email",
    "customer_phone",
    "expires_at",
    "used_at",
    "inserted_at",
    "reusable",
    "use_count",
    "cancelled_at",
];

fn assert_link_shape(link: &Value) {
    let keys: Vec<&String> = link.as_object().expect("object").keys().collect();
    for field in LINK_FIELDS {
        assert!(link.get(field).is_some(), "missing {field} in {link}");
    }
    assert_eq!(keys.len(), LINK_FIELDS.len(), "unexpected fields in {link}");
}

/// A day-end time like the seed's examples (`2026-02-28T23:59:59Z`), `days` from now.
fn end_of_day_in(days: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::days(days))
        .format("%Y-%m-%dT23:59:59Z")
        .to_string()
}

#[tokio::test]
async fn create_with_the_link_wrapper_answers_the_seed_fields() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let department = app.department(&owner, "Suporte Técnico").await;
    let expires_at = end_of_day_in(10);
    let reply = app
        .post(
            "/api/v1/access-links",
            &owner,
            json!({"link": {
                "department_id": department,
                "customer_name": "Ana Costa",
                "customer_email": "ana@email.com",
                "expires_at": expires_at
            }}),
        )
        .await
        .expect(201);
    let link = reply.data();
    assert_link_shape(link);
    let token = link["token"].as_str().unwrap();
    assert!(token.len() >= 22, "at least 128 bits: {token}");
    assert!(token.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    assert_eq!(link["url"], format!("http://voki.test/call/{token}"));
    assert_eq!(link["status"], "active");
    assert_eq!(link["department_id"], department);
    assert_eq!(link["department_name"], "Suporte Técnico");
    assert_eq!(link["customer_name"], "Ana Costa");
    assert_eq!(link["customer_email"], "ana@email.com");
    assert_eq!(link["customer_phone"], Value::Null);
    assert_eq!(link["expires_at"], expires_at);
    assert_eq!(link["used_at"], Value::Null);
    assert_eq!(link["reusable"], false);
    assert_eq!(link["use_count"], 0);

    let fetched = app
        .get(&format!("/api/v1/access-links/{}", reply.id()), &owner)
        .await
        .expect(200);
    assert_eq!(fetched.data(), link);
}

#[tokio::test]
async fn access_link_wrapper_and_bare_bodies_are_accepted_too() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let department = app.department(&owner, "Cardiologia").await;
    for body in [
        json!({"access_link": {"department_id": department, "customer_name": "Roberto Lima"}}),
        json!({"department_id": department, "customer_name": "Roberto Lima"}),
    ] {
        let reply = app.post("/api/v1/access-links", &owner, body).await.expect(201);
        assert_eq!(reply.data()["customer_name"], "Roberto Lima");
    }
}

#[tokio::test]
async fn default_expiry_is_seven_days_from_now() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let department = app.department(&owner, "Clínica Geral").await;
    let link = app.link(&owner, &department, json!({})).await;
    let expires_at = chrono::DateTime::parse_from_rfc3339(link["expires_at"].as_str().unwrap()).unwrap();
    let expected = chrono::Utc::now() + chrono::Duration::days(7);
    assert!(
        (expires_at.timestamp() - expected.timestamp()).abs() < 10,
        "{expires_at}"
    );
}

#[tokio::test]
async fn bad_input_is_422_per_field() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let department = app.department(&owner, "Clínica Geral").await;
    let reply = app
        .post(
            "/api/v1/access-links",
            &owner,
            json!({"link": {"customer_email": "not-an-email", "expires_at": "2020-01-01T00:00:00Z"}}),
        )
        .await
        .expect(422);
    assert_eq!(reply.field_errors("department_id"), ["can't be blank"]);
    assert_eq!(reply.field_errors("customer_email"), ["has invalid format"]);
    assert_eq!(reply.field_errors("expires_at"), ["must be in the future"]);

    let reply = app
        .post(
            "/api/v1/access-links",
            &owner,
            json!({"link": {"department_id": uuid::Uuid::new_v4(), "expires_at": "tomorrow"}}),
        )
        .await
        .expect(422);
    assert_eq!(reply.field_errors("expires_at"), ["is invalid"]);

    let reply = app
        .post(
            "/api/v1/access-links",
            &owner,
            json!({"department_id": uuid::Uuid::new_v4()}),
        )
        .await
        .expect(422);
    assert_eq!(reply.field_errors("department_id"), ["does not exist"]);

    app.put(
        &format!("/api/v1/departments/{department}"),
        &owner,
        json!({"active": false}),
    )
    .await
    .expect(200);
    let reply = app
        .post("/api/v1/access-links", &owner, json!({"department_id": department}))
        .await
        .expect(422);
    assert_eq!(reply.field_errors("department_id"), ["is inactive"]);
    app.raw(
        Method::POST,
        "/api/v1/access-links",
        &owner,
        "application/json",
        b"{\"link\":".to_vec(),
    )
    .await
    .expect(400);
    app.raw(
        Method::POST,
        "/api/v1/access-links/batch",
        &owner,
        "text/plain",
        b"links".to_vec(),
    )
    .await
    .expect(400);
    let list = app.get("/api/v1/access-links", &owner).await.expect(200);
    assert_eq!(list.body["meta"]["total_count"], 0);
}

#[tokio::test]
async fn list_filters_by_status_and_department_newest_first() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let support = app.department(&owner, "Suporte Técnico").await;
    let cardio = app.department(&owner, "Cardiologia").await;
    app.link(&owner, &support, json!({"customer_name": "Carlos Ferreira"}))
        .await;
    app.link(&owner, &support, json!({"customer_name": "Ana Costa"})).await;
    let other = app.link(&owner, &cardio, json!({})).await;
    app.post(
        &format!("/api/v1/access-links/{}/cancel", other["id"].as_str().unwrap()),
        &owner,
        json!({}),
    )
    .await
    .expect(200);

    let all = app.get("/api/v1/access-links", &owner).await.expect(200);
    assert_eq!(
        all.body["meta"],
        json!({"current_page": 1, "page_size": 20, "total_pages": 1, "total_count": 3})
    );
    let keys: Vec<(String, String)> = all
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["inserted_at"].as_str().unwrap().into(),
                l["id"].as_str().unwrap().into(),
            )
        })
        .collect();
    let mut newest_first = keys.clone();
    newest_first.sort_by(|a, b| b.cmp(a));
    assert_eq!(keys, newest_first, "inserted_at desc, then id");
    for link in all.data().as_array().unwrap() {
        assert_link_shape(link);
    }

    let active = app.get("/api/v1/access-links?status=active", &owner).await.expect(200);
    assert_eq!(active.body["meta"]["total_count"], 2);
    let cancelled = app
        .get("/api/v1/access-links?status=cancelled", &owner)
        .await
        .expect(200);
    assert_eq!(cancelled.data()[0]["id"], other["id"]);
    let by_department = app
        .get(&format!("/api/v1/access-links?department_id={support}"), &owner)
        .await
        .expect(200);
    assert_eq!(by_department.body["meta"]["total_count"], 2);
    let oldest_first = app
        .get(
            "/api/v1/access-links?sort_by=inserted_at&sort_order=asc&page_size=1",
            &owner,
        )
        .await
        .expect(200);
    assert_eq!(oldest_first.data()[0]["id"], keys.last().unwrap().1.as_str());

    app.get("/api/v1/access-links?status=lost", &owner).await.expect(422);
    app.get("/api/v1/access-links?sort_by=token", &owner).await.expect(422);
    app.get("/api/v1/access-links?department_id=nope", &owner)
        .await
        .expect(400);
}

#[tokio::test]
async fn batch_of_three_customers_is_created_in_input_order() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let department = app.department(&owner, "Suporte Técnico").await;
    let expires_at = end_of_day_in(20);
    let reply = app
        .post(
            "/api/v1/access-links/batch",
            &owner,
            json!({
                "department_id": department,
                "expires_at": expires_at,
                "links": [
                    {"customer_name": "Ana Costa", "customer_email": "ana@email.com"},
                    {"customer_name": "Roberto Lima", "customer_email": "roberto@email.com"},
                    {"customer_name": "Patrícia Souza", "customer_email": "patricia@email.com"}
                ]
            }),
        )
        .await
        .expect(201);
    let links = reply.data().as_array().unwrap();
    assert_eq!(links.len(), 3);
    for (link, (name, email)) in links.iter().zip([
        ("Ana Costa", "ana@email.com"),
        ("Roberto Lima", "roberto@email.com"),
        ("Patrícia Souza", "patricia@email.com"),
    ]) {
        assert_link_shape(link);
        assert_eq!(link["customer_name"], name);
        assert_eq!(link["customer_email"], email);
        assert_eq!(link["status"], "active");
        assert_eq!(link["expires_at"], expires_at);
        assert_eq!(
            link["url"],
            format!("http://voki.test/call/{}", link["token"].as_str().unwrap())
        );
    }
    let tokens: std::collections::HashSet<&str> = links.iter().map(|l| l["token"].as_str().unwrap()).collect();
    assert_eq!(tokens.len(), 3, "every token is unique");
}

#[tokio::test]
async fn batch_of_200_with_one_invalid_entry_creates_nothing() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let department = app.department(&owner, "Clínica Geral").await;
    let mut links: Vec<Value> = (0..200)
        .map(|i| json!({"customer_name": format!("Paciente {i}"), "customer_email": format!("p{i}@email.com")}))
        .collect();
    links[137]["customer_email"] = json!("broken@");
    let reply = app
        .post(
            "/api/v1/access-links/batch",
            &owner,
            json!({"department_id": department, "links": links}),
        )
        .await
        .expect(422);
    assert_eq!(reply.field_errors("links.137.customer_email"), ["has invalid format"]);
    assert_eq!(reply.body["errors"].as_object().unwrap().len(), 1);
    let list = app.get("/api/v1/access-links", &owner).await.expect(200);
    assert_eq!(list.body["meta"]["total_count"], 0);

    links[137]["customer_email"] = json!("fixed@email.com");
    let reply = app
        .post(
            "/api/v1/access-links/batch",
            &owner,
            json!({"department_id": department, "links": links}),
        )
        .await
        .expect(201);
    assert_eq!(reply.data().as_array().unwrap().len(), 200);
    assert_eq!(reply.data()[199]["customer_name"], "Paciente 199");
}

#[tokio::test]
async fn batch_needs_between_1_and_500_links_and_an_existing_department() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let department = app.department(&owner, "Clínica Geral").await;
    let reply = app
        .post(
            "/api/v1/access-links/batch",
            &owner,
            json!({"department_id": department, "links": []}),
        )
        .await
        .expect(422);
    assert_eq!(reply.field_errors("links"), ["can't be blank"]);
    let many: Vec<Value> = (0..501).map(|_| json!({})).collect();
    let reply = app
        .post(
            "/api/v1/access-links/batch",
            &owner,
            json!({"department_id": department, "links": many}),
        )
        .await
        .expect(422);
    assert_eq!(reply.field_errors("links"), ["should have at most 500 item(s)"]);
    let reply = app
        .post(
            "/api/v1/access-links/batch",
            &owner,
            json!({"department_id": uuid::Uuid::new_v4(), "links": [{}]}),
        )
        .await
        .expect(422);
    assert_eq!(reply.field_errors("department_id"), ["does not exist"]);
    let list = app.get("/api/v1/access-links", &owner).await.expect(200);
    assert_eq!(list.body["meta"]["total_count"], 0);
}

#[tokio::test]
async fn cancel_answers_id_and_status_and_repeating_it_is_a_no_op() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let department = app.department(&owner, "Clínica Geral").await;
    let link = app.link(&owner, &department, json!({})).await;
    let id = link["id"].as_str().unwrap();
    for _ in 0..2 {
        let reply = app
            .post(&format!("/api/v1/access-links/{id}/cancel"), &owner, json!({}))
            .await
            .expect(200);
        assert_eq!(reply.body, json!({"data": {"id": id, "status": "cancelled"}}));
    }
    let fetched = app.get(&format!("/api/v1/access-links/{id}"), &owner).await.expect(200);
    assert_eq!(fetched.data()["status"], "cancelled");
    assert!(fetched.data()["cancelled_at"].is_string());
}

#[tokio::test]
async fn cancel_of_a_used_link_is_422() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let department = app.department(&owner, "Clínica Geral").await;
    let link = app.link(&owner, &department, json!({})).await;
    app.join(link["token"].as_str().unwrap(), "Ana Costa").await;
    let reply = app
        .post(
            &format!("/api/v1/access-links/{}/cancel", link["id"].as_str().unwrap()),
            &owner,
            json!({}),
        )
        .await
        .expect(422);
    assert_eq!(reply.field_errors("status"), ["cannot cancel a used link"]);
}

#[tokio::test]
async fn no_answer_shows_active_after_expiry_and_the_sweeper_persists_expired() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let department = app.department(&owner, "Clínica Geral").await;
    let link = app.link(&owner, &department, json!({"expires_at": from_now(2)})).await;
    let id = link["id"].as_str().unwrap().to_string();
    assert_eq!(link["status"], "active");
    tokio::time::sleep(std::time::Duration::from_millis(3100)).await;

    // Before any sweep, every read already says expired.
    let fetched = app.get(&format!("/api/v1/access-links/{id}"), &owner).await.expect(200);
    assert_eq!(fetched.data()["status"], "expired");
    let active = app.get("/api/v1/access-links?status=active", &owner).await.expect(200);
    assert_eq!(active.body["meta"]["total_count"], 0);
    let expired = app.get("/api/v1/access-links?status=expired", &owner).await.expect(200);
    assert_eq!(expired.data()[0]["id"], id.as_str());
    let reply = app
        .post(&format!("/api/v1/access-links/{id}/cancel"), &owner, json!({}))
        .await
        .expect(422);
    assert_eq!(reply.field_errors("status"), ["cannot cancel an expired link"]);

    app.sweep().await;
    let db = app.state().tenants.get("acme").await.unwrap().unwrap();
    let stored: String = db
        .read(move |conn| Ok(conn.query_row("SELECT status FROM access_links WHERE id = ?1", [&id], |r| r.get(0))?))
        .await
        .unwrap();
    assert_eq!(stored, "expired");
}

#[tokio::test]
async fn access_links_need_supervisor_and_stay_in_their_tenant() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let supervisor = app.user(&owner, "supervisor").await;
    let attendant = app.user(&owner, "attendant").await;
    let department = app.department(&owner, "Clínica Geral").await;
    let link = app.link(&owner, &department, json!({})).await;
    let id = link["id"].as_str().unwrap();
    let create = json!({"link": {"department_id": department}});
    let batch = json!({"department_id": department, "links": [{}]});
    let endpoints: [(Method, String, Option<Value>, u16); 5] = [
        (Method::GET, "/api/v1/access-links".into(), None, 200),
        (Method::GET, format!("/api/v1/access-links/{id}"), None, 200),
        (Method::POST, "/api/v1/access-links".into(), Some(create), 201),
        (Method::POST, "/api/v1/access-links/batch".into(), Some(batch), 201),
        (
            Method::POST,
            format!("/api/v1/access-links/{id}/cancel"),
            Some(json!({})),
            200,
        ),
    ];
    app.create_tenant("other").await;
    let stranger = app.owner("other").await;
    for (method, path, body, success) in endpoints {
        app.request(method.clone(), &path, Some(&attendant), body.clone())
            .await
            .expect(403);
        app.request(method.clone(), &path, None, body.clone()).await.expect(401);
        app.request(method.clone(), &path, Some(&supervisor), body.clone())
            .await
            .expect(success);
    }
    // Another tenant's link id is unknown here; its department does not exist here.
    app.get(&format!("/api/v1/access-links/{id}"), &stranger)
        .await
        .expect(404);
    app.post(&format!("/api/v1/access-links/{id}/cancel"), &stranger, json!({}))
        .await
        .expect(404);
    let reply = app
        .post("/api/v1/access-links", &stranger, json!({"department_id": department}))
        .await
        .expect(422);
    assert_eq!(reply.field_errors("department_id"), ["does not exist"]);
    app.get("/api/v1/access-links/not-a-uuid", &owner).await.expect(404);
}
