//! The background sweeper (SPEC §6): on every interval it walks every tenant and runs
//! each job of [`JOBS`] in its own write transaction. Jobs are idempotent (they compare
//! with the clock and with what they already recorded), so overlapping runs and restarts
//! do no harm, and one failing tenant or job is logged and never stops the others.

use std::sync::Arc;
use std::time::Duration;

use rusqlite::Connection;
use tokio::sync::watch;

use crate::app::AppState;
use crate::config::Config;
use crate::error::ApiError;
use crate::time::Timestamp;

/// What a job knows about the run it belongs to.
#[derive(Debug, Clone)]
pub struct Sweep {
    pub tenant: String,
    pub now: Timestamp,
    pub config: Arc<Config>,
}

/// One job: run in a write transaction of one tenant.
pub type Job = fn(&Connection, &Sweep) -> Result<(), ApiError>;

/// Every job, by name (for logs). Each resource that needs sweeping adds itself here.
pub const JOBS: &[(&str, Job)] = &[
    ("appointments_overdue", crate::appointments::jobs::flag_overdue),
    ("appointment_reminders", crate::appointments::jobs::send_reminders),
    ("expire_access_links", crate::access_links::store::expire_due),
    ("miss_queue_timeouts", crate::calls::store::miss_overdue),
];

/// Runs every job once over every tenant; returns how many (tenant, job) pairs failed.
pub async fn sweep_once(state: &AppState) -> usize {
    let tenants = match state.tenants.list().await {
        Ok(tenants) => tenants,
        Err(err) => {
            tracing::error!(error = %err, "sweeper cannot list tenants");
            return 1;
        }
    };
    let mut failures = 0;
    for tenant in tenants {
        let db = match state.tenants.get(&tenant.slug).await {
            Ok(Some(db)) => db,
            Ok(None) => continue,
            Err(err) => {
                tracing::error!(tenant = %tenant.slug, error = %err, "sweeper cannot open tenant");
                failures += 1;
                continue;
            }
        };
        for (name, job) in JOBS {
            let sweep = Sweep {
                tenant: tenant.slug.clone(),
                now: crate::time::now(),
                config: state.config.clone(),
            };
            let job = *job;
            if let Err(err) = db.write(move |conn| job(conn, &sweep)).await {
                tracing::error!(tenant = %tenant.slug, job = name, error = %err, "sweeper job failed");
                failures += 1;
            }
        }
    }
    failures
}

/// Runs [`sweep_once`] every `sweep_interval_secs` until `stopped` turns true.
pub fn spawn(state: AppState, mut stopped: watch::Receiver<bool>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(state.config.sweep_interval_secs.max(1)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => { sweep_once(&state).await; }
                _ = crate::app::stop_requested(&mut stopped) => break,
            }
        }
    });
}
