//! The software HSM, the embedded default.
//!
//! Master keys live in this process's memory only while unsealed. On disk there is only the
//! sealed keyring (`sealed.rs`): the master keys encrypted under a keyring key (KEK), and the KEK
//! encrypted under an unseal key that exists only as Shamir shares held by the custodians.
//! `threshold` shares reconstruct the unseal key, which opens the KEK, which opens the master
//! keys; the unseal key is erased at once.
//!
//! Working keys are wrapped with AES-256-GCM under a master key, bound to their key id, version
//! and algorithm (see [`WrapContext::associated_data`]). Wrapped form: nonce ‖ ciphertext ‖ tag.

mod sealed;
pub mod shamir;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use kms_engine::audit::AuditAnchor;
use kms_engine::ids::MasterKeyId;
use kms_engine::master_key::{Kcv, MasterKeyOrigin};
use kms_engine::secret::{KeyMaterial, SecretString};
use kms_engine::wrap::{WrapContext, WrappedKey};
use zeroize::Zeroizing;

use crate::backend::{
    CreatedMasterKey, HsmBackend, HsmError, HsmStatus, MasterKeyInfo, MasterKeySource, SealStatus,
    Sealing, TokenStatus, check_advance, new_master_key_id, random_material_len,
};
use crate::components;
use sealed::{SealedFile, SealedMasterKey};

const NONCE_LEN: usize = 12;
const LABEL: &str = "software";

struct Unsealed {
    kek: Aes256Gcm,
    keys: HashMap<MasterKeyId, Aes256Gcm>,
}

pub struct SoftwareHsm {
    path: PathBuf,
    file: Option<SealedFile>,
    unsealed: Option<Unsealed>,
    /// Decoded shares submitted towards the next unseal.
    pending: Vec<Zeroizing<Vec<u8>>>,
}

fn kek_aad() -> &'static [u8] {
    b"kms-seal-v1"
}

fn mk_aad(id: &str) -> Vec<u8> {
    [b"kms-mk-v1".as_slice(), id.as_bytes()].concat()
}

const ANCHOR_AAD: &[u8] = b"kms-audit-anchor-v1";

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

fn origin_name(origin: MasterKeyOrigin) -> String {
    origin.name().to_owned()
}

impl SoftwareHsm {
    /// Opens the software HSM whose sealed keyring is (or will be) at `path`. Starts sealed.
    pub fn open(path: &Path) -> Result<Self, HsmError> {
        Ok(Self {
            path: path.to_owned(),
            file: SealedFile::read(path)?,
            unsealed: None,
            pending: Vec::new(),
        })
    }

    fn unsealed(&self) -> Result<&Unsealed, HsmError> {
        match (&self.unsealed, &self.file) {
            (Some(u), _) => Ok(u),
            (None, Some(_)) => Err(HsmError::Sealed),
            (None, None) => Err(HsmError::NotInitialized),
        }
    }

    fn master(&self, id: &MasterKeyId) -> Result<&Aes256Gcm, HsmError> {
        self.unsealed()?
            .keys
            .get(id)
            .ok_or_else(|| HsmError::UnknownMasterKey(id.clone()))
    }

    /// Opens every master key of the file under `kek`.
    fn open_keys(
        file: &SealedFile,
        kek: &Aes256Gcm,
    ) -> Result<HashMap<MasterKeyId, Aes256Gcm>, HsmError> {
        file.master_keys
            .iter()
            .map(|mk| {
                let id = MasterKeyId::new(&mk.id).map_err(|e| HsmError::Corrupt(e.to_string()))?;
                let key = aead_open(
                    kek,
                    &mk_aad(&mk.id),
                    &sealed::decode("master key", &mk.sealed)?,
                )
                .map_err(|_| HsmError::Corrupt(format!("master key {} does not open", mk.id)))?;
                Ok((id, cipher_for(&key)?))
            })
            .collect()
    }

    /// Seals `material` as a new master key into the keyring and keeps it open.
    fn add_key(
        &mut self,
        material: &KeyMaterial,
        origin: MasterKeyOrigin,
    ) -> Result<CreatedMasterKey, HsmError> {
        let id = new_master_key_id();
        let kcv = components::kcv(material)?;
        let unsealed = self.unsealed.as_mut().ok_or(HsmError::Sealed)?;
        let file = self.file.as_mut().ok_or(HsmError::NotInitialized)?;
        let sealed = aead_seal(&unsealed.kek, &mk_aad(id.as_str()), material.expose())?;
        let mut next = file.clone();
        next.master_keys.push(SealedMasterKey {
            id: id.to_string(),
            kcv: kcv.to_string(),
            origin: origin_name(origin),
            sealed: sealed::encode(&sealed),
        });
        next.write(&self.path)?;
        *file = next;
        unsealed
            .keys
            .insert(id.clone(), cipher_for(material.expose())?);
        Ok(CreatedMasterKey {
            id,
            kcv,
            origin,
            tokens: vec![LABEL.into()],
            shares: Vec::new(),
        })
    }

