//! `/api/v1/webhooks` (manager): subscriptions and their delivery log.

use axum::Json;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::WebhookEvent;
use super::store::{self, Delivery, Webhook, WebhookFields};
use crate::auth::min;
use crate::error::{ApiError, FieldErrors};
use crate::http::auth::Auth;
use crate::http::extract::{JsonBody, Path, Wrapped};
use crate::http::pagination::{Page, Paging, PagingParams};
use crate::http::{Data, ErrorBody, created, ok};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_webhooks, create_webhook))
        .routes(routes!(get_webhook, update_webhook, delete_webhook))
        .routes(routes!(list_deliveries))
        .routes(routes!(ping_webhook))
        .routes(routes!(redeliver))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct WebhookInput {
    /// `http://` or `https://`; private and loopback addresses are allowed (receivers often
    /// sit on the clinic's network).
    url: Option<String>,
    /// Event names, e.g. `["call.completed", "appointment.created"]`.
    events: Option<Vec<String>>,
    /// HMAC key, at least 16 characters; generated when omitted on create. Shown only in
    /// the response that sets it.
    secret: Option<String>,
    active: Option<bool>,
}

impl Wrapped for WebhookInput {
    const KEYS: &'static [&'static str] = &["webhook"];
}

fn validate(input: WebhookInput, creating: bool) -> Result<WebhookFields, ApiError> {
    let mut errors = FieldErrors::new();
    let url = match input.url.as_deref().map(str::trim) {
        None | Some("") if creating => {
            errors.add("url", "can't be blank");
            None
        }
        None | Some("") => None,
        Some(url) => {
            let valid = reqwest::Url::parse(url)
                .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some() && u.username().is_empty())
                && url.len() <= 2000;
            if !valid {
                errors.add("url", "has invalid format");
            }
            Some(url.to_string())
        }
    };
    if let Some(events) = &input.events {
        if events.is_empty() {
            errors.add("events", "can't be blank");
        }
        for (index, event) in events.iter().enumerate() {
            if WebhookEvent::parse(event).is_none() {
                errors.add(format!("events.{index}"), "is invalid");
            }
        }
    } else if creating {
        errors.add("events", "can't be blank");
    }
    if input
        .secret
        .as_ref()
        .is_some_and(|s| s.chars().count() < 16 || s.chars().count() > 200)
    {
        errors.add("secret", "should be between 16 and 200 character(s)");
    }
    errors.into_result()?;
    let mut events = input.events;
    if let Some(events) = &mut events {
        events.sort();
        events.dedup();
    }
    let secret = match input.secret {
        Some(secret) => Some(secret),
        None if creating => Some(crate::auth::token::random_token()),
        None => None,
    };
    Ok(WebhookFields {
        url,
        events,
        secret,
        active: input.active,
    })
}

#[utoipa::path(get, path = "/api/v1/webhooks", tag = "webhooks", security(("bearer" = [])), params(PagingParams),
    responses((status = 200, body = Page<Webhook>), (status = 403, body = ErrorBody)))]
async fn list_webhooks(auth: Auth<min::Manager>, paging: Paging) -> Result<Json<Page<Webhook>>, ApiError> {
    let order = paging.order(&store::SORT)?;
    Ok(Json(auth.db().read(move |conn| store::list(conn, &order)).await?))
}

