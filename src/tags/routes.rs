//! `/api/v1/tags` (attendant; delete: supervisor).

use axum::Json;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::store::{self, TagFields};
use super::{Tag, TagNode};
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
        .routes(routes!(list_tags, create_tag))
        .routes(routes!(tag_tree))
        .routes(routes!(get_tag, update_tag, delete_tag))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct TagInput {
    name: Option<String>,
    /// `#rrggbb`; default `#6b7280`.
    color: Option<String>,
    /// An existing tag; must not make a cycle. Null makes the tag a root.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    parent_id: Option<Option<String>>,
}

impl Wrapped for TagInput {
    const KEYS: &'static [&'static str] = &["tag"];
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TagQuery {
    /// Case-insensitive substring of the name.
    search: Option<String>,
}

fn validate(input: TagInput, creating: bool) -> Result<TagFields, ApiError> {
    let mut errors = FieldErrors::new();
    let name = if creating || input.name.is_some() {
        validation::required_text(&mut errors, "name", input.name.as_deref(), 100)
    } else {
        None
    };
    let color = input.color.as_deref().and_then(|c| {
        let color = validation::hex_color(&mut errors, "color", Some(c));
        if color.is_none() && !errors.has("color") {
            errors.add("color", "can't be blank");
        }
        color
    });
    let parent_id = input
        .parent_id
        .map(|p| body_id(&mut errors, "parent_id", p.as_deref()).map(|id| id.to_string()));
    errors.into_result()?;
    Ok(TagFields { name, color, parent_id })
}

#[utoipa::path(get, path = "/api/v1/tags", tag = "tags", security(("bearer" = [])), params(PagingParams, TagQuery),
    responses((status = 200, body = Page<Tag>), (status = 401, body = ErrorBody)))]
async fn list_tags(
    auth: Auth<min::Attendant>,
    paging: Paging,
    Query(query): Query<TagQuery>,
) -> Result<Json<Page<Tag>>, ApiError> {
    let order = paging.order(&store::SORT)?;
    Ok(Json(
        auth.db()
            .read(move |conn| store::list(conn, query.search.as_deref(), &order))
            .await?,
    ))
}

/// Every tag as a tree: the roots, each with its nested `children`.
#[utoipa::path(get, path = "/api/v1/tags/tree", tag = "tags", security(("bearer" = [])),
    responses((status = 200, body = Data<Vec<TagNode>>), (status = 401, body = ErrorBody)))]
async fn tag_tree(auth: Auth<min::Attendant>) -> Result<Json<Data<Vec<TagNode>>>, ApiError> {
    Ok(ok(auth.db().read(store::tree).await?))
}

#[utoipa::path(post, path = "/api/v1/tags", tag = "tags", security(("bearer" = [])), request_body = TagInput,
    responses((status = 201, body = Data<Tag>), (status = 422, body = ErrorBody)))]
async fn create_tag(
    auth: Auth<min::Attendant>,
    JsonBody(input): JsonBody<TagInput>,
) -> Result<(StatusCode, Json<Data<Tag>>), ApiError> {
    let fields = validate(input, true)?;
    Ok(created(
        auth.db().write(move |conn| store::insert(conn, &fields)).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/tags/{id}", tag = "tags", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = Data<Tag>), (status = 404, body = ErrorBody)))]
async fn get_tag(auth: Auth<min::Attendant>, Path(id): Path<Uuid>) -> Result<Json<Data<Tag>>, ApiError> {
    Ok(ok(auth
        .db()
        .read(move |conn| store::find(conn, &id.to_string()))
        .await?))
}

/// Renames, recolours or moves a tag; a parent below the tag itself → 422
/// `parent_id: ["would create a cycle"]`.
#[utoipa::path(put, path = "/api/v1/tags/{id}", tag = "tags", security(("bearer" = [])), request_body = TagInput,
    params(("id" = String, Path)),
    responses((status = 200, body = Data<Tag>), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_tag(
    auth: Auth<min::Attendant>,
    Path(id): Path<Uuid>,
    JsonBody(input): JsonBody<TagInput>,
) -> Result<Json<Data<Tag>>, ApiError> {
    let fields = validate(input, false)?;
    Ok(ok(auth
        .db()
        .write(move |conn| store::update(conn, &id.to_string(), &fields))
        .await?))
}

/// Deletes a tag without children (else 422); calls that carried it lose it.
#[utoipa::path(delete, path = "/api/v1/tags/{id}", tag = "tags", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 204, description = "Deleted"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn delete_tag(auth: Auth<min::Supervisor>, Path(id): Path<Uuid>) -> Result<StatusCode, ApiError> {
    auth.db()
        .write(move |conn| store::delete(conn, &id.to_string()))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
