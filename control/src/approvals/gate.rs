//! Approvals for callers that cannot carry one: Vault Transit's `export`, `backup` and `restore`
//! (docs/vault-compat.md). A Vault client repeats the same call; the gate decides what that call
//! is:
//!
//! 1. no request of the caller's for exactly this action, target and parameters (or only used,
//!    rejected, expired or cancelled ones): a new request is filed (`Requested`);
//! 2. the caller's request is still waiting for votes: `Pending`, nothing new is filed;
//! 3. the caller's request was approved and its run left an authorisation that was not taken
//!    yet: it is taken, once (`Authorized`), and the caller's call runs.
//!
//! The approved run itself only leaves the authorisation (authorization.rs): what the call hands out
//! (plaintext material, a backup) is made when the requester takes it, so it is never stored.

use serde_json::Value;

use super::action::Action;
use super::authorization::AUTHORIZED;
use super::invocation::Invocation;
use super::request::request;
use crate::context::Control;
use crate::error::ControlError;

/// How many of the newest requests are searched for the caller's (requests are rare: people ask
/// for them one by one).
const SCAN: u32 = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// Approved, and taken now: run the call.
    Authorized(i64),
    /// Waiting for votes.
    Pending(i64),
    /// Filed now.
    Requested(i64),
}

/// See the module's documentation.
pub async fn request_or_collect(
    ctl: &Control,
    invocation: &Invocation,
    action: &Action,
    target: String,
) -> Result<Gate, ControlError> {
    let name = action.name();
    let params = action.params()?.to_string();
    let now = ctl.clock.now();
    let mine = ctl
        .store
        .approvals(false, SCAN)
        .await?
        .into_iter()
        .filter(|r| {
            r.request.requester == invocation.actor
                && r.request.action == name
                && r.request.target == target
                && r.request.params == params
        });
    for record in mine {
        if record.private_pending
            && let Some(taken) = ctl.store.take_private_result(record.id, now).await?
        {
            let private: Value = serde_json::from_str(&taken).map_err(ControlError::internal)?;
            if private.get("authorization").and_then(Value::as_str) == Some(AUTHORIZED) {
                let event = invocation.event(
                    ctl,
                    "collect_approval_result",
                    format!("approval:{}", record.id),
                    None,
                );
                ctl.audit.record(event).await;
                return Ok(Gate::Authorized(record.id));
            }
        }
        if matches!(record.status(now), "pending" | "executing") {
            return Ok(Gate::Pending(record.id));
        }
    }
    let record = request(ctl, invocation, action, target).await?;
    Ok(Gate::Requested(record.id))
}
