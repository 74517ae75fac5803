//! SPEC §5, the Phoenix Channels v2 socket, spoken frame by frame over a real WebSocket:
//! connecting, heartbeats, who may join which topic, and what each topic hears when the
//! REST API changes something.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

use crate::helpers::{Session, TestApp, minutes_from_now};

/// How long a test waits for a frame it expects.
const PATIENCE: Duration = Duration::from_secs(5);

pub struct Client {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    next_ref: u64,
    /// Frames read while looking for another one, kept for later.
    seen: Vec<Value>,
}

pub(crate) fn socket_url(app: &TestApp, token: &str) -> String {
    format!(
        "{}/socket/websocket?token={token}&vsn=2.0.0",
        app.base.replace("http://", "ws://")
    )
}

impl Client {
    pub async fn connect(app: &TestApp, token: &str) -> Client {
        let (ws, _) = connect_async(socket_url(app, token)).await.expect("socket connects");
        Client {
            ws,
            next_ref: 0,
            seen: Vec::new(),
        }
    }

    fn make_ref(&mut self) -> String {
        self.next_ref += 1;
        self.next_ref.to_string()
    }

    pub async fn send_raw(&mut self, text: &str) {
        self.ws.send(Message::text(text)).await.expect("frame sent");
    }

    /// Sends `[join_ref, ref, topic, event, payload]`; returns the ref.
    pub async fn send(&mut self, join_ref: Option<&str>, topic: &str, event: &str, payload: Value) -> String {
        let reference = self.make_ref();
        let frame = json!([join_ref, reference, topic, event, payload]);
        self.send_raw(&frame.to_string()).await;
        reference
    }

    /// The next frame (from those kept first) that `wanted` accepts.
    pub async fn frame(&mut self, wanted: impl Fn(&Value) -> bool) -> Value {
        if let Some(index) = self.seen.iter().position(&wanted) {
            return self.seen.remove(index);
        }
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let next = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .unwrap_or_else(|_| panic!("no expected frame within {PATIENCE:?}; seen {:?}", self.seen));
            match next {
                Some(Ok(Message::Text(text))) => {
                    let frame: Value = serde_json::from_str(&text).expect("frames are JSON");
                    if wanted(&frame) {
                        return frame;
                    }
                    self.seen.push(frame);
                }
                Some(Ok(_)) => {}
                other => panic!("socket ended while waiting: {other:?}; seen {:?}", self.seen),
            }
        }
    }

    /// The reply to the frame with `reference`.
    pub async fn reply(&mut self, reference: &str) -> Value {
        let reference = reference.to_string();
        self.frame(move |f| f[1] == reference.as_str() && f[3] == "phx_reply")
            .await
    }

    /// Joins `topic`; returns the join_ref and the reply payload (`{status, response}`).
    pub async fn join(&mut self, topic: &str) -> (String, Value) {
        let reference = self.make_ref();
        let frame = json!([reference, reference, topic, "phx_join", {}]);
        self.send_raw(&frame.to_string()).await;
        let reply = self.reply(&reference).await;
        (reference, reply[4].clone())
    }

    /// Joins `topic` and panics unless the join is accepted; returns the join_ref and the
    /// reply's response.
    pub async fn joined(&mut self, topic: &str) -> (String, Value) {
        let (join_ref, reply) = self.join(topic).await;
        assert_eq!(reply["status"], "ok", "join {topic}: {reply}");
        (join_ref, reply["response"].clone())
    }

    /// Pushes `event` on a joined topic; returns the reply payload.
    pub async fn push(&mut self, join_ref: &str, topic: &str, event: &str, payload: Value) -> Value {
        let reference = self.send(Some(join_ref), topic, event, payload).await;
        self.reply(&reference).await[4].clone()
    }

    /// The next `event` on `topic`; returns its payload.
    pub async fn event(&mut self, topic: &str, event: &str) -> Value {
        let (topic, event) = (topic.to_string(), event.to_string());
        self.frame(move |f| f[2] == topic.as_str() && f[3] == event.as_str())
            .await[4]
            .clone()
    }

    /// The next `presence_diff` on `topic` in which `user_id` is among the `side`
    /// ("joins" or "leaves"); returns the diff.
    pub async fn diff(&mut self, topic: &str, side: &str, user_id: &str) -> Value {
        let (topic, side, user_id) = (topic.to_string(), side.to_string(), user_id.to_string());
        self.frame(move |f| f[2] == topic.as_str() && f[3] == "presence_diff" && f[4][&side].get(&user_id).is_some())
            .await[4]
            .clone()
    }

    /// Asserts that no `event` on `topic` arrives within `wait`.
    pub async fn quiet(&mut self, topic: &str, event: &str, wait: Duration) {
        let found = |f: &Value| f[2] == topic && f[3] == event;
        assert!(!self.seen.iter().any(found), "unexpected {event} on {topic}");
        let deadline = tokio::time::Instant::now() + wait;
        while let Ok(next) = tokio::time::timeout_at(deadline, self.ws.next()).await {
            let Some(Ok(Message::Text(text))) = next else { break };
            let frame: Value = serde_json::from_str(&text).unwrap();
            assert!(!found(&frame), "unexpected {frame}");
            self.seen.push(frame);
        }
    }

    /// Whether the server closes the connection within `PATIENCE`.
    pub async fn closed_by_server(&mut self) -> bool {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            match tokio::time::timeout_at(deadline, self.ws.next()).await {
                Err(_) => return false,
                Ok(None | Some(Err(_)) | Some(Ok(Message::Close(_)))) => return true,
                Ok(Some(Ok(_))) => {}
            }
        }
    }
}

