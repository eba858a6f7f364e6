//! One crypto worker: takes jobs off the shared channel, keeps its own cache of prepared keys and
//! its own usage counters. A version it unwraps is handed to the other workers of its lane (over
//! their control channels, the material zeroized on drop), so that each holds what any holds.

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TryRecvError, select};
use quick_cache::unsync::Cache;

use super::job::{Control, ItemResults, ItemsJob, Job};
use super::work::{Done, Item, Params, UsageRecord};
use crate::algorithm::{Algorithm, Operation};
use crate::ciphertext::{self, Kind};
use crate::clock::{Clock, Timestamp};
use crate::crypto::PreparedKey;
use crate::crypto::hash::{HashAlgorithm, transit_hmac_key};
use crate::error::EngineError;
use crate::ids::{KeyId, KeyVersion};
use crate::keyring::{KeyEntry, KeySettings};
use crate::secret::{KeyMaterial, PlaintextBuf};
use crate::wrap::KeyUnwrapper;

mod password;
mod transit;

/// How often usage counters go to the recorder.
const FLUSH_EVERY: Duration = Duration::from_secs(1);

struct Prepared {
    key: PreparedKey,
    /// Transit's HMAC key for this version: the material of an HMAC key, an HKDF-SHA256
    /// derivation of it for any other (so it is never the key that encrypts or signs).
    hmac: KeyMaterial,
    /// A derived key's version material, from which each context's key is derived.
    root: Option<KeyMaterial>,
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
    pub priority: Priority,
    pub stats: Arc<CacheStats>,
    /// The other workers of the lane, to share what this one unwraps.
    pub siblings: Vec<Sender<Control>>,
    /// Purges sent to the lane so far (bumped before each purge is sent).
    pub purges: Arc<AtomicU64>,
}

/// A worker's prepared-key cache hits and misses, read by the metrics endpoint.
#[derive(Default, Debug)]
pub struct CacheStats {
    hits: AtomicU64,
    misses: AtomicU64,
}

impl CacheStats {
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    pub fn misses(&self) -> u64 {
        self.misses.load(Ordering::Relaxed)
    }
}

type UsageKey = (KeyId, KeyVersion, Arc<str>, Operation);

struct Worker {
    cache: Cache<(KeyId, KeyVersion), Prepared>,
    unwrapper: Arc<dyn KeyUnwrapper>,
    clock: Arc<dyn Clock>,
    /// The clock, read once per message (a batch's jobs share it).
    now: Timestamp,
    counts: HashMap<UsageKey, (u64, Timestamp), foldhash::fast::RandomState>,
    usage: Sender<Vec<UsageRecord>>,
    flushed: Instant,
    stats: Arc<CacheStats>,
    siblings: Vec<Sender<Control>>,
    purges: Arc<AtomicU64>,
}

/// A worker thread's scheduling (Linux applies both per thread).
#[derive(Clone, Copy, Debug)]
pub(super) enum Priority {
    Normal,
    /// SCHED_IDLE: preempted by any other runnable thread as soon as it wakes.
    Idle,
    Nice(i32),
}

impl Priority {
    fn apply(self) {
        let result = match self {
            Priority::Normal | Priority::Nice(0) => return,
            Priority::Idle => {
                use thread_priority::unix::{
                    NormalThreadSchedulePolicy, ThreadSchedulePolicy,
                    set_thread_priority_and_policy, thread_native_id,
                };
                set_thread_priority_and_policy(
                    thread_native_id(),
                    thread_priority::ThreadPriority::Min,
                    ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle),
                )
                .map_err(|e| format!("{e:?}"))
            }
            Priority::Nice(nice) => {
                rustix::process::setpriority_process(Some(rustix::thread::gettid()), nice)
                    .map_err(|e| e.to_string())
            }
        };
        if let Err(error) = result {
            tracing::warn!(%error, priority = ?self, "could not lower a slow-lane worker's priority");
        }
    }
}

pub(super) fn run(setup: Setup) {
    setup.priority.apply();
    let mut worker = Worker {
        cache: Cache::new(setup.capacity),
        unwrapper: setup.unwrapper,
        now: setup.clock.now(),
        clock: setup.clock,
        counts: HashMap::default(),
        usage: setup.usage,
        flushed: Instant::now(),
        stats: setup.stats,
        siblings: setup.siblings,
        purges: setup.purges,
    };
    while let Some(job) = next(&setup.jobs, &setup.control, &mut worker) {
        // A bug that panics on one job must not take the worker down: the job's caller sees its
        // reply channel closed (an internal error) and the worker goes on.
        if catch_unwind(AssertUnwindSafe(|| worker.handle(job))).is_err() {
            tracing::error!("a crypto job panicked; the worker continues");
        }
        if worker.flushed.elapsed() >= FLUSH_EVERY {
            worker.flush();
        }
    }
    worker.flush();
}

