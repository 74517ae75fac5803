//! `GET /socket/websocket?token=…&vsn=2.0.0`: one Phoenix Channels connection, from the
//! token check before the upgrade to the clean-up after the close.
//!
//! The token is a staff access token or a customer's `websocket_token` (also accepted as
//! the `base64url.bearer.phx.<token>` subprotocol of the client's `authToken` option). A
//! bad token, or a `vsn` other than 2.x, is refused with 403 before the upgrade.
//!
//! Each connection has one reader (this task) and one writer task fed by a queue, so
//! frames leave in the order they were produced: a join's reply before its
//! `presence_state`. A connection that sends nothing for 60 s (the client heartbeats
//! every 30 s) is closed, and so are its joins: presences leave, the call's other
//! participants hear `participant_left`, and a customer whose call is still waiting has
//! [`Config::socket_reconnect_grace_secs`](crate::config::Config) to come back before
//! the call is marked missed.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade, rejection::WebSocketUpgradeRejection};
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::{Notify, mpsc};

use super::admission::{self, Action, Admission, Identity, Participant, Refusal};
use super::hub::{ConnId, FrameText, Outbox, QUEUE_FRAMES};
use super::protocol::Frame;
use super::topics::{self, TopicKind};
use crate::auth::token::TokenKind;
use crate::calls::chat;
use crate::calls::rules::CallAction;
use crate::db::Tenant;
use crate::error::ApiError;
use crate::state::AppState;

/// The largest frame a client may send (an SDP offer is a few KiB).
const MAX_FRAME_BYTES: usize = 256 * 1024;
/// How often an open connection checks again that its token's session, its user and
/// its calls still allow what it joined (a change through the API checks at once).
const RECHECK_EVERY: Duration = Duration::from_secs(30);
/// Connections one token may hold open at once: a customer's page (a reload opens a new
/// one before the old one is noticed gone), a staff user's console tabs.
const CUSTOMER_SOCKETS_PER_TOKEN: usize = 4;
const STAFF_SOCKETS_PER_TOKEN: usize = 16;
/// Read and write buffers per connection. The library's default (128 KiB each) would cost
/// a clinic with hundreds of open consoles far more memory than its frames need; larger
/// frames still arrive whole.
const BUFFER_BYTES: usize = 8 * 1024;

/// The WebSocket endpoint, for the OpenAPI document.
#[utoipa::path(get, path = "/socket/websocket", tag = "realtime",
    params(("token" = String, Query, description = "A staff access token or a customer's `websocket_token`"),
        ("vsn" = String, Query, description = "`2.0.0`: the Phoenix Channels V2 JSON protocol")),
    responses((status = 101, description = "Switching to the Phoenix Channels protocol"),
        (status = 400, description = "Not a WebSocket upgrade request"),
        (status = 403, description = "Bad token or protocol version")))]
pub async fn upgrade(
    State(state): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    if !params.get("vsn").is_some_and(|vsn| vsn.starts_with("2.")) {
        return ApiError::Forbidden("Unsupported protocol version".into()).into_response();
    }
    let token = params.get("token").cloned().or_else(|| subprotocol_token(&headers));
    let (tenant, identity, grant) = match identify(&state, token.as_deref()).await {
        Ok(Some(known)) => known,
        // A suspended tenant says so (SPEC §7.6); any other refusal is a plain 403.
        Err(ApiError::Forbidden(why)) => return ApiError::Forbidden(why).into_response(),
        _ => return ApiError::Forbidden("Forbidden".into()).into_response(),
    };
    let upgrade = match upgrade {
        Ok(upgrade) => upgrade,
        Err(_) => return ApiError::BadRequest("Expected a WebSocket upgrade".into()).into_response(),
    };
    let (frames, queued) = mpsc::channel::<FrameText>(QUEUE_FRAMES);
    let kick = Arc::new(Notify::new());
    let outbox = Outbox::new(frames, kick.clone());
    let recheck = outbox.recheck();
    let cap = match identity {
        Identity::Staff { .. } => STAFF_SOCKETS_PER_TOKEN,
        Identity::Customer { .. } => CUSTOMER_SOCKETS_PER_TOKEN,
    };
    let Some(conn) = state
        .hub
        .register_capped(&tenant.slug, identity.user_id(), outbox, Some(&grant.jti), cap)
    else {
        return ApiError::TooManyRequests { retry_after_secs: 5 }.into_response();
    };
    let hub = state.hub.clone();
    let wires = Wires {
        conn,
        queued,
        kick,
        recheck,
    };
    upgrade
        .protocols(["phoenix"])
        .max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        .read_buffer_size(BUFFER_BYTES)
        .write_buffer_size(BUFFER_BYTES)
        .on_failed_upgrade(move |_| hub.unregister(conn))
        .on_upgrade(move |socket| serve(state, tenant, identity, grant, wires, socket))
}

