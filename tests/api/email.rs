//! E-mail (SPEC §7.1, §7.8) and calendars (§7.2) against a real SMTP server started by
//! the test: the messages are parsed (headers, parts, `invite.ics`) and their links followed.

use std::time::Duration;

use icalendar::Component;
use mail_parser::{MessageParser, MimeHeaders};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Session, TestApp, minutes_from_now};
use crate::smtp_sink::{Received, SmtpSink};

async fn app_with(sink: &SmtpSink) -> TestApp {
    let url = sink.url();
    TestApp::spawn_with(move |c| {
        c.smtp_url = url;
        c.webhook_retry_base_secs = 1;
    })
    .await
}

pub(crate) struct Parsed {
    subject: String,
    from_name: String,
    reply_to: Option<String>,
    pub(crate) text: String,
    html: String,
    ics: Option<(String, String)>,
}

pub(crate) fn parse(message: &Received) -> Parsed {
    let parsed = MessageParser::default()
        .parse(message.data.as_bytes())
        .expect("a MIME message");
    let ics = parsed.attachments().find_map(|part| {
        (part.attachment_name() == Some("invite.ics")).then(|| {
            let method = part
                .content_type()
                .and_then(|c| c.attribute("method"))
                .unwrap_or_default()
                .to_string();
            (String::from_utf8(part.contents().to_vec()).unwrap(), method)
        })
    });
    Parsed {
        subject: parsed.subject().unwrap_or_default().to_string(),
        from_name: parsed
            .from()
            .and_then(|a| a.first())
            .and_then(|a| a.name())
            .unwrap_or_default()
            .to_string(),
        reply_to: parsed
            .reply_to()
            .and_then(|a| a.first())
            .and_then(|a| a.address())
            .map(str::to_string),
        text: parsed.body_text(0).unwrap_or_default().to_string(),
        html: parsed.body_html(0).unwrap_or_default().to_string(),
        ics,
    }
}

/// The first URL in `text` that starts with `prefix`.
pub(crate) fn link(text: &str, prefix: &str) -> String {
    let start = text.find(prefix).unwrap_or_else(|| panic!("no {prefix} in {text}"));
    text[start..].split_whitespace().next().unwrap().to_string()
}

fn event(ics: &str) -> (icalendar::Calendar, icalendar::Event) {
    let calendar: icalendar::Calendar = ics.parse().expect("ICS parses");
    let event = calendar.events().next().expect("one VEVENT").clone();
    (calendar, event)
}

async fn agent_and_department(app: &TestApp, owner: &Session) -> String {
    let department = app.department(owner, "Cardiology").await;
    app.add_member(owner, &department, &owner.user_id).await;
    department
}

async fn book(app: &TestApp, owner: &Session, department: &str, email: &str, at: &str) -> Value {
    app.post(
        "/api/v1/appointments",
        owner,
        json!({"appointment": {"title": "Check-up; follow, up", "scheduled_at": at, "duration_minutes": 30,
            "department_id": department, "customer_name": "Ana Souza", "customer_email": email}}),
    )
    .await
    .expect(201)
    .data()
    .clone()
}

async fn outbox(app: &TestApp, session: &Session, query: &str) -> Vec<Value> {
    app.get(&format!("/api/v1/emails{query}"), session)
        .await
        .expect(200)
        .data()
        .as_array()
        .unwrap()
        .clone()
}

