//! Who may join which topic of the socket (SPEC §5), what a join answers, and what the
//! client may push on it. The topics' names are [`super::topics`].
//!
//! | Topic | Who may join |
//! |---|---|
//! | `queue:<department_id>`, `presence:<department_id>` | members of the department, supervisors and up |
//! | `notification:<user_id>` | that user only |
//! | `call:<call_id>` | the call's agent, supervisors and up (observers), the customer's `websocket_token` |
//! | `dashboard` | supervisors and up |
//!
//! Every join re-reads the user, so a demotion or a deactivation counts at once; an open
//! connection checks its joins again on each push, periodically, and at once when the
//! user loses a department, a role or a session ([`allowed`]).

use rusqlite::Connection;
use serde::Serialize;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::topics::TopicKind;
use crate::auth::Role;
use crate::calls::chat::{self, CallRole, Sender};
use crate::calls::queue;
use crate::error::ApiError;
use crate::users::User;

/// The presence statuses an agent can choose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PresenceStatus {
    Available,
    Busy,
    Away,
}

impl PresenceStatus {
    pub fn parse(text: &str) -> Option<PresenceStatus> {
        match text {
            "available" => Some(PresenceStatus::Available),
            "busy" => Some(PresenceStatus::Busy),
            "away" => Some(PresenceStatus::Away),
            _ => None,
        }
    }
}

/// Who is on the other end of a socket, as its token says.
#[derive(Debug, Clone)]
pub enum Identity {
    Staff {
        user_id: String,
    },
    /// A customer's `websocket_token`: good for `call:<call_id>` only.
    Customer {
        call_id: String,
    },
}

impl Identity {
    pub fn user_id(&self) -> Option<&str> {
        match self {
            Identity::Staff { user_id } => Some(user_id),
            Identity::Customer { .. } => None,
        }
    }
}

/// Someone on a call topic, with a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Participant {
    pub role: CallRole,
    pub name: String,
    pub user_id: Option<String>,
}

impl Participant {
    pub fn to_json(&self) -> Value {
        json!({"role": self.role, "name": self.name})
    }

    pub fn sender(&self) -> Sender {
        Sender {
            role: self.role,
            user_id: self.user_id.clone(),
            name: self.name.clone(),
        }
    }
}

/// What an accepted join brings: the reply's response, the participant (call topics)
/// and the presence to track (presence topics: key and fields).
#[derive(Debug, Clone, Default)]
pub struct Admission {
    pub response: Value,
    pub participant: Option<Participant>,
    pub presence: Option<(String, Map<String, Value>)>,
}

/// Why a join was refused: `unauthorized` (also for ids that do not exist, so nothing can
/// be probed), or a failure of ours.
#[derive(Debug)]
pub enum Refusal {
    Unauthorized,
    Failed(ApiError),
}

impl From<ApiError> for Refusal {
    fn from(err: ApiError) -> Refusal {
        Refusal::Failed(err)
    }
}

impl From<rusqlite::Error> for Refusal {
    fn from(err: rusqlite::Error) -> Refusal {
        Refusal::Failed(err.into())
    }
}

fn is_uuid(id: &str) -> bool {
    Uuid::parse_str(id).is_ok()
}

/// The active staff user of `identity`.
fn staff(conn: &Connection, identity: &Identity) -> Result<User, Refusal> {
    let Identity::Staff { user_id } = identity else {
        return Err(Refusal::Unauthorized);
    };
    crate::users::store::get(conn, user_id)?
        .filter(|user| user.active)
        .ok_or(Refusal::Unauthorized)
}

/// The call of a `call:` topic; an id that is not one is refused like a call of no one's.
fn call_of(conn: &Connection, call_id: &str) -> Result<crate::calls::Call, Refusal> {
    is_uuid(call_id)
        .then(|| crate::calls::store::get(conn, call_id))
        .transpose()?
        .flatten()
        .ok_or(Refusal::Unauthorized)
}

fn department_staff(conn: &Connection, identity: &Identity, department_id: &str) -> Result<User, Refusal> {
    let user = staff(conn, identity)?;
    if !is_uuid(department_id) || crate::departments::store::get(conn, department_id)?.is_none() {
        return Err(Refusal::Unauthorized);
    }
    if user.role.at_least(Role::Supervisor) || crate::departments::store::is_member(conn, department_id, &user.id)? {
        Ok(user)
    } else {
        Err(Refusal::Unauthorized)
    }
}

