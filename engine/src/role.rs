//! The roles people hold. What each role may do is decided by the gateway's access table
//! (`control/src/access.rs`, shown in docs/access-control.md); here are only the names.

use std::fmt;

use crate::error::EngineError;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum Role {
    /// Users, roles, policies.
    SystemAdmin = 0,
    /// Master-key ceremonies and the HSM.
    SecurityAdmin = 1,
    /// Keys, grants, rotation.
    KeyAdmin = 2,
    /// Read-only, and the audit log.
    Auditor = 3,
    /// Day-to-day operations: status, health, approving ceremonies as the operator.
    Operator = 4,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::SystemAdmin,
        Role::SecurityAdmin,
        Role::KeyAdmin,
        Role::Auditor,
        Role::Operator,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Role::SystemAdmin => "system_admin",
            Role::SecurityAdmin => "security_admin",
            Role::KeyAdmin => "key_admin",
            Role::Auditor => "auditor",
            Role::Operator => "operator",
        }
    }

    pub fn parse(name: &str) -> Result<Self, EngineError> {
        Self::ALL
            .into_iter()
            .find(|r| r.name() == name)
            .ok_or_else(|| {
                EngineError::InvalidArgument(format!(
                    "unknown role `{name}` (system_admin, security_admin, key_admin, auditor, \
                     operator)"
                ))
            })
    }

    /// Whether holding this role makes a person an administrator, whose addition needs approval.
    pub fn is_administrator(self) -> bool {
        matches!(
            self,
            Role::SystemAdmin | Role::SecurityAdmin | Role::KeyAdmin
        )
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A set of roles, as a bit set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct RoleSet(u8);

impl RoleSet {
    pub const EMPTY: RoleSet = RoleSet(0);

    pub fn of(roles: &[Role]) -> Self {
        roles.iter().copied().collect()
    }

    pub fn contains(self, role: Role) -> bool {
        self.0 & (1 << role as u8) != 0
    }

    pub fn intersects(self, other: RoleSet) -> bool {
        self.0 & other.0 != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = Role> {
        Role::ALL.into_iter().filter(move |r| self.contains(*r))
    }

    pub fn names(self) -> Vec<&'static str> {
        self.iter().map(Role::name).collect()
    }

    /// `system_admin,auditor`: how the store keeps it.
    pub fn to_csv(self) -> String {
        self.names().join(",")
    }

    pub fn parse_csv(text: &str) -> Result<Self, EngineError> {
        text.split(',')
            .filter(|s| !s.is_empty())
            .map(Role::parse)
            .collect()
    }
}

impl FromIterator<Role> for RoleSet {
    fn from_iter<I: IntoIterator<Item = Role>>(iter: I) -> Self {
        RoleSet(iter.into_iter().fold(0, |bits, r| bits | (1 << r as u8)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_sets_round_trip_through_their_stored_form() {
        let set = RoleSet::of(&[Role::Auditor, Role::SystemAdmin]);
        assert_eq!(set.to_csv(), "system_admin,auditor");
        assert_eq!(RoleSet::parse_csv(&set.to_csv()).unwrap(), set);
        assert!(set.contains(Role::Auditor) && !set.contains(Role::KeyAdmin));
        assert!(RoleSet::parse_csv("auditor,root").is_err());
        assert!(RoleSet::parse_csv("").unwrap().is_empty());
    }
}
