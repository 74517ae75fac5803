//! The web console and the patient's page in a real browser (headless Chromium driven by
//! playwright-core, tests/js/browser.mjs): a whole consultation with real WebRTC video.
//! CI installs Chromium and the npm packages and sets `VOKI_REQUIRE_BROWSER`; elsewhere,
//! without them, the test says it skipped.

use std::path::PathBuf;

use serde_json::json;

use crate::helpers::{OWNER_PASSWORD, PASSWORD, TestApp, browser_fixture, run_node, run_node_output};
use crate::smtp_sink::SmtpSink;

#[tokio::test]
async fn a_patient_and_an_agent_hold_a_video_call_in_the_browser() {
    let Some((fixture, chromium)) = browser_fixture("playwright-core") else {
        return;
    };
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let department = app.department(&owner, "Clínica Geral").await;
    let agent = crate::analytics::named_agent(&app, &owner, &department, "Alice Souza").await;
    // A manager: the console then also shows the dashboard's live figures and the reports;
    // in English, the language of this test's selectors (users are created in pt-BR).
    app.put(
        &format!("/api/v1/users/{}", agent.user_id),
        &owner,
        json!({"role": "manager", "locale": "en"}),
    )
    .await
    .expect(200);
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
    run_node(fixture, args, vec![("CHROMIUM".into(), chromium.display().to_string())]).await;

    // What the two pages did is what the API recorded.
    let calls = app.get("/api/v1/calls", &owner).await.expect(200);
    let call = &calls.data()[0];
    assert_eq!(call["status"], "completed");
    assert_eq!(call["customer_name"], "Paciente Teste");
    assert_eq!(call["user_name"], "Alice Souza");
    assert_eq!(call["rating"], 5);
}

#[tokio::test]
async fn a_patient_who_reloads_resumes_their_call_and_leaves_the_queue_within_the_grace_once_gone() {
    let Some((fixture, chromium)) = browser_fixture("playwright-core") else {
        return;
    };
    let app = TestApp::spawn_with(|config| config.socket_reconnect_grace_secs = 2).await;
    let owner = app.owner("acme").await;
    let department = app.department(&owner, "Clínica Geral").await;
    // A single-use link: a reload must not need it again.
    let link = app.link(&owner, &department, json!({"reusable": false})).await;
    let link_url = format!("{}/call/{}", app.base, link["token"].as_str().unwrap());
    let call_id = run_node_output(
        fixture,
        vec!["reload.mjs".to_string(), link_url],
        vec![("CHROMIUM".into(), chromium.display().to_string())],
    )
    .await;
    // One call only: the reload resumed it rather than joining again.
    let calls = app.get("/api/v1/calls", &owner).await.expect(200);
    assert_eq!(calls.body["meta"]["total_count"], 1, "{}", calls.text);
    let mut status = serde_json::Value::Null;
    for _ in 0..50 {
        status = app
            .public_get(&format!("/api/v1/call/status/{call_id}"))
            .await
            .expect(200)
            .data()["status"]
            .clone();
        if status == "missed" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(status, "missed", "the vanished patient is still {status}");
}

/// A patient books alone on the public page at phone width (390 px), meets a time taken
/// meanwhile and takes one of the next times offered, then opens the manage link and
/// moves the appointment from the link of the confirmation e-mail, which travels over real
/// SMTP to a sink whose messages the page reads as a mailbox (tests/js/booking.mjs), with a
/// screenshot of each page in target/screenshots.
#[tokio::test]
async fn a_patient_books_and_reschedules_on_a_phone_sized_page() {
    let Some((fixture, chromium)) = browser_fixture("playwright-core") else {
        return;
    };
    let sink = crate::smtp_sink::SmtpSink::start().await;
    let app = TestApp::with_smtp(&sink).await;
    let mailbox = tempfile::tempdir().unwrap();
    let postman = deliver_to_mailbox(sink, mailbox.path().to_path_buf());
    let owner = app.owner("acme").await;
    let department = app.department(&owner, "Clínica Geral").await;
    let agent = crate::analytics::named_agent(&app, &owner, &department, "Alice Souza").await;
    app.works_every_day(&owner, &agent.user_id, "07:00", "20:00").await;
    let settings = app
        .put(
            &format!("/api/v1/departments/{department}"),
            &owner,
            json!({"department": {"public_booking": true, "min_notice_minutes": 0}}),
        )
        .await
        .expect(200);
    let booking_url = settings.data()["booking_url"].as_str().unwrap();
    let local_url = booking_url.replace("http://voki.test", &app.base);
    run_node(
        fixture,
        vec![
            "booking.mjs".to_string(),
            local_url,
            mailbox.path().display().to_string(),
        ],
        vec![
            ("CHROMIUM".into(), chromium.display().to_string()),
            ("VOKI_SCREENSHOTS".into(), screenshots().display().to_string()),
        ],
    )
    .await;
    postman.abort();

    let list = app
        .get(&format!("/api/v1/appointments?user_id={}", agent.user_id), &owner)
        .await
        .expect(200);
    let appointments = list.data().as_array().unwrap();
    assert_eq!(appointments.len(), 2, "the other patient's and the browser's");
    let mine = appointments
        .iter()
        .find(|a| a["customer_name"] == "Paciente Navegador")
        .expect("the browser's booking");
    assert_eq!(mine["customer_phone"], "+55 11 98888-7777");
    let notifications = app.get("/api/v1/notifications", &agent).await.expect(200);
    let types: Vec<&str> = notifications
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        ["appointment_rescheduled", "appointment_booked", "appointment_booked"]
    );
}

