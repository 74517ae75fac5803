//! Calendars (SPEC §7.2, RFC 5545): one `VEVENT` per appointment, written with the
//! `icalendar` crate (which escapes text, folds lines at 75 octets and ends them with
//! CRLF). The same event is the download of `GET /appointments/:id/ics`, the `invite.ics`
//! of the patient e-mails (with `METHOD:REQUEST` or `METHOD:CANCEL`) and an entry of the
//! agent's feed.

pub mod routes;

use icalendar::{Calendar, Component, Event, EventLike, EventStatus, Property};
use rusqlite::{Connection, params};

use crate::appointments::{Appointment, Status};
use crate::error::ApiError;
use crate::time::Timestamp;

/// Everything the event of one appointment says.
#[derive(Debug, Clone)]
pub struct AppointmentEvent {
    pub appointment: Appointment,
    /// Reschedules and cancels so far.
    pub sequence: u32,
    /// The agent's name and e-mail.
    pub organizer: Option<(String, String)>,
}

/// The event data of `appointment` (its sequence and its agent's e-mail).
pub fn event_of(conn: &Connection, appointment: Appointment) -> Result<AppointmentEvent, ApiError> {
    let (sequence, organizer): (i64, Option<(String, String)>) = conn
        .prepare_cached(
            "SELECT a.ics_sequence, u.name, u.email FROM appointments a JOIN users u ON u.id = a.user_id WHERE a.id = ?1",
        )?
        .query_row(params![appointment.id], |row| {
            Ok((row.get(0)?, Some((row.get(1)?, row.get(2)?))))
        })?;
    Ok(AppointmentEvent {
        appointment,
        sequence: u32::try_from(sequence).unwrap_or(u32::MAX),
        organizer,
    })
}

/// A parameter value may not hold a double quote (RFC 5545 §3.2).
fn cn(name: &str) -> String {
    name.replace('"', "'")
}

fn vevent(data: &AppointmentEvent, stamp: Timestamp) -> Result<Event, ApiError> {
    let appointment = &data.appointment;
    let start = appointment.start()?;
    let end = start + chrono::Duration::minutes(appointment.duration_minutes);
    let mut description = appointment.description.clone().unwrap_or_default();
    if let Some(url) = &appointment.access_link_url {
        if !description.is_empty() {
            description.push_str("\n\n");
        }
        description.push_str(&format!("Video call: {url}"));
    }
    let mut event = Event::new();
    event
        .uid(&format!("{}@voki", appointment.id))
        .timestamp(stamp)
        .starts(start)
        .ends(end)
        .summary(&appointment.title)
        .sequence(data.sequence)
        .status(match appointment.status {
            Status::Scheduled => EventStatus::Tentative,
            Status::Cancelled => EventStatus::Cancelled,
            _ => EventStatus::Confirmed,
        });
    if !description.is_empty() {
        event.description(&description);
    }
    if let Some(url) = &appointment.access_link_url {
        event.url(url);
    }
    if let Some((name, email)) = &data.organizer {
        let mut organizer = Property::new("ORGANIZER", format!("mailto:{email}"));
        organizer.add_parameter("CN", &cn(name));
        event.append_property(organizer);
    }
    if let Some(email) = &appointment.customer_email {
        let mut attendee = Property::new("ATTENDEE", format!("mailto:{email}"));
        if let Some(name) = &appointment.customer_name {
            attendee.add_parameter("CN", &cn(name));
        }
        attendee.add_parameter("ROLE", "REQ-PARTICIPANT");
        event.append_multi_property(attendee);
    }
    Ok(event.done())
}

fn calendar() -> Calendar {
    let mut calendar = Calendar::empty();
    calendar
        .append_property(("VERSION", "2.0"))
        .append_property(("PRODID", "-//voki//voki//EN"))
        .append_property(("CALSCALE", "GREGORIAN"));
    calendar
}

/// One appointment as a calendar; `method` (`REQUEST`, `CANCEL`) for an e-mailed invite.
pub fn appointment_ics(data: &AppointmentEvent, method: Option<&str>) -> Result<String, ApiError> {
    let mut calendar = calendar();
    if let Some(method) = method {
        calendar.append_property(("METHOD", method));
    }
    calendar.push(vevent(data, crate::time::now())?);
    Ok(calendar.done().to_string())
}

/// A feed: `name` and the events.
pub fn feed_ics(name: &str, events: &[AppointmentEvent]) -> Result<String, ApiError> {
    let mut calendar = calendar();
    calendar.append_property(Property::new("X-WR-CALNAME", name));
    let stamp = crate::time::now();
    for data in events {
        calendar.push(vevent(data, stamp)?);
    }
    Ok(calendar.done().to_string())
}