/// The next job, handling control messages on the way; `None` once the pool is gone. A job
/// already waiting is taken without sleeping; otherwise the worker sleeps on both channels (and
/// wakes at least every [`FLUSH_EVERY`] to flush its usage counts). Polling before sleeping was
/// measured and lost: there is no idle core to poll on (docs/performance.md).
fn next(jobs: &Receiver<Job>, control: &Receiver<Control>, worker: &mut Worker) -> Option<Job> {
    loop {
        while let Ok(c) = control.try_recv() {
            worker.control(c);
        }
        match jobs.try_recv() {
            Ok(job) => return Some(job),
            Err(TryRecvError::Disconnected) => return None,
            Err(TryRecvError::Empty) => {}
        }
        select! {
            recv(control) -> msg => {
                if let Ok(c) = msg {
                    worker.control(c);
                }
            }
            recv(jobs) -> job => return job.ok(),
            default(FLUSH_EVERY) => {}
        }
        if worker.flushed.elapsed() >= FLUSH_EVERY {
            worker.flush();
        }
    }
}

/// A version's prepared key, from its unwrapped material.
fn prepare(
    algorithm: Algorithm,
    settings: &KeySettings,
    material: KeyMaterial,
) -> Result<Prepared, EngineError> {
    Ok(Prepared {
        key: PreparedKey::for_purpose(algorithm, settings, &material)?,
        hmac: transit_hmac_key(algorithm, &material),
        root: settings
            .derived
            .then(|| KeyMaterial::from_slice(material.expose())),
        #[cfg(feature = "test-hooks")]
        material,
    })
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
            Control::Resize(capacity) => self.cache.set_capacity(capacity),
            Control::Share {
                key,
                version,
                algorithm,
                settings,
                material,
                purges,
            } => {
                // A purge sent since the unwrap began may concern this version: drop it (the
                // next use unwraps again, as before sharing existed).
                if self.purges.load(Ordering::Acquire) != purges
                    || self.cache.get(&(key, version)).is_some()
                {
                    return;
                }
                match prepare(algorithm, &settings, material) {
                    Ok(prepared) => self.cache.insert((key, version), prepared),
                    Err(error) => tracing::warn!(%error, "could not prepare a shared key version"),
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
        self.now = self.clock.now();
        match job {
            Job::Items(job) => self.job(job),
            Job::Batch { work, reply } => {
                let results = work
                    .into_iter()
                    .map(|w| {
                        // One caller's panic must not cost the others their answers.
                        catch_unwind(AssertUnwindSafe(|| self.items(&w.key, &w.caller, w.items)))
                            .unwrap_or_else(|_| {
                                tracing::error!("a crypto job panicked; the worker continues");
                                Err(EngineError::WorkerGone)
                            })
                    })
                    .collect();
                let _ = reply.send(results);
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

    fn job(&mut self, job: ItemsJob) {
        let _ = job.reply.send(self.items(&job.key, &job.caller, job.items));
    }

    /// The prepared key for a version, unwrapping it through the HSM actor on a miss.
    fn prepared(&mut self, key: &KeyEntry, version: KeyVersion) -> Result<&Prepared, EngineError> {
        let slot = (key.id, version);
        if self.cache.get(&slot).is_some() {
            self.stats.hits.fetch_add(1, Ordering::Relaxed);
        } else {
            self.stats.misses.fetch_add(1, Ordering::Relaxed);
            let wrapped = key
                .version(version)
                .and_then(|v| v.wrapped.as_ref())
                .ok_or(EngineError::KeyVersionDestroyed)?;
            let purges = self.purges.load(Ordering::Acquire);
            let material: KeyMaterial = self
                .unwrapper
                .unwrap_key(&key.wrap_context(version), wrapped)?;
            for sibling in &self.siblings {
                let _ = sibling.send(Control::Share {
                    key: key.id,
                    version,
                    algorithm: key.algorithm,
                    settings: key.settings,
                    material: KeyMaterial::from_slice(material.expose()),
                    purges,
                });
            }
            let prepared = prepare(key.algorithm, &key.settings, material)?;
            self.cache.insert(slot, prepared);
        }
        self.cache.get(&slot).ok_or(EngineError::KeyMaterialCorrupt)
    }

    fn items(
        &mut self,
        key: &KeyEntry,
        caller: &Arc<str>,
        items: Vec<Item>,
    ) -> Result<ItemResults, EngineError> {
        let Some(op) = items.first().map(Item::operation) else {
            return Ok(Vec::new());
        };
        let mut results = Vec::with_capacity(items.len());
        // Successes per version, counted here and added to the usage map once per version: the
        // items of a job share the key, the caller and the operation.
        let mut used: Vec<(KeyVersion, u64)> = Vec::new();
        for item in items {
            match self.item(key, item) {
                Ok(done) => {
                    let version = done.version();
                    match used.iter_mut().find(|(v, _)| *v == version) {
                        Some((_, n)) => *n += 1,
                        None => used.push((version, 1)),
                    }
                    results.push(Ok(done));
                }
                Err(e) if e.is_user_error() => results.push(Err(e)),
                Err(e) => return Err(e),
            }
        }
        if !used.is_empty() {
            let now = self.now;
            for (version, n) in used {
                let slot = self
                    .counts
                    .entry((key.id, version, Arc::clone(caller), op))
                    .or_insert((0, now));
                slot.0 += n;
                slot.1 = now;
            }
        }
        Ok(results)
    }

    fn encrypt(
        &mut self,
        key: &KeyEntry,
        context: &[u8],
        plaintext: &[u8],
        params: &Params,
    ) -> Result<(String, KeyVersion), EngineError> {
        let version = key.encrypting_version_at(params.version)?.version;
        let prepared = self.prepared(key, version)?;
        let ciphertext = match transit::derived(key, prepared.root.as_ref(), params)? {
            Some(derived) => {
                let header = ciphertext::header(version);
                let aad = ciphertext::associated_data(&header, &key.id, context);
                ciphertext::format(version, &derived.seal(&aad, plaintext)?)
            }
            None => prepared.key.encrypt(&key.id, version, context, plaintext)?,
        };
        Ok((ciphertext, version))
    }

    fn decrypt(
        &mut self,
        key: &KeyEntry,
        ciphertext: &str,
        context: &[u8],
        params: &Params,
    ) -> Result<(PlaintextBuf, KeyVersion), EngineError> {
        let parsed = ciphertext::parse(ciphertext)?;
        let version = key.decrypting_version(parsed.version)?.version;
        let prepared = self.prepared(key, version)?;
        let plaintext = match transit::derived(key, prepared.root.as_ref(), params)? {
            Some(derived) => {
                let aad = ciphertext::associated_data(&parsed.header, &key.id, context);
                derived.open(&aad, parsed.body)?
            }
            None => prepared.key.decrypt(&key.id, parsed, context)?,
        };
        Ok((plaintext, version))
    }

    fn item(&mut self, key: &KeyEntry, item: Item) -> Result<Done, EngineError> {
        match item {
            Item::With(inner) => {
                let (params, item) = *inner;
                self.item_with(key, item, &params)
            }
            item => self.item_with(key, item, &Params::NONE),
        }
    }

    fn item_with(
        &mut self,
        key: &KeyEntry,
        item: Item,
        params: &Params,
    ) -> Result<Done, EngineError> {
        Ok(match item {
            Item::With(_) => {
                return Err(EngineError::InvalidArgument("nested item options".into()));
            }
            Item::Encrypt { plaintext, context } => {
                let (ciphertext, version) = self.encrypt(key, &context, &plaintext, params)?;
                Done::Ciphertext {
                    ciphertext,
                    version,
                }
            }
            Item::Decrypt {
                ciphertext,
                context,
            } => {
                let (plaintext, version) = self.decrypt(key, &ciphertext, &context, params)?;
                Done::Plaintext { plaintext, version }
            }
            Item::Rewrap {
                ciphertext,
                context,
            } => {
                let (plaintext, _) = self.decrypt(key, &ciphertext, &context, params)?;
                let (ciphertext, version) = self.encrypt(key, &context, &plaintext, params)?;
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
                let (ciphertext, version) = self.encrypt(key, &context, &data_key, params)?;
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
                let version = key.encrypting_version_at(params.version)?.version;
                let signature = self.prepared(key, version)?.key.sign_with(
                    version,
                    &input,
                    prehashed,
                    scheme,
                    params.hash,
                )?;
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
                let valid = self.prepared(key, version)?.key.verify_with(
                    &input,
                    prehashed,
                    scheme,
                    params.hash,
                    &parsed.body,
                )?;
                Done::Valid { valid, version }
            }
            Item::Hmac { input } => {
                let version = key.encrypting_version_at(params.version)?.version;
                let prepared = self.prepared(key, version)?;
                let hmac = if params.transit_hmac {
                    let hash = params.hash.unwrap_or(HashAlgorithm::Sha2_256);
                    ciphertext::format(version, &hash.hmac(prepared.hmac.expose(), &input))
                } else {
                    prepared.key.mac(version, &input)?
                };
                Done::Hmac { hmac, version }
            }
            Item::HmacVerify { input, hmac } => {
                let parsed = ciphertext::parse_as(Kind::Hmac, &hmac)?;
                let version = key.decrypting_version(parsed.version)?.version;
                let prepared = self.prepared(key, version)?;
                let valid = if params.transit_hmac {
                    let hash = params.hash.unwrap_or(HashAlgorithm::Sha2_256);
                    hash.hmac_verify(prepared.hmac.expose(), &input, &parsed.body)
                } else {
                    prepared.key.mac_verify(&input, &parsed.body)?
                };
                Done::Valid { valid, version }
            }
            Item::PasswordProtect {
                encrypted,
                salt,
                challenges,
            } => self.password_protect(key, &encrypted, &salt, &challenges)?,
            Item::PasswordVerify {
                encrypted,
                salt,
                protected,
                challenges,
            } => self.password_verify(key, &encrypted, &salt, &protected, &challenges)?,
            Item::PasswordRewrap { protected } => self.password_rewrap(key, &protected)?,
        })
    }
}
