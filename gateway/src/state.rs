//! What every handler shares: the management center (for the control plane), and what the data
//! plane reads on every request without going through it (the directory snapshot, the crypto
//! workers, the clock and the audit sink, which are the management center's own handles).

use std::future::Future;
use std::sync::Arc;

use kms_control::audit_sink::AuditSink;
use kms_control::context::Control;
use kms_control::error::ControlError;
use kms_engine::audit::{AuditEvent, Outcome};
use kms_engine::challenges::{self, Challenges};
use kms_engine::clock::Clock;
use kms_engine::directory::DirectoryHandle;
use kms_engine::pool::WorkerPool;

use crate::api::internal::nodes::NodeContacts;
use crate::error::ApiError;
use crate::proxies::TrustedProxies;

#[derive(Clone, Debug)]
pub struct Limits {
    /// Largest request body, bytes (413 beyond).
    pub body_bytes: usize,
    /// Most items in one batch request.
    pub batch_items: usize,
    /// Password-login challenges one app may hold at once (issued within their two minutes).
    pub challenges_per_app: usize,
    /// Password-login challenges one key may hold at once.
    pub challenges_per_key: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            body_bytes: 1 << 20,
            batch_items: 10_000,
            challenges_per_app: challenges::DEFAULT_PER_CALLER,
            challenges_per_key: challenges::DEFAULT_PER_KEY,
        }
    }
}

use crate::metrics_access::MetricsAccess;
pub use crate::reset_throttle::{ResetThrottle, UNSEAL_RESET_EVERY_MS};

pub struct AppState {
    /// The management center: every admin call goes through it.
    pub control: Arc<Control>,
    /// The data plane's view of keys and credentials; read without locks.
    pub directory: Arc<DirectoryHandle>,
    pub pool: Arc<WorkerPool>,
    pub audit: AuditSink,
    pub clock: Arc<dyn Clock>,
    /// The control runtime: store, HSM and sync calls run here, never on an HTTP worker.
    pub io: tokio::runtime::Handle,
    pub limits: Limits,
    /// Password keys' outstanding login challenges (in memory: single node; docs/passwords.md).
    pub challenges: Arc<Challenges>,
    /// The demo login page's backend, in dev mode with `--demo-key` (docs/passwords.md).
    pub demo: Option<crate::api::demo::app::Demo>,
    /// Where the Vault Transit-compatible API is mounted, e.g. `/v1/transit`.
    pub transit_mount: String,
    /// Whose `X-Forwarded-For` the public listener believes (`[server] trusted_proxies`).
    pub trusted_proxies: TrustedProxies,
    /// Who may read `/metrics` (`[server] metrics_from`).
    pub metrics_from: MetricsAccess,
    /// The last unauthenticated unseal reset, throttled (one per [`UNSEAL_RESET_EVERY_MS`]).
    pub unseal_reset: ResetThrottle,
    /// The internal API's pinned nodes and what each last reported (a store with an internal
    /// listener; `GET /v1/admin/nodes`).
    pub nodes: NodeContacts,
}

/// What the handlers share besides the management center.
pub struct Parts {
    pub pool: Arc<WorkerPool>,
    pub io: tokio::runtime::Handle,
    pub limits: Limits,
    pub demo: Option<crate::api::demo::app::Demo>,
    pub transit_mount: String,
    pub trusted_proxies: TrustedProxies,
    pub metrics_from: MetricsAccess,
}

impl AppState {
    /// The state over `control`; the data plane's handles are the management center's own.
    pub fn new(control: Arc<Control>, parts: Parts) -> Self {
        Self {
            directory: Arc::clone(&control.directory),
            audit: control.audit.clone(),
            clock: Arc::clone(&control.clock),
            control,
            pool: parts.pool,
            io: parts.io,
            challenges: Arc::new(Challenges::with_quotas(
                challenges::DEFAULT_TTL_MS,
                challenges::DEFAULT_CAPACITY,
                parts.limits.challenges_per_app,
                parts.limits.challenges_per_key,
            )),
            limits: parts.limits,
            demo: parts.demo,
            transit_mount: parts.transit_mount,
            trusted_proxies: parts.trusted_proxies,
            metrics_from: parts.metrics_from,
            unseal_reset: ResetThrottle::default(),
            nodes: NodeContacts::default(),
        }
    }

    /// Runs a future on the control runtime and waits for it.
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

    /// Runs a management-center call on the control runtime and waits for it.
    pub async fn on_control<F, Fut, T>(&self, call: F) -> Result<T, ApiError>
    where
        F: FnOnce(Arc<Control>) -> Fut,
        Fut: Future<Output = Result<T, ControlError>> + Send + 'static,
        T: Send + 'static,
    {
        let fut = call(Arc::clone(&self.control));
        self.io(async move { fut.await.map_err(ApiError::from) })
            .await
    }

    /// An audit record stamped now.
    pub fn event(
        &self,
        actor: String,
        action: &str,
        target: Option<String>,
        outcome: Outcome,
    ) -> AuditEvent {
        self.control.event(actor, action, target, outcome)
    }
}
