//! `/api/v1/providers`: supervisors may list and view, managers create, edit, delete and
//! associate users (the seed's permission table).

use axum::Json;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::ServiceProvider;
use super::store::{self, ProviderFields};
use crate::auth::min;
use crate::error::{ApiError, FieldErrors};
use crate::http::auth::Auth;
use crate::http::extract::{JsonBody, Path, Query, Wrapped, nullable};
use crate::http::pagination::{Page, Paging, PagingParams};
use crate::http::{Data, ErrorBody, created, ok};
use crate::state::AppState;
use crate::users::routes::UserIdInput;
use crate::users::{self, User};
use crate::validation;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_providers, create_provider))
        .routes(routes!(get_provider, update_provider, delete_provider))
        .routes(routes!(list_provider_users, associate_user))
        .routes(routes!(dissociate_user))
}

/// Wrapped as `{"service_provider": {...}}` (the seed), `{"provider": {...}}`, or bare.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ProviderInput {
    name: Option<String>,
    /// CNPJ (14 digits) or CPF (11 digits), with or without punctuation.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    document: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    email: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    phone: Option<Option<String>>,
    active: Option<bool>,
}

impl Wrapped for ProviderInput {
    const KEYS: &'static [&'static str] = &["service_provider", "provider"];
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProviderQuery {
    /// Case-insensitive substring of the name, document or e-mail.
    search: Option<String>,
    active: Option<bool>,
}

fn validate(input: ProviderInput, creating: bool) -> Result<ProviderFields, ApiError> {
    let mut errors = FieldErrors::new();
    let name = if creating || input.name.is_some() {
        validation::required_text(&mut errors, "name", input.name.as_deref(), 200)
    } else {
        None
    };
    let fields = ProviderFields {
        name,
        document: input
            .document
            .map(|d| validation::tax_document(&mut errors, "document", d.as_deref())),
        email: input
            .email
            .map(|e| validation::email(&mut errors, "email", e.as_deref(), false)),
        phone: input
            .phone
            .map(|p| validation::phone(&mut errors, "phone", p.as_deref())),
        active: input.active,
    };
    errors.into_result()?;
    Ok(fields)
}

#[utoipa::path(get, path = "/api/v1/providers", tag = "providers", security(("bearer" = [])), params(PagingParams, ProviderQuery),
    responses((status = 200, body = Page<ServiceProvider>), (status = 403, body = ErrorBody)))]
async fn list_providers(
    auth: Auth<min::Supervisor>,
    paging: Paging,
    Query(query): Query<ProviderQuery>,
) -> Result<Json<Page<ServiceProvider>>, ApiError> {
    let order = paging.order(&store::SORT)?;
    Ok(Json(
        auth.db()
            .read(move |conn| store::list(conn, query.search.as_deref(), query.active, &order))
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/providers", tag = "providers", security(("bearer" = [])), request_body = ProviderInput,
    responses((status = 201, body = Data<ServiceProvider>), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_provider(
    auth: Auth<min::Manager>,
    JsonBody(input): JsonBody<ProviderInput>,
) -> Result<(StatusCode, Json<Data<ServiceProvider>>), ApiError> {
    let fields = validate(input, true)?;
    Ok(created(
        auth.db().write(move |conn| store::insert(conn, &fields)).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/providers/{id}", tag = "providers", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = Data<ServiceProvider>), (status = 404, body = ErrorBody)))]
async fn get_provider(
    auth: Auth<min::Supervisor>,
    Path(id): Path<Uuid>,
) -> Result<Json<Data<ServiceProvider>>, ApiError> {
    Ok(ok(auth
        .db()
        .read(move |conn| store::find(conn, &id.to_string()))
        .await?))
}

/// Update any field; `active: false` deactivates the provider (its history stays).
#[utoipa::path(put, path = "/api/v1/providers/{id}", tag = "providers", security(("bearer" = [])), request_body = ProviderInput,
    params(("id" = String, Path)),
    responses((status = 200, body = Data<ServiceProvider>), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_provider(
    auth: Auth<min::Manager>,
    Path(id): Path<Uuid>,
    JsonBody(input): JsonBody<ProviderInput>,
) -> Result<Json<Data<ServiceProvider>>, ApiError> {
    let fields = validate(input, false)?;
    Ok(ok(auth
        .db()
        .write(move |conn| store::update(conn, &id.to_string(), &fields))
        .await?))
}

/// Deletes a provider without attributed calls and dissociates its users; one with
/// calls → 422 (deactivate it instead).
#[utoipa::path(delete, path = "/api/v1/providers/{id}", tag = "providers", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 204, description = "Deleted"), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn delete_provider(auth: Auth<min::Manager>, Path(id): Path<Uuid>) -> Result<StatusCode, ApiError> {
    auth.db()
        .write(move |conn| store::delete(conn, &id.to_string()))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/providers/{id}/users", tag = "providers", security(("bearer" = [])),
    params(("id" = String, Path), PagingParams), responses((status = 200, body = Page<User>), (status = 404, body = ErrorBody)))]
async fn list_provider_users(
    auth: Auth<min::Supervisor>,
    Path(id): Path<Uuid>,
    paging: Paging,
) -> Result<Json<Page<User>>, ApiError> {
    let order = paging.order(&users::store::SORT)?;
    let page = auth
        .db()
        .read(move |conn| {
            store::find(conn, &id.to_string())?;
            let filters = users::store::UserFilters {
                provider_id: Some(id.to_string()),
                ..Default::default()
            };
            users::store::list(conn, &filters, &order)
        })
        .await?;
    Ok(Json(page))
}

/// Associates a user (`{"user_id": …}`): 200, also when already associated with this
/// provider; 422 when the user belongs to another provider. Answers the user.
#[utoipa::path(post, path = "/api/v1/providers/{id}/users", tag = "providers", security(("bearer" = [])), request_body = UserIdInput,
    params(("id" = String, Path)),
    responses((status = 200, body = Data<User>), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn associate_user(
    auth: Auth<min::Manager>,
    Path(id): Path<Uuid>,
    JsonBody(input): JsonBody<UserIdInput>,
) -> Result<Json<Data<User>>, ApiError> {
    let user_id = input.required()?;
    let user = auth
        .db()
        .write(move |conn| {
            store::find(conn, &id.to_string())?;
            store::associate(conn, &id.to_string(), &user_id)?;
            users::store::find(conn, &user_id)
        })
        .await?;
    Ok(ok(user))
}

#[utoipa::path(delete, path = "/api/v1/providers/{id}/users/{user_id}", tag = "providers", security(("bearer" = [])),
    params(("id" = String, Path), ("user_id" = String, Path)),
    responses((status = 204, description = "Dissociated (or was not associated)"), (status = 404, body = ErrorBody)))]
async fn dissociate_user(
    auth: Auth<min::Manager>,
    Path((id, user_id)): Path<(Uuid, Uuid)>,
) -> Result<StatusCode, ApiError> {
    auth.db()
        .write(move |conn| {
            store::find(conn, &id.to_string())?;
            users::store::find(conn, &user_id.to_string())?;
            store::dissociate(conn, &id.to_string(), &user_id.to_string())
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
