//! Operations (SPEC §7.6): suspension, the background schedule by next due time, idle
//! tenants closing while the sweeper runs, scheduled backups, moving a tenant between
//! nodes. The CLI side (restore, verify, delete, a suspension seen by a running server)
//! is in tests/cli.rs.

use std::time::Duration;

use reqwest::Method;
use serde_json::json;
use voki::db::DbSettings;

use crate::helpers::*;

fn settings() -> DbSettings {
    DbSettings {
        synchronous: "FULL".into(),
        readers: 2,
        wal_autocheckpoint: 1000,
    }
}

async fn open_tenant_databases(app: &TestApp) -> u64 {
    let text = app.public_get("/metrics").await.expect(200).text;
    metric(&text, "voki_open_tenant_databases")
}

fn metric(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|line| line.strip_prefix(&format!("{name} ")))
        .unwrap_or_else(|| panic!("no {name} in {text}"))
        .trim()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn suspended_tenant_answers_403_on_the_api_and_404_on_public_pages() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let department = app.department(&owner, "Cardiology").await;
    let link = app.link(&owner, &department, json!({})).await;
    let token = link["token"].as_str().unwrap().to_string();
    app.public_get(&format!("/api/v1/call/{token}/validate"))
        .await
        .expect(200);

    assert!(app.state().tenants.set_suspended("acme", true).await.unwrap());
    let refused = app.get("/api/v1/departments", &owner).await.expect(403);
    assert_eq!(refused.body, json!({"errors": {"detail": "Tenant suspended"}}));
    let login = app
        .request(
            Method::POST,
            "/api/auth/login",
            None,
            Some(json!({"email": "owner@acme.test", "password": OWNER_PASSWORD, "tenant": "acme"})),
        )
        .await
        .expect(403);
    assert_eq!(login.body["errors"]["detail"], "Tenant suspended");
    let refresh = app
        .request(
            Method::POST,
            "/api/auth/refresh",
            None,
            Some(json!({"refresh_token": owner.refresh_token})),
        )
        .await;
    assert_eq!(refresh.status, 403, "{}", refresh.text);
    app.public_get(&format!("/api/v1/call/{token}/validate"))
        .await
        .expect(404);
    let socket = app
        .client
        .get(format!("{}/socket/websocket?token={}&vsn=2.0.0", app.base, owner.token))
        .send()
        .await
        .unwrap();
    assert_eq!(socket.status(), 403);
    assert!(socket.text().await.unwrap().contains("Tenant suspended"));
    // Other tenants are not affected.
    app.create_tenant("beta").await;
    app.owner("beta").await;

    assert!(app.state().tenants.set_suspended("acme", false).await.unwrap());
    app.get("/api/v1/departments", &owner).await.expect(200);
    app.public_get(&format!("/api/v1/call/{token}/validate"))
        .await
        .expect(200);
    assert!(!app.state().tenants.set_suspended("nobody", true).await.unwrap());
}

#[tokio::test]
async fn sweeper_skips_suspended_tenants() {
    let app = TestApp::spawn().await;
    app.owner("acme").await;
    let now = voki::time::now_text();
    assert!(
        app.state()
            .tenants
            .due_for_sweep(&now)
            .await
            .unwrap()
            .contains(&"acme".to_string())
    );
    app.state().tenants.set_suspended("acme", true).await.unwrap();
    assert!(app.state().tenants.due_for_sweep(&now).await.unwrap().is_empty());
    assert!(app.state().tenants.get_background("acme").await.unwrap().is_none());
}

#[tokio::test]
async fn idle_tenants_are_closed_while_the_sweeper_runs_every_second() {
    let app = TestApp::spawn_with(|config| {
        config.sweep_interval_secs = 1;
        config.tenant_idle_secs = 1;
    })
    .await;
    let owner = app.owner("acme").await;
    app.get("/api/v1/departments", &owner).await.expect(200);
    // The sweeper and the webhook loop keep touching it every second; neither refreshes
    // its idle clock, so it closes (the metrics request opens no tenant).
    let mut open = u64::MAX;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        open = open_tenant_databases(&app).await;
        if open == 0 {
            break;
        }
    }
    assert_eq!(open, 0, "the idle tenant stayed open");
    // And with nothing due, later sweeps leave it closed.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(open_tenant_databases(&app).await, 0);
    // A request opens it again.
    app.get("/api/v1/departments", &owner).await.expect(200);
    assert_eq!(open_tenant_databases(&app).await, 1);
}

