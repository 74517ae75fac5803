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
const DRAIN_BYTES: u64 = 16 * 1024 * 1024;

/// A JSON body whose `Content-Length` is over `limit` (uploads have their own limit) is
/// answered 413 at once; up to 16 MiB of it are read first, within 10 s, so the client
/// sees the answer rather than a connection closed while it was still sending. Larger
/// ones get the 413 with `Connection: close`.
pub async fn refuse_oversized(request: Request<Body>, next: Next) -> Response {
    let limit = crate::app::JSON_BODY_LIMIT as u64;
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
