//! `/api/v1/departments` (supervisor): CRUD and membership.

use axum::Json;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::Department;
use super::store::{self, BookingSettings, DepartmentFields, DepartmentFilters};
use crate::auth::min;
use crate::error::{ApiError, FieldErrors};
use crate::http::auth::Auth;
use crate::http::extract::{JsonBody, Path, Query, Wrapped, body_id, nullable};
use crate::http::pagination::{Page, Paging, PagingParams};
use crate::http::{Data, ErrorBody, created, ok};
use crate::state::AppState;
use crate::users::routes::UserIdInput;
use crate::users::{self, User};
use crate::validation;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_departments, create_department))
        .routes(routes!(get_department, update_department, delete_department))
        .routes(routes!(list_members, add_member))
        .routes(routes!(remove_member))
        .routes(routes!(rotate_booking_token))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct DepartmentInput {
    name: Option<String>,
    /// ASCII slug, unique; generated from the name when omitted.
    identifier: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    description: Option<Option<String>>,
    active: Option<bool>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    sector_id: Option<Option<String>>,
    /// 0 = unlimited.
    max_queue_size: Option<i64>,
    /// Seconds; 0 = unlimited.
    max_wait_time: Option<i64>,
    /// Patients may book on `booking_url`. Default false.
    public_booking: Option<bool>,
    /// 5–480, default 30.
    slot_minutes: Option<i64>,
    /// 0–240, default 0.
    buffer_minutes: Option<i64>,
    /// 0–10080, default 120.
    min_notice_minutes: Option<i64>,
    /// 1–365, default 60.
    max_advance_days: Option<i64>,
}

impl Wrapped for DepartmentInput {
    const KEYS: &'static [&'static str] = &["department"];
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DepartmentQuery {
    /// Case-insensitive substring of the name or identifier.
    search: Option<String>,
    active: Option<bool>,
    sector_id: Option<String>,
}

/// Checks a create (`creating`) or update body; existence of `sector_id` is checked in
/// the write transaction.
fn validate(input: DepartmentInput, creating: bool) -> Result<DepartmentFields, ApiError> {
    let mut errors = FieldErrors::new();
    let name = if creating || input.name.is_some() {
        validation::required_text(&mut errors, "name", input.name.as_deref(), 200)
    } else {
        None
    };
    let identifier = validation::optional_text(&mut errors, "identifier", input.identifier.as_deref(), 100);
    if let Some(identifier) = &identifier
        && (identifier.starts_with('-')
            || !identifier
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'))
    {
        errors.add("identifier", "has invalid format");
    }
    let description = input
        .description
        .map(|d| validation::optional_text(&mut errors, "description", d.as_deref(), 2000));
    let sector_id = input
        .sector_id
        .map(|s| body_id(&mut errors, "sector_id", s.as_deref()).map(|id| id.to_string()));
    for (field, value) in [
        ("max_queue_size", input.max_queue_size),
        ("max_wait_time", input.max_wait_time),
    ] {
        if value.is_some_and(|v| v < 0) {
            errors.add(field, "must be greater than or equal to 0");
        }
    }
    for (field, value, min, max) in [
        ("slot_minutes", input.slot_minutes, 5, 480),
        ("buffer_minutes", input.buffer_minutes, 0, 240),
        ("min_notice_minutes", input.min_notice_minutes, 0, 10080),
        ("max_advance_days", input.max_advance_days, 1, 365),
    ] {
        match value {
            Some(v) if v < min => errors.add(field, format!("must be greater than or equal to {min}")),
            Some(v) if v > max => errors.add(field, format!("must be less than or equal to {max}")),
            _ => {}
        }
    }
    errors.into_result()?;
    Ok(DepartmentFields {
        name,
        identifier,
        description,
        active: input.active,
        sector_id,
        max_queue_size: input.max_queue_size,
        max_wait_time: input.max_wait_time,
        booking: BookingSettings {
            public_booking: input.public_booking,
            slot_minutes: input.slot_minutes,
            buffer_minutes: input.buffer_minutes,
            min_notice_minutes: input.min_notice_minutes,
            max_advance_days: input.max_advance_days,
        },
    })
}

/// A booking-page token registered in the registry's public index before the department
/// row names it (SPEC §4.7), with the URL it makes.
async fn new_booking_token(state: &AppState, tenant: &crate::db::Tenant) -> Result<(String, String), ApiError> {
    let token = crate::auth::token::random_token();
    state
        .tenants
        .register_public(crate::db::PublicKind::Booking, vec![token.clone()], &tenant.slug)
        .await?;
    let url = format!("{}/book/{token}", state.config.public_base());
    Ok((token, url))
}

/// Runs a department write that may need a booking token: one is registered first when
/// `public_booking` is switched on, and whatever index entry ends up unused (the department
/// had a token already, the write failed) is removed after it.
async fn write_with_booking_token<F>(
    state: &AppState,
    auth: &Auth<min::Supervisor>,
    fields: &DepartmentFields,
    write: F,
) -> Result<Department, ApiError>
where
    F: FnOnce(&crate::db::WriteTx) -> Result<Department, ApiError> + Send + 'static,
{
    let token = match fields.booking.public_booking {
        Some(true) => Some(new_booking_token(state, &auth.tenant).await?),
        _ => None,
    };
    let issued = token.clone();
    let written = auth
        .db()
        .write(move |conn| {
            let department = write(conn)?;
            let Some((token, url)) = issued else {
                return Ok((department, None));
            };
            let unused = store::set_booking_token(conn, &department.id, &token, &url, false)?;
            Ok((store::find(conn, &department.id)?, unused))
        })
        .await;
    match written {
        Ok((department, unused)) => {
            if let Some(unused) = unused {
                state.tenants.forget_public(vec![unused]).await;
            }
            Ok(department)
        }
        Err(err) => {
            if let Some((token, _)) = token {
                state.tenants.forget_public(vec![token]).await;
            }
            Err(err)
        }
    }
}

fn check_sector(conn: &rusqlite::Connection, fields: &DepartmentFields) -> Result<(), ApiError> {
    if let Some(Some(sector_id)) = &fields.sector_id
        && crate::sectors::store::get(conn, sector_id)?.is_none()
    {
        return Err(FieldErrors::single("sector_id", "does not exist"));
    }
    Ok(())
}

#[utoipa::path(get, path = "/api/v1/departments", tag = "departments", security(("bearer" = [])), params(PagingParams, DepartmentQuery),
    responses((status = 200, body = Page<Department>), (status = 403, body = ErrorBody)))]
