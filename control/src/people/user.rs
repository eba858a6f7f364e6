//! A person as administrators see them, and the rules for names and roles.

use kms_engine::people::UserRecord;
use kms_engine::role::{Role, RoleSet};
use serde::Serialize;

use crate::error::ControlError;

#[derive(Serialize)]
pub struct UserView {
    name: String,
    roles: Vec<&'static str>,
    /// Whether the person has set their own password and TOTP.
    enrolled: bool,
    disabled: bool,
    locked_until: Option<String>,
    failed_logins: u32,
    created_at: String,
}

impl From<&UserRecord> for UserView {
    fn from(u: &UserRecord) -> Self {
        Self {
            name: u.name.clone(),
            roles: u.roles.names(),
            enrolled: u.enrolled(),
            disabled: u.disabled,
            locked_until: u.login.locked_until.map(|t| t.rfc3339()),
            failed_logins: u.login.failed_logins,
            created_at: u.created_at.rfc3339(),
        }
    }
}

/// Parses role names.
pub fn parse_roles(names: &[String]) -> Result<RoleSet, ControlError> {
    Ok(names
        .iter()
        .map(|n| Role::parse(n))
        .collect::<Result<RoleSet, _>>()?)
}

/// A user name: as key and app names (1 to 128 of A-Z a-z 0-9 - _ . starting alphanumeric).
pub fn check_name(name: &str) -> Result<(), ControlError> {
    kms_engine::ids::AppName::new(name)
        .map(|_| ())
        .map_err(|_| {
            ControlError::invalid(
                "invalid_name",
                "a user name is 1 to 128 of A-Z a-z 0-9 - _ . starting with a letter or digit",
            )
        })
}
