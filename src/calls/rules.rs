//! The call state machine (SPEC §4.7) as data. `queued` (assigned or not) → `active` →
//! `completed`; a call that never started ends `missed` (the customer left or waited past
//! the department's `max_wait_time`) or `cancelled` (staff). Repeating the action that
//! produced the current status is a no-op; anything else is a 422.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{ApiError, FieldErrors};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CallStatus {
    Queued,
    Active,
    Completed,
    Missed,
    Cancelled,
}

impl CallStatus {
    /// Whether the call has ended: its customer's `websocket_token` is then good for
    /// nothing, and its chat takes no more messages.
    pub fn has_ended(self) -> bool {
        matches!(self, CallStatus::Completed | CallStatus::Missed | CallStatus::Cancelled)
    }

    pub const ALL: [CallStatus; 5] = [
        CallStatus::Queued,
        CallStatus::Active,
        CallStatus::Completed,
        CallStatus::Missed,
        CallStatus::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CallStatus::Queued => "queued",
            CallStatus::Active => "active",
            CallStatus::Completed => "completed",
            CallStatus::Missed => "missed",
            CallStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(text: &str) -> Option<CallStatus> {
        CallStatus::ALL.into_iter().find(|status| status.as_str() == text)
    }

    /// The column that records when a call entered this status.
    pub fn timestamp_column(self) -> &'static str {
        match self {
            CallStatus::Queued => "inserted_at",
            CallStatus::Active => "started_at",
            CallStatus::Completed => "completed_at",
            CallStatus::Missed => "missed_at",
            CallStatus::Cancelled => "cancelled_at",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallAction {
    /// An agent takes the call; it stays `queued` until started.
    Assign,
    Start,
    Complete,
    /// Staff cancel a call before it starts.
    Cancel,
    /// The customer leaves the queue, or waits past `max_wait_time`.
    Leave,
}

impl CallAction {
    pub fn verb(self) -> &'static str {
        match self {
            CallAction::Assign => "assign",
            CallAction::Start => "start",
            CallAction::Complete => "complete",
            CallAction::Cancel => "cancel",
            CallAction::Leave => "leave",
        }
    }
}

/// The status after `action` on a call in `status`, or the 422
/// `{"status": ["cannot <action> a <status> call"]}`.
pub fn next(status: CallStatus, action: CallAction) -> Result<CallStatus, ApiError> {
    use CallAction::*;
    use CallStatus::*;
    match (status, action) {
        (Queued, Assign) => Ok(Queued),
        (Queued | Active, Start) => Ok(Active),
        (Active | Completed, Complete) => Ok(Completed),
        (Queued | Cancelled, Cancel) => Ok(Cancelled),
        (Queued | Missed, Leave) => Ok(Missed),
        _ => Err(refusal(status, action.verb())),
    }
}

fn refusal(status: CallStatus, verb: &str) -> ApiError {
    let article = if status == CallStatus::Active { "an" } else { "a" };
    FieldErrors::single("status", format!("cannot {verb} {article} {} call", status.as_str()))
}

#[cfg(test)]
mod tests {
    use super::CallAction::*;
    use super::CallStatus::*;
    use super::*;

    #[test]
    fn every_status_and_action_pair() {
        let table = [
            (Queued, Assign, Some(Queued)),
            (Queued, Start, Some(Active)),
            (Queued, Complete, None),
            (Queued, Cancel, Some(Cancelled)),
            (Queued, Leave, Some(Missed)),
            (Active, Assign, None),
            (Active, Start, Some(Active)),
            (Active, Complete, Some(Completed)),
            (Active, Cancel, None),
            (Active, Leave, None),
            (Completed, Assign, None),
            (Completed, Start, None),
            (Completed, Complete, Some(Completed)),
            (Completed, Cancel, None),
            (Completed, Leave, None),
            (Missed, Assign, None),
            (Missed, Start, None),
            (Missed, Complete, None),
            (Missed, Cancel, None),
            (Missed, Leave, Some(Missed)),
            (Cancelled, Assign, None),
            (Cancelled, Start, None),
            (Cancelled, Complete, None),
            (Cancelled, Cancel, Some(Cancelled)),
            (Cancelled, Leave, None),
        ];
        assert_eq!(table.len(), CallStatus::ALL.len() * 5);
        for (status, action, expected) in table {
            assert_eq!(next(status, action).ok(), expected, "{status:?} + {action:?}");
        }
    }

    #[test]
    fn a_refused_transition_names_the_action_and_the_status() {
        let Err(ApiError::Validation(errors)) = next(Active, Cancel) else {
            panic!("expected a 422");
        };
        let mut expected = FieldErrors::new();
        expected.add("status", "cannot cancel an active call");
        assert_eq!(errors, expected);
    }

    #[test]
    fn statuses_round_trip_through_text() {
        for status in CallStatus::ALL {
            assert_eq!(CallStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(CallStatus::parse("assigned"), None);
    }
}
