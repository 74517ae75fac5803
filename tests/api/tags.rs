//! SPEC §4.8, tags: a tree with colours, cycles refused, deletes guarded.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{Session, TestApp};

async fn tag(app: &TestApp, session: &Session, name: &str, parent: Option<&str>) -> String {
    app.post(
        "/api/v1/tags",
        session,
        json!({"tag": {"name": name, "parent_id": parent}}),
    )
    .await
    .expect(201)
    .id()
}

#[tokio::test]
async fn a_tag_gets_the_default_colour_and_the_list_pages_by_50() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let attendant = app.user(&owner, "attendant").await;
    let reply = app
        .post("/api/v1/tags", &attendant, json!({"name": "Suporte"}))
        .await
        .expect(201);
    let data = reply.data();
    assert_eq!(data["color"], "#6b7280");
    assert_eq!(data["parent_id"], serde_json::Value::Null);
    assert_eq!(data["usage_count"], 0);
    assert!(data["inserted_at"].is_string());
    let reply = app
        .post(
            "/api/v1/tags",
            &attendant,
            json!({"tag": {"name": "Urgente", "color": "#EF4444"}}),
        )
        .await
        .expect(201);
    assert_eq!(reply.data()["color"], "#ef4444");

    let list = app.get("/api/v1/tags", &attendant).await.expect(200);
    assert_eq!(list.body["meta"]["page_size"], 50);
    let names: Vec<&str> = list
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Suporte", "Urgente"], "by name");
    let found = app.get("/api/v1/tags?search=urg", &attendant).await.expect(200);
    assert_eq!(found.body["meta"]["total_count"], 1);
    let one = app
        .get(&format!("/api/v1/tags/{}", reply.id()), &attendant)
        .await
        .expect(200);
    assert_eq!(one.data()["name"], "Urgente");
    let renamed = app
        .put(
            &format!("/api/v1/tags/{}", reply.id()),
            &attendant,
            json!({"tag": {"name": "Prioridade"}}),
        )
        .await
        .expect(200);
    assert_eq!(renamed.data()["name"], "Prioridade");
    assert_eq!(renamed.data()["color"], "#ef4444");
}

#[tokio::test]
async fn bad_tags_are_422_per_field() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let root = tag(&app, &owner, "Suporte", None).await;
    for (body, field, message) in [
        (json!({}), "name", "can't be blank"),
        (json!({"name": "X", "color": "blue"}), "color", "has invalid format"),
        (
            json!({"name": "X", "parent_id": uuid::Uuid::new_v4()}),
            "parent_id",
            "does not exist",
        ),
        (json!({"name": "X", "parent_id": "nope"}), "parent_id", "does not exist"),
        (json!({"name": "suporte"}), "name", "has already been taken"),
    ] {
        let reply = app.post("/api/v1/tags", &owner, body).await.expect(422);
        assert_eq!(reply.field_errors(field), [message]);
    }
    // The same name under another parent is fine.
    tag(&app, &owner, "Suporte", Some(&root)).await;
}

#[tokio::test]
async fn the_tree_nests_children_under_their_roots() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let support = tag(&app, &owner, "Suporte", None).await;
    let billing = tag(&app, &owner, "Financeiro", None).await;
    let network = tag(&app, &owner, "Rede", Some(&support)).await;
    let wifi = tag(&app, &owner, "Wi-Fi", Some(&network)).await;
    let tree = app.get("/api/v1/tags/tree", &owner).await.expect(200);
    let roots = tree.data().as_array().unwrap();
    assert_eq!(roots.len(), 2);
    assert_eq!(roots[0]["id"], billing);
    assert_eq!(roots[0]["children"], json!([]));
    assert_eq!(roots[1]["id"], support);
    assert_eq!(roots[1]["children"][0]["id"], network);
    assert_eq!(roots[1]["children"][0]["children"][0]["id"], wifi);
    assert_eq!(roots[1]["children"][0]["children"][0]["parent_id"], network);
}

