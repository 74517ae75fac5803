//! Self-scheduling (SPEC §7.3, §7.8): working hours, booking settings, free slots, the
//! public booking API and the patient's manage link.

use serde_json::{Value, json};

use crate::helpers::{Session, TestApp, minutes_from_now};

/// A department open for booking with one agent who works 09:00–12:00 (UTC) on `day`.
struct Booking {
    app: TestApp,
    owner: Session,
    department: String,
    agent: Session,
    token: String,
    /// `YYYY-MM-DD`, three days ahead.
    day: String,
}

impl Booking {
    async fn new() -> Booking {
        Self::with(TestApp::spawn().await).await
    }

    async fn with(app: TestApp) -> Booking {
        let owner = app.owner("acme").await;
        app.put("/api/v1/company", &owner, json!({"company": {"timezone": "UTC"}}))
            .await
            .expect(200);
        let department = app.department(&owner, "Cardiology").await;
        let settings = app
            .put(
                &format!("/api/v1/departments/{department}"),
                &owner,
                json!({"department": {"public_booking": true}}),
            )
            .await
            .expect(200);
        let url = settings.data()["booking_url"]
            .as_str()
            .expect("booking_url")
            .to_string();
        let token = url.rsplit('/').next().unwrap().to_string();
        let agent = app.user(&owner, "attendant").await;
        app.add_member(&owner, &department, &agent.user_id).await;
        let day = (chrono::Utc::now() + chrono::Duration::days(3))
            .format("%Y-%m-%d")
            .to_string();
        let booking = Booking {
            app,
            owner,
            department,
            agent,
            token,
            day,
        };
        booking.hours(&booking.agent.user_id, &[("09:00", "12:00")]).await;
        booking
    }

    /// Sets `user_id`'s hours on `day` to `intervals` (as the owner).
    async fn hours(&self, user_id: &str, intervals: &[(&str, &str)]) {
        let intervals: Vec<Value> = intervals.iter().map(|(s, e)| json!({"start": s, "end": e})).collect();
        self.app
            .put(
                &format!("/api/v1/users/{user_id}/availability"),
                &self.owner,
                json!({"availability": {"weekly": [], "exceptions": [{"date": self.day, "intervals": intervals}]}}),
            )
            .await
            .expect(200);
    }

    fn at(&self, clock: &str) -> String {
        format!("{}T{clock}:00Z", self.day)
    }

    async fn settings(&self, settings: Value) {
        self.app
            .put(
                &format!("/api/v1/departments/{}", self.department),
                &self.owner,
                json!({"department": settings}),
            )
            .await
            .expect(200);
    }

    async fn staff_slots(&self, extra: &str) -> Vec<String> {
        let reply = self
            .app
            .get(
                &format!(
                    "/api/v1/availability?department_id={}&date_from={}&date_to={}{extra}",
                    self.department, self.day, self.day
                ),
                &self.agent,
            )
            .await
            .expect(200);
        let rows = reply.data().as_array().unwrap().clone();
        let row = rows
            .iter()
            .find(|r| r["user_id"] == json!(self.agent.user_id))
            .expect("the agent's row");
        row["slots"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect()
    }

    async fn public_slots(&self) -> Vec<Value> {
        self.app
            .public_get(&format!(
                "/api/v1/book/{}/slots?date_from={}&date_to={}",
                self.token, self.day, self.day
            ))
            .await
            .expect(200)
            .data()
            .as_array()
            .unwrap()
            .clone()
    }

    async fn book(&self, body: Value) -> crate::helpers::Reply {
        self.app
            .public_post(&format!("/api/v1/book/{}", self.token), body)
            .await
    }

    async fn book_at(&self, clock: &str, email: &str) -> Value {
        self.book(json!({"start": self.at(clock), "name": "Maria Silva", "email": email}))
            .await
            .expect(201)
            .data()
            .clone()
    }

    async fn staff_appointment(&self, user: &Session, clock: &str) -> String {
        self.app
            .post(
                "/api/v1/appointments",
                user,
                json!({"appointment": {"title": "Visit", "scheduled_at": self.at(clock), "department_id": self.department,
                        "user_id": user.user_id, "customer_name": "Walk In"}}),
            )
            .await
            .expect(201)
            .id()
    }

    async fn notification_types(&self, user: &Session) -> Vec<String> {
        let reply = self.app.get("/api/v1/notifications", user).await.expect(200);
        reply
            .data()
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["type"].as_str().unwrap().to_string())
            .collect()
    }
}

