//! SPEC §4.8 CSV exports: the reference's columns, RFC 4180, streamed, and cells that a
//! spreadsheet would run as formulas neutralised. Every export is parsed back with a CSV
//! reader.

use serde_json::json;

use crate::analytics::{named_agent, retime};
use crate::helpers::{Reply, Session, TestApp};

/// The header and the records of a CSV answer (which must be one).
fn parse(reply: &Reply) -> (Vec<String>, Vec<Vec<String>>) {
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.headers["content-type"], "text/csv; charset=utf-8");
    let mut reader = csv::ReaderBuilder::new().from_reader(reply.text.as_bytes());
    let header = reader.headers().expect("header").iter().map(str::to_string).collect();
    let records = reader
        .records()
        .map(|r| r.expect("record").iter().map(str::to_string).collect())
        .collect();
    (header, records)
}

fn columns(text: &str) -> Vec<String> {
    text.split(',').map(str::to_string).collect()
}

#[tokio::test]
async fn calls_csv_has_the_reference_columns_and_the_calls_of_the_period() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let department = app.department(&owner, "Suporte Técnico").await;
    let agent = named_agent(&app, &owner, &department, "João Silva").await;
    let call = app.completed_call(&owner, &agent, &department, "Carlos Ferreira").await;
    app.public_post(&format!("/api/v1/call/evaluate/{call}"), json!({"rating": 5}))
        .await
        .expect(201);
    retime(&app, &call, "2026-02-15T14:29:48Z", 12, 345).await;
    let missed = app.queued_call(&owner, &department, "Dora").await;
    app.public_post(&format!("/api/v1/call/leave/{missed}"), json!({}))
        .await
        .expect(200);
    retime(&app, &missed, "2026-02-16T10:00:00Z", 40, 0).await;

    let reply = app
        .get(
            "/api/v1/export/calls.csv?date_from=2026-02-01&date_to=2026-02-28",
            &owner,
        )
        .await;
    assert!(reply.text.contains("\r\n"), "records end with CRLF");
    assert!(
        reply.headers["content-disposition"]
            .to_str()
            .unwrap()
            .contains("calls.csv")
    );
    let (header, records) = parse(&reply);
    assert_eq!(
        header,
        columns(
            "id,status,department,attendant,customer_name,customer_email,duration,wait_time,rating,started_at,completed_at,provider,protocol"
        )
    );
    assert_eq!(
        records,
        [
            vec![
                call.clone(),
                "completed".into(),
                "Suporte Técnico".into(),
                "João Silva".into(),
                "Carlos Ferreira".into(),
                "carlos.ferreira@patients.test".into(),
                "345".into(),
                "12".into(),
                "5".into(),
                "2026-02-15T14:30:00Z".into(),
                "2026-02-15T14:35:45Z".into(),
                String::new(),
                protocol(&app, &owner, &call).await,
            ],
            vec![
                missed.clone(),
                "missed".into(),
                "Suporte Técnico".into(),
                String::new(),
                "Dora".into(),
                "dora@patients.test".into(),
                String::new(),
                "40".into(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                protocol(&app, &owner, &missed).await,
            ],
        ]
    );

    let (_, only_missed) = parse(
        &app.get(
            "/api/v1/export/calls.csv?date_from=2026-02-01&date_to=2026-02-28&status=missed",
            &owner,
        )
        .await,
    );
    assert_eq!(only_missed.len(), 1);
    assert_eq!(only_missed[0][0], missed);
    let (_, other_department) = parse(
        &app.get(
            &format!(
                "/api/v1/export/calls.csv?date_from=2026-02-01&date_to=2026-02-28&department_id={}",
                uuid::Uuid::new_v4()
            ),
            &owner,
        )
        .await,
    );
    assert!(other_department.is_empty());
    // By default the last 30 days: February 2026 is long gone.
    let (_, recent) = parse(&app.get("/api/v1/export/calls.csv", &owner).await);
    assert!(recent.is_empty());
}

#[tokio::test]
async fn calls_csv_filters_by_provider() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let department = app.department(&owner, "Clínica").await;
    let partner = named_agent(&app, &owner, &department, "Paula Prado").await;
    let staff = named_agent(&app, &owner, &department, "Sara Sá").await;
    let provider = crate::analytics::provider_of(&app, &owner, "ABC Hospital", "12345678000190", &partner).await;
    let theirs = app.completed_call(&owner, &partner, &department, "Ana").await;
    app.completed_call(&owner, &staff, &department, "Bia").await;
    let (_, records) = parse(
        &app.get(&format!("/api/v1/export/calls.csv?provider_id={provider}"), &owner)
            .await,
    );
    assert_eq!(records.len(), 1);
    assert_eq!(records[0][0], theirs);
    assert_eq!(records[0][3], "Paula Prado");
}

