//! People: create (with their TOTP secret, shown once), list, show, change roles, disable and
//! enable. Giving someone an administrator role needs approval (kms_control::approvals).

pub mod create;
pub mod list;
pub mod roles;
pub mod status;