/// A department with an attendant member, the owner and a supervisor.
pub(crate) struct Clinic {
    pub(crate) app: TestApp,
    pub(crate) owner: Session,
    pub(crate) supervisor: Session,
    pub(crate) agent: Session,
    pub(crate) department: String,
}

pub(crate) async fn clinic() -> Clinic {
    clinic_with(|_| {}).await
}

pub(crate) async fn clinic_with(adjust: impl FnOnce(&mut voki::config::Config)) -> Clinic {
    let app = TestApp::spawn_with(adjust).await;
    let owner = app.owner("acme").await;
    let supervisor = app.user(&owner, "supervisor").await;
    let department = app.department(&owner, "Clínica Geral").await;
    let agent = crate::analytics::named_agent(&app, &owner, &department, "Alice Souza").await;
    Clinic {
        app,
        owner,
        supervisor,
        agent,
        department,
    }
}

/// A customer joins the department's queue; returns the join answer (call id and token).
pub(crate) async fn customer_joins(c: &Clinic, name: &str) -> Value {
    let link = c.app.link(&c.owner, &c.department, json!({})).await;
    c.app.join(link["token"].as_str().unwrap(), name).await
}

#[tokio::test]
async fn a_bad_token_or_protocol_version_is_refused_with_403_before_the_upgrade() {
    let c = clinic().await;
    let ws_base = c.app.base.replace("http://", "ws://");
    for url in [
        format!("{ws_base}/socket/websocket?token=not-a-token&vsn=2.0.0"),
        format!("{ws_base}/socket/websocket?vsn=2.0.0"),
        format!("{ws_base}/socket/websocket?token={}", c.agent.token),
        format!("{ws_base}/socket/websocket?token={}&vsn=1.0.0", c.agent.token),
        // A refresh token is not an access token.
        format!("{ws_base}/socket/websocket?token={}&vsn=2.0.0", c.agent.refresh_token),
    ] {
        match connect_async(url.as_str()).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                assert_eq!(response.status(), 403, "{url}")
            }
            other => panic!("{url}: expected 403, got {:?}", other.map(|_| "a connection")),
        }
    }
    // A plain GET (no upgrade) with a good token is a clear 400.
    let reply = c
        .app
        .public_get(&format!("/socket/websocket?token={}&vsn=2.0.0", c.agent.token))
        .await;
    assert_eq!(reply.status, 400, "{}", reply.text);
}