/// A staff user follows the reset link of the e-mail received over SMTP on the console's
/// `/reset-password` page, then signs in with the new password (tests/js/password_reset.mjs);
/// screenshots of the page at phone width land in target/screenshots.
#[tokio::test]
async fn the_emailed_reset_link_sets_a_new_password_on_the_reset_page() {
    let Some((fixture, chromium)) = browser_fixture("playwright-core") else {
        return;
    };
    let sink = crate::smtp_sink::SmtpSink::start().await;
    let app = TestApp::with_smtp(&sink).await;
    let owner = app.owner("acme").await;
    let agent = app.user(&owner, "attendant").await;
    app.request(
        reqwest::Method::POST,
        "/api/auth/forgot-password",
        None,
        Some(json!({"email": agent.email, "tenant": "acme"})),
    )
    .await
    .expect(200);
    let mail = sink.wait_for(1, 10).await;
    let text = crate::email::parse(mail.first().expect("the reset e-mail")).text;
    let link = crate::email::link(&text, "http://voki.test/reset-password?").replace("http://voki.test", &app.base);
    run_node(
        fixture,
        vec!["password_reset.mjs".to_string(), link, "a-brand-new-password".into()],
        vec![
            ("CHROMIUM".into(), chromium.display().to_string()),
            ("VOKI_SCREENSHOTS".into(), screenshots().display().to_string()),
        ],
    )
    .await;
    app.login("acme", &agent.email, "a-brand-new-password").await;
}

