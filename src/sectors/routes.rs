//! `/api/v1/sectors` (supervisor).

use axum::Json;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::Sector;
use super::store::{self, SectorFields};
use crate::auth::min;
use crate::error::{ApiError, FieldErrors};
use crate::http::auth::Auth;
use crate::http::extract::{JsonBody, Path, Query, Wrapped, nullable};
use crate::http::pagination::{Page, Paging, PagingParams};
use crate::http::{Data, ErrorBody, created, ok};
use crate::state::AppState;
use crate::validation;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_sectors, create_sector))
        .routes(routes!(get_sector, update_sector, delete_sector))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SectorInput {
    name: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    description: Option<Option<String>>,
    active: Option<bool>,
}

impl Wrapped for SectorInput {
    const KEYS: &'static [&'static str] = &["sector"];
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SectorQuery {
    search: Option<String>,
    active: Option<bool>,
}

fn validate(input: SectorInput, creating: bool) -> Result<SectorFields, ApiError> {
    let mut errors = FieldErrors::new();
    let name = if creating || input.name.is_some() {
        validation::required_text(&mut errors, "name", input.name.as_deref(), 200)
    } else {
        None
    };
    let description = input
        .description
        .map(|d| validation::optional_text(&mut errors, "description", d.as_deref(), 2000));
    errors.into_result()?;
    Ok(SectorFields {
        name,
        description,
        active: input.active,
    })
}

#[utoipa::path(get, path = "/api/v1/sectors", tag = "sectors", security(("bearer" = [])), params(PagingParams, SectorQuery),
    responses((status = 200, body = Page<Sector>), (status = 403, body = ErrorBody)))]
async fn list_sectors(
    auth: Auth<min::Supervisor>,
    paging: Paging,
    Query(query): Query<SectorQuery>,
) -> Result<Json<Page<Sector>>, ApiError> {
    let order = paging.order(&store::SORT)?;
    Ok(Json(
        auth.db()
            .read(move |conn| store::list(conn, query.search.as_deref(), query.active, &order))
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/sectors", tag = "sectors", security(("bearer" = [])), request_body = SectorInput,
    responses((status = 201, body = Data<Sector>), (status = 422, body = ErrorBody)))]
async fn create_sector(
    auth: Auth<min::Supervisor>,
    JsonBody(input): JsonBody<SectorInput>,
) -> Result<(StatusCode, Json<Data<Sector>>), ApiError> {
    let fields = validate(input, true)?;
    Ok(created(
        auth.db().write(move |conn| store::insert(conn, &fields)).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/sectors/{id}", tag = "sectors", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = Data<Sector>), (status = 404, body = ErrorBody)))]
async fn get_sector(auth: Auth<min::Supervisor>, Path(id): Path<Uuid>) -> Result<Json<Data<Sector>>, ApiError> {
    Ok(ok(auth
        .db()
        .read(move |conn| store::find(conn, &id.to_string()))
        .await?))
}

#[utoipa::path(put, path = "/api/v1/sectors/{id}", tag = "sectors", security(("bearer" = [])), request_body = SectorInput,
    params(("id" = String, Path)),
    responses((status = 200, body = Data<Sector>), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_sector(
    auth: Auth<min::Supervisor>,
    Path(id): Path<Uuid>,
    JsonBody(input): JsonBody<SectorInput>,
) -> Result<Json<Data<Sector>>, ApiError> {
    let fields = validate(input, false)?;
    Ok(ok(auth
        .db()
        .write(move |conn| store::update(conn, &id.to_string(), &fields))
        .await?))
}

/// Deletes a sector; its departments stay, with `sector_id` set to null.
#[utoipa::path(delete, path = "/api/v1/sectors/{id}", tag = "sectors", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 204, description = "Deleted"), (status = 404, body = ErrorBody)))]
async fn delete_sector(auth: Auth<min::Supervisor>, Path(id): Path<Uuid>) -> Result<StatusCode, ApiError> {
    auth.db()
        .write(move |conn| store::delete(conn, &id.to_string()))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
