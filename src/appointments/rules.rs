//! The rules of appointments that need no database: statuses and the transition table
//! (SPEC §4.5), what an update may touch, and who sees which appointment.

use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{ApiError, FieldErrors};
use crate::time::Timestamp;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Planned, waiting for confirmation.
    Scheduled,
    /// Confirmed by the agent or the customer.
    Confirmed,
    /// The call took place.
    Completed,
    Cancelled,
    /// The customer did not show up.
    NoShow,
}

impl Status {
    pub const ALL: [Status; 5] = [
        Status::Scheduled,
        Status::Confirmed,
        Status::Completed,
        Status::Cancelled,
        Status::NoShow,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Scheduled => "scheduled",
            Status::Confirmed => "confirmed",
            Status::Completed => "completed",
            Status::Cancelled => "cancelled",
            Status::NoShow => "no_show",
        }
    }

    pub fn parse(text: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|status| status.as_str() == text)
    }

    /// Open appointments hold their slot (conflicts), can be edited, become overdue and
    /// get reminders; the others are final.
    pub fn is_open(self) -> bool {
        matches!(self, Status::Scheduled | Status::Confirmed)
    }
}

/// The action endpoints, named as in their paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Confirm,
    Cancel,
    Complete,
    NoShow,
}

impl Action {
    pub const ALL: [Action; 4] = [Action::Confirm, Action::Cancel, Action::Complete, Action::NoShow];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Confirm => "confirm",
            Action::Cancel => "cancel",
            Action::Complete => "complete",
            Action::NoShow => "no-show",
        }
    }
}

/// One row of the transition table.
struct Transition {
    action: Action,
    from: &'static [Status],
    to: Status,
    /// Only once `scheduled_at` has come: nobody completes or misses a future appointment.
    after_start: bool,
}

const OPEN: &[Status] = &[Status::Scheduled, Status::Confirmed];

/// SPEC §4.5. Anything not listed is refused; repeating the action that produced the
/// current status changes nothing.
const TRANSITIONS: [Transition; 4] = [
    Transition {
        action: Action::Confirm,
        from: &[Status::Scheduled],
        to: Status::Confirmed,
        after_start: false,
    },
    Transition {
        action: Action::Cancel,
        from: OPEN,
        to: Status::Cancelled,
        after_start: false,
    },
    Transition {
        action: Action::Complete,
        from: OPEN,
        to: Status::Completed,
        after_start: true,
    },
    Transition {
        action: Action::NoShow,
        from: OPEN,
        to: Status::NoShow,
        after_start: true,
    },
];

fn transition(action: Action) -> &'static Transition {
    TRANSITIONS
        .iter()
        .find(|t| t.action == action)
        .expect("every action has a row in TRANSITIONS")
}

/// What an action does to an appointment in a given status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Move to this status.
    Move(Status),
    /// The action already produced the current status: a 200 no-op.
    Repeat,
}

/// The transition function: the next status, or the 422
/// `{"status": ["cannot <action> a <status> appointment"]}`.
pub fn next(status: Status, action: Action) -> Result<Step, ApiError> {
    let rule = transition(action);
    if rule.to == status {
        Ok(Step::Repeat)
    } else if rule.from.contains(&status) {
        Ok(Step::Move(rule.to))
    } else {
        Err(FieldErrors::single(
            "status",
            format!("cannot {} a {} appointment", action.as_str(), status.as_str()),
        ))
    }
}

/// Complete and no-show wait for the appointment's start (422 before it).
pub fn check_started(action: Action, scheduled_at: Timestamp, now: Timestamp) -> Result<(), ApiError> {
    if transition(action).after_start && scheduled_at > now {
        return Err(FieldErrors::single(
            "status",
            format!("cannot {} an appointment before it starts", action.as_str()),
        ));
    }
    Ok(())
}

/// Only open appointments can be edited.
pub fn check_editable(status: Status) -> Result<(), ApiError> {
    if status.is_open() {
        Ok(())
    } else {
        Err(FieldErrors::single(
            "status",
            format!("cannot update a {} appointment", status.as_str()),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Status::*;

    #[test]
    fn every_status_and_action_pair_follows_the_table() {
        let cases = [
            (Scheduled, Action::Confirm, Some(Step::Move(Confirmed))),
            (Confirmed, Action::Confirm, Some(Step::Repeat)),
            (Completed, Action::Confirm, None),
            (Cancelled, Action::Confirm, None),
            (NoShow, Action::Confirm, None),
            (Scheduled, Action::Cancel, Some(Step::Move(Cancelled))),
            (Confirmed, Action::Cancel, Some(Step::Move(Cancelled))),
            (Completed, Action::Cancel, None),
            (Cancelled, Action::Cancel, Some(Step::Repeat)),
            (NoShow, Action::Cancel, None),
            (Scheduled, Action::Complete, Some(Step::Move(Completed))),
            (Confirmed, Action::Complete, Some(Step::Move(Completed))),
            (Completed, Action::Complete, Some(Step::Repeat)),
            (Cancelled, Action::Complete, None),
            (NoShow, Action::Complete, None),
            (Scheduled, Action::NoShow, Some(Step::Move(NoShow))),
            (Confirmed, Action::NoShow, Some(Step::Move(NoShow))),
            (Completed, Action::NoShow, None),
            (Cancelled, Action::NoShow, None),
            (NoShow, Action::NoShow, Some(Step::Repeat)),
        ];
        assert_eq!(cases.len(), Status::ALL.len() * Action::ALL.len());
        for (status, action, outcome) in cases {
            match (next(status, action), outcome) {
                (Ok(step), Some(want)) => assert_eq!(step, want, "{status:?} {action:?}"),
                (Err(ApiError::Validation(errors)), None) => {
                    let message = format!("cannot {} a {} appointment", action.as_str(), status.as_str());
                    let mut want = FieldErrors::new();
                    want.add("status", message);
                    assert_eq!(errors, want);
                }
                (got, want) => panic!("{status:?} {action:?}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn complete_and_no_show_wait_for_the_start() {
        let start = crate::time::parse("2030-01-01T10:00:00Z").unwrap();
        let before = crate::time::parse("2030-01-01T09:59:59Z").unwrap();
        for action in Action::ALL {
            let early = check_started(action, start, before);
            let waits = matches!(action, Action::Complete | Action::NoShow);
            assert_eq!(early.is_err(), waits, "{action:?}");
            assert!(check_started(action, start, start).is_ok(), "{action:?}");
        }
    }

    #[test]
    fn only_open_appointments_are_editable() {
        for status in Status::ALL {
            assert_eq!(check_editable(status).is_ok(), status.is_open(), "{status:?}");
            assert_eq!(Status::parse(status.as_str()), Some(status));
        }
    }
}
