//! `/api/v1/appointments` (attendant): list, book, read, edit, check conflicts, and the
//! action endpoints confirm, cancel, complete and no-show.

use axum::Json;
use axum::http::StatusCode;
use chrono::Datelike;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::Appointment;
use super::rules::{Action, Status};
use super::store::{self, AppointmentChanges, AppointmentFilters, Booking, CustomerChoice, CustomerDescription};
use crate::auth::Visibility;
use crate::auth::min;
use crate::db::query::DateRange;
use crate::email::events::{Confirmation, Join, PreparedJoin};
use crate::error::{ApiError, FieldErrors};
use crate::http::auth::Auth;
use crate::http::extract::{JsonBody, Path, Query, Wrapped, body_id, nullable};
use crate::http::pagination::{Page, Paging, PagingParams};
use crate::http::{Data, ErrorBody, created, ok};
use crate::state::AppState;
use crate::time::{self, Timestamp};
use crate::validation;

pub fn router() -> OpenApiRouter<AppState> {
    // `/conflicts` is a static segment, which axum matches before `/{id}`.
    OpenApiRouter::new()
        .routes(routes!(list_appointments, create_appointment))
        .routes(routes!(check_conflicts))
        .routes(routes!(get_appointment, update_appointment))
        .routes(routes!(confirm_appointment))
        .routes(routes!(cancel_appointment))
        .routes(routes!(complete_appointment))
        .routes(routes!(no_show_appointment))
        .routes(routes!(issue_access_link))
}

const DEFAULT_DURATION_MINUTES: i64 = 30;
const MAX_DURATION_MINUTES: i64 = 1440;

/// Create/update body; wrapped as `{"appointment": {...}}` or bare. `status` and the
/// action timestamps are not writable here (use the action endpoints).
#[derive(Debug, Deserialize, ToSchema)]
pub struct AppointmentInput {
    /// 1–200 characters. Required on create.
    title: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    description: Option<Option<String>>,
    /// RFC 3339 with any offset, stored in UTC; must be in the future. Required on create.
    scheduled_at: Option<String>,
    /// 1–1440; default 30.
    duration_minutes: Option<i64>,
    /// An active department. Required on create.
    department_id: Option<String>,
    /// The agent: an active member of the department. Default: the caller.
    user_id: Option<String>,
    /// An existing customer; otherwise `customer_name` (required) and optionally
    /// `customer_email` / `customer_phone` match or create one (same e-mail, else same
    /// phone digits, else new).
    customer_id: Option<String>,
    customer_name: Option<String>,
    customer_email: Option<String>,
    customer_phone: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    notes: Option<Option<String>>,
}

impl Wrapped for AppointmentInput {
    const KEYS: &'static [&'static str] = &["appointment"];
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CancelInput {
    /// Why it was cancelled; kept in `cancel_reason`.
    reason: Option<String>,
}

impl Wrapped for CancelInput {
    const KEYS: &'static [&'static str] = &["appointment"];
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AppointmentQuery {
    /// `scheduled`, `confirmed`, `completed`, `cancelled` or `no_show`; several may be
    /// given comma-separated (`scheduled,confirmed`).
    status: Option<String>,
    /// `YYYY-MM-DD` (from the start of that day in the company time zone) or RFC 3339.
    date_from: Option<String>,
    /// `YYYY-MM-DD` (through the end of that day in the company time zone) or RFC 3339.
    date_to: Option<String>,
    /// The agent.
    user_id: Option<Uuid>,
    department_id: Option<Uuid>,
    /// The agent's service provider.
    provider_id: Option<Uuid>,
    overdue: Option<bool>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConflictQuery {
    /// The agent. Required.
    user_id: Option<String>,
    /// RFC 3339. Required.
    scheduled_at: Option<String>,
    /// Default 30.
    duration_minutes: Option<i64>,
    /// An appointment to leave out (the one being edited).
    exclude_id: Option<Uuid>,
}

/// The answer of `GET /appointments/conflicts`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConflictReport {
    has_conflicts: bool,
    /// Open appointments of the agent overlapping the slot. Those outside the caller's
    /// sight show as `"title": "Busy"` without customer, description or notes.
    conflicts: Vec<Appointment>,
}