/// What the token of a connection allows beyond who it is: until when, from which
/// session (staff), and its id (for the per-token cap).
#[derive(Debug, Clone)]
struct Grant {
    expires_at: i64,
    sid: Option<String>,
    jti: String,
}

/// A registered connection's ends in the hub.
struct Wires {
    conn: ConnId,
    queued: mpsc::Receiver<FrameText>,
    kick: Arc<Notify>,
    recheck: Arc<Notify>,
}

/// The token of the `authToken` option: the subprotocol `base64url.bearer.phx.<base64>`
/// (standard alphabet without padding, whatever the name says; both are accepted).
fn subprotocol_token(headers: &HeaderMap) -> Option<String> {
    let offered = headers.get("sec-websocket-protocol")?.to_str().ok()?;
    let encoded = offered
        .split(',')
        .map(str::trim)
        .find_map(|protocol| protocol.strip_prefix("base64url.bearer.phx."))?;
    let bytes = base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(encoded.trim_end_matches('='))
        .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(encoded.trim_end_matches('=')))
        .ok()?;
    String::from_utf8(bytes).ok()
}

/// The tenant and identity of a token: an active staff user's access token (not one
/// limited to MFA enrolment) from a session still alive, or a customer's token for a
/// call that has not ended (the token dies with the call).
async fn identify(state: &AppState, token: Option<&str>) -> Result<Option<(Tenant, Identity, Grant)>, ApiError> {
    let Some(token) = token else {
        return Ok(None);
    };
    let (claims, staff) = match state.keys.verify(token, TokenKind::Access) {
        Ok(claims) if !claims.mfa_setup_required => (claims, true),
        Ok(_) => return Ok(None),
        Err(_) => match state.keys.verify(token, TokenKind::Websocket) {
            Ok(claims) => (claims, false),
            Err(_) => return Ok(None),
        },
    };
    let Some(db) = state.tenants.get(&claims.tenant).await? else {
        return Ok(None);
    };
    let (id, sid) = (claims.sub.clone(), claims.sid.clone());
    let known = db
        .read(move |conn| {
            Ok(if staff {
                crate::users::store::get(conn, &id)?.is_some_and(|user| user.active)
                    && sid.map_or(Ok(true), |sid| crate::auth::sessions::is_live(conn, &sid))?
            } else {
                crate::calls::store::get(conn, &id)?.is_some_and(|call| !call.status.has_ended())
            })
        })
        .await?;
    if !known {
        return Ok(None);
    }
    let identity = if staff {
        Identity::Staff { user_id: claims.sub }
    } else {
        Identity::Customer { call_id: claims.sub }
    };
    let grant = Grant {
        expires_at: claims.exp,
        sid: claims.sid,
        jti: claims.jti,
    };
    Ok(Some((
        Tenant {
            slug: claims.tenant,
            db,
        },
        identity,
        grant,
    )))
}

/// [`identify`] for the other endpoints that take a customer's `websocket_token` or a
/// staff access token (the TURN credentials).
pub async fn identify_token(state: &AppState, token: Option<&str>) -> Option<(Tenant, Identity)> {
    identify(state, token)
        .await
        .ok()
        .flatten()
        .map(|(tenant, identity, _)| (tenant, identity))
}

/// A joined topic of this connection.
#[derive(Debug, Clone)]
struct Joined {
    join_ref: String,
    kind: TopicKind,
    participant: Option<Participant>,
}

/// Why a join ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Departure {
    Left,
    Replaced,
    Closed,
}

struct Session {
    state: AppState,
    tenant: Tenant,
    identity: Identity,
    grant: Grant,
    conn: ConnId,
    joined: HashMap<String, Joined>,
}

/// Why a connection is closed by the server after a check.
struct Revoked;

