//! `/api/v1/customers` (attendant; merge: supervisor).

use axum::Json;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::Customer;
use super::privacy::{self, CustomerExport};
use super::store::{self, CustomerFields};
use crate::auth::min;
use crate::error::{ApiError, FieldErrors};
use crate::http::auth::Auth;
use crate::http::extract::{JsonBody, Path, Query, Wrapped, body_id, nullable};
use crate::http::pagination::{Page, Paging, PagingParams};
use crate::http::{Data, ErrorBody, created, ok};
use crate::state::AppState;
use crate::validation;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_customers, create_customer))
        .routes(routes!(merge_customers))
        .routes(routes!(get_customer, update_customer, delete_customer))
        .routes(routes!(export_customer))
        .routes(routes!(erase_customer))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CustomerInput {
    name: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    email: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    phone: Option<Option<String>>,
    /// CPF or CNPJ, with or without punctuation.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    document: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    notes: Option<Option<String>>,
}

impl Wrapped for CustomerInput {
    const KEYS: &'static [&'static str] = &["customer"];
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CustomerQuery {
    /// Case-insensitive substring of the name, e-mail or phone.
    search: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct MergeInput {
    primary_id: Option<String>,
    secondary_ids: Option<Vec<String>>,
}

impl Wrapped for MergeInput {
    const KEYS: &'static [&'static str] = &["merge"];
}

fn validate(input: CustomerInput, creating: bool) -> Result<CustomerFields, ApiError> {
    let mut errors = FieldErrors::new();
    let name = if creating || input.name.is_some() {
        validation::required_text(&mut errors, "name", input.name.as_deref(), 200)
    } else {
        None
    };
    let fields = CustomerFields {
        name,
        email: input
            .email
            .map(|e| validation::email(&mut errors, "email", e.as_deref(), false)),
        phone: input
            .phone
            .map(|p| validation::phone(&mut errors, "phone", p.as_deref())),
        document: input
            .document
            .map(|d| validation::tax_document(&mut errors, "document", d.as_deref())),
        notes: input
            .notes
            .map(|n| validation::optional_text(&mut errors, "notes", n.as_deref(), 5000)),
    };
    errors.into_result()?;
    Ok(fields)
}

#[utoipa::path(get, path = "/api/v1/customers", tag = "customers", security(("bearer" = [])), params(PagingParams, CustomerQuery),
    responses((status = 200, body = Page<Customer>), (status = 401, body = ErrorBody)))]
