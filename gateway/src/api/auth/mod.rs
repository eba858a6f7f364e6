//! People's logins, sessions and enrolment, and an app's view of its own credentials.

pub mod app_self;
pub mod enrol;
pub mod login;
pub mod logout;
pub mod renew;