async fn serve(state: AppState, tenant: Tenant, identity: Identity, grant: Grant, wires: Wires, socket: WebSocket) {
    let (mut sink, mut stream) = socket.split();
    let Wires {
        conn,
        mut queued,
        kick,
        recheck,
    } = wires;
    // The hub holds the only sender: once it forgets the connection, the writer sends
    // what is left, then the close frame.
    let writer = tokio::spawn(async move {
        while let Some(text) = queued.recv().await {
            if sink.send(Message::Text(text)).await.is_err() {
                return;
            }
        }
        let _ = sink.send(Message::Close(None)).await;
    });
    // A connection that has sent nothing, not even a heartbeat, for this long is closed
    // (a phone that lost its network). Only frames from the client move the deadline.
    let idle = Duration::from_secs(state.config.socket_idle_secs);
    let silence = tokio::time::sleep(idle);
    tokio::pin!(silence);
    let mut session = Session {
        state,
        tenant,
        identity,
        grant,
        conn,
        joined: HashMap::new(),
    };
    let mut periodic = tokio::time::interval_at(tokio::time::Instant::now() + RECHECK_EVERY, RECHECK_EVERY);
    loop {
        tokio::select! {
            incoming = stream.next() => {
                silence.as_mut().reset(tokio::time::Instant::now() + idle);
                match incoming {
                    Some(Ok(Message::Text(text))) => {
                        if session.receive(text.as_str()).await.is_err() {
                            break;
                        }
                    }
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                    // Binary frames are not used by this server's topics.
                    _ => break,
                }
            },
            _ = &mut silence => break,
            _ = kick.notified() => break,
            _ = recheck.notified() => if session.recheck().await.is_err() { break },
            _ = periodic.tick() => if session.recheck().await.is_err() { break },
        }
    }
    session.close();
    session.state.hub.unregister(conn);
    // A client that stopped reading must not keep the connection (and its task) forever.
    let abort = writer.abort_handle();
    if tokio::time::timeout(Duration::from_secs(5), writer).await.is_err() {
        abort.abort();
    }
}

/// A frame that is not a V2 frame: the connection is closed.
struct Malformed;

impl Session {
    fn send(&self, frame: &Frame) {
        self.state.hub.send(self.conn, frame);
    }

    async fn receive(&mut self, text: &str) -> Result<(), Malformed> {
        let frame = Frame::parse(text).map_err(|_| Malformed)?;
        if frame.topic == "phoenix" {
            let reply = if frame.event == "heartbeat" {
                frame.ok(json!({}))
            } else {
                frame.unmatched()
            };
            self.send(&reply);
            return Ok(());
        }
        match frame.event.as_str() {
            // An expired token joins nothing more: the connection closes, and the client
            // reconnects with its current token.
            "phx_join" if self.grant.expires_at < chrono::Utc::now().timestamp() => return Err(Malformed),
            "phx_join" => self.join(frame).await,
            "phx_leave" => {
                self.send(&frame.ok(json!({})));
                if let Some(joined) = self.joined.remove(&frame.topic) {
                    self.depart(&frame.topic, &joined, Departure::Left);
                    self.send(&Frame::close(&joined.join_ref, &frame.topic));
                }
            }
            _ => match self.joined.get(&frame.topic).cloned() {
                None => self.send(&frame.unmatched()),
                // A message of an earlier join of this topic: ignored, as Phoenix does.
                Some(joined) if frame.join_ref.as_ref().is_some_and(|r| *r != joined.join_ref) => {}
                Some(joined) => {
                    // Rights are checked again on every push: one taken away since the
                    // join ends the join instead.
                    if self.still_allowed(&joined.kind).await.is_err() {
                        self.send(&frame.error("unauthorized"));
                        self.evict(&frame.topic);
                    } else {
                        self.push(&joined, frame).await;
                    }
                }
            },
        }
        Ok(())
    }

    /// Whether this connection may still be on a topic of `kind`.
    async fn still_allowed(&self, kind: &TopicKind) -> Result<(), Revoked> {
        let (identity, kind) = (self.identity.clone(), kind.clone());
        let allowed = self
            .tenant
            .db
            .read(move |conn| {
                Ok(match admission::allowed(conn, &identity, &kind) {
                    Ok(()) => true,
                    Err(Refusal::Unauthorized) => false,
                    Err(Refusal::Failed(err)) => return Err(err),
                })
            })
            .await;
        match allowed {
            Ok(true) => Ok(()),
            Ok(false) => Err(Revoked),
            // A failure of ours is not a right taken away: keep the join.
            Err(err) => {
                tracing::error!(error = %err, "socket re-check failed");
                Ok(())
            }
        }
    }