async fn list_departments(
    auth: Auth<min::Supervisor>,
    paging: Paging,
    Query(query): Query<DepartmentQuery>,
) -> Result<Json<Page<Department>>, ApiError> {
    let order = paging.order(&store::SORT)?;
    let filters = DepartmentFilters {
        search: query.search,
        active: query.active,
        sector_id: query.sector_id,
    };
    Ok(Json(
        auth.db().read(move |conn| store::list(conn, &filters, &order)).await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/departments", tag = "departments", security(("bearer" = [])), request_body = DepartmentInput,
    responses((status = 201, body = Data<Department>), (status = 422, body = ErrorBody)))]
async fn create_department(
    axum::extract::State(state): axum::extract::State<AppState>,
    auth: Auth<min::Supervisor>,
    JsonBody(input): JsonBody<DepartmentInput>,
) -> Result<(StatusCode, Json<Data<Department>>), ApiError> {
    let fields = validate(input, true)?;
    let limits = crate::billing::Limits::of(&state.config);
    let written = fields.clone();
    let department = write_with_booking_token(&state, &auth, &fields, move |conn| {
        check_sector(conn, &written)?;
        let department = store::insert(conn, &written)?;
        crate::billing::enforce_departments(conn, limits)?;
        Ok(department)
    })
    .await?;
    Ok(created(department))
}

#[utoipa::path(get, path = "/api/v1/departments/{id}", tag = "departments", security(("bearer" = [])),
    params(("id" = String, Path)), responses((status = 200, body = Data<Department>), (status = 404, body = ErrorBody)))]
async fn get_department(auth: Auth<min::Supervisor>, Path(id): Path<Uuid>) -> Result<Json<Data<Department>>, ApiError> {
    Ok(ok(auth
        .db()
        .read(move |conn| store::find(conn, &id.to_string()))
        .await?))
}