#[tokio::test]
async fn the_token_may_come_as_the_phoenix_subprotocol() {
    use base64::Engine;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let c = clinic().await;
    let url = format!("{}/socket/websocket?vsn=2.0.0", c.app.base.replace("http://", "ws://"));
    let mut request = url.into_client_request().unwrap();
    let encoded = base64::engine::general_purpose::STANDARD_NO_PAD.encode(&c.agent.token);
    request.headers_mut().insert(
        "sec-websocket-protocol",
        format!("phoenix, base64url.bearer.phx.{encoded}").parse().unwrap(),
    );
    let (mut ws, response) = connect_async(request).await.expect("accepted");
    assert_eq!(response.headers()["sec-websocket-protocol"], "phoenix");
    ws.send(Message::text(r#"[null,"1","phoenix","heartbeat",{}]"#))
        .await
        .unwrap();
    let Some(Ok(Message::Text(reply))) = ws.next().await else {
        panic!("no heartbeat reply")
    };
    assert_eq!(
        reply.as_str(),
        r#"[null,"1","phoenix","phx_reply",{"response":{},"status":"ok"}]"#
    );
}

#[tokio::test]
async fn heartbeats_are_answered_with_their_ref() {
    let c = clinic().await;
    let mut client = Client::connect(&c.app, &c.agent.token).await;
    client.send_raw(r#"[null,"41","phoenix","heartbeat",{}]"#).await;
    let reply = client.reply("41").await;
    assert_eq!(
        reply,
        json!([null, "41", "phoenix", "phx_reply", {"status": "ok", "response": {}}])
    );
    let metrics = c.app.public_get("/metrics").await.expect(200);
    assert!(metrics.text.contains("voki_socket_connections 1\n"), "{}", metrics.text);
}

#[tokio::test]
async fn unknown_topics_are_unmatched_and_refused_joins_say_unauthorized() {
    let c = clinic().await;
    let other_department = c.app.department(&c.owner, "Pediatria").await;
    let mut agent = Client::connect(&c.app, &c.agent.token).await;
    let reference = agent.send(Some("9"), "room:lobby", "phx_join", json!({})).await;
    let reply = agent.reply(&reference).await;
    assert_eq!(
        reply,
        json!([null, reference, "room:lobby", "phx_reply",
               {"status": "error", "response": {"reason": "unmatched topic"}}])
    );
    for topic in [
        format!("queue:{other_department}"),
        format!("presence:{other_department}"),
        format!("notification:{}", c.supervisor.user_id),
        "dashboard".to_string(),
        format!("call:{}", uuid::Uuid::new_v4()),
        "queue:not-a-uuid".to_string(),
    ] {
        let (join_ref, reply) = agent.join(&topic).await;
        assert_eq!(
            reply,
            json!({"status": "error", "response": {"reason": "unauthorized"}}),
            "{topic}"
        );
        // The frame carried the join's refs.
        let _ = join_ref;
    }
    // A push on a topic that is not joined is unmatched; a leave of it is still ok.
    let reference = agent.send(Some("1"), "queue:x", "anything", json!({})).await;
    assert_eq!(
        agent.reply(&reference).await[4]["response"]["reason"],
        "unmatched topic"
    );
    let reference = agent.send(Some("1"), "queue:x", "phx_leave", json!({})).await;
    assert_eq!(agent.reply(&reference).await[4]["status"], "ok");
    // Their own department and notifications are fine.
    agent.joined(&format!("queue:{}", c.department)).await;
    agent.joined(&format!("notification:{}", c.agent.user_id)).await;
}

#[tokio::test]
async fn the_queue_hears_arrivals_assignments_and_departures() {
    let c = clinic().await;
    let waiting = customer_joins(&c, "Bia").await;
    let mut supervisor = Client::connect(&c.app, &c.supervisor.token).await;
    let topic = format!("queue:{}", c.department);
    let (_, response) = supervisor.joined(&topic).await;
    assert_eq!(response["queue"].as_array().unwrap().len(), 1);
    assert_eq!(response["queue"][0]["call_id"], waiting["call_id"]);
    assert_eq!(response["queue"][0]["position"], 1);

    let joined = customer_joins(&c, "Caio Prado").await;
    let arrival = supervisor.event(&topic, "customer_joined").await;
    assert_eq!(arrival["call_id"], joined["call_id"]);
    assert_eq!(arrival["customer_name"], "Caio Prado");
    assert_eq!(arrival["position"], 2);
    for field in ["protocol", "reason", "inserted_at"] {
        assert!(arrival.get(field).is_some(), "customer_joined has {field}");
    }

    let call = joined["call_id"].as_str().unwrap();
    c.app
        .post(&format!("/api/v1/calls/{call}/assign"), &c.agent, json!({}))
        .await
        .expect(200);
    let assigned = supervisor.event(&topic, "call_assigned").await;
    assert_eq!(
        assigned,
        json!({"call_id": call, "user_id": c.agent.user_id, "user_name": "Alice Souza"})
    );
    c.app
        .post(&format!("/api/v1/calls/{call}/start"), &c.agent, json!({}))
        .await
        .expect(200);
    assert_eq!(
        supervisor.event(&topic, "customer_left").await,
        json!({"call_id": call, "status": "active"})
    );
    let first = waiting["call_id"].as_str().unwrap();
    c.app
        .public_post(&format!("/api/v1/call/leave/{first}"), json!({}))
        .await
        .expect(200);
    assert_eq!(
        supervisor.event(&topic, "customer_left").await,
        json!({"call_id": first, "status": "missed"})
    );
}

/// Frames leave the tenant's writer for a runtime task; what many concurrent commits
/// announce still reaches a socket in the order they committed.
#[tokio::test]
async fn queue_frames_arrive_in_commit_order_while_joins_commit_together() {
    let c = clinic().await;
    let mut links = Vec::new();
    for _ in 0..16 {
        let link = c.app.link(&c.owner, &c.department, json!({})).await;
        links.push(link["token"].as_str().unwrap().to_string());
    }
    let mut supervisor = Client::connect(&c.app, &c.supervisor.token).await;
    let topic = format!("queue:{}", c.department);
    supervisor.joined(&topic).await;
    let names: Vec<String> = (0..links.len()).map(|index| format!("Paciente {index}")).collect();
    let joins = links.iter().zip(&names).map(|(token, name)| c.app.join(token, name));
    let answers = futures::future::join_all(joins).await;
    let mut positions = Vec::new();
    for _ in &answers {
        positions.push(
            supervisor.event(&topic, "customer_joined").await["position"]
                .as_i64()
                .unwrap(),
        );
    }
    assert_eq!(positions, (1..=16).collect::<Vec<i64>>(), "in commit order");
}

#[tokio::test]
async fn a_refused_change_is_never_announced() {
    let c = clinic().await;
    let joined = customer_joins(&c, "Bia").await;
    let call = joined["call_id"].as_str().unwrap();
    let mut supervisor = Client::connect(&c.app, &c.supervisor.token).await;
    let topic = format!("queue:{}", c.department);
    supervisor.joined(&topic).await;
    c.app
        .post(&format!("/api/v1/calls/{call}/assign"), &c.agent, json!({}))
        .await
        .expect(200);
    supervisor.event(&topic, "call_assigned").await;
    // A second agent loses the race: 409, and no second call_assigned.
    let other = crate::analytics::named_agent(&c.app, &c.owner, &c.department, "Bruno Lima").await;
    c.app
        .post(&format!("/api/v1/calls/{call}/assign"), &other, json!({}))
        .await
        .expect(409);
    supervisor
        .quiet(&topic, "call_assigned", Duration::from_millis(300))
        .await;
}

#[tokio::test]
async fn presence_tracks_agents_per_department_with_their_status() {
    let c = clinic().await;
    let topic = format!("presence:{}", c.department);
    let mut alice = Client::connect(&c.app, &c.agent.token).await;
    let (alice_ref, _) = alice.joined(&topic).await;
    let state = alice.event(&topic, "presence_state").await;
    let meta = &state[&c.agent.user_id]["metas"][0];
    assert_eq!(meta["name"], "Alice Souza");
    assert_eq!(meta["status"], "available");
    assert!(meta["phx_ref"].is_string() && meta["online_at"].is_string());

    let mut supervisor = Client::connect(&c.app, &c.supervisor.token).await;
    supervisor.joined(&topic).await;
    let both = supervisor.event(&topic, "presence_state").await;
    assert_eq!(both.as_object().unwrap().len(), 2);
    // Every subscriber hears each join, the joiner too (as Phoenix does).
    alice.diff(&topic, "joins", &c.agent.user_id).await;
    let diff = alice.diff(&topic, "joins", &c.supervisor.user_id).await;
    assert_eq!(diff["leaves"], json!({}));

    let reply = alice
        .push(&alice_ref, &topic, "status", json!({"status": "busy"}))
        .await;
    assert_eq!(reply["status"], "ok");
    let change = supervisor.diff(&topic, "leaves", &c.agent.user_id).await;
    assert_eq!(change["joins"][&c.agent.user_id]["metas"][0]["status"], "busy");
    assert_eq!(change["leaves"][&c.agent.user_id]["metas"][0]["status"], "available");
    let refused = alice
        .push(&alice_ref, &topic, "status", json!({"status": "asleep"}))
        .await;
    assert_eq!(
        refused,
        json!({"status": "error", "response": {"reason": "invalid status"}})
    );

    drop(alice);
    let gone = supervisor
        .frame(|f| f[3] == "presence_diff" && f[4]["joins"] == json!({}))
        .await[4]
        .clone();
    assert!(gone["leaves"].get(&c.agent.user_id).is_some(), "{gone}");
}

#[tokio::test]
async fn deactivating_a_user_closes_their_socket_and_their_presence_leaves() {
    let c = clinic().await;
    let topic = format!("presence:{}", c.department);
    let mut alice = Client::connect(&c.app, &c.agent.token).await;
    alice.joined(&topic).await;
    let mut supervisor = Client::connect(&c.app, &c.supervisor.token).await;
    supervisor.joined(&topic).await;
    supervisor.event(&topic, "presence_state").await;
    c.app
        .put(
            &format!("/api/v1/users/{}", c.agent.user_id),
            &c.owner,
            json!({"active": false}),
        )
        .await
        .expect(200);
    assert!(
        alice.closed_by_server().await,
        "the deactivated user's socket is closed"
    );
    supervisor.diff(&topic, "leaves", &c.agent.user_id).await;
    // And the old token no longer connects.
    match connect_async(socket_url(&c.app, &c.agent.token)).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => assert_eq!(response.status(), 403),
        _ => panic!("a deactivated user's token must be refused"),
    }
}

#[tokio::test]
async fn a_socket_silent_for_socket_idle_secs_is_closed_even_while_the_server_rechecks_it() {
    let c = clinic_with(|config| config.socket_idle_secs = 2).await;
    let mut alice = Client::connect(&c.app, &c.agent.token).await;
    alice.joined(&format!("presence:{}", c.department)).await;
    // Each role change makes her socket check its session and topics again; none of it
    // is a frame from her, so none of it may keep the silent socket open.
    let began = std::time::Instant::now();
    let rechecks = async {
        for _ in 0..12 {
            tokio::time::sleep(Duration::from_millis(500)).await;
            c.app
                .put(
                    &format!("/api/v1/users/{}", c.agent.user_id),
                    &c.owner,
                    json!({"role": "attendant"}),
                )
                .await
                .expect(200);
        }
    };
    let closed = async { (alice.closed_by_server().await, began.elapsed()) };
    let ((), (closed, after)) = tokio::join!(rechecks, closed);
    assert!(closed, "the silent socket is closed");
    assert!(
        after < Duration::from_secs(4),
        "closed {after:?} after her last frame, while rechecks ran for 6 s"
    );
}

#[tokio::test]
async fn a_socket_that_sends_heartbeats_outlives_socket_idle_secs() {
    let c = clinic_with(|config| config.socket_idle_secs = 2).await;
    let mut alice = Client::connect(&c.app, &c.agent.token).await;
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let reference = alice.send(None, "phoenix", "heartbeat", json!({})).await;
        assert_eq!(alice.reply(&reference).await[4]["status"], "ok");
    }
}

#[tokio::test]
async fn notifications_are_pushed_to_their_user_only() {
    let c = clinic().await;
    let mut alice = Client::connect(&c.app, &c.agent.token).await;
    let topic = format!("notification:{}", c.agent.user_id);
    alice.joined(&topic).await;
    let joined = customer_joins(&c, "Bia").await;
    let call = joined["call_id"].as_str().unwrap();
    c.app
        .post(
            &format!("/api/v1/calls/{call}/assign"),
            &c.supervisor,
            json!({"user_id": c.agent.user_id}),
        )
        .await
        .expect(200);
    let pushed = alice.event(&topic, "new_notification").await;
    assert_eq!(pushed["type"], "call_assigned");
    assert_eq!(pushed["data"]["call_id"], call);
    // The same row the REST API lists.
    let listed = c.app.get("/api/v1/notifications", &c.agent).await.expect(200);
    assert_eq!(listed.data()[0]["id"], pushed["id"]);
}

#[tokio::test]
async fn appointment_reminders_are_pushed_when_the_sweeper_sends_them() {
    let c = clinic().await;
    c.app
        .post(
            "/api/v1/appointments",
            &c.agent,
            json!({"appointment": {"title": "Retorno", "scheduled_at": minutes_from_now(10),
                                   "department_id": c.department, "customer_name": "Maria Souza"}}),
        )
        .await
        .expect(201);
    let mut alice = Client::connect(&c.app, &c.agent.token).await;
    let topic = format!("notification:{}", c.agent.user_id);
    alice.joined(&topic).await;
    c.app.sweep().await;
    let reminder = alice.event(&topic, "appointment_reminder").await;
    assert_eq!(reminder["title"], "Retorno");
    assert!(reminder["minutes_before"].as_i64().unwrap() <= 10);
    assert!(reminder["appointment_id"].is_string() && reminder["scheduled_at"].is_string());
    assert_eq!(
        alice.event(&topic, "new_notification").await["type"],
        "appointment_reminder"
    );
}

/// A call assigned to the clinic's agent, with the customer's join answer.
async fn assigned_call(c: &Clinic) -> (String, String) {
    let joined = customer_joins(c, "Bia Nunes").await;
    let call = joined["call_id"].as_str().unwrap().to_string();
    c.app
        .post(&format!("/api/v1/calls/{call}/assign"), &c.agent, json!({}))
        .await
        .expect(200);
    (call, joined["websocket_token"].as_str().unwrap().to_string())
}

#[tokio::test]
async fn call_signals_are_relayed_to_the_other_participant_and_never_echoed() {
    let c = clinic().await;
    let (call, customer_token) = assigned_call(&c).await;
    let topic = format!("call:{call}");
    let mut agent = Client::connect(&c.app, &c.agent.token).await;
    let (agent_ref, response) = agent.joined(&topic).await;
    assert_eq!(response["role"], "agent");
    assert_eq!(response["status"], "queued");
    let mut customer = Client::connect(&c.app, &customer_token).await;
    let (customer_ref, response) = customer.joined(&topic).await;
    assert_eq!(response["role"], "customer");
    assert_eq!(
        response["participants"],
        json!([{"role": "agent", "name": "Alice Souza"}])
    );
    assert_eq!(
        agent.event(&topic, "participant_joined").await,
        json!({"role": "customer", "name": "Bia Nunes"})
    );

    let offer = json!({"type": "offer", "sdp": "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\n"});
    assert_eq!(
        agent.push(&agent_ref, &topic, "signal", offer.clone()).await["status"],
        "ok"
    );
    assert_eq!(customer.event(&topic, "signal").await, offer);
    agent.quiet(&topic, "signal", Duration::from_millis(200)).await;
    let candidate = json!({"candidate": "candidate:1 1 udp 2122260223 10.0.0.2 54321 typ host",
                           "sdpMid": "0", "sdpMLineIndex": 0});
    customer
        .push(&customer_ref, &topic, "ice_candidate", candidate.clone())
        .await;
    assert_eq!(agent.event(&topic, "ice_candidate").await, candidate);
    customer
        .push(&customer_ref, &topic, "mute", json!({"type": "video", "muted": true}))
        .await;
    assert_eq!(
        agent.event(&topic, "mute").await,
        json!({"type": "video", "muted": true, "role": "customer"})
    );
    let bad = customer
        .push(&customer_ref, &topic, "signal", json!({"type": "offer"}))
        .await;
    assert_eq!(bad["response"]["reason"], "invalid signal");

    // A supervisor may observe (and chat) but not negotiate media.
    let mut observer = Client::connect(&c.app, &c.supervisor.token).await;
    let (observer_ref, response) = observer.joined(&topic).await;
    assert_eq!(response["role"], "observer");
    assert_eq!(response["participants"].as_array().unwrap().len(), 2);
    let refused = observer.push(&observer_ref, &topic, "signal", offer).await;
    assert_eq!(refused["response"]["reason"], "unauthorized");

    drop(customer);
    assert_eq!(
        agent.event(&topic, "participant_left").await,
        json!({"role": "customer", "name": "Bia Nunes"})
    );
}

#[tokio::test]
async fn a_customer_token_opens_only_its_own_call() {
    let c = clinic().await;
    let (call, customer_token) = assigned_call(&c).await;
    let (other_call, _) = assigned_call(&c).await;
    let mut customer = Client::connect(&c.app, &customer_token).await;
    for topic in [
        format!("call:{other_call}"),
        format!("queue:{}", c.department),
        format!("presence:{}", c.department),
        "dashboard".into(),
    ] {
        assert_eq!(
            customer.join(&topic).await.1["response"]["reason"],
            "unauthorized",
            "{topic}"
        );
    }
    customer.joined(&format!("call:{call}")).await;
    // Another attendant of the department is not on this call.
    let colleague = crate::analytics::named_agent(&c.app, &c.owner, &c.department, "Caio Reis").await;
    let mut colleague = Client::connect(&c.app, &colleague.token).await;
    assert_eq!(
        colleague.join(&format!("call:{call}")).await.1["response"]["reason"],
        "unauthorized"
    );
}

#[tokio::test]
async fn chat_messages_are_stored_broadcast_and_listed() {
    let c = clinic().await;
    let (call, customer_token) = assigned_call(&c).await;
    let topic = format!("call:{call}");
    let mut agent = Client::connect(&c.app, &c.agent.token).await;
    agent.joined(&topic).await;
    let mut customer = Client::connect(&c.app, &customer_token).await;
    let (customer_ref, _) = customer.joined(&topic).await;

    let reply = customer
        .push(
            &customer_ref,
            &topic,
            "chat_message",
            json!({"body": "  Olá, doutora!  "}),
        )
        .await;
    assert_eq!(reply["status"], "ok");
    let message = agent.event(&topic, "chat_message").await;
    assert_eq!(message["body"], "Olá, doutora!");
    assert_eq!(message["sender_role"], "customer");
    assert_eq!(message["sender_name"], "Bia Nunes");
    assert_eq!(message["id"], reply["response"]["message"]["id"]);
    assert!(message["inserted_at"].is_string());
    // Everyone on the call hears a message, its sender too.
    assert_eq!(customer.event(&topic, "chat_message").await["id"], message["id"]);

    let posted = c
        .app
        .post(
            &format!("/api/v1/calls/{call}/messages"),
            &c.agent,
            json!({"message": {"body": "Bom dia, Bia."}}),
        )
        .await
        .expect(201);
    let pushed = customer.event(&topic, "chat_message").await;
    assert_eq!(pushed["id"], posted.data()["id"]);
    assert_eq!(pushed["sender_role"], "agent");

    let listed = c
        .app
        .get(&format!("/api/v1/calls/{call}/messages"), &c.supervisor)
        .await
        .expect(200);
    let bodies: Vec<&str> = listed
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies, ["Olá, doutora!", "Bom dia, Bia."]);
    // A rejoin brings the history with it.
    let (rejoined, response) = customer.joined(&topic).await;
    assert_eq!(response["messages"].as_array().unwrap().len(), 2);

    let empty = customer
        .push(&rejoined, &topic, "chat_message", json!({"body": "   "}))
        .await;
    assert_eq!(empty["status"], "error");
    let long = "x".repeat(2001);
    c.app
        .post(
            &format!("/api/v1/calls/{call}/messages"),
            &c.agent,
            json!({"body": long}),
        )
        .await
        .expect(422);
    let colleague = crate::analytics::named_agent(&c.app, &c.owner, &c.department, "Caio Reis").await;
    c.app
        .post(
            &format!("/api/v1/calls/{call}/messages"),
            &colleague,
            json!({"body": "oi"}),
        )
        .await
        .expect(403);
}

