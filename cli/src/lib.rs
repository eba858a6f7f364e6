//! The `kms` command line's client side: every command but `serve` and `restore` speaks HTTP to a
//! running server (or works on this machine alone), and prints tables or JSON.
//!
//! Owns: arguments, prompts (secrets without echo), output formats. Never depends on: the
//! gateway, the store or the binary's assembly; `serve` and `restore` are run by the `kms`
//! binary through [`command::Node`] (and so is hashing a custodian's password).
#![forbid(unsafe_code)]

pub mod app;
pub mod app_list;
pub mod app_token;
pub mod approvals;
pub mod args;
pub mod audit;
pub mod audit_against;
pub mod backup;
pub mod client;
pub mod command;
pub mod data;
pub mod enrol;
pub mod hsm;
pub mod init;
pub mod key;
pub mod key_policy;
pub mod login;
pub mod logout;
pub mod output;
pub mod pipe;
pub mod ready;
pub mod shares;
pub mod status;
pub mod unseal;
pub mod user;
pub mod zone;
