//! The registry of live connections: which connection joined which topic of which
//! tenant (with what `join_ref`), the presences tracked on each topic, and delivery.
//!
//! Topics are kept per tenant, so two tenants' `queue:<id>` never meet. Delivery never
//! blocks: each connection has a bounded queue of frames, and a connection too slow to
//! empty it is closed (its client reconnects and rejoins) rather than holding up others.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::extract::ws::Utf8Bytes;
use serde_json::{Map, Value, json};
use tokio::sync::{Notify, mpsc};

use super::Live;
use super::admission::PresenceStatus;
use super::protocol::Frame;
use crate::calls::queue::OnlineAgents;

/// One connection, for the life of its WebSocket.
pub type ConnId = u64;

/// One encoded frame, shared by every connection it is sent to (cloning it copies no text).
pub type FrameText = Utf8Bytes;

/// Frames waiting for one connection before it is considered too slow.
pub const QUEUE_FRAMES: usize = 256;

/// The sending side of one connection: its frame queue and the switch that closes it.
#[derive(Clone)]
pub struct Outbox {
    frames: mpsc::Sender<FrameText>,
    kick: Arc<Notify>,
    recheck: Arc<Notify>,
}

impl Outbox {
    pub fn new(frames: mpsc::Sender<FrameText>, kick: Arc<Notify>) -> Outbox {
        Outbox {
            frames,
            kick,
            recheck: Arc::new(Notify::new()),
        }
    }

    /// Woken when the connection's user had a right or a session taken away: the
    /// connection then checks its token's session and its joined topics again.
    pub fn recheck(&self) -> Arc<Notify> {
        self.recheck.clone()
    }

    fn send(&self, text: FrameText) {
        if self.frames.try_send(text).is_err() {
            self.kick.notify_one();
        }
    }
}

struct Peer {
    tenant: String,
    user_id: Option<String>,
    /// The token the connection was opened with (its `jti`), for the per-token cap.
    token: Option<String>,
    outbox: Outbox,
}

struct Member {
    join_ref: String,
    /// Who this connection is on the topic, shown to the others (call participants).
    participant: Option<Value>,
}

struct Meta {
    phx_ref: String,
    conn: ConnId,
    fields: Map<String, Value>,
}

impl Meta {
    fn to_json(&self) -> Value {
        let mut meta = self.fields.clone();
        meta.insert("phx_ref".into(), Value::String(self.phx_ref.clone()));
        Value::Object(meta)
    }
}

#[derive(Default)]
struct Topic {
    members: HashMap<ConnId, Member>,
    /// Presence key (a user id) → one meta per connection that tracked it.
    presence: BTreeMap<String, Vec<Meta>>,
}

type TopicKey = (String, String);

#[derive(Default)]
struct State {
    peers: HashMap<ConnId, Peer>,
    topics: HashMap<TopicKey, Topic>,
}

#[derive(Default)]
pub struct Hub {
    state: Mutex<State>,
    next_id: AtomicU64,
    /// Set when the server stops: connections closing now are not customers leaving.
    stopping: AtomicBool,
    /// Sessions found alive recently: (tenant, session id) → when, and under which
    /// revocation generation. Any revocation moves the generation on, so a revoked
    /// session is never taken from here.
    sessions: Mutex<HashMap<(String, String), (Instant, u64)>>,
    revocations: AtomicU64,
}

/// How long a session found alive is trusted without reading the database again
/// (revocations in this process clear it at once).
const SESSION_CACHE: Duration = Duration::from_secs(30);
/// Beyond this many cached sessions the cache starts over.
const SESSION_CACHE_ENTRIES: usize = 10_000;

fn key(tenant: &str, topic: &str) -> TopicKey {
    (tenant.to_string(), topic.to_string())
}

fn frame_text(frame: &Frame) -> FrameText {
    FrameText::from(frame.encode())
}

/// A new presence ref: opaque and unique per tracked presence, as the client expects.
fn phx_ref() -> String {
    crate::auth::token::random_token()[..16].to_string()
}

fn metas_json(metas: &[&Meta]) -> Value {
    json!({ "metas": metas.iter().map(|m| m.to_json()).collect::<Vec<_>>() })
}

impl State {
    fn send(&self, conn: ConnId, text: FrameText) {
        if let Some(peer) = self.peers.get(&conn) {
            peer.outbox.send(text);
        }
    }

