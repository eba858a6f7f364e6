//! What every handler shares.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use kms_engine::audit::{AuditEvent, Outcome};
use kms_engine::challenges::Challenges;
use kms_engine::clock::Clock;
use kms_engine::directory::DirectoryHandle;
use kms_engine::pool::WorkerPool;
use kms_engine::store::{KeyStore, Revision};
use kms_engine::sync::KeySync;
use kms_hsm::HsmHandle;

use crate::audit_sink::AuditSink;
use crate::ceremony::Ceremonies;
use crate::error::ApiError;
use crate::rewrap::Rewrapper;
use crate::webhooks::Webhook;

#[derive(Clone, Debug)]
pub struct Limits {
    /// Largest request body, bytes (413 beyond).
    pub body_bytes: usize,
    /// Most items in one batch request.
    pub batch_items: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            body_bytes: 1 << 20,
            batch_items: 10_000,
        }
    }
}

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
}

impl Default for AccessPolicy {
    fn default() -> Self {
        Self {
            session_ttl: Duration::from_secs(30 * 60),
            max_failed_logins: 5,
            lockout: Duration::from_secs(15 * 60),
            approval_quorum: 2,
            approval_ttl: Duration::from_secs(24 * 3600),
        }
    }
}

pub struct AppState {
    /// The data plane's view of keys and credentials; read without locks.
    pub directory: Arc<DirectoryHandle>,
    pub pool: Arc<WorkerPool>,
    pub store: Arc<dyn KeyStore>,
    pub hsm: HsmHandle,
    pub sync: KeySync,
    pub audit: AuditSink,
    /// Master-key ceremonies waiting for their quorum.
    pub ceremonies: Ceremonies,
    /// The master-key rotation job.
    pub rewrapper: Rewrapper,
    /// Where lifecycle events are POSTed.
    pub webhooks: Vec<Webhook>,
    pub clock: Arc<dyn Clock>,
    /// The control runtime: store, HSM and sync calls run here, never on an HTTP worker.
    pub io: tokio::runtime::Handle,
    pub limits: Limits,
    pub access: AccessPolicy,
    /// Password keys' outstanding login challenges (in memory: single node; docs/passwords.md).
    pub challenges: Arc<Challenges>,
    /// The demo login page's backend, in dev mode with `--demo-key` (docs/passwords.md).
    pub demo: Option<crate::api::demo::Demo>,
    /// Where the Vault Transit-compatible API is mounted, e.g. `/v1/transit`.
    pub transit_mount: String,
}

/// How long an admin call waits for the key directory to show what it committed.
const SYNC_WAIT: Duration = Duration::from_secs(5);

impl AppState {
    /// Runs a control-plane future on the control runtime and waits for it.
    pub async fn io<F, T>(&self, fut: F) -> Result<T, ApiError>
    where
        F: Future<Output = Result<T, ApiError>> + Send + 'static,
        T: Send + 'static,
    {
        self.io
            .spawn(fut)
            .await
            .map_err(|e| ApiError::internal(&e))?
    }

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
