//! Roles (SPEC §2.7): `attendant` < `supervisor` < `manager` < `owner`, each including
//! everything below it, and the marker types that put a handler's minimum role in its
//! signature (`Auth<min::Manager>`).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Attendant,
    Supervisor,
    Manager,
    Owner,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Attendant => "attendant",
            Role::Supervisor => "supervisor",
            Role::Manager => "manager",
            Role::Owner => "owner",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "attendant" => Some(Role::Attendant),
            "supervisor" => Some(Role::Supervisor),
            "manager" => Some(Role::Manager),
            "owner" => Some(Role::Owner),
            _ => None,
        }
    }

    pub fn at_least(self, minimum: Role) -> bool {
        self >= minimum
    }
}

/// A minimum role, as a type, for [`super::Auth`].
pub trait MinRole: Send + Sync + 'static {
    const ROLE: Role;
}

/// Marker types for [`MinRole`], read as "at least …" in handler signatures.
pub mod min {
    use super::{MinRole, Role};

    pub struct Attendant;
    pub struct Supervisor;
    pub struct Manager;
    pub struct Owner;

    impl MinRole for Attendant {
        const ROLE: Role = Role::Attendant;
    }
    impl MinRole for Supervisor {
        const ROLE: Role = Role::Supervisor;
    }
    impl MinRole for Manager {
        const ROLE: Role = Role::Manager;
    }
    impl MinRole for Owner {
        const ROLE: Role = Role::Owner;
    }
}

#[cfg(test)]
mod tests {
    use super::Role;

    #[test]
    fn each_role_includes_the_ones_below() {
        assert!(Role::Owner.at_least(Role::Manager));
        assert!(Role::Manager.at_least(Role::Supervisor));
        assert!(Role::Supervisor.at_least(Role::Attendant));
        assert!(!Role::Attendant.at_least(Role::Supervisor));
        for role in [Role::Attendant, Role::Supervisor, Role::Manager, Role::Owner] {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
    }
}
