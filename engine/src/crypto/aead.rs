//! Authenticated encryption: AES-256-GCM, AES-128-GCM, ChaCha20-Poly1305, SM4-GCM (RFC 8998) and
//! AES-256-GCM-SIV (RFC 8452). All five take a 96-bit nonce and a 128-bit tag, so they share the
//! ciphertext body `nonce ‖ ciphertext ‖ tag` and the associated data of `ciphertext.rs`.
//!
//! A deterministic AES-256-GCM-SIV key derives its nonce from the associated data and the
//! plaintext: `HMAC-SHA256(K_n, aad ‖ plaintext)[..12]`, with `K_n = HMAC-SHA256(K,
//! "kms-deterministic-nonce-v1")`. Same plaintext and context under the same version give the same
//! ciphertext, which is what an equality lookup (find the card number) needs, and all that an
//! observer learns is which ciphertexts are equal. GCM-SIV stays secure when nonces repeat, which
//! is why it is the only algorithm that may be deterministic. See docs/ciphertext.md.

use aes_gcm::aead::consts::U12;
use aes_gcm::aead::{AeadInOut, KeyInit};
use aes_gcm::{Aes128Gcm, Aes256Gcm, AesGcm};
use aes_gcm_siv::Aes256GcmSiv;
use chacha20poly1305::ChaCha20Poly1305;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::algorithm::Algorithm;
use crate::ciphertext::{NONCE_LEN, TAG_LEN};
use crate::error::EngineError;
use crate::secret::{KeyMaterial, PlaintextBuf};

pub type Sm4Gcm = AesGcm<sm4::Sm4, U12>;

enum Cipher {
    Aes256Gcm(Box<Aes256Gcm>),
    Aes128Gcm(Box<Aes128Gcm>),
    ChaCha20Poly1305(Box<ChaCha20Poly1305>),
    Sm4Gcm(Box<Sm4Gcm>),
    Aes256GcmSiv(Box<Aes256GcmSiv>),
}

pub struct AeadKey {
    cipher: Cipher,
    /// Deterministic AES-256-GCM-SIV: the keyed hash that makes the nonce.
    nonce_key: Option<Hmac<Sha256>>,
}

fn corrupt<T>(_: T) -> EngineError {
    EngineError::KeyMaterialCorrupt
}

fn seal_with<C: AeadInOut>(
    c: &C,
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    buf: &mut [u8],
) -> Result<[u8; TAG_LEN], EngineError> {
    let nonce = aes_gcm::aead::Nonce::<C>::try_from(&nonce[..]).map_err(corrupt)?;
    let tag = c
        .encrypt_inout_detached(&nonce, aad, buf.into())
        // Only for inputs beyond the algorithm's limit (64 GiB for GCM), far past the body limit.
        .map_err(|_| EngineError::InvalidArgument("plaintext is too long".into()))?;
    let mut out = [0u8; TAG_LEN];
    out.copy_from_slice(&tag);
    Ok(out)
}

fn open_with<C: AeadInOut>(
    c: &C,
    nonce: &[u8],
    aad: &[u8],
    buf: &mut [u8],
    tag: &[u8],
) -> Result<(), EngineError> {
    let nonce = aes_gcm::aead::Nonce::<C>::try_from(nonce).map_err(corrupt)?;
    let tag = aes_gcm::aead::Tag::<C>::try_from(tag).map_err(|_| EngineError::DecryptionFailed)?;
    c.decrypt_inout_detached(&nonce, aad, buf.into(), &tag)
        .map_err(|_| EngineError::DecryptionFailed)
}

impl AeadKey {
    pub fn new(
        algorithm: Algorithm,
        deterministic: bool,
        material: &KeyMaterial,
    ) -> Result<Self, EngineError> {
        if deterministic && algorithm != Algorithm::Aes256GcmSiv {
            return Err(EngineError::CorruptRecord(
                "only aes-256-gcm-siv may be deterministic",
            ));
        }
        Self::build(algorithm, deterministic, material)
    }

    /// A convergent key (Vault Transit's `convergent_encryption`): deterministic nonces for any
    /// of the AEADs. Only ever made from a key derived for one context (see the worker), so a
    /// nonce repeats only for the same plaintext and associated data under that derived key,
    /// where it gives the same ciphertext, which is what convergent encryption promises.
    pub fn convergent(algorithm: Algorithm, material: &KeyMaterial) -> Result<Self, EngineError> {
        Self::build(algorithm, true, material)
    }

