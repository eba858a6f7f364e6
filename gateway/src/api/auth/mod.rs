//! People's sessions: log in with name, password and TOTP code; log out.

pub mod login;
pub mod logout;
