//! The `kms` binary's assembly: kms.toml and the command line's flags, and the three kinds of
//! node a `kms serve` process can be (docs/deployment.md), each started from the crates below
//! it. main.rs shows the roles assembled; the end-to-end tests (tests/e2e) start nodes through
//! [`testing`] or run the binary.
//!
//! Owns: configuration and start-up order. Never holds a rule of its own about keys or people
//! (kms-control does) or an HTTP handler (kms-gateway does).
#![forbid(unsafe_code)]

pub mod config;
pub mod data_dir;
pub mod dev;
pub mod kms;
pub mod logging;
pub mod node;
pub mod options;
pub mod overrides;
pub mod restore;
pub mod roles;
pub mod runtime;
pub mod testing;
pub mod trust;
