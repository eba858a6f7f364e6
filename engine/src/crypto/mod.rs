//! Prepared keys: a working-key version turned into ready-to-use cryptographic objects. Built once
//! per version in a crypto worker and cached there; the key state is erased when dropped (the
//! crates' `zeroize` features).
//!
//! Every output that names a key version has the text form `kms:NNNNN:<base64>`: ciphertexts,
//! signatures and MACs. See docs/ciphertext.md.

pub mod aead;
mod ecdsa;
mod ed25519;
pub mod export;
pub mod hash;
pub mod import;
pub mod mac;
pub mod password;
mod rsa;
pub mod sm2;
pub mod transit_export;

#[cfg(test)]
mod kat;

use crate::algorithm::{Algorithm, Family};
use crate::ciphertext::{self, Parsed};
use crate::error::EngineError;
use crate::ids::{KeyId, KeyVersion};
use crate::keyring::{KeySettings, Purpose};
use crate::secret::{KeyMaterial, PlaintextBuf};

pub use aead::AeadKey;
pub use hash::HashAlgorithm;
pub use rsa::SignScheme;

pub enum PreparedKey {
    Aead(AeadKey),
    /// A password key: only the password operations use it (docs/passwords.md).
    Password(password::PasswordKey),
    Mac(mac::MacKey),
    Rsa(rsa::RsaKey),
    Ecdsa(ecdsa::EcdsaKey),
    Ed25519(ed25519::Ed25519Key),
    Sm2(sm2::Sm2Key),
}

/// A new key pair's secret material for an asymmetric algorithm (symmetric keys come from the
/// HSM's generator instead).
pub fn generate_key_pair(algorithm: Algorithm) -> Result<KeyMaterial, EngineError> {
    match algorithm.family() {
        Family::Rsa => rsa::generate(algorithm.rsa_bits().unwrap_or(3072)),
        Family::Ecdsa => ecdsa::generate(algorithm),
        Family::Ed25519 => Ok(ed25519::generate()),
        Family::Sm2 => Ok(sm2::generate()),
        Family::Aead | Family::Mac => Err(EngineError::InvalidArgument(
            "symmetric keys are generated inside the HSM".into(),
        )),
    }
}

fn unsupported<T>(op: &'static str) -> Result<T, EngineError> {
    Err(EngineError::OperationNotSupported(op))
}

impl PreparedKey {
    pub fn new(
        algorithm: Algorithm,
        deterministic: bool,
        material: &KeyMaterial,
    ) -> Result<Self, EngineError> {
        Ok(match algorithm.family() {
            Family::Aead => PreparedKey::Aead(AeadKey::new(algorithm, deterministic, material)?),
            Family::Mac => PreparedKey::Mac(mac::MacKey::new(algorithm, material)?),
            Family::Rsa => PreparedKey::Rsa(rsa::RsaKey::new(material)?),
            Family::Ecdsa => PreparedKey::Ecdsa(ecdsa::EcdsaKey::new(algorithm, material)?),
            Family::Ed25519 => PreparedKey::Ed25519(ed25519::Ed25519Key::new(material)?),
            Family::Sm2 => PreparedKey::Sm2(sm2::Sm2Key::new(material)?),
        })
    }

    /// As [`PreparedKey::new`], for a key of any purpose.
    pub fn for_purpose(
        algorithm: Algorithm,
        settings: &KeySettings,
        material: &KeyMaterial,
    ) -> Result<Self, EngineError> {
        match settings.purpose {
            Purpose::Password(protection) => Ok(PreparedKey::Password(password::PasswordKey::new(
                protection, material,
            )?)),
            Purpose::General => Self::new(algorithm, settings.deterministic, material),
        }
    }

    /// The password key, for the password operations.
    pub fn password(&self) -> Result<&password::PasswordKey, EngineError> {
        match self {
            PreparedKey::Password(k) => Ok(k),
            _ => Err(EngineError::NotAPasswordKey),
        }
    }

    /// Encrypts under `version`; returns `kms:NNNNN:...`.
    pub fn encrypt(
        &self,
        key: &KeyId,
        version: KeyVersion,
        context: &[u8],
        plaintext: &[u8],
    ) -> Result<String, EngineError> {
        let header = ciphertext::header(version);
        let aad = ciphertext::associated_data(&header, key, context);
        let body = match self {
            PreparedKey::Aead(k) => k.seal(&aad, plaintext)?,
            PreparedKey::Rsa(k) => k.encrypt(&aad, plaintext)?,
            PreparedKey::Sm2(k) => k.encrypt(context, plaintext)?,
            _ => return unsupported("encrypt"),
        };
        Ok(ciphertext::format(version, &body))
    }

