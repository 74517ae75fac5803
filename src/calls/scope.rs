//! Who sees which calls (SPEC §4.7): attendants see and act on the calls of their
//! departments and the calls assigned to them; supervisors and up see every call. Lists
//! apply it as a condition, single calls as a check; a call outside it is a 403 (SPEC §2.3).

use rusqlite::types::Value as SqlValue;

use crate::auth::Role;
use crate::db::query::Filter;
use crate::users::User;

#[derive(Debug, Clone)]
pub enum CallScope {
    All,
    Agent {
        user_id: String,
        department_ids: Vec<String>,
    },
}

impl CallScope {
    pub fn of(user: &User) -> CallScope {
        if user.role.at_least(Role::Supervisor) {
            CallScope::All
        } else {
            CallScope::Agent {
                user_id: user.id.clone(),
                department_ids: user.department_ids.clone(),
            }
        }
    }

    /// Restricts a list over `calls c` to what this scope sees.
    pub fn restrict(&self, filter: &mut Filter) {
        if let CallScope::Agent { user_id, .. } = self {
            filter.push(
                "c.department_id IN (SELECT department_id FROM department_members WHERE user_id = ?) OR c.user_id = ?",
                [SqlValue::Text(user_id.clone()), SqlValue::Text(user_id.clone())],
            );
        }
    }

    /// Whether a call of `department_id` assigned to `user_id` is visible.
    pub fn allows(&self, department_id: &str, assigned_to: Option<&str>) -> bool {
        match self {
            CallScope::All => true,
            CallScope::Agent {
                user_id,
                department_ids,
            } => department_ids.iter().any(|d| d == department_id) || assigned_to == Some(user_id.as_str()),
        }
    }
}
