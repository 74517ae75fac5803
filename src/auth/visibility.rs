//! Which rows of the departments' work a staff user sees (SPEC §4.5, §4.7): attendants see
//! the appointments and calls of their departments and the ones assigned to them;
//! supervisors and up see all. Lists apply it as a condition, single rows as a check; a row
//! outside it is a 403 (SPEC §2.3). The store functions that read such rows require one.

use rusqlite::types::Value as SqlValue;

use super::Role;
use crate::db::query::Filter;
use crate::users::User;

#[derive(Debug, Clone)]
pub enum Visibility {
    All,
    Attendant {
        user_id: String,
        department_ids: Vec<String>,
    },
}

impl Visibility {
    pub fn of(user: &User) -> Visibility {
        if user.role.at_least(Role::Supervisor) {
            Visibility::All
        } else {
            Visibility::Attendant {
                user_id: user.id.clone(),
                department_ids: user.department_ids.clone(),
            }
        }
    }

    /// Restricts a list over a table aliased `alias` (with `department_id` and `user_id`
    /// columns) to what this scope sees.
    pub fn restrict(&self, filter: &mut Filter, alias: &str) {
        if let Visibility::Attendant { user_id, .. } = self {
            filter.push(
                &format!(
                    "{alias}.department_id IN (SELECT department_id FROM department_members WHERE user_id = ?) \
                     OR {alias}.user_id = ?"
                ),
                [SqlValue::Text(user_id.clone()), SqlValue::Text(user_id.clone())],
            );
        }
    }

    /// Whether a row of `department_id` assigned to `assigned_to` is visible.
    pub fn allows(&self, department_id: &str, assigned_to: Option<&str>) -> bool {
        match self {
            Visibility::All => true,
            Visibility::Attendant {
                user_id,
                department_ids,
            } => department_ids.iter().any(|d| d == department_id) || assigned_to == Some(user_id.as_str()),
        }
    }

    /// Attendants schedule only in their own departments (for themselves or a colleague
    /// there), so they never create an appointment they could not see.
    pub fn may_schedule_in(&self, department_id: &str) -> bool {
        match self {
            Visibility::All => true,
            Visibility::Attendant { department_ids, .. } => department_ids.iter().any(|d| d == department_id),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_attendant_sees_their_departments_and_what_is_assigned_to_them() {
        let attendant = Visibility::Attendant {
            user_id: "u1".into(),
            department_ids: vec!["d1".into()],
        };
        assert!(attendant.allows("d1", None));
        assert!(attendant.allows("d2", Some("u1")));
        assert!(!attendant.allows("d2", Some("u2")));
        assert!(!attendant.allows("d2", None));
        assert!(attendant.may_schedule_in("d1"));
        assert!(!attendant.may_schedule_in("d2"));
        assert!(Visibility::All.allows("d2", None));
        let mut filter = Filter::new();
        Visibility::All.restrict(&mut filter, "c");
        assert_eq!(filter.where_clause(), "");
        attendant.restrict(&mut filter, "c");
        assert!(filter.where_clause().contains("c.department_id IN"));
    }
}
