//! Secrets handed to one person: an unseal share or a root token encrypted to that person's RSA
//! public key (SPKI PEM, at least 2048 bits), so that whoever carries the answer (the custodian
//! whose approval completed a ceremony, a terminal, a proxy's log) cannot read it.
//!
//! `ciphertext = RSA-OAEP(SHA-256, MGF1-SHA-256, label "kms-recipient-v1", secret)`, base64; the
//! recipient is named by the SHA-256 of their key's SPKI DER (hex), as
//! `openssl pkey -pubin -outform DER | sha256sum` prints it, so each person can tell which
//! ciphertext is theirs and an approver can check the key before the secret is made. The label
//! keeps these ciphertexts from being confused with any other RSA-OAEP use of the same key.
//!
//! The holder decrypts with [`open`] (the CLI's `kms unseal --private-key`); the server never sees
//! a private key. Every failure to decrypt is the one `DecryptionFailed`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rsa::pkcs1::{DecodeRsaPrivateKey, DecodeRsaPublicKey};
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePublicKey};
use rsa::sha2::{Digest, Sha256};
use rsa::traits::PublicKeyParts;
use rsa::{Oaep, PrivateKey, PublicKey};
use serde::Serialize;

use crate::error::EngineError;
use crate::secret::SecretString;

/// The OAEP label of every recipient ciphertext.
pub const LABEL: &[u8] = b"kms-recipient-v1";
/// The smallest modulus accepted for a recipient's key.
pub const MIN_BITS: usize = 2048;

fn refused(message: impl Into<String>) -> EngineError {
    EngineError::InvalidRecipientKey(message.into())
}

/// A person's public key, checked: RSA, at least [`MIN_BITS`].
#[derive(Clone)]
pub struct Recipient {
    key: PublicKey,
    fingerprint: String,
}

/// A secret encrypted to one recipient.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Sealed {
    /// SHA-256 of the recipient key's SPKI DER, hex.
    pub fingerprint: String,
    /// base64 of the RSA-OAEP ciphertext.
    pub ciphertext: String,
}

impl std::fmt::Debug for Recipient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Recipient(sha256:{})", self.fingerprint)
    }
}

impl Recipient {
    /// Parses an RSA public key in PEM: SPKI (`BEGIN PUBLIC KEY`), or PKCS#1
    /// (`BEGIN RSA PUBLIC KEY`). Refuses anything else, and keys under [`MIN_BITS`].
    pub fn from_pem(pem: &str) -> Result<Self, EngineError> {
        let pem = pem.trim();
        let key = PublicKey::from_public_key_pem(pem)
            .or_else(|_| PublicKey::from_pkcs1_pem(pem))
            .map_err(|_| refused("a recipient key must be an RSA public key in PEM (SPKI)"))?;
        let bits = key.n().bit_width_vartime() as usize;
        if bits < MIN_BITS {
            return Err(refused(format!(
                "a recipient key has {bits} bits; at least {MIN_BITS} are required"
            )));
        }
        let fingerprint = fingerprint(&key)?;
        Ok(Self { key, fingerprint })
    }

    /// SHA-256 of the key's SPKI DER, hex.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Encrypts `secret` to this recipient.
    pub fn seal(&self, secret: &[u8]) -> Result<Sealed, EngineError> {
        let ciphertext = self
            .key
            .encrypt(
                &mut rand::rng(),
                Oaep::<Sha256>::new_with_label(LABEL),
                secret,
            )
            .map_err(|_| EngineError::PlaintextTooLarge(self.key.size() - 66))?;
        Ok(Sealed {
            fingerprint: self.fingerprint.clone(),
            ciphertext: STANDARD.encode(ciphertext),
        })
    }
}

fn fingerprint(key: &PublicKey) -> Result<String, EngineError> {
    let der = key
        .to_public_key_der()
        .map_err(|_| refused("the key cannot be encoded as SPKI"))?;
    Ok(hex::encode(Sha256::digest(der.as_bytes())))
}

/// The holder's private key (PKCS#8 `BEGIN PRIVATE KEY` or PKCS#1 `BEGIN RSA PRIVATE KEY`, not
/// passphrase-protected), for the command line.
pub struct Holder {
    key: PrivateKey,
    fingerprint: String,
}

impl Holder {
    pub fn from_pem(pem: &str) -> Result<Self, EngineError> {
        let pem = pem.trim();
        let key = PrivateKey::from_pkcs8_pem(pem)
            .or_else(|_| PrivateKey::from_pkcs1_pem(pem))
            .map_err(|_| {
                refused("a private key must be an unencrypted RSA private key in PEM (PKCS#8)")
            })?;
        let fingerprint = fingerprint(&key.to_public_key())?;
        Ok(Self { key, fingerprint })
    }

