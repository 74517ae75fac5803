//! The access-link state machine (SPEC §4.6) as data: `active` → `used` (single-use link
//! joined), `cancelled` (staff) or `expired` (the clock). A reusable link stays `active`
//! when used. Repeating the action that produced the current status is a no-op.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{ApiError, FieldErrors};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LinkStatus {
    Active,
    Used,
    Expired,
    Cancelled,
}

impl LinkStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkStatus::Active => "active",
            LinkStatus::Used => "used",
            LinkStatus::Expired => "expired",
            LinkStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(text: &str) -> Option<LinkStatus> {
        [
            LinkStatus::Active,
            LinkStatus::Used,
            LinkStatus::Expired,
            LinkStatus::Cancelled,
        ]
        .into_iter()
        .find(|status| status.as_str() == text)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkAction {
    /// A customer joins the queue with the link.
    Use {
        reusable: bool,
    },
    Cancel,
    Expire,
}

impl LinkAction {
    fn verb(self) -> &'static str {
        match self {
            LinkAction::Use { .. } => "use",
            LinkAction::Cancel => "cancel",
            LinkAction::Expire => "expire",
        }
    }
}

/// The status after `action` on a link in `status`, or the 422 naming both.
pub fn next(status: LinkStatus, action: LinkAction) -> Result<LinkStatus, ApiError> {
    use LinkAction::*;
    use LinkStatus::*;
    match (status, action) {
        (Active, Use { reusable: true }) => Ok(Active),
        (Active, Use { reusable: false }) => Ok(Used),
        (Active | Cancelled, Cancel) => Ok(Cancelled),
        (Active | Expired, Expire) => Ok(Expired),
        _ => Err(FieldErrors::single(
            "status",
            format!(
                "cannot {} {} {} link",
                action.verb(),
                if status == Active || status == Expired {
                    "an"
                } else {
                    "a"
                },
                status.as_str()
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::LinkAction::*;
    use super::LinkStatus::*;
    use super::*;

    #[test]
    fn every_status_and_action_pair() {
        let table = [
            (Active, Use { reusable: false }, Some(Used)),
            (Active, Use { reusable: true }, Some(Active)),
            (Active, Cancel, Some(Cancelled)),
            (Active, Expire, Some(Expired)),
            (Used, Use { reusable: false }, None),
            (Used, Use { reusable: true }, None),
            (Used, Cancel, None),
            (Used, Expire, None),
            (Expired, Use { reusable: false }, None),
            (Expired, Use { reusable: true }, None),
            (Expired, Cancel, None),
            (Expired, Expire, Some(Expired)),
            (Cancelled, Use { reusable: false }, None),
            (Cancelled, Use { reusable: true }, None),
            (Cancelled, Cancel, Some(Cancelled)),
            (Cancelled, Expire, None),
        ];
        for (status, action, expected) in table {
            assert_eq!(next(status, action).ok(), expected, "{status:?} + {action:?}");
        }
    }

    #[test]
    fn a_refused_transition_names_the_action_and_the_status() {
        let Err(ApiError::Validation(errors)) = next(Used, Cancel) else {
            panic!("expected a 422");
        };
        assert_eq!(errors, {
            let mut expected = FieldErrors::new();
            expected.add("status", "cannot cancel a used link");
            expected
        });
        assert!(matches!(next(Expired, Cancel), Err(ApiError::Validation(_))));
    }

    #[test]
    fn statuses_round_trip_through_text() {
        for status in [Active, Used, Expired, Cancelled] {
            assert_eq!(LinkStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(LinkStatus::parse("gone"), None);
    }
}
