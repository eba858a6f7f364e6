//! HSM backends and the actor that serialises master-key operations.
#![forbid(unsafe_code)]

pub mod actor;
pub mod backend;
pub mod soft;

pub use actor::{HsmHandle, spawn};
pub use backend::{HsmBackend, HsmError, InitOutput, SealStatus};
pub use soft::SoftwareHsm;