/// Whether `identity` may (still) be on a topic of `kind`: the checks of [`admit`]
/// without what the reply carries, for the re-checks of an open connection.
pub fn allowed(conn: &Connection, identity: &Identity, kind: &TopicKind) -> Result<(), Refusal> {
    match kind {
        TopicKind::Queue(department_id) | TopicKind::Presence(department_id) => {
            department_staff(conn, identity, department_id).map(|_| ())
        }
        TopicKind::Notification(user_id) => match staff(conn, identity)? {
            user if &user.id == user_id => Ok(()),
            _ => Err(Refusal::Unauthorized),
        },
        TopicKind::Call(call_id) => {
            let call = call_of(conn, call_id)?;
            match identity {
                Identity::Customer { call_id: own } if own == call_id && !call.status.has_ended() => Ok(()),
                Identity::Customer { .. } => Err(Refusal::Unauthorized),
                Identity::Staff { .. } => {
                    let user = staff(conn, identity)?;
                    chat::staff_role(&call, &user).map(|_| ()).ok_or(Refusal::Unauthorized)
                }
            }
        }
        TopicKind::Dashboard => match staff(conn, identity)? {
            user if user.role.at_least(Role::Supervisor) => Ok(()),
            _ => Err(Refusal::Unauthorized),
        },
    }
}

/// Decides a join of `kind` by `identity`: what the reply carries, or why not.
pub fn admit(conn: &Connection, identity: &Identity, kind: &TopicKind) -> Result<Admission, Refusal> {
    match kind {
        TopicKind::Queue(department_id) => {
            department_staff(conn, identity, department_id)?;
            Ok(Admission {
                response: json!({ "queue": queue::waiting(conn, department_id)? }),
                ..Admission::default()
            })
        }
        TopicKind::Presence(department_id) => {
            let user = department_staff(conn, identity, department_id)?;
            let fields = Map::from_iter([
                ("name".to_string(), json!(user.name)),
                ("status".to_string(), json!(PresenceStatus::Available)),
                ("provider_id".to_string(), json!(user.provider_id)),
                ("online_at".to_string(), json!(crate::time::now_text())),
            ]);
            Ok(Admission {
                response: json!({}),
                presence: Some((user.id, fields)),
                ..Admission::default()
            })
        }
        TopicKind::Notification(user_id) => {
            let user = staff(conn, identity)?;
            if &user.id != user_id {
                return Err(Refusal::Unauthorized);
            }
            Ok(Admission {
                response: json!({}),
                ..Admission::default()
            })
        }
        TopicKind::Call(call_id) => {
            let call = call_of(conn, call_id)?;
            let participant = match identity {
                Identity::Customer { call_id: own } if own == call_id && !call.status.has_ended() => Participant {
                    role: CallRole::Customer,
                    name: call.customer_name.clone(),
                    user_id: None,
                },
                Identity::Customer { .. } => return Err(Refusal::Unauthorized),
                Identity::Staff { .. } => {
                    let user = staff(conn, identity)?;
                    let role = chat::staff_role(&call, &user).ok_or(Refusal::Unauthorized)?;
                    Participant {
                        role,
                        name: user.name,
                        user_id: Some(user.id),
                    }
                }
            };
            let messages = chat::list(
                conn,
                call_id,
                &crate::db::query::Order::checked(&chat::SORT, None, None, 1, None)?,
            )?;
            Ok(Admission {
                response: json!({
                    "call_id": call.id,
                    "status": call.status,
                    "role": participant.role,
                    "messages": messages.data,
                }),
                participant: Some(participant),
                presence: None,
            })
        }
        TopicKind::Dashboard => {
            let user = staff(conn, identity)?;
            if !user.role.at_least(Role::Supervisor) {
                return Err(Refusal::Unauthorized);
            }
            Ok(Admission {
                response: json!({}),
                ..Admission::default()
            })
        }
    }
}

