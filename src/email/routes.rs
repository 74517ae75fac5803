//! `/api/v1/emails` (manager): the outbox and the SMTP test; and
//! `POST /api/v1/access-links/:id/send` (attendant), which e-mails an access link.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::smtp::Mailer;
use super::store::{self, EmailFilters};
use super::{Email, EmailStatus, Kind};
use crate::access_links::LinkStatus;
use crate::auth::{Role, min};
use crate::error::{ApiError, FieldErrors};
use crate::http::auth::Auth;
use crate::http::extract::{JsonBody, Path, Query, Wrapped, status_filter};
use crate::http::pagination::{Page, Paging, PagingParams};
use crate::http::{Data, ErrorBody, Flag, flag, ok};
use crate::state::AppState;
use crate::validation;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_emails))
        .routes(routes!(test_email))
        .routes(routes!(send_access_link))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EmailQuery {
    /// `queued`, `sent`, `failed` or `skipped`.
    status: Option<String>,
    /// `password_reset`, `appointment_confirmation`, `appointment_rescheduled`,
    /// `appointment_cancelled`, `appointment_reminder` or `access_link`.
    kind: Option<String>,
}

/// The tenant's e-mails, newest first, with their delivery state.
#[utoipa::path(get, path = "/api/v1/emails", tag = "emails", security(("bearer" = [])), params(PagingParams, EmailQuery),
    responses((status = 200, body = Page<Email>), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list_emails(
    auth: Auth<min::Manager>,
    paging: Paging,
    Query(query): Query<EmailQuery>,
) -> Result<Json<Page<Email>>, ApiError> {
    let order = paging.order(&store::SORT)?;
    let status = status_filter(query.status.as_deref(), EmailStatus::parse)?;
    let kind = match query.kind.as_deref().filter(|k| !k.is_empty()) {
        None => None,
        Some(text) => Some(Kind::parse(text).ok_or_else(|| FieldErrors::single("kind", "is invalid"))?),
    };
    let filters = EmailFilters { status, kind };
    Ok(Json(
        auth.db().read(move |conn| store::list(conn, &filters, &order)).await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct TestInput {
    to: Option<String>,
}

impl Wrapped for TestInput {
    const KEYS: &'static [&'static str] = &["email"];
}

/// Sends a test message at once (no outbox row): 200 `{"sent": true}` when the server
/// accepted it, 502 `SMTP error: <reply>` when not, 422 when no SMTP is configured.
#[utoipa::path(post, path = "/api/v1/emails/test", tag = "emails", security(("bearer" = [])), request_body = TestInput,
    responses((status = 200, body = Data<Flag>), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 502, body = ErrorBody)))]
async fn test_email(
    State(state): State<AppState>,
    auth: Auth<min::Manager>,
    JsonBody(input): JsonBody<TestInput>,
) -> Result<Response, ApiError> {
    let mut errors = FieldErrors::new();
    let to = validation::email(&mut errors, "to", input.to.as_deref(), true);
    errors.into_result()?;
    let mailer = Mailer::from_config(&state.config)
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::Unprocessable("SMTP is not configured".into()))?;
    let company = auth.db().read(|conn| crate::company::store::get(conn, None)).await?;
    match mailer.send_test(&to.unwrap_or_default(), &company.name).await {
        Ok(()) => Ok(flag("sent").into_response()),
        Err(failure) => Ok((
            StatusCode::BAD_GATEWAY,
            Json(json!({"errors": {"detail": format!("SMTP error: {}", failure.reply())}})),
        )
            .into_response()),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SendLinkInput {
    /// Where to send it; default the link's `customer_email`.
    email: Option<String>,
}

impl Wrapped for SendLinkInput {
    const KEYS: &'static [&'static str] = &["link", "access_link"];
}

/// E-mails an active access link to `email` (or its `customer_email`) in the company's
/// language; 200 with the outbox row. Attendants send links of their own departments.
#[utoipa::path(post, path = "/api/v1/access-links/{id}/send", tag = "access-links", security(("bearer" = [])),
    params(("id" = String, Path)), request_body(content = SendLinkInput, description = "Optional"),
    responses((status = 200, body = Data<Email>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn send_access_link(
    State(state): State<AppState>,
    auth: Auth<min::Attendant>,
    Path(id): Path<Uuid>,
    JsonBody(input): JsonBody<SendLinkInput>,
) -> Result<Json<Data<Email>>, ApiError> {
    let mut errors = FieldErrors::new();
    let given = validation::email(&mut errors, "email", input.email.as_deref(), false);
    errors.into_result()?;
    let base = state.config.public_base();
    let sees_all = auth.role().at_least(Role::Supervisor);
    let departments = auth.user.department_ids.clone();
    let email = auth
        .db()
        .write(move |conn| {
            let link = crate::access_links::store::find(conn, &base, &id.to_string())?;
            if !sees_all && !departments.contains(&link.department_id) {
                return Err(ApiError::Forbidden(
                    "Attendants send only links of their own departments".into(),
                ));
            }
            if link.status != LinkStatus::Active {
                return Err(FieldErrors::single("status", "must be active"));
            }
            let Some(to) = given.or_else(|| link.customer_email.clone()) else {
                return Err(FieldErrors::single("email", "can't be blank"));
            };
            super::events::access_link(conn, &link, &to)
        })
        .await?;
    Ok(ok(email))
}
