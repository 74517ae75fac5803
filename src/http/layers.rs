//! Middleware applied to every response: security headers and the JSON 404/405/413
//! answers that axum would otherwise give as plain text.

use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, Request, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

/// Marks a response that other sites may frame (the patient page with
/// `call_page_embedding`): [`security_headers`] then leaves `X-Frame-Options` out.
#[derive(Debug, Clone, Copy)]
pub struct Frameable;

/// Security headers (SPEC §6). Set only when the handler did not set its own, so the
/// console and the customer page can carry their own CSP and framing rules.
pub async fn security_headers(request: Request<Body>, next: Next) -> Response {
    let mut response = next.run(request).await;
    let frameable = response.extensions().get::<Frameable>().is_some();
    let headers = response.headers_mut();
    let defaults: [(HeaderName, &str); 4] = [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; frame-ancestors 'none'",
        ),
    ];
    for (name, value) in defaults {
        if frameable && name == header::X_FRAME_OPTIONS {
            continue;
        }
        if !headers.contains_key(&name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    }
    response
}

/// Gives axum's own empty or plain-text errors (unknown route, wrong method, body
/// over the limit) the JSON envelope.
pub async fn json_errors(request: Request<Body>, next: Next) -> Response {
    let response = next.run(request).await;
    let plain = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| v.starts_with("text/plain"));
    if !plain {
        return response;
    }
    match response.status() {
        StatusCode::NOT_FOUND => ApiError::NotFound("Not found".into()).into_response(),
        StatusCode::METHOD_NOT_ALLOWED => {
            let allow = response.headers().get(header::ALLOW).cloned();
            let mut replaced = (
                StatusCode::METHOD_NOT_ALLOWED,
                axum::Json(serde_json::json!({"errors": {"detail": "Method not allowed"}})),
            )
                .into_response();
            if let Some(allow) = allow {
                replaced.headers_mut().insert(header::ALLOW, allow);
            }
            replaced
        }
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge.into_response(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            ApiError::BadRequest("Content-Type must be application/json".into()).into_response()
        }
        _ => response,
    }
}

/// The span of a request in the trace log (`tower_http=debug`): method and path, never
/// the query string, which may carry a token (a socket's `?token=`, a reset link).
pub fn redacted_span(request: &Request<Body>) -> tracing::Span {
    tracing::debug_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
        version = ?request.version(),
    )
}

/// The most of an over-long body that is read (and dropped) so that the client, still
/// sending, gets its 413 instead of a reset connection.
/// JSON bodies larger than this are refused with 413 (SPEC §2.3).
pub const JSON_BODY_LIMIT: usize = 1024 * 1024;

const DRAIN_BYTES: u64 = 16 * 1024 * 1024;

/// A JSON body whose `Content-Length` is over `limit` (uploads have their own limit) is
/// answered 413 at once; up to 16 MiB of it are read first, within 10 s, so the client
/// sees the answer rather than a connection closed while it was still sending. Larger
/// ones get the 413 with `Connection: close`.
pub async fn refuse_oversized(request: Request<Body>, next: Next) -> Response {
    let limit = JSON_BODY_LIMIT as u64;
    let length = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let Some(length) = length.filter(|length| *length > limit) else {
        return next.run(request).await;
    };
    if request.uri().path().ends_with("/upload") {
        return next.run(request).await;
    }
    let mut response = ApiError::PayloadTooLarge.into_response();
    if length > DRAIN_BYTES {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        return response;
    }
    let mut body = request.into_body().into_data_stream();
    let drained = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        use futures_util::StreamExt;
        let mut read = 0u64;
        while let Some(Ok(chunk)) = body.next().await {
            read += chunk.len() as u64;
            if read > DRAIN_BYTES {
                return false;
            }
        }
        true
    })
    .await;
    if drained != Ok(true) {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}
/// The route a request matched, copied onto its response for [`access_log`] (the router
/// knows it only after routing, inside the outer layers).
#[derive(Debug, Clone)]
pub struct RoutePattern(pub String);