#[tokio::test]
async fn the_call_topic_hears_its_status() {
    let c = clinic().await;
    let (call, customer_token) = assigned_call(&c).await;
    let topic = format!("call:{call}");
    let mut customer = Client::connect(&c.app, &customer_token).await;
    customer.joined(&topic).await;
    for (action, status) in [("start", "active"), ("complete", "completed")] {
        c.app
            .post(&format!("/api/v1/calls/{call}/{action}"), &c.agent, json!({}))
            .await
            .expect(200);
        assert_eq!(
            customer.event(&topic, "call_status").await,
            json!({"call_id": call, "status": status})
        );
    }
}

#[tokio::test]
async fn a_waiting_customer_who_disconnects_is_missed_after_the_grace_period() {
    let c = clinic_with(|config| config.socket_reconnect_grace_secs = 1).await;
    let (call, customer_token) = assigned_call(&c).await;
    let (kept, kept_token) = assigned_call(&c).await;
    let mut gone = Client::connect(&c.app, &customer_token).await;
    gone.joined(&format!("call:{call}")).await;
    let mut back = Client::connect(&c.app, &kept_token).await;
    back.joined(&format!("call:{kept}")).await;
    drop(gone);
    drop(back);
    // The second customer comes back within the grace period.
    let mut back = Client::connect(&c.app, &kept_token).await;
    back.joined(&format!("call:{kept}")).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let status = |id: String| {
        let app = &c.app;
        let owner = &c.owner;
        async move { app.get(&format!("/api/v1/calls/{id}"), owner).await.expect(200).data()["status"].clone() }
    };
    assert_eq!(status(call.clone()).await, "missed");
    assert_eq!(status(kept.clone()).await, "queued");
}