    fn broadcast(&self, tenant: &str, topic: &str, frame: &Frame, except: Option<ConnId>) {
        let Some(subscribers) = self.topics.get(&key(tenant, topic)) else {
            return;
        };
        let text = frame_text(frame);
        for conn in subscribers.members.keys().filter(|c| Some(**c) != except) {
            self.send(*conn, text.clone());
        }
    }

    fn presence_diff(&self, tenant: &str, topic: &str, joins: Value, leaves: Value) {
        let diff = Frame::broadcast(topic, "presence_diff", json!({"joins": joins, "leaves": leaves}));
        self.broadcast(tenant, topic, &diff, None);
    }

    /// Removes `conn` from `topic` with its presences (telling the others); returns the
    /// membership it had.
    fn leave(&mut self, tenant: &str, topic: &str, conn: ConnId) -> Option<Member> {
        let topic_key = key(tenant, topic);
        let subscribers = self.topics.get_mut(&topic_key)?;
        let member = subscribers.members.remove(&conn);
        let mut leaves = Map::new();
        subscribers.presence.retain(|presence_key, metas| {
            let (gone, kept): (Vec<Meta>, Vec<Meta>) = std::mem::take(metas).into_iter().partition(|m| m.conn == conn);
            if !gone.is_empty() {
                leaves.insert(presence_key.clone(), metas_json(&gone.iter().collect::<Vec<_>>()));
            }
            *metas = kept;
            !metas.is_empty()
        });
        if subscribers.members.is_empty() && subscribers.presence.is_empty() {
            self.topics.remove(&topic_key);
        }
        if !leaves.is_empty() {
            self.presence_diff(tenant, topic, json!({}), Value::Object(leaves));
        }
        member
    }
}