/// Subscribes a URL to events. The response shows the signing `secret` — the only time
/// it is shown.
#[utoipa::path(post, path = "/api/v1/webhooks", tag = "webhooks", security(("bearer" = [])), request_body = WebhookInput,
    responses((status = 201, body = Data<Webhook>), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_webhook(
    auth: Auth<min::Manager>,
    JsonBody(input): JsonBody<WebhookInput>,
) -> Result<(StatusCode, Json<Data<Webhook>>), ApiError> {
    let fields = validate(input, true)?;
    Ok(created(
        auth.db().write(move |conn| store::insert(conn, &fields)).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/webhooks/{id}", tag = "webhooks", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = Data<Webhook>), (status = 404, body = ErrorBody)))]
async fn get_webhook(auth: Auth<min::Manager>, Path(id): Path<Uuid>) -> Result<Json<Data<Webhook>>, ApiError> {
    Ok(ok(auth
        .db()
        .read(move |conn| store::find(conn, &id.to_string()))
        .await?))
}

#[utoipa::path(put, path = "/api/v1/webhooks/{id}", tag = "webhooks", security(("bearer" = [])), request_body = WebhookInput,
    params(("id" = String, Path)),
    responses((status = 200, body = Data<Webhook>), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_webhook(
    auth: Auth<min::Manager>,
    Path(id): Path<Uuid>,
    JsonBody(input): JsonBody<WebhookInput>,
) -> Result<Json<Data<Webhook>>, ApiError> {
    let fields = validate(input, false)?;
    Ok(ok(auth
        .db()
        .write(move |conn| store::update(conn, &id.to_string(), &fields))
        .await?))
}

/// Deletes the subscription and its pending deliveries.
#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", tag = "webhooks", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 204, description = "Deleted"), (status = 404, body = ErrorBody)))]
async fn delete_webhook(auth: Auth<min::Manager>, Path(id): Path<Uuid>) -> Result<StatusCode, ApiError> {
    auth.db()
        .write(move |conn| store::delete(conn, &id.to_string()))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The deliveries of a webhook, newest first, each with its attempts.
#[utoipa::path(get, path = "/api/v1/webhooks/{id}/deliveries", tag = "webhooks", security(("bearer" = [])),
    params(("id" = String, Path), PagingParams),
    responses((status = 200, body = Page<Delivery>), (status = 404, body = ErrorBody)))]
async fn list_deliveries(
    auth: Auth<min::Manager>,
    Path(id): Path<Uuid>,
    paging: Paging,
) -> Result<Json<Page<Delivery>>, ApiError> {
    let order = paging.order(&store::DELIVERY_SORT)?;
    Ok(Json(
        auth.db()
            .read(move |conn| store::deliveries(conn, &id.to_string(), &order))
            .await?,
    ))
}

/// Sends a `ping` event to the webhook now (whether active or not) and answers with that
/// delivery and its first attempt; a failed ping is retried like any delivery.
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/ping", tag = "webhooks", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, description = "The ping delivery with its attempt", body = Data<Delivery>),
        (status = 404, description = "No such webhook", body = ErrorBody)))]
async fn ping_webhook(
    axum::extract::State(state): axum::extract::State<AppState>,
    auth: Auth<min::Manager>,
    Path(id): Path<Uuid>,
) -> Result<Json<Data<Delivery>>, ApiError> {
    let webhook_id = id.to_string();
    let hook = webhook_id.clone();
    let due = auth.db().write(move |conn| store::ping(conn, &hook)).await?;
    let delivery_id = due.id.clone();
    super::delivery::attempt(
        auth.db(),
        &super::delivery::client(),
        due,
        state.config.webhook_retry_base_secs,
    )
    .await;
    Ok(ok(auth
        .db()
        .read(move |conn| store::delivery(conn, &webhook_id, &delivery_id))
        .await?))
}

/// Queues a new delivery of the same event body as `delivery_id` (sent within a second
/// by the delivery task).
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver", tag = "webhooks", security(("bearer" = [])),
    params(("id" = String, Path), ("delivery_id" = String, Path)),
    responses((status = 201, description = "The new delivery", body = Data<Delivery>),
        (status = 404, description = "No such webhook or delivery", body = ErrorBody)))]
async fn redeliver(
    auth: Auth<min::Manager>,
    Path((id, delivery_id)): Path<(Uuid, String)>,
) -> Result<(StatusCode, Json<Data<Delivery>>), ApiError> {
    let webhook_id = id.to_string();
    Ok(created(
        auth.db()
            .write(move |conn| store::redeliver(conn, &webhook_id, &delivery_id))
            .await?,
    ))
}
