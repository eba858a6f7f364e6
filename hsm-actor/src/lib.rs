//! HSM backends and the actor that serialises master-key operations.
//!
//! Owns: the master key (in the software HSM's sealed keyring or a PKCS#11 token) and every
//! operation on it. Never depends on: the store, the management center, an HTTP framework; only
//! on the engine's types.
#![forbid(unsafe_code)]

pub mod actor;
pub mod backend;
pub mod choice;
pub mod components;
pub mod pkcs11;
pub mod soft;
pub mod zone;

pub use actor::{HsmHandle, spawn};
pub use backend::{
    CreatedMasterKey, HsmBackend, HsmError, HsmStatus, MasterKeyInfo, MasterKeySource, SealStatus,
    Sealing, TokenStatus,
};
pub use choice::{DEV_SHARE_FILE, HsmChoice, sealed_path};
pub use pkcs11::{Pkcs11Config, Pkcs11Hsm, TokenConfig};
pub use soft::SoftwareHsm;
pub use zone::ZoneBackend;
