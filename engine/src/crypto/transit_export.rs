//! Vault Transit's `export/{type}/{name}`: a version's material in the form Vault hands it out
//! (`encryption-key`: symmetric keys as base64 of the raw key, RSA keys as a PKCS#1 PEM;
//! `signing-key`: ECDSA as a SEC1 PEM, Ed25519 as base64 of the 64-byte private key (seed ‖
//! public key), RSA as a PKCS#1 PEM; `hmac-key`: base64 of the version's Transit HMAC key). Only
//! an approved export reaches this (control/src/keys/transit_export.rs).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use p256::pkcs8::LineEnding;
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::pkcs8::DecodePrivateKey;

use super::hash::transit_hmac_key;
use crate::algorithm::{Algorithm, Family};
use crate::error::EngineError;
use crate::secret::{KeyMaterial, SecretString};

/// What an export hands out (the path's `type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportKind {
    Encryption,
    Signing,
    Hmac,
}

impl ExportKind {
    /// `encryption-key`, `signing-key` or `hmac-key` (`public-key` is not secret and is served
    /// without approval).
    pub fn parse(name: &str) -> Result<Self, EngineError> {
        match name {
            "encryption-key" => Ok(ExportKind::Encryption),
            "signing-key" => Ok(ExportKind::Signing),
            "hmac-key" => Ok(ExportKind::Hmac),
            other => Err(EngineError::InvalidArgument(format!(
                "invalid export type `{other}`"
            ))),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ExportKind::Encryption => "encryption-key",
            ExportKind::Signing => "signing-key",
            ExportKind::Hmac => "hmac-key",
        }
    }

    /// Whether a key of `algorithm` has this kind of material (Vault's rule).
    pub fn applies_to(self, algorithm: Algorithm) -> bool {
        match self {
            ExportKind::Hmac => true,
            ExportKind::Encryption => {
                matches!(algorithm.family(), Family::Aead | Family::Rsa)
            }
            ExportKind::Signing => matches!(
                algorithm.family(),
                Family::Rsa | Family::Ecdsa | Family::Ed25519
            ),
        }
    }
}

fn corrupt<E>(_: E) -> EngineError {
    EngineError::KeyMaterialCorrupt
}

/// The version's material as Vault exports `kind` of it.
pub fn vault_form(
    algorithm: Algorithm,
    kind: ExportKind,
    material: &KeyMaterial,
) -> Result<SecretString, EngineError> {
    if !kind.applies_to(algorithm) {
        return Err(EngineError::InvalidArgument(format!(
            "{} is not supported for a {} key",
            kind.name(),
            algorithm.name()
        )));
    }
    let m = material.expose();
    let text = match (kind, algorithm.family()) {
        (ExportKind::Hmac, _) => STANDARD.encode(transit_hmac_key(algorithm, material).expose()),
        (_, Family::Rsa) => rsa::PrivateKey::from_pkcs8_der(m)
            .map_err(corrupt)?
            .to_pkcs1_pem(LineEnding::LF)
            .map_err(corrupt)?
            .to_string(),
        (_, Family::Ecdsa) => match algorithm {
            Algorithm::EcdsaP256 => p256::SecretKey::from_slice(m)
                .map_err(corrupt)?
                .to_sec1_pem(LineEnding::LF)
                .map_err(corrupt)?
                .to_string(),
            Algorithm::EcdsaP384 => p384::SecretKey::from_slice(m)
                .map_err(corrupt)?
                .to_sec1_pem(LineEnding::LF)
                .map_err(corrupt)?
                .to_string(),
            _ => p521::SecretKey::from_slice(m)
                .map_err(corrupt)?
                .to_sec1_pem(LineEnding::LF)
                .map_err(corrupt)?
                .to_string(),
        },
        (_, Family::Ed25519) => {
            let seed = <[u8; 32]>::try_from(m).map_err(corrupt)?;
            let key = ed25519_dalek::SigningKey::from_bytes(&seed);
            STANDARD.encode(key.to_keypair_bytes())
        }
        // Symmetric keys: the raw key.
        _ => STANDARD.encode(m),
    };
    Ok(SecretString::new(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_has_vaults_form_and_refuses_other_types() {
        let aes = KeyMaterial::from_slice(&[7u8; 32]);
        let out = vault_form(Algorithm::Aes256Gcm, ExportKind::Encryption, &aes).unwrap();
        assert_eq!(STANDARD.decode(out.expose()).unwrap(), [7u8; 32]);
        assert!(vault_form(Algorithm::Aes256Gcm, ExportKind::Signing, &aes).is_err());
        let hmac = vault_form(Algorithm::Aes256Gcm, ExportKind::Hmac, &aes).unwrap();
        assert_ne!(STANDARD.decode(hmac.expose()).unwrap(), [7u8; 32]);
        let ec = super::super::generate_key_pair(Algorithm::EcdsaP256).unwrap();
        let pem = vault_form(Algorithm::EcdsaP256, ExportKind::Signing, &ec).unwrap();
        assert!(pem.expose().starts_with("-----BEGIN EC PRIVATE KEY-----"));
        let ed = KeyMaterial::from_slice(&[1u8; 32]);
        let out = vault_form(Algorithm::Ed25519, ExportKind::Signing, &ed).unwrap();
        assert_eq!(STANDARD.decode(out.expose()).unwrap().len(), 64);
        assert!(ExportKind::parse("public-key").is_err());
    }
}