fn token_of(url: &Value) -> String {
    url.as_str().unwrap().rsplit('/').next().unwrap().to_string()
}

fn starts(slots: &[Value]) -> Vec<String> {
    slots.iter().map(|s| s["start"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn working_hours_are_replaced_whole_and_read_back_sorted() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let agent = app.user(&owner, "attendant").await;
    let path = format!("/api/v1/users/{}/availability", agent.user_id);
    let empty = app.get(&path, &agent).await.expect(200);
    assert_eq!(empty.data(), &json!({"weekly": [], "exceptions": []}));
    let body = json!({"weekly": [{"weekday": 2, "start": "14:00", "end": "18:00"}, {"weekday": 2, "start": "08:00", "end": "12:00"}],
                      "exceptions": [{"date": "2030-01-01", "intervals": []}]});
    let saved = app.put(&path, &agent, body).await.expect(200);
    assert_eq!(saved.data()["weekly"][0]["start"], "08:00");
    assert_eq!(
        saved.data()["exceptions"][0],
        json!({"date": "2030-01-01", "intervals": []})
    );
    let read = app.get(&path, &agent).await.expect(200);
    assert_eq!(read.data(), saved.data());
}

#[tokio::test]
async fn overlapping_or_reversed_intervals_are_422() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let path = format!("/api/v1/users/{}/availability", owner.user_id);
    let reversed = app
        .put(
            &path,
            &owner,
            json!({"weekly": [{"weekday": 1, "start": "12:00", "end": "09:00"}]}),
        )
        .await
        .expect(422);
    assert_eq!(reversed.field_errors("weekly.0.end"), ["must be after start"]);
    let overlapping = app
        .put(
            &path,
            &owner,
            json!({"exceptions": [{"date": "2030-01-01", "intervals": [{"start": "09:00", "end": "11:00"}, {"start": "10:00", "end": "12:00"}]}]}),
        )
        .await
        .expect(422);
    assert_eq!(
        overlapping.field_errors("exceptions.0.intervals.1"),
        ["overlaps another interval"]
    );
    let malformed = app
        .put(
            &path,
            &owner,
            json!({"weekly": [{"weekday": 0, "start": "9am", "end": "10:00"}]}),
        )
        .await
        .expect(422);
    assert!(!malformed.field_errors("weekly.0.weekday").is_empty());
    assert_eq!(malformed.field_errors("weekly.0.start"), ["is invalid"]);
}

#[tokio::test]
async fn other_users_hours_need_a_supervisor_and_stay_in_the_tenant() {
    let app = TestApp::spawn().await;
    app.create_tenant("other").await;
    let owner = app.owner("acme").await;
    let attendant = app.user(&owner, "attendant").await;
    let colleague = app.user(&owner, "attendant").await;
    let supervisor = app.user(&owner, "supervisor").await;
    let path = format!("/api/v1/users/{}/availability", colleague.user_id);
    app.get(&path, &attendant).await.expect(403);
    app.put(&path, &attendant, json!({"weekly": []})).await.expect(403);
    app.put(
        &path,
        &supervisor,
        json!({"weekly": [{"weekday": 1, "start": "09:00", "end": "10:00"}]}),
    )
    .await
    .expect(200);
    let stranger = app.owner("other").await;
    app.get(&path, &stranger).await.expect(404);
    app.put(&path, &stranger, json!({"weekly": []})).await.expect(404);
    app.get("/api/v1/users/not-a-uuid/availability", &owner)
        .await
        .expect(404);
}

#[tokio::test]
async fn booking_settings_have_defaults_ranges_and_a_url_only_while_on() {
    let app = TestApp::spawn().await;
    let owner = app.owner("acme").await;
    let created = app
        .post("/api/v1/departments", &owner, json!({"department": {"name": "Derm"}}))
        .await
        .expect(201);
    let data = created.data();
    assert_eq!(data["public_booking"], false);
    assert_eq!(data["slot_minutes"], 30);
    assert_eq!(data["buffer_minutes"], 0);
    assert_eq!(data["min_notice_minutes"], 120);
    assert_eq!(data["max_advance_days"], 60);
    assert_eq!(data["booking_url"], Value::Null);
    let path = format!("/api/v1/departments/{}", created.id());
    for (field, value, message) in [
        ("slot_minutes", 4, "must be greater than or equal to 5"),
        ("slot_minutes", 481, "must be less than or equal to 480"),
        ("buffer_minutes", 241, "must be less than or equal to 240"),
        ("min_notice_minutes", 10081, "must be less than or equal to 10080"),
        ("max_advance_days", 0, "must be greater than or equal to 1"),
        ("max_advance_days", 366, "must be less than or equal to 365"),
    ] {
        let reply = app.put(&path, &owner, json!({ field: value })).await.expect(422);
        assert_eq!(reply.field_errors(field), [message], "{field} = {value}");
    }
    let on = app
        .put(&path, &owner, json!({"public_booking": true, "slot_minutes": 20}))
        .await
        .expect(200);
    let url = on.data()["booking_url"].as_str().unwrap().to_string();
    assert!(url.starts_with("http://voki.test/book/"), "{url}");
    assert_eq!(on.data()["slot_minutes"], 20);
    let off = app
        .put(&path, &owner, json!({"public_booking": false}))
        .await
        .expect(200);
    assert_eq!(off.data()["booking_url"], Value::Null);
    let again = app
        .put(&path, &owner, json!({"public_booking": true}))
        .await
        .expect(200);
    assert_eq!(
        again.data()["booking_url"].as_str(),
        Some(url.as_str()),
        "switching back on keeps the URL"
    );
    // Read-only: a booking_url in the body is ignored.
    let ignored = app
        .put(&path, &owner, json!({"booking_url": "http://evil.test/book/x"}))
        .await
        .expect(200);
    assert_eq!(ignored.data()["booking_url"].as_str(), Some(url.as_str()));
}

#[tokio::test]
async fn booking_token_rotation_needs_a_manager_and_the_old_url_is_404() {
    let b = Booking::new().await;
    let supervisor = b.app.user(&b.owner, "supervisor").await;
    let manager = b.app.user(&b.owner, "manager").await;
    let path = format!("/api/v1/departments/{}/booking-token", b.department);
    b.app.post(&path, &supervisor, json!({})).await.expect(403);
    let rotated = b.app.post(&path, &manager, json!({})).await.expect(200);
    let new_token = token_of(&rotated.data()["booking_url"]);
    assert_ne!(new_token, b.token);
    b.app.public_get(&format!("/api/v1/book/{}", b.token)).await.expect(404);
    b.app.public_get(&format!("/api/v1/book/{new_token}")).await.expect(200);
    b.app
        .post(
            &format!("/api/v1/departments/{}/booking-token", uuid::Uuid::new_v4()),
            &manager,
            json!({}),
        )
        .await
        .expect(404);
}

#[tokio::test]
async fn availability_is_working_hours_minus_appointments_and_buffer() {
    let b = Booking::new().await;
    assert_eq!(
        b.staff_slots("").await,
        ["09:00", "09:30", "10:00", "10:30", "11:00", "11:30"].map(|c| b.at(c))
    );
    b.staff_appointment(&b.agent, "10:00").await;
    b.settings(json!({"buffer_minutes": 15})).await;
    // 09:30 + 30 + 15 reaches 10:00; 10:30 is inside 10:00–10:30 + 15.
    assert_eq!(b.staff_slots("").await, ["09:00", "11:00", "11:30"].map(|c| b.at(c)));
    assert_eq!(
        b.staff_slots("&duration_minutes=60").await,
        ["11:00"].map(|c| b.at(c)),
        "the whole duration lies inside the hours"
    );
    let only = b
        .app
        .get(
            &format!(
                "/api/v1/availability?department_id={}&date_from={}&date_to={}&user_id={}",
                b.department, b.day, b.day, b.agent.user_id
            ),
            &b.agent,
        )
        .await
        .expect(200);
    assert_eq!(only.data().as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn availability_respects_min_notice_and_max_advance() {
    let b = Booking::new().await;
    b.settings(json!({"max_advance_days": 1})).await;
    assert!(
        b.staff_slots("").await.is_empty(),
        "three days ahead is past a one-day advance"
    );
    b.settings(json!({"max_advance_days": 60, "min_notice_minutes": 10080}))
        .await;
    assert!(
        b.staff_slots("").await.is_empty(),
        "three days ahead is inside a week's notice"
    );
    b.settings(json!({"min_notice_minutes": 0})).await;
    assert_eq!(b.staff_slots("").await.len(), 6);
}

#[tokio::test]
async fn availability_query_is_validated_and_scoped_to_the_tenant() {
    let b = Booking::new().await;
    b.app.create_tenant("other").await;
    let stranger = b.app.owner("other").await;
    let path = |department: &str, from: &str, to: &str| {
        format!("/api/v1/availability?department_id={department}&date_from={from}&date_to={to}")
    };
    let missing = b.app.get("/api/v1/availability", &b.agent).await.expect(422);
    for field in ["department_id", "date_from", "date_to"] {
        assert_eq!(missing.field_errors(field), ["can't be blank"], "{field}");
    }
    let foreign = b
        .app
        .get(&path(&b.department, &b.day, &b.day), &stranger)
        .await
        .expect(422);
    assert_eq!(foreign.field_errors("department_id"), ["does not exist"]);
    let not_uuid = b.app.get(&path("x", &b.day, &b.day), &b.agent).await.expect(422);
    assert_eq!(not_uuid.field_errors("department_id"), ["does not exist"]);
    b.app
        .get(&path(&b.department, "tomorrow", &b.day), &b.agent)
        .await
        .expect(400);
    let reversed = b
        .app
        .get(&path(&b.department, &b.day, "2000-01-01"), &b.agent)
        .await
        .expect(422);
    assert_eq!(reversed.field_errors("date_to"), ["must be on or after date_from"]);
    let long = b
        .app
        .get(&path(&b.department, "2030-01-01", "2031-06-01"), &b.agent)
        .await
        .expect(422);
    assert!(!long.field_errors("date_to").is_empty());
    let duration = b
        .app
        .get(
            &format!("{}&duration_minutes=0", path(&b.department, &b.day, &b.day)),
            &b.agent,
        )
        .await
        .expect(422);
    assert!(!duration.field_errors("duration_minutes").is_empty());
    let outsider = b.app.user(&b.owner, "attendant").await;
    let not_member = b
        .app
        .get(
            &format!("{}&user_id={}", path(&b.department, &b.day, &b.day), outsider.user_id),
            &b.agent,
        )
        .await
        .expect(422);
    assert_eq!(
        not_member.field_errors("user_id"),
        ["must be an active member of the department"]
    );
    b.app
        .request(reqwest::Method::GET, &path(&b.department, &b.day, &b.day), None, None)
        .await
        .expect(401);
}

#[tokio::test]
async fn the_booking_page_shows_company_department_and_slots_by_start() {
    let b = Booking::new().await;
    let colleague = b.app.user(&b.owner, "attendant").await;
    b.app.add_member(&b.owner, &b.department, &colleague.user_id).await;
    b.hours(&colleague.user_id, &[("11:00", "13:00")]).await;
    let page = b.app.public_get(&format!("/api/v1/book/{}", b.token)).await.expect(200);
    let data = page.data();
    assert_eq!(data["company_name"], "acme clinic");
    assert_eq!(data["department_name"], "Cardiology");
    assert_eq!(data["timezone"], "UTC");
    assert_eq!(data["slot_minutes"], 30);
    assert!(data.get("welcome_message").is_some() && data.get("locale").is_some());
    let slots = b.public_slots().await;
    assert_eq!(
        starts(&slots),
        ["09:00", "09:30", "10:00", "10:30", "11:00", "11:30", "12:00", "12:30"].map(|c| b.at(c))
    );
    let eleven = &slots[4];
    let mut agents: Vec<&str> = eleven["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["user_id"].as_str().unwrap())
        .collect();
    agents.sort();
    let mut want = vec![b.agent.user_id.as_str(), colleague.user_id.as_str()];
    want.sort();
    assert_eq!(agents, want);
    assert!(eleven["agents"][0]["user_name"].is_string());
}

#[tokio::test]
async fn a_booking_creates_the_appointment_with_its_links_and_notifies_the_agent() {
    let b = Booking::new().await;
    let existing = b
        .app
        .post(
            "/api/v1/customers",
            &b.owner,
            json!({"customer": {"name": "Maria S.", "email": "maria@example.com"}}),
        )
        .await
        .expect(201)
        .id();
    let booked = b
        .book(json!({"start": b.at("09:30"), "name": "Maria Silva", "email": "MARIA@example.com", "phone": "+55 11 99999-8888",
                     "notes": "First visit"}))
        .await
        .expect(201);
    let data = booked.data();
    assert_eq!(data["scheduled_at"], b.at("09:30"));
    assert!(
        data["manage_url"]
            .as_str()
            .unwrap()
            .starts_with("http://voki.test/manage/")
    );
    assert!(data["call_url"].as_str().unwrap().starts_with("http://voki.test/call/"));
    let id = data["appointment_id"].as_str().unwrap();
    let appointment = b
        .app
        .get(&format!("/api/v1/appointments/{id}"), &b.owner)
        .await
        .expect(200);
    let a = appointment.data();
    assert_eq!(a["title"], "Cardiology");
    assert_eq!(a["duration_minutes"], 30);
    assert_eq!(a["user_id"], json!(b.agent.user_id));
    assert_eq!(a["customer_id"], json!(existing), "matched by e-mail (§4.4)");
    assert_eq!(a["customer_phone"], "+55 11 99999-8888", "an empty field is filled");
    assert_eq!(a["notes"], "First visit");
    assert_eq!(a["access_link_url"], data["call_url"]);
    assert!(
        !starts(&b.public_slots().await).contains(&b.at("09:30")),
        "the slot is gone"
    );
    assert_eq!(b.notification_types(&b.agent).await, ["appointment_booked"]);
    b.app
        .public_get(&format!("/api/v1/call/{}/validate", token_of(&data["call_url"])))
        .await
        .expect(200);
}

#[tokio::test]
async fn parallel_bookings_of_one_slot_have_exactly_one_winner() {
    let b = Booking::new().await;
    let start = b.at("10:00");
    let url = format!("{}/api/v1/book/{}", b.app.base, b.token);
    let mut tasks = Vec::new();
    for n in 0..32 {
        let (client, url, start) = (b.app.client.clone(), url.clone(), start.clone());
        tasks.push(tokio::spawn(async move {
            let response = client
                .post(url)
                .json(&json!({"start": start, "name": format!("Patient {n}"), "email": format!("p{n}@example.com")}))
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap())
        }));
    }
    let mut created = 0;
    for task in tasks {
        let (status, body) = task.await.unwrap();
        match status {
            201 => created += 1,
            409 => assert_eq!(body, json!({"errors": {"detail": "Slot no longer available"}})),
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(created, 1);
    assert!(!starts(&b.public_slots().await).contains(&start));
    let list = b
        .app
        .get(&format!("/api/v1/appointments?user_id={}", b.agent.user_id), &b.owner)
        .await
        .expect(200);
    assert_eq!(list.body["meta"]["total_count"], 1);
}

#[tokio::test]
async fn a_start_that_is_not_a_free_slot_is_409() {
    let b = Booking::new().await;
    for clock in ["08:30", "09:10", "12:00"] {
        let reply = b
            .book(json!({"start": b.at(clock), "name": "Ana", "email": "ana@example.com"}))
            .await
            .expect(409);
        assert_eq!(reply.body["errors"]["detail"], "Slot no longer available", "{clock}");
    }
    b.book_at("09:00", "ana@example.com").await;
    b.book(json!({"start": b.at("09:00"), "name": "Bia", "email": "bia@example.com"}))
        .await
        .expect(409);
}

#[tokio::test]
async fn without_user_id_the_least_booked_free_agent_gets_the_booking() {
    let b = Booking::new().await;
    let colleague = b.app.user(&b.owner, "attendant").await;
    b.app.add_member(&b.owner, &b.department, &colleague.user_id).await;
    b.hours(&colleague.user_id, &[("09:00", "12:00")]).await;
    // The agent with the smaller id gets ties; give that one an appointment first.
    let (first, second) = if b.agent.user_id < colleague.user_id {
        (&b.agent, &colleague)
    } else {
        (&colleague, &b.agent)
    };
    b.staff_appointment(first, "11:30").await;
    let booked = b.book_at("09:00", "x@example.com").await;
    let owner_view = |id: &Value| format!("/api/v1/appointments/{}", id.as_str().unwrap());
    let a = b
        .app
        .get(&owner_view(&booked["appointment_id"]), &b.owner)
        .await
        .expect(200);
    assert_eq!(a.data()["user_id"], json!(second.user_id));
    // Now both have one: the tie goes to the smaller id.
    let tie = b.book_at("10:00", "y@example.com").await;
    let a = b
        .app
        .get(&owner_view(&tie["appointment_id"]), &b.owner)
        .await
        .expect(200);
    assert_eq!(a.data()["user_id"], json!(first.user_id));
    // A chosen agent is honoured; a non-member is 422.
    let chosen = b
        .book(json!({"start": b.at("10:30"), "user_id": second.user_id, "name": "Z", "email": "z@example.com"}))
        .await
        .expect(201);
    let a = b
        .app
        .get(&owner_view(&chosen.data()["appointment_id"]), &b.owner)
        .await
        .expect(200);
    assert_eq!(a.data()["user_id"], json!(second.user_id));
    let outsider = b.app.user(&b.owner, "attendant").await;
    b.book(json!({"start": b.at("11:00"), "user_id": outsider.user_id, "name": "Z", "email": "z@example.com"}))
        .await
        .expect(422);
}

#[tokio::test]
async fn booking_body_is_validated() {
    let b = Booking::new().await;
    let reply = b.book(json!({})).await.expect(422);
    assert_eq!(reply.field_errors("start"), ["can't be blank"]);
    assert_eq!(reply.field_errors("name"), ["can't be blank"]);
    assert_eq!(reply.field_errors("email"), ["can't be blank"]);
    let reply = b
        .book(json!({"start": "soon", "name": "A", "email": "not-mail"}))
        .await
        .expect(422);
    assert_eq!(reply.field_errors("start"), ["is invalid"]);
    assert!(!reply.field_errors("email").is_empty());
}

#[tokio::test]
async fn unknown_token_and_booking_off_answer_404() {
    let b = Booking::new().await;
    for path in ["/api/v1/book/nope", "/api/v1/book/nope/slots", "/api/v1/manage/nope"] {
        b.app.public_get(path).await.expect(404);
    }
    b.app.public_post("/api/v1/book/nope", json!({})).await.expect(404);
    b.settings(json!({"public_booking": false})).await;
    b.app.public_get(&format!("/api/v1/book/{}", b.token)).await.expect(404);
    b.app
        .public_get(&format!("/api/v1/book/{}/slots", b.token))
        .await
        .expect(404);
    b.book(json!({"start": b.at("09:00"), "name": "A", "email": "a@example.com"}))
        .await
        .expect(404);
    b.settings(json!({"public_booking": true, "active": false})).await;
    b.app.public_get(&format!("/api/v1/book/{}", b.token)).await.expect(404);
}

#[tokio::test]
async fn the_manage_link_shows_moves_and_cancels_and_notifies_the_agent() {
    let b = Booking::new().await;
    let booked = b.book_at("09:00", "m@example.com").await;
    let manage = format!("/api/v1/manage/{}", token_of(&booked["manage_url"]));
    let view = b.app.public_get(&manage).await.expect(200);
    let v = view.data();
    assert_eq!(v["title"], "Cardiology");
    assert_eq!(v["scheduled_at"], b.at("09:00"));
    assert_eq!(v["duration_minutes"], 30);
    assert_eq!(v["status"], "scheduled");
    assert_eq!(v["department_name"], "Cardiology");
    assert_eq!(v["user_name"], "A attendant");
    assert_eq!(v["call_url"], booked["call_url"]);
    assert_eq!(v["can_change"], true);

    let other = b.book_at("10:00", "o@example.com").await;
    let taken = b
        .app
        .public_post(&format!("{manage}/reschedule"), json!({"start": other["scheduled_at"]}))
        .await
        .expect(409);
    assert_eq!(taken.body["errors"]["detail"], "Slot no longer available");
    b.app
        .public_post(&format!("{manage}/reschedule"), json!({}))
        .await
        .expect(422);
    let moved = b
        .app
        .public_post(&format!("{manage}/reschedule"), json!({"start": b.at("11:00")}))
        .await
        .expect(200);
    assert_eq!(moved.data()["scheduled_at"], b.at("11:00"));
    let slots = starts(&b.public_slots().await);
    assert!(slots.contains(&b.at("09:00")) && !slots.contains(&b.at("11:00")));

    let cancelled = b
        .app
        .public_post(&format!("{manage}/cancel"), json!({"reason": "Feeling better"}))
        .await
        .expect(200);
    assert_eq!(cancelled.data()["status"], "cancelled");
    assert_eq!(cancelled.data()["can_change"], false);
    b.app
        .public_post(&format!("{manage}/cancel"), json!({}))
        .await
        .expect(200);
    b.app
        .public_post(&format!("{manage}/reschedule"), json!({"start": b.at("11:30")}))
        .await
        .expect(422);
    let id = booked["appointment_id"].as_str().unwrap();
    let staff = b
        .app
        .get(&format!("/api/v1/appointments/{id}"), &b.owner)
        .await
        .expect(200);
    assert_eq!(staff.data()["cancel_reason"], "Feeling better");
    let types = b.notification_types(&b.agent).await;
    assert_eq!(
        types,
        [
            "appointment_cancelled",
            "appointment_rescheduled",
            "appointment_booked",
            "appointment_booked"
        ]
    );
}

#[tokio::test]
async fn changes_inside_the_minimum_notice_are_too_late() {
    let b = Booking::new().await;
    let booked = b.book_at("09:00", "late@example.com").await;
    let id = booked["appointment_id"].as_str().unwrap();
    b.app.move_appointment("acme", id, &minutes_from_now(60)).await;
    let manage = format!("/api/v1/manage/{}", token_of(&booked["manage_url"]));
    assert_eq!(b.app.public_get(&manage).await.expect(200).data()["can_change"], false);
    let too_late = json!({"errors": {"detail": "too late to change"}});
    let cancel = b
        .app
        .public_post(&format!("{manage}/cancel"), json!({}))
        .await
        .expect(422);
    assert_eq!(cancel.body, too_late);
    let reschedule = b
        .app
        .public_post(&format!("{manage}/reschedule"), json!({"start": b.at("11:00")}))
        .await
        .expect(422);
    assert_eq!(reschedule.body, too_late);
}

#[tokio::test]
async fn staff_appointments_get_a_manage_link_too() {
    let b = Booking::new().await;
    let id = b.staff_appointment(&b.agent, "09:00").await;
    let lookup = id.clone();
    let token: Option<String> = b
        .app
        .tenant_db("acme")
        .await
        .read(move |conn| {
            Ok(
                conn.query_row("SELECT manage_token FROM appointments WHERE id = ?1", [&lookup], |r| {
                    r.get(0)
                })?,
            )
        })
        .await
        .unwrap();
    let token = token.expect("a manage token");
    let view = b.app.public_get(&format!("/api/v1/manage/{token}")).await.expect(200);
    assert_eq!(view.data()["title"], "Visit");
}

#[tokio::test]
async fn booking_and_manage_share_one_rate_limit_bucket_apart_from_the_widget() {
    let app = TestApp::spawn_with(|c| c.rate_limit_booking_per_minute = 3).await;
    for _ in 0..2 {
        app.public_get("/api/v1/book/nope").await.expect(404);
    }
    app.public_get("/api/v1/manage/nope").await.expect(404);
    let limited = app.public_get("/api/v1/manage/nope").await.expect(429);
    assert!(limited.headers.get("retry-after").is_some());
    app.public_post("/api/v1/book/nope", json!({})).await.expect(429);
    app.public_get("/api/v1/call/nope/validate").await.expect(404);
}

#[tokio::test]
async fn the_agent_hears_a_booking_and_its_changes_on_the_socket() {
    let b = Booking::new().await;
    let mut socket = crate::realtime::Client::connect(&b.app, &b.agent.token).await;
    let topic = format!("notification:{}", b.agent.user_id);
    socket.joined(&topic).await;
    let booked = b.book_at("09:00", "s@example.com").await;
    let pushed = socket.event(&topic, "new_notification").await;
    assert_eq!(pushed["type"], "appointment_booked");
    assert_eq!(pushed["data"]["appointment_id"], booked["appointment_id"]);
    let manage = format!("/api/v1/manage/{}", token_of(&booked["manage_url"]));
    b.app
        .public_post(&format!("{manage}/reschedule"), json!({"start": b.at("10:00")}))
        .await
        .expect(200);
    assert_eq!(
        socket.event(&topic, "new_notification").await["type"],
        "appointment_rescheduled"
    );
    b.app
        .public_post(&format!("{manage}/cancel"), json!({}))
        .await
        .expect(200);
    assert_eq!(
        socket.event(&topic, "new_notification").await["type"],
        "appointment_cancelled"
    );
}

#[tokio::test]
async fn the_manage_page_lists_where_the_appointment_may_move() {
    let b = Booking::new().await;
    let booked = b.book_at("09:00", "w@example.com").await;
    b.book_at("10:00", "v@example.com").await;
    let manage = format!("/api/v1/manage/{}", token_of(&booked["manage_url"]));
    let slots = b
        .app
        .public_get(&format!("{manage}/slots?date_from={}&date_to={}", b.day, b.day))
        .await
        .expect(200);
    let slots = slots.data().as_array().unwrap().clone();
    // Its own time counts as free, the other booking's does not.
    assert_eq!(
        starts(&slots),
        ["09:00", "09:30", "10:30", "11:00", "11:30"].map(|c| b.at(c))
    );
}

#[tokio::test]
async fn the_public_pages_are_served() {
    let app = TestApp::spawn().await;
    for path in ["/book/anything", "/manage/anything"] {
        let reply = app.public_get(path).await.expect(200);
        assert!(reply.text.contains("<main>"), "{path}");
        assert!(reply.headers["content-type"].to_str().unwrap().starts_with("text/html"));
    }
    for path in [
        "/book-assets/book.js",
        "/book-assets/common.js",
        "/book-assets/book.css",
        "/manage-assets/manage.js",
    ] {
        app.public_get(path).await.expect(200);
    }
}

#[tokio::test]
async fn a_booking_page_reaches_only_its_own_tenant() {
    let b = Booking::new().await;
    b.app.create_tenant("other").await;
    let stranger_owner = b.app.owner("other").await;
    let stranger = b.app.user(&stranger_owner, "attendant").await;
    let reply = b
        .book(json!({"start": b.at("09:00"), "user_id": stranger.user_id, "name": "A", "email": "a@example.com"}))
        .await
        .expect(422);
    assert_eq!(reply.field_errors("user_id"), ["does not exist"]);
    let booked = b.book_at("09:00", "t@example.com").await;
    // The other tenant's staff cannot see the booked appointment.
    b.app
        .get(
            &format!("/api/v1/appointments/{}", booked["appointment_id"].as_str().unwrap()),
            &stranger_owner,
        )
        .await
        .expect(404);
    let other_department = b.app.department(&stranger_owner, "Elsewhere").await;
    b.app
        .post(
            &format!("/api/v1/departments/{}/booking-token", b.department),
            &stranger_owner,
            json!({}),
        )
        .await
        .expect(404);
    b.app
        .get(
            &format!(
                "/api/v1/availability?department_id={other_department}&date_from={}&date_to={}",
                b.day, b.day
            ),
            &b.owner,
        )
        .await
        .expect(422);
}

/// The audit rows of one object, oldest first.
async fn audit_actions(b: &Booking, object_type: &str, object_id: &str) -> Vec<(String, String)> {
    let rows = b
        .app
        .get(
            &format!("/api/v1/audit-log?object_type={object_type}&object_id={object_id}&page_size=100"),
            &b.owner,
        )
        .await
        .expect(200);
    let mut actions: Vec<(String, String)> = rows
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["action"].as_str().unwrap().to_string(),
                r["actor_type"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    actions.reverse();
    actions
}

#[tokio::test]
async fn scheduling_writes_are_audited_with_their_actor_and_no_token() {
    let b = Booking::new().await;
    // Working hours (set by the owner in `Booking::new`): an action on the user.
    let hours = audit_actions(&b, "user", &b.agent.user_id).await;
    assert!(
        hours.contains(&("user.availability".into(), "user".into())),
        "{hours:?}"
    );
    // The booking page's token rotation: recorded, the token never.
    let rotated = b
        .app
        .post(
            &format!("/api/v1/departments/{}/booking-token", b.department),
            &b.owner,
            json!({}),
        )
        .await
        .expect(200);
    let department = audit_actions(&b, "department", &b.department).await;
    assert_eq!(
        department.last().unwrap(),
        &("department.booking_token".to_string(), "user".to_string())
    );
    let log = b.app.get("/api/v1/audit-log?page_size=100", &b.owner).await.expect(200);
    assert!(!log.text.contains(&token_of(&rotated.data()["booking_url"])));
    assert!(!log.text.contains(&b.token));

    // A patient's booking, reschedule and cancel are the customer's.
    let booking = Booking::new().await;
    let booked = booking.book_at("09:00", "audit@example.com").await;
    let manage = format!("/api/v1/manage/{}", token_of(&booked["manage_url"]));
    booking
        .app
        .public_post(&format!("{manage}/reschedule"), json!({"start": booking.at("10:00")}))
        .await
        .expect(200);
    booking
        .app
        .public_post(&format!("{manage}/cancel"), json!({}))
        .await
        .expect(200);
    let id = booked["appointment_id"].as_str().unwrap();
    let customer = |action: &str| (action.to_string(), "customer".to_string());
    assert_eq!(
        audit_actions(&booking, "appointment", id).await,
        [
            customer("appointment.create"),
            customer("appointment.update"),
            customer("appointment.cancel")
        ]
    );
}
