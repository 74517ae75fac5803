//! The application: the router of every resource, and the server with its background
//! tasks. The state they share is [`crate::state`].

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use axum::serve::ListenerExt;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiError;
use crate::http::layers::JSON_BODY_LIMIT;
use crate::http::metrics;
use crate::http::{health, layers, openapi::ApiDoc};
pub use crate::state::AppState;
use crate::state::stop_requested;

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
            crate::audit::routes::request_scope,
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
        let addr = listener.local_addr().map_err(ApiError::from_source)?;
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
            // Frames go out as they are written: with Nagle's algorithm a socket frame sent
            // while the previous one awaits its (delayed) ACK waits up to 40 ms for it.
            let listener = listener.tap_io(|stream| {
                if let Err(err) = stream.set_nodelay(true) {
                    tracing::debug!(error = %err, "TCP_NODELAY not set");
                }
            });
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
