//! The KMS core: the types every other crate shares, the crypto, the crypto worker pool and the
//! key-sync actor.
//!
//! Owns: what a key, a version, a ciphertext and a credential are, and the only threads that
//! hold working keys unwrapped. Never depends on: any other member, an HTTP framework, a database
//! driver or an HSM library. It holds no I/O of its own (except a service node's KEK and sealed
//! files, [`node_kek`], [`zone_key`]): the store and the HSM are reached through the
//! [`store::KeyStore`] and [`wrap::KeyUnwrapper`] traits.
#![forbid(unsafe_code)]

pub mod algorithm;
pub mod audit;
pub mod certificate;
pub mod challenges;
pub mod ciphertext;
pub mod clock;
pub mod crypto;
pub mod directory;
pub mod error;
pub mod ids;
pub mod keyring;
pub mod master_key;
pub mod node_kek;
pub mod people;
pub mod policy;
pub mod pool;
pub mod role;
pub mod secret;
pub mod store;
pub mod store_error;
pub mod store_records;
pub mod sync;
pub mod token;
pub mod version;
pub mod wrap;
pub mod zone;
pub mod zone_key;

pub use error::EngineError;
