//! People: accounts, roles, logins and sessions.

pub mod accounts;
pub mod login;
pub mod roles;
pub mod status;
pub mod user;