    /// Opens a parsed ciphertext. Every authentication failure is the same `DecryptionFailed`.
    pub fn decrypt(
        &self,
        key: &KeyId,
        parsed: Parsed,
        context: &[u8],
    ) -> Result<PlaintextBuf, EngineError> {
        let aad = ciphertext::associated_data(&parsed.header, key, context);
        match self {
            PreparedKey::Aead(k) => k.open(&aad, parsed.body),
            PreparedKey::Rsa(k) => k.decrypt(&aad, &parsed.body),
            PreparedKey::Sm2(k) => k.decrypt(context, &parsed.body),
            _ => unsupported("decrypt"),
        }
    }

    pub fn sign(
        &self,
        version: KeyVersion,
        input: &[u8],
        prehashed: bool,
        scheme: Option<SignScheme>,
    ) -> Result<String, EngineError> {
        self.sign_with(version, input, prehashed, scheme, None)
    }

    /// As [`PreparedKey::sign`], with the digest `hash` (SHA-256 when `None`) for RSA and ECDSA;
    /// Ed25519 signs the message itself and SM2 hashes with SM3, whatever is asked.
    pub fn sign_with(
        &self,
        version: KeyVersion,
        input: &[u8],
        prehashed: bool,
        scheme: Option<SignScheme>,
        hash: Option<HashAlgorithm>,
    ) -> Result<String, EngineError> {
        let h = hash.unwrap_or(HashAlgorithm::Sha2_256);
        let raw = match (self, scheme) {
            (PreparedKey::Rsa(k), s) => {
                k.sign(input, prehashed, s.unwrap_or(SignScheme::Pss), h)?
            }
            (_, Some(_)) if self.signs() => {
                return Err(EngineError::InvalidSignatureInput(
                    "`scheme` applies to RSA keys only",
                ));
            }
            (PreparedKey::Ecdsa(k), None) => k.sign(input, prehashed, h)?,
            (PreparedKey::Ed25519(k), None) => k.sign(input, prehashed)?,
            (PreparedKey::Sm2(k), None) => k.sign(input, prehashed)?,
            _ => return unsupported("sign"),
        };
        Ok(ciphertext::format(version, &raw))
    }

    /// Whether `signature` (the decoded bytes of a `kms:NNNNN:` signature) is valid for `input`.
    /// A well-formed request with a wrong signature is `Ok(false)`, not an error.
    pub fn verify(
        &self,
        input: &[u8],
        prehashed: bool,
        scheme: Option<SignScheme>,
        signature: &[u8],
    ) -> Result<bool, EngineError> {
        self.verify_with(input, prehashed, scheme, None, signature)
    }

    /// As [`PreparedKey::verify`], with the digest `hash` (see [`PreparedKey::sign_with`]).
    pub fn verify_with(
        &self,
        input: &[u8],
        prehashed: bool,
        scheme: Option<SignScheme>,
        hash: Option<HashAlgorithm>,
        signature: &[u8],
    ) -> Result<bool, EngineError> {
        let h = hash.unwrap_or(HashAlgorithm::Sha2_256);
        match (self, scheme) {
            (PreparedKey::Rsa(k), s) => {
                k.verify(input, prehashed, s.unwrap_or(SignScheme::Pss), h, signature)
            }
            (_, Some(_)) if self.signs() => Err(EngineError::InvalidSignatureInput(
                "`scheme` applies to RSA keys only",
            )),
            (PreparedKey::Ecdsa(k), None) => k.verify(input, prehashed, h, signature),
            (PreparedKey::Ed25519(k), None) => k.verify(input, prehashed, signature),
            (PreparedKey::Sm2(k), None) => k.verify(input, prehashed, signature),
            _ => unsupported("verify"),
        }
    }

    fn signs(&self) -> bool {
        matches!(
            self,
            PreparedKey::Rsa(_)
                | PreparedKey::Ecdsa(_)
                | PreparedKey::Ed25519(_)
                | PreparedKey::Sm2(_)
        )
    }

    pub fn mac(&self, version: KeyVersion, input: &[u8]) -> Result<String, EngineError> {
        match self {
            PreparedKey::Mac(k) => Ok(ciphertext::format(version, &k.tag(input))),
            _ => unsupported("hmac"),
        }
    }

    pub fn mac_verify(&self, input: &[u8], tag: &[u8]) -> Result<bool, EngineError> {
        match self {
            PreparedKey::Mac(k) => Ok(k.verify(input, tag)),
            _ => unsupported("hmac"),
        }
    }

    /// The public key, SPKI PEM.
    pub fn public_key_pem(&self) -> Result<String, EngineError> {
        match self {
            PreparedKey::Rsa(k) => k.public_key_pem(),
            PreparedKey::Password(k) => k.rsa().public_key_pem(),
            PreparedKey::Ecdsa(k) => k.public_key_pem(),
            PreparedKey::Ed25519(k) => k.public_key_pem(),
            PreparedKey::Sm2(k) => k.public_key_pem(),
            _ => unsupported("public-key"),
        }
    }
}
