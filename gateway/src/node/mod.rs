//! Multi-node deployments (docs/deployment.md): a service node's assembly and a manage node's
//! forwarding of the control plane. The internal API's client, wire formats, remote store and
//! disk cache are in kms-store (`remote`).

pub mod forward;
pub mod manage;
pub mod service;
