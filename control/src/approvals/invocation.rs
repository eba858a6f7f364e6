//! Who an action runs for: the caller, or the requester of an approved request, and where they
//! called from. Every action's audit record is made here.

use std::net::IpAddr;

use kms_engine::audit::{AuditEvent, Outcome};

use crate::context::Control;
use crate::error::ControlError;

#[derive(Clone, Debug)]
pub struct Invocation {
    /// The name audit records give the caller (`user:alice`, `root:initial`, ...).
    pub actor: String,
    pub remote: Option<String>,
    /// The approval request it runs under, once approved.
    pub approval: Option<i64>,
}

impl Invocation {
    pub fn new(actor: String, remote: Option<IpAddr>) -> Self {
        Self {
            actor,
            remote: remote.map(|ip| ip.to_string()),
            approval: None,
        }
    }

    fn stamped(
        &self,
        ctl: &Control,
        action: &str,
        target: Option<String>,
        outcome: Outcome,
    ) -> AuditEvent {
        let mut event = ctl.event(self.actor.clone(), action, target, outcome);
        event.remote.clone_from(&self.remote);
        event
    }

    /// The audit record of the action's success. `detail` says what was done; an approved run
    /// adds ` approval=<id>`.
    pub fn event(
        &self,
        ctl: &Control,
        action: &str,
        target: String,
        detail: Option<String>,
    ) -> AuditEvent {
        let mut event = self.stamped(ctl, action, Some(target), Outcome::Success);
        event.detail = match (detail, self.approval) {
            (detail, None) => detail,
            (Some(detail), Some(id)) => Some(format!("{detail} approval={id}")),
            (None, Some(id)) => Some(format!("approval={id}")),
        };
        event
    }

    /// Audits a refusal, then returns it as the error to answer with.
    pub async fn refuse(
        &self,
        ctl: &Control,
        action: &str,
        target: Option<String>,
        error: ControlError,
    ) -> ControlError {
        let mut event = self.stamped(ctl, action, target, Outcome::Denied);
        event.code = Some(error.code().to_owned());
        ctl.audit.record(event).await;
        error
    }
}