fn duration(errors: &mut FieldErrors, value: Option<i64>) -> i64 {
    let minutes = value.unwrap_or(DEFAULT_DURATION_MINUTES);
    if minutes < 1 {
        errors.add("duration_minutes", "must be greater than or equal to 1");
    } else if minutes > MAX_DURATION_MINUTES {
        errors.add(
            "duration_minutes",
            format!("must be less than or equal to {MAX_DURATION_MINUTES}"),
        );
    }
    minutes
}

/// An RFC 3339 time, any offset → UTC; `required` turns absence into `can't be blank`.
/// Years after 9998 are refused: stored times compare as text, which holds only while an
/// appointment's end still has a four-digit year.
fn instant(errors: &mut FieldErrors, field: &str, value: Option<&str>, required: bool) -> Option<Timestamp> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => {
            if required {
                errors.add(field, "can't be blank");
            }
            None
        }
        Some(text) => {
            let parsed = time::parse(text).filter(|at| at.year() <= 9998);
            if parsed.is_none() {
                errors.add(field, "is invalid");
            }
            parsed
        }
    }
}

/// A body id that may be left out: absent or empty is `None`.
fn optional_id(errors: &mut FieldErrors, field: &str, value: Option<&str>) -> Option<String> {
    body_id(errors, field, value.filter(|v| !v.trim().is_empty())).map(|id| id.to_string())
}

/// A body id that, when given (create: always), must not be blank.
fn required_id(errors: &mut FieldErrors, field: &str, value: Option<&str>) -> Option<String> {
    if value.is_none_or(|v| v.trim().is_empty()) {
        errors.add(field, "can't be blank");
        return None;
    }
    optional_id(errors, field, value)
}

/// The customer of a body: `customer_id` wins; else the described fields, if any.
fn customer(errors: &mut FieldErrors, input: &AppointmentInput, creating: bool) -> Option<CustomerChoice> {
    let customer_id = optional_id(errors, "customer_id", input.customer_id.as_deref());
    let id_given = input.customer_id.as_deref().is_some_and(|v| !v.trim().is_empty());
    let name = if creating && !id_given {
        validation::required_text(errors, "customer_name", input.customer_name.as_deref(), 200)
    } else {
        validation::optional_text(errors, "customer_name", input.customer_name.as_deref(), 200)
    };
    let description = CustomerDescription {
        name,
        email: validation::email(errors, "customer_email", input.customer_email.as_deref(), false),
        phone: validation::phone(errors, "customer_phone", input.customer_phone.as_deref()),
    };
    match customer_id {
        Some(id) => Some(CustomerChoice::Existing(id)),
        None if description.name.is_some() || description.email.is_some() || description.phone.is_some() => {
            Some(CustomerChoice::Described(description))
        }
        None => None,
    }
}

fn text_fields(errors: &mut FieldErrors, input: &AppointmentInput) -> (Option<Option<String>>, Option<Option<String>>) {
    let description = input
        .description
        .as_ref()
        .map(|d| validation::optional_text(errors, "description", d.as_deref(), 5000));
    let notes = input
        .notes
        .as_ref()
        .map(|n| validation::optional_text(errors, "notes", n.as_deref(), 5000));
    (description, notes)
}

fn validate_booking(input: AppointmentInput, caller_id: &str, now: Timestamp) -> Result<Booking, ApiError> {
    let mut errors = FieldErrors::new();
    let title = validation::required_text(&mut errors, "title", input.title.as_deref(), 200);
    let (description, notes) = text_fields(&mut errors, &input);
    let scheduled_at = instant(&mut errors, "scheduled_at", input.scheduled_at.as_deref(), true);
    if scheduled_at.is_some_and(|at| at <= now) {
        errors.add("scheduled_at", "must be in the future");
    }
    let duration_minutes = duration(&mut errors, input.duration_minutes);
    let department_id = required_id(&mut errors, "department_id", input.department_id.as_deref());
    let user_id = optional_id(&mut errors, "user_id", input.user_id.as_deref());
    let customer = customer(&mut errors, &input, true);
    errors.into_result()?;
    let (Some(title), Some(scheduled_at), Some(department_id), Some(customer)) =
        (title, scheduled_at, department_id, customer)
    else {
        return Err(ApiError::internal("validated appointment fields missing"));
    };
    Ok(Booking {
        title,
        description: description.flatten(),
        scheduled_at,
        duration_minutes,
        department_id,
        user_id: user_id.unwrap_or_else(|| caller_id.to_string()),
        customer,
        notes: notes.flatten(),
        manage_token: None,
        manage_url: None,
    })
}

