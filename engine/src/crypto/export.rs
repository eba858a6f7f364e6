//! Key material leaving the KMS, for a key created exportable and an export a quorum approved:
//! wrapped to the requester's RSA public key (at least 2048 bits) as
//! `wrapped_key = RSA-OAEP-SHA256(K)` and `ciphertext = nonce ‖ AES-256-GCM_K(material, aad)`
//! with a fresh 256-bit `K`, so material of any length (a PKCS#8 private key too) fits.

use rsa::pkcs8::DecodePublicKey;
use rsa::sha2::Sha256;
use rsa::traits::PublicKeyParts;
use rsa::{Oaep, PublicKey};

use super::aead::AeadKey;
use crate::algorithm::Algorithm;
use crate::error::EngineError;
use crate::secret::KeyMaterial;

pub struct Exported {
    pub wrapped_key: Vec<u8>,
    pub ciphertext: Vec<u8>,
}

pub const MIN_BITS: usize = 2048;

pub fn wrap_for(
    public_pem: &str,
    aad: &[u8],
    material: &KeyMaterial,
) -> Result<Exported, EngineError> {
    let public = PublicKey::from_public_key_pem(public_pem.trim()).map_err(|_| {
        EngineError::InvalidArgument("`public_key` must be an RSA public key in PEM (SPKI)".into())
    })?;
    if public.size() * 8 < MIN_BITS {
        return Err(EngineError::InvalidArgument(format!(
            "`public_key` must have at least {MIN_BITS} bits"
        )));
    }
    let transport = KeyMaterial::random(32);
    let wrapped_key = public
        .encrypt(&mut rand::rng(), Oaep::<Sha256>::new(), transport.expose())
        .map_err(|e| EngineError::InvalidArgument(format!("RSA-OAEP: {e}")))?;
    let ciphertext =
        AeadKey::new(Algorithm::Aes256Gcm, false, &transport)?.seal(aad, material.expose())?;
    Ok(Exported {
        wrapped_key,
        ciphertext,
    })
}

/// The SHA-256 fingerprint (hex) of an RSA public key's SPKI encoding, as
/// `openssl pkey -pubin -outform DER | sha256sum` prints it: what an approver compares with the
/// requester's key before an export runs.
pub fn public_key_fingerprint(public_pem: &str) -> Result<String, EngineError> {
    use rsa::pkcs8::EncodePublicKey;
    use rsa::sha2::Digest;
    let public = PublicKey::from_public_key_pem(public_pem.trim()).map_err(|_| {
        EngineError::InvalidArgument("`public_key` must be an RSA public key in PEM (SPKI)".into())
    })?;
    let der = public
        .to_public_key_der()
        .map_err(|e| EngineError::InvalidArgument(format!("SPKI: {e}")))?;
    Ok(hex::encode(Sha256::digest(der.as_bytes())))
}
