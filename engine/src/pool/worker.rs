//! One crypto worker: takes jobs off the shared channel, keeps its own cache of prepared keys and
//! its own usage counters, and never shares a working key with another thread.

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, select};
use quick_cache::unsync::Cache;

use super::{Control, Done, Item, ItemResults, Job, UsageRecord};
use crate::algorithm::Operation;
use crate::ciphertext::{self, Kind};
use crate::clock::{Clock, Timestamp};
use crate::crypto::PreparedKey;
use crate::error::EngineError;
use crate::ids::{KeyId, KeyVersion};
use crate::keyring::KeyEntry;
use crate::secret::{KeyMaterial, PlaintextBuf};
use crate::wrap::KeyUnwrapper;

/// How often usage counters go to the recorder.
const FLUSH_EVERY: Duration = Duration::from_secs(1);

struct Prepared {
    key: PreparedKey,
    #[cfg(feature = "test-hooks")]
    material: KeyMaterial,
}

pub(super) struct Setup {
    pub jobs: Receiver<Job>,
    pub control: Receiver<Control>,
    pub usage: Sender<Vec<UsageRecord>>,
    pub unwrapper: Arc<dyn KeyUnwrapper>,
    pub clock: Arc<dyn Clock>,
    pub capacity: usize,
}

type UsageKey = (KeyId, KeyVersion, Arc<str>, Operation);

struct Worker {
    cache: Cache<(KeyId, KeyVersion), Prepared>,
    unwrapper: Arc<dyn KeyUnwrapper>,
    clock: Arc<dyn Clock>,
    counts: HashMap<UsageKey, (u64, Timestamp)>,
    usage: Sender<Vec<UsageRecord>>,
    flushed: Instant,
}

pub(super) fn run(setup: Setup) {
    let mut worker = Worker {
        cache: Cache::new(setup.capacity),
        unwrapper: setup.unwrapper,
        clock: setup.clock,
        counts: HashMap::new(),
        usage: setup.usage,
        flushed: Instant::now(),
    };
    loop {
        select! {
            recv(setup.control) -> msg => {
                if let Ok(control) = msg {
                    worker.control(control);
                }
            }
            recv(setup.jobs) -> job => match job {
                // A bug that panics on one job must not take the worker down: the job's caller
                // sees its reply channel closed (an internal error) and the worker goes on.
                Ok(job) => {
                    if catch_unwind(AssertUnwindSafe(|| worker.handle(job))).is_err() {
                        tracing::error!("a crypto job panicked; the worker continues");
                    }
                }
                Err(_) => break,
            },
            default(FLUSH_EVERY) => {}
        }
        if worker.flushed.elapsed() >= FLUSH_EVERY {
            worker.flush();
        }
    }
    worker.flush();
}

fn random(len: usize) -> PlaintextBuf {
    let mut bytes = PlaintextBuf::new(vec![0u8; len]);
    rand::fill(&mut bytes[..]);
    bytes
}

impl Worker {
    fn control(&mut self, control: Control) {
        match control {
            Control::Purge { key, versions } => {
                for v in versions {
                    self.cache.remove(&(key, v));
                }
            }
            #[cfg(feature = "test-hooks")]
            Control::Cached { key, reply } => {
                let versions = self
                    .cache
                    .iter()
                    .filter(|((k, _), _)| *k == key)
                    .map(|((_, v), _)| *v)
                    .collect();
                let _ = reply.send(versions);
            }
        }
    }

    fn flush(&mut self) {
        self.flushed = Instant::now();
        if self.counts.is_empty() {
            return;
        }
        let batch: Vec<UsageRecord> = self
            .counts
            .iter()
            .map(
                |((key, version, principal, operation), (count, last))| UsageRecord {
                    key: *key,
                    version: *version,
                    principal: Arc::clone(principal),
                    operation: *operation,
                    count: *count,
                    last_used: *last,
                },
            )
            .collect();
        // A full channel keeps the counts here until the next flush: nothing is lost.
        if self.usage.try_send(batch).is_ok() {
            self.counts.clear();
        }
    }

    fn handle(&mut self, job: Job) {
        match job {
            Job::Items {
                key,
                caller,
                items,
                reply,
            } => {
                let _ = reply.send(self.items(&key, &caller, items));
            }
            Job::PublicKey {
                key,
                version,
                reply,
            } => {
                let result = key
                    .decrypting_version(version)
                    .map(|v| v.version)
                    .and_then(|v| self.prepared(&key, v))
                    .and_then(|p| p.key.public_key_pem());
                let _ = reply.send(result);
            }
            #[cfg(feature = "test-hooks")]
            Job::Reveal {
                key,
                version,
                reply,
            } => {
                let result = self
                    .prepared(&key, version)
                    .map(|p| p.material.expose().to_vec());
                let _ = reply.send(result);
            }
        }
    }

