//! SQL for appointments: reads (with the overdue flag computed on the fly), the conflict
//! query, and the writes of booking, editing and the action endpoints. Each write runs
//! whole inside the caller's write transaction, so a check and the write it guards can
//! never be separated by another request.

use std::collections::HashMap;

use chrono::Duration;
use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::rules::{self, Action, Status, Step};
use crate::auth::Visibility;
use crate::customers::{self, CustomerDetails, store::phone_digits};
use crate::db::WriteTx;
use crate::db::query::DateRange;
use crate::db::query::{Filter, Order, Page, SortOrder, SortSpec, fetch_page, kept, snapshot};
use crate::error::{ApiError, FieldErrors};
use crate::events::DomainEvent;
use crate::time::{self, Timestamp};
use crate::{company, departments, users};

/// An appointment as the API shows it (seed `Rendez-vous` plus SPEC §4.5 additions).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Appointment {
    pub id: String,
    pub title: String,
    pub description: Option<String>,
    pub status: Status,
    /// UTC, RFC 3339.
    pub scheduled_at: String,
    pub duration_minutes: i64,
    pub department_id: String,
    pub department_name: String,
    /// The agent.
    pub user_id: String,
    pub user_name: String,
    /// The agent's service provider.
    pub provider_id: Option<String>,
    pub provider_name: Option<String>,
    /// Null only in a conflict entry the caller may not see in detail.
    pub customer_id: Option<String>,
    pub customer_name: Option<String>,
    pub customer_email: Option<String>,
    pub customer_phone: Option<String>,
    pub notes: Option<String>,
    /// Still open after its end (`scheduled_at + duration_minutes`).
    pub overdue: bool,
    pub cancel_reason: Option<String>,
    pub confirmed_at: Option<String>,
    pub cancelled_at: Option<String>,
    pub completed_at: Option<String>,
    /// The URL of the access link issued for this appointment, if any.
    pub access_link_url: Option<String>,
    /// That link's id (for `POST /access-links/:id/send`), if any.
    pub access_link_id: Option<String>,
    pub inserted_at: String,
    pub updated_at: String,
}

impl Appointment {
    pub fn start(&self) -> Result<Timestamp, ApiError> {
        time::parse(&self.scheduled_at).ok_or_else(|| ApiError::internal("stored scheduled_at is not a time"))
    }

    /// The same slot without what only its viewers may read (title, customer, notes):
    /// a conflict must show that an agent is busy without leaking another department's
    /// patient to an attendant.
    pub fn as_busy_slot(self) -> Appointment {
        Appointment {
            title: "Busy".into(),
            description: None,
            customer_id: None,
            customer_name: None,
            customer_email: None,
            customer_phone: None,
            notes: None,
            cancel_reason: None,
            access_link_url: None,
            access_link_id: None,
            ..self
        }
    }
}

/// `overdue` as every read shows it: the stored flag, or an open appointment whose end
/// has passed though the sweeper has not flagged it yet.
macro_rules! overdue_sql {
    () => {
        "(a.overdue = 1 OR (a.status IN ('scheduled', 'confirmed') \
         AND a.ends_at <= strftime('%Y-%m-%dT%H:%M:%SZ', 'now')))"
    };
}

/// The columns [`map_row`] reads, with what stands for the department's name, for the
/// agent's name, provider id and provider name, and for the customer's name, e-mail and
/// phone.
macro_rules! columns {
    ($department:literal, $agent:literal, $customer:literal) => {
        concat!(
            "a.id, a.title, a.description, a.status, a.scheduled_at, a.duration_minutes, a.department_id, ",
            $department,
            ", a.user_id, ",
            $agent,
            ", a.customer_id, ",
            $customer,
            ", a.notes, ",
            overdue_sql!(),
            ", a.cancel_reason, a.confirmed_at, a.cancelled_at, a.completed_at, a.access_link_url, \
             a.inserted_at, a.updated_at, a.access_link_id"
        )
    };
}