fn validate_changes(input: AppointmentInput) -> Result<AppointmentChanges, ApiError> {
    let mut errors = FieldErrors::new();
    let title = input
        .title
        .as_deref()
        .and_then(|t| validation::required_text(&mut errors, "title", Some(t), 200));
    let (description, notes) = text_fields(&mut errors, &input);
    let scheduled_at = instant(&mut errors, "scheduled_at", input.scheduled_at.as_deref(), false);
    let duration_minutes = input.duration_minutes.map(|d| duration(&mut errors, Some(d)));
    let department_id = input
        .department_id
        .as_deref()
        .and_then(|d| required_id(&mut errors, "department_id", Some(d)));
    let user_id = input
        .user_id
        .as_deref()
        .and_then(|u| required_id(&mut errors, "user_id", Some(u)));
    let customer = customer(&mut errors, &input, false);
    errors.into_result()?;
    Ok(AppointmentChanges {
        title,
        description,
        scheduled_at,
        duration_minutes,
        department_id,
        user_id,
        customer,
        notes,
    })
}

fn filters(query: AppointmentQuery) -> Result<AppointmentFilters, ApiError> {
    let dates = DateRange::parse(query.date_from.as_deref(), query.date_to.as_deref())?;
    let mut statuses = Vec::new();
    for text in query.status.iter().flat_map(|s| s.split(',')).map(str::trim) {
        match Status::parse(text) {
            Some(status) => statuses.push(status),
            None if text.is_empty() => {}
            None => return Err(FieldErrors::single("status", "is invalid")),
        }
    }
    Ok(AppointmentFilters {
        statuses,
        dates,
        user_id: query.user_id.map(|id| id.to_string()),
        department_id: query.department_id.map(|id| id.to_string()),
        provider_id: query.provider_id.map(|id| id.to_string()),
        overdue: query.overdue,
    })
}

