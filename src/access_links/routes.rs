//! `/api/v1/access-links` (supervisor), exactly as the seed: list, get, create (wrapped
//! `{"link": …}`, `{"access_link": …}` or bare), batch, cancel.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::store::{self, LinkFilters};
use super::{AccessLink, LinkStatus, NewLink, issue, issue_with};
use crate::auth::min;
use crate::error::{ApiError, FieldErrors};
use crate::http::auth::Auth;
use crate::http::extract::{JsonBody, Path, Query, Wrapped, body_id, status_filter};
use crate::http::pagination::{Page, Paging, PagingParams};
use crate::http::{Data, ErrorBody, created, ok};
use crate::state::AppState;
use crate::time::{self, Timestamp};
use crate::validation;

/// How long a link stays valid when `expires_at` is not given.
const DEFAULT_LIFETIME_DAYS: i64 = 7;
/// The most links one batch may create.
const MAX_BATCH: usize = 500;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_links, create_link))
        .routes(routes!(create_batch))
        .routes(routes!(get_link))
        .routes(routes!(cancel_link))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct LinkInput {
    department_id: Option<String>,
    customer_name: Option<String>,
    customer_email: Option<String>,
    customer_phone: Option<String>,
    /// RFC 3339, in the future; default now + 7 days.
    expires_at: Option<String>,
    /// Default false: the link is used up by the first customer who joins.
    reusable: Option<bool>,
}

impl Wrapped for LinkInput {
    const KEYS: &'static [&'static str] = &["link", "access_link"];
}

/// One customer of a batch.
#[derive(Debug, Deserialize, ToSchema)]
pub struct BatchEntry {
    customer_name: Option<String>,
    customer_email: Option<String>,
    customer_phone: Option<String>,
}

/// `{department_id, expires_at?, reusable?, links: [{customer_name, customer_email,
/// customer_phone}, …]}` with 1 to 500 links.
#[derive(Debug, Deserialize, ToSchema)]
pub struct BatchInput {
    department_id: Option<String>,
    expires_at: Option<String>,
    reusable: Option<bool>,
    links: Option<Vec<BatchEntry>>,
}

impl Wrapped for BatchInput {
    const KEYS: &'static [&'static str] = &[];
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LinkQuery {
    /// `active`, `used`, `expired` or `cancelled`.
    status: Option<String>,
    department_id: Option<Uuid>,
}

/// The answer to a cancel: `{id, status}` (the seed).
#[derive(Debug, Serialize, ToSchema)]
pub struct CancelledLink {
    id: String,
    status: LinkStatus,
}

struct Customer {
    name: Option<String>,
    email: Option<String>,
    phone: Option<String>,
}

fn customer(errors: &mut FieldErrors, name: Option<&str>, email: Option<&str>, phone: Option<&str>) -> Customer {
    Customer {
        name: validation::optional_text(errors, "customer_name", name, 200),
        email: validation::email(errors, "customer_email", email, false),
        phone: validation::phone(errors, "customer_phone", phone),
    }
}

fn department_id(errors: &mut FieldErrors, value: Option<&str>) -> Option<String> {
    let value = value.filter(|v| !v.trim().is_empty());
    if value.is_none() {
        errors.add("department_id", "can't be blank");
    }
    body_id(errors, "department_id", value).map(|id| id.to_string())
}

fn expires_at(errors: &mut FieldErrors, value: Option<&str>) -> Timestamp {
    let now = time::now();
    match validation::timestamp(errors, "expires_at", value) {
        Some(at) if at <= now => {
            errors.add("expires_at", "must be in the future");
            at
        }
        Some(at) => at,
        None => now + chrono::Duration::days(DEFAULT_LIFETIME_DAYS),
    }
}

fn new_link(department_id: &str, customer: Customer, expires_at: Timestamp, reusable: bool) -> NewLink {
    NewLink {
        department_id: department_id.to_string(),
        customer_name: customer.name,
        customer_email: customer.email,
        customer_phone: customer.phone,
        expires_at,
        reusable,
    }
}

