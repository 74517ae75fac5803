//! The application: shared state, the router, and the server with its background tasks.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Keys;
use crate::config::Config;
use crate::db::{DbSettings, Tenants};
use crate::error::ApiError;
use crate::http::metrics::{self, Metrics};
use crate::http::rate_limit::RateLimits;
use crate::http::{health, layers, openapi::ApiDoc};
use crate::realtime::Hub;

/// JSON bodies larger than this are refused with 413 (SPEC §2.3).
pub const JSON_BODY_LIMIT: usize = 1024 * 1024;

/// What every handler can reach. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
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
}

impl AppState {
    /// Opens the data dir, migrates the registry and every tenant, and loads the keys.
    pub async fn open(config: Config) -> Result<AppState, ApiError> {
        let settings = DbSettings {
            synchronous: config.synchronous.to_ascii_uppercase(),
            readers: config.reader_pool_size as u32,
            wal_autocheckpoint: config.wal_autocheckpoint as u32,
        };
        let hub = Arc::new(Hub::new());
        let tenants = Tenants::open(
            &config.data_dir,
            settings,
            config.max_open_tenants as usize,
            hub.clone(),
        )?;
        let migrated = tenants.migrate_all().await?;
        tracing::info!(tenants = migrated, "migrations applied");
        let keys = Keys::load(&config.jwt_secret, &config.data_dir)?;
        Ok(AppState {
            limits: Arc::new(RateLimits::new(&config)),
            metrics: Arc::default(),
            config: Arc::new(config),
            tenants: Arc::new(tenants),
            keys: Arc::new(keys),
            ready: Arc::new(AtomicBool::new(false)),
            hub,
            api_keys: Arc::default(),
        })
    }
}

/// Every route of the API with its OpenAPI description.
fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(metrics::metrics))
        .merge(crate::auth::routes::router())
        .merge(crate::auth::mfa::router())
        .merge(crate::users::routes::router())
        .merge(crate::departments::routes::router())
        .merge(crate::sectors::routes::router())
        .merge(crate::providers::routes::router())
        .merge(crate::company::routes::router())
        .merge(crate::customers::routes::router())
        .merge(crate::webhooks::routes::router())
        .merge(crate::billing::routes::router())
        .merge(crate::appointments::routes::router())
        .merge(crate::notifications::routes::router())
        .merge(crate::access_links::routes::router())
        .merge(crate::widget::routes::router())
        .merge(crate::calls::routes::router())
        .merge(crate::tags::routes::router())
        .merge(crate::evaluations::routes::router())
        .merge(crate::analytics::routes::router())
        .merge(crate::export::routes::router())
        .merge(crate::api_keys::routes::router())
        .merge(crate::audit::routes::router())
        .merge(crate::scheduling::routes::router())
        .merge(crate::scheduling::public::router())
        .merge(crate::email::routes::router())
        .merge(crate::calendar::routes::router())
        .routes(routes!(crate::realtime::socket::upgrade))
}

/// The OpenAPI document of every route.
pub fn openapi() -> utoipa::openapi::OpenApi {
    openapi_for("http://127.0.0.1:8080")
}

/// The OpenAPI document of every route, served from `public_url`.
pub fn openapi_for(public_url: &str) -> utoipa::openapi::OpenApi {
    let mut document = api_routes().split_for_parts().1;
    crate::http::openapi::complete(&mut document, public_url);
    document
}

