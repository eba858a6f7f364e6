//! Approval requests: list, show, approve, reject (rules in crate::approvals).

pub mod list;
pub mod vote;
