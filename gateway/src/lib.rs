//! The KMS gateway: the HTTP API (actix-web), the CLI, and the assembly of the whole service.
#![forbid(unsafe_code)]

pub mod access;
pub mod api;
pub mod approvals;
pub mod audit_chain;
pub mod audit_sink;
pub mod auth;
pub mod backup;
pub mod ceremony;
pub mod cli;
pub mod config;
pub mod custodians;
pub mod durations;
pub mod error;
pub mod keyops;
pub mod master_keys;
pub mod metrics;
pub mod node;
pub mod peer;
pub mod rewrap;
pub mod roles;
pub mod routes;
pub mod scheduler;
pub mod server;
pub mod state;
pub mod system_keys;
pub mod testing;
pub mod totp;
pub mod usage;
pub mod webhooks;
