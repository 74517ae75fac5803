//! What is e-mailed when (SPEC §7.1, §7.8). Each function runs inside the write
//! transaction of the change it reports and writes at most one outbox row; the patient
//! e-mails write nothing when the company's `notify_customers` is off or the customer has
//! no e-mail address.

use chrono_tz::Tz;
use rusqlite::{Connection, OptionalExtension};

use super::store::{self, Email, NewEmail};
use super::templates::{self, AppointmentFacts, LinkFacts};
use super::{Kind, Locale};
use crate::access_links::{AccessLink, NewLink};
use crate::appointments::Appointment;
use crate::auth::sealed::Sealer;
use crate::auth::token::random_token;
use crate::calendar;
use crate::db::WriteTx;
use crate::db::{PublicKind, Tenants};
use crate::error::ApiError;
use crate::events::DomainEvent;

/// The company settings an e-mail is written with.
pub struct Sender {
    pub name: String,
    pub timezone: Tz,
    pub locale: Locale,
    pub notify_customers: bool,
}

pub fn sender(conn: &Connection) -> Result<Sender, ApiError> {
    let (name, timezone, locale, notify): (String, String, String, bool) = conn
        .prepare_cached("SELECT name, timezone, locale, notify_customers FROM company")?
        .query_row([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)))?;
    Ok(Sender {
        name,
        timezone: timezone.parse().unwrap_or(chrono_tz::UTC),
        locale: Locale::parse(&locale).unwrap_or(Locale::En),
        notify_customers: notify,
    })
}

/// The reset e-mail to staff user `user_id`, in their `locale` (else the company's). The
/// row holds the bodies and the link sealed with `sealer` (they carry the token), so the
/// outbox never shows the token; delivery opens them and drops them once settled.
pub fn password_reset(
    conn: &Connection,
    sealer: &Sealer,
    user_id: &str,
    link: &str,
    ttl_minutes: i64,
) -> Result<Email, ApiError> {
    let sender = sender(conn)?;
    let user = crate::users::store::find(conn, user_id)?;
    let locale = Locale::parse(&user.locale).unwrap_or(sender.locale);
    let mut rendered = templates::password_reset(locale, &sender.name, &user.name, link, ttl_minutes);
    rendered.text = sealer.seal(&rendered.text);
    rendered.html = sealer.seal(&rendered.html);
    store::insert(
        conn,
        NewEmail {
            kind: Kind::PasswordReset,
            to: &user.email,
            rendered,
            ics: None,
            reset_link: Some(sealer.seal(link)),
            related: Some(("user", user_id)),
        },
    )
}

/// A join-link token registered in the public index before the booking's write, so that
/// the confirmation can issue the link inside the booking transaction (§7.8).
#[derive(Debug, Clone)]
pub struct PreparedJoin {
    pub base: String,
    pub token: String,
    pub created_by: Option<String>,
}

impl PreparedJoin {
    /// Registers a fresh token for tenant `slug`; the link's URL will start with `base`.
    pub async fn register(
        tenants: &Tenants,
        base: &str,
        slug: &str,
        created_by: Option<String>,
    ) -> Result<PreparedJoin, ApiError> {
        let token = random_token();
        tenants
            .register_public(PublicKind::AccessLink, vec![token.clone()], slug)
            .await?;
        Ok(PreparedJoin {
            base: base.to_string(),
            token,
            created_by,
        })
    }

    /// Removes the index entry again unless `appointment` got the link (the write failed,
    /// or no confirmation was due).
    pub async fn release_unless_used(self, tenants: &Tenants, appointment: Option<&Appointment>) {
        let used = appointment
            .and_then(|a| a.access_link_url.as_deref())
            .is_some_and(|url| url.ends_with(&self.token));
        if !used {
            tenants.forget_public(vec![self.token]).await;
        }
    }
}

/// What the confirmation of a new appointment carries beyond the appointment: the join
/// link to issue (the manage link, §7.3, is stored with the appointment).
#[derive(Debug, Clone, Default)]
pub struct Confirmation {
    pub join: Option<Join>,
}