const COLUMNS: &str = columns!("d.name", "u.name, u.provider_id, p.name", "c.name, c.email, c.phone");
const FROM: &str = "appointments a \
     JOIN departments d ON d.id = a.department_id \
     JOIN users u ON u.id = a.user_id \
     LEFT JOIN service_providers p ON p.id = u.provider_id \
     JOIN customers c ON c.id = a.customer_id";
/// A list page's rows leave the department, agent, provider and customer fields blank;
/// [`name_rows`] fills them once per distinct id on the page, and keeps them while
/// nothing is committed. A page of one agent's appointments then looks its agent up
/// once instead of twenty times, and a page read again reads no names at all.
const LIST_COLUMNS: &str = columns!("''", "'', NULL, NULL", "NULL, NULL, NULL");
const LIST_FROM: &str = "appointments a";

/// The department, agent, provider and customer names of `rows`, read once per
/// distinct id.
fn name_rows(conn: &Connection, rows: &mut [Appointment]) -> Result<(), ApiError> {
    if rows.is_empty() {
        return Ok(());
    }
    let ids_of = |pick: fn(&Appointment) -> &str| {
        let mut ids: Vec<&str> = rows.iter().map(pick).collect();
        ids.sort_unstable();
        ids.dedup();
        serde_json::to_string(&ids).map_err(ApiError::from_source)
    };
    let department_ids = ids_of(|a| &a.department_id)?;
    let user_ids = ids_of(|a| &a.user_id)?;
    let customer_ids = ids_of(|a| a.customer_id.as_deref().unwrap_or_default())?;
    let read = || -> rusqlite::Result<Names> {
        let departments = conn
            .prepare_cached(DEPARTMENT_NAMES)?
            .query_map([&department_ids], |row| Ok((row.get(0)?, row.get(1)?)))?
            .collect::<Result<_, _>>()?;
        let agents = conn
            .prepare_cached(AGENT_NAMES)?
            .query_map([&user_ids], |row| {
                Ok((row.get(0)?, (row.get(1)?, row.get(2)?, row.get(3)?)))
            })?
            .collect::<Result<_, _>>()?;
        Ok(Names { departments, agents })
    };
    let read_customers = || -> rusqlite::Result<Customers> {
        conn.prepare_cached(CUSTOMER_NAMES)?
            .query_map([&customer_ids], |row| {
                Ok((row.get(0)?, (row.get(1)?, row.get(2)?, row.get(3)?)))
            })?
            .collect::<Result<_, _>>()
    };
    // A list pages through the same few departments and agents: their names are read
    // once while nothing is committed.
    let names = kept(&format!("{AGENT_NAMES}\0{department_ids}\0{user_ids}"), read)?;
    let customers = kept(&format!("{CUSTOMER_NAMES}\0{customer_ids}"), read_customers)?;
    for row in rows.iter_mut() {
        if let Some(name) = names.departments.get(&row.department_id) {
            row.department_name.clone_from(name);
        }
        if let Some((name, provider_id, provider_name)) = names.agents.get(&row.user_id) {
            row.user_name.clone_from(name);
            row.provider_id.clone_from(provider_id);
            row.provider_name.clone_from(provider_name);
        }
        if let Some((name, email, phone)) = row.customer_id.as_ref().and_then(|id| customers.get(id)) {
            row.customer_name.clone_from(name);
            row.customer_email.clone_from(email);
            row.customer_phone.clone_from(phone);
        }
    }
    Ok(())
}

const DEPARTMENT_NAMES: &str = "SELECT id, name FROM departments WHERE id IN (SELECT value FROM json_each(?1))";
const AGENT_NAMES: &str = "SELECT u.id, u.name, u.provider_id, p.name FROM users u \
     LEFT JOIN service_providers p ON p.id = u.provider_id \
     WHERE u.id IN (SELECT value FROM json_each(?1))";
const CUSTOMER_NAMES: &str =
    "SELECT id, name, email, phone FROM customers WHERE id IN (SELECT value FROM json_each(?1))";

/// The customers on a page by id: name, e-mail, phone.
type Customers = HashMap<String, (Option<String>, Option<String>, Option<String>)>;

/// The names on a page: departments by id; agents by id, with their provider's id and name.
struct Names {
    departments: HashMap<String, String>,
    agents: HashMap<String, (String, Option<String>, Option<String>)>,
}

