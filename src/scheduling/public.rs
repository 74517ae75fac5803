//! The patient's side of self-scheduling (SPEC §7.3), without a tenant header: the booking
//! page's API (`/api/v1/book/<token>`) and the manage link's (`/api/v1/manage/<token>`).
//! Both share one rate-limit bucket per client IP (`http::rate_limit`).
//!
//! A booking re-checks its slot inside the transaction that creates the appointment, so
//! of many racing bookings of one slot exactly one wins; the others get 409
//! `Slot no longer available`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{Duration, NaiveDate};
use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::store::{self, Agent, SlotQuery};
use crate::appointments::rules::{self as appointment_rules, Action, Step};
use crate::appointments::store::{
    self as appointments, AppointmentChanges, Booking, CustomerChoice, CustomerDescription,
};
use crate::appointments::{Appointment, Status};
use crate::auth::Visibility;
use crate::db::PublicKind;
use crate::db::Tenant;
use crate::db::WriteTx;
use crate::departments::{self, Department};
use crate::email::events::{Confirmation, Join};
use crate::error::{ApiError, FieldErrors};
use crate::http::extract::{JsonBody, Path, Query, Wrapped};
use crate::http::{Data, ErrorBody, created, ok};
use crate::notifications::store::{self as notifications, NotificationType};
use crate::state::AppState;
use crate::time::{self, Timestamp};
use crate::validation;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(booking_page, book))
        .routes(routes!(booking_slots))
        .routes(routes!(manage_view))
        .routes(routes!(manage_slots))
        .routes(routes!(manage_cancel))
        .routes(routes!(manage_reschedule))
}

/// Tokens are 43 characters; anything much longer is not looked up.
const MAX_TOKEN_LEN: usize = 128;
/// Days the booking page's slot list covers when `date_to` is left out.
const DEFAULT_SLOT_DAYS: u64 = 14;
/// A self-booked appointment's join link stays valid this long after its end.
const CALL_LINK_GRACE_MINUTES: i64 = 60;

fn slot_taken() -> ApiError {
    ApiError::conflict("Slot no longer available")
}

fn too_late() -> ApiError {
    ApiError::Unprocessable("too late to change".into())
}

/// The tenant of a public token of `kind`, or the 404 `missing`.
async fn token_tenant(state: &AppState, kind: PublicKind, token: &str, missing: &str) -> Result<Tenant, ApiError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(ApiError::not_found(missing));
    }
    let (slug, db) = state
        .tenants
        .resolve_public(kind, token)
        .await?
        .ok_or_else(|| ApiError::not_found(missing))?;
    Ok(Tenant { slug, db })
}

async fn booking_tenant(state: &AppState, token: &str) -> Result<Tenant, ApiError> {
    token_tenant(state, PublicKind::Booking, token, "Booking page").await
}

async fn manage_tenant(state: &AppState, token: &str) -> Result<Tenant, ApiError> {
    token_tenant(state, PublicKind::Manage, token, "Appointment").await
}

/// The company's language for patient pages. The `locale` setting arrives with the
/// company e-mail settings; until a tenant has it, the page follows `Accept-Language`.
fn company_locale(conn: &Connection) -> Option<String> {
    conn.prepare("SELECT locale FROM company LIMIT 1")
        .and_then(|mut stmt| stmt.query_row([], |row| row.get::<_, Option<String>>(0)))
        .ok()
        .flatten()
}

/// What the booking page shows before any slot is picked.
#[derive(Debug, Serialize, ToSchema)]
pub struct BookingPage {
    company_name: String,
    department_name: String,
    welcome_message: Option<String>,
    /// IANA zone of every local time the page shows.
    timezone: String,
    /// `en`, `pt-BR` or `fr`; null: the page follows the browser's language.
    locale: Option<String>,
    slot_minutes: i64,
}

