//! End-to-end tests: the real server on 127.0.0.1:0 (in this process, or as the `kms` binary),
//! spoken to over HTTP.
// Test helpers outside #[test] functions panic on failure by design.
#![allow(clippy::unwrap_used, clippy::cast_possible_truncation)]

mod access;
mod algorithms;
mod at_rest;
mod cli;
mod data_plane;
mod docs;
mod errors;
mod lifecycle;
mod observability;
mod pkcs11;
mod process;
mod rotation;
mod support;
mod transit;
mod webhook_receiver;