pub const SORT: SortSpec = SortSpec {
    columns: &[
        ("scheduled_at", "a.scheduled_at"),
        ("title", "a.title COLLATE NOCASE"),
        ("status", "a.status"),
        ("duration_minutes", "a.duration_minutes"),
        ("inserted_at", "a.inserted_at"),
        ("updated_at", "a.updated_at"),
    ],
    default_key: "scheduled_at",
    default_order: SortOrder::Asc,
    default_page_size: 20,
    tie_breaker: "a.id",
};

fn map_row(row: &Row<'_>) -> rusqlite::Result<Appointment> {
    let status: String = row.get(3)?;
    Ok(Appointment {
        id: row.get(0)?,
        title: row.get(1)?,
        description: row.get(2)?,
        status: Status::parse(&status).ok_or_else(|| {
            rusqlite::Error::FromSqlConversionFailure(3, rusqlite::types::Type::Text, "unknown status".into())
        })?,
        scheduled_at: row.get(4)?,
        duration_minutes: row.get(5)?,
        department_id: row.get(6)?,
        department_name: row.get(7)?,
        user_id: row.get(8)?,
        user_name: row.get(9)?,
        provider_id: row.get(10)?,
        provider_name: row.get(11)?,
        customer_id: row.get(12)?,
        customer_name: row.get(13)?,
        customer_email: row.get(14)?,
        customer_phone: row.get(15)?,
        notes: row.get(16)?,
        overdue: row.get(17)?,
        cancel_reason: row.get(18)?,
        confirmed_at: row.get(19)?,
        cancelled_at: row.get(20)?,
        completed_at: row.get(21)?,
        access_link_url: row.get(22)?,
        inserted_at: row.get(23)?,
        updated_at: row.get(24)?,
        access_link_id: row.get(25)?,
    })
}

pub fn get(conn: &Connection, id: &str) -> Result<Option<Appointment>, ApiError> {
    Ok(conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM {FROM} WHERE a.id = ?1"))?
        .query_row([id], map_row)
        .optional()?)
}

/// The appointment if `viewer` may see it; 403 when it exists outside what the viewer
/// may touch (another department's, SPEC §2.3), 404 when it does not exist here.
pub fn find_visible(conn: &Connection, id: &str, viewer: &Visibility) -> Result<Appointment, ApiError> {
    let appointment = get(conn, id)?.ok_or_else(|| ApiError::not_found("Appointment"))?;
    if !viewer.allows(&appointment.department_id, Some(&appointment.user_id)) {
        return Err(ApiError::Forbidden("Forbidden".into()));
    }
    Ok(appointment)
}

#[derive(Debug, Default)]
pub struct AppointmentFilters {
    /// Any of these statuses; empty: all.
    pub statuses: Vec<Status>,
    pub dates: DateRange,
    pub user_id: Option<String>,
    pub department_id: Option<String>,
    pub provider_id: Option<String>,
    pub overdue: Option<bool>,
}

pub fn list(
    conn: &Connection,
    filters: &AppointmentFilters,
    viewer: &Visibility,
    order: &Order,
) -> Result<Page<Appointment>, ApiError> {
    let mut filter = Filter::new();
    viewer.restrict(&mut filter, "a");
    if !filters.statuses.is_empty() {
        let marks = vec!["?"; filters.statuses.len()].join(", ");
        filter.push(
            &format!("a.status IN ({marks})"),
            filters.statuses.iter().map(|s| SqlValue::Text(s.as_str().into())),
        );
    }
    let zone = if filters.dates.has_dates() {
        company::store::timezone(conn)?
    } else {
        chrono_tz::UTC
    };
    filters.dates.restrict(&mut filter, "a.scheduled_at", zone);
    // Every condition is on `a` alone, so the page and its count read one index of
    // `appointments` and only the page's rows are joined (see `fetch_page`).
    for (column, value) in [
        ("a.user_id = ?", &filters.user_id),
        ("a.department_id = ?", &filters.department_id),
        (
            "a.user_id IN (SELECT id FROM users WHERE provider_id = ?)",
            &filters.provider_id,
        ),
    ] {
        if let Some(value) = value {
            filter.push(column, [SqlValue::Text(value.clone())]);
        }
    }
    if let Some(overdue) = filters.overdue {
        filter.push(concat!(overdue_sql!(), " = ?"), [SqlValue::Integer(overdue.into())]);
    }
    // The page, its count and its names from one snapshot.
    let _snapshot = snapshot(conn)?;
    let mut page = fetch_page(conn, LIST_COLUMNS, LIST_FROM, &filter, order, map_row)?;
    name_rows(conn, &mut page.data)?;
    Ok(page)
}

