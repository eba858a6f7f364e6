//! Vault Transit's derived keys and per-version HMAC keys, inside the crypto worker: the only
//! place where a version's material exists in plaintext, so the keys derived from it live here
//! too, for the length of one item.

use crate::algorithm::MaterialKind;
use crate::crypto::AeadKey;
use crate::crypto::hash::hkdf_sha256;
use crate::error::EngineError;
use crate::keyring::KeyEntry;
use crate::pool::work::Params;
use crate::secret::KeyMaterial;
/// HKDF info prefix of a derived key; the caller's derivation context follows.
const DERIVE_INFO: &[u8] = b"kms-transit-derive-v1\0";

/// For a derived key, the AEAD key of `params`' derivation context under this version
/// (convergent if the key is); `None` for a key that is not derived.
pub(super) fn derived(
    key: &KeyEntry,
    root: Option<&KeyMaterial>,
    params: &Params,
) -> Result<Option<AeadKey>, EngineError> {
    if !key.settings.derived {
        return Ok(None);
    }
    let context = params
        .derivation
        .as_deref()
        .filter(|c| !c.is_empty())
        .ok_or_else(|| {
            EngineError::InvalidArgument(
                "missing `context` for key derivation: the key was created `derived`, so every \
                 request needs its context"
                    .into(),
            )
        })?;
    let (Some(root), MaterialKind::Random(len)) = (root, key.algorithm.material()) else {
        return Err(EngineError::OperationNotSupported("derivation"));
    };
    let info = [DERIVE_INFO, context].concat();
    let material = hkdf_sha256(root.expose(), &info, len);
    let aead = if key.settings.convergent {
        AeadKey::convergent(key.algorithm, &material)?
    } else {
        AeadKey::new(key.algorithm, false, &material)?
    };
    Ok(Some(aead))
}
