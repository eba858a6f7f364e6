//! Password keys (docs/passwords.md): an RSA-OAEP-SHA256 pair whose public half the browser
//! encrypts the typed password to, and two symmetric keys derived from the private key's secret
//! material that turn a password into the value an application stores.
//!
//! The stored material is the RSA private key (PKCS#8 DER), as for any RSA key. The AES-256-GCM
//! key and the HMAC-SHA256 key are HMAC-SHA256(DER, label) with distinct labels: each version's
//! symmetric keys are as secret as its private key, rotate with it, and need no second stored
//! secret.
//!
//! Protected values are `kms:NNNNN:<base64>` under the version that made them:
//! - `aead`: AES-256-GCM (random nonce) over `len(salt) ‖ salt ‖ password`, associated data
//!   header ‖ key id ‖ `kms-password`; rewrappable after a rotation.
//! - `hash`: HMAC-SHA256 over header ‖ key id ‖ `len(salt) ‖ salt ‖ password`; one-way.
//!
//! Every comparison of a password is a comparison of two HMAC tags in constant time, so the time
//! it takes says nothing about where or whether a password differs, nor about its length.

use std::borrow::Cow;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use serde::Deserialize;
use sha2::Sha256;
use zeroize::{Zeroize, Zeroizing};

use super::aead::AeadKey;
use super::mac::MacKey;
use super::rsa::RsaKey;
use crate::algorithm::Algorithm;
use crate::ciphertext::{self, Parsed};
use crate::error::EngineError;
use crate::ids::{KeyId, KeyVersion};
use crate::keyring::Protection;
use crate::secret::{KeyMaterial, PlaintextBuf};

/// Associated-data context of an `aead` protected value.
const AEAD_CONTEXT: &[u8] = b"kms-password";
/// The most salt bytes a protected value carries (its length is one byte).
pub const MAX_SALT: usize = 255;

pub struct PasswordKey {
    rsa: RsaKey,
    protection: Protection,
    /// The `aead` mode's cipher; unused in `hash` mode (derived anyway: it costs one HMAC).
    aead: AeadKey,
    /// `hash` mode's MAC, and the comparison MAC of both modes.
    mac: MacKey,
}

/// What the browser encrypted: the password and the challenge it was given.
pub struct Submission {
    password: Zeroizing<String>,
    challenge: String,
}

impl Submission {
    pub fn challenge(&self) -> &str {
        &self.challenge
    }
}

/// The JSON the browser encrypts: `{"p":"<password>","c":"<challenge>"}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Payload<'a> {
    #[serde(borrow)]
    p: Cow<'a, str>,
    #[serde(borrow)]
    c: Cow<'a, str>,
}

fn derive(secret: &[u8], label: &[u8]) -> Result<KeyMaterial, EngineError> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret)
        .map_err(|_| EngineError::KeyMaterialCorrupt)?;
    mac.update(label);
    Ok(KeyMaterial::from_slice(&mac.finalize().into_bytes()))
}

/// `len(salt) ‖ salt ‖ password`, erased when dropped.
fn salted(salt: &[u8], password: &[u8]) -> Result<PlaintextBuf, EngineError> {
    let len =
        u8::try_from(salt.len()).map_err(|_| EngineError::InvalidSalt("at most 255 bytes"))?;
    let mut out = PlaintextBuf::new(Vec::with_capacity(1 + salt.len() + password.len()));
    out.push(len);
    out.extend_from_slice(salt);
    out.extend_from_slice(password);
    Ok(out)
}

impl PasswordKey {
    pub fn new(protection: Protection, material: &KeyMaterial) -> Result<Self, EngineError> {
        let aead_key = derive(material.expose(), b"kms password aead v1")?;
        let mac_key = derive(material.expose(), b"kms password hmac v1")?;
        Ok(Self {
            rsa: RsaKey::new(material)?,
            protection,
            aead: AeadKey::new(Algorithm::Aes256Gcm, false, &aead_key)?,
            mac: MacKey::new(Algorithm::HmacSha256, &mac_key)?,
        })
    }

    pub fn rsa(&self) -> &RsaKey {
        &self.rsa
    }

