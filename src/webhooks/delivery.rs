//! Sends the webhook outbox. A task polls the open tenants every second (without
//! refreshing their idle clock); a closed tenant with a retry due is opened by the sweeper,
//! which knows its next due time (`crate::schedule`), and then polled here. Each tenant's due
//! deliveries go out in a task of their own (up to 32 tenants at once), so a slow receiver
//! delays only its own tenant; each due delivery is POSTed (10 s timeout, no redirects) and
//! its attempt recorded. Network errors, 429 and 5xx are retried with a growing delay
//! (1, 3, 10, 30, 60, 180, 360 × `webhook_retry_base_secs`: 1 min … 6 h by default) up to
//! 8 attempts; any other answer ends the delivery. The outbox is in SQLite, so a restart
//! loses nothing; a crash between a receiver's 2xx and its recording can send it twice,
//! so receivers deduplicate by the `X-Voki-Delivery` header.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::store::{self, Due, Outcome};
use crate::db::Database;
use crate::state::AppState;

pub const MAX_ATTEMPTS: i64 = 8;
/// Delay before attempt n+1 after a failed attempt n, in units of the retry base.
const BACKOFF: [u64; 7] = [1, 3, 10, 30, 60, 180, 360];
/// Deliveries taken from one tenant per pass.
const BATCH: i64 = 50;
/// Tenants whose deliveries are sent at the same time (each tenant's in order).
const CONCURRENT_TENANTS: usize = 32;

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("voki-webhooks/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("the webhook HTTP client builds")
}

pub fn spawn(state: AppState, stopped: watch::Receiver<bool>) {
    let client = client();
    crate::state::poll_open_tenants(
        state,
        stopped,
        "webhook delivery",
        CONCURRENT_TENANTS,
        move |state, db| {
            let client = client.clone();
            async move {
                deliver_due(&db, &client, state.config.webhook_retry_base_secs).await;
            }
        },
    );
}

/// Sends every due delivery of one tenant once; returns how many were attempted.
pub async fn deliver_due(db: &Arc<Database>, client: &reqwest::Client, retry_base_secs: u64) -> usize {
    let now = crate::time::now_text();
    let due = match db.read(move |conn| store::due(conn, &now, BATCH)).await {
        Ok(due) => due,
        Err(err) => {
            tracing::error!(error = %err, "cannot read the webhook outbox");
            return 0;
        }
    };
    let count = due.len();
    for delivery in due {
        attempt(db, client, delivery, retry_base_secs).await;
    }
    count
}

/// Sends one delivery now and records the attempt (and its retry, when it failed).
pub async fn attempt(db: &Arc<Database>, client: &reqwest::Client, delivery: Due, retry_base_secs: u64) {
    let number = delivery.attempts + 1;
    let started = Instant::now();
    let sent = client
        .post(&delivery.url)
        .header("Content-Type", "application/json")
        .header(
            "X-Voki-Signature",
            super::signature(&delivery.secret, delivery.body.as_bytes()),
        )
        .header("X-Voki-Event", &delivery.event)
        .header("X-Voki-Delivery", &delivery.id)
        .body(delivery.body.clone())
        .send()
        .await;
    let duration_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
    let (status_code, error, retryable) = match &sent {
        Ok(response) => {
            let status = response.status();
            let retryable = status.is_server_error() || status.as_u16() == 429;
            let error = (!status.is_success()).then(|| format!("HTTP {}", status.as_u16()));
            (Some(i64::from(status.as_u16())), error, retryable)
        }
        Err(err) => (None, Some(describe(err)), true),
    };
    let outcome = if error.is_none() {
        Outcome::Delivered
    } else if retryable && number < MAX_ATTEMPTS {
        let step = BACKOFF[usize::try_from(number - 1).unwrap_or(0).min(BACKOFF.len() - 1)];
        let delay = chrono::Duration::seconds(i64::try_from(step * retry_base_secs).unwrap_or(i64::MAX / 2));
        Outcome::Retry {
            at: crate::time::format(crate::time::now() + delay),
        }
    } else {
        Outcome::Failed
    };
    let id = delivery.id.clone();
    let recorded = db
        .write(move |conn| {
            store::record_attempt(conn, &id, number, status_code, error.as_deref(), duration_ms, &outcome)
        })
        .await;
    if let Err(err) = recorded {
        tracing::error!(delivery = %delivery.id, error = %err, "cannot record a webhook attempt");
    }
}

fn describe(err: &reqwest::Error) -> String {
    if err.is_timeout() {
        "timed out after 10 s".into()
    } else if err.is_connect() {
        "connection failed".into()
    } else {
        "request failed".into()
    }
}
