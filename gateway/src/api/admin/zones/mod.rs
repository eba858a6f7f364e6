//! Zones: the public halves of the zone master keys the store wraps working keys to
//! (docs/deployment.md), and the nodes of the internal API with their sync lag.

pub mod list;
pub mod nodes;
pub mod register;
