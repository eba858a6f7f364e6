//! RSA: OAEP (SHA-256, MGF1-SHA-256) encryption with the ciphertext's associated data as the OAEP
//! label, so an RSA ciphertext is bound to its header, key and context like an AEAD one; PSS
//! (salt as long as the digest) and PKCS#1 v1.5 signatures, SHA-256 unless the caller names
//! another hash. The stored material is the private key in PKCS#8 DER.
//!
//! Side channels (RUSTSEC-2023-0071, the Marvin attack; docs/security.md): every private-key
//! operation here, in `zone.rs` and in `import.rs` passes a fresh CSPRNG so the `rsa` crate blinds
//! base, exponent and modulus, on top of its constant-time (crypto-bigint) arithmetic since 0.10;
//! there is no PKCS#1 v1.5 decryption anywhere (OAEP only), and every failure to decrypt is the
//! one `DecryptionFailed`, whatever went wrong.

use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey, LineEnding};
use rsa::sha2::Sha256;
use rsa::traits::PublicKeyParts;
use rsa::{Oaep, PrivateKey};

use super::hash::{HashAlgorithm, with_hash};
use crate::error::EngineError;
use crate::secret::{KeyMaterial, PlaintextBuf};

/// RSA signature padding; the other algorithms have one scheme each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignScheme {
    /// RSASSA-PSS, SHA-256, MGF1-SHA-256, 32-byte salt. The default for RSA.
    Pss,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    Pkcs1v15,
}

impl SignScheme {
    pub fn parse(name: &str) -> Result<Self, EngineError> {
        match name {
            "pss" => Ok(SignScheme::Pss),
            "pkcs1v15" => Ok(SignScheme::Pkcs1v15),
            _ => Err(EngineError::InvalidSignatureInput(
                "`scheme` is `pss` or `pkcs1v15`",
            )),
        }
    }
}

pub struct RsaKey {
    key: Box<PrivateKey>,
}

/// SHA-256 output and the OAEP overhead (2 hashes + 2 bytes).
const DIGEST: usize = 32;

pub fn generate(bits: usize) -> Result<KeyMaterial, EngineError> {
    let key = PrivateKey::new(&mut rand::rng(), bits)
        .map_err(|e| EngineError::InvalidArgument(format!("RSA key generation failed: {e}")))?;
    let der = key
        .to_pkcs8_der()
        .map_err(|_| EngineError::KeyMaterialCorrupt)?;
    Ok(KeyMaterial::from_slice(der.as_bytes()))
}

impl RsaKey {
    pub fn new(material: &KeyMaterial) -> Result<Self, EngineError> {
        let key = PrivateKey::from_pkcs8_der(material.expose())
            .map_err(|_| EngineError::KeyMaterialCorrupt)?;
        Ok(Self { key: Box::new(key) })
    }

    /// The modulus size in bytes: every OAEP ciphertext under this key has exactly this length.
    pub fn modulus_len(&self) -> usize {
        self.key.size()
    }

    /// The largest plaintext OAEP-SHA256 takes with this modulus.
    pub fn max_plaintext(&self) -> usize {
        self.key.size() - 2 * DIGEST - 2
    }

    pub fn encrypt(&self, label: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, EngineError> {
        if plaintext.len() > self.max_plaintext() {
            return Err(EngineError::PlaintextTooLarge(self.max_plaintext()));
        }
        self.key
            .to_public_key()
            .encrypt(
                &mut rand::rng(),
                Oaep::<Sha256>::new_with_label(label),
                plaintext,
            )
            .map_err(|_| EngineError::PlaintextTooLarge(self.max_plaintext()))
    }

    pub fn decrypt(&self, label: &[u8], ciphertext: &[u8]) -> Result<PlaintextBuf, EngineError> {
        self.key
            .decrypt_blinded(
                &mut rand::rng(),
                Oaep::<Sha256>::new_with_label(label),
                ciphertext,
            )
            .map(PlaintextBuf::new)
            .map_err(|_| EngineError::DecryptionFailed)
    }

    pub fn sign(
        &self,
        input: &[u8],
        prehashed: bool,
        scheme: SignScheme,
        hash: HashAlgorithm,
    ) -> Result<Vec<u8>, EngineError> {
        let digest = hash.prehash(input, prehashed)?;
        let signed = with_hash!(hash, H => match scheme {
            SignScheme::Pss => self
                .key
                .pss_sign_prehash_with_rng::<H, _>(&mut rand::rng(), &digest),
            SignScheme::Pkcs1v15 => self
                .key
                .pkcs1v15_sign_prehash_with_rng::<H, _>(&mut rand::rng(), &digest),
        });
        signed.map_err(|_| EngineError::KeyMaterialCorrupt)
    }

    pub fn verify(
        &self,
        input: &[u8],
        prehashed: bool,
        scheme: SignScheme,
        hash: HashAlgorithm,
        signature: &[u8],
    ) -> Result<bool, EngineError> {
        let digest = hash.prehash(input, prehashed)?;
        let public = self.key.to_public_key();
        Ok(with_hash!(hash, H => match scheme {
            SignScheme::Pss => public.pss_verify_prehash::<H>(&digest, signature).is_ok(),
            SignScheme::Pkcs1v15 => public
                .pkcs1v15_verify_prehash::<H>(&digest, signature)
                .is_ok(),
        }))
    }

    pub fn public_key_pem(&self) -> Result<String, EngineError> {
        self.key
            .to_public_key()
            .to_public_key_pem(LineEnding::LF)
            .map_err(|_| EngineError::KeyMaterialCorrupt)
    }
}