    /// Ends a join the server no longer allows: the client hears `phx_close`.
    fn evict(&mut self, topic: &str) {
        if let Some(joined) = self.joined.remove(topic) {
            self.depart(topic, &joined, Departure::Left);
            self.send(&Frame::close(&joined.join_ref, topic));
        }
    }

    /// Checks again what the connection was allowed at connect and join: the staff
    /// token's session and user, the customer's call, then every joined topic.
    /// `Err` closes the connection.
    async fn recheck(&mut self) -> Result<(), Revoked> {
        let (identity, sid) = (self.identity.clone(), self.grant.sid.clone());
        let alive = self
            .tenant
            .db
            .read(move |conn| {
                Ok(match &identity {
                    Identity::Staff { user_id } => {
                        crate::users::store::get(conn, user_id)?.is_some_and(|user| user.active)
                            && sid.map_or(Ok(true), |sid| crate::auth::sessions::is_live(conn, &sid))?
                    }
                    Identity::Customer { call_id } => {
                        crate::calls::store::get(conn, call_id)?.is_some_and(|call| !call.status.has_ended())
                    }
                })
            })
            .await
            .unwrap_or(true);
        if !alive {
            return Err(Revoked);
        }
        let joined: Vec<(String, TopicKind)> = self
            .joined
            .iter()
            .map(|(topic, joined)| (topic.clone(), joined.kind.clone()))
            .collect();
        for (topic, kind) in joined {
            if self.still_allowed(&kind).await.is_err() {
                self.evict(&topic);
            }
        }
        Ok(())
    }

    async fn join(&mut self, frame: Frame) {
        let Some(kind) = TopicKind::parse(&frame.topic) else {
            self.send(&frame.unmatched());
            return;
        };
        let Some(join_ref) = frame.join_ref.clone().or_else(|| frame.reference.clone()) else {
            self.send(&frame.error("join_ref required"));
            return;
        };
        let (identity, decided) = (self.identity.clone(), kind.clone());
        let admitted = self
            .tenant
            .db
            .read(move |conn| {
                Ok(match admission::admit(conn, &identity, &decided) {
                    Ok(admission) => Ok(admission),
                    Err(Refusal::Unauthorized) => Err("unauthorized"),
                    Err(Refusal::Failed(err)) => {
                        tracing::error!(error = %err, "socket join failed");
                        Err("internal error")
                    }
                })
            })
            .await
            .unwrap_or_else(|err| {
                tracing::error!(error = %err, "socket join failed");
                Err("internal error")
            });
        let Admission {
            response,
            participant,
            presence,
        } = match admitted {
            Ok(admission) => admission,
            Err(reason) => {
                self.send(&frame.error(reason));
                return;
            }
        };
        let topic = frame.topic.clone();
        if let Some(previous) = self.joined.remove(&topic) {
            self.depart(&topic, &previous, Departure::Replaced);
            self.send(&Frame::close(&previous.join_ref, &topic));
        }
        let hub = &self.state.hub;
        hub.join(
            self.conn,
            &topic,
            &join_ref,
            participant.as_ref().map(Participant::to_json),
        );
        let response = match (&kind, &participant) {
            // Who else is on the call, for the joiner (the hub knows it only now).
            (TopicKind::Call(_), Some(_)) => {
                let mut response = response;
                let others: Vec<Value> = hub.participants(&self.tenant.slug, &topic);
                let me = participant.as_ref().map(Participant::to_json);
                response["participants"] =
                    Value::Array(others.into_iter().filter(|p| Some(p) != me.as_ref()).collect());
                response
            }
            _ => response,
        };
        self.send(&frame.ok(response));
        if let Some((key, fields)) = presence {
            hub.track(self.conn, &topic, &key, fields);
        }
        if let Some(participant) = &participant {
            hub.broadcast_from(self.conn, &topic, "participant_joined", participant.to_json());
        }
        if kind == TopicKind::Dashboard {
            self.push_kpis(&join_ref).await;
        }
        self.joined.insert(
            topic,
            Joined {
                join_ref,
                kind,
                participant,
            },
        );
    }

