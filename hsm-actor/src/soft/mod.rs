//! The software HSM, the embedded default.
//!
//! A random 256-bit master key lives only in this process's memory while unsealed. On disk there
//! is only its sealed form: the master key encrypted (AES-256-GCM) under a random unseal key, and
//! the unseal key exists only as Shamir shares held by the custodians. `threshold` shares
//! reconstruct it, decrypt the master key, and the unseal key is erased again.
//!
//! Working keys are wrapped with AES-256-GCM under the master key, bound to their key id, version
//! and algorithm (see [`WrapContext::associated_data`]). Wrapped form: nonce ‖ ciphertext ‖ tag.

mod sealed;
pub mod shamir;

use std::path::{Path, PathBuf};

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use kms_engine::ids::MasterKeyId;
use kms_engine::secret::KeyMaterial;
use kms_engine::wrap::{WrapContext, WrappedKey};
use zeroize::Zeroizing;

use crate::backend::{HsmBackend, HsmError, InitOutput, SealStatus};
use sealed::SealedFile;

const NONCE_LEN: usize = 12;

struct Unsealed {
    id: MasterKeyId,
    cipher: Aes256Gcm,
}

pub struct SoftwareHsm {
    path: PathBuf,
    sealed: Option<SealedFile>,
    master: Option<Unsealed>,
    /// Decoded shares submitted towards the next unseal.
    pending: Vec<Zeroizing<Vec<u8>>>,
}

fn seal_aad(id: &MasterKeyId) -> Vec<u8> {
    [b"kms-seal-v1".as_slice(), id.as_str().as_bytes()].concat()
}

