//! `GET /api/v1/audit-log` (manager): read-only; no endpoint edits or deletes a row.

use axum::Json;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::store::{self, AuditEntry, AuditFilters};
use crate::auth::{Auth, min};
use crate::db::query::DateRange;
use crate::error::ApiError;
use crate::http::extract::Query;
use crate::http::pagination::{Page, Paging, PagingParams};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_audit_log))
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
