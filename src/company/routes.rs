//! `GET/PUT /api/v1/company` (manager).

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::Company;
use super::store::{self, CompanyChanges};
use crate::auth::min;
use crate::error::{ApiError, FieldErrors};
use crate::http::auth::Auth;
use crate::http::extract::{JsonBody, Wrapped, nullable};
use crate::http::{Data, ErrorBody, ok};
use crate::state::AppState;
use crate::validation;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_company, update_company))
}

/// Writable company fields; `slug`, `document`, `plan` and the limits are read-only and
/// ignored here.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CompanyInput {
    name: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    email: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    logo_url: Option<Option<String>>,
    /// `#rrggbb`.
    primary_color: Option<String>,
    recording_enabled: Option<bool>,
    transcription_enabled: Option<bool>,
    mfa_required: Option<bool>,
    /// IANA name, e.g. `America/Sao_Paulo`.
    timezone: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    welcome_message: Option<Option<String>>,
    /// Language of e-mails: `en`, `pt-BR` or `fr`.
    locale: Option<String>,
    /// False: patients get no appointment e-mails.
    notify_customers: Option<bool>,
}

impl Wrapped for CompanyInput {
    const KEYS: &'static [&'static str] = &["company"];
}

fn max_concurrent_calls(state: &AppState) -> Option<i64> {
    crate::billing::Limits::of(&state.config).max_concurrent_calls
}

#[utoipa::path(get, path = "/api/v1/company", tag = "company", security(("bearer" = [])),
    responses((status = 200, body = Data<Company>), (status = 403, body = ErrorBody)))]
async fn get_company(State(state): State<AppState>, auth: Auth<min::Manager>) -> Result<Json<Data<Company>>, ApiError> {
    let limit = max_concurrent_calls(&state);
    Ok(ok(auth.db().read(move |conn| store::get(conn, limit)).await?))
}

#[utoipa::path(put, path = "/api/v1/company", tag = "company", security(("bearer" = [])), request_body = CompanyInput,
    responses((status = 200, body = Data<Company>), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_company(
    State(state): State<AppState>,
    auth: Auth<min::Manager>,
    JsonBody(input): JsonBody<CompanyInput>,
) -> Result<Json<Data<Company>>, ApiError> {
    let mut errors = FieldErrors::new();
    let timezone = validation::optional_text(&mut errors, "timezone", input.timezone.as_deref(), 64);
    if let Some(zone) = &timezone
        && zone.parse::<chrono_tz::Tz>().is_err()
    {
        errors.add("timezone", "is invalid");
    }
    let locale = input.locale.as_deref().map(str::trim);
    if locale.is_some_and(|l| !crate::email::LOCALES.contains(&l)) {
        errors.add("locale", "is invalid");
    }
    let changes = CompanyChanges {
        locale: locale.map(str::to_string),
        notify_customers: input.notify_customers,
        name: input
            .name
            .as_deref()
            .and_then(|n| validation::required_text(&mut errors, "name", Some(n), 200)),
        email: input
            .email
            .map(|e| validation::email(&mut errors, "email", e.as_deref(), false)),
        phone: input
            .phone
            .map(|p| validation::phone(&mut errors, "phone", p.as_deref())),
        logo_url: input
            .logo_url
            .map(|u| validation::url(&mut errors, "logo_url", u.as_deref())),
        primary_color: input.primary_color.as_deref().and_then(|c| {
            let color = validation::hex_color(&mut errors, "primary_color", Some(c));
            if color.is_none() && !errors.has("primary_color") {
                errors.add("primary_color", "can't be blank");
            }
            color
        }),
        recording_enabled: input.recording_enabled,
        transcription_enabled: input.transcription_enabled,
        mfa_required: input.mfa_required,
        timezone,
        welcome_message: input
            .welcome_message
            .map(|m| validation::optional_text(&mut errors, "welcome_message", m.as_deref(), 2000)),
    };
    errors.into_result()?;
    let limit = max_concurrent_calls(&state);
    Ok(ok(auth
        .db()
        .write(move |conn| store::update(conn, &changes, limit))
        .await?))
}
