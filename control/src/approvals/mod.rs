//! Approvals: a sensitive action asked for by a user becomes a request that runs only after
//! `approval_quorum` distinct other users, each holding one of the action's approver roles,
//! approve it. The requester cannot approve their own request, nobody votes twice, a rejection
//! ends it, a request expires after `approval_ttl`, and it runs at most once (the store moves it
//! from pending to executing for exactly one caller).
//!
//! Sensitive actions are listed, with when each waits and who approves it, in
//! [`action::Action`]. Every approval names the hash of the parameters it was shown, and the run
//! re-checks them and its requester. The root token (the bootstrap credential) runs actions at
//! once. Master-key operations have their own custodian quorum (ceremonies, docs/hsm.md).

pub mod action;
pub mod approvers;
pub mod authorization;
pub mod gate;
pub mod invocation;
pub mod ran;
pub mod request;
pub mod view;
pub mod vote;
