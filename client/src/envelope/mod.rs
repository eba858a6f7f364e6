//! Envelope encryption: data keys from the KMS (`datakey`), AES-256-GCM in the application's
//! own process, a self-describing header (format.rs) so that the envelope alone says which KMS
//! key and data key to ask for, and a cache of data keys (cache.rs) so that most messages cost
//! no KMS call at all. Streams of any size are encrypted in authenticated chunks (stream.rs).
//!
//! Trade-off, as with any envelope scheme: while a data key is cached, the application holds
//! it, and the KMS sees (and audits, and counts) one `datakey` call per cached key rather than
//! one call per message. The cache limits bound that exposure.

pub(crate) mod cache;
pub(crate) mod format;
pub(crate) mod stream;
#[cfg(test)]
mod tests;

use aes_gcm::aead::AeadInOut;
use zeroize::Zeroizing;

use self::cache::{DecryptionKey, EncryptionKey, Fetched, cipher};
use self::format::{MESSAGE, NONCE_LEN, TAG_LEN, associated_data, parse_header, write_header};
use crate::client::{Client, check_key_name};
use crate::error::{Error, Result};
use crate::secret::DataKeyPlaintext;
use crate::stats::Counters;

/// Seals one message under a cached data key: header ‖ nonce ‖ ciphertext ‖ tag.
pub(crate) fn seal(key: &EncryptionKey, plaintext: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(key.header.len() + NONCE_LEN + plaintext.len() + TAG_LEN);
    out.extend_from_slice(&key.header);
    let mut nonce = [0u8; NONCE_LEN];
    rand::fill(&mut nonce[..]);
    out.extend_from_slice(&nonce);
    let start = out.len();
    out.extend_from_slice(plaintext);
    let nonce = aes_gcm::aead::Nonce::<aes_gcm::Aes256Gcm>::from(nonce);
    let tag = key
        .cipher
        .encrypt_inout_detached(&nonce, &key.aad, (&mut out[start..]).into())
        .map_err(|_| Error::InvalidArgument("the message is too long for AES-GCM"))?;
    out.extend_from_slice(&tag);
    Ok(out)
}

/// Opens a message's body (nonce ‖ ciphertext ‖ tag) with its associated data.
pub(crate) fn open(key: &DecryptionKey, aad: &[u8], body: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    if body.len() < NONCE_LEN + TAG_LEN {
        return Err(Error::MalformedEnvelope("truncated message"));
    }
    let (nonce, rest) = body.split_at(NONCE_LEN);
    let (ciphertext, tag) = rest.split_at(rest.len() - TAG_LEN);
    let nonce = aes_gcm::aead::Nonce::<aes_gcm::Aes256Gcm>::try_from(nonce)
        .map_err(|_| Error::MalformedEnvelope("nonce"))?;
    let tag = aes_gcm::aead::Tag::<aes_gcm::Aes256Gcm>::try_from(tag)
        .map_err(|_| Error::MalformedEnvelope("tag"))?;
    let mut out = Zeroizing::new(ciphertext.to_vec());
    key.cipher
        .decrypt_inout_detached(&nonce, aad, (&mut out[..]).into(), &tag)
        .map_err(|_| Error::DecryptionFailed)?;
    Ok(out)
}

impl Client {
    /// Encrypts in this process under a data key of `key`, fetched from the KMS or reused from
    /// the cache. The envelope carries the wrapped data key; `context` is bound by the KMS to
    /// the data key and by AES-GCM to the message, and is needed to decrypt.
    ///
    /// Messages share a cached data key only when they have the same key and context: a
    /// different context per message (an order id) means a `datakey` call per message.
    pub async fn encrypt_local(
        &self,
        key: &str,
        plaintext: &[u8],
        context: Option<&[u8]>,
    ) -> Result<Vec<u8>> {
        check_key_name(key)?;
        // A cache hit awaits nothing: without this, a task encrypting in a loop would never
        // let other tasks of its runtime thread run.
        tokio::task::coop::consume_budget().await;
        let len = u64::try_from(plaintext.len()).unwrap_or(u64::MAX);
        let (entry, hit) = self
            .inner
            .cache
            .for_encryption(
                key,
                context.unwrap_or_default(),
                len,
                || self.fetch_datakey(key, context),
                |fetched, now| {
                    let mut header = Vec::with_capacity(64 + fetched.wrapped.len());
                    write_header(&mut header, MESSAGE, key, &fetched.wrapped)?;
                    let aad = associated_data(&header, context);
                    Ok(EncryptionKey::new(
                        cipher(&fetched.plaintext)?,
                        header,
                        aad,
                        now,
                    ))
                },
            )
            .await?;
        if hit {
            Counters::add(&self.inner.counters.cache_hits, 1);
        }
        seal(&entry, plaintext)
    }

    /// Decrypts what [`Client::encrypt_local`] made, with the same context. The data key is
    /// unwrapped by the KMS (the caller needs `decrypt` on the key) or taken from the cache.
    pub async fn decrypt_local(
        &self,
        envelope: &[u8],
        context: Option<&[u8]>,
    ) -> Result<Zeroizing<Vec<u8>>> {
        tokio::task::coop::consume_budget().await;
        let (header, header_len) = parse_header(envelope)?;
        if header.format != MESSAGE {
            return Err(Error::MalformedEnvelope(
                "a stream envelope: use decrypt_stream",
            ));
        }
        let (key, hit) = self
            .inner
            .cache
            .for_decryption(
                header.key,
                header.wrapped,
                context.unwrap_or_default(),
                || self.unwrap_datakey(header.key, header.wrapped, context),
            )
            .await?;
        if hit {
            Counters::add(&self.inner.counters.cache_hits, 1);
        }
        let aad = associated_data(&envelope[..header_len], context);
        open(&key, &aad, &envelope[header_len..])
    }

    /// Cached data keys: (for encryption, for decryption).
    pub fn cached_data_keys(&self) -> (usize, usize) {
        self.inner.cache.len()
    }

    /// Forgets every cached data key (each is zeroized once no call uses it).
    pub fn clear_data_key_cache(&self) {
        self.inner.cache.clear();
    }

    pub(crate) async fn fetch_datakey(&self, key: &str, context: Option<&[u8]>) -> Result<Fetched> {
        let dk = self.datakey(key, 256, context).await?;
        Counters::add(&self.inner.counters.datakeys_fetched, 1);
        Ok(Fetched {
            plaintext: dk.plaintext,
            wrapped: dk.ciphertext,
        })
    }

    pub(crate) async fn unwrap_datakey(
        &self,
        key: &str,
        wrapped: &str,
        context: Option<&[u8]>,
    ) -> Result<DataKeyPlaintext> {
        let plaintext = self.decrypt(key, wrapped, context).await?;
        Counters::add(&self.inner.counters.datakeys_fetched, 1);
        Ok(DataKeyPlaintext::new(plaintext))
    }
}
