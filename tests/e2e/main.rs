//! End-to-end tests: the real server on 127.0.0.1:0 (in this process, or as the `kms` binary),
//! spoken to over HTTP.
// Test helpers outside #[test] functions panic on failure by design.
#![allow(clippy::unwrap_used, clippy::cast_possible_truncation)]

mod access;
mod access_log;
mod algorithms;
mod anonymous;
mod approvals;
mod apps;
mod at_rest;
mod audit_anchor;
mod audit_trail;
mod backup;
mod browser;
mod ceremony_audit;
mod cli;
mod cli_admin;
mod cli_data;
mod client;
mod cluster;
mod config_docs;
mod console;
mod data_dir;
mod data_plane;
mod docs;
mod dual_control;
mod errors;
mod forward_body;
mod internal;
mod lifecycle;
mod log_injection;
mod nginx;
mod nodes;
mod observability;
mod openapi;
mod operator_errors;
mod passwords;
mod people;
// The store tests' PostgreSQL fixture (a database of its own per test), for the tests on
// PostgreSQL (postgres.rs, cluster.rs).
#[path = "../../store/tests/pg/mod.rs"]
mod pg;
mod pkcs11;
mod postgres;
mod process;
mod readme;
mod role_matrix;
mod rotation;
mod support;
mod tls;
mod transit;
mod usage;
mod webdriver;
mod webhook_receiver;