/// The join link of a new appointment.
#[derive(Debug, Clone)]
pub enum Join {
    /// Issued only when the confirmation is written (§7.8).
    Prepared(PreparedJoin),
    /// Already issued by the caller (self-booking answers with it): always attached.
    Issued(Box<AccessLink>),
}

/// The patient's manage link, as stored when the appointment was booked.
fn manage_url_of(conn: &Connection, appointment_id: &str) -> Result<Option<String>, ApiError> {
    Ok(conn
        .prepare_cached("SELECT manage_url FROM appointments WHERE id = ?1")?
        .query_row([appointment_id], |row| row.get::<_, Option<String>>(0))
        .optional()?
        .flatten())
}

fn facts(conn: &Connection, sender: &Sender, appointment: &Appointment) -> Result<AppointmentFacts, ApiError> {
    let manage_url = match appointment.status {
        crate::appointments::rules::Status::Scheduled | crate::appointments::rules::Status::Confirmed => {
            manage_url_of(conn, &appointment.id)?
        }
        _ => None,
    };
    Ok(AppointmentFacts {
        company: sender.name.clone(),
        customer_name: appointment.customer_name.clone().unwrap_or_default(),
        title: appointment.title.clone(),
        when: templates::local_time(appointment.start()?, sender.timezone, sender.locale),
        duration_minutes: appointment.duration_minutes,
        agent_name: appointment.user_name.clone(),
        department_name: appointment.department_name.clone(),
        join_url: appointment.access_link_url.clone(),
        manage_url,
        cancel_reason: appointment.cancel_reason.clone().filter(|r| !r.trim().is_empty()),
    })
}

/// The patient's address when patient e-mails are on.
fn patient_address<'a>(sender: &Sender, appointment: &'a Appointment) -> Option<&'a str> {
    appointment
        .customer_email
        .as_deref()
        .filter(|email| sender.notify_customers && !email.trim().is_empty())
}

fn queue_appointment_email(
    conn: &Connection,
    kind: Kind,
    to: &str,
    rendered: templates::Rendered,
    appointment: &Appointment,
    method: Option<&'static str>,
) -> Result<(), ApiError> {
    let ics = match method {
        Some(method) => {
            let event = calendar::event_of(conn, appointment.clone())?;
            Some((calendar::appointment_ics(&event, Some(method))?, method))
        }
        None => None,
    };
    store::insert(
        conn,
        NewEmail {
            kind,
            to,
            rendered,
            ics,
            reset_link: None,
            related: Some(("appointment", &appointment.id)),
        },
    )?;
    Ok(())
}

/// The join link a new appointment leaves with: one already issued (self-booking) is
/// attached; a prepared one (a staff booking) is issued — a reusable access link valid
/// until the end + 1 h, as `POST /appointments/:id/access-link` — only when the patient
/// will be e-mailed the confirmation (§7.8). Returns the appointment as it now is.
pub fn attach_join_link(
    tx: &WriteTx,
    appointment: Appointment,
    confirmation: &Confirmation,
) -> Result<Appointment, ApiError> {
    match &confirmation.join {
        Some(Join::Issued(link)) => attach(tx, appointment, link),
        Some(Join::Prepared(join)) if patient_address(&sender(tx)?, &appointment).is_some() => {
            issue_join_link(tx, appointment, join)
        }
        _ => Ok(appointment),
    }
}

/// The e-mail consumer of domain events: the patient e-mails of an appointment's life,
/// written in the transaction of the change.
pub fn outbox(conn: &Connection, event: &DomainEvent) -> Result<(), ApiError> {
    match event {
        DomainEvent::AppointmentCreated { appointment } => appointment_booked(conn, appointment),
        DomainEvent::AppointmentRescheduled { appointment } => appointment_rescheduled(conn, appointment),
        DomainEvent::AppointmentCancelled { appointment } => appointment_cancelled(conn, appointment),
        DomainEvent::AppointmentReminderDue { appointment, .. } => appointment_reminder(conn, appointment),
        _ => Ok(()),
    }
}

/// The confirmation of a new appointment, with `invite.ics` (`METHOD:REQUEST`).
fn appointment_booked(conn: &Connection, appointment: &Appointment) -> Result<(), ApiError> {
    let sender = sender(conn)?;
    let Some(to) = patient_address(&sender, appointment) else {
        return Ok(());
    };
    let facts = facts(conn, &sender, appointment)?;
    let rendered = templates::appointment_confirmation(sender.locale, &facts);
    queue_appointment_email(
        conn,
        Kind::AppointmentConfirmation,
        to,
        rendered,
        appointment,
        Some("REQUEST"),
    )
}

