//! `/api/v1/api-keys` (manager): create (the key is shown once), list, delete.

use axum::Json;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::store::{self, ApiKey, NewKey};
use crate::auth::{Role, min};
use crate::error::{ApiError, FieldErrors};
use crate::http::auth::Auth;
use crate::http::extract::{JsonBody, Path, Wrapped};
use crate::http::pagination::{Page, Paging, PagingParams};
use crate::http::{Data, ErrorBody, created};
use crate::state::AppState;
use crate::{time, validation};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_api_keys, create_api_key))
        .routes(routes!(delete_api_key))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ApiKeyInput {
    name: Option<String>,
    /// `attendant`, `supervisor` or `manager`; not above the caller's role, never `owner`.
    role: Option<String>,
    /// RFC 3339, in the future; none: the key does not expire.
    expires_at: Option<String>,
}

impl Wrapped for ApiKeyInput {
    const KEYS: &'static [&'static str] = &["api_key"];
}

#[utoipa::path(get, path = "/api/v1/api-keys", tag = "api-keys", security(("bearer" = [])), params(PagingParams),
    responses((status = 200, description = "The live keys, without the keys themselves", body = Page<ApiKey>)))]
async fn list_api_keys(auth: Auth<min::Manager>, paging: Paging) -> Result<Json<Page<ApiKey>>, ApiError> {
    let order = paging.order(&store::SORT)?;
    Ok(Json(auth.db().read(move |conn| store::list(conn, &order)).await?))
}

/// Creates a key. The response's `key` is the only time it is shown; it is stored as a
/// SHA-256 hash. A role above the caller's, or `owner`, → 403.
#[utoipa::path(post, path = "/api/v1/api-keys", tag = "api-keys", security(("bearer" = [])), request_body = ApiKeyInput,
    responses((status = 201, description = "The key, shown once", body = Data<ApiKey>),
        (status = 403, description = "Role above the caller's, or owner", body = ErrorBody)))]
async fn create_api_key(
    auth: Auth<min::Manager>,
    JsonBody(input): JsonBody<ApiKeyInput>,
) -> Result<(StatusCode, Json<Data<ApiKey>>), ApiError> {
    let mut errors = FieldErrors::new();
    let name = validation::required_text(&mut errors, "name", input.name.as_deref(), 200);
    let role = match input.role.as_deref().map(str::trim) {
        None | Some("") => {
            errors.add("role", "can't be blank");
            None
        }
        Some(text) => {
            let role = Role::parse(text);
            if role.is_none() {
                errors.add("role", "is invalid");
            }
            role
        }
    };
    let expires_at = validation::timestamp(&mut errors, "expires_at", input.expires_at.as_deref());
    if expires_at.is_some_and(|at| at <= time::now()) {
        errors.add("expires_at", "must be in the future");
    }
    errors.into_result()?;
    let role = role.unwrap_or(Role::Attendant);
    if role == Role::Owner || role > auth.role() {
        return Err(ApiError::Forbidden(
            "A key cannot have a role above yours, or owner".into(),
        ));
    }
    let new = NewKey {
        name: name.unwrap_or_default(),
        role,
        expires_at: expires_at.map(time::format),
        user_id: auth.user.id.clone(),
        key: super::new_key(&auth.tenant.slug),
    };
    Ok(created(auth.db().write(move |conn| store::insert(conn, &new)).await?))
}

/// Deletes a key; requests with it are refused from this moment.
#[utoipa::path(delete, path = "/api/v1/api-keys/{id}", tag = "api-keys", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 204, description = "Deleted"), (status = 404, description = "No such key", body = ErrorBody)))]
async fn delete_api_key(
    axum::extract::State(state): axum::extract::State<AppState>,
    auth: Auth<min::Manager>,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, ApiError> {
    let id = id.to_string();
    let key_id = id.clone();
    auth.db().write(move |conn| store::delete(conn, &key_id)).await?;
    state.api_keys.forget(&auth.tenant.slug, &id);
    Ok(StatusCode::NO_CONTENT)
}
