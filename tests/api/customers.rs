//! Customers (SPEC §4.4): CRUD, search, the matching rule, merge, the delete rule.

use serde_json::{Value, json};
use voki::customers::{CustomerDetails, match_or_create};

use crate::helpers::TestApp;

#[tokio::test]
async fn customers_crud_with_the_customer_wrapper() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let agent = app.user(&owner, "attendant").await;
    let created = app
        .post(
            "/api/v1/customers",
            &agent,
            json!({"customer": {"name": "Carlos Ferreira", "email": "carlos@email.com", "phone": "+5511999998888", "document": "123.456.789-00", "notes": "Cliente preferencial"}}),
        )
        .await
        .expect(201);
    let data = created.data();
    assert_eq!(data["call_count"], 0);
    assert_eq!(data["last_call_at"], Value::Null);
    assert_eq!(data["document"], "123.456.789-00");
    let id = created.id();
    let updated = app
        .put(
            &format!("/api/v1/customers/{id}"),
            &agent,
            json!({"customer": {"notes": null}}),
        )
        .await
        .expect(200);
    assert_eq!(updated.data()["notes"], Value::Null);
    assert_eq!(updated.data()["name"], "Carlos Ferreira");
    app.delete(&format!("/api/v1/customers/{id}"), &agent).await.expect(204);
    app.get(&format!("/api/v1/customers/{id}"), &agent).await.expect(404);
    let blank = app
        .post("/api/v1/customers", &agent, json!({"customer": {"email": "x@y.z"}}))
        .await
        .expect(422);
    assert_eq!(blank.field_errors("name"), ["can't be blank"]);
}

#[tokio::test]
async fn customer_search_finds_a_phone_by_its_digits() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    app.post(
        "/api/v1/customers",
        &owner,
        json!({"name": "Ana Costa", "phone": "+55 (11) 99999-8888"}),
    )
    .await
    .expect(201);
    let count = |reply: crate::helpers::Reply| reply.body["meta"]["total_count"].as_i64().unwrap();
    // The digits match whatever punctuation the number was stored with.
    assert_eq!(
        count(
            app.get("/api/v1/customers?search=11999998888", &owner)
                .await
                .expect(200)
        ),
        1
    );
    assert_eq!(
        count(
            app.get("/api/v1/customers?search=11888889999", &owner)
                .await
                .expect(200)
        ),
        0
    );
}

#[tokio::test]
async fn customer_search_matches_name_email_or_phone() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    for (name, email, phone) in [
        ("Ana Costa", "ana@email.com", "+5511911112222"),
        ("Roberto Lima", "roberto@email.com", "+5511933334444"),
        ("Patrícia Souza", "patricia@clinic.br", "+5521955556666"),
    ] {
        app.post(
            "/api/v1/customers",
            &owner,
            json!({"name": name, "email": email, "phone": phone}),
        )
        .await
        .expect(201);
    }
    let count = |reply: crate::helpers::Reply| reply.body["meta"]["total_count"].as_i64().unwrap();
    assert_eq!(
        count(
            app.get("/api/v1/customers?search=PATR%C3%8DCIA", &owner)
                .await
                .expect(200)
        ),
        1
    );
    assert_eq!(
        count(app.get("/api/v1/customers?search=email.com", &owner).await.expect(200)),
        2
    );
    assert_eq!(
        count(app.get("/api/v1/customers?search=3333", &owner).await.expect(200)),
        1
    );
    let sorted = app
        .get("/api/v1/customers?sort_by=email&sort_order=desc", &owner)
        .await
        .expect(200);
    assert_eq!(sorted.data()[0]["name"], "Roberto Lima");
}

#[tokio::test]
async fn matching_prefers_email_then_phone_digits_and_fills_but_never_overwrites() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let existing = app
        .post(
            "/api/v1/customers",
            &owner,
            json!({"name": "Ana Costa", "email": "Ana@Email.com"}),
        )
        .await
        .expect(201)
        .id();
    let db = app.state().tenants.get("acme").await.unwrap().unwrap();

    let by_email = CustomerDetails {
        name: "Someone Else".into(),
        email: Some("ana@email.COM".into()),
        phone: Some("+55 (11) 91111-2222".into()),
    };
    let (customer, new) = db.write(move |conn| match_or_create(conn, &by_email)).await.unwrap();
    assert!(!new);
    assert_eq!(customer.id, existing);
    assert_eq!(customer.name, "Ana Costa", "never overwritten");
    assert_eq!(
        customer.phone.as_deref(),
        Some("+55 (11) 91111-2222"),
        "empty field filled"
    );

    let by_phone = CustomerDetails {
        name: "Ana".into(),
        email: None,
        phone: Some("+5511911112222".into()),
    };
    let (customer, new) = db.write(move |conn| match_or_create(conn, &by_phone)).await.unwrap();
    assert!(!new);
    assert_eq!(customer.id, existing);

    let stranger = CustomerDetails {
        name: "New Person".into(),
        email: Some("new@x.test".into()),
        phone: None,
    };
    let (customer, new) = db.write(move |conn| match_or_create(conn, &stranger)).await.unwrap();
    assert!(new);
    assert_ne!(customer.id, existing);
}

