//! Rate limits over HTTP (SPEC §3): who the client is ([`ClientIp`], behind trusted
//! proxies) and the widget's middleware. The limiters are [`crate::limits`].

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;

use crate::error::ApiError;
use crate::state::AppState;

pub use crate::limits::{CHAT_PER_MINUTE, RateLimits};

/// The client's IP: the TCP peer, or — when the peer is a trusted proxy — the nearest
/// address in `X-Forwarded-For` that is not itself a trusted proxy.
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip())
            .unwrap_or(IpAddr::from([0, 0, 0, 0]));
        let trusted = state.config.trusted_proxy_addrs();
        if !trusted.contains(&peer) {
            return Ok(ClientIp(peer));
        }
        let forwarded = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|part| part.trim().parse::<IpAddr>().ok())
            .collect::<Vec<_>>();
        let client = forwarded
            .into_iter()
            .rev()
            .find(|ip| !trusted.contains(ip))
            .unwrap_or(peer);
        Ok(ClientIp(client))
    }
}

/// The limits counted before a request is read (SPEC §3: every request counts, so a
/// malformed body or a junk token counts too): the public widget's (`/api/v1/call/*`,
/// 30 requests per minute per client IP by default), in a bucket of its own the booking
/// page and manage link (`/api/v1/book/*`, `/api/v1/manage/*`), the per-IP limit across
/// login, MFA verification, forgot and reset password, and the refresh limit.
pub async fn widget_limit(
    axum::extract::State(state): axum::extract::State<AppState>,
    ClientIp(ip): ClientIp,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    if let Err(limited) = state.limits.before_reading(request.uri().path(), ip) {
        return limited.into_response();
    }
    next.run(request).await
}