#[tokio::test]
async fn calls_csv_names_the_provider_and_the_protocol_of_each_call() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let department = app.department(&owner, "Clínica").await;
    let partner = named_agent(&app, &owner, &department, "Paula Prado").await;
    let staff = named_agent(&app, &owner, &department, "Sara Sá").await;
    crate::analytics::provider_of(&app, &owner, "ABC Hospital", "12345678000190", &partner).await;
    let theirs = app.completed_call(&owner, &partner, &department, "Ana").await;
    let ours = app.completed_call(&owner, &staff, &department, "Bia").await;
    let (header, records) = parse(&app.get("/api/v1/export/calls.csv", &owner).await);
    assert_eq!(header[11..], ["provider".to_string(), "protocol".to_string()]);
    assert_eq!(records.len(), 2);
    let row = |id: &str| records.iter().find(|r| r[0] == id).unwrap().clone();
    assert_eq!(row(&theirs)[11], "ABC Hospital");
    assert_eq!(row(&theirs)[12], protocol(&app, &owner, &theirs).await);
    assert_eq!(row(&ours)[11], "");
    assert_eq!(row(&ours)[12], protocol(&app, &owner, &ours).await);
}

/// A call's protocol number, as the API shows it.
async fn protocol(app: &TestApp, owner: &Session, call: &str) -> String {
    let reply = app.get(&format!("/api/v1/calls/{call}"), owner).await.expect(200);
    reply.data()["protocol"].as_str().unwrap().to_string()
}

/// Creates a customer through the API; returns its id.
async fn customer(app: &TestApp, owner: &Session, fields: serde_json::Value) -> String {
    app.post("/api/v1/customers", owner, json!({ "customer": fields }))
        .await
        .expect(201)
        .id()
}

#[tokio::test]
async fn hostile_cells_are_neutralised_and_everything_else_round_trips() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let formula = customer(
        &app,
        &owner,
        json!({"name": "=HYPERLINK(\"http://evil.example\",\"x\")", "phone": "+5511999998888"}),
    )
    .await;
    let at = customer(&app, &owner, json!({"name": "@SUM(A1:A9)", "phone": "-11 99999 8888"})).await;
    let plus = customer(
        &app,
        &owner,
        json!({"name": "+cmd|' /C calc'!A0", "document": "123.456.789-09"}),
    )
    .await;
    let minus = customer(&app, &owner, json!({"name": "-2+3+cmd|' /C calc'!A0"})).await;
    let awkward = customer(
        &app,
        &owner,
        json!({"name": "Ana \"Nina\", da Silva\nSegunda linha", "email": "ana@example.com", "notes": "x"}),
    )
    .await;

    let (header, records) = parse(&app.get("/api/v1/export/customers.csv", &owner).await);
    assert_eq!(
        header,
        columns("id,name,email,phone,document,call_count,last_call_at,created_at")
    );
    let row = |id: &str| records.iter().find(|r| r[0] == id).expect("customer exported").clone();
    assert_eq!(row(&formula)[1], "'=HYPERLINK(\"http://evil.example\",\"x\")");
    assert_eq!(row(&formula)[3], "+5511999998888", "a phone number stays as it is");
    assert_eq!(row(&at)[1], "'@SUM(A1:A9)");
    assert_eq!(row(&at)[3], "'-11 99999 8888", "only a phone with + is a phone");
    assert_eq!(row(&plus)[1], "'+cmd|' /C calc'!A0");
    assert_eq!(row(&plus)[4], "123.456.789-09");
    assert_eq!(row(&minus)[1], "'-2+3+cmd|' /C calc'!A0");
    let awkward = row(&awkward);
    assert_eq!(awkward[1], "Ana \"Nina\", da Silva\nSegunda linha");
    assert_eq!(awkward[2], "ana@example.com");
    assert_eq!(awkward[5], "0");
    assert!(awkward[7].ends_with('Z'));
}

