//! The backend of a service node: it holds its zone's private key (RSA-3072) and nothing else, and
//! can only open what the store node transport-wrapped to that zone
//! (`kms_engine::zone`, format in its module doc). Master keys live on the store node's HSM; every
//! operation that would make or use one is refused here.

use kms_engine::ids::MasterKeyId;
use kms_engine::master_key::Kcv;
use kms_engine::secret::KeyMaterial;
use kms_engine::wrap::{WrapContext, WrappedKey};
use kms_engine::zone::{ZoneName, ZonePrivateKey, zone_master_key_id};

use crate::backend::{
    CreatedMasterKey, HsmBackend, HsmError, HsmStatus, MasterKeyInfo, MasterKeySource, SealStatus,
    Sealing, TokenStatus,
};

const LABEL: &str = "zone";

/// A service node's [`HsmBackend`]: unwraps transport blobs addressed to `zone:<name>`.
pub struct ZoneBackend {
    zone: ZoneName,
    master_key: MasterKeyId,
    key: ZonePrivateKey,
}

impl ZoneBackend {
    pub fn new(zone: ZoneName, key: ZonePrivateKey) -> Self {
        Self {
            master_key: zone_master_key_id(&zone),
            zone,
            key,
        }
    }

    pub fn zone(&self) -> &ZoneName {
        &self.zone
    }
}

impl std::fmt::Debug for ZoneBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ZoneBackend({}, {:?})", self.zone, self.key)
    }
}

impl HsmBackend for ZoneBackend {
    /// Always initialised and unsealed: the key was opened (from the node KEK's sealed file) before
    /// the backend was made.
    fn seal_status(&self) -> SealStatus {
        SealStatus {
            backend: LABEL,
            initialized: true,
            sealed: false,
            threshold: 0,
            shares: 0,
            progress: 0,
        }
    }

    /// One token, `zone:<name>`, holding master key `zone:<name>`; its "KCV" is the first 16 hex
    /// digits of the zone public key's SHA-256 fingerprint.
    fn status(&mut self) -> HsmStatus {
        let mut kcv = self.key.public().fingerprint();
        kcv.truncate(16);
        HsmStatus {
            backend: LABEL,
            tokens: vec![TokenStatus {
                label: self.master_key.to_string(),
                healthy: true,
                error: None,
                master_keys: vec![MasterKeyInfo {
                    id: self.master_key.to_string(),
                    kcv,
                }],
            }],
        }
    }

    fn create_master_key(
        &mut self,
        _source: MasterKeySource,
        _sealing: Option<Sealing>,
    ) -> Result<CreatedMasterKey, HsmError> {
        Err(HsmError::NotSupported(
            "creating master keys on a service node",
        ))
    }

    fn load_master_key(
        &mut self,
        _id: &MasterKeyId,
        _expected: &Kcv,
        _components: Vec<KeyMaterial>,
    ) -> Result<Vec<String>, HsmError> {
        Err(HsmError::NotSupported(
            "loading master keys on a service node",
        ))
    }

    fn destroy_master_key(&mut self, _id: &MasterKeyId) -> Result<(), HsmError> {
        Err(HsmError::NotSupported(
            "destroying master keys on a service node",
        ))
    }

    fn generate_wrapped(
        &mut self,
        _context: &WrapContext,
        _under: &MasterKeyId,
    ) -> Result<WrappedKey, HsmError> {
        Err(HsmError::NotSupported(
            "generating working keys on a service node",
        ))
    }

    fn wrap(
        &mut self,
        _context: &WrapContext,
        _material: &KeyMaterial,
        _under: &MasterKeyId,
    ) -> Result<WrappedKey, HsmError> {
        Err(HsmError::NotSupported("wrapping keys on a service node"))
    }

    fn unwrap(
        &mut self,
        context: &WrapContext,
        wrapped: &WrappedKey,
    ) -> Result<KeyMaterial, HsmError> {
        if wrapped.master_key != self.master_key {
            return Err(HsmError::UnknownMasterKey(wrapped.master_key.clone()));
        }
        self.key
            .unwrap_transport(context, &wrapped.blob)
            .map_err(|_| HsmError::UnwrapFailed)
    }
}

#[cfg(test)]
#[path = "zone_tests.rs"]
mod tests;
