//! Zones: the public halves of the zone master keys the store wraps working keys to
//! (docs/deployment.md).

pub mod list;
pub mod register;
