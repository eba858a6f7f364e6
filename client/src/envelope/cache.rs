//! The data-key cache, as the AWS Encryption SDK's caching materials manager has it: an
//! encryption data key is reused for messages with the same KMS key and context until it is
//! `max_age` old, has encrypted `max_messages` messages or `max_bytes` bytes; decryption keys
//! are kept until `max_age`. At most `capacity` of each; the oldest goes first. An entry holds
//! the prepared AES-256-GCM cipher only (zeroized when the entry is dropped, which is when the
//! last call using it ends after its eviction) and never the raw key.
//!
//! Partitioning by context keeps the KMS's binding: a data key is only ever used with the
//! context the KMS bound it to, so reading a message still needs `decrypt` on that context.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::KeyInit;

use crate::clock::Clock;
use crate::config::CacheLimits;
use crate::error::{Error, Result};
use crate::secret::DataKeyPlaintext;

/// A data key ready to encrypt: the cipher, the header every message under it starts with, and
/// its associated data (header and context).
pub struct EncryptionKey {
    pub cipher: Aes256Gcm,
    pub header: Vec<u8>,
    pub aad: Vec<u8>,
    created: Instant,
    messages: AtomicU64,
    bytes: AtomicU64,
}

/// A data key ready to decrypt.
pub struct DecryptionKey {
    pub cipher: Aes256Gcm,
    created: Instant,
}

impl DecryptionKey {
    pub fn new(cipher: Aes256Gcm, created: Instant) -> Self {
        Self { cipher, created }
    }
}

pub fn cipher(key: &DataKeyPlaintext) -> Result<Aes256Gcm> {
    Aes256Gcm::new_from_slice(key.expose()).map_err(|_| Error::InvalidResponse {
        node: String::new(),
        detail: "a data key that is not 256 bits".into(),
    })
}

impl EncryptionKey {
    pub fn new(cipher: Aes256Gcm, header: Vec<u8>, aad: Vec<u8>, now: Instant) -> Self {
        Self {
            cipher,
            header,
            aad,
            created: now,
            messages: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
        }
    }

    /// Counts one message of `len` bytes against the limits; `false` (and the entry is spent)
    /// if it would exceed one.
    fn reserve(&self, len: u64, limits: &CacheLimits, now: Instant) -> bool {
        if now.saturating_duration_since(self.created) >= limits.max_age {
            return false;
        }
        let messages = self.messages.fetch_add(1, Ordering::Relaxed) + 1;
        let bytes = self
            .bytes
            .fetch_add(len, Ordering::Relaxed)
            .saturating_add(len);
        messages <= limits.max_messages && bytes <= limits.max_bytes
    }
}

/// (KMS key, context) → data key.
type Partitions = HashMap<String, HashMap<Vec<u8>, Arc<EncryptionKey>>>;
/// (KMS key, wrapped data key, context) → data key.
type Unwrapped = HashMap<(String, String, Vec<u8>), Arc<DecryptionKey>>;

pub struct DataKeyCache {
    limits: CacheLimits,
    clock: Arc<dyn Clock>,
    /// Read-locked on every message (a hit counts against the entry's atomics), write-locked
    /// only to add or evict: callers on every runtime thread hit it at once.
    encrypting: RwLock<Partitions>,
    decrypting: Mutex<Unwrapped>,
    /// One fetch from the KMS at a time: callers that missed together wait for one data key
    /// instead of each fetching their own.
    fill: tokio::sync::Mutex<()>,
}

/// What a fetch from the KMS gives: the plaintext key, its `kms:` ciphertext.
pub struct Fetched {
    pub plaintext: DataKeyPlaintext,
    pub wrapped: String,
}

impl DataKeyCache {
    pub fn new(limits: CacheLimits, clock: Arc<dyn Clock>) -> Self {
        Self {
            limits,
            clock,
            encrypting: RwLock::new(HashMap::new()),
            decrypting: Mutex::new(HashMap::new()),
            fill: tokio::sync::Mutex::new(()),
        }
    }

    fn cached_encryption(&self, key: &str, context: &[u8], len: u64) -> Option<Arc<EncryptionKey>> {
        let now = self.clock.now();
        let spent = {
            let parts = self.encrypting.read().ok()?;
            let entry = parts.get(key)?.get(context)?;
            if entry.reserve(len, &self.limits, now) {
                return Some(Arc::clone(entry));
            }
            Arc::clone(entry)
        };
        // Spent or too old: out (unless another call replaced it already), so that the next
        // call fetches a new one. The cipher is zeroized when the calls still using it are done.
        let mut parts = self.encrypting.write().ok()?;
        if let Some(part) = parts.get_mut(key)
            && part.get(context).is_some_and(|e| Arc::ptr_eq(e, &spent))
        {
            part.remove(context);
        }
        None
    }

