//! The `dashboard` topic's `kpis`, every 5 seconds, for the tenants where a supervisor
//! has it open (and only those: an unwatched tenant costs nothing).

use std::time::Duration;

use tokio::sync::watch;

use super::topics;
use crate::state::AppState;

pub const INTERVAL: Duration = Duration::from_secs(5);

/// Computes and broadcasts the figures of every watched tenant once.
pub async fn publish_once(state: &AppState) {
    for tenant in state.hub.tenants_joined(topics::DASHBOARD) {
        let db = match state.tenants.get(&tenant).await {
            Ok(Some(db)) => db,
            Ok(None) => continue,
            Err(err) => {
                tracing::error!(tenant = %tenant, error = %err, "dashboard cannot open tenant");
                continue;
            }
        };
        let online = state.hub.online_users(&tenant);
        match db.read(move |conn| crate::analytics::live_kpis(conn, online)).await {
            Ok(kpis) => state.hub.broadcast(&tenant, topics::DASHBOARD, "kpis", kpis),
            Err(err) => tracing::error!(tenant = %tenant, error = %err, "dashboard figures failed"),
        }
    }
}

pub fn spawn(state: AppState, mut stopped: watch::Receiver<bool>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => publish_once(&state).await,
                _ = crate::state::stop_requested(&mut stopped) => break,
            }
        }
    });
}
