//! Prepared ciphers: a working key version turned into a ready-to-use cipher object. Built once per
//! version in a crypto worker and cached there; the key schedule is erased when it is dropped
//! (the `zeroize` feature of aes-gcm).

use aes_gcm::aead::{AeadInOut, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce, Tag};

use crate::algorithm::Algorithm;
use crate::ciphertext::{self, NONCE_LEN, TAG_LEN};
use crate::error::EngineError;
use crate::ids::{KeyId, KeyVersion};
use crate::secret::{KeyMaterial, PlaintextBuf};

pub enum PreparedCipher {
    Aes256Gcm(Box<Aes256Gcm>),
}

impl PreparedCipher {
    pub fn new(algorithm: Algorithm, material: &KeyMaterial) -> Result<Self, EngineError> {
        if material.len() != algorithm.key_len() {
            return Err(EngineError::KeyMaterialCorrupt);
        }
        match algorithm {
            Algorithm::Aes256Gcm => Aes256Gcm::new_from_slice(material.expose())
                .map(|c| PreparedCipher::Aes256Gcm(Box::new(c)))
                .map_err(|_| EngineError::KeyMaterialCorrupt),
        }
    }

    /// Encrypts `plaintext` and returns the text ciphertext `kms:NNNNN:...`.
    pub fn encrypt(
        &self,
        key: &KeyId,
        version: KeyVersion,
        context: &[u8],
        plaintext: &[u8],
    ) -> Result<String, EngineError> {
        let header = ciphertext::header(version);
        let aad = ciphertext::associated_data(&header, key, context);
        // nonce ‖ ciphertext ‖ tag, built in one buffer.
        let mut body = Vec::with_capacity(NONCE_LEN + plaintext.len() + TAG_LEN);
        let mut nonce = [0u8; NONCE_LEN];
        rand::fill(&mut nonce);
        body.extend_from_slice(&nonce);
        body.extend_from_slice(plaintext);
        match self {
            PreparedCipher::Aes256Gcm(c) => {
                let tag = c
                    .encrypt_inout_detached(
                        &Nonce::from(nonce),
                        &aad,
                        (&mut body[NONCE_LEN..]).into(),
                    )
                    // Only fails for inputs beyond GCM's 64 GiB limit, far past the body limit.
                    .map_err(|_| EngineError::InvalidArgument("plaintext is too long".into()))?;
                body.extend_from_slice(&tag);
            }
        }
        Ok(ciphertext::format(version, &body))
    }

    /// Opens a parsed ciphertext. Every failure is the same opaque `DecryptionFailed`.
    pub fn decrypt(
        &self,
        key: &KeyId,
        parsed: ciphertext::Parsed,
        context: &[u8],
    ) -> Result<PlaintextBuf, EngineError> {
        let aad = ciphertext::associated_data(&parsed.header, key, context);
        let mut body = PlaintextBuf::new(parsed.body);
        let tag_at = body.len() - TAG_LEN;
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&body[..NONCE_LEN]);
        let mut tag = [0u8; TAG_LEN];
        tag.copy_from_slice(&body[tag_at..]);
        match self {
            PreparedCipher::Aes256Gcm(c) => c
                .decrypt_inout_detached(
                    &Nonce::from(nonce),
                    &aad,
                    (&mut body[NONCE_LEN..tag_at]).into(),
                    &Tag::from(tag),
                )
                .map_err(|_| EngineError::DecryptionFailed)?,
        }
        // Drop the nonce in front and the tag behind, keeping the plaintext in place.
        body.truncate(tag_at);
        body.drain(..NONCE_LEN);
        Ok(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup() -> (PreparedCipher, KeyId, KeyVersion) {
        let material = KeyMaterial::random(32);
        (
            PreparedCipher::new(Algorithm::Aes256Gcm, &material).unwrap(),
            KeyId::random(),
            KeyVersion::new(7).unwrap(),
        )
    }

    fn open(
        c: &PreparedCipher,
        id: &KeyId,
        text: &str,
        ctx: &[u8],
    ) -> Result<Vec<u8>, EngineError> {
        c.decrypt(id, ciphertext::parse(text)?, ctx)
            .map(|p| p.to_vec())
    }

    #[test]
    fn round_trip_with_and_without_context() {
        let (c, id, v) = setup();
        for (pt, ctx) in [(&b""[..], &b""[..]), (b"4111111111111111", b"order-9")] {
            let text = c.encrypt(&id, v, ctx, pt).unwrap();
            assert!(text.starts_with("kms:00007:"));
            assert_eq!(open(&c, &id, &text, ctx).unwrap(), pt);
        }
    }

    #[test]
    fn nonces_differ_between_encryptions() {
        let (c, id, v) = setup();
        assert_ne!(
            c.encrypt(&id, v, b"", b"x").unwrap(),
            c.encrypt(&id, v, b"", b"x").unwrap()
        );
    }

    #[test]
    fn any_change_to_what_is_bound_fails_opaquely() {
        let (c, id, v) = setup();
        let text = c.encrypt(&id, v, b"ctx", b"secret").unwrap();
        // Wrong context, wrong key id.
        assert!(matches!(
            open(&c, &id, &text, b"ctX"),
            Err(EngineError::DecryptionFailed)
        ));
        assert!(matches!(
            open(&c, &KeyId::random(), &text, b"ctx"),
            Err(EngineError::DecryptionFailed)
        ));
        // Re-headed to another version under the same key material.
        let reheaded = text.replacen("kms:00007:", "kms:00008:", 1);
        assert!(matches!(
            open(&c, &id, &reheaded, b"ctx"),
            Err(EngineError::DecryptionFailed)
        ));
        // Every single-bit flip of the body.
        let body = ciphertext::parse(&text).unwrap().body;
        for i in 0..body.len() * 8 {
            let mut b = body.clone();
            b[i / 8] ^= 1 << (i % 8);
            let t = ciphertext::format(v, &b);
            assert!(matches!(
                open(&c, &id, &t, b"ctx"),
                Err(EngineError::DecryptionFailed)
            ));
        }
    }

    #[test]
    fn wrong_length_material_is_refused() {
        let short = KeyMaterial::random(16);
        assert!(matches!(
            PreparedCipher::new(Algorithm::Aes256Gcm, &short),
            Err(EngineError::KeyMaterialCorrupt)
        ));
    }
}