#[tokio::test]
async fn a_sweep_opens_only_the_tenants_with_something_due() {
    let app = TestApp::spawn_with(|config| config.tenant_idle_secs = 1).await;
    for slug in ["beta", "gamma"] {
        app.create_tenant(slug).await;
    }
    let owner = app.owner("acme").await;
    let department = app.department(&owner, "Front desk").await;
    // A link expiring in a week and nothing sooner: acme is looked at again within a day
    // (the longest quiet time), the link's expiry being later.
    app.link(&owner, &department, json!({})).await;
    app.sweep().await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    app.state().tenants.close_idle(Duration::from_secs(1));
    assert!(app.state().tenants.open_slugs().is_empty());

    app.sweep().await;
    assert!(
        app.state().tenants.open_slugs().is_empty(),
        "nothing is due, yet the sweep opened {:?}",
        app.state().tenants.open_slugs()
    );
    let next: Option<String> = app
        .state()
        .tenants
        .registry()
        .read(|conn| {
            Ok(conn.query_row(
                "SELECT next_due_at FROM tenant_state WHERE tenant_slug = 'acme'",
                [],
                |row| row.get(0),
            )?)
        })
        .await
        .unwrap();
    let next = voki::time::parse(&next.unwrap()).unwrap();
    assert!(next <= voki::time::now() + voki::schedule::MAX_QUIET, "{next}");
    assert!(next > voki::time::now() + chrono::Duration::hours(23), "{next}");

    // Make gamma due: the next sweep opens exactly that one.
    app.state()
        .tenants
        .registry()
        .write(|conn| {
            conn.execute(
                "UPDATE tenant_state SET next_due_at = '2000-01-01T00:00:00Z' WHERE tenant_slug = 'gamma'",
                [],
            )?;
            Ok(())
        })
        .await
        .unwrap();
    app.sweep().await;
    assert_eq!(app.state().tenants.open_slugs(), vec!["gamma".to_string()]);
}

fn backup_folders(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn scheduled_backups_keep_exactly_backup_keep_and_set_the_metric() {
    let backups = tempfile::tempdir().unwrap();
    let dir = backups.path().join("scheduled");
    let target = dir.clone();
    let app = TestApp::spawn_with(move |config| {
        config.backup_dir = target;
        config.backup_keep = 2;
    })
    .await;
    let metrics = app.public_get("/metrics").await.text;
    assert_eq!(metric(&metrics, "voki_backup_last_success_timestamp_seconds"), 0);

    let start = chrono::DateTime::parse_from_rfc3339("2026-03-01T08:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    for hour in 0..4 {
        let at = start + chrono::Duration::hours(hour);
        let folder = voki::backup::scheduled_backup(app.state(), at).await.unwrap();
        assert!(folder.join("voki.db").is_file() && folder.join("tenants/acme.db").is_file());
    }
    assert_eq!(backup_folders(&dir), ["20260301T100000Z", "20260301T110000Z"]);
    let metrics = app.public_get("/metrics").await.text;
    assert_eq!(
        metric(&metrics, "voki_backup_last_success_timestamp_seconds"),
        (start + chrono::Duration::hours(3)).timestamp() as u64
    );
    let verified = voki::backup::verify(&dir.join("20260301T110000Z"), false).unwrap();
    assert!(verified.failures().is_empty());
}

#[tokio::test]
async fn a_failed_scheduled_backup_is_never_kept() {
    let backups = tempfile::tempdir().unwrap();
    let dir = backups.path().to_path_buf();
    let app = TestApp::spawn_with(move |config| config.backup_dir = dir).await;
    app.create_tenant("beta").await;
    // beta's file disappears (a disk problem): the run fails as a whole.
    voki::db::remove_database_files(&app.dir.path().join("tenants/beta.db"));
    let at = voki::time::now();
    assert!(voki::backup::scheduled_backup(app.state(), at).await.is_err());
    assert!(
        backup_folders(backups.path()).is_empty(),
        "{:?}",
        backup_folders(backups.path())
    );
    let metrics = app.public_get("/metrics").await.text;
    assert_eq!(metric(&metrics, "voki_backup_last_success_timestamp_seconds"), 0);
}

#[tokio::test]
async fn exported_tenant_imports_on_another_node_with_its_links_still_valid() {
    let from = TestApp::spawn().await;
    from.create_tenant("moving").await;
    let owner = from.owner("moving").await;
    let department = from.department(&owner, "Moved department").await;
    let link = from.link(&owner, &department, json!({"reusable": true})).await;
    let token = link["token"].as_str().unwrap().to_string();
    let call_id = from.join(&token, "Ana Souza").await["call_id"]
        .as_str()
        .unwrap()
        .to_string();
    let archive = from.dir.path().join("moving.tar.gz");
    let manifest = voki::lifecycle::export(&from.state().tenants, "moving", &archive)
        .await
        .unwrap();
    assert!(manifest.public_index.len() >= 2, "{manifest:?}");

    let to = TestApp::spawn().await;
    // The slug exists on the target: refused, nothing changes.
    let acme = from.dir.path().join("acme.tar.gz");
    voki::lifecycle::export(&from.state().tenants, "acme", &acme)
        .await
        .unwrap();
    let refused = voki::lifecycle::import(&to.state().tenants, &acme, &settings()).await;
    assert!(refused.unwrap_err().to_string().contains("already exists"));

    voki::lifecycle::import(&to.state().tenants, &archive, &settings())
        .await
        .unwrap();
    to.public_get(&format!("/api/v1/call/{token}/validate"))
        .await
        .expect(200);
    to.public_get(&format!("/api/v1/call/status/{call_id}"))
        .await
        .expect(200);
    let owner = to.owner("moving").await;
    let departments = to.get("/api/v1/departments", &owner).await.expect(200);
    assert_eq!(departments.data()[0]["name"], "Moved department");
    // Importing it twice is refused too.
    assert!(
        voki::lifecycle::import(&to.state().tenants, &archive, &settings())
            .await
            .is_err()
    );
}

#[tokio::test]
async fn deleted_tenant_goes_to_the_trash_and_its_links_stop_working() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let department = app.department(&owner, "Cardiology").await;
    let link = app.link(&owner, &department, json!({})).await;
    let token = link["token"].as_str().unwrap();
    let trash = voki::lifecycle::delete(&app.state().tenants, "acme").await.unwrap();
    assert!(trash.starts_with(app.dir.path().join("trash")));
    assert!(trash.join("acme.db").is_file());
    assert!(!app.dir.path().join("tenants/acme.db").exists());
    app.public_get(&format!("/api/v1/call/{token}/validate"))
        .await
        .expect(404);
    app.get("/api/v1/departments", &owner).await.expect(401);
    assert!(voki::lifecycle::delete(&app.state().tenants, "acme").await.is_err());
}