fn end_of(start: Timestamp, duration_minutes: i64) -> Timestamp {
    start + Duration::minutes(duration_minutes)
}

/// The open appointments of `user_id` overlapping `[start, start + duration)`, apart from
/// `exclude_id`. Intervals are half-open: one ending at 10:00 and one starting at 10:00 do
/// not conflict; cancelled, completed and no-show appointments never block.
pub fn conflicts(
    conn: &Connection,
    user_id: &str,
    start: Timestamp,
    duration_minutes: i64,
    exclude_id: Option<&str>,
) -> Result<Vec<Appointment>, ApiError> {
    let rows = conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM {FROM}
             WHERE a.user_id = ?1 AND a.status IN ('scheduled', 'confirmed')
               AND a.scheduled_at < ?3 AND a.ends_at > ?2 AND a.id <> ?4
             ORDER BY a.scheduled_at, a.id"
        ))?
        .query_map(
            params![
                user_id,
                time::format(start),
                time::format(end_of(start, duration_minutes)),
                exclude_id.unwrap_or("")
            ],
            map_row,
        )?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// The 409 of a slot that is taken, listing what takes it (as `viewer` may see it).
fn reject_conflicts(
    conn: &Connection,
    viewer: &Visibility,
    user_id: &str,
    start: Timestamp,
    duration_minutes: i64,
    exclude_id: Option<&str>,
) -> Result<(), ApiError> {
    let found = conflicts(conn, user_id, start, duration_minutes, exclude_id)?;
    if found.is_empty() {
        return Ok(());
    }
    let shown: Vec<Appointment> = found.into_iter().map(|a| viewed_by(a, viewer)).collect();
    Err(ApiError::Conflict {
        detail: "Schedule conflict".into(),
        extra: Some((
            "conflicts".into(),
            serde_json::to_value(shown).map_err(ApiError::from_source)?,
        )),
    })
}

/// `appointment` in full when `viewer` may see it, else as a busy slot.
pub fn viewed_by(appointment: Appointment, viewer: &Visibility) -> Appointment {
    if viewer.allows(&appointment.department_id, Some(&appointment.user_id)) {
        appointment
    } else {
        appointment.as_busy_slot()
    }
}

/// Who the appointment is with: an existing customer, or a description matched or
/// created by the customer rule (SPEC §4.4).
#[derive(Debug, Clone)]
pub enum CustomerChoice {
    Existing(String),
    Described(CustomerDescription),
}

