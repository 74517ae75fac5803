//! `GET /api/v1/audit-log` (manager): read-only; no endpoint edits or deletes a row. And
//! the middleware that gives every request its actor.

use axum::Json;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::store::{self, AuditEntry, AuditFilters};
use crate::actor::{Actor, ActorType};
use crate::auth::min;
use crate::db::query::DateRange;
use crate::error::ApiError;
use crate::http::auth::Auth;
use crate::http::extract::Query;
use crate::http::pagination::{Page, Paging, PagingParams};
use crate::http::rate_limit::ClientIp;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_audit_log))
}

/// Paths whose callers are patients, not staff: the widget, booking and manage APIs.
const CUSTOMER_PATHS: &[&str] = &["/api/v1/call/", "/api/v1/book/", "/api/v1/manage/"];

/// Runs the request in an actor scope: the customer on the public patient endpoints, the
/// system elsewhere until the `Auth` extractor names the caller.
pub async fn request_scope(
    State(_): State<AppState>,
    ClientIp(ip): ClientIp,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    let kind = if CUSTOMER_PATHS.iter().any(|prefix| path.starts_with(prefix)) {
        ActorType::Customer
    } else {
        ActorType::System
    };
    let actor = Actor {
        kind,
        id: None,
        name: None,
        ip: Some(ip.to_string()),
    };
    crate::actor::scope(actor, next.run(request)).await
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Snake case, e.g. `appointment`, `access_link`, `service_provider`.
    object_type: Option<String>,
    object_id: Option<String>,
    /// A user's or an API key's id.
    actor_id: Option<String>,
    /// e.g. `appointment.cancel`, `customer.view`.
    action: Option<String>,
    /// From: `YYYY-MM-DD` (company time zone) or RFC 3339.
    date_from: Option<String>,
    /// Until: `YYYY-MM-DD` (that whole day) or RFC 3339.
    date_to: Option<String>,
}

/// The audit log, newest first.
#[utoipa::path(get, path = "/api/v1/audit-log", tag = "audit", security(("bearer" = [])),
    params(PagingParams, AuditQuery),
    responses((status = 200, description = "Audit rows, newest first", body = Page<AuditEntry>)))]
async fn list_audit_log(
    auth: Auth<min::Manager>,
    paging: Paging,
    Query(query): Query<AuditQuery>,
) -> Result<Json<Page<AuditEntry>>, ApiError> {
    let order = paging.order(&store::SORT)?;
    let filters = AuditFilters {
        object_type: query.object_type,
        object_id: query.object_id,
        actor_id: query.actor_id,
        action: query.action,
        dates: DateRange::parse(query.date_from.as_deref(), query.date_to.as_deref())?,
    };
    Ok(Json(
        auth.db().read(move |conn| store::list(conn, &filters, &order)).await?,
    ))
}
