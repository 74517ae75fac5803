//! Sends the e-mail outbox. A task looks at the open tenants every second (the sweeper
//! opens a tenant whose retry is due); each tenant with due rows gets a task of its own (at
//! most one at a time), so one tenant's slow recipients or long queue never delay another's.
//!
//! A row is claimed (committed) before it is handed to the server and settled after the
//! reply, so a row is sent at most once after its server accepted it: a row still claimed
//! by an earlier process is marked `failed` instead of being sent again. Temporary
//! failures (connection, TLS, timeouts, 4xx) are retried after 1, 3, 10, 30, 60, 180 and
//! 360 × `webhook_retry_base_secs` (1 min … 6 h by default), 8 tries in all; a 5xx reply
//! fails the row at once. Without `smtp_url` rows are marked `skipped`.

use std::sync::Arc;

use tokio::sync::watch;

use super::Kind;
use super::smtp::{Failure, Mailer, Outgoing};
use super::store::{self, Due, Outcome};
use crate::auth::sealed::Sealer;
use crate::db::Database;
use crate::state::AppState;

pub const MAX_ATTEMPTS: i64 = 8;
/// Delay before try n+1 after a failed try n, in units of the retry base.
const BACKOFF: [u64; 7] = [1, 3, 10, 30, 60, 180, 360];
/// Rows taken from one tenant per pass.
const BATCH: i64 = 20;
/// Tenants whose e-mails are sent at the same time (each tenant's in order).
const CONCURRENT_TENANTS: usize = 32;

/// The delay after failed try `number` (1-based).
pub fn backoff_secs(number: i64, base_secs: u64) -> u64 {
    let step = BACKOFF[usize::try_from(number - 1).unwrap_or(0).min(BACKOFF.len() - 1)];
    step * base_secs
}

pub fn spawn(state: AppState, stopped: watch::Receiver<bool>) {
    let mailer = match Mailer::from_config(&state.config) {
        Ok(mailer) => mailer.map(Arc::new),
        Err(err) => {
            tracing::error!(error = %err, "e-mail delivery is off");
            return;
        }
    };
    // Names this process's claims; a claim by any other run was interrupted.
    let run = Arc::new(uuid::Uuid::new_v4().to_string());
    crate::state::poll_open_tenants(
        state,
        stopped,
        "e-mail delivery",
        CONCURRENT_TENANTS,
        move |state, db| {
            let (mailer, run) = (mailer.clone(), run.clone());
            async move {
                let retry_base = state.config.webhook_retry_base_secs;
                deliver_due(&db, mailer.as_deref(), &state.keys.outbox, &run, retry_base).await;
            }
        },
    );
}

/// Sends (or skips) the due rows of one tenant; returns how many were handled.
pub async fn deliver_due(
    db: &Arc<Database>,
    mailer: Option<&Mailer>,
    sealer: &Sealer,
    run: &str,
    retry_base_secs: u64,
) -> usize {
    let run_owned = run.to_string();
    let now = crate::time::now_text();
    let loaded = db
        .read(move |conn| {
            let interrupted = store::has_interrupted(conn, &run_owned)?;
            let due = store::due(conn, &now, BATCH)?;
            let company = if due.is_empty() {
                None
            } else {
                Some(crate::company::store::get(conn, None)?)
            };
            Ok((interrupted, due, company))
        })
        .await;
    let (interrupted, due, company) = match loaded {
        Ok(loaded) => loaded,
        Err(err) => {
            tracing::error!(error = %err, "cannot read the e-mail outbox");
            return 0;
        }
    };
    if interrupted {
        let run_owned = run.to_string();
        if let Err(err) = db.write(move |conn| store::fail_interrupted(conn, &run_owned)).await {
            tracing::error!(error = %err, "cannot settle interrupted e-mails");
        }
    }
    let Some(company) = company else { return 0 };
    let count = due.len();
    for mut row in due {
        let id = row.id.clone();
        if let Err(err) = open_sealed(&mut row, sealer) {
            tracing::error!(email = %id, error = %err, "cannot open a sealed e-mail");
            continue;
        }
        let result = match mailer {
            None => skip(db, row).await,
            Some(mailer) => attempt(db, mailer, run, row, &company, retry_base_secs).await,
        };
        if let Err(err) = result {
            tracing::error!(email = %id, error = %err, "cannot record an e-mail attempt");
        }
    }
    count
}

/// A password-reset row keeps its bodies and link sealed; they are opened only to send.
fn open_sealed(row: &mut Due, sealer: &Sealer) -> Result<(), crate::error::ApiError> {
    if row.kind == Kind::PasswordReset {
        row.text = sealer.open(&row.text)?;
        row.html = sealer.open(&row.html)?;
        row.reset_link = row.reset_link.as_deref().map(|link| sealer.open(link)).transpose()?;
    }
    Ok(())
}

async fn skip(db: &Arc<Database>, row: Due) -> Result<(), crate::error::ApiError> {
    let id = row.id.clone();
    db.write(move |conn| store::settle(conn, &id, &Outcome::Skipped))
        .await?;
    if row.kind == Kind::PasswordReset
        && let Some(link) = &row.reset_link
    {
        // SPEC §3: the one place a reset link is ever logged, so an operator without mail
        // can still recover an account.
        tracing::warn!(to = %row.to, "no SMTP configured; password-reset link: {link}");
    }
    Ok(())
}

async fn attempt(
    db: &Arc<Database>,
    mailer: &Mailer,
    run: &str,
    row: Due,
    company: &crate::company::Company,
    retry_base_secs: u64,
) -> Result<(), crate::error::ApiError> {
    let (id, run_owned) = (row.id.clone(), run.to_string());
    if !db.write(move |conn| store::claim(conn, &id, &run_owned)).await? {
        return Ok(());
    }
    let number = row.attempts + 1;
    let outgoing = Outgoing {
        to: row.to,
        sender_name: company.name.clone(),
        reply_to: company.email.clone(),
        subject: row.subject,
        text: row.text,
        html: row.html,
        ics: row.ics,
    };
    let outcome = match mailer.send(&outgoing).await {
        Ok(()) => Outcome::Sent,
        Err(Failure::Temporary(error)) if number < MAX_ATTEMPTS => {
            let delay = i64::try_from(backoff_secs(number, retry_base_secs)).unwrap_or(i64::MAX / 2);
            Outcome::Retry {
                at: crate::time::format(crate::time::now() + chrono::Duration::seconds(delay)),
                error,
            }
        }
        Err(failure) => Outcome::Failed {
            error: failure.reply().to_string(),
        },
    };
    let id = row.id.clone();
    db.write(move |conn| store::settle(conn, &id, &outcome)).await
}

#[cfg(test)]
mod tests {
    use super::backoff_secs;

    #[test]
    fn retries_wait_one_minute_to_six_hours() {
        let delays: Vec<u64> = (1..=7).map(|n| backoff_secs(n, 60)).collect();
        assert_eq!(delays, [60, 180, 600, 1800, 3600, 10_800, 21_600]);
    }
}