#[tokio::test]
async fn the_dashboard_pushes_kpis_to_supervisors() {
    let c = clinic().await;
    customer_joins(&c, "Bia").await;
    let mut presence = Client::connect(&c.app, &c.agent.token).await;
    presence.joined(&format!("presence:{}", c.department)).await;
    let mut supervisor = Client::connect(&c.app, &c.supervisor.token).await;
    supervisor.joined("dashboard").await;
    let kpis = supervisor.event("dashboard", "kpis").await;
    assert_eq!(kpis["queue_size"], 1);
    assert_eq!(kpis["active_calls"], 0);
    assert_eq!(kpis["online_attendants"], 1);
    assert_eq!(kpis["avg_wait_time"], 0.0);
    assert_eq!(kpis["abandonment_rate"], 0.0);
    // And again on the 5-second tick.
    let again = supervisor.event("dashboard", "kpis").await;
    assert_eq!(again["queue_size"], 1);
}

#[tokio::test]
async fn topics_never_cross_tenants() {
    let c = clinic().await;
    c.app.create_tenant("other").await;
    let theirs = c.app.owner("other").await;
    let mut stranger = Client::connect(&c.app, &theirs.token).await;
    for topic in [
        format!("queue:{}", c.department),
        format!("presence:{}", c.department),
        format!("notification:{}", c.agent.user_id),
    ] {
        assert_eq!(
            stranger.join(&topic).await.1["response"]["reason"],
            "unauthorized",
            "{topic}"
        );
    }
    // Their dashboard shows their own (empty) tenant.
    customer_joins(&c, "Bia").await;
    stranger.joined("dashboard").await;
    assert_eq!(stranger.event("dashboard", "kpis").await["queue_size"], 0);
}