    /// The prepared key for a version, unwrapping it through the HSM actor on a miss.
    fn prepared(&mut self, key: &KeyEntry, version: KeyVersion) -> Result<&Prepared, EngineError> {
        let slot = (key.id, version);
        if self.cache.get(&slot).is_none() {
            let wrapped = key
                .version(version)
                .and_then(|v| v.wrapped.as_ref())
                .ok_or(EngineError::KeyVersionDestroyed)?;
            let material: KeyMaterial = self
                .unwrapper
                .unwrap_key(&key.wrap_context(version), wrapped)?;
            let prepared = PreparedKey::new(key.algorithm, key.settings.deterministic, &material)?;
            self.cache.insert(
                slot,
                Prepared {
                    key: prepared,
                    #[cfg(feature = "test-hooks")]
                    material,
                },
            );
        }
        self.cache.get(&slot).ok_or(EngineError::KeyMaterialCorrupt)
    }

    fn items(
        &mut self,
        key: &KeyEntry,
        caller: &Arc<str>,
        items: Vec<Item>,
    ) -> Result<ItemResults, EngineError> {
        let mut results = Vec::with_capacity(items.len());
        let now = self.clock.now();
        for item in items {
            let op = item.operation();
            match self.item(key, item) {
                Ok(done) => {
                    let slot = self
                        .counts
                        .entry((key.id, done.version(), Arc::clone(caller), op))
                        .or_insert((0, now));
                    slot.0 += 1;
                    slot.1 = now;
                    results.push(Ok(done));
                }
                Err(e) if e.is_user_error() => results.push(Err(e)),
                Err(e) => return Err(e),
            }
        }
        Ok(results)
    }

    fn encrypt(
        &mut self,
        key: &KeyEntry,
        context: &[u8],
        plaintext: &[u8],
    ) -> Result<(String, KeyVersion), EngineError> {
        let version = key.encrypting_version()?.version;
        let ciphertext = self
            .prepared(key, version)?
            .key
            .encrypt(&key.id, version, context, plaintext)?;
        Ok((ciphertext, version))
    }

    fn decrypt(
        &mut self,
        key: &KeyEntry,
        ciphertext: &str,
        context: &[u8],
    ) -> Result<(PlaintextBuf, KeyVersion), EngineError> {
        let parsed = ciphertext::parse(ciphertext)?;
        let version = key.decrypting_version(parsed.version)?.version;
        let plaintext = self
            .prepared(key, version)?
            .key
            .decrypt(&key.id, parsed, context)?;
        Ok((plaintext, version))
    }

    fn item(&mut self, key: &KeyEntry, item: Item) -> Result<Done, EngineError> {
        Ok(match item {
            Item::Encrypt { plaintext, context } => {
                let (ciphertext, version) = self.encrypt(key, &context, &plaintext)?;
                Done::Ciphertext {
                    ciphertext,
                    version,
                }
            }
            Item::Decrypt {
                ciphertext,
                context,
            } => {
                let (plaintext, version) = self.decrypt(key, &ciphertext, &context)?;
                Done::Plaintext { plaintext, version }
            }
            Item::Rewrap {
                ciphertext,
                context,
            } => {
                let (plaintext, _) = self.decrypt(key, &ciphertext, &context)?;
                let (ciphertext, version) = self.encrypt(key, &context, &plaintext)?;
                Done::Ciphertext {
                    ciphertext,
                    version,
                }
            }
            Item::DataKey {
                bytes,
                context,
                return_plaintext,
            } => {
                let data_key = random(bytes);
                let (ciphertext, version) = self.encrypt(key, &context, &data_key)?;
                Done::DataKey {
                    ciphertext,
                    version,
                    plaintext: return_plaintext.then_some(data_key),
                }
            }
            Item::Sign {
                input,
                prehashed,
                scheme,
            } => {
                let version = key.encrypting_version()?.version;
                let signature = self
                    .prepared(key, version)?
                    .key
                    .sign(version, &input, prehashed, scheme)?;
                Done::Signature { signature, version }
            }
            Item::Verify {
                input,
                prehashed,
                scheme,
                signature,
            } => {
                let parsed = ciphertext::parse_as(Kind::Signature, &signature)?;
                let version = key.decrypting_version(parsed.version)?.version;
                let valid = self.prepared(key, version)?.key.verify(
                    &input,
                    prehashed,
                    scheme,
                    &parsed.body,
                )?;
                Done::Valid { valid, version }
            }
            Item::Hmac { input } => {
                let version = key.encrypting_version()?.version;
                let hmac = self.prepared(key, version)?.key.mac(version, &input)?;
                Done::Hmac { hmac, version }
            }
            Item::HmacVerify { input, hmac } => {
                let parsed = ciphertext::parse_as(Kind::Hmac, &hmac)?;
                let version = key.decrypting_version(parsed.version)?.version;
                let valid = self
                    .prepared(key, version)?
                    .key
                    .mac_verify(&input, &parsed.body)?;
                Done::Valid { valid, version }
            }
        })
    }
}
