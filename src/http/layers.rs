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