    /// First key: creates the KEK and the unseal key, and splits the unseal key into shares.
    fn initialise(&mut self, sealing: Sealing) -> Result<Vec<SecretString>, HsmError> {
        let kek = KeyMaterial::random(32);
        let unseal_key = KeyMaterial::random(32);
        let shares = shamir::split(unseal_key.expose(), sealing.shares, sealing.threshold)?;
        let file = SealedFile {
            format: sealed::FORMAT,
            shares: sealing.shares,
            threshold: sealing.threshold,
            sealed_kek: sealed::encode(&aead_seal(
                &cipher_for(unseal_key.expose())?,
                kek_aad(),
                kek.expose(),
            )?),
            master_keys: Vec::new(),
            audit_anchor: None,
        };
        file.write(&self.path)?;
        self.file = Some(file);
        self.unsealed = Some(Unsealed {
            kek: cipher_for(kek.expose())?,
            keys: HashMap::new(),
        });
        self.pending.clear();
        Ok(shares)
    }
}

impl SoftwareHsm {
    /// Reconstructs the unseal key from `current` and opens the KEK with it.
    fn open_kek_with(&self, current: &[SecretString]) -> Result<Zeroizing<Vec<u8>>, HsmError> {
        let file = self.file.as_ref().ok_or(HsmError::NotInitialized)?;
        let mut decoded: Vec<Zeroizing<Vec<u8>>> = Vec::new();
        for share in current {
            let d = shamir::decode(share.expose())?;
            if d.len() != 33 {
                return Err(HsmError::InvalidShare("wrong length for this HSM"));
            }
            if decoded.iter().any(|p| p[0] == d[0]) {
                return Err(HsmError::InvalidShare("this share was already submitted"));
            }
            decoded.push(d);
        }
        if decoded.len() < usize::from(file.threshold) {
            return Err(HsmError::WrongShares);
        }
        let unseal_key = shamir::combine(&decoded)?;
        aead_open(
            &cipher_for(&unseal_key)?,
            kek_aad(),
            &sealed::decode("sealed_kek", &file.sealed_kek)?,
        )
        .map_err(|_| HsmError::WrongShares)
    }
}

fn material_of(source: MasterKeySource) -> Result<(KeyMaterial, MasterKeyOrigin), HsmError> {
    Ok(match source {
        MasterKeySource::Generate => (KeyMaterial::random(32), MasterKeyOrigin::Generated),
        MasterKeySource::Components(parts) => {
            (components::combine(&parts)?, MasterKeyOrigin::Components)
        }
    })
}

impl HsmBackend for SoftwareHsm {
    fn seal_status(&self) -> SealStatus {
        SealStatus {
            backend: LABEL,
            initialized: self.file.is_some(),
            sealed: self.unsealed.is_none(),
            threshold: self.file.as_ref().map_or(0, |f| f.threshold),
            shares: self.file.as_ref().map_or(0, |f| f.shares),
            progress: u8::try_from(self.pending.len()).unwrap_or(u8::MAX),
        }
    }

    fn status(&mut self) -> HsmStatus {
        let (healthy, error) = match self.unsealed() {
            Ok(_) => (true, None),
            Err(e) => (false, Some(e.to_string())),
        };
        HsmStatus {
            backend: LABEL,
            tokens: vec![TokenStatus {
                label: LABEL.into(),
                healthy,
                error,
                master_keys: self
                    .file
                    .iter()
                    .flat_map(|f| &f.master_keys)
                    .map(|k| MasterKeyInfo {
                        id: k.id.clone(),
                        kcv: k.kcv.clone(),
                    })
                    .collect(),
            }],
        }
    }

