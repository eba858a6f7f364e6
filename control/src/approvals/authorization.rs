//! What the approved run of a gated action (approvals/gate.rs: Transit's export, backup and
//! restore) does: it leaves an authorisation for its requester alone, which the requester's next
//! identical call takes, once. What the call hands out is made then, so it is never stored.

use serde_json::json;

use super::invocation::Invocation;
use super::ran::Ran;
use crate::context::Control;
use crate::error::ControlError;

/// The marker an approved run leaves for its requester.
pub const AUTHORIZED: &str = "transit_authorized";

/// An approved run of a gated action: it authorises one call of its requester's (audited as
/// `authorize_<action>`).
pub async fn authorize(
    ctl: &Control,
    invocation: &Invocation,
    action: &str,
    target: String,
) -> Result<Ran, ControlError> {
    let event = invocation.event(ctl, &format!("authorize_{action}"), target, None);
    ctl.audit.record(event).await;
    Ok(Ran {
        public: json!({ "authorized": true }),
        private: Some(json!({ "authorization": AUTHORIZED })),
        completer: None,
    })
}