/// Runs inside the router (`route_layer`): records the matched route pattern.
pub async fn record_route(matched: Option<axum::extract::MatchedPath>, request: Request<Body>, next: Next) -> Response {
    let mut response = next.run(request).await;
    if let Some(matched) = matched {
        response
            .extensions_mut()
            .insert(RoutePattern(matched.as_str().to_string()));
    }
    response
}

/// One line at `info` per request (SPEC §7.4): method, route pattern (never the path
/// itself, which may hold a token, nor the query string), status, milliseconds, tenant,
/// request id. Server errors are logged at `warn` (the error itself is logged where it
/// happened); `/readyz` answering 503 while the server starts is expected, so `info`.
pub async fn access_log(request: Request<Body>, next: Next) -> Response {
    let started = std::time::Instant::now();
    let method = request.method().clone();
    let tenant = request
        .headers()
        .get("x-tenant")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| {
            let token = request.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
            let key = token.strip_prefix("Bearer ")?.trim();
            crate::api_keys::key_tenant(key).map(str::to_string)
        })
        .unwrap_or_default();
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let response = next.run(request).await;
    let route = response
        .extensions()
        .get::<RoutePattern>()
        .map_or("(unmatched)", |route| route.0.as_str());
    let status = response.status().as_u16();
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    let ms = format!("{ms:.1}");
    if response.status().is_server_error() && !(route == "/readyz" && status == 503) {
        tracing::warn!(target: "voki::access", %method, route, status, ms, tenant, request_id, "request");
    } else {
        tracing::info!(target: "voki::access", %method, route, status, ms, tenant, request_id, "request");
    }
    response
}

/// CORS for `cors_allowed_origins` (SPEC §7.4, §7.8): a preflight from a listed origin is
/// answered 204 with the allowed methods and headers; other responses to a listed origin
/// carry `Access-Control-Allow-Origin`. Any other origin gets no CORS header at all, so
/// the browser refuses it; with an empty list nothing changes.
pub async fn cors(
    axum::extract::State(state): axum::extract::State<crate::state::AppState>,
    request: Request<Body>,
    next: Next,
) -> Response {
    let allowed = request.headers().get(header::ORIGIN).cloned().filter(|origin| {
        let origin = origin.to_str().unwrap_or_default().trim_end_matches('/');
        state
            .config
            .cors_allowed_origins
            .iter()
            .any(|listed| listed.trim_end_matches('/') == origin)
    });
    let preflight = request.method() == axum::http::Method::OPTIONS
        && request.headers().contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    let Some(origin) = allowed else {
        return next.run(request).await;
    };
    let mut response = if preflight {
        let mut response = StatusCode::NO_CONTENT.into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST, PUT, DELETE, OPTIONS"),
        );
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("Authorization, Content-Type, X-Tenant"),
        );
        headers.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
        response
    } else {
        next.run(request).await
    };
    let headers = response.headers_mut();
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("x-request-id, retry-after"),
    );
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
    response
}

/// Whether a response's content type is worth compressing.
type ContentPredicate = fn(StatusCode, axum::http::Version, &axum::http::HeaderMap, &axum::http::Extensions) -> bool;

/// What is compressed (gzip or brotli, as the client accepts): JSON, CSV and the text
/// assets of 1 KiB or more (streams of unknown length count as more). Images and other
/// binary types are sent as they are.
pub fn compression() -> tower_http::compression::CompressionLayer<
    tower_http::compression::predicate::And<tower_http::compression::predicate::SizeAbove, ContentPredicate>,
> {
    use tower_http::compression::predicate::{Predicate, SizeAbove};
    fn compressible(
        _: StatusCode,
        _: axum::http::Version,
        headers: &axum::http::HeaderMap,
        _: &axum::http::Extensions,
    ) -> bool {
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        ["application/json", "text/", "application/javascript", "image/svg+xml"]
            .iter()
            .any(|kind| content_type.starts_with(kind))
            && !content_type.starts_with("text/event-stream")
    }
    let predicate = SizeAbove::new(1024).and(compressible as ContentPredicate);
    tower_http::compression::CompressionLayer::new()
        .gzip(true)
        .br(true)
        .compress_when(predicate)
}