/// The seed guide's whole flow done in the console alone (tests/js/console.mjs): the owner
/// creates the department, the provider and the doctor's user, associates them, adds the
/// doctor to the department and issues a link; the doctor holds the call, which shows the
/// provider, with chat, mute and the patient's hang-up; the per-provider report shows it;
/// booking, rescheduling and cancelling on the week view; the test e-mail refused for want
/// of SMTP; then every view in the three languages without a missing string and without a serious or critical axe-core
/// violation. Screenshots land in target/screenshots.
#[tokio::test]
async fn the_seed_guides_flow_runs_in_the_console_alone() {
    let Some((fixture, chromium)) = browser_fixture("axe-core") else {
        return;
    };
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let shots = screenshots();
    let args = vec![
        "console.mjs".to_string(),
        app.base.clone(),
        "acme".into(),
        owner.email.clone(),
        OWNER_PASSWORD.into(),
        shots.display().to_string(),
    ];
    run_node(fixture, args, vec![("CHROMIUM".into(), chromium.display().to_string())]).await;

    // What the console did is what the API recorded.
    let providers = app.get("/api/v1/providers", &owner).await.expect(200);
    assert_eq!(providers.data()[0]["name"], "ABC Hospital");
    assert_eq!(providers.data()[0]["user_count"], 1);
    let calls = app.get("/api/v1/calls", &owner).await.expect(200);
    let call = &calls.data()[0];
    assert_eq!(call["status"], "completed");
    assert_eq!(call["user_name"], "Dr. João Lima");
    assert_eq!(call["provider_name"], "ABC Hospital");
    assert_eq!(call["rating"], 4);
    let messages = app
        .get(
            &format!("/api/v1/calls/{}/messages", call["id"].as_str().unwrap()),
            &owner,
        )
        .await
        .expect(200);
    assert_eq!(messages.data().as_array().unwrap().len(), 2);
    let appointments = app.get("/api/v1/appointments", &owner).await.expect(200);
    let appointment = &appointments.data()[0];
    assert_eq!(appointment["status"], "cancelled");
    assert_eq!(appointment["cancel_reason"], "Patient asked");
    assert_eq!(appointment["user_name"], "Dr. João Lima");
}

/// The clinic administered in the console alone (tests/js/admin.mjs): the owner books for
/// an agent from the agent's free times and edits the agent's working hours, the agent
/// their own and a supervisor the agent's; the owner opens a department's booking by
/// patients and replaces its link, tests the SMTP server (refused, then accepted), e-mails
/// an access link and finds it in the outbox, sets the company's e-mail language, creates
/// and revokes API keys, reads the audit log and pings a webhook; each screen visited
/// passes axe-core in three languages; the API keys and audit log screens, which the seed
/// guide's test does not open, are screenshotted in target/screenshots.
#[tokio::test]
async fn the_clinic_is_administered_from_the_console() {
    let Some((fixture, chromium)) = browser_fixture("axe-core") else {
        return;
    };
    let sink = SmtpSink::start().await;
    // The first message, the console's first test e-mail, is refused.
    sink.reply_with(&["550 5.7.1 refused for the test"]);
    let app = TestApp::with_smtp(&sink).await;
    let owner = app.owner("acme").await;
    let department = app.department(&owner, "Clínica Geral").await;
    let agent = crate::analytics::named_agent(&app, &owner, &department, "Dr. Ana Costa").await;
    let supervisor = app.user(&owner, "supervisor").await;
    app.works_every_day(&owner, &agent.user_id, "08:00", "18:00").await;
    let args = vec![
        "admin.mjs".to_string(),
        app.base.clone(),
        "acme".into(),
        owner.email.clone(),
        OWNER_PASSWORD.into(),
        agent.email.clone(),
        PASSWORD.into(),
        supervisor.email.clone(),
        screenshots().display().to_string(),
    ];
    let printed = run_node_output(fixture, args, vec![("CHROMIUM".into(), chromium.display().to_string())]).await;

    // What the console did is what the API recorded.
    let appointments = app
        .get(&format!("/api/v1/appointments?user_id={}", agent.user_id), &owner)
        .await
        .expect(200);
    let booked = &appointments.data()[0];
    assert_eq!(booked["customer_name"], "Paciente Agenda");
    assert_eq!(booked["user_name"], "Dr. Ana Costa");
    assert_eq!(booked["department_id"], department.as_str());
    let hours = app
        .get(&format!("/api/v1/users/{}/availability", agent.user_id), &owner)
        .await
        .expect(200);
    let weekly = hours.data()["weekly"].as_array().unwrap();
    assert!(
        weekly.contains(&json!({"weekday": 1, "start": "18:00", "end": "19:00"})),
        "{weekly:?}"
    );
    assert!(
        weekly.contains(&json!({"weekday": 6, "start": "18:30", "end": "19:30"})),
        "the supervisor's change: {weekly:?}"
    );
    assert!(!weekly.iter().any(|w| w["weekday"] == 7), "Sunday is off: {weekly:?}");
    assert_eq!(weekly.len(), 8, "{weekly:?}");
    let exceptions = hours.data()["exceptions"].as_array().unwrap();
    assert_eq!(exceptions.len(), 1);
    assert_eq!(exceptions[0]["intervals"], json!([]));
    let settings = app
        .get(&format!("/api/v1/departments/{department}"), &owner)
        .await
        .expect(200);
    assert_eq!(settings.data()["public_booking"], true);
    assert_eq!(settings.data()["slot_minutes"], 20);
    assert_eq!(settings.data()["buffer_minutes"], 10);
    assert_eq!(
        settings.data()["booking_url"].as_str(),
        Some(printed.as_str()),
        "the link after rotation"
    );
    let sent = sink.to("paciente.link@example.test");
    assert_eq!(sent.len(), 1, "the access link's e-mail");
    assert_eq!(sink.to("ops@example.test").len(), 1, "the accepted test e-mail");
    let company = app.get("/api/v1/company", &owner).await.expect(200);
    assert_eq!(company.data()["locale"], "fr");
    assert_eq!(company.data()["notify_customers"], false);
    let keys = app.get("/api/v1/api-keys", &owner).await.expect(200);
    let names: Vec<_> = keys
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["name"].clone())
        .collect();
    assert_eq!(names, [json!("Painel")], "the revoked key is gone");
    let hooks = app.get("/api/v1/webhooks", &owner).await.expect(200);
    let hook = hooks.data()[0]["id"].as_str().unwrap().to_string();
    let deliveries = app
        .get(&format!("/api/v1/webhooks/{hook}/deliveries"), &owner)
        .await
        .expect(200);
    assert_eq!(deliveries.body["meta"]["total_count"], 2, "the ping and its redelivery");
}

