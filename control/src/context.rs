//! What the management center works with: the store, the HSM, the data plane's directory (to wait
//! for what it committed), the audit sink, the ceremonies in progress, the master-key rotation
//! job, the webhooks, the clock and the access policy.
//!
//! Modules that keep state of their own (the audit sink, ceremonies, the rotation job, webhooks)
//! are handed their parts explicitly and never see a `Control`; everything that acts for a person
//! or on a schedule takes `&Control`.

use std::sync::Arc;
use std::time::Duration;

use kms_engine::audit::{AuditEvent, Outcome};
use kms_engine::clock::Clock;
use kms_engine::directory::DirectoryHandle;
use kms_engine::store::{KeyStore, Revision};
use kms_engine::sync::KeySync;
use kms_hsm::HsmHandle;

use crate::audit_export::AuditExport;
use crate::audit_sink::AuditSink;
use crate::ceremony::registry::Ceremonies;
use crate::people::guard::LoginGuard;
use crate::rewrap::Rewrapper;
use crate::webhooks::Webhook;

/// Sessions, lockout and approvals.
#[derive(Clone, Debug)]
pub struct AccessPolicy {
    /// How long an admin session lasts.
    pub session_ttl: Duration,
    /// Consecutive failed logins that lock an account...
    pub max_failed_logins: u32,
    /// ...for this long.
    pub lockout: Duration,
    /// Distinct approvers (other than the requester) a sensitive action needs.
    pub approval_quorum: u8,
    /// How long a request waits for its approvals.
    pub approval_ttl: Duration,
    /// How long an enrolment token may be used.
    pub enrolment_ttl: Duration,
}

impl Default for AccessPolicy {
    fn default() -> Self {
        Self {
            session_ttl: Duration::from_secs(30 * 60),
            max_failed_logins: 5,
            lockout: Duration::from_secs(15 * 60),
            approval_quorum: 2,
            approval_ttl: Duration::from_secs(24 * 3600),
            enrolment_ttl: Duration::from_secs(24 * 3600),
        }
    }
}

pub struct Control {
    pub store: Arc<dyn KeyStore>,
    pub hsm: HsmHandle,
    /// The data plane's view of keys and credentials (system keys are read from it).
    pub directory: Arc<DirectoryHandle>,
    pub sync: KeySync,
    pub audit: AuditSink,
    /// Where sealed audit batches are copied outside the database; also serialises sealing.
    pub audit_export: AuditExport,
    /// Master-key ceremonies waiting for their quorum.
    pub ceremonies: Ceremonies,
    /// The master-key rotation job.
    pub rewrapper: Rewrapper,
    /// Where lifecycle events are POSTed.
    pub webhooks: Vec<Webhook>,
    pub clock: Arc<dyn Clock>,
    pub access: AccessPolicy,
    /// Throttles and the bound on concurrent password hashing.
    pub logins: LoginGuard,
}

/// How long an admin call waits for the key directory to show what it committed.
const SYNC_WAIT: Duration = Duration::from_secs(5);

impl Control {
    /// Waits until the data plane serves what the store committed at `revision`. The commit has
    /// happened either way, so a slow sync is logged, not reported as a failure.
    pub async fn synced(&self, revision: Revision) {
        if let Err(e) = self.sync.wait_applied(revision, SYNC_WAIT).await {
            tracing::warn!(revision, error = %e, "key directory is behind the store");
        }
    }

    pub fn webhook_urls(&self) -> Vec<String> {
        self.webhooks.iter().map(|w| w.url.clone()).collect()
    }

    /// An audit record stamped now.
    pub fn event(
        &self,
        actor: String,
        action: &str,
        target: Option<String>,
        outcome: Outcome,
    ) -> AuditEvent {
        AuditEvent {
            at: self.clock.now(),
            actor,
            action: action.to_owned(),
            target,
            outcome,
            code: None,
            remote: None,
            detail: None,
        }
    }
}