/// Waits until every e-mail of the tenant has left `queued`.
async fn settled(app: &TestApp, session: &Session) -> Vec<Value> {
    for _ in 0..100 {
        let rows = outbox(app, session, "").await;
        if rows.iter().all(|r| r["status"] != "queued") {
            return rows;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("e-mails still queued: {:?}", outbox(app, session, "").await);
}

/// `(kind, text_body, html_body, reset_link)` of each stored row.
type RawRow = (String, Option<String>, Option<String>, Option<String>);

fn raw_outbox(app: &TestApp) -> Vec<RawRow> {
    let conn = rusqlite::Connection::open(app.dir.path().join("tenants/acme.db")).unwrap();
    let mut stmt = conn
        .prepare("SELECT kind, text_body, html_body, reset_link FROM email_outbox ORDER BY inserted_at")
        .unwrap();
    stmt.query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

async fn forgot(app: &TestApp, email: &str) {
    app.request(
        Method::POST,
        "/api/auth/forgot-password",
        None,
        Some(json!({"email": email, "tenant": "acme"})),
    )
    .await
    .expect(200);
}

async fn reset(app: &TestApp, token: &str, password: &str) -> crate::helpers::Reply {
    app.request(
        Method::POST,
        "/api/auth/reset-password",
        None,
        Some(json!({"tenant": "acme", "token": token, "password": password})),
    )
    .await
}

#[tokio::test]
async fn password_reset_link_arrives_by_smtp_resets_the_password_and_leaves_the_outbox() {
    let sink = SmtpSink::start().await;
    let app = app_with(&sink).await;
    let owner = app.owner("acme").await;
    let agent = app.user(&owner, "attendant").await;
    forgot(&app, &agent.email).await;
    forgot(&app, "nobody@acme.test").await;
    let first = sink.wait_for(1, 10).await;
    assert_eq!(first.len(), 1);
    forgot(&app, &agent.email).await;
    let mails = sink.wait_for(2, 10).await;
    assert_eq!(
        mails.len(),
        2,
        "one e-mail per request for a real user, none for an unknown one"
    );
    let old_token = link(&parse(&mails[0]).text, "http://voki.test/reset-password?");
    let message = parse(&mails[1]);
    assert_eq!(mails[1].to, std::slice::from_ref(&agent.email));
    assert_eq!(message.from_name, "acme clinic");
    // Users are created with locale pt-BR: staff e-mails follow the user's locale.
    assert_eq!(message.subject, "Redefina a sua senha do voki");
    let url = link(&message.text, "http://voki.test/reset-password?");
    assert!(message.html.contains(&url.replace('&', "&amp;")));
    let token = url.split("token=").nth(1).unwrap().to_string();

    // The page of the link exists, in the console.
    let page = app.public_get("/reset-password?tenant=acme&token=x").await.expect(200);
    assert!(page.text.contains("/reset-assets/reset.js"));
    app.public_get("/reset-assets/reset.js").await.expect(200);

    let superseded = reset(&app, old_token.split("token=").nth(1).unwrap(), "a-brand-new-password")
        .await
        .expect(422);
    assert_eq!(superseded.field_errors("token"), ["is invalid or expired"]);
    reset(&app, &token, "a-brand-new-password").await.expect(200);
    app.login("acme", &agent.email, "a-brand-new-password").await;
    reset(&app, &token, "another-password-2").await.expect(422);

    let rows = settled(&app, &owner).await;
    assert!(
        rows.iter()
            .all(|r| r["kind"] == "password_reset" && r["status"] == "sent")
    );
    for (kind, text, html, reset_link) in raw_outbox(&app) {
        assert_eq!(kind, "password_reset");
        assert!(
            text.is_none() && html.is_none() && reset_link.is_none(),
            "a sent reset row keeps no link"
        );
    }
}

#[tokio::test]
async fn a_queued_reset_e_mail_holds_its_token_only_sealed() {
    // The SMTP server is down, so the row stays queued and retried.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let app = TestApp::spawn_with(move |c| c.smtp_url = format!("smtp://{port}?tls=none")).await;
    let owner = app.owner("acme").await;
    forgot(&app, &owner.email).await;
    let mut rows = Vec::new();
    for _ in 0..50 {
        rows = raw_outbox(&app);
        if !rows.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (kind, text, html, reset_link) = rows.pop().expect("a queued reset row");
    assert_eq!(kind, "password_reset");
    for stored in [text, html, reset_link] {
        let stored = stored.expect("kept until sent");
        assert!(stored.starts_with("v1:"), "sealed, not {stored}");
        assert!(!stored.contains("reset-password") && !stored.contains("token="));
    }
    assert_eq!(outbox(&app, &owner, "").await[0]["status"], "queued");
}

#[tokio::test]
async fn a_password_change_spends_pending_reset_links() {
    let sink = SmtpSink::start().await;
    let app = app_with(&sink).await;
    let owner = app.owner("acme").await;
    forgot(&app, &owner.email).await;
    let mails = sink.wait_for(1, 10).await;
    let url = link(&parse(&mails[0]).text, "http://voki.test/reset-password?");
    app.put(
        "/api/v1/users/me/password",
        &owner,
        json!({"current_password": crate::helpers::OWNER_PASSWORD, "new_password": "changed-password-1"}),
    )
    .await
    .expect(200);
    reset(&app, url.split("token=").nth(1).unwrap(), "a-brand-new-password")
        .await
        .expect(422);
}

#[tokio::test]
async fn without_smtp_rows_are_skipped_and_keep_no_reset_link() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    forgot(&app, &owner.email).await;
    let mut rows = Vec::new();
    for _ in 0..50 {
        rows = outbox(&app, &owner, "?kind=password_reset").await;
        if rows.first().is_some_and(|r| r["status"] == "skipped") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["status"], "skipped");
    assert!(rows[0].get("reset_link").is_none() && !rows[0].to_string().contains("token="));
    let (_, text, html, reset_link) = raw_outbox(&app).pop().unwrap();
    assert!(text.is_none() && html.is_none() && reset_link.is_none());
    let refused = app
        .post("/api/v1/emails/test", &owner, json!({"to": "x@example.org"}))
        .await
        .expect(422);
    assert_eq!(refused.body["errors"]["detail"], "SMTP is not configured");
}

#[tokio::test]
async fn confirmation_carries_the_join_link_and_an_invite_that_parses_back() {
    let sink = SmtpSink::start().await;
    let app = app_with(&sink).await;
    let owner = app.owner("acme").await;
    app.put("/api/v1/company", &owner, json!({"email": "desk@acme.test"}))
        .await
        .expect(200);
    let department = agent_and_department(&app, &owner).await;
    let at = minutes_from_now(3 * 24 * 60);
    let appointment = book(&app, &owner, &department, "ana@patients.test", &at).await;
    let join_url = appointment["access_link_url"]
        .as_str()
        .expect("join link issued")
        .to_string();

    let mails = sink.wait_for(1, 10).await;
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to, ["ana@patients.test"]);
    let message = parse(&mails[0]);
    assert_eq!(message.subject, "Appointment booked: Check-up; follow, up");
    assert_eq!(message.from_name, "acme clinic");
    assert_eq!(message.reply_to.as_deref(), Some("desk@acme.test"));
    assert!(message.text.contains("(America/Sao_Paulo)"), "{}", message.text);
    assert!(message.text.contains(&join_url));
    assert!(!message.html.contains("<img"), "no tracking pixels");
    let (ics, method) = message.ics.expect("invite.ics attached");
    assert_eq!(method, "REQUEST");
    assert!(
        ics.contains("\r\n") && !ics.replace("\r\n", "").contains('\n'),
        "CRLF lines"
    );
    assert!(ics.split("\r\n").all(|line| line.len() <= 75), "folded at 75 octets");
    let (calendar, vevent) = event(&ics);
    assert_eq!(calendar.property_value("METHOD"), Some("REQUEST"));
    assert_eq!(
        vevent.get_uid(),
        Some(format!("{}@voki", appointment["id"].as_str().unwrap()).as_str())
    );
    assert_eq!(
        vevent.get_summary(),
        Some("Check-up; follow, up"),
        "escaping round-trips"
    );
    assert_eq!(vevent.get_sequence(), Some(0));
    assert_eq!(vevent.get_url(), Some(join_url.as_str()));
    let start = vevent.get_start().expect("DTSTART");
    assert_eq!(
        format!("{start:?}"),
        format!(
            "{:?}",
            icalendar::DatePerhapsTime::from(chrono::DateTime::parse_from_rfc3339(&at).unwrap().to_utc())
        )
    );

    // The join link works on the widget.
    let token = join_url.rsplit('/').next().unwrap();
    let valid = app
        .public_get(&format!("/api/v1/call/{token}/validate"))
        .await
        .expect(200);
    assert_eq!(valid.data()["department_name"], "Cardiology");

    // The same event is the download of the appointment.
    let download = app
        .get(
            &format!("/api/v1/appointments/{}/ics", appointment["id"].as_str().unwrap()),
            &owner,
        )
        .await
        .expect(200);
    assert!(
        download.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/calendar")
    );
    assert_eq!(event(&download.text).1.get_uid(), vevent.get_uid());
    let rows = settled(&app, &owner).await;
    assert_eq!(rows[0]["kind"], "appointment_confirmation");
    assert_eq!(rows[0]["related_type"], "appointment");
    assert_eq!(rows[0]["related_id"], appointment["id"]);
    assert_eq!(rows[0]["attempts"], 1);
}

#[tokio::test]
async fn reschedule_raises_the_sequence_and_moves_the_link_expiry_and_cancel_sends_method_cancel() {
    let sink = SmtpSink::start().await;
    let app = app_with(&sink).await;
    let owner = app.owner("acme").await;
    let department = agent_and_department(&app, &owner).await;
    let appointment = book(&app, &owner, &department, "ana@patients.test", &minutes_from_now(120)).await;
    let id = appointment["id"].as_str().unwrap();
    let new_start = minutes_from_now(10 * 24 * 60);
    app.put(
        &format!("/api/v1/appointments/{id}"),
        &owner,
        json!({"scheduled_at": new_start}),
    )
    .await
    .expect(200);
    // Editing notes is not a reschedule.
    app.put(
        &format!("/api/v1/appointments/{id}"),
        &owner,
        json!({"notes": "bring exams"}),
    )
    .await
    .expect(200);
    let links = app.get("/api/v1/access-links", &owner).await.expect(200);
    let expected_expiry = chrono::DateTime::parse_from_rfc3339(&new_start).unwrap() + chrono::Duration::minutes(90);
    assert_eq!(
        links.data()[0]["expires_at"],
        voki::time::format(expected_expiry.to_utc()),
        "the join link lives until the new end + 1 h"
    );
    let mails = sink.wait_for(2, 10).await;
    assert_eq!(mails.len(), 2);
    let moved = parse(&mails[1]);
    assert_eq!(moved.subject, "Appointment moved: Check-up; follow, up");
    let (ics, _) = moved.ics.unwrap();
    assert_eq!(event(&ics).1.get_sequence(), Some(1));

    app.post(
        &format!("/api/v1/appointments/{id}/cancel"),
        &owner,
        json!({"reason": "doctor ill"}),
    )
    .await
    .expect(200);
    let mails = sink.wait_for(3, 10).await;
    let cancelled = parse(&mails[2]);
    assert!(cancelled.text.contains("doctor ill"));
    let (ics, method) = cancelled.ics.unwrap();
    assert_eq!(method, "CANCEL");
    let (calendar, vevent) = event(&ics);
    assert_eq!(calendar.property_value("METHOD"), Some("CANCEL"));
    assert_eq!(vevent.get_sequence(), Some(2));
    assert_eq!(vevent.get_status(), Some(icalendar::EventStatus::Cancelled));
    assert_eq!(sink.received().len(), 3, "no e-mail for the notes edit");
}

#[tokio::test]
async fn exactly_one_cancellation_e_mail_under_concurrent_cancels() {
    let sink = SmtpSink::start().await;
    let app = app_with(&sink).await;
    let owner = app.owner("acme").await;
    let department = agent_and_department(&app, &owner).await;
    let appointment = book(&app, &owner, &department, "ana@patients.test", &minutes_from_now(600)).await;
    let id = appointment["id"].as_str().unwrap().to_string();
    let path = format!("/api/v1/appointments/{id}/cancel");
    let cancels = (0..8).map(|_| app.post(&path, &owner, json!({})));
    for reply in futures::future::join_all(cancels).await {
        assert_eq!(reply.status, 200);
    }
    let rows = settled(&app, &owner).await;
    assert_eq!(rows.iter().filter(|r| r["kind"] == "appointment_cancelled").count(), 1);
    assert_eq!(sink.received().len(), 2, "one confirmation, one cancellation");
}

#[tokio::test]
async fn temporary_smtp_failure_is_retried_and_delivered_once() {
    let sink = SmtpSink::start().await;
    sink.reply_with(&["451 4.3.0 try again later"]);
    let app = app_with(&sink).await;
    let owner = app.owner("acme").await;
    let department = agent_and_department(&app, &owner).await;
    book(&app, &owner, &department, "ana@patients.test", &minutes_from_now(600)).await;
    let rows = settled(&app, &owner).await;
    assert_eq!(rows[0]["status"], "sent");
    assert_eq!(rows[0]["attempts"], 2);
    assert!(rows[0]["last_error"].is_null());
    assert_eq!(sink.attempts(), 2);
    assert_eq!(sink.received().len(), 1, "delivered exactly once");
}

#[tokio::test]
async fn permanent_smtp_failure_fails_at_once_with_the_reply() {
    let sink = SmtpSink::start().await;
    sink.reply_with(&["550 5.1.1 mailbox unavailable"]);
    let app = app_with(&sink).await;
    let owner = app.owner("acme").await;
    let department = agent_and_department(&app, &owner).await;
    book(&app, &owner, &department, "ana@patients.test", &minutes_from_now(600)).await;
    let rows = settled(&app, &owner).await;
    assert_eq!(rows[0]["status"], "failed");
    assert_eq!(rows[0]["attempts"], 1);
    let error = rows[0]["last_error"].as_str().unwrap();
    assert!(
        error.contains("550") && error.contains("mailbox unavailable"),
        "{error}"
    );
    assert_eq!(outbox(&app, &owner, "?status=failed").await.len(), 1);
    assert_eq!(outbox(&app, &owner, "?status=sent").await.len(), 0);
}

#[tokio::test]
async fn smtp_down_across_a_restart_is_delivered_after_it() {
    // Reserve a port, then leave it closed: the server is down.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let url = format!("smtp://{port}?tls=none");
    let first_url = url.clone();
    let mut app = TestApp::spawn_with(move |c| {
        c.smtp_url = first_url;
        c.webhook_retry_base_secs = 1;
    })
    .await;
    let owner = app.owner("acme").await;
    let department = agent_and_department(&app, &owner).await;
    book(&app, &owner, &department, "ana@patients.test", &minutes_from_now(5000)).await;
    let mut attempted = Vec::new();
    for _ in 0..50 {
        attempted = outbox(&app, &owner, "").await;
        if attempted[0]["attempts"].as_i64() >= Some(1) && attempted[0]["status"] == "queued" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(attempted[0]["status"], "queued");
    assert!(attempted[0]["last_error"].is_string());
    app.restart_with(move |c| {
        c.smtp_url = url;
        c.webhook_retry_base_secs = 1;
    })
    .await;
    let sink = SmtpSink::start_on(port).await;
    let owner = app.owner("acme").await;
    let rows = settled(&app, &owner).await;
    assert_eq!(rows[0]["status"], "sent");
    assert_eq!(sink.wait_for(1, 10).await.len(), 1);
}

#[tokio::test]
async fn notify_customers_false_sends_nothing_to_patients() {
    let sink = SmtpSink::start().await;
    let app = app_with(&sink).await;
    let owner = app.owner("acme").await;
    let company = app
        .put("/api/v1/company", &owner, json!({"notify_customers": false}))
        .await
        .expect(200);
    assert_eq!(company.data()["notify_customers"], false);
    let department = agent_and_department(&app, &owner).await;
    let appointment = book(&app, &owner, &department, "ana@patients.test", &minutes_from_now(600)).await;
    assert!(
        appointment["access_link_url"].is_null(),
        "no join link without a confirmation"
    );
    let id = appointment["id"].as_str().unwrap();
    app.put(
        &format!("/api/v1/appointments/{id}"),
        &owner,
        json!({"scheduled_at": minutes_from_now(900)}),
    )
    .await
    .expect(200);
    app.post(&format!("/api/v1/appointments/{id}/cancel"), &owner, json!({}))
        .await
        .expect(200);
    assert!(outbox(&app, &owner, "").await.is_empty());
    // An explicit send still goes out.
    let link = app
        .link(&owner, &department, json!({"customer_email": "bob@patients.test"}))
        .await;
    app.post(
        &format!("/api/v1/access-links/{}/send", link["id"].as_str().unwrap()),
        &owner,
        json!({}),
    )
    .await
    .expect(200);
    assert_eq!(sink.wait_for(1, 10).await[0].to, ["bob@patients.test"]);
}

#[tokio::test]
async fn patient_e_mails_follow_the_company_locale_pt_br_and_fr() {
    let sink = SmtpSink::start().await;
    let app = app_with(&sink).await;
    let owner = app.owner("acme").await;
    let department = agent_and_department(&app, &owner).await;
    app.put(
        "/api/v1/company",
        &owner,
        json!({"locale": "pt-BR", "timezone": "America/Sao_Paulo"}),
    )
    .await
    .expect(200);
    let at = "2030-12-10T13:00:00Z";
    book(&app, &owner, &department, "ana@patients.test", at).await;
    let mails = sink.wait_for(1, 10).await;
    let message = parse(&mails[0]);
    assert_eq!(message.subject, "Consulta agendada: Check-up; follow, up");
    assert!(
        message
            .text
            .contains("terça-feira, 10 de dezembro de 2030, 10:00 (America/Sao_Paulo)"),
        "{}",
        message.text
    );
    assert!(message.text.contains("Entrar na chamada de vídeo"));

    app.put(
        "/api/v1/company",
        &owner,
        json!({"locale": "fr", "timezone": "Europe/Paris"}),
    )
    .await
    .expect(200);
    book(&app, &owner, &department, "luc@patients.test", "2030-12-11T13:00:00Z").await;
    let mails = sink.wait_for(2, 10).await;
    let message = parse(&mails[1]);
    assert_eq!(message.subject, "Rendez-vous enregistré : Check-up; follow, up");
    assert!(
        message.text.contains("mercredi 11 décembre 2030, 14:00 (Europe/Paris)"),
        "{}",
        message.text
    );
    assert!(message.html.contains("lang=\"fr\""));
    let bad = app
        .put("/api/v1/company", &owner, json!({"locale": "de"}))
        .await
        .expect(422);
    assert_eq!(bad.field_errors("locale"), ["is invalid"]);
}

#[tokio::test]
async fn reminders_reach_the_patient_once_with_the_join_link() {
    let sink = SmtpSink::start().await;
    let app = app_with(&sink).await;
    let owner = app.owner("acme").await;
    let department = agent_and_department(&app, &owner).await;
    let appointment = book(&app, &owner, &department, "ana@patients.test", &minutes_from_now(10)).await;
    app.sweep().await;
    app.sweep().await;
    let mails = sink.wait_for(2, 10).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let reminders: Vec<_> = sink
        .received()
        .iter()
        .map(parse)
        .filter(|m| m.subject.starts_with("Reminder:"))
        .collect();
    assert_eq!(reminders.len(), 1, "{mails:?}");
    assert!(
        reminders[0]
            .text
            .contains(appointment["access_link_url"].as_str().unwrap())
    );
    // The agent's notification shows local time.
    let notes = app.get("/api/v1/notifications", &owner).await.expect(200);
    assert!(
        notes.data()[0]["body"]
            .as_str()
            .unwrap()
            .contains("(America/Sao_Paulo)")
    );
}

#[tokio::test]
async fn access_link_send_needs_an_address_and_an_active_link() {
    let sink = SmtpSink::start().await;
    let app = app_with(&sink).await;
    let owner = app.owner("acme").await;
    let department = app.department(&owner, "Front desk").await;
    let link = app.link(&owner, &department, json!({})).await;
    let path = format!("/api/v1/access-links/{}/send", link["id"].as_str().unwrap());
    let blank = app.post(&path, &owner, json!({})).await.expect(422);
    assert_eq!(blank.field_errors("email"), ["can't be blank"]);
    app.post(&path, &owner, json!({"email": "not-an-address"}))
        .await
        .expect(422);
    let row = app
        .post(&path, &owner, json!({"email": "eve@patients.test"}))
        .await
        .expect(200);
    assert_eq!(row.data()["kind"], "access_link");
    assert_eq!(row.data()["status"], "queued");
    assert_eq!(row.data()["related_id"], link["id"]);
    let mails = sink.wait_for(1, 10).await;
    assert!(parse(&mails[0]).text.contains(link["url"].as_str().unwrap()));
    app.cancel_link(&owner, &link).await;
    app.post(&path, &owner, json!({"email": "eve@patients.test"}))
        .await
        .expect(422);
}

#[tokio::test]
async fn e_mail_endpoints_role_matrix_and_tenant_isolation() {
    let sink = SmtpSink::start().await;
    let app = app_with(&sink).await;
    app.create_tenant("other").await;
    let owner = app.owner("acme").await;
    let supervisor = app.user(&owner, "supervisor").await;
    let attendant = app.user(&owner, "attendant").await;
    let manager = app.user(&owner, "manager").await;
    let stranger = app.owner("other").await;
    let department = app.department(&owner, "Front desk").await;
    let link = app
        .link(&owner, &department, json!({"customer_email": "x@patients.test"}))
        .await;
    let send = format!("/api/v1/access-links/{}/send", link["id"].as_str().unwrap());

    app.get("/api/v1/emails", &supervisor).await.expect(403);
    app.get("/api/v1/emails", &manager).await.expect(200);
    app.post("/api/v1/emails/test", &supervisor, json!({"to": "a@b.test"}))
        .await
        .expect(403);
    app.post("/api/v1/emails/test", &manager, json!({})).await.expect(422);
    app.post("/api/v1/emails/test", &manager, json!({"to": "ops@acme.test"}))
        .await
        .expect(200);
    assert_eq!(sink.wait_for(1, 10).await[0].to, ["ops@acme.test"]);
    sink.reply_with(&["554 5.7.1 relay denied"]);
    let refused = app
        .post("/api/v1/emails/test", &manager, json!({"to": "ops@acme.test"}))
        .await
        .expect(502);
    assert!(
        refused.body["errors"]["detail"]
            .as_str()
            .unwrap()
            .starts_with("SMTP error: ")
    );
    assert!(outbox(&app, &owner, "").await.is_empty(), "the test writes no row");

    // Attendants send links of their own departments only.
    app.post(&send, &attendant, json!({})).await.expect(403);
    app.add_member(&owner, &department, &attendant.user_id).await;
    app.post(&send, &attendant, json!({})).await.expect(200);
    app.post(&send, &stranger, json!({})).await.expect(404);
    app.post("/api/v1/access-links/not-a-uuid/send", &owner, json!({}))
        .await
        .expect(404);
    assert!(
        outbox(&app, &stranger, "").await.is_empty(),
        "another tenant sees no row"
    );
    app.get("/api/v1/emails?status=lost", &owner).await.expect(422);
    app.get("/api/v1/emails?kind=spam", &owner).await.expect(422);
}

#[tokio::test]
async fn calendar_feed_lists_the_users_appointments_and_revoke_is_404() {
    let sink = SmtpSink::start().await;
    let app = app_with(&sink).await;
    app.create_tenant("other").await;
    let owner = app.owner("acme").await;
    let department = agent_and_department(&app, &owner).await;
    let kept = book(&app, &owner, &department, "ana@patients.test", &minutes_from_now(600)).await;
    let dropped = book(&app, &owner, &department, "bo@patients.test", &minutes_from_now(900)).await;
    app.post(
        &format!("/api/v1/appointments/{}/cancel", dropped["id"].as_str().unwrap()),
        &owner,
        json!({}),
    )
    .await
    .expect(200);
    let created = app
        .post("/api/v1/users/me/calendar-feed", &owner, json!({}))
        .await
        .expect(201);
    let url = created.data()["url"].as_str().unwrap().to_string();
    let path = url.strip_prefix("http://voki.test").unwrap().to_string();
    assert!(path.starts_with("/calendar/") && path.ends_with(".ics"));
    let feed = app.public_get(&path).await.expect(200);
    let calendar: icalendar::Calendar = feed.text.parse().unwrap();
    assert!(calendar.property_value("X-WR-CALNAME").is_some());
    let events: Vec<_> = calendar.events().collect();
    assert_eq!(events.len(), 2);
    let by_uid = |id: &Value| {
        events
            .iter()
            .find(|e| e.get_uid() == Some(format!("{}@voki", id.as_str().unwrap()).as_str()))
            .copied()
            .unwrap()
    };
    assert_eq!(
        by_uid(&kept["id"]).get_status(),
        Some(icalendar::EventStatus::Tentative)
    );
    assert_eq!(
        by_uid(&dropped["id"]).get_status(),
        Some(icalendar::EventStatus::Cancelled)
    );
    // Another user's feed holds none of these.
    let colleague = app.user(&owner, "attendant").await;
    let theirs = app
        .post("/api/v1/users/me/calendar-feed", &colleague, json!({}))
        .await
        .expect(201);
    let their_path = theirs.data()["url"].as_str().unwrap().replace("http://voki.test", "");
    let calendar: icalendar::Calendar = app.public_get(&their_path).await.expect(200).text.parse().unwrap();
    assert_eq!(calendar.events().count(), 0);

    // A new URL replaces the old one; revoking ends it.
    let replaced = app
        .post("/api/v1/users/me/calendar-feed", &owner, json!({}))
        .await
        .expect(201);
    app.public_get(&path).await.expect(404);
    let new_path = replaced.data()["url"].as_str().unwrap().replace("http://voki.test", "");
    app.public_get(&new_path).await.expect(200);
    app.delete("/api/v1/users/me/calendar-feed", &owner).await.expect(204);
    app.public_get(&new_path).await.expect(404);
    app.public_get("/calendar/made-up.ics").await.expect(404);

    // The per-appointment download: visibility of §4.5, other tenants 404.
    let stranger = app.owner("other").await;
    let ics_path = format!("/api/v1/appointments/{}/ics", kept["id"].as_str().unwrap());
    app.get(&ics_path, &stranger).await.expect(404);
    app.get(&ics_path, &colleague).await.expect(403);
    app.get(&ics_path, &owner).await.expect(200);
}

#[tokio::test]
async fn one_tenants_slow_smtp_exchange_does_not_delay_another_tenant() {
    let sink = SmtpSink::start().await;
    sink.slow_for("slow@", Duration::from_secs(6));
    let app = app_with(&sink).await;
    app.create_tenant("other").await;
    let acme = app.owner("acme").await;
    let other = app.owner("other").await;
    let acme_department = app.department(&acme, "A").await;
    let other_department = app.department(&other, "B").await;
    let slow = app.link(&acme, &acme_department, json!({})).await;
    app.post(
        &format!("/api/v1/access-links/{}/send", slow["id"].as_str().unwrap()),
        &acme,
        json!({"email": "slow@patients.test"}),
    )
    .await
    .expect(200);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let fast = app.link(&other, &other_department, json!({})).await;
    let started = std::time::Instant::now();
    app.post(
        &format!("/api/v1/access-links/{}/send", fast["id"].as_str().unwrap()),
        &other,
        json!({"email": "fast@patients.test"}),
    )
    .await
    .expect(200);
    while sink.to("fast@patients.test").is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "the other tenant waited for the slow one"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        sink.to("slow@patients.test").is_empty(),
        "the slow exchange is still going on"
    );
}