/// The front desk and the patient's data rights in the console alone (tests/js/reception.mjs):
/// a receptionist, a supervisor outside the doctor's department, books for the doctor from
/// the doctor's free times, finds it on the week view, moves it an hour later, e-mails the
/// join link over SMTP and cancels it with a reason; a manager downloads the patient's data
/// as JSON and erases it. Screenshots land in target/screenshots.
#[tokio::test]
async fn a_receptionist_books_moves_sends_and_cancels_and_a_manager_erases_the_patient() {
    let Some((fixture, chromium)) = browser_fixture("axe-core") else {
        return;
    };
    let sink = SmtpSink::start().await;
    let app = TestApp::with_smtp(&sink).await;
    let owner = app.owner("acme").await;
    let department = app.department(&owner, "Cardiologia").await;
    let doctor = crate::analytics::named_agent(&app, &owner, &department, "Dr. Rui Prado").await;
    let receptionist = app.user(&owner, "supervisor").await;
    let manager = app.user(&owner, "manager").await;
    app.works_every_day(&owner, &doctor.user_id, "08:00", "18:00").await;
    let patient = "paciente.recepcao@example.test";
    let shots = screenshots();
    let args = vec![
        "reception.mjs".to_string(),
        app.base.clone(),
        "acme".into(),
        receptionist.email.clone(),
        manager.email.clone(),
        PASSWORD.into(),
        patient.into(),
        shots.display().to_string(),
    ];
    let moved = run_node_output(fixture, args, vec![("CHROMIUM".into(), chromium.display().to_string())]).await;

    // What the console did is what the API recorded.
    let me = app.get("/api/v1/users/me", &receptionist).await.expect(200);
    assert!(
        !me.data()["department_ids"]
            .as_array()
            .unwrap()
            .contains(&json!(department)),
        "the receptionist is outside the doctor's department"
    );
    let list = app
        .get(&format!("/api/v1/appointments?user_id={}", doctor.user_id), &owner)
        .await
        .expect(200);
    let appointments = list.data().as_array().unwrap();
    assert_eq!(appointments.len(), 1, "{}", list.text);
    let booked = &appointments[0];
    assert_eq!(booked["user_name"], "Dr. Rui Prado");
    assert_eq!(booked["department_id"], department.as_str());
    let at = |v: &str| chrono::DateTime::parse_from_rfc3339(v).unwrap_or_else(|e| panic!("{v}: {e}"));
    assert_eq!(at(booked["scheduled_at"].as_str().unwrap()), at(&moved), "the new time");
    assert_eq!(booked["status"], "cancelled");
    assert_eq!(booked["cancel_reason"], "A paciente viaja nessa semana");
    assert_eq!(booked["customer_name"], "Erased customer");
    let customer = app
        .get(
            &format!("/api/v1/customers/{}", booked["customer_id"].as_str().unwrap()),
            &owner,
        )
        .await
        .expect(200);
    assert_eq!(customer.data()["name"], "Erased customer");
    assert_eq!(customer.data()["email"], serde_json::Value::Null);
    let sent = app.get("/api/v1/emails?kind=access_link", &owner).await.expect(200);
    assert_eq!(
        sent.body["meta"]["total_count"], 1,
        "the join link's e-mail: {}",
        sent.text
    );
    // The sink holds what was sent before the erasure: the link's e-mail among the others.
    let invites = [
        "invites you to a video call",
        "convida você para uma chamada de vídeo",
        "vous invite à un appel vidéo",
    ];
    let mut links = 0;
    for _ in 0..100 {
        links = sink
            .to(patient)
            .iter()
            .map(|m| crate::email::parse(m).text)
            .filter(|text| invites.iter().any(|i| text.contains(i)) && text.contains("/call/"))
            .count();
        if links > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(links, 1, "the join link's e-mail reached the patient");
}

/// Where the browser tests keep a picture of each screen (created on first use), to look
/// at the layout.
fn screenshots() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    dir
}