fn aead_seal(cipher: &Aes256Gcm, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, HsmError> {
    let mut nonce = [0u8; NONCE_LEN];
    rand::fill(&mut nonce);
    let ct = cipher
        .encrypt(
            &Nonce::from(nonce),
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .map_err(|_| HsmError::InvalidParameters("plaintext too long".into()))?;
    Ok([nonce.as_slice(), &ct].concat())
}

fn aead_open(
    cipher: &Aes256Gcm,
    aad: &[u8],
    blob: &[u8],
) -> Result<Zeroizing<Vec<u8>>, aes_gcm::Error> {
    if blob.len() < NONCE_LEN + 16 {
        return Err(aes_gcm::Error);
    }
    let (nonce, ct) = blob.split_at(NONCE_LEN);
    let mut n = [0u8; NONCE_LEN];
    n.copy_from_slice(nonce);
    cipher
        .decrypt(&Nonce::from(n), Payload { msg: ct, aad })
        .map(Zeroizing::new)
}

fn cipher_for(key: &[u8]) -> Result<Aes256Gcm, HsmError> {
    Aes256Gcm::new_from_slice(key).map_err(|_| HsmError::Corrupt("key length".into()))
}

impl SoftwareHsm {
    /// Opens the software HSM whose sealed master key is (or will be) at `path`. Starts sealed.
    pub fn open(path: &Path) -> Result<Self, HsmError> {
        let sealed = SealedFile::read(path)?;
        Ok(Self {
            path: path.to_owned(),
            sealed,
            master: None,
            pending: Vec::new(),
        })
    }

    fn master(&self) -> Result<&Unsealed, HsmError> {
        match (&self.master, &self.sealed) {
            (Some(m), _) => Ok(m),
            (None, Some(_)) => Err(HsmError::Sealed),
            (None, None) => Err(HsmError::NotInitialized),
        }
    }
}

impl HsmBackend for SoftwareHsm {
    fn seal_status(&self) -> SealStatus {
        SealStatus {
            backend: "software",
            initialized: self.sealed.is_some(),
            sealed: self.master.is_none(),
            threshold: self.sealed.as_ref().map_or(0, |s| s.threshold),
            shares: self.sealed.as_ref().map_or(0, |s| s.shares),
            progress: u8::try_from(self.pending.len()).unwrap_or(u8::MAX),
            master_key_id: self.sealed.as_ref().map(|s| s.master_key_id.clone()),
        }
    }

    fn initialize(&mut self, shares: u8, threshold: u8) -> Result<InitOutput, HsmError> {
        if self.sealed.is_some() {
            return Err(HsmError::AlreadyInitialized);
        }
        let mut id_bytes = [0u8; 8];
        rand::fill(&mut id_bytes);
        let id = MasterKeyId::new(&format!("mk-{}", hex::encode(id_bytes)))
            .map_err(|e| HsmError::Corrupt(e.to_string()))?;
        let master = KeyMaterial::random(32);
        let unseal_key = KeyMaterial::random(32);
        let share_texts = shamir::split(unseal_key.expose(), shares, threshold)?;
        let sealed_master = aead_seal(
            &cipher_for(unseal_key.expose())?,
            &seal_aad(&id),
            master.expose(),
        )?;
        let file = SealedFile {
            format: sealed::FORMAT,
            master_key_id: id.as_str().to_owned(),
            shares,
            threshold,
            sealed_master_key: sealed_master,
        };
        file.write(&self.path)?;
        self.sealed = Some(file);
        // Initialisation leaves the HSM sealed, like a fresh start: custodians unseal it.
        self.master = None;
        self.pending.clear();
        Ok(InitOutput {
            master_key: id,
            shares: share_texts,
        })
    }

    fn submit_share(&mut self, share: &str) -> Result<SealStatus, HsmError> {
        let sealed = self.sealed.as_ref().ok_or(HsmError::NotInitialized)?;
        if self.master.is_some() {
            return Ok(self.seal_status());
        }
        let decoded = shamir::decode(share)?;
        if decoded.len() != 33 {
            return Err(HsmError::InvalidShare("wrong length for this HSM"));
        }
        if self.pending.iter().any(|p| p[0] == decoded[0]) {
            return Err(HsmError::InvalidShare("this share was already submitted"));
        }
        self.pending.push(decoded);
        if self.pending.len() < usize::from(sealed.threshold) {
            return Ok(self.seal_status());
        }
        let shares = std::mem::take(&mut self.pending);
        let unseal_key = shamir::combine(&shares)?;
        let id = MasterKeyId::new(&sealed.master_key_id)
            .map_err(|e| HsmError::Corrupt(e.to_string()))?;
        let master = aead_open(
            &cipher_for(&unseal_key)?,
            &seal_aad(&id),
            &sealed.sealed_master_key,
        )
        .map_err(|_| HsmError::WrongShares)?;
        self.master = Some(Unsealed {
            cipher: cipher_for(&master)?,
            id,
        });
        tracing::info!(master_key = %sealed.master_key_id, "software HSM unsealed");
        Ok(self.seal_status())
    }

    fn reset_unseal(&mut self) {
        self.pending.clear();
    }

    fn seal(&mut self) -> Result<(), HsmError> {
        self.master = None;
        self.pending.clear();
        Ok(())
    }

    fn generate_wrapped(&mut self, context: &WrapContext) -> Result<WrappedKey, HsmError> {
        let material = KeyMaterial::random(context.algorithm.key_len());
        self.wrap(context, &material)
    }

    fn wrap(
        &mut self,
        context: &WrapContext,
        material: &KeyMaterial,
    ) -> Result<WrappedKey, HsmError> {
        let master = self.master()?;
        Ok(WrappedKey {
            master_key: master.id.clone(),
            blob: aead_seal(
                &master.cipher,
                &context.associated_data(),
                material.expose(),
            )?,
        })
    }

    fn unwrap(
        &mut self,
        context: &WrapContext,
        wrapped: &WrappedKey,
    ) -> Result<KeyMaterial, HsmError> {
        let master = self.master()?;
        if wrapped.master_key != master.id {
            return Err(HsmError::UnknownMasterKey(wrapped.master_key.clone()));
        }
        let plain = aead_open(&master.cipher, &context.associated_data(), &wrapped.blob)
            .map_err(|_| HsmError::UnwrapFailed)?;
        Ok(KeyMaterial::from_slice(&plain))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kms_engine::algorithm::Algorithm;
    use kms_engine::ids::{KeyId, KeyVersion};

    fn context(version: u32) -> WrapContext {
        WrapContext {
            key: KeyId::from_bytes([9; 16]),
            version: KeyVersion::new(version).unwrap(),
            algorithm: Algorithm::Aes256Gcm,
        }
    }

    fn initialised(dir: &Path, n: u8, t: u8) -> (SoftwareHsm, Vec<String>) {
        let mut hsm = SoftwareHsm::open(&dir.join("sealed.json")).unwrap();
        let out = hsm.initialize(n, t).unwrap();
        let shares = out.shares.iter().map(|s| s.expose().to_owned()).collect();
        (hsm, shares)
    }

    #[test]
    fn threshold_of_shares_unseals_and_wrapping_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let (mut hsm, shares) = initialised(dir.path(), 5, 3);
        assert!(hsm.seal_status().sealed);
        assert!(matches!(
            hsm.generate_wrapped(&context(1)),
            Err(HsmError::Sealed)
        ));
        assert_eq!(hsm.submit_share(&shares[4]).unwrap().progress, 1);
        assert!(matches!(
            hsm.submit_share(&shares[4]),
            Err(HsmError::InvalidShare(_))
        ));
        assert!(hsm.submit_share(&shares[1]).unwrap().sealed);
        assert!(!hsm.submit_share(&shares[2]).unwrap().sealed);

        let material = KeyMaterial::random(32);
        let wrapped = hsm.wrap(&context(1), &material).unwrap();
        assert_eq!(
            hsm.unwrap(&context(1), &wrapped).unwrap().expose(),
            material.expose()
        );
        // Bound to its key version: the same blob does not unwrap as version 2.
        assert!(matches!(
            hsm.unwrap(&context(2), &wrapped),
            Err(HsmError::UnwrapFailed)
        ));
        // The wrapped form does not contain the material.
        assert!(!wrapped.blob.windows(32).any(|w| w == material.expose()));
    }

    #[test]
    fn a_restart_needs_the_shares_again_and_wrong_shares_fail() {
        let dir = tempfile::tempdir().unwrap();
        let (mut hsm, shares) = initialised(dir.path(), 3, 2);
        for s in &shares[..2] {
            hsm.submit_share(s).unwrap();
        }
        let wrapped = hsm.generate_wrapped(&context(1)).unwrap();
        let material = hsm.unwrap(&context(1), &wrapped).unwrap();

        let mut again = SoftwareHsm::open(&dir.path().join("sealed.json")).unwrap();
        assert!(again.seal_status().initialized && again.seal_status().sealed);
        assert!(matches!(
            again.initialize(3, 2),
            Err(HsmError::AlreadyInitialized)
        ));
        // Shares of another HSM pass their checksums but do not open this one.
        let other = tempfile::tempdir().unwrap();
        let (_, foreign) = initialised(other.path(), 3, 2);
        again.submit_share(&foreign[0]).unwrap();
        assert!(matches!(
            again.submit_share(&foreign[1]),
            Err(HsmError::WrongShares)
        ));
        assert_eq!(again.seal_status().progress, 0);
        again.submit_share(&shares[2]).unwrap();
        again.submit_share(&shares[0]).unwrap();
        assert_eq!(
            again.unwrap(&context(1), &wrapped).unwrap().expose(),
            material.expose()
        );
    }

    #[test]
    fn the_sealed_file_holds_no_master_or_unseal_key_in_clear() {
        let dir = tempfile::tempdir().unwrap();
        let (mut hsm, shares) = initialised(dir.path(), 1, 1);
        hsm.submit_share(&shares[0]).unwrap();
        let file = std::fs::read(dir.path().join("sealed.json")).unwrap();
        let share = shamir::decode(&shares[0]).unwrap();
        let unseal_key = &share[1..];
        assert!(!file.windows(32).any(|w| w == unseal_key));
        let text = String::from_utf8(file).unwrap();
        assert!(!text.contains(&shares[0]));
    }
}