/// Customer fields of a request; on update, missing ones come from the current customer.
#[derive(Debug, Clone, Default)]
pub struct CustomerDescription {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

/// A new appointment, validated except for what needs the database.
#[derive(Debug, Clone)]
pub struct Booking {
    pub title: String,
    pub description: Option<String>,
    pub scheduled_at: Timestamp,
    pub duration_minutes: i64,
    pub department_id: String,
    pub user_id: String,
    pub customer: CustomerChoice,
    pub notes: Option<String>,
    /// The manage-link token the appointment gets (SPEC §7.3), already registered in the
    /// public index (`scheduling::reserve_manage_token`).
    pub manage_token: Option<String>,
    /// `<public_url>/manage/<token>`, kept for the e-mails written later.
    pub manage_url: Option<String>,
}

/// Checks the department (exists; active when `department_changes`) and the agent
/// (exists, active member of the department); records problems in `errors`.
fn check_assignment(
    conn: &Connection,
    errors: &mut FieldErrors,
    department_id: &str,
    user_id: &str,
    department_changes: bool,
) -> Result<(), ApiError> {
    let department = departments::store::get(conn, department_id)?;
    match &department {
        None => errors.add("department_id", "does not exist"),
        Some(d) if department_changes && !d.active => errors.add("department_id", "is inactive"),
        Some(_) => {}
    }
    match users::store::get(conn, user_id)? {
        None => errors.add("user_id", "does not exist"),
        Some(user) if department.is_some() => {
            if !user.active || !departments::store::is_member(conn, department_id, user_id)? {
                errors.add("user_id", "must be an active member of the department");
            }
        }
        Some(_) => {}
    }
    Ok(())
}

fn check_customer(conn: &Connection, errors: &mut FieldErrors, choice: &CustomerChoice) -> Result<(), ApiError> {
    if let CustomerChoice::Existing(id) = choice
        && customers::store::get(conn, id)?.is_none()
    {
        errors.add("customer_id", "does not exist");
    }
    Ok(())
}

fn forbid_outside_departments(viewer: &Visibility, department_id: &str) -> Result<(), ApiError> {
    if viewer.may_schedule_in(department_id) {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "Attendants schedule only in their own departments".into(),
        ))
    }
}

/// The customer id for `choice`. A description equal to the current customer keeps it,
/// so sending an appointment back unchanged never creates a customer.
fn resolve_customer(tx: &WriteTx, choice: &CustomerChoice, current: Option<&Appointment>) -> Result<String, ApiError> {
    let described = match choice {
        CustomerChoice::Existing(id) => return Ok(id.clone()),
        CustomerChoice::Described(described) => described,
    };
    let details = CustomerDetails {
        name: described
            .name
            .clone()
            .or_else(|| current.and_then(|a| a.customer_name.clone()))
            .unwrap_or_default(),
        email: described
            .email
            .clone()
            .or_else(|| current.and_then(|a| a.customer_email.clone())),
        phone: described
            .phone
            .clone()
            .or_else(|| current.and_then(|a| a.customer_phone.clone())),
    };
    if let Some(current) = current
        && let Some(customer_id) = &current.customer_id
        && is_same_customer(&details, current)
    {
        return Ok(customer_id.clone());
    }
    Ok(customers::match_or_create(tx, &details)?.0.id)
}

fn is_same_customer(details: &CustomerDetails, current: &Appointment) -> bool {
    let same_text = |a: Option<&str>, b: Option<&str>| a.map(str::to_lowercase) == b.map(str::to_lowercase);
    same_text(Some(&details.name), current.customer_name.as_deref())
        && same_text(details.email.as_deref(), current.customer_email.as_deref())
        && details.phone.as_deref().and_then(phone_digits) == current.customer_phone.as_deref().and_then(phone_digits)
}

/// Books an appointment: checks the references, refuses an overlapping slot (409), then
/// matches or creates the customer and inserts — all in the caller's transaction, which
/// is what makes concurrent bookings of one slot end with exactly one winner.
///
/// The patient's confirmation e-mail (§7.1) is written here too, so every way of booking
/// (staff or self-booking) confirms the same way.
pub fn book(
    tx: &WriteTx,
    viewer: &Visibility,
    booking: &Booking,
    confirmation: &crate::email::events::Confirmation,
) -> Result<Appointment, ApiError> {
    let mut errors = FieldErrors::new();
    check_assignment(tx, &mut errors, &booking.department_id, &booking.user_id, true)?;
    check_customer(tx, &mut errors, &booking.customer)?;
    errors.into_result()?;
    forbid_outside_departments(viewer, &booking.department_id)?;
    reject_conflicts(
        tx,
        viewer,
        &booking.user_id,
        booking.scheduled_at,
        booking.duration_minutes,
        None,
    )?;
    let customer_id = resolve_customer(tx, &booking.customer, None)?;
    let id = Uuid::new_v4().to_string();
    tx.prepare_cached(
        "INSERT INTO appointments (id, title, description, scheduled_at, duration_minutes, ends_at,
                                   department_id, user_id, customer_id, notes, inserted_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11)",
    )?
    .execute(params![
        id,
        booking.title,
        booking.description,
        time::format(booking.scheduled_at),
        booking.duration_minutes,
        time::format(end_of(booking.scheduled_at, booking.duration_minutes)),
        booking.department_id,
        booking.user_id,
        customer_id,
        booking.notes,
        time::now_text()
    ])?;
    if let Some(token) = &booking.manage_token {
        crate::scheduling::attach_manage_token(tx, &id, token, booking.manage_url.as_deref())?;
    }
    let appointment = get(tx, &id)?.ok_or_else(|| ApiError::internal("inserted appointment not found"))?;
    crate::audit::create(tx, "appointment", &id, &appointment)?;
    let appointment = crate::email::events::attach_join_link(tx, appointment, confirmation)?;
    tx.emit(DomainEvent::AppointmentCreated {
        appointment: appointment.clone(),
    })?;
    Ok(appointment)
}

