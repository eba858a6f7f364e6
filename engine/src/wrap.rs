//! What crosses the master-key boundary: wrapped working keys and the context they are bound to,
//! and the trait through which a crypto worker asks for a version's material.

use crate::algorithm::Algorithm;
use crate::error::EngineError;
use crate::ids::{KeyId, KeyVersion, MasterKeyId};
use crate::secret::KeyMaterial;

/// A working-key version's material wrapped under a master key. Safe to store and to hold in
/// memory: without the master key it is noise.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WrappedKey {
    pub master_key: MasterKeyId,
    pub blob: Vec<u8>,
}

/// What a wrapped key is bound to. A wrapped blob moved to another key's or version's row does not
/// unwrap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WrapContext {
    pub key: KeyId,
    pub version: KeyVersion,
    pub algorithm: Algorithm,
}

impl WrapContext {
    /// The associated data every backend binds a wrapped key to:
    /// `"kms-wrap-v1" ‖ key id (16) ‖ version (u32 BE) ‖ algorithm code (u16 BE)`.
    pub fn associated_data(&self) -> [u8; 33] {
        let mut aad = [0u8; 33];
        aad[..11].copy_from_slice(b"kms-wrap-v1");
        aad[11..27].copy_from_slice(self.key.as_bytes());
        aad[27..31].copy_from_slice(&self.version.get().to_be_bytes());
        aad[31..33].copy_from_slice(&self.algorithm.code().to_be_bytes());
        aad
    }
}

/// How a crypto worker gets a version's plaintext material when its cache misses. The HSM actor
/// implements it; the call blocks the worker thread, which is why misses must be rare (the cache
/// is sized to hold every live version).
pub trait KeyUnwrapper: Send + Sync + 'static {
    fn unwrap_key(
        &self,
        context: &WrapContext,
        wrapped: &WrappedKey,
    ) -> Result<KeyMaterial, EngineError>;
}
