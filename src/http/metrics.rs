//! `GET /metrics`: Prometheus text exposition of a few process-wide figures. Open by
//! default (bind voki to loopback or let the proxy hide it); with `metrics_token` set, the
//! request must carry `Authorization: Bearer <metrics_token>`.

use std::sync::atomic::Ordering;
use std::time::Instant;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Request, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::state::AppState;

pub use crate::metrics::Metrics;

/// Counts every response.
pub async fn count(State(state): State<AppState>, request: Request<Body>, next: Next) -> Response {
    let started = Instant::now();
    let response = next.run(request).await;
    let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
    state.metrics.record(response.status(), micros);
    response
}

#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain"), (status = 401, description = "metrics_token set and not given")))]
pub async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    if !state.config.metrics_token.is_empty() {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        if !constant_time_eq(given.as_bytes(), state.config.metrics_token.as_bytes()) {
            return Err(ApiError::Unauthorized);
        }
    }
    let m = &state.metrics;
    let mut text = String::new();
    text.push_str("# HELP voki_http_requests_total HTTP responses sent, by status class.\n");
    text.push_str("# TYPE voki_http_requests_total counter\n");
    for (index, counter) in m.by_class.iter().enumerate() {
        text.push_str(&format!(
            "voki_http_requests_total{{class=\"{}xx\"}} {}\n",
            index + 1,
            counter.load(Ordering::Relaxed)
        ));
    }
    text.push_str("# HELP voki_http_request_duration_seconds_sum Time spent answering requests.\n");
    text.push_str("# TYPE voki_http_request_duration_seconds_sum counter\n");
    text.push_str(&format!(
        "voki_http_request_duration_seconds_sum {:.6}\n",
        m.duration_micros.load(Ordering::Relaxed) as f64 / 1e6
    ));
    let tenants = state.tenants.list().await.map(|t| t.len()).unwrap_or(0);
    text.push_str("# HELP voki_tenants Tenants in the registry.\n# TYPE voki_tenants gauge\n");
    text.push_str(&format!("voki_tenants {tenants}\n"));
    text.push_str("# HELP voki_open_tenant_databases Tenant databases open now.\n");
    text.push_str("# TYPE voki_open_tenant_databases gauge\n");
    text.push_str(&format!(
        "voki_open_tenant_databases {}\n",
        state.tenants.open_slugs().len()
    ));
    text.push_str("# HELP voki_backup_last_success_timestamp_seconds Unix time of the last successful scheduled backup (0: none yet).\n");
    text.push_str("# TYPE voki_backup_last_success_timestamp_seconds gauge\n");
    text.push_str(&format!(
        "voki_backup_last_success_timestamp_seconds {}\n",
        m.backup_last_success.load(Ordering::Relaxed)
    ));
    text.push_str("# HELP voki_socket_connections Live WebSocket connections.\n");
    text.push_str("# TYPE voki_socket_connections gauge\n");
    text.push_str(&format!("voki_socket_connections {}\n", state.hub.connection_count()));
    Ok((
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        text,
    )
        .into_response())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