/// Stores `link` as the appointment's join link (`access_link_url`).
pub fn attach_link(conn: &Connection, id: &str, link: &crate::access_links::AccessLink) -> Result<(), ApiError> {
    conn.prepare_cached(
        "UPDATE appointments SET access_link_url = ?2, access_link_id = ?3, updated_at = ?4 WHERE id = ?1",
    )?
    .execute(params![id, link.url, link.id, time::now_text()])?;
    Ok(())
}

/// A new time for the appointment (§7.8: `scheduled_at` or `duration_minutes` changed):
/// the calendar SEQUENCE goes up, the join link now expires an hour after the new end, and
/// the patient is told.
fn rescheduled(tx: &WriteTx, appointment: &Appointment) -> Result<(), ApiError> {
    tx.prepare_cached("UPDATE appointments SET ics_sequence = ics_sequence + 1 WHERE id = ?1")?
        .execute([&appointment.id])?;
    if let Some(link_id) = &appointment.access_link_id {
        let expires_at = crate::email::events::join_link_expiry(appointment)?;
        tx.prepare_cached(
            "UPDATE access_links SET expires_at = ?2, status = 'active', updated_at = ?3
             WHERE id = ?1 AND status IN ('active', 'expired') AND cancelled_at IS NULL",
        )?
        .execute(params![link_id, time::format(expires_at), time::now_text()])?;
    }
    tx.emit(DomainEvent::AppointmentRescheduled {
        appointment: appointment.clone(),
    })
}

/// A cancelled appointment: SEQUENCE up (before the patient's e-mail carries it), its
/// join link cancelled.
fn cancelled(tx: &WriteTx, appointment: &Appointment) -> Result<(), ApiError> {
    tx.prepare_cached("UPDATE appointments SET ics_sequence = ics_sequence + 1 WHERE id = ?1")?
        .execute([&appointment.id])?;
    if let Some(link_id) = &appointment.access_link_id {
        tx.prepare_cached(
            "UPDATE access_links SET status = 'cancelled', cancelled_at = ?2, updated_at = ?2
             WHERE id = ?1 AND status = 'active'",
        )?
        .execute(params![link_id, time::now_text()])?;
    }
    Ok(())
}

/// The changes of an update; `None` keeps a field as it is.
#[derive(Debug, Clone, Default)]
pub struct AppointmentChanges {
    pub title: Option<String>,
    pub description: Option<Option<String>>,
    pub scheduled_at: Option<Timestamp>,
    pub duration_minutes: Option<i64>,
    pub department_id: Option<String>,
    pub user_id: Option<String>,
    pub customer: Option<CustomerChoice>,
    pub notes: Option<Option<String>>,
}

