//! The embedded web pages: the staff console at `/`, the patient's call page at
//! `/call/:token`, the booking page at `/book/:token`, the manage page at `/manage/:token`
//! and the password-reset page at `/reset-password`. Plain HTML, CSS and JavaScript under
//! `assets/`, embedded in the binary
//! (rust-embed), served with a content type, an ETag and strict security headers; GET and
//! HEAD only.

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::state::AppState;

#[derive(rust_embed::Embed)]
#[folder = "assets/"]
struct Assets;

/// Pages may load only their own scripts, styles and images, talk to this server (HTTP and
/// the WebSocket) and to the configured STUN/TURN servers (which the browser reaches
/// outside CSP). Nothing inline, nothing from a CDN.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; \
     media-src 'self' blob: mediastream:; connect-src 'self'; base-uri 'none'; form-action 'none'";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(console_index))
        .route("/console/{*path}", get(console_asset))
        .route("/call/{token}", get(call_page))
        .route("/call-assets/{*path}", get(call_asset))
        .route("/vendor/{*path}", get(vendor_asset))
        .route("/book/{token}", get(book_page))
        .route("/book-assets/{*path}", get(book_asset))
        .route("/manage/{token}", get(manage_page))
        .route("/manage-assets/{*path}", get(manage_asset))
        .route("/reset-password", get(reset_page))
        .route("/reset-assets/{*path}", get(reset_asset))
}

/// The patient's booking page; like the call page, one page for every token.
async fn book_page(headers: HeaderMap) -> Response {
    serve("book/index.html", &headers, false)
}

async fn book_asset(Path(path): Path<String>, headers: HeaderMap) -> Response {
    serve(&format!("book/{path}"), &headers, false)
}

/// The page of a patient's manage link.
async fn manage_page(headers: HeaderMap) -> Response {
    serve("manage/index.html", &headers, false)
}

async fn manage_asset(Path(path): Path<String>, headers: HeaderMap) -> Response {
    serve(&format!("manage/{path}"), &headers, false)
}

/// The page of the e-mailed password-reset link (SPEC §3); it reads the tenant and the
/// token from its address and never sends them anywhere but `/api/auth/reset-password`.
async fn reset_page(headers: HeaderMap) -> Response {
    serve("reset/index.html", &headers, false)
}

async fn reset_asset(Path(path): Path<String>, headers: HeaderMap) -> Response {
    serve(&format!("reset/{path}"), &headers, false)
}

async fn console_index(headers: HeaderMap) -> Response {
    serve("console/index.html", &headers, false)
}

async fn console_asset(Path(path): Path<String>, headers: HeaderMap) -> Response {
    serve(&format!("console/{path}"), &headers, false)
}

/// Third-party browser modules kept in the repository (no CDN), shared by the console and
/// the public pages.
async fn vendor_asset(State(state): State<AppState>, Path(path): Path<String>, headers: HeaderMap) -> Response {
    serve(&format!("vendor/{path}"), &headers, state.config.call_page_embedding)
}

/// The page a patient opens from an access link. The token is read by the page's script
/// from the address; the page itself is the same for every token.
async fn call_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    serve("call/index.html", &headers, state.config.call_page_embedding)
}

async fn call_asset(State(state): State<AppState>, Path(path): Path<String>, headers: HeaderMap) -> Response {
    serve(&format!("call/{path}"), &headers, state.config.call_page_embedding)
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or_default() {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "json" => "application/json",
        _ => "application/octet-stream",
    }
}

/// Serves one embedded file; `embeddable` lets other sites frame it (the patient page,
/// when `call_page_embedding` is on).
fn serve(path: &str, request: &HeaderMap, embeddable: bool) -> Response {
    let Some(file) = Assets::get(path) else {
        return (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            "Not found",
        )
            .into_response();
    };
    let etag = format!(
        "\"{}\"",
        file.metadata
            .sha256_hash()
            .iter()
            .take(12)
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    let mut response = if request.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) == Some(etag.as_str()) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        Response::new(Body::from(file.data.into_owned()))
    };
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type(path)));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(value) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, value);
    }
    let frame_ancestors = if embeddable { "*" } else { "'none'" };
    if let Ok(csp) = HeaderValue::from_str(&format!("{CSP}; frame-ancestors {frame_ancestors}")) {
        headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    if embeddable {
        response.extensions_mut().insert(crate::http::layers::Frameable);
    }
    response
}
