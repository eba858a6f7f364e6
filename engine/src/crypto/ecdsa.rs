//! ECDSA over P-256 with SHA-256, deterministic nonces (RFC 6979), ASN.1 DER signatures. The
//! stored material is the 32-byte secret scalar.

use p256::ecdsa::signature::hazmat::{PrehashSigner, PrehashVerifier};
use p256::ecdsa::{DerSignature, Signature, SigningKey};
use p256::elliptic_curve::Generate;
use p256::pkcs8::{EncodePublicKey, LineEnding};
use sha2::{Digest, Sha256};

use crate::error::EngineError;
use crate::secret::KeyMaterial;

pub struct EcdsaKey(Box<SigningKey>);

pub fn generate() -> KeyMaterial {
    let key = SigningKey::generate_from_rng(&mut rand::rng());
    KeyMaterial::from_slice(&key.to_bytes())
}

fn digest(input: &[u8], prehashed: bool) -> Result<[u8; 32], EngineError> {
    if prehashed {
        <[u8; 32]>::try_from(input).map_err(|_| {
            EngineError::InvalidSignatureInput("a prehashed input is a 32-byte SHA-256 digest")
        })
    } else {
        Ok(Sha256::digest(input).into())
    }
}

impl EcdsaKey {
    pub fn new(material: &KeyMaterial) -> Result<Self, EngineError> {
        SigningKey::from_slice(material.expose())
            .map(|k| Self(Box::new(k)))
            .map_err(|_| EngineError::KeyMaterialCorrupt)
    }

    pub fn sign(&self, input: &[u8], prehashed: bool) -> Result<Vec<u8>, EngineError> {
        let sig: DerSignature = self
            .0
            .sign_prehash(&digest(input, prehashed)?)
            .map_err(|_| EngineError::KeyMaterialCorrupt)?;
        Ok(sig.as_bytes().to_vec())
    }

    pub fn verify(
        &self,
        input: &[u8],
        prehashed: bool,
        signature: &[u8],
    ) -> Result<bool, EngineError> {
        let digest = digest(input, prehashed)?;
        let Ok(sig) = Signature::from_der(signature) else {
            return Ok(false);
        };
        Ok(self.0.verifying_key().verify_prehash(&digest, &sig).is_ok())
    }

    pub fn public_key_pem(&self) -> Result<String, EngineError> {
        self.0
            .verifying_key()
            .to_public_key_pem(LineEnding::LF)
            .map_err(|_| EngineError::KeyMaterialCorrupt)
    }
}