async fn list_customers(
    auth: Auth<min::Attendant>,
    paging: Paging,
    Query(query): Query<CustomerQuery>,
) -> Result<Json<Page<Customer>>, ApiError> {
    let order = paging.order(&store::SORT)?;
    Ok(Json(
        auth.db()
            .read_scanning(query.search.is_some(), move |conn| {
                store::list(conn, query.search.as_deref(), &order)
            })
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/customers", tag = "customers", security(("bearer" = [])), request_body = CustomerInput,
    responses((status = 201, body = Data<Customer>), (status = 422, body = ErrorBody)))]
async fn create_customer(
    auth: Auth<min::Attendant>,
    JsonBody(input): JsonBody<CustomerInput>,
) -> Result<(StatusCode, Json<Data<Customer>>), ApiError> {
    let fields = validate(input, true)?;
    Ok(created(
        auth.db().write(move |conn| store::create(conn, &fields)).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/customers/{id}", tag = "customers", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = Data<Customer>), (status = 404, body = ErrorBody)))]
async fn get_customer(auth: Auth<min::Attendant>, Path(id): Path<Uuid>) -> Result<Json<Data<Customer>>, ApiError> {
    Ok(ok(auth
        .db()
        .write(move |conn| store::view(conn, &id.to_string()))
        .await?))
}

#[utoipa::path(put, path = "/api/v1/customers/{id}", tag = "customers", security(("bearer" = [])), request_body = CustomerInput,
    params(("id" = String, Path)),
    responses((status = 200, body = Data<Customer>), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_customer(
    auth: Auth<min::Attendant>,
    Path(id): Path<Uuid>,
    JsonBody(input): JsonBody<CustomerInput>,
) -> Result<Json<Data<Customer>>, ApiError> {
    let fields = validate(input, false)?;
    Ok(ok(auth
        .db()
        .write(move |conn| store::update(conn, &id.to_string(), &fields))
        .await?))
}

/// Deletes a customer without calls or appointments; otherwise 422
/// `Customer has history; merge it instead`.
#[utoipa::path(delete, path = "/api/v1/customers/{id}", tag = "customers", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 204, description = "Deleted"), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn delete_customer(auth: Auth<min::Attendant>, Path(id): Path<Uuid>) -> Result<StatusCode, ApiError> {
    auth.db()
        .write(move |conn| store::delete(conn, &id.to_string()))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Merges duplicates into `primary_id`: calls, appointments and evaluations of the
/// `secondary_ids` move to the primary, counts are added up, the secondaries are deleted;
/// all in one transaction.
#[utoipa::path(post, path = "/api/v1/customers/merge", tag = "customers", security(("bearer" = [])), request_body = MergeInput,
    responses((status = 200, body = Data<Customer>), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn merge_customers(
    auth: Auth<min::Supervisor>,
    JsonBody(input): JsonBody<MergeInput>,
) -> Result<Json<Data<Customer>>, ApiError> {
    let mut errors = FieldErrors::new();
    if input.primary_id.as_deref().is_none_or(|p| p.trim().is_empty()) {
        errors.add("primary_id", "can't be blank");
    }
    let primary = body_id(
        &mut errors,
        "primary_id",
        input.primary_id.as_deref().filter(|p| !p.trim().is_empty()),
    );
    let secondaries = input.secondary_ids.unwrap_or_default();
    if secondaries.is_empty() {
        errors.add("secondary_ids", "can't be blank");
    }
    if secondaries.len() > 100 {
        errors.add("secondary_ids", "should have at most 100 item(s)");
    }
    let mut secondary_ids = Vec::new();
    for (index, raw) in secondaries.iter().enumerate() {
        if let Some(id) = body_id(&mut errors, &format!("secondary_ids.{index}"), Some(raw)) {
            if Some(id) == primary {
                errors.add("secondary_ids", "must not contain the primary");
            } else if !secondary_ids.contains(&id.to_string()) {
                secondary_ids.push(id.to_string());
            }
        }
    }
    errors.into_result()?;
    let primary = primary.map(|p| p.to_string()).unwrap_or_default();
    Ok(ok(auth
        .db()
        .write(move |conn| store::merge(conn, &primary, &secondary_ids))
        .await?))
}

/// Everything held about the customer (record, appointments, calls with their file names,
/// chat messages, evaluations) as one JSON document; recorded as `customer.export`.
#[utoipa::path(get, path = "/api/v1/customers/{id}/export", tag = "customers", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, description = "The customer's data", body = Data<CustomerExport>),
        (status = 404, description = "No such customer", body = ErrorBody)))]
async fn export_customer(
    auth: Auth<min::Manager>,
    Path(id): Path<Uuid>,
) -> Result<Json<Data<CustomerExport>>, ApiError> {
    Ok(ok(auth
        .db()
        .write(move |conn| privacy::export(conn, &id.to_string()))
        .await?))
}

/// Erases the customer's personal data for good (irreversible): the name becomes
/// `Erased customer`; e-mail, phone, document, notes, chat message bodies, uploaded files
/// and access-link contact fields are removed; calls, appointments and figures stay.
#[utoipa::path(post, path = "/api/v1/customers/{id}/erase", tag = "customers", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, description = "The erased customer", body = Data<Customer>),
        (status = 404, description = "No such customer", body = ErrorBody)))]
async fn erase_customer(
    axum::extract::State(state): axum::extract::State<AppState>,
    auth: Auth<min::Manager>,
    Path(id): Path<Uuid>,
) -> Result<Json<Data<Customer>>, ApiError> {
    let erased = auth
        .db()
        .write(move |conn| privacy::erase(conn, &id.to_string()))
        .await?;
    for (call_id, file_id) in &erased.files {
        let dir = crate::calls::files::call_dir(state.tenants.data_dir(), &auth.tenant.slug, call_id);
        if let Err(err) = tokio::fs::remove_file(dir.join(file_id)).await
            && err.kind() != std::io::ErrorKind::NotFound
        {
            tracing::error!(call = %call_id, file = %file_id, error = %err, "cannot remove an erased customer's file");
        }
    }
    Ok(ok(erased.customer))
}