#[tokio::test]
async fn a_suspension_closes_the_tenants_open_sockets() {
    use futures::StreamExt;
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let url = format!(
        "{}/socket/websocket?token={}&vsn=2.0.0",
        app.base.replace("http://", "ws://"),
        owner.token
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.expect("socket connects");
    app.state().tenants.set_suspended("acme", true).await.unwrap();
    // Any request of the tenant reads the suspension; the socket is closed then.
    app.get("/api/v1/departments", &owner).await.expect(403);
    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match socket.next().await {
                None | Some(Err(_)) | Some(Ok(tokio_tungstenite::tungstenite::Message::Close(_))) => break,
                Some(Ok(_)) => continue,
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the socket stayed open");
}

#[tokio::test]
async fn tenants_migrated_at_startup_are_swept_once() {
    let mut app = TestApp::spawn().await;
    app.create_tenant("beta").await;
    app.sweep().await;
    // As after an upgrade from a version without the schedule.
    app.state()
        .tenants
        .registry()
        .write(|conn| {
            conn.execute("DELETE FROM tenant_state", [])?;
            Ok(())
        })
        .await
        .unwrap();
    app.restart_with(|_| {}).await;
    let now = voki::time::now_text();
    let due = app.state().tenants.due_for_sweep(&now).await.unwrap();
    assert_eq!(due, ["acme", "beta"]);
    app.sweep().await;
    tokio::time::sleep(Duration::from_millis(10)).await;
    let state: Vec<(String, Option<String>, i64)> = app
        .state()
        .tenants
        .registry()
        .read(|conn| {
            let mut stmt =
                conn.prepare("SELECT tenant_slug, next_due_at, schema_version FROM tenant_state ORDER BY 1")?;
            let rows = stmt
                .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
        .await
        .unwrap();
    assert_eq!(state.len(), 2);
    for (slug, next, version) in state {
        assert_eq!(version, voki::db::tenant_schema_version(), "{slug}");
        assert!(next.is_some_and(|next| next > now), "{slug} is not due again");
    }
}