impl Hub {
    pub fn new() -> Hub {
        Hub::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain maps behind, still usable.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A new connection of `tenant` (of a staff user, or of a customer).
    pub fn register(&self, tenant: &str, user_id: Option<&str>, outbox: Outbox) -> ConnId {
        self.register_capped(tenant, user_id, outbox, None, usize::MAX)
            .unwrap_or_default()
    }

    /// [`Hub::register`] for a connection opened with `token` (its `jti`): `None` when
    /// `cap` connections of that token are open already.
    pub fn register_capped(
        &self,
        tenant: &str,
        user_id: Option<&str>,
        outbox: Outbox,
        token: Option<&str>,
        cap: usize,
    ) -> Option<ConnId> {
        let mut state = self.lock();
        if let Some(token) = token {
            let open = state
                .peers
                .values()
                .filter(|p| p.tenant == tenant && p.token.as_deref() == Some(token))
                .count();
            if open >= cap {
                return None;
            }
        }
        let conn = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        state.peers.insert(
            conn,
            Peer {
                tenant: tenant.to_string(),
                user_id: user_id.map(str::to_string),
                token: token.map(str::to_string),
                outbox,
            },
        );
        Some(conn)
    }

    /// Whether session `sid` of `tenant` was found alive recently and nothing was
    /// revoked since.
    pub fn session_known(&self, tenant: &str, sid: &str) -> bool {
        let generation = self.revocations.load(Ordering::Acquire);
        let sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        sessions
            .get(&(tenant.to_string(), sid.to_string()))
            .is_some_and(|(at, seen)| *seen == generation && at.elapsed() < SESSION_CACHE)
    }

    /// Remembers that session `sid` of `tenant` was alive as of revocation generation
    /// `generation` (read before the database was).
    pub fn remember_session(&self, tenant: &str, sid: &str, generation: u64) {
        let mut sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        if sessions.len() >= SESSION_CACHE_ENTRIES {
            sessions.clear();
        }
        sessions.insert((tenant.to_string(), sid.to_string()), (Instant::now(), generation));
    }

    /// The revocation generation now (see [`Hub::remember_session`]).
    pub fn revocation_generation(&self) -> u64 {
        self.revocations.load(Ordering::Acquire)
    }

    /// A user's rights or sessions changed: forget cached sessions and wake the user's
    /// connections to check theirs and their topics again.
    pub fn recheck_user(&self, tenant: &str, user_id: &str) {
        self.revocations.fetch_add(1, Ordering::AcqRel);
        self.sessions.lock().unwrap_or_else(|p| p.into_inner()).clear();
        for peer in self.lock().peers.values() {
            if peer.tenant == tenant && peer.user_id.as_deref() == Some(user_id) {
                peer.outbox.recheck.notify_one();
            }
        }
    }

    /// Forgets a closed connection and everything it had joined.
    pub fn unregister(&self, conn: ConnId) {
        let mut state = self.lock();
        let Some(peer) = state.peers.get(&conn) else { return };
        let tenant = peer.tenant.clone();
        let joined: Vec<String> = state
            .topics
            .iter()
            .filter(|((t, _), topic)| *t == tenant && topic.members.contains_key(&conn))
            .map(|((_, name), _)| name.clone())
            .collect();
        for topic in joined {
            state.leave(&tenant, &topic, conn);
        }
        state.peers.remove(&conn);
    }

    /// Subscribes `conn` to `topic` under `join_ref`; returns the `join_ref` of a join it
    /// replaces (a rejoin, or a duplicate join).
    pub fn join(&self, conn: ConnId, topic: &str, join_ref: &str, participant: Option<Value>) -> Option<String> {
        let mut state = self.lock();
        let tenant = state.peers.get(&conn)?.tenant.clone();
        let previous = state.leave(&tenant, topic, conn).map(|m| m.join_ref);
        state.topics.entry(key(&tenant, topic)).or_default().members.insert(
            conn,
            Member {
                join_ref: join_ref.to_string(),
                participant,
            },
        );
        previous
    }

    /// Unsubscribes `conn` from `topic` (its presences there leave); returns the
    /// participant it was, if it was subscribed.
    pub fn leave(&self, conn: ConnId, topic: &str) -> Option<Option<Value>> {
        let mut state = self.lock();
        let tenant = state.peers.get(&conn)?.tenant.clone();
        state.leave(&tenant, topic, conn).map(|member| member.participant)
    }

    /// Sends one frame to one connection.
    pub fn send(&self, conn: ConnId, frame: &Frame) {
        self.lock().send(conn, frame_text(frame));
    }

    /// `event` to every subscriber of `topic` in `conn`'s tenant but `conn` itself.
    pub fn broadcast_from(&self, conn: ConnId, topic: &str, event: &str, payload: Value) {
        let state = self.lock();
        let Some(peer) = state.peers.get(&conn) else { return };
        state.broadcast(
            &peer.tenant,
            topic,
            &Frame::broadcast(topic, event, payload),
            Some(conn),
        );
    }

    /// `event` to every subscriber of `topic` in `tenant`.
    pub fn broadcast(&self, tenant: &str, topic: &str, event: &str, payload: Value) {
        self.lock()
            .broadcast(tenant, topic, &Frame::broadcast(topic, event, payload), None);
    }

    /// Tracks `conn` on `topic` under `presence_key` with `fields`: the joiner gets the
    /// whole `presence_state` (with its `join_ref`), then everyone gets the join diff.
    pub fn track(&self, conn: ConnId, topic: &str, presence_key: &str, fields: Map<String, Value>) {
        let mut state = self.lock();
        let Some(tenant) = state.peers.get(&conn).map(|p| p.tenant.clone()) else {
            return;
        };
        let Some(subscribers) = state.topics.get_mut(&key(&tenant, topic)) else {
            return;
        };
        let Some(join_ref) = subscribers.members.get(&conn).map(|m| m.join_ref.clone()) else {
            return;
        };
        let meta = Meta {
            phx_ref: phx_ref(),
            conn,
            fields,
        };
        let joins = json!({ presence_key: metas_json(&[&meta]) });
        subscribers
            .presence
            .entry(presence_key.to_string())
            .or_default()
            .push(meta);
        let whole: Map<String, Value> = subscribers
            .presence
            .iter()
            .map(|(k, metas)| (k.clone(), metas_json(&metas.iter().collect::<Vec<_>>())))
            .collect();
        state.send(
            conn,
            frame_text(&Frame::push(&join_ref, topic, "presence_state", Value::Object(whole))),
        );
        state.presence_diff(&tenant, topic, joins, json!({}));
    }

    /// Changes `conn`'s presence fields on `topic`: the new meta has a new `phx_ref`, and
    /// the diff carries it as a join and the old one as a leave (as Phoenix does).
    pub fn update_presence(&self, conn: ConnId, topic: &str, change: impl Fn(&mut Map<String, Value>)) {
        let mut state = self.lock();
        let Some(tenant) = state.peers.get(&conn).map(|p| p.tenant.clone()) else {
            return;
        };
        let Some(subscribers) = state.topics.get_mut(&key(&tenant, topic)) else {
            return;
        };
        let (mut joins, mut leaves) = (Map::new(), Map::new());
        for (presence_key, metas) in subscribers.presence.iter_mut() {
            for meta in metas.iter_mut().filter(|m| m.conn == conn) {
                leaves.insert(presence_key.clone(), metas_json(&[meta]));
                change(&mut meta.fields);
                meta.phx_ref = phx_ref();
                joins.insert(presence_key.clone(), metas_json(&[meta]));
            }
        }
        if !joins.is_empty() {
            state.presence_diff(&tenant, topic, Value::Object(joins), Value::Object(leaves));
        }
    }

    /// The participants of `topic` in `tenant` (what their connections joined with).
    pub fn participants(&self, tenant: &str, topic: &str) -> Vec<Value> {
        self.lock()
            .topics
            .get(&key(tenant, topic))
            .map(|t| t.members.values().filter_map(|m| m.participant.clone()).collect())
            .unwrap_or_default()
    }

    /// Users of `tenant` present in any `presence:*` topic and not `away`.
    pub fn online_users(&self, tenant: &str) -> usize {
        let state = self.lock();
        let mut users = HashSet::new();
        for ((t, name), topic) in &state.topics {
            if t != tenant || !name.starts_with("presence:") {
                continue;
            }
            for (user, metas) in &topic.presence {
                if metas
                    .iter()
                    .any(|m| m.fields.get("status") != Some(&json!(PresenceStatus::Away)))
                {
                    users.insert(user.clone());
                }
            }
        }
        users.len()
    }

    /// How many users are present and not `away` on `topic`; `None` when nobody is
    /// tracked there (no one has the console open).
    pub fn available(&self, tenant: &str, topic: &str) -> Option<usize> {
        let state = self.lock();
        let subscribers = state
            .topics
            .get(&key(tenant, topic))
            .filter(|t| !t.presence.is_empty())?;
        Some(
            subscribers
                .presence
                .values()
                .filter(|metas| {
                    metas
                        .iter()
                        .any(|m| m.fields.get("status") != Some(&json!(PresenceStatus::Away)))
                })
                .count(),
        )
    }

    /// [`Hub::available`] on the presence topic of a department of `tenant`, for code
    /// that runs on a database thread.
    pub fn online_in(self: &Arc<Self>, tenant: &str) -> OnlineAgents {
        let (hub, tenant) = (self.clone(), tenant.to_string());
        Box::new(move |department_id| hub.available(&tenant, &super::topics::presence(department_id)))
    }

    /// The tenants in which someone has joined `topic`.
    pub fn tenants_joined(&self, topic: &str) -> Vec<String> {
        let state = self.lock();
        let mut tenants: Vec<String> = state
            .topics
            .iter()
            .filter(|((_, name), t)| name == topic && !t.members.is_empty())
            .map(|((tenant, _), _)| tenant.clone())
            .collect();
        tenants.sort();
        tenants.dedup();
        tenants
    }

    /// Closes every connection of `user_id` in `tenant`.
    pub fn disconnect_user(&self, tenant: &str, user_id: &str) {
        for peer in self.lock().peers.values() {
            if peer.tenant == tenant && peer.user_id.as_deref() == Some(user_id) {
                peer.outbox.kick.notify_one();
            }
        }
    }

    /// Closes every connection of `tenant` (it was suspended or deleted).
    pub fn disconnect_tenant(&self, tenant: &str) {
        for peer in self.lock().peers.values() {
            if peer.tenant == tenant {
                peer.outbox.kick.notify_one();
            }
        }
    }

    /// Closes every connection (the server is stopping).
    pub fn close_all(&self) {
        self.stopping.store(true, Ordering::Release);
        for peer in self.lock().peers.values() {
            peer.outbox.kick.notify_one();
        }
    }

    pub fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::Acquire)
    }

    pub fn connection_count(&self) -> usize {
        self.lock().peers.len()
    }

    /// Sends what committed write jobs of `tenant` recorded.
    pub fn deliver(&self, tenant: &str, messages: Vec<Live>) {
        for message in messages {
            match message {
                Live::Broadcast { topic, event, payload } => self.broadcast(tenant, &topic, event, payload),
                Live::Disconnect { user_id } => self.disconnect_user(tenant, &user_id),
                Live::Recheck { user_id } => self.recheck_user(tenant, &user_id),
            }
        }
    }
}

