//! `/api/v1/export/*.csv` (supervisor): calls, customers and access links, oldest first,
//! with the reference's columns.

use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::{Export, neutralise, stream, text_cells};
use crate::access_links::rules::LinkStatus;
use crate::access_links::store::{self as links, LinkFilters};
use crate::auth::Visibility;
use crate::auth::min;
use crate::calls::rules::CallStatus;
use crate::calls::store::{self as calls, CallFilters};
use crate::db::query::DateRange;
use crate::error::ApiError;
use crate::http::ErrorBody;
use crate::http::auth::Auth;
use crate::http::extract::{Query, status_filter};
use crate::state::AppState;

/// Days `calls.csv` looks back when `date_from` is not given.
const CALLS_DEFAULT_DAYS: u64 = 30;

const CALL_COLUMNS: &[&str] = &[
    "id",
    "status",
    "department",
    "attendant",
    "customer_name",
    "customer_email",
    "duration",
    "wait_time",
    "rating",
    "started_at",
    "completed_at",
    "provider",
    "protocol",
];
const CUSTOMER_COLUMNS: &[&str] = &[
    "id",
    "name",
    "email",
    "phone",
    "document",
    "call_count",
    "last_call_at",
    "created_at",
];
const LINK_COLUMNS: &[&str] = &[
    "id",
    "token",
    "url",
    "status",
    "department",
    "customer_name",
    "customer_email",
    "customer_phone",
    "expires_at",
    "used_at",
    "inserted_at",
];

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(export_calls))
        .routes(routes!(export_customers))
        .routes(routes!(export_links))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CallExportQuery {
    /// Calls that joined a queue from this day (`YYYY-MM-DD`, company time zone) or RFC
    /// 3339 time; default 30 days ago.
    date_from: Option<String>,
    /// Up to and including this day (or time); default today.
    date_to: Option<String>,
    /// `queued`, `active`, `completed`, `missed` or `cancelled`.
    status: Option<String>,
    department_id: Option<Uuid>,
    /// Calls attributed to this service provider.
    provider_id: Option<Uuid>,
}

/// `id,status,department,attendant,customer_name,customer_email,duration,wait_time,rating,started_at,completed_at`
/// (durations in seconds), in the order the customers joined.
#[utoipa::path(get, path = "/api/v1/export/calls.csv", tag = "export", security(("bearer" = [])),
    params(CallExportQuery),
    responses((status = 200, description = "RFC 4180 CSV", content_type = "text/csv"),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn export_calls(auth: Auth<min::Supervisor>, Query(query): Query<CallExportQuery>) -> Result<Response, ApiError> {
    let status = status_filter(query.status.as_deref(), CallStatus::parse)?;
    let dates = DateRange::parse(query.date_from.as_deref(), query.date_to.as_deref())?;
    stream(auth.db().clone(), "calls.csv", move |conn| {
        let zone = crate::company::store::timezone(conn)?;
        let filters = CallFilters {
            status,
            department_id: query.department_id.map(|id| id.to_string()),
            provider_id: query.provider_id.map(|id| id.to_string()),
            dates: dates.or_last_days(CALLS_DEFAULT_DAYS, zone),
            ..CallFilters::default()
        };
        let filter = calls::filter(conn, &Visibility::All, &filters)?;
        Ok(Export {
            header: CALL_COLUMNS,
            sql: format!(
                "SELECT c.id, c.status, d.name, u.name, cu.name, cu.email, {}, {}, c.rating, c.started_at, c.completed_at,
                        c.provider_name, c.protocol
                 FROM {} {} ORDER BY c.inserted_at, c.id",
                calls::DURATION,
                calls::WAIT_TIME,
                calls::FROM,
                filter.where_clause()
            ),
            params: filter.params().to_vec(),
            cells: Box::new(|row| text_cells(row, CALL_COLUMNS.len())),
        })
    })
    .await
}

/// `id,name,email,phone,document,call_count,last_call_at,created_at`, oldest first.
#[utoipa::path(get, path = "/api/v1/export/customers.csv", tag = "export", security(("bearer" = [])),
    responses((status = 200, description = "RFC 4180 CSV", content_type = "text/csv"), (status = 403, body = ErrorBody)))]
async fn export_customers(auth: Auth<min::Supervisor>) -> Result<Response, ApiError> {
    stream(auth.db().clone(), "customers.csv", |_| {
        Ok(Export {
            header: CUSTOMER_COLUMNS,
            sql: format!(
                "SELECT c.id, c.name, c.email, c.phone, c.document, c.call_count, c.last_call_at, c.inserted_at
                 FROM {} ORDER BY c.inserted_at, c.id",
                crate::customers::store::FROM
            ),
            params: Vec::new(),
            cells: Box::new(|row| text_cells(row, CUSTOMER_COLUMNS.len())),
        })
    })
    .await
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LinkExportQuery {
    /// `active`, `used`, `expired` or `cancelled` (as of now).
    status: Option<String>,
    department_id: Option<Uuid>,
}

/// `id,token,url,status,department,customer_name,customer_email,customer_phone,expires_at,used_at,inserted_at`,
/// oldest first.
#[utoipa::path(get, path = "/api/v1/export/links.csv", tag = "export", security(("bearer" = [])),
    params(LinkExportQuery),
    responses((status = 200, description = "RFC 4180 CSV", content_type = "text/csv"),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn export_links(
    auth: Auth<min::Supervisor>,
    State(state): State<AppState>,
    Query(query): Query<LinkExportQuery>,
) -> Result<Response, ApiError> {
    let filters = LinkFilters {
        status: status_filter(query.status.as_deref(), LinkStatus::parse)?,
        department_id: query.department_id.map(|id| id.to_string()),
    };
    let base = state.config.public_base();
    stream(auth.db().clone(), "links.csv", move |_| {
        let filter = links::filter(&filters);
        Ok(Export {
            header: LINK_COLUMNS,
            sql: format!(
                "SELECT l.id, l.token, {}, d.name, l.customer_name, l.customer_email, l.customer_phone,
                        l.expires_at, l.used_at, l.inserted_at
                 FROM {} {} ORDER BY l.inserted_at, l.id",
                links::STATUS,
                links::FROM,
                filter.where_clause()
            ),
            params: filter.params().to_vec(),
            cells: Box::new(move |row| {
                let mut cells = text_cells(row, LINK_COLUMNS.len() - 1)?;
                let token: String = row.get(1)?;
                cells.insert(2, neutralise(&links::url(&base, &token)).into_owned());
                Ok(cells)
            }),
        })
    })
    .await
}