#[tokio::test]
async fn a_rejoin_replaces_the_join_and_stale_refs_are_ignored() {
    let c = clinic().await;
    let topic = format!("queue:{}", c.department);
    let mut agent = Client::connect(&c.app, &c.agent.token).await;
    let (first, _) = agent.joined(&topic).await;
    let (second, _) = agent.joined(&topic).await;
    let closed = agent.frame(|f| f[3] == "phx_close").await;
    assert_eq!(closed, json!([first, first, topic, "phx_close", {}]));
    // A push under the old join_ref is ignored: no reply at all.
    let reference = agent.send(Some(&first), &topic, "anything", json!({})).await;
    let stale = reference.clone();
    agent.quiet(&topic, "phx_reply", Duration::from_millis(300)).await;
    let _ = stale;
    // Under the current one it is answered (this topic takes no pushes).
    let reply = agent.push(&second, &topic, "anything", json!({})).await;
    assert_eq!(reply["response"]["reason"], "unknown event");
    // Leaving: ok, then phx_close for that join.
    let reference = agent.send(Some(&second), &topic, "phx_leave", json!({})).await;
    assert_eq!(agent.reply(&reference).await[4]["status"], "ok");
    assert_eq!(agent.frame(|f| f[3] == "phx_close").await[0], second.as_str());
}