/// The hub hears the tenant databases: committed events become socket messages
/// ([`super::frames`]), and a suspended or deleted tenant's sockets close.
impl crate::db::TenantListener for Arc<Hub> {
    /// Messages are handed to a task of the runtime, which delivers them in commit order.
    /// Delivered on the tenant's writer thread, a frame for 5 000 sockets held that
    /// thread (and every write of the tenant) for the 5 000 wake-ups, each from outside
    /// the runtime; from a runtime task they are cheap local wake-ups. A database is
    /// opened (and this called) only by the async `Tenants::get`, inside the runtime.
    fn sink(&self, slug: &str) -> crate::db::EventSink {
        let (hub, tenant) = (Arc::downgrade(self), slug.to_string());
        let (committed, mut deliveries) = tokio::sync::mpsc::unbounded_channel::<Vec<Live>>();
        tokio::spawn(async move {
            while let Some(messages) = deliveries.recv().await {
                let Some(hub) = hub.upgrade() else { return };
                hub.deliver(&tenant, messages);
            }
        });
        super::socket_sink(move |messages| {
            let _ = committed.send(messages);
        })
    }

    fn closed(&self, slug: &str) {
        self.disconnect_tenant(slug);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connection(hub: &Hub, tenant: &str) -> (ConnId, mpsc::Receiver<FrameText>) {
        let (frames, received) = mpsc::channel(QUEUE_FRAMES);
        let conn = hub.register(tenant, Some("u1"), Outbox::new(frames, Arc::new(Notify::new())));
        (conn, received)
    }

    fn drain(received: &mut mpsc::Receiver<FrameText>) -> Vec<String> {
        std::iter::from_fn(|| received.try_recv().ok().map(|t| t.to_string())).collect()
    }

    #[test]
    fn broadcasts_stay_within_their_tenant() {
        let hub = Hub::new();
        let (ours, mut our_frames) = connection(&hub, "acme");
        let (theirs, mut their_frames) = connection(&hub, "other");
        hub.join(ours, "queue:1", "3", None);
        hub.join(theirs, "queue:1", "3", None);
        hub.broadcast("acme", "queue:1", "customer_joined", json!({"call_id": "c"}));
        assert_eq!(
            drain(&mut our_frames),
            [r#"[null,null,"queue:1","customer_joined",{"call_id":"c"}]"#]
        );
        assert!(drain(&mut their_frames).is_empty());
    }

    #[test]
    fn presence_state_goes_to_the_joiner_and_diffs_to_everyone() {
        let hub = Hub::new();
        let (first, mut first_frames) = connection(&hub, "acme");
        let (second, mut second_frames) = connection(&hub, "acme");
        hub.join(first, "presence:d", "3", None);
        hub.track(
            first,
            "presence:d",
            "u1",
            Map::from_iter([("status".into(), json!("available"))]),
        );
        hub.join(second, "presence:d", "5", None);
        drain(&mut first_frames);
        hub.track(second, "presence:d", "u2", Map::new());
        let to_second = drain(&mut second_frames);
        assert!(
            to_second[0].starts_with(r#"["5",null,"presence:d","presence_state",{"u1":"#),
            "{to_second:?}"
        );
        assert!(to_second[0].contains(r#""u2":"#));
        assert!(to_second[1].contains(r#""leaves":{}"#));
        assert!(drain(&mut first_frames)[0].contains(r#""joins":{"u2""#));
        assert_eq!(hub.online_users("acme"), 2);
        hub.unregister(second);
        let left = drain(&mut first_frames);
        assert!(left[0].contains(r#""joins":{},"leaves":{"u2""#), "{left:?}");
        assert_eq!(hub.online_users("acme"), 1);
    }

    #[test]
    fn a_second_join_replaces_the_first() {
        let hub = Hub::new();
        let (conn, _frames) = connection(&hub, "acme");
        assert_eq!(hub.join(conn, "call:1", "3", None), None);
        assert_eq!(hub.join(conn, "call:1", "7", None), Some("3".into()));
        assert_eq!(hub.leave(conn, "call:1"), Some(None));
        assert_eq!(hub.leave(conn, "call:1"), None);
    }
}
