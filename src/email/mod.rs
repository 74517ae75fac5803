//! Outgoing e-mail (SPEC §7.1). The code path that changes a state calls one of the
//! [`events`] functions inside its own write transaction; that renders the message in the
//! company's language and writes one row to the tenant's `email_outbox` (no e-mail without
//! the change, no change without its e-mail). [`delivery`] sends the outbox over SMTP with
//! retries; [`store`] is its SQL, [`templates`] the words, [`smtp`] the transport.

pub mod delivery;
pub mod events;
pub mod routes;
pub mod smtp;
pub mod store;
pub mod templates;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use store::Email;

/// The languages of e-mails (and of the company `locale` setting).
pub const LOCALES: &[&str] = &["en", "pt-BR", "fr"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locale {
    En,
    PtBr,
    Fr,
}

impl Locale {
    pub fn parse(text: &str) -> Option<Locale> {
        match text {
            "en" => Some(Locale::En),
            "pt-BR" => Some(Locale::PtBr),
            "fr" => Some(Locale::Fr),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::PtBr => "pt-BR",
            Locale::Fr => "fr",
        }
    }
}

/// What an e-mail is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    PasswordReset,
    AppointmentConfirmation,
    AppointmentRescheduled,
    AppointmentCancelled,
    AppointmentReminder,
    AccessLink,
}

impl Kind {
    pub const ALL: [Kind; 6] = [
        Kind::PasswordReset,
        Kind::AppointmentConfirmation,
        Kind::AppointmentRescheduled,
        Kind::AppointmentCancelled,
        Kind::AppointmentReminder,
        Kind::AccessLink,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::PasswordReset => "password_reset",
            Kind::AppointmentConfirmation => "appointment_confirmation",
            Kind::AppointmentRescheduled => "appointment_rescheduled",
            Kind::AppointmentCancelled => "appointment_cancelled",
            Kind::AppointmentReminder => "appointment_reminder",
            Kind::AccessLink => "access_link",
        }
    }

    pub fn parse(text: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// Where an outbox row stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EmailStatus {
    Queued,
    Sent,
    Failed,
    Skipped,
}

impl EmailStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            EmailStatus::Queued => "queued",
            EmailStatus::Sent => "sent",
            EmailStatus::Failed => "failed",
            EmailStatus::Skipped => "skipped",
        }
    }

    pub fn parse(text: &str) -> Option<EmailStatus> {
        [
            EmailStatus::Queued,
            EmailStatus::Sent,
            EmailStatus::Failed,
            EmailStatus::Skipped,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}
