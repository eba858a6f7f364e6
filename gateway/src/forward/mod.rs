//! Forwarding the control plane to the store's internal listener (a manage node, or a service
//! node with the manage role), and a manage node's own health and readiness.

pub mod proxy;
pub mod store_ready;
