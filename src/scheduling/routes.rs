//! Staff endpoints of self-scheduling: an agent's working hours
//! (`/api/v1/users/:id/availability`) and the free slots of a department
//! (`/api/v1/availability`).

use axum::Json;
use chrono::NaiveDate;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::rules::{self, Availability, AvailabilityInput};
use super::store::{self, AgentSlots, SlotQuery};
use crate::auth::{Role, min};
use crate::error::{ApiError, FieldErrors};
use crate::http::auth::Auth;
use crate::http::extract::{JsonBody, Path, Query, Wrapped, body_id};
use crate::http::{Data, ErrorBody, ok};
use crate::state::AppState;
use crate::time;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_availability, put_availability))
        .routes(routes!(department_availability))
}

/// The widest range one slot query may cover.
pub const MAX_RANGE_DAYS: i64 = 366;

impl Wrapped for AvailabilityInput {
    const KEYS: &'static [&'static str] = &["availability"];
}

/// Users edit their own hours; supervisors and up anyone's (SPEC §7.3).
fn check_may_edit(auth: &Auth<min::Attendant>, user_id: &str) -> Result<(), ApiError> {
    if auth.user.id == user_id || auth.user.role.at_least(Role::Supervisor) {
        Ok(())
    } else {
        Err(ApiError::Forbidden("Only supervisors manage other users' hours".into()))
    }
}

/// Working hours of a user, in the company time zone.
#[utoipa::path(get, path = "/api/v1/users/{id}/availability", tag = "scheduling", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Data<Availability>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_availability(
    auth: Auth<min::Attendant>,
    Path(id): Path<Uuid>,
) -> Result<Json<Data<Availability>>, ApiError> {
    let id = id.to_string();
    check_may_edit(&auth, &id)?;
    let hours = auth
        .db()
        .read(move |conn| {
            crate::users::store::find(conn, &id)?;
            store::working_hours(conn, &id)
        })
        .await?;
    Ok(ok(Availability::of(&hours)))
}

