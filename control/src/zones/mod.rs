//! Zones (docs/deployment.md): registering a zone's transport key, listing zones, handing a
//! zone's service nodes its keys wrapped to that key, and showing the nodes with their sync lag.

pub mod nodes;
pub mod register;
pub mod transport;
pub mod view;
