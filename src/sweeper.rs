//! The background sweeper (SPEC §6, §7.6): on every interval it runs each job of
//! [`crate::schedule::JOBS`]
//! in its own write transaction, in the tenants that have something due. Jobs are
//! idempotent (they compare with the clock and with what they already recorded), so
//! overlapping runs and restarts do no harm, and one failing tenant or job is logged and
//! never stops the others.
//!
//! After a tenant's jobs, [`crate::schedule::next_due`] finds when its next one is due and
//! the registry records it, so a sweep opens only the open tenants, the due ones and the
//! ones used since they were last swept; with 10 000 mostly idle tenants a sweep opens a
//! handful. Tenants are opened with [`crate::db::Tenants::get_background`], which leaves
//! their idle clock alone, so the sweeper never keeps an idle tenant open.

use std::time::Duration;

use tokio::sync::watch;

use crate::state::AppState;
// The jobs and what they are given live with their due times (`crate::schedule`).
pub use crate::schedule::{JOBS, Job, Sweep};

/// Runs every job once in every tenant with something due; returns how many (tenant,
/// job) pairs failed.
pub async fn sweep_once(state: &AppState) -> usize {
    let now = crate::time::now();
    let tenants = match state.tenants.due_for_sweep(&crate::time::format(now)).await {
        Ok(tenants) => tenants,
        Err(err) => {
            tracing::error!(error = %err, "sweeper cannot list the due tenants");
            return 1;
        }
    };
    let mut failures = 0;
    let mut swept = Vec::with_capacity(tenants.len());
    for slug in tenants {
        let db = match state.tenants.get_background(&slug).await {
            Ok(Some(db)) => db,
            Ok(None) => continue,
            Err(err) => {
                tracing::error!(tenant = %slug, error = %err, "sweeper cannot open tenant");
                failures += 1;
                continue;
            }
        };
        state.tenants.begin_sweep(&slug);
        let mut failed = false;
        for (name, job) in JOBS {
            let sweep = Sweep {
                tenant: slug.clone(),
                now: crate::time::now(),
                config: state.config.clone(),
            };
            let job = *job;
            if let Err(err) = db.write(move |conn| job(conn, &sweep)).await {
                tracing::error!(tenant = %slug, job = name, error = %err, "sweeper job failed");
                failures += 1;
                failed = true;
            }
        }
        let sweep = Sweep {
            tenant: slug.clone(),
            now: crate::time::now(),
            config: state.config.clone(),
        };
        // A failed job or an unreadable schedule is tried again at the next pass.
        let next = match db.read(move |conn| crate::schedule::next_due(conn, &sweep)).await {
            Ok(next) if !failed => next.map(crate::time::format),
            Ok(_) => Some(crate::time::format(now)),
            Err(err) => {
                tracing::error!(tenant = %slug, error = %err, "sweeper cannot compute the next due time");
                Some(crate::time::format(now))
            }
        };
        swept.push((slug, next));
    }
    if let Err(err) = state.tenants.record_sweeps(swept).await {
        tracing::error!(error = %err, "sweeper cannot record the next due times");
        failures += 1;
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
                _ = crate::state::stop_requested(&mut stopped) => break,
            }
        }
    });
}
