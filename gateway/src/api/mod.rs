//! HTTP handlers, one file per operation: parse → check → engine call → response.

pub mod admin;
pub mod auth;
pub mod batch;
pub mod data;
pub mod demo;
pub mod hsm;
pub mod internal;
pub mod passwords;
pub mod sys;
pub mod transit;
