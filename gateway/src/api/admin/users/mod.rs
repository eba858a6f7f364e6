//! People: create (they enrol themselves), reset their credentials, list, show, change roles,
//! disable and enable. Which of these wait for approval: kms_control::approvals::action.

pub mod create;
pub mod list;
pub mod reset;
pub mod roles;
pub mod status;