/// The complete router with its middleware.
pub fn router(state: AppState) -> Router {
    let (routes, mut document) = api_routes().split_for_parts();
    crate::http::openapi::complete(&mut document, &state.config.public_base());
    let document = Arc::new(document);
    routes
        .route(
            "/api/openapi.json",
            get(move || async move { axum::Json(document.as_ref().clone()) }),
        )
        .merge(crate::console::router())
        .merge(crate::http::docs::router())
        .route_layer(axum::middleware::from_fn(layers::record_route))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::http::rate_limit::widget_limit,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::audit::request_scope,
        ))
        .layer(DefaultBodyLimit::max(JSON_BODY_LIMIT))
        .layer(axum::middleware::from_fn(layers::refuse_oversized))
        .layer(axum::middleware::from_fn(layers::json_errors))
        .layer(axum::middleware::from_fn(layers::security_headers))
        .layer(axum::middleware::from_fn_with_state(state.clone(), metrics::count))
        .layer(layers::compression())
        .layer(axum::middleware::from_fn_with_state(state.clone(), layers::cors))
        .layer(axum::middleware::from_fn(layers::access_log))
        .layer(PropagateRequestIdLayer::x_request_id())
        // The access log reports every request; failures are logged where they happen.
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(layers::redacted_span)
                .on_failure(()),
        )
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}

/// A running server: its address, and the switch that stops it.
pub struct Server {
    pub addr: SocketAddr,
    pub state: AppState,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    /// Binds `listen` and serves until [`Server::stop`] or a shutdown signal.
    pub async fn start(state: AppState, listen: SocketAddr) -> Result<Server, ApiError> {
        let listener = TcpListener::bind(listen)
            .await
            .map_err(|e| ApiError::internal(format!("cannot listen on {listen}: {e}")))?;
        let addr = listener.local_addr().map_err(ApiError::internal)?;
        let (stop, stopped) = watch::channel(false);
        spawn_background(state.clone(), stopped.clone());
        crate::sweeper::spawn(state.clone(), stopped.clone());
        crate::webhooks::delivery::spawn(state.clone(), stopped.clone());
        crate::email::delivery::spawn(state.clone(), stopped.clone());
        crate::realtime::dashboard::spawn(state.clone(), stopped.clone());
        crate::backup::spawn_schedule(state.clone(), stopped.clone());

        let app = router(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
        let mut shutdown = stopped;
        let serve_state = state.clone();
        let task = tokio::spawn(async move {
            let graceful = axum::serve(listener, app).with_graceful_shutdown(async move {
                stop_requested(&mut shutdown).await;
            });
            if let Err(err) = graceful.await {
                tracing::error!(error = %err, "server error");
            }
            serve_state.tenants.close_all().await;
        });
        state.ready.store(true, Ordering::Release);
        Ok(Server {
            addr,
            state,
            stop,
            task,
        })
    }

    /// Stops accepting, lets in-flight requests finish (up to 10 s), checkpoints the
    /// databases.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        // Upgraded sockets are not in-flight requests: close them, or they outlive the server.
        self.state.hub.close_all();
        let _ = tokio::time::timeout(Duration::from_secs(10), self.task).await;
    }

    /// Runs until `signal` resolves (see [`shutdown_signal`]), then stops gracefully.
    pub async fn run_until(self, signal: impl std::future::Future<Output = ()>) {
        signal.await;
        tracing::info!("shutting down");
        self.stop().await;
    }
}

fn spawn_background(state: AppState, mut stopped: watch::Receiver<bool>) {
    tokio::spawn(async move {
        let idle = Duration::from_secs(state.config.tenant_idle_secs.max(1));
        let mut tick = tokio::time::interval(idle.min(Duration::from_secs(60)));
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    state.tenants.close_idle(idle);
                    state.limits.forget_idle_keys();
                }
                _ = stop_requested(&mut stopped) => break,
            }
        }
    });
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

/// Resolves on SIGTERM or Ctrl-C. The handlers are installed when this is called, not
/// when the future is first polled, so a signal that arrives right after the server says
/// it is listening is not lost.
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    #[cfg(unix)]
    let mut interrupt = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()).ok();
    async move {
        #[cfg(unix)]
        {
            let terminate = async {
                match terminate.as_mut() {
                    Some(signal) => signal.recv().await,
                    None => std::future::pending().await,
                }
            };
            let interrupt = async {
                match interrupt.as_mut() {
                    Some(signal) => signal.recv().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = terminate => {},
                _ = interrupt => {},
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