    /// Decrypts what the browser sent. The length is checked first so that a blob made for a
    /// key of another size, or an oversized one, gets its own error.
    pub fn open_submission(&self, encrypted: &[u8]) -> Result<Submission, EngineError> {
        let k = self.rsa.modulus_len();
        if encrypted.len() > k {
            return Err(EngineError::EncryptedPasswordTooLarge(k));
        }
        if encrypted.len() != k {
            return Err(EngineError::EncryptedPasswordLength(k));
        }
        let plain = self
            .rsa
            .decrypt(&[], encrypted)
            .map_err(|_| EngineError::PasswordDecryptionFailed)?;
        let payload: Payload<'_> = serde_json::from_slice(&plain).map_err(|_| {
            EngineError::InvalidPasswordPayload(
                "expected the JSON {\"p\":password,\"c\":challenge}",
            )
        })?;
        let Payload { p, c } = payload;
        let password = Zeroizing::new(p.into_owned());
        if password.is_empty() {
            return Err(EngineError::InvalidPasswordPayload("the password is empty"));
        }
        Ok(Submission {
            password,
            challenge: c.into_owned(),
        })
    }

    /// The value to store for `submission` under `version`.
    pub fn protect(
        &self,
        key: &KeyId,
        version: KeyVersion,
        salt: &[u8],
        submission: &Submission,
    ) -> Result<String, EngineError> {
        let salted = salted(salt, submission.password.as_bytes())?;
        self.protect_salted(key, version, &salted)
    }

    fn protect_salted(
        &self,
        key: &KeyId,
        version: KeyVersion,
        salted: &[u8],
    ) -> Result<String, EngineError> {
        let header = ciphertext::header(version);
        let body = match self.protection {
            Protection::Aead => {
                let aad = ciphertext::associated_data(&header, key, AEAD_CONTEXT);
                self.aead.seal(&aad, salted)?
            }
            Protection::Hash => self.hash(&header, key, salted),
        };
        Ok(ciphertext::format(version, &body))
    }

    fn hash(&self, header: &[u8; ciphertext::HEADER_LEN], key: &KeyId, salted: &[u8]) -> Vec<u8> {
        let mut input = PlaintextBuf::new(Vec::with_capacity(header.len() + 16 + salted.len()));
        input.extend_from_slice(header);
        input.extend_from_slice(key.as_bytes());
        input.extend_from_slice(salted);
        self.mac.tag(&input)
    }

    /// Opens an `aead` protected value made by this version: `len(salt) ‖ salt ‖ password`.
    fn open_protected(&self, key: &KeyId, parsed: Parsed) -> Result<PlaintextBuf, EngineError> {
        if self.protection != Protection::Aead {
            return Err(EngineError::OperationNotSupported(
                "rewrap (a hash-protected value cannot be opened; it is re-protected on a successful verify)",
            ));
        }
        if parsed.body.len() < ciphertext::NONCE_LEN + ciphertext::TAG_LEN {
            return Err(EngineError::InvalidProtected("too short"));
        }
        let aad = ciphertext::associated_data(&parsed.header, key, AEAD_CONTEXT);
        self.aead.open(&aad, parsed.body)
    }

    /// Whether `submission` with `salt` is the password `parsed` (made by this version)
    /// protects. Compared in constant time.
    pub fn verify(
        &self,
        key: &KeyId,
        parsed: Parsed,
        salt: &[u8],
        submission: &Submission,
    ) -> Result<bool, EngineError> {
        let candidate = salted(salt, submission.password.as_bytes())?;
        match self.protection {
            Protection::Aead => {
                let stored = self.open_protected(key, parsed)?;
                // Tag both and compare the tags: constant time whatever the lengths.
                let stored_tag = Zeroizing::new(self.mac.tag(&stored));
                Ok(self.mac.verify(&candidate, &stored_tag))
            }
            Protection::Hash => {
                if parsed.body.len() != 32 {
                    return Err(EngineError::InvalidProtected("a hash is 32 bytes"));
                }
                let mut input = PlaintextBuf::new(Vec::new());
                input.extend_from_slice(&parsed.header);
                input.extend_from_slice(key.as_bytes());
                input.extend_from_slice(&candidate);
                Ok(self.mac.verify(&input, &parsed.body))
            }
        }
    }

    /// Opens an `aead` value of this version, for [`PasswordKey::seal_opened`] by another.
    pub fn open_for_rewrap(
        &self,
        key: &KeyId,
        parsed: Parsed,
    ) -> Result<PlaintextBuf, EngineError> {
        self.open_protected(key, parsed)
    }

    /// Seals what [`PasswordKey::open_for_rewrap`] opened, under `version`.
    pub fn seal_opened(
        &self,
        key: &KeyId,
        version: KeyVersion,
        salted: &[u8],
    ) -> Result<String, EngineError> {
        self.protect_salted(key, version, salted)
    }
}

impl Drop for Submission {
    fn drop(&mut self) {
        // The password is a Zeroizing<String>; the challenge is not secret but is single use.
        self.challenge.zeroize();
    }
}

/// The JWK `n` and `e` (base64url, no padding) of an RSA public key given as SPKI PEM.
pub fn jwk_numbers(pem: &str) -> Result<(String, String), EngineError> {
    use rsa::pkcs8::DecodePublicKey;
    use rsa::traits::PublicKeyParts;
    let key =
        rsa::PublicKey::from_public_key_pem(pem).map_err(|_| EngineError::KeyMaterialCorrupt)?;
    Ok((
        URL_SAFE_NO_PAD.encode(key.n_bytes()),
        URL_SAFE_NO_PAD.encode(key.e_bytes()),
    ))
}

#[cfg(test)]
mod tests {
    use rsa::pkcs8::DecodePublicKey;
    use rsa::sha2::Sha256 as RsaSha256;
    use rsa::{Oaep, PublicKey};

    use super::*;
    use crate::crypto::rsa as rsa_key;

