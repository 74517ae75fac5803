//! Who a change is attributed to (the audit log's actor, SPEC §7.5).
//!
//! The actor is not passed down through every store signature: each request runs in a
//! [`scope`] that the `Auth` extractor fills in ([`name_caller`]: a user or an API key; the
//! public widget, booking and manage endpoints act as the customer), and
//! [`crate::db::Database::write`] hands the actor of the calling request to the job's
//! [`crate::db::WriteTx`]. Writes outside any request (the sweeper) are the `system`.

use std::cell::RefCell;

/// What kind of caller made a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActorType {
    User,
    ApiKey,
    Customer,
    System,
}

impl ActorType {
    pub fn as_str(self) -> &'static str {
        match self {
            ActorType::User => "user",
            ActorType::ApiKey => "api_key",
            ActorType::Customer => "customer",
            ActorType::System => "system",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Actor {
    pub kind: ActorType,
    pub id: Option<String>,
    pub name: Option<String>,
    pub ip: Option<String>,
}

impl Actor {
    pub fn system() -> Actor {
        Actor {
            kind: ActorType::System,
            id: None,
            name: None,
            ip: None,
        }
    }
}

tokio::task_local! {
    static REQUEST_ACTOR: RefCell<Actor>;
}

/// Runs `request` with `actor` as the author of the changes it makes (until
/// [`name_caller`] names the caller).
pub async fn scope<F: std::future::Future>(actor: Actor, request: F) -> F::Output {
    REQUEST_ACTOR.scope(RefCell::new(actor), request).await
}

/// Names the caller of the current request (no effect outside a request).
pub fn name_caller(kind: ActorType, id: &str, name: &str) {
    let _ = REQUEST_ACTOR.try_with(|actor| {
        let mut actor = actor.borrow_mut();
        actor.kind = kind;
        actor.id = Some(id.to_string());
        actor.name = Some(name.to_string());
    });
}

/// The actor of the current request, or the system.
pub fn current() -> Actor {
    REQUEST_ACTOR
        .try_with(|actor| actor.borrow().clone())
        .unwrap_or_else(|_| Actor::system())
}
