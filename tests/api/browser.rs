//! The web console and the patient's page in a real browser (headless Chromium driven by
//! playwright-core, tests/js/browser.mjs): a whole consultation with real WebRTC video.
//! CI installs Chromium and the npm packages and sets `VOKI_REQUIRE_BROWSER`; elsewhere,
//! without them, the test says it skipped.

use std::path::{Path, PathBuf};

use serde_json::json;

use crate::helpers::{PASSWORD, TestApp};

/// The browser and the driver, when both are installed.
fn browser() -> Option<(PathBuf, PathBuf)> {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/js");
    let chromium = PathBuf::from(std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()));
    if fixture.join("node_modules/playwright-core").exists() && chromium.exists() {
        return Some((fixture, chromium));
    }
    assert!(
        std::env::var_os("VOKI_REQUIRE_BROWSER").is_none(),
        "install chromium and run `npm ci` in tests/js"
    );
    eprintln!(
        "skipped: needs Chromium ({}) and `npm ci` in tests/js",
        chromium.display()
    );
    None
}

#[tokio::test]
async fn a_patient_and_an_agent_hold_a_video_call_in_the_browser() {
    let Some((fixture, chromium)) = browser() else {
        return;
    };
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let department = app.department(&owner, "Clínica Geral").await;
    let agent = crate::analytics::named_agent(&app, &owner, &department, "Alice Souza").await;
    let link = app.link(&owner, &department, json!({})).await;
    let link_url = format!("{}/call/{}", app.base, link["token"].as_str().unwrap());
    let args = vec![
        "browser.mjs".to_string(),
        app.base.clone(),
        "acme".into(),
        agent.email.clone(),
        PASSWORD.into(),
        link_url,
    ];
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new("node")
            .args(&args)
            .env("CHROMIUM", chromium)
            .current_dir(&fixture)
            .output()
    })
    .await
    .unwrap()
    .expect("node runs");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    assert!(output.status.success(), "stdout: {stdout}\nstderr: {stderr}");
    assert_eq!(stdout.trim(), "OK");

    // What the two pages did is what the API recorded.
    let calls = app.get("/api/v1/calls", &owner).await.expect(200);
    let call = &calls.data()[0];
    assert_eq!(call["status"], "completed");
    assert_eq!(call["customer_name"], "Paciente Teste");
    assert_eq!(call["user_name"], "Alice Souza");
    assert_eq!(call["rating"], 5);
}
