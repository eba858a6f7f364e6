//! HTTP handlers, one file per operation: parse → check → engine call → response.

pub mod admin;
pub mod batch;
pub mod data;
pub mod hsm;
pub mod sys;
pub mod transit;