    /// A data key for one message of `len` bytes under (`key`, `context`): a cached one, or a
    /// new one from `fetch` (then cached). `make` builds the entry (header, associated data).
    /// Answers the key and whether it came from the cache.
    pub async fn for_encryption<F, Fut>(
        &self,
        key: &str,
        context: &[u8],
        len: u64,
        fetch: F,
        make: impl FnOnce(Fetched, Instant) -> Result<EncryptionKey>,
    ) -> Result<(Arc<EncryptionKey>, bool)>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Fetched>>,
    {
        if len > self.limits.max_bytes {
            // Bigger than a cached key may ever encrypt: a key of its own, never cached.
            let entry = make(fetch().await?, self.clock.now())?;
            return Ok((Arc::new(entry), false));
        }
        if let Some(hit) = self.cached_encryption(key, context, len) {
            return Ok((hit, true));
        }
        let _one_at_a_time = self.fill.lock().await;
        if let Some(hit) = self.cached_encryption(key, context, len) {
            return Ok((hit, true));
        }
        let entry = Arc::new(make(fetch().await?, self.clock.now())?);
        let now = self.clock.now();
        if !entry.reserve(len, &self.limits, now) {
            // Limits too small for even one message (max_age zero): use it once, uncached.
            return Ok((entry, false));
        }
        if let Ok(mut parts) = self.encrypting.write() {
            let count: usize = parts.values().map(HashMap::len).sum();
            if count >= self.limits.capacity {
                evict_oldest_encryption(&mut parts);
            }
            parts
                .entry(key.to_owned())
                .or_default()
                .insert(context.to_vec(), Arc::clone(&entry));
        }
        Ok((entry, false))
    }

    /// The data key of an envelope: cached, or unwrapped by `fetch` (then cached).
    pub async fn for_decryption<F, Fut>(
        &self,
        key: &str,
        wrapped: &str,
        context: &[u8],
        fetch: F,
    ) -> Result<(Arc<DecryptionKey>, bool)>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<DataKeyPlaintext>>,
    {
        let id = (key.to_owned(), wrapped.to_owned(), context.to_vec());
        let now = self.clock.now();
        if let Ok(mut map) = self.decrypting.lock() {
            match map.get(&id) {
                Some(e) if now.saturating_duration_since(e.created) < self.limits.max_age => {
                    return Ok((Arc::clone(e), true));
                }
                Some(_) => {
                    map.remove(&id);
                }
                None => {}
            }
        }
        let entry = Arc::new(DecryptionKey::new(
            cipher(&fetch().await?)?,
            self.clock.now(),
        ));
        if let Ok(mut map) = self.decrypting.lock() {
            let oldest = map
                .iter()
                .min_by_key(|(_, e)| e.created)
                .map(|(k, _)| k.clone());
            if let Some(oldest) = oldest.filter(|_| map.len() >= self.limits.capacity) {
                map.remove(&oldest);
            }
            map.insert(id, Arc::clone(&entry));
        }
        Ok((entry, false))
    }

    /// Cached encryption and decryption keys (tests, statistics).
    pub fn len(&self) -> (usize, usize) {
        let enc = self
            .encrypting
            .read()
            .map(|p| p.values().map(HashMap::len).sum())
            .unwrap_or(0);
        let dec = self.decrypting.lock().map(|m| m.len()).unwrap_or(0);
        (enc, dec)
    }

    /// Drops every cached key (each is zeroized once no call uses it).
    pub fn clear(&self) {
        if let Ok(mut p) = self.encrypting.write() {
            p.clear();
        }
        if let Ok(mut m) = self.decrypting.lock() {
            m.clear();
        }
    }
}

fn evict_oldest_encryption(parts: &mut Partitions) {
    let oldest = parts
        .iter()
        .flat_map(|(k, part)| part.iter().map(move |(c, e)| (k, c, e.created)))
        .min_by_key(|(_, _, created)| *created)
        .map(|(k, c, _)| (k.clone(), c.clone()));
    let Some((key, context)) = oldest else {
        return;
    };
    if let Some(part) = parts.get_mut(&key) {
        part.remove(&context);
        if part.is_empty() {
            parts.remove(&key);
        }
    }
}