/// The keys of one console catalogue (`assets/console/i18n/<language>.js`: one
/// `"key": "text",` per line).
fn catalogue(language: &str) -> std::collections::BTreeSet<String> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("assets/console/i18n/{language}.js"));
    let text = std::fs::read_to_string(&path).expect("catalogue");
    text.lines()
        .filter_map(|line| {
            line.trim()
                .strip_prefix('"')?
                .split_once("\": ")
                .map(|(key, _)| key.to_string())
        })
        .collect()
}

#[test]
fn every_console_string_exists_in_the_three_catalogues() {
    let english = catalogue("en");
    assert!(english.len() > 300, "{} keys", english.len());
    for language in ["pt-BR", "fr"] {
        let other = catalogue(language);
        let missing: Vec<_> = english.difference(&other).collect();
        let extra: Vec<_> = other.difference(&english).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{language}: missing {missing:?}, extra {extra:?}"
        );
    }
    // Every literal key the console's code asks for (t("…") and data-t="…") is there.
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets/console");
    let mut files = vec![root.join("index.html"), root.join("app.js")];
    for folder in ["lib", "views"] {
        for entry in std::fs::read_dir(root.join(folder)).expect("folder") {
            files.push(entry.expect("entry").path());
        }
    }
    let mut asked = std::collections::BTreeSet::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("source");
        for opener in ["t(\"", "data-t=\"", "data-t-label=\""] {
            for (at, _) in text.match_indices(opener) {
                // `t(` alone, not the end of another name (`split(`, `atLeast(`).
                let before = text[..at].chars().next_back().unwrap_or(' ');
                if before.is_ascii_alphanumeric() || before == '_' || before == '.' || before == '-' {
                    continue;
                }
                let key: String = text[at + opener.len()..].chars().take_while(|c| *c != '"').collect();
                if !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)) {
                    asked.insert(key);
                }
            }
        }
    }
    let unknown: Vec<_> = asked.difference(&english).collect();
    assert!(unknown.is_empty(), "keys used but not in the catalogues: {unknown:?}");
}