#[utoipa::path(get, path = "/api/v1/access-links", tag = "access-links", security(("bearer" = [])), params(PagingParams, LinkQuery),
    responses((status = 200, body = Page<AccessLink>), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list_links(
    State(state): State<AppState>,
    auth: Auth<min::Supervisor>,
    paging: Paging,
    Query(query): Query<LinkQuery>,
) -> Result<Json<Page<AccessLink>>, ApiError> {
    let order = paging.order(&store::SORT)?;
    let status = status_filter(query.status.as_deref(), LinkStatus::parse)?;
    let filters = LinkFilters {
        status,
        department_id: query.department_id.map(|id| id.to_string()),
    };
    let base = state.config.public_base();
    Ok(Json(
        auth.db()
            .read(move |conn| store::list(conn, &base, &filters, &order))
            .await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/access-links/{id}", tag = "access-links", security(("bearer" = [])),
    params(("id" = String, Path)), responses((status = 200, body = Data<AccessLink>), (status = 404, body = ErrorBody)))]
async fn get_link(
    State(state): State<AppState>,
    auth: Auth<min::Supervisor>,
    Path(id): Path<Uuid>,
) -> Result<Json<Data<AccessLink>>, ApiError> {
    let base = state.config.public_base();
    Ok(ok(auth
        .db()
        .read(move |conn| store::find(conn, &base, &id.to_string()))
        .await?))
}

/// Creates one link: `department_id` (existing, active) is required; customer fields are
/// optional and pre-fill the customer's form; `expires_at` defaults to now + 7 days.
#[utoipa::path(post, path = "/api/v1/access-links", tag = "access-links", security(("bearer" = [])), request_body = LinkInput,
    responses((status = 201, body = Data<AccessLink>), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_link(
    State(state): State<AppState>,
    auth: Auth<min::Supervisor>,
    JsonBody(input): JsonBody<LinkInput>,
) -> Result<(StatusCode, Json<Data<AccessLink>>), ApiError> {
    let mut errors = FieldErrors::new();
    let department = department_id(&mut errors, input.department_id.as_deref());
    let customer = customer(
        &mut errors,
        input.customer_name.as_deref(),
        input.customer_email.as_deref(),
        input.customer_phone.as_deref(),
    );
    let expires_at = expires_at(&mut errors, input.expires_at.as_deref());
    errors.into_result()?;
    let link = new_link(
        &department.unwrap_or_default(),
        customer,
        expires_at,
        input.reusable.unwrap_or(false),
    );
    Ok(created(
        issue(
            &state.tenants,
            &state.config.public_base(),
            &auth.tenant,
            Some(auth.user.id.clone()),
            link,
        )
        .await?,
    ))
}

/// Creates 1 to 500 links for one department in one transaction: any invalid entry
/// refuses the whole batch with its errors by index (`links.2.customer_email`). The
/// answer lists the links in input order.
#[utoipa::path(post, path = "/api/v1/access-links/batch", tag = "access-links", security(("bearer" = [])), request_body = BatchInput,
    responses((status = 201, body = Data<Vec<AccessLink>>), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_batch(
    State(state): State<AppState>,
    auth: Auth<min::Supervisor>,
    JsonBody(input): JsonBody<BatchInput>,
) -> Result<(StatusCode, Json<Data<Vec<AccessLink>>>), ApiError> {
    let mut errors = FieldErrors::new();
    let department = department_id(&mut errors, input.department_id.as_deref()).unwrap_or_default();
    let expires_at = expires_at(&mut errors, input.expires_at.as_deref());
    let entries = input.links.unwrap_or_default();
    match entries.len() {
        0 => errors.add("links", "can't be blank"),
        n if n > MAX_BATCH => errors.add("links", format!("should have at most {MAX_BATCH} item(s)")),
        _ => {}
    }
    let reusable = input.reusable.unwrap_or(false);
    let mut links = Vec::with_capacity(entries.len());
    for (index, entry) in entries.iter().enumerate() {
        let mut entry_errors = FieldErrors::new();
        let customer = customer(
            &mut entry_errors,
            entry.customer_name.as_deref(),
            entry.customer_email.as_deref(),
            entry.customer_phone.as_deref(),
        );
        errors.nest(&format!("links.{index}"), entry_errors);
        links.push(new_link(&department, customer, expires_at, reusable));
    }
    errors.into_result()?;
    let (links, ()) = issue_with(
        &state.tenants,
        &state.config.public_base(),
        &auth.tenant,
        Some(auth.user.id.clone()),
        links,
        |_, _| Ok(()),
    )
    .await?;
    Ok(created(links))
}

/// Cancels an active link (200 `{id, status}`); cancelling a cancelled link again is a
/// no-op; a used or expired link → 422.
#[utoipa::path(post, path = "/api/v1/access-links/{id}/cancel", tag = "access-links", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Data<CancelledLink>), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn cancel_link(
    State(state): State<AppState>,
    auth: Auth<min::Supervisor>,
    Path(id): Path<Uuid>,
) -> Result<Json<Data<CancelledLink>>, ApiError> {
    let base = state.config.public_base();
    let link = auth
        .db()
        .write(move |conn| store::cancel(conn, &base, &id.to_string()))
        .await?;
    Ok(ok(CancelledLink {
        id: link.id,
        status: link.status,
    }))
}
