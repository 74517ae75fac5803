//! `GET /api/docs`: the interactive API documentation (Swagger UI), served from the
//! binary (the bundle is vendored at build time, no CDN), reading `/api/openapi.json`.

use axum::Router;
use axum::http::{HeaderValue, header};

use crate::state::AppState;

/// The page loads its own scripts and styles and, to try requests, calls this server.
const CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'";

pub fn router() -> Router<AppState> {
    let swagger = utoipa_swagger_ui::SwaggerUi::new("/api/docs")
        .config(utoipa_swagger_ui::Config::new(["/api/openapi.json"]).try_it_out_enabled(true));
    Router::<AppState>::from(swagger).layer(tower_http::set_header::SetResponseHeaderLayer::overriding(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    ))
}