/// When the join link of an appointment stops working: one hour after its end.
pub fn join_link_expiry(appointment: &Appointment) -> Result<crate::time::Timestamp, ApiError> {
    Ok(appointment.start()? + chrono::Duration::minutes(appointment.duration_minutes + 60))
}

fn issue_join_link(tx: &WriteTx, appointment: Appointment, join: &PreparedJoin) -> Result<Appointment, ApiError> {
    let link = NewLink {
        department_id: appointment.department_id.clone(),
        customer_name: appointment.customer_name.clone(),
        customer_email: appointment.customer_email.clone(),
        customer_phone: appointment.customer_phone.clone(),
        expires_at: join_link_expiry(&appointment)?,
        reusable: true,
    };
    let link = crate::access_links::store::insert(tx, &join.base, &link, &join.token, join.created_by.as_deref())?;
    attach(tx, appointment, &link)
}

fn attach(conn: &Connection, appointment: Appointment, link: &AccessLink) -> Result<Appointment, ApiError> {
    crate::appointments::store::attach_link(conn, &appointment.id, link)?;
    crate::appointments::store::get(conn, &appointment.id)?.ok_or_else(|| ApiError::not_found("Appointment"))
}

/// The patient e-mail of a new time, with the updated `invite.ics` (its SEQUENCE already
/// raised by the caller).
fn appointment_rescheduled(conn: &Connection, appointment: &Appointment) -> Result<(), ApiError> {
    let sender = sender(conn)?;
    let Some(to) = patient_address(&sender, appointment) else {
        return Ok(());
    };
    let facts = facts(conn, &sender, appointment)?;
    let rendered = templates::appointment_rescheduled(sender.locale, &facts);
    queue_appointment_email(
        conn,
        Kind::AppointmentRescheduled,
        to,
        rendered,
        appointment,
        Some("REQUEST"),
    )
}

/// The patient e-mail of a cancellation, with `invite.ics` (`METHOD:CANCEL`).
fn appointment_cancelled(conn: &Connection, appointment: &Appointment) -> Result<(), ApiError> {
    let sender = sender(conn)?;
    let Some(to) = patient_address(&sender, appointment) else {
        return Ok(());
    };
    let facts = facts(conn, &sender, appointment)?;
    let rendered = templates::appointment_cancelled(sender.locale, &facts);
    queue_appointment_email(
        conn,
        Kind::AppointmentCancelled,
        to,
        rendered,
        appointment,
        Some("CANCEL"),
    )
}

/// The patient's reminder at a reminder offset, with the join link when one was issued.
fn appointment_reminder(conn: &Connection, appointment: &Appointment) -> Result<(), ApiError> {
    let sender = sender(conn)?;
    let Some(to) = patient_address(&sender, appointment) else {
        return Ok(());
    };
    let facts = facts(conn, &sender, appointment)?;
    let rendered = templates::appointment_reminder(sender.locale, &facts);
    queue_appointment_email(conn, Kind::AppointmentReminder, to, rendered, appointment, None)
}

/// An access link sent by staff to `to` (always sent, whatever `notify_customers` says).
pub fn access_link(conn: &Connection, link: &AccessLink, to: &str) -> Result<Email, ApiError> {
    let sender = sender(conn)?;
    let expires =
        crate::time::parse(&link.expires_at).ok_or_else(|| ApiError::internal("stored expires_at is not a time"))?;
    let facts = LinkFacts {
        company: sender.name.clone(),
        customer_name: link.customer_name.clone(),
        department_name: link.department_name.clone(),
        url: link.url.clone(),
        expires: templates::local_time(expires, sender.timezone, sender.locale),
    };
    let rendered = templates::access_link(sender.locale, &facts);
    store::insert(
        conn,
        NewEmail {
            kind: Kind::AccessLink,
            to,
            rendered,
            ics: None,
            reset_link: None,
            related: Some(("access_link", &link.id)),
        },
    )
}