#[utoipa::path(put, path = "/api/v1/departments/{id}", tag = "departments", security(("bearer" = [])), request_body = DepartmentInput,
    params(("id" = String, Path)),
    responses((status = 200, body = Data<Department>), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_department(
    axum::extract::State(state): axum::extract::State<AppState>,
    auth: Auth<min::Supervisor>,
    Path(id): Path<Uuid>,
    JsonBody(input): JsonBody<DepartmentInput>,
) -> Result<Json<Data<Department>>, ApiError> {
    let fields = validate(input, false)?;
    let limits = crate::billing::Limits::of(&state.config);
    let written = fields.clone();
    let department = write_with_booking_token(&state, &auth, &fields, move |conn| {
        store::find(conn, &id.to_string())?;
        check_sector(conn, &written)?;
        let department = store::update(conn, &id.to_string(), &written)?;
        if written.active == Some(true) {
            crate::billing::enforce_departments(conn, limits)?;
        }
        Ok(department)
    })
    .await?;
    Ok(ok(department))
}

/// Deletes a department without history; one with calls, appointments or access links
/// → 422 `Department has history; deactivate it instead`.
#[utoipa::path(delete, path = "/api/v1/departments/{id}", tag = "departments", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 204, description = "Deleted"), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn delete_department(auth: Auth<min::Supervisor>, Path(id): Path<Uuid>) -> Result<StatusCode, ApiError> {
    auth.db()
        .write(move |conn| store::delete(conn, &id.to_string()))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/departments/{id}/users", tag = "departments", security(("bearer" = [])),
    params(("id" = String, Path), PagingParams), responses((status = 200, body = Page<User>), (status = 404, body = ErrorBody)))]
async fn list_members(
    auth: Auth<min::Supervisor>,
    Path(id): Path<Uuid>,
    paging: Paging,
) -> Result<Json<Page<User>>, ApiError> {
    let order = paging.order(&users::store::SORT)?;
    let page = auth
        .db()
        .read(move |conn| {
            store::find(conn, &id.to_string())?;
            let filters = users::store::UserFilters {
                department_id: Some(id.to_string()),
                ..Default::default()
            };
            users::store::list(conn, &filters, &order)
        })
        .await?;
    Ok(Json(page))
}

/// Adds a member (`{"user_id": …}`); adding one twice is 200 as well. Answers the user.
#[utoipa::path(post, path = "/api/v1/departments/{id}/users", tag = "departments", security(("bearer" = [])), request_body = UserIdInput,
    params(("id" = String, Path)),
    responses((status = 200, body = Data<User>), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn add_member(
    auth: Auth<min::Supervisor>,
    Path(id): Path<Uuid>,
    JsonBody(input): JsonBody<UserIdInput>,
) -> Result<Json<Data<User>>, ApiError> {
    let user_id = input.required()?;
    let user = auth
        .db()
        .write(move |conn| {
            store::find(conn, &id.to_string())?;
            if !users::store::exists(conn, &user_id)? {
                return Err(FieldErrors::single("user_id", "does not exist"));
            }
            store::add_member(conn, &id.to_string(), &user_id)?;
            users::store::find(conn, &user_id)
        })
        .await?;
    Ok(ok(user))
}

#[utoipa::path(delete, path = "/api/v1/departments/{id}/users/{user_id}", tag = "departments", security(("bearer" = [])),
    params(("id" = String, Path), ("user_id" = String, Path)),
    responses((status = 204, description = "Removed (or was not a member)"), (status = 404, body = ErrorBody)))]
async fn remove_member(
    auth: Auth<min::Supervisor>,
    Path((id, user_id)): Path<(Uuid, Uuid)>,
) -> Result<StatusCode, ApiError> {
    auth.db()
        .write(move |conn| {
            store::find(conn, &id.to_string())?;
            users::store::find(conn, &user_id.to_string())?;
            store::remove_member(conn, &id.to_string(), &user_id.to_string())
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Replaces the booking page's token: the old `booking_url` answers 404 from now on.
/// Answers the department (its `booking_url` stays null while `public_booking` is off).
#[utoipa::path(post, path = "/api/v1/departments/{id}/booking-token", tag = "departments", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Data<Department>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn rotate_booking_token(
    axum::extract::State(state): axum::extract::State<AppState>,
    auth: Auth<min::Manager>,
    Path(id): Path<Uuid>,
) -> Result<Json<Data<Department>>, ApiError> {
    // Checked before a token is registered, so a wrong id leaves no index entry behind.
    auth.db().read(move |conn| store::find(conn, &id.to_string())).await?;
    let (token, url) = new_booking_token(&state, &auth.tenant).await?;
    let issued = token.clone();
    let written = auth
        .db()
        .write(move |conn| {
            let old = store::set_booking_token(conn, &id.to_string(), &issued, &url, true)?;
            // The token itself is never audited, only that it was replaced.
            crate::audit::note(conn, "department.booking_token", &id.to_string(), serde_json::json!({}))?;
            Ok((store::find(conn, &id.to_string())?, old))
        })
        .await;
    match written {
        Ok((department, old)) => {
            if let Some(old) = old {
                state.tenants.forget_public(vec![old]).await;
            }
            Ok(ok(department))
        }
        Err(err) => {
            state.tenants.forget_public(vec![token]).await;
            Err(err)
        }
    }
}
