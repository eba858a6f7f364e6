//! The management center: people and their sessions, roles and the access table, approvals,
//! master-key ceremonies and custodians, the master-key rotation job, the audit chain and its
//! seals, the KMS's own system keys, the scheduler, webhooks, and backups.
//!
//! Owns: every rule about who may do what to keys, apps and people, and the order in which a
//! change reaches the store and the HSM. Its functions take typed inputs and return typed results
//! or a [`error::ControlError`]. Never depends on: an HTTP framework (the gateway is its caller) or
//! a store backend (only the engine's `KeyStore` trait); it reaches the HSM through
//! kms-hsm's actor handle.
#![forbid(unsafe_code)]

pub mod access;
pub mod approvals;
pub mod apps;
pub mod audit_chain;
pub mod audit_export;
pub mod audit_query;
pub mod audit_sink;
pub mod backup;
pub mod ceremony;
pub mod context;
pub mod custodians;
pub mod durations;
pub mod error;
pub mod hsm_status;
pub mod keyops;
pub mod keys;
pub mod master_keys;
pub mod people;
pub mod rewrap;
pub mod scheduler;
pub mod shares;
pub mod system_keys;
pub mod totp;
pub mod usage;
pub mod webhooks;
pub mod zones;