/// What the server does with a client push on a joined topic.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Send `event` with `payload` to the topic's other subscribers, reply ok.
    Relay { event: &'static str, payload: Value },
    /// Store a chat message (which is then broadcast to everyone), reply ok with it.
    Chat { body: String },
    /// Change the presence status, reply ok.
    Status { status: PresenceStatus },
    /// Reply with an error and do nothing.
    Refuse(&'static str),
}

fn text(payload: &Value, field: &str) -> Option<String> {
    payload.get(field).and_then(Value::as_str).map(str::to_string)
}

/// Reads a push of `event` with `payload` by `participant` (call topics) on `kind`.
pub fn action(kind: &TopicKind, participant: Option<&Participant>, event: &str, payload: &Value) -> Action {
    match (kind, event) {
        (TopicKind::Presence(_), "status") => match text(payload, "status") {
            Some(status) => match PresenceStatus::parse(&status) {
                Some(status) => Action::Status { status },
                None => Action::Refuse("invalid status"),
            },
            None => Action::Refuse("invalid status"),
        },
        (TopicKind::Call(_), _) => call_action(participant, event, payload),
        _ => Action::Refuse("unknown event"),
    }
}

fn call_action(participant: Option<&Participant>, event: &str, payload: &Value) -> Action {
    let Some(participant) = participant else {
        return Action::Refuse("unauthorized");
    };
    if event == "chat_message" {
        return match text(payload, "body") {
            Some(body) => Action::Chat { body },
            None => Action::Refuse("invalid message"),
        };
    }
    // An observer watches and may chat; only the two parties negotiate the media.
    if participant.role == CallRole::Observer && matches!(event, "signal" | "ice_candidate" | "mute") {
        return Action::Refuse("unauthorized");
    }
    match event {
        "signal" => {
            let kind = text(payload, "type");
            let sdp = payload.get("sdp").filter(|sdp| sdp.is_string() || sdp.is_null());
            match (kind.as_deref(), sdp) {
                (Some("offer" | "answer" | "pranswer" | "rollback"), Some(sdp)) => Action::Relay {
                    event: "signal",
                    payload: json!({"type": kind, "sdp": sdp}),
                },
                (Some("rollback"), None) => Action::Relay {
                    event: "signal",
                    payload: json!({"type": "rollback", "sdp": null}),
                },
                _ => Action::Refuse("invalid signal"),
            }
        }
        "ice_candidate" => {
            let candidate = payload.get("candidate").filter(|c| c.is_string());
            let mid = payload.get("sdpMid").cloned().unwrap_or(Value::Null);
            let index = payload.get("sdpMLineIndex").cloned().unwrap_or(Value::Null);
            match candidate {
                Some(candidate) if (mid.is_string() || mid.is_null()) && (index.is_u64() || index.is_null()) => {
                    Action::Relay {
                        event: "ice_candidate",
                        payload: json!({"candidate": candidate, "sdpMid": mid, "sdpMLineIndex": index}),
                    }
                }
                _ => Action::Refuse("invalid candidate"),
            }
        }
        "mute" => match (text(payload, "type"), payload.get("muted").and_then(Value::as_bool)) {
            (Some(kind), Some(muted)) if kind == "audio" || kind == "video" => Action::Relay {
                event: "mute",
                payload: json!({"type": kind, "muted": muted, "role": participant.role}),
            },
            _ => Action::Refuse("invalid mute"),
        },
        _ => Action::Refuse("unknown event"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::realtime::topics::TopicKind;

    fn agent() -> Participant {
        Participant {
            role: CallRole::Agent,
            name: "Ana".into(),
            user_id: Some("u".into()),
        }
    }

    #[test]
    fn signals_are_relayed_only_when_well_formed() {
        let call = TopicKind::Call("c".into());
        let offer = action(&call, Some(&agent()), "signal", &json!({"type": "offer", "sdp": "v=0"}));
        assert_eq!(
            offer,
            Action::Relay {
                event: "signal",
                payload: json!({"type": "offer", "sdp": "v=0"})
            }
        );
        assert_eq!(
            action(&call, Some(&agent()), "signal", &json!({"type": "evil", "sdp": "x"})),
            Action::Refuse("invalid signal")
        );
        let candidate = action(
            &call,
            Some(&agent()),
            "ice_candidate",
            &json!({"candidate": "candidate:1 1 udp 1 10.0.0.1 5000 typ host", "sdpMid": "0", "sdpMLineIndex": 0, "extra": 1}),
        );
        assert!(matches!(candidate, Action::Relay { ref payload, .. } if payload.get("extra").is_none()));
        let mute = action(&call, Some(&agent()), "mute", &json!({"type": "audio", "muted": true}));
        assert!(matches!(mute, Action::Relay { ref payload, .. } if payload["role"] == "agent"));
    }

    #[test]
    fn observers_chat_but_do_not_negotiate_media() {
        let call = TopicKind::Call("c".into());
        let observer = Participant {
            role: CallRole::Observer,
            ..agent()
        };
        assert_eq!(
            action(
                &call,
                Some(&observer),
                "signal",
                &json!({"type": "offer", "sdp": "v=0"})
            ),
            Action::Refuse("unauthorized")
        );
        assert_eq!(
            action(&call, Some(&observer), "chat_message", &json!({"body": "hi"})),
            Action::Chat { body: "hi".into() }
        );
    }

    #[test]
    fn presence_status_is_one_of_three() {
        let presence = TopicKind::Presence("d".into());
        assert_eq!(
            action(&presence, None, "status", &json!({"status": "busy"})),
            Action::Status {
                status: PresenceStatus::Busy
            }
        );
        assert_eq!(
            action(&presence, None, "status", &json!({"status": "sleeping"})),
            Action::Refuse("invalid status")
        );
        assert_eq!(
            action(&TopicKind::Dashboard, None, "status", &json!({})),
            Action::Refuse("unknown event")
        );
    }
}
