//! Ed25519 (RFC 8032), pure: it signs the message itself, so prehashed input is refused. The
//! stored material is the 32-byte seed. Verification is strict (no malleable signatures).

use ed25519_dalek::pkcs8::EncodePublicKey;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::{Signature, Signer, SigningKey};

use crate::error::EngineError;
use crate::secret::KeyMaterial;

pub struct Ed25519Key(Box<SigningKey>);

pub fn generate() -> KeyMaterial {
    KeyMaterial::random(32)
}

fn refuse_prehash(prehashed: bool) -> Result<(), EngineError> {
    if prehashed {
        Err(EngineError::InvalidSignatureInput(
            "ed25519 signs the message itself; prehashed input is not supported",
        ))
    } else {
        Ok(())
    }
}

impl Ed25519Key {
    pub fn new(material: &KeyMaterial) -> Result<Self, EngineError> {
        let seed =
            <[u8; 32]>::try_from(material.expose()).map_err(|_| EngineError::KeyMaterialCorrupt)?;
        Ok(Self(Box::new(SigningKey::from_bytes(&seed))))
    }

    pub fn sign(&self, input: &[u8], prehashed: bool) -> Result<Vec<u8>, EngineError> {
        refuse_prehash(prehashed)?;
        Ok(self.0.sign(input).to_bytes().to_vec())
    }

    pub fn verify(
        &self,
        input: &[u8],
        prehashed: bool,
        signature: &[u8],
    ) -> Result<bool, EngineError> {
        refuse_prehash(prehashed)?;
        let Ok(sig) = Signature::from_slice(signature) else {
            return Ok(false);
        };
        Ok(self.0.verifying_key().verify_strict(input, &sig).is_ok())
    }

    pub fn public_key_pem(&self) -> Result<String, EngineError> {
        self.0
            .verifying_key()
            .to_public_key_pem(LineEnding::LF)
            .map_err(|_| EngineError::KeyMaterialCorrupt)
    }
}
