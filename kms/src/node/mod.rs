//! The three assemblies a `kms serve` process can be (docs/deployment.md): a node with the store
//! (and possibly the other roles), a service node without it, and a manage node alone.

pub mod manage;
pub mod service;
pub mod store;