/// Appointments the caller may see (attendants: their departments' and their own;
/// supervisors and up: all), by default soonest first, 20 per page.
#[utoipa::path(get, path = "/api/v1/appointments", tag = "appointments", security(("bearer" = [])),
    params(PagingParams, AppointmentQuery),
    responses((status = 200, body = Page<Appointment>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn list_appointments(
    auth: Auth<min::Attendant>,
    paging: Paging,
    Query(query): Query<AppointmentQuery>,
) -> Result<Json<Page<Appointment>>, ApiError> {
    let order = paging.order(&store::SORT)?;
    let filters = filters(query)?;
    let viewer = Visibility::of(&auth.user);
    Ok(Json(
        auth.db()
            .read(move |conn| store::list(conn, &filters, &viewer, &order))
            .await?,
    ))
}

/// Book an appointment. The slot is checked and taken in one transaction: an overlap with
/// another open appointment of the agent is 409 `Schedule conflict` listing them.
#[utoipa::path(post, path = "/api/v1/appointments", tag = "appointments", security(("bearer" = [])),
    request_body = AppointmentInput,
    responses((status = 201, body = Data<Appointment>), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_appointment(
    axum::extract::State(state): axum::extract::State<AppState>,
    auth: Auth<min::Attendant>,
    JsonBody(input): JsonBody<AppointmentInput>,
) -> Result<(StatusCode, Json<Data<Appointment>>), ApiError> {
    let mut booking = validate_booking(input, &auth.user.id, time::now())?;
    let token = crate::scheduling::reserve_manage_token(&state.tenants, &auth.tenant.slug).await?;
    booking.manage_url = Some(crate::scheduling::manage_url(&state.config.public_base(), &token));
    booking.manage_token = Some(token.clone());
    let viewer = Visibility::of(&auth.user);
    let join = PreparedJoin::register(
        &state.tenants,
        &state.config.public_base(),
        &auth.tenant.slug,
        Some(auth.user.id.clone()),
    )
    .await?;
    let confirmation = Confirmation {
        join: Some(Join::Prepared(join.clone())),
    };
    let booked = auth
        .db()
        .write(move |conn| store::book(conn, &viewer, &booking, &confirmation))
        .await;
    join.release_unless_used(&state.tenants, booked.as_ref().ok()).await;
    if booked.is_err() {
        crate::scheduling::release_manage_token(&state.tenants, token).await;
    }
    Ok(created(booked?))
}

#[utoipa::path(get, path = "/api/v1/appointments/{id}", tag = "appointments", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Data<Appointment>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_appointment(
    auth: Auth<min::Attendant>,
    Path(id): Path<Uuid>,
) -> Result<Json<Data<Appointment>>, ApiError> {
    let viewer = Visibility::of(&auth.user);
    Ok(ok(auth
        .db()
        .read(move |conn| store::find_visible(conn, &id.to_string(), &viewer))
        .await?))
}

/// Edit a `scheduled` or `confirmed` appointment (else 422) with the rules of a booking,
/// including the conflict check (409). Customer fields without `customer_id` describe who
/// the appointment is with (matched or created like on create); to correct a customer's
/// own record use `/customers`.
#[utoipa::path(put, path = "/api/v1/appointments/{id}", tag = "appointments", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = AppointmentInput,
    responses((status = 200, body = Data<Appointment>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_appointment(
    auth: Auth<min::Attendant>,
    Path(id): Path<Uuid>,
    JsonBody(input): JsonBody<AppointmentInput>,
) -> Result<Json<Data<Appointment>>, ApiError> {
    let changes = validate_changes(input)?;
    let viewer = Visibility::of(&auth.user);
    Ok(ok(auth
        .db()
        .write(move |conn| store::update(conn, &viewer, &id.to_string(), &changes, time::now()))
        .await?))
}

/// Whether an agent is free for a slot: `{"has_conflicts": bool, "conflicts": [...]}`.
#[utoipa::path(get, path = "/api/v1/appointments/conflicts", tag = "appointments", security(("bearer" = [])),
    params(ConflictQuery),
    responses((status = 200, body = Data<ConflictReport>), (status = 400, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn check_conflicts(
    auth: Auth<min::Attendant>,
    Query(query): Query<ConflictQuery>,
) -> Result<Json<Data<ConflictReport>>, ApiError> {
    let mut errors = FieldErrors::new();
    let user_id = required_id(&mut errors, "user_id", query.user_id.as_deref());
    let scheduled_at = instant(&mut errors, "scheduled_at", query.scheduled_at.as_deref(), true);
    let duration_minutes = duration(&mut errors, query.duration_minutes);
    errors.into_result()?;
    let (Some(user_id), Some(scheduled_at)) = (user_id, scheduled_at) else {
        return Err(ApiError::internal("validated conflict parameters missing"));
    };
    let exclude_id = query.exclude_id.map(|id| id.to_string());
    let viewer = Visibility::of(&auth.user);
    let conflicts = auth
        .db()
        .read(move |conn| {
            if !crate::users::store::exists(conn, &user_id)? {
                return Err(FieldErrors::single("user_id", "does not exist"));
            }
            let found = store::conflicts(conn, &user_id, scheduled_at, duration_minutes, exclude_id.as_deref())?;
            Ok(found
                .into_iter()
                .map(|a| store::viewed_by(a, &viewer))
                .collect::<Vec<_>>())
        })
        .await?;
    Ok(ok(ConflictReport {
        has_conflicts: !conflicts.is_empty(),
        conflicts,
    }))
}

async fn act(
    auth: Auth<min::Attendant>,
    id: Uuid,
    action: Action,
    cancel_reason: Option<String>,
) -> Result<Json<Data<Appointment>>, ApiError> {
    let viewer = Visibility::of(&auth.user);
    Ok(ok(auth
        .db()
        .write(move |conn| {
            store::act(
                conn,
                &viewer,
                &id.to_string(),
                action,
                cancel_reason.as_deref(),
                time::now(),
            )
        })
        .await?))
}

/// `scheduled` → `confirmed` (sets `confirmed_at`); on a confirmed one a 200 no-op.
#[utoipa::path(post, path = "/api/v1/appointments/{id}/confirm", tag = "appointments", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Data<Appointment>), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn confirm_appointment(
    auth: Auth<min::Attendant>,
    Path(id): Path<Uuid>,
) -> Result<Json<Data<Appointment>>, ApiError> {
    act(auth, id, Action::Confirm, None).await
}

/// `scheduled`/`confirmed` → `cancelled` with an optional `{"reason": …}` (sets
/// `cancel_reason`, `cancelled_at`); on a cancelled one a 200 no-op keeping the first reason.
#[utoipa::path(post, path = "/api/v1/appointments/{id}/cancel", tag = "appointments", security(("bearer" = [])),
    params(("id" = String, Path)), request_body(content = CancelInput, description = "Optional"),
    responses((status = 200, body = Data<Appointment>), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn cancel_appointment(
    auth: Auth<min::Attendant>,
    Path(id): Path<Uuid>,
    JsonBody(input): JsonBody<CancelInput>,
) -> Result<Json<Data<Appointment>>, ApiError> {
    let mut errors = FieldErrors::new();
    let reason = validation::optional_text(&mut errors, "reason", input.reason.as_deref(), 1000);
    errors.into_result()?;
    act(auth, id, Action::Cancel, reason).await
}

/// `scheduled`/`confirmed` → `completed` once `scheduled_at` has come (sets `completed_at`).
#[utoipa::path(post, path = "/api/v1/appointments/{id}/complete", tag = "appointments", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Data<Appointment>), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn complete_appointment(
    auth: Auth<min::Attendant>,
    Path(id): Path<Uuid>,
) -> Result<Json<Data<Appointment>>, ApiError> {
    act(auth, id, Action::Complete, None).await
}

/// `scheduled`/`confirmed` → `no_show` once `scheduled_at` has come.
#[utoipa::path(post, path = "/api/v1/appointments/{id}/no-show", tag = "appointments", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Data<Appointment>), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn no_show_appointment(
    auth: Auth<min::Attendant>,
    Path(id): Path<Uuid>,
) -> Result<Json<Data<Appointment>>, ApiError> {
    act(auth, id, Action::NoShow, None).await
}

/// Issues a reusable access link for the appointment's department, pre-filled with its
/// customer and valid until the appointment's end + 1 h, and stores its URL on the
/// appointment (`access_link_url`). Only for an open appointment whose end + 1 h is still
/// ahead (else 422). Each call issues a new link; the appointment keeps the latest.
#[utoipa::path(post, path = "/api/v1/appointments/{id}/access-link", tag = "appointments", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 201, body = Data<crate::access_links::AccessLink>), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn issue_access_link(
    axum::extract::State(state): axum::extract::State<AppState>,
    auth: Auth<min::Attendant>,
    Path(id): Path<Uuid>,
) -> Result<(StatusCode, Json<Data<crate::access_links::AccessLink>>), ApiError> {
    let viewer = Visibility::of(&auth.user);
    let appointment = {
        let viewer = viewer.clone();
        auth.db()
            .read(move |conn| store::find_visible(conn, &id.to_string(), &viewer))
            .await?
    };
    super::rules::check_editable(appointment.status)?;
    let expires_at = appointment.start()? + chrono::Duration::minutes(appointment.duration_minutes + 60);
    if expires_at <= time::now() {
        return Err(FieldErrors::single("scheduled_at", "the appointment has ended"));
    }
    let link = crate::access_links::NewLink {
        department_id: appointment.department_id.clone(),
        customer_name: appointment.customer_name.clone(),
        customer_email: appointment.customer_email.clone(),
        customer_phone: appointment.customer_phone.clone(),
        expires_at,
        reusable: true,
    };
    let appointment_id = appointment.id.clone();
    let (mut links, ()) = crate::access_links::issue_with(
        &state.tenants,
        &state.config.public_base(),
        &auth.tenant,
        Some(auth.user.id.clone()),
        vec![link],
        move |conn, links| {
            // Re-checked inside the write: the appointment may have closed meanwhile.
            let current = store::find_visible(conn, &appointment_id, &viewer)?;
            super::rules::check_editable(current.status)?;
            let link = links.first().ok_or_else(|| ApiError::internal("issued link missing"))?;
            store::attach_link(conn, &appointment_id, link)
        },
    )
    .await?;
    let link = links.pop().ok_or_else(|| ApiError::internal("issued link missing"))?;
    Ok(created(link))
}
