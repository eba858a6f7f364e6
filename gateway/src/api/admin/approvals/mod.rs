//! Approval requests: list, show, approve, reject (rules in kms_control::approvals).

pub mod collect;
pub mod list;
pub mod vote;