    fn key(protection: Protection) -> PasswordKey {
        let material = rsa_key::generate(2048).unwrap();
        PasswordKey::new(protection, &material).unwrap()
    }

    /// What a browser does: RSA-OAEP-SHA256, empty label, over the JSON payload.
    fn browser(key: &PasswordKey, payload: &str) -> Vec<u8> {
        let pem = key.rsa().public_key_pem().unwrap();
        let public = PublicKey::from_public_key_pem(&pem).unwrap();
        public
            .encrypt(
                &mut rand::rng(),
                Oaep::<RsaSha256>::new(),
                payload.as_bytes(),
            )
            .unwrap()
    }

    fn v(n: u32) -> KeyVersion {
        KeyVersion::new(n).unwrap()
    }

    #[test]
    fn protect_then_verify_in_both_modes() {
        let id = KeyId::random();
        for mode in [Protection::Aead, Protection::Hash] {
            let k = key(mode);
            let good = k
                .open_submission(&browser(&k, r#"{"p":"pä\"ss","c":"c1"}"#))
                .unwrap();
            assert_eq!(good.challenge(), "c1");
            let protected = k.protect(&id, v(1), b"salt", &good).unwrap();
            assert!(protected.starts_with("kms:00001:"));
            assert!(!protected.contains("ss"), "{protected}");
            let parse = || ciphertext::parse_as(ciphertext::Kind::Protected, &protected).unwrap();
            assert!(k.verify(&id, parse(), b"salt", &good).unwrap());
            assert!(!k.verify(&id, parse(), b"tlas", &good).unwrap());
            let bad = k
                .open_submission(&browser(&k, r#"{"p":"pa\"ss","c":"c1"}"#))
                .unwrap();
            assert!(!k.verify(&id, parse(), b"salt", &bad).unwrap());
            // Another key id does not verify (aead: fails to open; hash: another tag).
            let other = KeyId::random();
            assert!(!matches!(
                k.verify(&other, parse(), b"salt", &good),
                Ok(true)
            ));
        }
    }

    #[test]
    fn aead_values_rewrap_and_hash_values_do_not() {
        let id = KeyId::random();
        let (old, new) = (key(Protection::Aead), key(Protection::Aead));
        let s = old
            .open_submission(&browser(&old, r#"{"p":"hunter2","c":"c"}"#))
            .unwrap();
        let p1 = old.protect(&id, v(1), b"s", &s).unwrap();
        let opened = old
            .open_for_rewrap(
                &id,
                ciphertext::parse_as(ciphertext::Kind::Protected, &p1).unwrap(),
            )
            .unwrap();
        let p2 = new.seal_opened(&id, v(2), &opened).unwrap();
        assert!(p2.starts_with("kms:00002:"));
        let parsed = ciphertext::parse_as(ciphertext::Kind::Protected, &p2).unwrap();
        assert!(new.verify(&id, parsed, b"s", &s).unwrap());

        let h = key(Protection::Hash);
        let s = h
            .open_submission(&browser(&h, r#"{"p":"hunter2","c":"c"}"#))
            .unwrap();
        let p = h.protect(&id, v(1), b"s", &s).unwrap();
        let parsed = ciphertext::parse_as(ciphertext::Kind::Protected, &p).unwrap();
        assert!(matches!(
            h.open_for_rewrap(&id, parsed),
            Err(EngineError::OperationNotSupported(_))
        ));
    }

    #[test]
    fn bad_submissions_get_their_own_errors() {
        let k = key(Protection::Aead);
        let good = browser(&k, r#"{"p":"x","c":"c"}"#);
        let mut flipped = good.clone();
        flipped[10] ^= 1;
        assert!(matches!(
            k.open_submission(&flipped),
            Err(EngineError::PasswordDecryptionFailed)
        ));
        let mut long = good.clone();
        long.push(0);
        assert!(matches!(
            k.open_submission(&long),
            Err(EngineError::EncryptedPasswordTooLarge(256))
        ));
        assert!(matches!(
            k.open_submission(&good[..128]),
            Err(EngineError::EncryptedPasswordLength(256))
        ));
        let other = key(Protection::Aead);
        assert!(matches!(
            other.open_submission(&good),
            Err(EngineError::PasswordDecryptionFailed)
        ));
        for payload in [r#"{"p":"x"}"#, "not json", r#"{"p":"","c":"c"}"#] {
            assert!(matches!(
                k.open_submission(&browser(&k, payload)),
                Err(EngineError::InvalidPasswordPayload(_))
            ));
        }
        let s = k.open_submission(&good).unwrap();
        assert!(matches!(
            k.protect(&KeyId::random(), v(1), &[0u8; 256], &s),
            Err(EngineError::InvalidSalt(_))
        ));
    }

    #[test]
    fn jwk_numbers_are_base64url() {
        let k = key(Protection::Hash);
        let (n, e) = jwk_numbers(&k.rsa().public_key_pem().unwrap()).unwrap();
        assert_eq!(e, "AQAB");
        assert_eq!(URL_SAFE_NO_PAD.decode(n).unwrap().len(), 256);
    }
}