    fn submit_share(&mut self, share: &str) -> Result<SealStatus, HsmError> {
        let file = self.file.as_ref().ok_or(HsmError::NotInitialized)?;
        if self.unsealed.is_some() {
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
        if self.pending.len() < usize::from(file.threshold) {
            return Ok(self.seal_status());
        }
        let shares = std::mem::take(&mut self.pending);
        let unseal_key = shamir::combine(&shares)?;
        let kek = aead_open(
            &cipher_for(&unseal_key)?,
            kek_aad(),
            &sealed::decode("sealed_kek", &file.sealed_kek)?,
        )
        .map_err(|_| HsmError::WrongShares)?;
        let kek = cipher_for(&kek)?;
        let keys = Self::open_keys(file, &kek)?;
        tracing::info!(master_keys = keys.len(), "software HSM unsealed");
        self.unsealed = Some(Unsealed { kek, keys });
        Ok(self.seal_status())
    }

    fn reset_unseal(&mut self) {
        self.pending.clear();
    }

    fn rekey(
        &mut self,
        current: &[SecretString],
        sealing: Sealing,
    ) -> Result<Vec<SecretString>, HsmError> {
        let kek = self.open_kek_with(current)?;
        let unseal_key = KeyMaterial::random(32);
        let shares = shamir::split(unseal_key.expose(), sealing.shares, sealing.threshold)?;
        let file = self.file.as_mut().ok_or(HsmError::NotInitialized)?;
        let mut next = file.clone();
        next.shares = sealing.shares;
        next.threshold = sealing.threshold;
        next.sealed_kek = sealed::encode(&aead_seal(
            &cipher_for(unseal_key.expose())?,
            kek_aad(),
            &kek,
        )?);
        // Atomic: a crash leaves the old seal (old shares) or the new one (new shares).
        next.write(&self.path)?;
        *file = next;
        self.pending.clear();
        tracing::info!(
            shares = sealing.shares,
            threshold = sealing.threshold,
            "software HSM rekeyed"
        );
        Ok(shares)
    }

    fn check_shares(&mut self, current: &[SecretString]) -> Result<(), HsmError> {
        self.open_kek_with(current).map(drop)
    }

    fn create_master_key(
        &mut self,
        source: MasterKeySource,
        sealing: Option<Sealing>,
    ) -> Result<CreatedMasterKey, HsmError> {
        let (material, origin) = material_of(source)?;
        let shares = match (sealing, &self.file) {
            (Some(sealing), None) => self.initialise(sealing)?,
            (Some(_), Some(_)) => return Err(HsmError::AlreadyInitialized),
            (None, None) => {
                return Err(HsmError::InvalidParameters(
                    "the software HSM's first master key needs shares and a threshold".into(),
                ));
            }
            (None, Some(_)) => Vec::new(),
        };
        let mut created = self.add_key(&material, origin)?;
        created.shares = shares;
        Ok(created)
    }

    fn load_master_key(
        &mut self,
        id: &MasterKeyId,
        expected: &Kcv,
        parts: Vec<KeyMaterial>,
    ) -> Result<Vec<String>, HsmError> {
        // One keyring, so there is no other token to load into; the components are still
        // checked, so a ceremony run here proves the custodians hold the right ones.
        let got = components::kcv(&components::combine(&parts)?)?;
        if &got != expected {
            return Err(HsmError::KcvMismatch {
                expected: expected.clone(),
                got,
            });
        }
        self.master(id)?;
        Ok(Vec::new())
    }

    fn destroy_master_key(&mut self, id: &MasterKeyId) -> Result<(), HsmError> {
        let unsealed = self.unsealed.as_mut().ok_or(HsmError::Sealed)?;
        let file = self.file.as_mut().ok_or(HsmError::NotInitialized)?;
        let mut next = file.clone();
        next.master_keys.retain(|k| k.id != id.as_str());
        next.write(&self.path)?;
        *file = next;
        unsealed.keys.remove(id);
        Ok(())
    }

    fn generate_wrapped(
        &mut self,
        context: &WrapContext,
        under: &MasterKeyId,
    ) -> Result<WrappedKey, HsmError> {
        let material = KeyMaterial::random(random_material_len(context)?);
        self.wrap(context, &material, under)
    }

    fn wrap(
        &mut self,
        context: &WrapContext,
        material: &KeyMaterial,
        under: &MasterKeyId,
    ) -> Result<WrappedKey, HsmError> {
        let master = self.master(under)?;
        Ok(WrappedKey {
            master_key: under.clone(),
            blob: aead_seal(master, &context.associated_data(), material.expose())?,
        })
    }

    fn unwrap(
        &mut self,
        context: &WrapContext,
        wrapped: &WrappedKey,
    ) -> Result<KeyMaterial, HsmError> {
        let master = self.master(&wrapped.master_key)?;
        let plain = aead_open(master, &context.associated_data(), &wrapped.blob)
            .map_err(|_| HsmError::UnwrapFailed)?;
        Ok(KeyMaterial::from_slice(&plain))
    }

    fn audit_anchor(&mut self) -> Result<Option<AuditAnchor>, HsmError> {
        let unsealed = self.unsealed()?;
        let Some(sealed) = self.file.as_ref().and_then(|f| f.audit_anchor.as_deref()) else {
            return Ok(None);
        };
        let bytes = aead_open(
            &unsealed.kek,
            ANCHOR_AAD,
            &sealed::decode("audit_anchor", sealed)?,
        )
        .map_err(|_| HsmError::Corrupt("the audit counter does not open".into()))?;
        AuditAnchor::from_bytes(&bytes)
            .map(Some)
            .ok_or_else(|| HsmError::Corrupt("the audit counter has the wrong length".into()))
    }

    fn advance_audit_anchor(&mut self, next: &AuditAnchor) -> Result<(), HsmError> {
        check_advance(self.audit_anchor()?.as_ref(), next)?;
        let unsealed = self.unsealed.as_ref().ok_or(HsmError::Sealed)?;
        let file = self.file.as_mut().ok_or(HsmError::NotInitialized)?;
        let mut updated = file.clone();
        updated.audit_anchor = Some(sealed::encode(&aead_seal(
            &unsealed.kek,
            ANCHOR_AAD,
            &next.to_bytes(),
        )?));
        updated.write(&self.path)?;
        *file = updated;
        Ok(())
    }
}
