//! The third backend of [`kms_engine::store::KeyStore`]: a service node's handle on the store,
//! through the store's internal API (HTTPS with client certificates), with the wire formats both
//! sides speak and the node's sealed disk cache of what it loaded.

pub mod cache;
pub mod client;
pub mod report;
pub mod store;
pub mod wire;
