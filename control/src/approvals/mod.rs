//! Approvals: a sensitive action asked for by a user becomes a request that runs only after
//! `approval_quorum` distinct other users, each holding one of the action's approver roles,
//! approve it. The requester cannot approve their own request, nobody votes twice, a rejection
//! ends it, a request expires after `approval_ttl`, and it runs at most once (the store moves it
//! from pending to executing for exactly one caller).
//!
//! Sensitive actions ([`action::Action`]): giving someone an administrator role, scheduling a
//! version's destruction, exporting an exportable key's material, loosening a key's usage
//! policy, registering a zone's transport key. The root token (the bootstrap credential) runs
//! them at once. Master-key operations have their own custodian quorum (ceremonies, docs/hsm.md).

pub mod action;
pub mod invocation;
pub mod request;
pub mod view;
pub mod vote;