/// The catalogue of a public page's script (`const TEXT = {` or `const STRINGS = {`, one
/// block per language, `key: "text"` entries): language → keys.
fn page_catalogue(source: &str) -> std::collections::BTreeMap<String, std::collections::BTreeSet<String>> {
    let start = ["const TEXT = {", "const STRINGS = {"]
        .iter()
        .find_map(|opener| source.find(opener))
        .expect("a catalogue");
    let body = &source[start..];
    let body = &body[..body.find("\n};").expect("the catalogue's end")];
    let mut languages = std::collections::BTreeMap::new();
    let mut current: Option<String> = None;
    for line in body.lines().skip(1) {
        let trimmed = line.trim();
        if let Some(name) = trimmed.strip_suffix(": {") {
            current = Some(name.trim_matches('"').to_string());
            continue;
        }
        if trimmed == "}," {
            current = None;
            continue;
        }
        let Some(language) = &current else { continue };
        let keys: &mut std::collections::BTreeSet<String> = languages.entry(language.clone()).or_default();
        for (at, _) in line.match_indices(": \"") {
            let key: String = line[..at]
                .chars()
                .rev()
                .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            let before = line[..at - key.len()].chars().next_back().unwrap_or(' ');
            if !key.is_empty() && (before == ' ' || before == ',' || before == '{') {
                keys.insert(key);
            }
        }
    }
    languages
}

/// The literal keys a page's files ask for: `t("…")`, `data-t="…"`, `data-t-label="…"`.
fn asked_keys(text: &str) -> std::collections::BTreeSet<String> {
    let mut asked = std::collections::BTreeSet::new();
    for opener in ["t(\"", "data-t=\"", "data-t-label=\""] {
        for (at, _) in text.match_indices(opener) {
            let before = text[..at].chars().next_back().unwrap_or(' ');
            if before.is_ascii_alphanumeric() || before == '_' || before == '.' || before == '-' {
                continue;
            }
            let key: String = text[at + opener.len()..].chars().take_while(|c| *c != '"').collect();
            if !key.is_empty()
                && key
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            {
                asked.insert(key);
            }
        }
    }
    asked
}

/// The patient pages and the reset page speak English, Português (Brasil) and Français,
/// with the same keys in each language, and every key they ask for is in their catalogue.
#[test]
fn every_public_page_string_exists_in_each_language() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets");
    let read = |path: &str| std::fs::read_to_string(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
    let pages: [(&str, &[&str]); 3] = [
        ("call/call.js", &["call/call.js", "call/index.html"]),
        (
            "book/common.js",
            &[
                "book/common.js",
                "book/book.js",
                "book/index.html",
                "manage/manage.js",
                "manage/index.html",
            ],
        ),
        ("reset/reset.js", &["reset/reset.js", "reset/index.html"]),
    ];
    for (catalogue, files) in pages {
        let languages = page_catalogue(&read(catalogue));
        let english = languages.get("en").unwrap_or_else(|| panic!("{catalogue}: no en"));
        assert!(english.len() > 10, "{catalogue}: {} keys", english.len());
        for language in ["pt-BR", "fr"] {
            assert!(languages.contains_key(language), "{catalogue}: no {language}");
        }
        for (language, keys) in &languages {
            let missing: Vec<_> = english.difference(keys).collect();
            let extra: Vec<_> = keys.difference(english).collect();
            assert!(
                missing.is_empty() && extra.is_empty(),
                "{catalogue} {language}: missing {missing:?}, extra {extra:?}"
            );
        }
        let asked: std::collections::BTreeSet<String> = files.iter().flat_map(|f| asked_keys(&read(f))).collect();
        let unknown: Vec<_> = asked.difference(english).collect();
        assert!(
            unknown.is_empty(),
            "{catalogue}: keys used but not in the catalogue: {unknown:?}"
        );
    }
}

/// Writes each message the sink accepts as `<n>.txt` in `dir`: the recipients, then the
/// decoded text part — the patient's mailbox, as the page test reads it.
fn deliver_to_mailbox(sink: crate::smtp_sink::SmtpSink, dir: PathBuf) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut written = 0;
        loop {
            let received = sink.received();
            for message in &received[written..] {
                let parsed = crate::email::parse(message);
                let file = format!("To: {}\n\n{}", message.to.join(", "), parsed.text);
                std::fs::write(dir.join(format!("{written}.txt")), file).unwrap();
                written += 1;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    })
}