/// The booking page's header: company, department, time zone, language, slot length.
#[utoipa::path(get, path = "/api/v1/book/{token}", tag = "booking", params(("token" = String, Path)),
    responses((status = 200, body = Data<BookingPage>), (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn booking_page(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Json<Data<BookingPage>>, ApiError> {
    let tenant = booking_tenant(&state, &token).await?;
    let page = tenant
        .db
        .read(move |conn| {
            let department = departments::store::by_booking_token(conn, &token)?;
            let company = crate::company::store::get(conn, None)?;
            Ok(BookingPage {
                company_name: company.name,
                department_name: department.name,
                welcome_message: company.welcome_message,
                timezone: crate::company::store::timezone(conn)?.name().to_string(),
                locale: company_locale(conn),
                slot_minutes: department.slot_minutes,
            })
        })
        .await?;
    Ok(ok(page))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SlotsQuery {
    /// `YYYY-MM-DD` in the company time zone; default today.
    date_from: Option<String>,
    /// `YYYY-MM-DD`, included; default 13 days after `date_from`.
    date_to: Option<String>,
}

/// One free start and who can take it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicSlot {
    /// UTC, RFC 3339.
    start: String,
    agents: Vec<Agent>,
}

/// The free slots of the department's agents, merged by start (ascending); each lists the
/// agents free then, so the patient may pick one.
#[utoipa::path(get, path = "/api/v1/book/{token}/slots", tag = "booking", params(("token" = String, Path), SlotsQuery),
    responses((status = 200, body = Data<Vec<PublicSlot>>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn booking_slots(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Query(query): Query<SlotsQuery>,
) -> Result<Json<Data<Vec<PublicSlot>>>, ApiError> {
    let tenant = booking_tenant(&state, &token).await?;
    let slots = tenant
        .db
        .read_long(move |conn| {
            let department = departments::store::by_booking_token(conn, &token)?;
            let zone = crate::company::store::timezone(conn)?;
            let now = time::now();
            let (from, to) = slot_days(&query, now.with_timezone(&zone).date_naive())?;
            let agents = store::agents(conn, &department.id)?;
            let query = SlotQuery {
                from,
                to,
                duration_minutes: None,
                now,
                exclude_id: None,
            };
            Ok(by_start(store::free_slots(conn, zone, &department, &agents, &query)?))
        })
        .await?;
    Ok(ok(slots))
}

/// The days a slot list covers: `date_from` (default today) through `date_to` (default
/// 13 days later), checked like the staff query.
fn slot_days(query: &SlotsQuery, today: NaiveDate) -> Result<(NaiveDate, NaiveDate), ApiError> {
    let from = query
        .date_from
        .clone()
        .unwrap_or_else(|| today.format("%Y-%m-%d").to_string());
    let to = query.date_to.clone().unwrap_or_else(|| {
        NaiveDate::parse_from_str(&from, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.checked_add_days(chrono::Days::new(DEFAULT_SLOT_DAYS - 1)))
            .map_or_else(|| from.clone(), |d| d.format("%Y-%m-%d").to_string())
    });
    let mut errors = FieldErrors::new();
    let range = super::routes::date_range(&mut errors, Some(&from), Some(&to))?;
    errors.into_result()?;
    range.ok_or_else(|| ApiError::internal("validated dates missing"))
}

/// Per-agent slots merged into one list by start, each with the agents free then.
fn by_start(found: Vec<(Agent, Vec<Timestamp>)>) -> Vec<PublicSlot> {
    let mut merged: std::collections::BTreeMap<Timestamp, Vec<Agent>> = Default::default();
    for (agent, slots) in found {
        for slot in slots {
            merged.entry(slot).or_default().push(agent.clone());
        }
    }
    merged
        .into_iter()
        .map(|(start, agents)| PublicSlot {
            start: time::format(start),
            agents,
        })
        .collect()
}

/// The booking form.
#[derive(Debug, Deserialize, ToSchema)]
pub struct BookInput {
    /// A slot start from `…/slots` (RFC 3339, any offset).
    start: Option<String>,
    /// The chosen agent; default: the least-booked free agent of that day.
    user_id: Option<String>,
    name: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    notes: Option<String>,
}

impl Wrapped for BookInput {
    const KEYS: &'static [&'static str] = &["booking"];
}

/// A booking made.
#[derive(Debug, Serialize, ToSchema)]
pub struct Booked {
    appointment_id: String,
    scheduled_at: String,
    /// Where the patient sees, cancels or moves it.
    manage_url: String,
    /// Where the patient joins the call.
    call_url: String,
}

struct BookRequest {
    start: Timestamp,
    user_id: Option<String>,
    customer: CustomerDescription,
    notes: Option<String>,
}

fn start_field(errors: &mut FieldErrors, value: Option<&str>) -> Option<Timestamp> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => {
            errors.add("start", "can't be blank");
            None
        }
        Some(text) => time::parse(text).or_else(|| {
            errors.add("start", "is invalid");
            None
        }),
    }
}

fn validate_book(input: BookInput) -> Result<BookRequest, ApiError> {
    let mut errors = FieldErrors::new();
    let start = start_field(&mut errors, input.start.as_deref());
    let user_id = input
        .user_id
        .as_deref()
        .filter(|v| !v.trim().is_empty())
        .and_then(|v| crate::http::extract::body_id(&mut errors, "user_id", Some(v)).map(|id| id.to_string()));
    let name = validation::required_text(&mut errors, "name", input.name.as_deref(), 200);
    let email = validation::email(&mut errors, "email", input.email.as_deref(), true);
    let phone = validation::phone(&mut errors, "phone", input.phone.as_deref());
    let notes = validation::optional_text(&mut errors, "notes", input.notes.as_deref(), 2000);
    errors.into_result()?;
    let Some(start) = start else {
        return Err(ApiError::internal("validated start missing"));
    };
    Ok(BookRequest {
        start,
        user_id,
        customer: CustomerDescription { name, email, phone },
        notes,
    })
}

/// `when` as the agent reads it: local time and the zone's name.
fn local_text(conn: &Connection, when: Timestamp) -> Result<String, ApiError> {
    let zone = crate::company::store::timezone(conn)?;
    Ok(format!(
        "{} ({})",
        when.with_timezone(&zone).format("%Y-%m-%d %H:%M"),
        zone.name()
    ))
}

/// Tells the agent what the patient did (a notification row and its socket frame).
fn notify_agent(tx: &WriteTx, kind: NotificationType, title: &str, appointment: &Appointment) -> Result<(), ApiError> {
    let body = format!(
        "{} — {}",
        appointment.customer_name.as_deref().unwrap_or("Patient"),
        local_text(tx, appointment.start()?)?
    );
    let data = serde_json::json!({
        "appointment_id": appointment.id,
        "scheduled_at": appointment.scheduled_at,
        "department_id": appointment.department_id,
    });
    notifications::create(tx, &appointment.user_id, kind, title, &body, &data)?;
    Ok(())
}

/// Books a slot: the slot rules are checked again in the write transaction (409 `Slot no
/// longer available`); without `user_id` the least-booked free agent of that local day
/// gets it (ties by user id). The customer is matched by e-mail, else phone, else created.
/// The appointment lasts `slot_minutes`, is titled with the department's name, and comes
/// with its manage link and a reusable join link.
#[utoipa::path(post, path = "/api/v1/book/{token}", tag = "booking", params(("token" = String, Path)),
    request_body = BookInput,
    responses((status = 201, body = Data<Booked>), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn book(
    State(state): State<AppState>,
    Path(token): Path<String>,
    JsonBody(input): JsonBody<BookInput>,
) -> Result<(StatusCode, Json<Data<Booked>>), ApiError> {
    let tenant = booking_tenant(&state, &token).await?;
    let request = validate_book(input)?;
    let department = {
        let token = token.clone();
        tenant
            .db
            .read(move |conn| departments::store::by_booking_token(conn, &token))
            .await?
    };
    let manage_token = super::reserve_manage_token(&state.tenants, &tenant.slug).await?;
    let link = crate::access_links::NewLink {
        department_id: department.id.clone(),
        customer_name: request.customer.name.clone(),
        customer_email: request.customer.email.clone(),
        customer_phone: request.customer.phone.clone(),
        expires_at: request.start + Duration::minutes(department.slot_minutes + CALL_LINK_GRACE_MINUTES),
        reusable: true,
    };
    let manage_url = store::manage_url(&state.config.public_base(), &manage_token);
    let attached = (manage_token.clone(), manage_url.clone());
    let written = crate::access_links::issue_with(
        &state.tenants,
        &state.config.public_base(),
        &tenant,
        None,
        vec![link],
        move |conn, links| {
            let department = departments::store::by_booking_token(conn, &token)?;
            let link = links.first().ok_or_else(|| ApiError::internal("issued link missing"))?;
            let call_url = link.url.clone();
            let confirmation = Confirmation {
                join: Some(Join::Issued(Box::new(link.clone()))),
            };
            let appointment = book_in_transaction(conn, &department, &request, attached, &confirmation)?;
            notify_agent(conn, NotificationType::AppointmentBooked, "New booking", &appointment)?;
            Ok(Booked {
                appointment_id: appointment.id,
                scheduled_at: appointment.scheduled_at,
                manage_url,
                call_url,
            })
        },
    )
    .await;
    match written {
        Ok((_, booked)) => Ok(created(booked)),
        Err(err) => {
            super::release_manage_token(&state.tenants, manage_token).await;
            Err(err)
        }
    }
}

/// The slot check, the choice of agent and the create, on the booking's connection.
fn book_in_transaction(
    tx: &WriteTx,
    department: &Department,
    request: &BookRequest,
    (manage_token, manage_url): (String, String),
    confirmation: &Confirmation,
) -> Result<Appointment, ApiError> {
    let zone = crate::company::store::timezone(tx)?;
    let now = time::now();
    let mut agents = store::agents(tx, &department.id)?;
    if let Some(user_id) = &request.user_id {
        agents.retain(|a| &a.user_id == user_id);
        if agents.is_empty() {
            return Err(FieldErrors::single("user_id", "does not exist"));
        }
    }
    let mut free = Vec::new();
    for agent in agents {
        if store::is_free(
            tx,
            department,
            &agent,
            request.start,
            department.slot_minutes,
            now,
            None,
        )? {
            free.push(agent);
        }
    }
    let ids: Vec<String> = free.iter().map(|a| a.user_id.clone()).collect();
    let counts = store::open_counts_on_day(tx, zone, &ids, request.start)?;
    let agent = free
        .into_iter()
        .min_by(|a, b| {
            let load = |agent: &Agent| counts.get(&agent.user_id).copied().unwrap_or(0);
            load(a).cmp(&load(b)).then_with(|| a.user_id.cmp(&b.user_id))
        })
        .ok_or_else(slot_taken)?;
    let booking = Booking {
        title: department.name.clone(),
        description: None,
        scheduled_at: request.start,
        duration_minutes: department.slot_minutes,
        department_id: department.id.clone(),
        user_id: agent.user_id,
        customer: CustomerChoice::Described(request.customer.clone()),
        notes: request.notes.clone(),
        manage_token: Some(manage_token),
        manage_url: Some(manage_url),
    };
    // The slot check above already covers the staff conflict rule; should it ever differ,
    // the patient still sees only that the slot is gone, never whose appointment holds it.
    appointments::book(tx, &Visibility::All, &booking, confirmation).map_err(|err| match err {
        ApiError::Conflict { .. } => slot_taken(),
        other => other,
    })
}

/// The patient's view of an appointment.
#[derive(Debug, Serialize, ToSchema)]
pub struct ManageView {
    title: String,
    /// UTC, RFC 3339.
    scheduled_at: String,
    duration_minutes: i64,
    status: Status,
    department_name: String,
    user_name: String,
    call_url: Option<String>,
    /// Open, and the start is still at least the department's `min_notice_minutes` away.
    can_change: bool,
    /// For the page (our addition): the zone of local times, and the company's language
    /// (null: the browser's).
    timezone: String,
    locale: Option<String>,
}

fn may_change(appointment: &Appointment, department: &Department, now: Timestamp) -> Result<bool, ApiError> {
    Ok(
        appointment.status.is_open()
            && now + Duration::minutes(department.min_notice_minutes) <= appointment.start()?,
    )
}

fn view_of(conn: &Connection, appointment: Appointment, now: Timestamp) -> Result<ManageView, ApiError> {
    let department = departments::store::find(conn, &appointment.department_id)?;
    Ok(ManageView {
        can_change: may_change(&appointment, &department, now)?,
        title: appointment.title,
        scheduled_at: appointment.scheduled_at,
        duration_minutes: appointment.duration_minutes,
        status: appointment.status,
        department_name: appointment.department_name,
        user_name: appointment.user_name,
        call_url: appointment.access_link_url,
        timezone: crate::company::store::timezone(conn)?.name().to_string(),
        locale: company_locale(conn),
    })
}

fn managed(conn: &Connection, token: &str) -> Result<Appointment, ApiError> {
    let id = store::appointment_of_manage_token(conn, token)?;
    appointments::get(conn, &id)?.ok_or_else(|| ApiError::not_found("Appointment"))
}

/// The appointment behind a manage link.
#[utoipa::path(get, path = "/api/v1/manage/{token}", tag = "booking", params(("token" = String, Path)),
    responses((status = 200, body = Data<ManageView>), (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn manage_view(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Json<Data<ManageView>>, ApiError> {
    let tenant = manage_tenant(&state, &token).await?;
    let view = tenant
        .db
        .read(move |conn| {
            let appointment = managed(conn, &token)?;
            view_of(conn, appointment, time::now())
        })
        .await?;
    Ok(ok(view))
}

/// Where the appointment may move (our addition, for the manage page): the free slots of
/// its agent for its duration, its own time not counting as busy; same shape as the
/// booking page's slots. Empty once the appointment can no longer change.
#[utoipa::path(get, path = "/api/v1/manage/{token}/slots", tag = "booking", params(("token" = String, Path), SlotsQuery),
    responses((status = 200, body = Data<Vec<PublicSlot>>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn manage_slots(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Query(query): Query<SlotsQuery>,
) -> Result<Json<Data<Vec<PublicSlot>>>, ApiError> {
    let tenant = manage_tenant(&state, &token).await?;
    let slots = tenant
        .db
        .read_long(move |conn| {
            let appointment = managed(conn, &token)?;
            let department = departments::store::find(conn, &appointment.department_id)?;
            let zone = crate::company::store::timezone(conn)?;
            let now = time::now();
            let (from, to) = slot_days(&query, now.with_timezone(&zone).date_naive())?;
            if !may_change(&appointment, &department, now)? {
                return Ok(Vec::new());
            }
            let agent = Agent {
                user_id: appointment.user_id.clone(),
                user_name: appointment.user_name.clone(),
            };
            let query = SlotQuery {
                from,
                to,
                duration_minutes: Some(appointment.duration_minutes),
                now,
                exclude_id: Some(appointment.id.clone()),
            };
            Ok(by_start(store::free_slots(conn, zone, &department, &[agent], &query)?))
        })
        .await?;
    Ok(ok(slots))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ManageCancelInput {
    reason: Option<String>,
}

impl Wrapped for ManageCancelInput {
    const KEYS: &'static [&'static str] = &[];
}

/// Cancels until `min_notice_minutes` before the start (later → 422 `too late to change`);
/// cancelling a cancelled appointment again is a 200 no-op. The agent is notified.
#[utoipa::path(post, path = "/api/v1/manage/{token}/cancel", tag = "booking", params(("token" = String, Path)),
    request_body(content = ManageCancelInput, description = "Optional"),
    responses((status = 200, body = Data<ManageView>), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 429, body = ErrorBody)))]
async fn manage_cancel(
    State(state): State<AppState>,
    Path(token): Path<String>,
    JsonBody(input): JsonBody<ManageCancelInput>,
) -> Result<Json<Data<ManageView>>, ApiError> {
    let tenant = manage_tenant(&state, &token).await?;
    let mut errors = FieldErrors::new();
    let reason = validation::optional_text(&mut errors, "reason", input.reason.as_deref(), 1000);
    errors.into_result()?;
    let view = tenant
        .db
        .write(move |conn| {
            let now = time::now();
            let current = managed(conn, &token)?;
            if appointment_rules::next(current.status, Action::Cancel)? == Step::Repeat {
                return view_of(conn, current, now);
            }
            let department = departments::store::find(conn, &current.department_id)?;
            if !may_change(&current, &department, now)? {
                return Err(too_late());
            }
            let cancelled = appointments::act(
                conn,
                &Visibility::All,
                &current.id,
                Action::Cancel,
                reason.as_deref(),
                now,
            )?;
            notify_agent(
                conn,
                NotificationType::AppointmentCancelled,
                "Appointment cancelled",
                &cancelled,
            )?;
            view_of(conn, cancelled, now)
        })
        .await?;
    Ok(ok(view))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RescheduleInput {
    /// A free slot start of the same agent (RFC 3339).
    start: Option<String>,
}

impl Wrapped for RescheduleInput {
    const KEYS: &'static [&'static str] = &[];
}

/// Moves the appointment to another free slot of the same agent, until
/// `min_notice_minutes` before its current start (later → 422 `too late to change`); a
/// start that is not a free slot → 409 `Slot no longer available`. The agent is notified.
#[utoipa::path(post, path = "/api/v1/manage/{token}/reschedule", tag = "booking", params(("token" = String, Path)),
    request_body = RescheduleInput,
    responses((status = 200, body = Data<ManageView>), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn manage_reschedule(
    State(state): State<AppState>,
    Path(token): Path<String>,
    JsonBody(input): JsonBody<RescheduleInput>,
) -> Result<Json<Data<ManageView>>, ApiError> {
    let tenant = manage_tenant(&state, &token).await?;
    let mut errors = FieldErrors::new();
    let start = start_field(&mut errors, input.start.as_deref());
    errors.into_result()?;
    let Some(start) = start else {
        return Err(ApiError::internal("validated start missing"));
    };
    let view = tenant
        .db
        .write(move |conn| {
            let now = time::now();
            let current = managed(conn, &token)?;
            appointment_rules::check_editable(current.status)?;
            let department = departments::store::find(conn, &current.department_id)?;
            if !may_change(&current, &department, now)? {
                return Err(too_late());
            }
            let agent = Agent {
                user_id: current.user_id.clone(),
                user_name: current.user_name.clone(),
            };
            let free = store::is_free(
                conn,
                &department,
                &agent,
                start,
                current.duration_minutes,
                now,
                Some(&current.id),
            )?;
            if !free {
                return Err(slot_taken());
            }
            let changes = AppointmentChanges {
                scheduled_at: Some(start),
                ..Default::default()
            };
            let moved =
                appointments::update(conn, &Visibility::All, &current.id, &changes, now).map_err(|err| match err {
                    ApiError::Conflict { .. } => slot_taken(),
                    other => other,
                })?;
            if moved.scheduled_at != current.scheduled_at {
                notify_agent(
                    conn,
                    NotificationType::AppointmentRescheduled,
                    "Appointment rescheduled",
                    &moved,
                )?;
            }
            view_of(conn, moved, now)
        })
        .await?;
    Ok(ok(view))
}
