//! The audit log, for auditors: query, verify, seal.

pub mod query;
pub mod seal;
pub mod verify;
