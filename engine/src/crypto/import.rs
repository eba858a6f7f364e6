//! Bringing your own key (Vault Transit's `keys/:name/import` through its `wrapping_key`): the
//! caller wraps a fresh AES-256 key with RSA-OAEP (SHA-256, MGF1-SHA-256, no label) for the KMS's
//! RSA-4096 wrapping key, and the material with that AES key by AES key wrap with padding
//! (RFC 5649); the ciphertext is the two concatenated. Opened here, the material is checked for
//! the key type and put in the form this KMS stores (RSA: PKCS#8 DER; ECDSA: the secret scalar;
//! Ed25519: the seed; symmetric: the raw bytes), to be wrapped under the master key at once.

use aes_kw::KwpAes256;
use aes_kw::cipher::KeyInit;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use rsa::sha2::Sha256;
use rsa::traits::PublicKeyParts;
use rsa::{Oaep, PrivateKey};
use zeroize::Zeroizing;

use crate::algorithm::{Algorithm, Family, MaterialKind};
use crate::error::EngineError;
use crate::secret::KeyMaterial;

/// The size of the wrapping key Vault uses, which clients expect.
pub const WRAPPING_KEY_BITS: usize = 4096;

fn unwrap_failed() -> EngineError {
    EngineError::InvalidArgument(
        "the ciphertext does not unwrap with the wrapping key (RSA-OAEP-SHA256 of an AES-256 \
         key, then AES key wrap with padding of the material)"
            .into(),
    )
}

/// Opens an import ciphertext with the wrapping key's private half (PKCS#8 DER). Every failure is
/// the same error: it says nothing about which step failed.
pub fn unwrap(wrapping_key: &KeyMaterial, ciphertext: &[u8]) -> Result<KeyMaterial, EngineError> {
    let key = PrivateKey::from_pkcs8_der(wrapping_key.expose())
        .map_err(|_| EngineError::KeyMaterialCorrupt)?;
    let rsa_len = key.size();
    if ciphertext.len() < rsa_len + 16 {
        return Err(unwrap_failed());
    }
    let (rsa_part, wrapped) = ciphertext.split_at(rsa_len);
    let ephemeral = Zeroizing::new(
        key.decrypt_blinded(&mut rand::rng(), Oaep::<Sha256>::new(), rsa_part)
            .map_err(|_| unwrap_failed())?,
    );
    let kwp = KwpAes256::new_from_slice(&ephemeral).map_err(|_| unwrap_failed())?;
    let mut buf = Zeroizing::new(vec![0u8; wrapped.len()]);
    let material = kwp
        .unwrap_key(wrapped, &mut buf)
        .map_err(|_| unwrap_failed())?;
    Ok(KeyMaterial::from_slice(material))
}

fn wrong(what: &str) -> EngineError {
    EngineError::InvalidArgument(format!("the imported material is not {what}"))
}

/// The imported bytes in the form this KMS stores for `algorithm`.
pub fn material_for(algorithm: Algorithm, bytes: &KeyMaterial) -> Result<KeyMaterial, EngineError> {
    let b = bytes.expose();
    match (algorithm.family(), algorithm.material()) {
        (Family::Aead | Family::Mac, MaterialKind::Random(len)) => {
            if b.len() == len {
                Ok(KeyMaterial::from_slice(b))
            } else {
                Err(wrong(&format!("{len} bytes for {algorithm}")))
            }
        }
        (Family::Rsa, _) => {
            let key = PrivateKey::from_pkcs8_der(b).map_err(|_| wrong("a PKCS#8 RSA key"))?;
            if Some(key.size() * 8) != algorithm.rsa_bits() {
                return Err(wrong(&format!("an {algorithm} key")));
            }
            let der = key.to_pkcs8_der().map_err(|_| wrong("a PKCS#8 RSA key"))?;
            Ok(KeyMaterial::from_slice(der.as_bytes()))
        }
        (Family::Ecdsa, _) => {
            let scalar = match algorithm {
                Algorithm::EcdsaP256 => {
                    p256::SecretKey::from_pkcs8_der(b).map(|k| k.to_bytes().to_vec())
                }
                Algorithm::EcdsaP384 => {
                    p384::SecretKey::from_pkcs8_der(b).map(|k| k.to_bytes().to_vec())
                }
                _ => p521::SecretKey::from_pkcs8_der(b).map(|k| k.to_bytes().to_vec()),
            }
            .map_err(|_| wrong(&format!("a PKCS#8 {algorithm} key")))?;
            let scalar = Zeroizing::new(scalar);
            Ok(KeyMaterial::from_slice(&scalar))
        }
        (Family::Ed25519, _) => {
            let key = ed25519_dalek::SigningKey::from_pkcs8_der(b)
                .map_err(|_| wrong("a PKCS#8 Ed25519 key"))?;
            Ok(KeyMaterial::from_slice(&key.to_bytes()))
        }
        _ => Err(EngineError::InvalidArgument(format!(
            "keys of type {algorithm} cannot be imported"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn material_wrapped_for_the_wrapping_key_opens_and_nothing_else_does() {
        let wrapping = super::super::rsa::generate(2048).unwrap();
        let private = PrivateKey::from_pkcs8_der(wrapping.expose()).unwrap();
        let public = private.to_public_key();
        let ephemeral = [5u8; 32];
        let rsa_part = public
            .encrypt(&mut rand::rng(), Oaep::<Sha256>::new(), &ephemeral)
            .unwrap();
        let material = [9u8; 32];
        let mut wrapped = vec![0u8; 40];
        KwpAes256::new_from_slice(&ephemeral)
            .unwrap()
            .wrap_key(&material, &mut wrapped)
            .unwrap();
        let ct = [rsa_part.clone(), wrapped.clone()].concat();
        let opened = unwrap(&wrapping, &ct).unwrap();
        assert_eq!(opened.expose(), material);
        let stored = material_for(Algorithm::Aes256Gcm, &opened).unwrap();
        assert_eq!(stored.expose(), material);
        assert!(material_for(Algorithm::Aes128Gcm, &opened).is_err());
        let mut tampered = ct.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert!(unwrap(&wrapping, &tampered).is_err());
        assert!(unwrap(&wrapping, &ct[..100]).is_err());
    }
}
