//! What every handler and background task can reach: [`AppState`], opened once per
//! process, and the server's stop switch. A leaf: it knows the configuration, the
//! databases, the keys, the limits, the metrics and the hub, and nothing of the routes
//! or tasks that use it (those are wired in `crate::app`).

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use tokio::sync::watch;

use crate::auth::token::Keys;
use crate::auth::user_cache::UserCache;
use crate::config::Config;
use crate::db::{DbSettings, Tenants};
use crate::error::ApiError;
use crate::limits::RateLimits;
use crate::metrics::Metrics;
use crate::realtime::hub::Hub;

/// What every handler can reach: one shared [`Shared`]. A clone is one reference count
/// (every middleware layer and extractor clones the state of each request; with a count
/// per field, those counts were 2 % of a list request).
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The parts of [`AppState`]; each an `Arc` of its own, for code that keeps one part.
pub struct Shared {
    pub config: Arc<Config>,
    pub tenants: Arc<Tenants>,
    pub keys: Arc<Keys>,
    pub limits: Arc<RateLimits>,
    pub metrics: Arc<Metrics>,
    pub ready: Arc<AtomicBool>,
    /// The live socket connections and their topics.
    pub hub: Arc<Hub>,
    /// API keys recently used, by hash.
    pub api_keys: Arc<crate::api_keys::KeyCache>,
    /// The users requests authenticated as, while their tenant writes nothing.
    pub users: Arc<UserCache>,
}

impl AppState {
    /// Opens the data dir, migrates the registry and every tenant, and loads the keys.
    pub async fn open(config: Config) -> Result<AppState, ApiError> {
        let settings = DbSettings::from_config(&config);
        let hub = Arc::new(Hub::new());
        let tenants = Tenants::open(
            &config.data_dir,
            settings,
            config.max_open_tenants as usize,
            Arc::new(hub.clone()),
        )?;
        let migrated = tenants.migrate_all().await?;
        tracing::info!(tenants = migrated, "migrations applied");
        let keys = Keys::load(&config.jwt_secret, &config.data_dir)?;
        Ok(AppState(Arc::new(Shared {
            limits: Arc::new(RateLimits::new(&config)),
            metrics: Arc::default(),
            config: Arc::new(config),
            tenants: Arc::new(tenants),
            keys: Arc::new(keys),
            ready: Arc::new(AtomicBool::new(false)),
            hub,
            api_keys: Arc::default(),
            users: Arc::default(),
        })))
    }
}

/// Runs `work` every second for each open tenant (without refreshing its idle clock), in a
/// task of its own per tenant, one at a time per tenant and at most `lanes` tenants at once,
/// until the server stops: the outboxes' delivery loops, so one tenant's slow receiver or
/// mail server delays only that tenant. A closed tenant with something due is opened by the
/// sweeper (`crate::schedule`) and then polled here.
pub fn poll_open_tenants<F, Fut>(
    state: AppState,
    mut stopped: watch::Receiver<bool>,
    what: &'static str,
    lanes: usize,
    work: F,
) where
    F: Fn(AppState, Arc<crate::db::Database>) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let work = Arc::new(work);
    tokio::spawn(async move {
        let busy: Arc<std::sync::Mutex<std::collections::HashSet<String>>> = Arc::default();
        let lanes = Arc::new(tokio::sync::Semaphore::new(lanes.max(1)));
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            let slugs = tokio::select! {
                _ = tick.tick() => state.tenants.open_slugs(),
                _ = stop_requested(&mut stopped) => break,
            };
            for slug in slugs {
                // A tenant still being served from the last pass is skipped this one.
                if !busy.lock().unwrap_or_else(|p| p.into_inner()).insert(slug.clone()) {
                    continue;
                }
                let (state, busy, lanes, work) = (state.clone(), busy.clone(), lanes.clone(), work.clone());
                tokio::spawn(async move {
                    if let Ok(_lane) = lanes.acquire().await {
                        match state.tenants.get_background(&slug).await {
                            Ok(Some(db)) => work(state.clone(), db).await,
                            Ok(None) => {}
                            Err(err) => tracing::error!(tenant = %slug, error = %err, "{what} cannot open tenant"),
                        }
                    }
                    busy.lock().unwrap_or_else(|p| p.into_inner()).remove(&slug);
                });
            }
        }
    });
}

/// Resolves once the server's stop switch is on (or its sender is gone).
pub async fn stop_requested(stopped: &mut watch::Receiver<bool>) {
    let _ = stopped.wait_for(|stop| *stop).await.map(|_| ());
}