/// Replaces a user's working hours: weekly intervals (ISO weekday, `HH:MM`–`HH:MM`) and
/// dated exceptions that replace that day (`[]` = day off). Overlapping, reversed or
/// malformed intervals → 422 on their path (`weekly.2.end`).
#[utoipa::path(put, path = "/api/v1/users/{id}/availability", tag = "scheduling", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = AvailabilityInput,
    responses((status = 200, body = Data<Availability>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn put_availability(
    auth: Auth<min::Attendant>,
    Path(id): Path<Uuid>,
    JsonBody(input): JsonBody<AvailabilityInput>,
) -> Result<Json<Data<Availability>>, ApiError> {
    let id = id.to_string();
    check_may_edit(&auth, &id)?;
    let hours = rules::validate(input)?;
    let hours = auth
        .db()
        .write(move |conn| {
            crate::users::store::find(conn, &id)?;
            let before = Availability::of(&store::working_hours(conn, &id)?);
            store::replace_working_hours(conn, &id, &hours)?;
            let hours = store::working_hours(conn, &id)?;
            crate::audit::act(conn, "user.availability", &id, &before, &Availability::of(&hours))?;
            Ok(hours)
        })
        .await?;
    Ok(ok(Availability::of(&hours)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AvailabilityQuery {
    /// Required.
    department_id: Option<String>,
    /// `YYYY-MM-DD` in the company time zone. Required.
    date_from: Option<String>,
    /// `YYYY-MM-DD`, included. Required; at most 366 days after `date_from`.
    date_to: Option<String>,
    /// Only this agent.
    user_id: Option<String>,
    /// 1–1440; default the department's `slot_minutes`.
    duration_minutes: Option<i64>,
}

/// A `YYYY-MM-DD` query parameter; another form is a parameter of the wrong type (400).
fn query_date(errors: &mut FieldErrors, field: &str, value: Option<&str>) -> Result<Option<NaiveDate>, ApiError> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => {
            errors.add(field, "can't be blank");
            Ok(None)
        }
        Some(text) => NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| ApiError::BadRequest(format!("{field} must be a date (YYYY-MM-DD)"))),
    }
}

/// `date_from`..=`date_to`: both given (else 422 on `errors`), in order and at most
/// [`MAX_RANGE_DAYS`] apart; a malformed date is 400.
pub fn date_range(
    errors: &mut FieldErrors,
    date_from: Option<&str>,
    date_to: Option<&str>,
) -> Result<Option<(NaiveDate, NaiveDate)>, ApiError> {
    let from = query_date(errors, "date_from", date_from)?;
    let to = query_date(errors, "date_to", date_to)?;
    let (Some(from), Some(to)) = (from, to) else {
        return Ok(None);
    };
    if to < from {
        errors.add("date_to", "must be on or after date_from");
    } else if (to - from).num_days() > MAX_RANGE_DAYS {
        errors.add(
            "date_to",
            format!("must be at most {MAX_RANGE_DAYS} days after date_from"),
        );
    }
    Ok(Some((from, to)))
}

/// Free slot starts of the department's active members (or of `user_id`): inside their
/// working hours, clear of open appointments plus the buffer, after the minimum notice and
/// before the maximum advance.
#[utoipa::path(get, path = "/api/v1/availability", tag = "scheduling", security(("bearer" = [])),
    params(AvailabilityQuery),
    responses((status = 200, body = Data<Vec<AgentSlots>>), (status = 400, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn department_availability(
    auth: Auth<min::Attendant>,
    Query(query): Query<AvailabilityQuery>,
) -> Result<Json<Data<Vec<AgentSlots>>>, ApiError> {
    let mut errors = FieldErrors::new();
    let department_id = match query.department_id.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
        None => {
            errors.add("department_id", "can't be blank");
            None
        }
        // Not a UUID cannot exist (§7.8: a department of another tenant → 422 `does not exist`).
        Some(text) => body_id(&mut errors, "department_id", Some(text)).map(|id| id.to_string()),
    };
    let user_id = query
        .user_id
        .as_deref()
        .filter(|v| !v.trim().is_empty())
        .and_then(|v| body_id(&mut errors, "user_id", Some(v)).map(|id| id.to_string()));
    if let Some(minutes) = query.duration_minutes
        && !(1..=1440).contains(&minutes)
    {
        errors.add("duration_minutes", "must be between 1 and 1440");
    }
    let range = date_range(&mut errors, query.date_from.as_deref(), query.date_to.as_deref())?;
    errors.into_result()?;
    let (Some(department_id), Some((from, to))) = (department_id, range) else {
        return Err(ApiError::internal("validated availability query missing"));
    };
    let duration_minutes = query.duration_minutes;
    let found = auth
        .db()
        .read_long(move |conn| {
            let Some(department) = crate::departments::store::get(conn, &department_id)? else {
                return Err(FieldErrors::single("department_id", "does not exist"));
            };
            let mut agents = store::agents(conn, &department_id)?;
            if let Some(user_id) = &user_id {
                if !crate::users::store::exists(conn, user_id)? {
                    return Err(FieldErrors::single("user_id", "does not exist"));
                }
                agents.retain(|a| &a.user_id == user_id);
                if agents.is_empty() {
                    return Err(FieldErrors::single(
                        "user_id",
                        "must be an active member of the department",
                    ));
                }
            }
            let zone = crate::company::store::timezone(conn)?;
            let query = SlotQuery {
                from,
                to,
                duration_minutes,
                now: time::now(),
                exclude_id: None,
            };
            store::free_slots(conn, zone, &department, &agents, &query)
        })
        .await?;
    Ok(ok(found
        .into_iter()
        .map(|(agent, slots)| AgentSlots {
            user_id: agent.user_id,
            user_name: agent.user_name,
            slots: slots.into_iter().map(time::format).collect(),
        })
        .collect()))
}
