//! What a service node tells the store about itself with each pull of the change feed: its
//! readiness and the revision it has applied, as request headers (the store records them per
//! node; `GET /v1/admin/nodes` shows them). The store believes them as what the node says, no
//! more: they decide nothing but what an operator is shown.

use std::sync::Arc;

use kms_engine::store::Revision;

/// The node's readiness, as its own `/readyz` would say it (`ready`, `degraded`).
pub const STATUS_HEADER: &str = "x-kms-node-status";
/// The revision of the change feed the node's directory reflects.
pub const APPLIED_HEADER: &str = "x-kms-node-applied";

/// The readiness words a node may report; anything else is recorded as `unknown`.
pub const STATUSES: &[&str] = &["ready", "degraded", "sealed", "not_initialized"];

/// What the node reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodeReport {
    pub status: &'static str,
    pub applied: Revision,
}

/// Asked for the node's report before each feed pull (`None`: nothing to report yet).
pub type Reporter = Arc<dyn Fn() -> Option<NodeReport> + Send + Sync>;

impl NodeReport {
    /// The request headers carrying it.
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        vec![
            (STATUS_HEADER, self.status.to_owned()),
            (APPLIED_HEADER, self.applied.to_string()),
        ]
    }

    /// A status as the store records it: one of [`STATUSES`], or `unknown`.
    pub fn known_status(sent: &str) -> &'static str {
        STATUSES
            .iter()
            .find(|s| **s == sent)
            .copied()
            .unwrap_or("unknown")
    }
}