    fn build(
        algorithm: Algorithm,
        deterministic: bool,
        material: &KeyMaterial,
    ) -> Result<Self, EngineError> {
        let k = material.expose();
        let cipher = match algorithm {
            Algorithm::Aes256Gcm => {
                Cipher::Aes256Gcm(Box::new(Aes256Gcm::new_from_slice(k).map_err(corrupt)?))
            }
            Algorithm::Aes128Gcm => {
                Cipher::Aes128Gcm(Box::new(Aes128Gcm::new_from_slice(k).map_err(corrupt)?))
            }
            Algorithm::ChaCha20Poly1305 => Cipher::ChaCha20Poly1305(Box::new(
                ChaCha20Poly1305::new_from_slice(k).map_err(corrupt)?,
            )),
            Algorithm::Sm4Gcm => {
                Cipher::Sm4Gcm(Box::new(Sm4Gcm::new_from_slice(k).map_err(corrupt)?))
            }
            Algorithm::Aes256GcmSiv => {
                Cipher::Aes256GcmSiv(Box::new(Aes256GcmSiv::new_from_slice(k).map_err(corrupt)?))
            }
            _ => return Err(EngineError::KeyMaterialCorrupt),
        };
        let nonce_key = if deterministic {
            let mut derive = <Hmac<Sha256> as KeyInit>::new_from_slice(k).map_err(corrupt)?;
            derive.update(b"kms-deterministic-nonce-v1");
            let nk = derive.finalize().into_bytes();
            Some(<Hmac<Sha256> as KeyInit>::new_from_slice(&nk).map_err(corrupt)?)
        } else {
            None
        };
        Ok(Self { cipher, nonce_key })
    }

    fn nonce(&self, aad: &[u8], plaintext: &[u8]) -> [u8; NONCE_LEN] {
        let mut nonce = [0u8; NONCE_LEN];
        match &self.nonce_key {
            Some(key) => {
                let mut h = key.clone();
                h.update(&(aad.len() as u64).to_be_bytes());
                h.update(aad);
                h.update(plaintext);
                nonce.copy_from_slice(&h.finalize().into_bytes()[..NONCE_LEN]);
            }
            None => rand::fill(&mut nonce),
        }
        nonce
    }

    /// `nonce ‖ ciphertext ‖ tag`.
    pub fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, EngineError> {
        let nonce = self.nonce(aad, plaintext);
        let mut body = Vec::with_capacity(NONCE_LEN + plaintext.len() + TAG_LEN);
        body.extend_from_slice(&nonce);
        body.extend_from_slice(plaintext);
        let buf = &mut body[NONCE_LEN..];
        let tag = match &self.cipher {
            Cipher::Aes256Gcm(c) => seal_with(c.as_ref(), &nonce, aad, buf)?,
            Cipher::Aes128Gcm(c) => seal_with(c.as_ref(), &nonce, aad, buf)?,
            Cipher::ChaCha20Poly1305(c) => seal_with(c.as_ref(), &nonce, aad, buf)?,
            Cipher::Sm4Gcm(c) => seal_with(c.as_ref(), &nonce, aad, buf)?,
            Cipher::Aes256GcmSiv(c) => seal_with(c.as_ref(), &nonce, aad, buf)?,
        };
        body.extend_from_slice(&tag);
        Ok(body)
    }

    /// Opens `nonce ‖ ciphertext ‖ tag` (at least `NONCE_LEN + TAG_LEN` bytes, checked by the
    /// parser). Every failure is the same opaque `DecryptionFailed`.
    pub fn open(&self, aad: &[u8], body: Vec<u8>) -> Result<PlaintextBuf, EngineError> {
        if body.len() < NONCE_LEN + TAG_LEN {
            return Err(EngineError::CiphertextTruncated);
        }
        let mut body = PlaintextBuf::new(body);
        let tag_at = body.len() - TAG_LEN;
        let (head, tag) = body.split_at_mut(tag_at);
        let tag = tag.to_vec();
        let (nonce, buf) = head.split_at_mut(NONCE_LEN);
        let nonce = nonce.to_vec();
        match &self.cipher {
            Cipher::Aes256Gcm(c) => open_with(c.as_ref(), &nonce, aad, buf, &tag)?,
            Cipher::Aes128Gcm(c) => open_with(c.as_ref(), &nonce, aad, buf, &tag)?,
            Cipher::ChaCha20Poly1305(c) => open_with(c.as_ref(), &nonce, aad, buf, &tag)?,
            Cipher::Sm4Gcm(c) => open_with(c.as_ref(), &nonce, aad, buf, &tag)?,
            Cipher::Aes256GcmSiv(c) => open_with(c.as_ref(), &nonce, aad, buf, &tag)?,
        }
        body.truncate(tag_at);
        body.drain(..NONCE_LEN);
        Ok(body)
    }

    /// Test support: seal with a given nonce (known-answer tests).
    #[cfg(test)]
    pub fn seal_with_nonce(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        plaintext: &[u8],
    ) -> Vec<u8> {
        let mut buf = plaintext.to_vec();
        let tag = match &self.cipher {
            Cipher::Aes256Gcm(c) => seal_with(c.as_ref(), nonce, aad, &mut buf),
            Cipher::Aes128Gcm(c) => seal_with(c.as_ref(), nonce, aad, &mut buf),
            Cipher::ChaCha20Poly1305(c) => seal_with(c.as_ref(), nonce, aad, &mut buf),
            Cipher::Sm4Gcm(c) => seal_with(c.as_ref(), nonce, aad, &mut buf),
            Cipher::Aes256GcmSiv(c) => seal_with(c.as_ref(), nonce, aad, &mut buf),
        }
        .unwrap();
        buf.extend_from_slice(&tag);
        buf
    }
}
