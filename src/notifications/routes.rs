//! `/api/v1/notifications` (anyone, for themselves): list, mark one read, mark all read.

use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::Notification;
use super::store;
use crate::auth::min;
use crate::error::ApiError;
use crate::http::auth::Auth;
use crate::http::extract::{Path, Query};
use crate::http::pagination::{Page, Paging, PagingParams};
use crate::http::{Data, ErrorBody, ok};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_notifications))
        .routes(routes!(read_all_notifications))
        .routes(routes!(read_notification))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NotificationQuery {
    /// `true`: unread only; `false`: read only; absent: all.
    unread: Option<bool>,
}

/// `{"updated": n}`: how many notifications `read-all` marked read.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReadAll {
    updated: usize,
}

/// The caller's own notifications, newest first.
#[utoipa::path(get, path = "/api/v1/notifications", tag = "notifications", security(("bearer" = [])),
    params(PagingParams, NotificationQuery),
    responses((status = 200, body = Page<Notification>), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list_notifications(
    auth: Auth<min::Attendant>,
    paging: Paging,
    Query(query): Query<NotificationQuery>,
) -> Result<Json<Page<Notification>>, ApiError> {
    let order = paging.order(&store::SORT)?;
    let user_id = auth.user.id.clone();
    Ok(Json(
        auth.db()
            .read(move |conn| store::list(conn, &user_id, query.unread, &order))
            .await?,
    ))
}

/// Marks one of the caller's notifications read (again: a no-op keeping the first
/// `read_at`). Another user's notification is 404.
#[utoipa::path(post, path = "/api/v1/notifications/{id}/read", tag = "notifications", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Data<Notification>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn read_notification(
    auth: Auth<min::Attendant>,
    Path(id): Path<Uuid>,
) -> Result<Json<Data<Notification>>, ApiError> {
    let user_id = auth.user.id.clone();
    Ok(ok(auth
        .db()
        .write(move |conn| store::mark_read(conn, &user_id, &id.to_string()))
        .await?))
}

/// Marks every unread notification of the caller read.
#[utoipa::path(post, path = "/api/v1/notifications/read-all", tag = "notifications", security(("bearer" = [])),
    responses((status = 200, body = Data<ReadAll>), (status = 401, body = ErrorBody)))]
async fn read_all_notifications(auth: Auth<min::Attendant>) -> Result<Json<Data<ReadAll>>, ApiError> {
    let user_id = auth.user.id.clone();
    let updated = auth
        .db()
        .write(move |conn| store::mark_all_read(conn, &user_id))
        .await?;
    Ok(ok(ReadAll { updated }))
}