#[tokio::test]
async fn a_parent_that_would_make_a_cycle_is_refused() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let a = tag(&app, &owner, "A", None).await;
    let b = tag(&app, &owner, "B", Some(&a)).await;
    let c = tag(&app, &owner, "C", Some(&b)).await;
    for parent in [&a, &b, &c] {
        let path = format!("/api/v1/tags/{a}");
        let reply = app.put(&path, &owner, json!({"parent_id": parent})).await.expect(422);
        assert_eq!(reply.field_errors("parent_id"), ["would create a cycle"]);
    }
    // Moving C to the root and A under C is fine: no cycle any more.
    app.put(&format!("/api/v1/tags/{c}"), &owner, json!({"parent_id": null}))
        .await
        .expect(200);
    let moved = app
        .put(&format!("/api/v1/tags/{a}"), &owner, json!({"parent_id": c}))
        .await
        .expect(200);
    assert_eq!(moved.data()["parent_id"], c);
}

#[tokio::test]
async fn deleting_needs_supervisor_and_a_tag_without_children() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let attendant = app.user(&owner, "attendant").await;
    let supervisor = app.user(&owner, "supervisor").await;
    let parent = tag(&app, &owner, "Suporte", None).await;
    let child = tag(&app, &owner, "Rede", Some(&parent)).await;
    app.delete(&format!("/api/v1/tags/{child}"), &attendant)
        .await
        .expect(403);
    let reply = app
        .delete(&format!("/api/v1/tags/{parent}"), &supervisor)
        .await
        .expect(422);
    assert_eq!(
        reply.body["errors"]["detail"],
        "Tag has children; delete or move them first"
    );
    app.delete(&format!("/api/v1/tags/{child}"), &supervisor)
        .await
        .expect(204);
    app.delete(&format!("/api/v1/tags/{parent}"), &supervisor)
        .await
        .expect(204);
    app.get(&format!("/api/v1/tags/{parent}"), &owner).await.expect(404);
}

#[tokio::test]
async fn deleting_a_tag_takes_it_off_its_calls() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let department = app.department(&owner, "Clínica Geral").await;
    let call = app.queued_call(&owner, &department, "Ana Costa").await;
    let label = tag(&app, &owner, "Retorno", None).await;
    app.post(&format!("/api/v1/calls/{call}/tags"), &owner, json!({"tag_id": label}))
        .await
        .expect(200);
    app.delete(&format!("/api/v1/tags/{label}"), &owner).await.expect(204);
    let detail = app.get(&format!("/api/v1/calls/{call}"), &owner).await.expect(200);
    assert_eq!(detail.data()["tags"], json!([]));
}

#[tokio::test]
async fn tags_need_a_token_and_stay_in_their_tenant() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let id = tag(&app, &owner, "Suporte", None).await;
    app.create_tenant("other").await;
    let stranger = app.owner("other").await;
    for (method, path) in [
        (Method::GET, "/api/v1/tags".to_string()),
        (Method::GET, "/api/v1/tags/tree".to_string()),
        (Method::GET, format!("/api/v1/tags/{id}")),
        (Method::PUT, format!("/api/v1/tags/{id}")),
        (Method::DELETE, format!("/api/v1/tags/{id}")),
        (Method::POST, "/api/v1/tags".to_string()),
    ] {
        app.request(method, &path, None, Some(json!({"name": "x"})))
            .await
            .expect(401);
    }
    app.get(&format!("/api/v1/tags/{id}"), &stranger).await.expect(404);
    app.put(&format!("/api/v1/tags/{id}"), &stranger, json!({"name": "x"}))
        .await
        .expect(404);
    app.delete(&format!("/api/v1/tags/{id}"), &stranger).await.expect(404);
    let tree = app.get("/api/v1/tags/tree", &stranger).await.expect(200);
    assert_eq!(tree.data(), &json!([]));
}