/// Edits an open appointment with the rules of a booking. A `scheduled_at` in the past is
/// accepted only when it is the current one; the department must be active and the agent
/// a member only when either of them changes, so notes stay editable after a department
/// is deactivated. Moving the slot re-arms its reminders and clears a stale overdue flag.
pub fn update(
    tx: &WriteTx,
    viewer: &Visibility,
    id: &str,
    changes: &AppointmentChanges,
    now: Timestamp,
) -> Result<Appointment, ApiError> {
    let current = find_visible(tx, id, viewer)?;
    rules::check_editable(current.status)?;
    let current_start = current.start()?;
    let mut errors = FieldErrors::new();
    let start = changes.scheduled_at.unwrap_or(current_start);
    if start != current_start && start <= now {
        errors.add("scheduled_at", "must be in the future");
    }
    let department_id = changes.department_id.as_ref().unwrap_or(&current.department_id);
    let user_id = changes.user_id.as_ref().unwrap_or(&current.user_id);
    let department_changes = *department_id != current.department_id;
    if department_changes || *user_id != current.user_id {
        check_assignment(tx, &mut errors, department_id, user_id, department_changes)?;
    }
    if let Some(choice) = &changes.customer {
        check_customer(tx, &mut errors, choice)?;
    }
    errors.into_result()?;
    if department_changes {
        forbid_outside_departments(viewer, department_id)?;
    }
    let duration = changes.duration_minutes.unwrap_or(current.duration_minutes);
    reject_conflicts(tx, viewer, user_id, start, duration, Some(id))?;
    let customer_id = match &changes.customer {
        Some(choice) => resolve_customer(tx, choice, Some(&current))?,
        None => current.customer_id.clone().unwrap_or_default(),
    };
    tx.prepare_cached(
        "UPDATE appointments SET
            title = ?2, description = ?3, scheduled_at = ?4, duration_minutes = ?5, ends_at = ?6,
            department_id = ?7, user_id = ?8, customer_id = ?9, notes = ?10,
            overdue = CASE WHEN ?6 <= ?11 THEN overdue ELSE 0 END,
            updated_at = ?11
         WHERE id = ?1",
    )?
    .execute(params![
        id,
        changes.title.as_ref().unwrap_or(&current.title),
        changes
            .description
            .clone()
            .unwrap_or_else(|| current.description.clone()),
        time::format(start),
        duration,
        time::format(end_of(start, duration)),
        department_id,
        user_id,
        customer_id,
        changes.notes.clone().unwrap_or_else(|| current.notes.clone()),
        time::format(now)
    ])?;
    // Answered even when the edit moved it out of the caller's sight (an attendant handing
    // their own appointment to a colleague): they just saw and changed it.
    let updated = get(tx, id)?.ok_or_else(|| ApiError::not_found("Appointment"))?;
    crate::audit::update(tx, "appointment", id, &current, &updated)?;
    if start != current_start || duration != current.duration_minutes {
        rescheduled(tx, &updated)?;
    }
    Ok(updated)
}

/// Runs an action endpoint: the transition table decides, a repeat changes nothing, and a
/// terminal status clears the overdue flag.
pub fn act(
    tx: &WriteTx,
    viewer: &Visibility,
    id: &str,
    action: Action,
    cancel_reason: Option<&str>,
    now: Timestamp,
) -> Result<Appointment, ApiError> {
    let current = find_visible(tx, id, viewer)?;
    let to = match rules::next(current.status, action)? {
        Step::Repeat => return Ok(current),
        Step::Move(to) => to,
    };
    rules::check_started(action, current.start()?, now)?;
    tx.prepare_cached(
        "UPDATE appointments SET
            status = ?2,
            overdue = CASE WHEN ?2 IN ('scheduled', 'confirmed') THEN overdue ELSE 0 END,
            confirmed_at = CASE WHEN ?2 = 'confirmed' THEN ?3 ELSE confirmed_at END,
            cancelled_at = CASE WHEN ?2 = 'cancelled' THEN ?3 ELSE cancelled_at END,
            cancel_reason = CASE WHEN ?2 = 'cancelled' THEN ?4 ELSE cancel_reason END,
            completed_at = CASE WHEN ?2 = 'completed' THEN ?3 ELSE completed_at END,
            updated_at = ?3
         WHERE id = ?1",
    )?
    .execute(params![id, to.as_str(), time::format(now), cancel_reason])?;
    let appointment = find_visible(tx, id, viewer)?;
    crate::audit::act(
        tx,
        &format!("appointment.{}", action.as_str()),
        id,
        &current,
        &appointment,
    )?;
    if to == Status::Cancelled {
        cancelled(tx, &appointment)?;
    }
    crate::events::emit_some(tx, DomainEvent::appointment_moved(to, appointment.clone()))?;
    Ok(appointment)
}
