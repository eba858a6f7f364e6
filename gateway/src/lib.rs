//! The KMS gateway: the HTTP side of every role. Routes and handlers (one file per operation),
//! authentication of requests, the one mapping of errors to HTTP answers, the listeners (public,
//! internal with mutual TLS, a manage node's), the internal API's HTTP side, and forwarding of the
//! control plane to the store.
//!
//! Owns: what goes over the wire. The data plane's handlers hand items to the engine's crypto
//! workers; every control-plane handler parses, authorises and calls the management center
//! (kms-control), which holds the rules. Never depends on: the CLI or the `kms` binary's assembly
//! (crates above it), or a store backend other than the remote store's wire formats.
#![forbid(unsafe_code)]

pub mod access_log;
pub mod api;
pub mod auth;
pub mod console;
pub mod error;
pub mod forward;
pub mod listener;
pub mod metrics;
pub mod metrics_access;
pub mod peer;
pub mod proxies;
pub mod reset_throttle;
pub mod routes;
pub mod state;
