//! HSM backends and the actor that serialises master-key operations.
#![forbid(unsafe_code)]

pub mod actor;
pub mod backend;
pub mod components;
pub mod pkcs11;
pub mod soft;
pub mod zone;

pub use actor::{HsmHandle, spawn};
pub use backend::{
    CreatedMasterKey, HsmBackend, HsmError, HsmStatus, MasterKeyInfo, MasterKeySource, SealStatus,
    Sealing, TokenStatus,
};
pub use pkcs11::{Pkcs11Config, Pkcs11Hsm, TokenConfig};
pub use soft::SoftwareHsm;
pub use zone::ZoneBackend;
