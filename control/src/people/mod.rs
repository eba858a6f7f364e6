//! People: accounts, roles, logins and sessions.

pub mod accounts;
pub mod enrolment;
pub mod floors;
pub mod guard;
pub mod login;
pub mod roles;
pub mod status;
pub mod user;