#[tokio::test]
async fn links_csv_has_the_documented_columns_and_the_current_status() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let department = app.department(&owner, "Clínica").await;
    let hostile = app
        .link(
            &owner,
            &department,
            json!({"customer_name": "-2+3+cmd|' /C calc'!A0", "customer_phone": "+55 (11) 99999-8888"}),
        )
        .await;
    let used = app
        .link(&owner, &department, json!({"customer_email": "bia@example.com"}))
        .await;
    app.join(used["token"].as_str().unwrap(), "Bia").await;
    let cancelled = app.link(&owner, &department, json!({})).await;
    app.cancel_link(&owner, &cancelled).await;

    let (header, records) = parse(&app.get("/api/v1/export/links.csv", &owner).await);
    assert_eq!(
        header,
        columns(
            "id,token,url,status,department,customer_name,customer_email,customer_phone,expires_at,used_at,inserted_at"
        )
    );
    assert_eq!(records.len(), 3);
    let row = records.iter().find(|r| r[0] == hostile["id"]).unwrap();
    assert_eq!(row[2], hostile["url"].as_str().unwrap());
    assert!(row[2].starts_with("http://voki.test/call/"));
    assert_eq!(row[3], "active");
    assert_eq!(row[4], "Clínica");
    assert_eq!(row[5], "'-2+3+cmd|' /C calc'!A0");
    assert_eq!(row[7], "+55 (11) 99999-8888");
    assert_eq!(row[8], hostile["expires_at"].as_str().unwrap());

    let (_, used_rows) = parse(&app.get("/api/v1/export/links.csv?status=used", &owner).await);
    assert_eq!(used_rows.len(), 1);
    assert_eq!(used_rows[0][0], used["id"]);
    assert!(!used_rows[0][9].is_empty(), "used_at");
    let (_, cancelled_rows) = parse(
        &app.get(
            &format!("/api/v1/export/links.csv?status=cancelled&department_id={department}"),
            &owner,
        )
        .await,
    );
    assert_eq!(cancelled_rows.len(), 1);
}

#[tokio::test]
async fn an_expired_link_is_exported_as_expired_before_the_sweeper_runs() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let department = app.department(&owner, "Clínica").await;
    let link = app.link(&owner, &department, json!({})).await;
    let id = link["id"].as_str().unwrap().to_string();
    app.tenant_db("acme")
        .await
        .write(move |conn| {
            conn.execute(
                "UPDATE access_links SET expires_at = '2020-01-01T00:00:00Z' WHERE id = ?1",
                [&id],
            )?;
            Ok(())
        })
        .await
        .unwrap();
    let (_, records) = parse(&app.get("/api/v1/export/links.csv?status=expired", &owner).await);
    assert_eq!(records.len(), 1);
    assert_eq!(records[0][3], "expired");
    let (_, active) = parse(&app.get("/api/v1/export/links.csv?status=active", &owner).await);
    assert!(active.is_empty());
}

#[tokio::test]
async fn a_large_export_is_streamed_complete() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    const COUNT: usize = 20_000;
    app.tenant_db("acme")
        .await
        .write(|conn| {
            let mut insert = conn.prepare(
                "INSERT INTO customers (id, name, email, inserted_at, updated_at)
                 VALUES (?1, ?2, ?3, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')",
            )?;
            for index in 0..COUNT {
                insert.execute([
                    uuid::Uuid::new_v4().to_string(),
                    format!("Paciente {index:05}, \"quoted\""),
                    format!("p{index}@example.com"),
                ])?;
            }
            Ok(())
        })
        .await
        .unwrap();
    let reply = app.get("/api/v1/export/customers.csv", &owner).await;
    assert!(
        reply.headers.get("content-length").is_none(),
        "streamed (chunked), not buffered"
    );
    assert!(reply.text.len() > 1_000_000);
    let (_, records) = parse(&reply);
    assert_eq!(records.len(), COUNT);
    assert_eq!(records[COUNT - 1][1].chars().filter(|c| *c == '"').count(), 2);
}

#[tokio::test]
async fn bad_export_filters_are_refused_clearly() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let reply = app
        .get("/api/v1/export/calls.csv?status=ringing", &owner)
        .await
        .expect(422);
    assert_eq!(reply.field_errors("status"), ["is invalid"]);
    let reply = app
        .get("/api/v1/export/links.csv?status=open", &owner)
        .await
        .expect(422);
    assert_eq!(reply.field_errors("status"), ["is invalid"]);
    for path in [
        "/api/v1/export/calls.csv?date_from=last-week",
        "/api/v1/export/calls.csv?department_id=42",
        "/api/v1/export/links.csv?department_id=%27%3B%20DROP%20TABLE%20calls",
    ] {
        let reply = app.get(path, &owner).await.expect(400);
        assert!(reply.body["errors"]["detail"].is_string(), "{path}");
    }
}

#[tokio::test]
async fn an_export_holds_only_its_own_tenants_rows() {
    let app = TestApp::spawn().await;
    app.create_tenant("other").await;
    let owner = app.owner("acme").await;
    let other = app.owner("other").await;
    customer(&app, &owner, json!({"name": "Only in acme"})).await;
    let (_, theirs) = parse(&app.get("/api/v1/export/customers.csv", &other).await);
    assert!(theirs.is_empty());
    let (_, ours) = parse(&app.get("/api/v1/export/customers.csv", &owner).await);
    assert_eq!(ours.len(), 1);
}