#[tokio::test]
async fn merge_moves_everything_to_the_primary_and_deletes_the_secondaries() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let supervisor = app.user(&owner, "supervisor").await;
    let attendant = app.user(&owner, "attendant").await;
    let primary = app
        .post("/api/v1/customers", &owner, json!({"name": "Ana"}))
        .await
        .expect(201)
        .id();
    let second = app
        .post(
            "/api/v1/customers",
            &owner,
            json!({"name": "Ana C.", "email": "ana@email.com", "document": "12345678900"}),
        )
        .await
        .expect(201)
        .id();
    let third = app
        .post(
            "/api/v1/customers",
            &owner,
            json!({"name": "A. Costa", "phone": "+5511900000000"}),
        )
        .await;
    let third = third.expect(201).id();
    let body = json!({"primary_id": primary, "secondary_ids": [second, third]});
    app.post("/api/v1/customers/merge", &attendant, body.clone())
        .await
        .expect(403);
    let merged = app.post("/api/v1/customers/merge", &supervisor, body).await.expect(200);
    assert_eq!(merged.data()["id"], primary.as_str());
    assert_eq!(merged.data()["name"], "Ana");
    assert_eq!(merged.data()["email"], "ana@email.com");
    assert_eq!(merged.data()["phone"], "+5511900000000");
    app.get(&format!("/api/v1/customers/{second}"), &owner)
        .await
        .expect(404);
    app.get(&format!("/api/v1/customers/{third}"), &owner).await.expect(404);
}

#[tokio::test]
async fn merge_with_an_unknown_id_changes_nothing() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let primary = app
        .post("/api/v1/customers", &owner, json!({"name": "Ana"}))
        .await
        .expect(201)
        .id();
    let second = app
        .post("/api/v1/customers", &owner, json!({"name": "Bia"}))
        .await
        .expect(201)
        .id();
    let reply = app
        .post(
            "/api/v1/customers/merge",
            &owner,
            json!({"primary_id": primary, "secondary_ids": [second, "00000000-0000-4000-8000-000000000000"]}),
        )
        .await
        .expect(422);
    assert_eq!(reply.field_errors("secondary_ids.1"), ["does not exist"]);
    app.get(&format!("/api/v1/customers/{second}"), &owner)
        .await
        .expect(200);
    let into_itself = app
        .post(
            "/api/v1/customers/merge",
            &owner,
            json!({"primary_id": primary, "secondary_ids": [primary]}),
        )
        .await
        .expect(422);
    assert_eq!(
        into_itself.field_errors("secondary_ids"),
        ["must not contain the primary"]
    );
    let empty = app.post("/api/v1/customers/merge", &owner, json!({})).await.expect(422);
    assert_eq!(empty.field_errors("primary_id"), ["can't be blank"]);
    assert_eq!(empty.field_errors("secondary_ids"), ["can't be blank"]);
}

#[tokio::test]
async fn customers_are_attendant_level_and_tenant_scoped() {
    let app = TestApp::spawn().await;
    app.create_tenant("other").await;
    let owner = app.owner("acme").await;
    let other = app.owner("other").await;
    let id = app
        .post("/api/v1/customers", &owner, json!({"name": "Ana"}))
        .await
        .expect(201)
        .id();
    app.get(&format!("/api/v1/customers/{id}"), &other).await.expect(404);
    app.put(&format!("/api/v1/customers/{id}"), &other, json!({"name": "X"}))
        .await
        .expect(404);
    app.delete(&format!("/api/v1/customers/{id}"), &other).await.expect(404);
    let reply = app.request(reqwest::Method::GET, "/api/v1/customers", None, None).await;
    assert_eq!(reply.status, 401);
}
