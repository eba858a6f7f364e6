//! Zones (docs/deployment.md): registering a zone's transport key, listing zones, and handing a
//! zone's service nodes its keys wrapped to that key.

pub mod register;
pub mod transport;
pub mod view;
