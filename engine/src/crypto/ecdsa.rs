//! ECDSA over P-256, P-384 and P-521, deterministic nonces (RFC 6979), ASN.1 DER signatures. The
//! stored material is the secret scalar (32, 48 or 66 bytes). The digest is SHA-256 unless the
//! caller names another hash; a digest shorter than the curve's field is read as the same
//! integer (left-padded), a longer one is truncated, as FIPS 186 and other implementations do.

use p256::ecdsa::signature::hazmat::{PrehashSigner, PrehashVerifier};
use p256::elliptic_curve::Generate;
use p256::pkcs8::{EncodePublicKey, LineEnding};

use super::hash::HashAlgorithm;
use crate::algorithm::Algorithm;
use crate::error::EngineError;
use crate::secret::KeyMaterial;

pub enum EcdsaKey {
    P256(Box<p256::ecdsa::SigningKey>),
    P384(Box<p384::ecdsa::SigningKey>),
    P521(Box<p521::ecdsa::SigningKey>),
}

/// Runs `$body` with `$k` bound to the signing key and `$m` to its curve's module.
macro_rules! with_curve {
    ($key:expr, $k:ident, $m:ident => $body:expr) => {
        match $key {
            EcdsaKey::P256($k) => {
                use p256 as $m;
                $body
            }
            EcdsaKey::P384($k) => {
                use p384 as $m;
                $body
            }
            EcdsaKey::P521($k) => {
                use p521 as $m;
                $body
            }
        }
    };
}

pub fn generate(algorithm: Algorithm) -> Result<KeyMaterial, EngineError> {
    Ok(match algorithm {
        Algorithm::EcdsaP256 => KeyMaterial::from_slice(
            &p256::ecdsa::SigningKey::generate_from_rng(&mut rand::rng()).to_bytes(),
        ),
        Algorithm::EcdsaP384 => KeyMaterial::from_slice(
            &p384::ecdsa::SigningKey::generate_from_rng(&mut rand::rng()).to_bytes(),
        ),
        Algorithm::EcdsaP521 => KeyMaterial::from_slice(
            &p521::ecdsa::SigningKey::generate_from_rng(&mut rand::rng()).to_bytes(),
        ),
        _ => return Err(EngineError::KeyMaterialCorrupt),
    })
}

/// The prehash to sign: the digest left-padded to `field` bytes when shorter.
fn prehash(
    hash: HashAlgorithm,
    input: &[u8],
    prehashed: bool,
    field: usize,
) -> Result<Vec<u8>, EngineError> {
    let digest = hash.prehash(input, prehashed)?;
    if digest.len() >= field {
        return Ok(digest);
    }
    let mut padded = vec![0u8; field - digest.len()];
    padded.extend_from_slice(&digest);
    Ok(padded)
}

impl EcdsaKey {
    pub fn new(algorithm: Algorithm, material: &KeyMaterial) -> Result<Self, EngineError> {
        let bad = |_| EngineError::KeyMaterialCorrupt;
        let m = material.expose();
        Ok(match algorithm {
            Algorithm::EcdsaP256 => EcdsaKey::P256(Box::new(
                p256::ecdsa::SigningKey::from_slice(m).map_err(bad)?,
            )),
            Algorithm::EcdsaP384 => EcdsaKey::P384(Box::new(
                p384::ecdsa::SigningKey::from_slice(m).map_err(bad)?,
            )),
            Algorithm::EcdsaP521 => EcdsaKey::P521(Box::new(
                p521::ecdsa::SigningKey::from_slice(m).map_err(bad)?,
            )),
            _ => return Err(EngineError::KeyMaterialCorrupt),
        })
    }

    /// Bytes of the curve's field (and of each of `r` and `s`).
    pub fn field_len(&self) -> usize {
        match self {
            EcdsaKey::P256(_) => 32,
            EcdsaKey::P384(_) => 48,
            EcdsaKey::P521(_) => 66,
        }
    }

    pub fn sign(
        &self,
        input: &[u8],
        prehashed: bool,
        hash: HashAlgorithm,
    ) -> Result<Vec<u8>, EngineError> {
        let digest = prehash(hash, input, prehashed, self.field_len())?;
        with_curve!(self, k, m => {
            let sig: m::ecdsa::Signature = k
                .sign_prehash(&digest)
                .map_err(|_| EngineError::InvalidSignatureInput("the digest cannot be signed"))?;
            Ok(sig.to_der().as_bytes().to_vec())
        })
    }

    pub fn verify(
        &self,
        input: &[u8],
        prehashed: bool,
        hash: HashAlgorithm,
        signature: &[u8],
    ) -> Result<bool, EngineError> {
        let digest = prehash(hash, input, prehashed, self.field_len())?;
        with_curve!(self, k, m => {
            let Ok(sig) = m::ecdsa::Signature::from_der(signature) else {
                return Ok(false);
            };
            Ok(k.verifying_key().verify_prehash(&digest, &sig).is_ok())
        })
    }

    pub fn public_key_pem(&self) -> Result<String, EngineError> {
        match self {
            EcdsaKey::P256(k) => k.verifying_key().to_public_key_pem(LineEnding::LF),
            EcdsaKey::P384(k) => k.verifying_key().to_public_key_pem(LineEnding::LF),
            EcdsaKey::P521(k) => k.verifying_key().to_public_key_pem(LineEnding::LF),
        }
        .map_err(|_| EngineError::KeyMaterialCorrupt)
    }
}
