//! Multi-node deployments (docs/deployment.md): the wire format and client of the store's
//! internal API, a service node's remote store handle and disk cache, and a manage node's
//! forwarding of the control plane.

pub mod cache;
pub mod client;
pub mod forward;
pub mod manage;
pub mod remote;
pub mod service;
pub mod wire;
pub mod zone_key;
