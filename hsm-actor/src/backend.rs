//! The interface every HSM backend implements, and the HSM layer's error enum.
//!
//! A backend owns the master key. Working keys enter it only to be wrapped and leave it wrapped;
//! `generate_wrapped` makes a new working key inside the backend and returns only its wrapped
//! form, so a new key never exists in plaintext outside the HSM until a crypto worker unwraps it.

use kms_engine::ids::MasterKeyId;
use kms_engine::secret::{KeyMaterial, SecretString};
use kms_engine::wrap::{WrapContext, WrappedKey};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum HsmError {
    #[error("the HSM is sealed: submit unseal shares first")]
    Sealed,
    #[error("the HSM has not been initialised")]
    NotInitialized,
    #[error("the HSM is already initialised")]
    AlreadyInitialized,
    #[error("invalid unseal share: {0}")]
    InvalidShare(&'static str),
    #[error("the submitted shares do not reconstruct the unseal key; start again")]
    WrongShares,
    #[error("the wrapped key does not unwrap under this master key for this key version")]
    UnwrapFailed,
    #[error("wrapped under master key {0}, which this HSM does not hold")]
    UnknownMasterKey(MasterKeyId),
    #[error("invalid parameters: {0}")]
    InvalidParameters(String),
    #[error("this HSM backend does not support {0}")]
    NotSupported(&'static str),
    #[error("the HSM's mailbox is full")]
    Busy,
    #[error("the HSM did not answer in time")]
    Timeout,
    #[error("the HSM actor has stopped")]
    Stopped,
    #[error("sealed master key file: {0}")]
    Io(#[from] std::io::Error),
    #[error("sealed master key file is corrupt: {0}")]
    Corrupt(String),
}

/// Seal state as shown by `kms status` and `GET /v1/sys/seal-status`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SealStatus {
    /// Which backend: `software` or `pkcs11`.
    pub backend: &'static str,
    pub initialized: bool,
    pub sealed: bool,
    /// Shares needed to unseal (0 where the backend has no shares).
    pub threshold: u8,
    /// Shares issued at initialisation.
    pub shares: u8,
    /// Shares submitted so far towards the next unseal.
    pub progress: u8,
    pub master_key_id: Option<String>,
}

/// What initialisation hands back once: the unseal shares, to be given to the custodians.
pub struct InitOutput {
    pub master_key: MasterKeyId,
    pub shares: Vec<SecretString>,
}

pub trait HsmBackend: Send + 'static {
    fn seal_status(&self) -> SealStatus;

    /// Creates the master key. The software backend seals it under `shares` Shamir shares of
    /// which `threshold` unseal it.
    fn initialize(&mut self, shares: u8, threshold: u8) -> Result<InitOutput, HsmError>;

    /// Adds one unseal share; when enough are in, unseals (or fails and starts over).
    fn submit_share(&mut self, share: &str) -> Result<SealStatus, HsmError>;

    /// Forgets the shares submitted so far.
    fn reset_unseal(&mut self);

    /// Forgets the master key until it is unsealed again.
    fn seal(&mut self) -> Result<(), HsmError>;

    /// A new random working key of `context.algorithm`, wrapped. The plaintext never leaves.
    fn generate_wrapped(&mut self, context: &WrapContext) -> Result<WrappedKey, HsmError>;

    fn wrap(
        &mut self,
        context: &WrapContext,
        material: &KeyMaterial,
    ) -> Result<WrappedKey, HsmError>;

    fn unwrap(
        &mut self,
        context: &WrapContext,
        wrapped: &WrappedKey,
    ) -> Result<KeyMaterial, HsmError>;
}