#[tokio::test]
async fn malformed_frames_close_the_connection() {
    let c = clinic().await;
    for garbage in [
        "not json",
        "{\"topic\":\"x\"}",
        "[1,2,3]",
        "[\"1\",\"1\",\"t\",\"e\",\"not an object\"]",
    ] {
        let mut agent = Client::connect(&c.app, &c.agent.token).await;
        agent.send_raw(garbage).await;
        assert!(agent.closed_by_server().await, "{garbage}");
    }
    // The server is fine afterwards.
    let mut agent = Client::connect(&c.app, &c.agent.token).await;
    agent.send_raw(r#"[null,"1","phoenix","heartbeat",{}]"#).await;
    agent.reply("1").await;
}

/// The official `phoenix` npm client (tests/js) holds a whole call against
/// the server: presence, a refused join, offer/answer/ICE relay, chat, leave. CI installs
/// it (`npm ci` there) and sets `VOKI_REQUIRE_JS_CLIENT`; without it installed the test
/// says so and passes, so `cargo test` needs nothing but cargo.
#[tokio::test]
async fn the_official_phoenix_client_holds_a_whole_call() {
    let Some(fixture) = crate::helpers::js_fixture("phoenix", &[], "VOKI_REQUIRE_JS_CLIENT") else {
        return;
    };
    let c = clinic().await;
    let (call, customer_token) = assigned_call(&c).await;
    let args = vec![
        "session.mjs".to_string(),
        format!("{}/socket", c.app.base.replace("http://", "ws://")),
        c.agent.token.clone(),
        customer_token,
        call,
        c.department.clone(),
    ];
    crate::helpers::run_node(fixture, args, Vec::new()).await;
}

#[tokio::test]
async fn the_wait_estimate_counts_the_agents_present_and_not_away() {
    let c = clinic().await;
    // Logged in (a live session) but nobody has the console open: counted by session.
    let link = c.app.link(&c.owner, &c.department, json!({"reusable": true})).await;
    let token = link["token"].as_str().unwrap().to_string();
    async fn online_agents(app: &TestApp, token: &str) -> Value {
        let path = format!("/api/v1/call/{token}/validate");
        app.public_get(&path).await.expect(200).data()["online_agents"].clone()
    }
    let online = |app| online_agents(app, &token);
    assert_eq!(online(&c.app).await, 1);
    let colleague = crate::analytics::named_agent(&c.app, &c.owner, &c.department, "Bruno Lima").await;
    assert_eq!(online(&c.app).await, 2);
    // Once the presence topic is in use, only those present and not away count.
    let topic = format!("presence:{}", c.department);
    let mut alice = Client::connect(&c.app, &c.agent.token).await;
    let (alice_ref, _) = alice.joined(&topic).await;
    alice.event(&topic, "presence_state").await;
    assert_eq!(online(&c.app).await, 1);
    let mut bruno = Client::connect(&c.app, &colleague.token).await;
    bruno.joined(&topic).await;
    bruno.event(&topic, "presence_state").await;
    assert_eq!(online(&c.app).await, 2);
    alice
        .push(&alice_ref, &topic, "status", json!({"status": "away"}))
        .await;
    assert_eq!(online(&c.app).await, 1);
}

/// A write job that emits domain events and then fails leaves nothing behind: no socket
/// hears them and no webhook delivery is queued; the same writes committed reach both.
#[tokio::test]
async fn an_event_emitted_in_a_job_that_rolls_back_reaches_no_consumer() {
    let c = clinic().await;
    c.app
        .post(
            "/api/v1/webhooks",
            &c.owner,
            json!({"url": "http://127.0.0.1:9/hook", "events": ["customer.created"]}),
        )
        .await
        .expect(201);
    let mut alice = Client::connect(&c.app, &c.agent.token).await;
    let topic = format!("notification:{}", c.agent.user_id);
    alice.joined(&topic).await;
    let db = c.app.tenant_db("acme").await;
    let write = |fails: bool| {
        let (db, user_id) = (db.clone(), c.agent.user_id.clone());
        async move {
            db.write(move |tx| {
                voki::notifications::store::create(
                    tx,
                    &user_id,
                    voki::notifications::NotificationType::CallAssigned,
                    "Rolled back?",
                    "body",
                    &json!({}),
                )?;
                let fields = voki::customers::store::CustomerFields {
                    name: Some("Ana Lima".into()),
                    ..Default::default()
                };
                voki::customers::store::create(tx, &fields)?;
                if fails {
                    Err(voki::error::ApiError::conflict("rolled back on purpose"))
                } else {
                    Ok(())
                }
            })
            .await
        }
    };
    let deliveries = || async {
        db.read(|conn| Ok(conn.query_row("SELECT count(*) FROM webhook_deliveries", [], |r| r.get::<_, i64>(0))?))
            .await
            .unwrap()
    };

    assert!(write(true).await.is_err());
    alice
        .quiet(&topic, "new_notification", Duration::from_millis(500))
        .await;
    assert_eq!(deliveries().await, 0);

    write(false).await.expect("committed");
    assert_eq!(alice.event(&topic, "new_notification").await["title"], "Rolled back?");
    assert_eq!(deliveries().await, 1);
}