    /// The dashboard's first figures, right after the join.
    async fn push_kpis(&self, join_ref: &str) {
        let online = self.state.hub.online_users(&self.tenant.slug);
        match self
            .tenant
            .db
            .read(move |conn| crate::analytics::live_kpis(conn, online))
            .await
        {
            Ok(kpis) => self.send(&Frame::push(join_ref, topics::DASHBOARD, "kpis", kpis)),
            Err(err) => tracing::error!(error = %err, "dashboard figures failed"),
        }
    }

    async fn push(&self, joined: &Joined, frame: Frame) {
        match admission::action(&joined.kind, joined.participant.as_ref(), &frame.event, &frame.payload) {
            Action::Relay { event, payload } => {
                self.state.hub.broadcast_from(self.conn, &frame.topic, event, payload);
                self.send(&frame.ok(json!({})));
            }
            Action::Status { status } => {
                self.state.hub.update_presence(self.conn, &frame.topic, |meta| {
                    meta.insert("status".into(), json!(status));
                });
                self.send(&frame.ok(json!({})));
            }
            Action::Chat { body } => self.chat(joined, &frame, &body).await,
            Action::Refuse(reason) => self.send(&frame.error(reason)),
        }
    }

    async fn chat(&self, joined: &Joined, frame: &Frame, body: &str) {
        let (Some(participant), TopicKind::Call(call_id)) = (&joined.participant, &joined.kind) else {
            self.send(&frame.error("unauthorized"));
            return;
        };
        let sender_key = participant
            .user_id
            .clone()
            .unwrap_or_else(|| participant.role.as_str().to_string());
        if self.state.limits.chat(&self.tenant.slug, call_id, &sender_key).is_err() {
            self.send(&frame.error("rate limited"));
            return;
        }
        let body = match chat::body(Some(body)) {
            Ok(body) => body,
            Err(_) => {
                self.send(&frame.error("invalid message"));
                return;
            }
        };
        let (call_id, sender) = (call_id.clone(), participant.sender());
        match self
            .tenant
            .db
            .write(move |conn| {
                // A call that has ended takes no more messages.
                if crate::calls::store::get(conn, &call_id)?.is_none_or(|call| call.status.has_ended()) {
                    return Ok(None);
                }
                chat::insert(conn, &call_id, &sender, &body).map(Some)
            })
            .await
        {
            Ok(None) => self.send(&frame.error("call ended")),
            Ok(Some(message)) => self.send(&frame.ok(json!({ "message": message }))),
            Err(err) => {
                tracing::error!(error = %err, "chat message not stored");
                self.send(&frame.error("internal error"));
            }
        }
    }

    /// Ends the side effects of one join: presences and membership go, the call's other
    /// participants hear `participant_left`, and a customer who closed the page while
    /// waiting gets the grace period.
    fn depart(&self, topic: &str, joined: &Joined, why: Departure) {
        let hub = &self.state.hub;
        hub.leave(self.conn, topic);
        let (TopicKind::Call(call_id), Some(participant)) = (&joined.kind, &joined.participant) else {
            return;
        };
        hub.broadcast(&self.tenant.slug, topic, "participant_left", participant.to_json());
        // A server that stops is not a customer walking away: they reconnect to the next one.
        if why == Departure::Closed && participant.role == crate::calls::chat::CallRole::Customer && !hub.is_stopping()
        {
            spawn_grace(self.state.clone(), self.tenant.clone(), call_id.clone());
        }
    }

    fn close(&mut self) {
        for (topic, joined) in std::mem::take(&mut self.joined) {
            self.depart(&topic, &joined, Departure::Closed);
        }
    }
}

/// After the grace period, a waiting call whose customer has not come back to its topic
/// becomes `missed`, as if they had left the queue.
fn spawn_grace(state: AppState, tenant: Tenant, call_id: String) {
    let grace = Duration::from_secs(state.config.socket_reconnect_grace_secs);
    tokio::spawn(async move {
        tokio::time::sleep(grace).await;
        let back = state
            .hub
            .participants(&tenant.slug, &topics::call(&call_id))
            .iter()
            .any(|p| p["role"] == "customer");
        if back {
            return;
        }
        let missed = tenant
            .db
            .write(move |conn| {
                if crate::calls::store::still_waiting(conn, &call_id)? {
                    crate::calls::store::transition(conn, &call_id, CallAction::Leave)?;
                }
                Ok(())
            })
            .await;
        if let Err(err) = missed {
            tracing::error!(error = %err, "marking an abandoned call missed failed");
        }
    });
}