    /// The fingerprint of the matching public key: which [`Sealed`] is this holder's.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Decrypts a ciphertext made by [`Recipient::seal`] for this holder's key. The result must be
    /// UTF-8 text (shares and tokens are).
    pub fn open(&self, ciphertext: &str) -> Result<SecretString, EngineError> {
        let bytes = STANDARD
            .decode(ciphertext.trim())
            .map_err(|_| EngineError::DecryptionFailed)?;
        let plain = zeroize::Zeroizing::new(
            self.key
                .decrypt_blinded(
                    &mut rand::rng(),
                    Oaep::<Sha256>::new_with_label(LABEL),
                    &bytes,
                )
                .map_err(|_| EngineError::DecryptionFailed)?,
        );
        let text = std::str::from_utf8(&plain).map_err(|_| EngineError::DecryptionFailed)?;
        Ok(SecretString::new(text.to_owned()))
    }
}

/// Parses a list of recipients' keys; `what` names the field in errors.
pub fn parse_all(pems: &[String], what: &str) -> Result<Vec<Recipient>, EngineError> {
    pems.iter()
        .enumerate()
        .map(|(i, pem)| {
            Recipient::from_pem(pem).map_err(|e| match e {
                EngineError::InvalidRecipientKey(m) => {
                    EngineError::InvalidRecipientKey(format!("{what}[{i}]: {m}"))
                }
                other => other,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsa::pkcs8::{EncodePrivateKey, LineEnding};

    fn pair(bits: usize) -> (String, String) {
        let key = PrivateKey::new(&mut rand::rng(), bits).unwrap();
        let private = key.to_pkcs8_pem(LineEnding::LF).unwrap().to_string();
        let public = key
            .to_public_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap();
        (private, public)
    }

    #[test]
    fn only_the_matching_private_key_opens_a_sealed_secret() {
        let (alice_private, alice_public) = pair(2048);
        let (bob_private, bob_public) = pair(2048);
        let to_alice = Recipient::from_pem(&alice_public).unwrap();
        let sealed = to_alice.seal(b"a-share-for-alice").unwrap();
        assert_eq!(sealed.fingerprint, to_alice.fingerprint());
        assert!(!sealed.ciphertext.contains("a-share-for-alice"));
        let alice = Holder::from_pem(&alice_private).unwrap();
        assert_eq!(alice.fingerprint(), to_alice.fingerprint());
        assert_eq!(
            alice.open(&sealed.ciphertext).unwrap().expose(),
            "a-share-for-alice"
        );
        // Bob's key neither opens Alice's secret nor shares her fingerprint.
        let bob = Holder::from_pem(&bob_private).unwrap();
        assert_ne!(bob.fingerprint(), alice.fingerprint());
        assert!(matches!(
            bob.open(&sealed.ciphertext),
            Err(EngineError::DecryptionFailed)
        ));
        assert_ne!(
            Recipient::from_pem(&bob_public).unwrap().fingerprint(),
            to_alice.fingerprint()
        );
        // A tampered ciphertext fails the same way.
        let mut bytes = STANDARD.decode(&sealed.ciphertext).unwrap();
        bytes[10] ^= 1;
        assert!(matches!(
            alice.open(&STANDARD.encode(bytes)),
            Err(EngineError::DecryptionFailed)
        ));
    }

    #[test]
    fn the_label_binds_ciphertexts_to_this_use() {
        let (private, public) = pair(2048);
        // The same key used with plain OAEP (no label) elsewhere: not accepted here.
        let other = Recipient::from_pem(&public)
            .unwrap()
            .key
            .encrypt(&mut rand::rng(), Oaep::<Sha256>::new(), b"x")
            .unwrap();
        let holder = Holder::from_pem(&private).unwrap();
        assert!(holder.open(&STANDARD.encode(other)).is_err());
    }

    #[test]
    fn small_and_malformed_keys_are_refused() {
        let (_, small) = pair(1024);
        let e = Recipient::from_pem(&small).err().unwrap();
        assert_eq!(e.code(), "invalid_recipient_key");
        assert!(e.to_string().contains("2048"), "{e}");
        for bad in [
            "",
            "not a key",
            "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----",
        ] {
            assert_eq!(
                Recipient::from_pem(bad).err().unwrap().code(),
                "invalid_recipient_key"
            );
        }
        let (private, _) = pair(2048);
        // A private key where a public key belongs is refused too.
        assert!(Recipient::from_pem(&private).is_err());
        let e = parse_all(&["junk".to_owned()], "share_keys").err().unwrap();
        assert!(e.to_string().starts_with("share_keys[0]"), "{e}");
    }

    #[test]
    fn fingerprints_are_sha256_of_the_spki_der() {
        let (_, public) = pair(2048);
        let key = PublicKey::from_public_key_pem(&public).unwrap();
        let der = key.to_public_key_der().unwrap();
        assert_eq!(
            Recipient::from_pem(&public).unwrap().fingerprint(),
            hex::encode(Sha256::digest(der.as_bytes()))
        );
    }
}
