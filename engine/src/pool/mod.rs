//! The fixed pools of crypto worker threads.
//!
//! Request handlers hand a job (one key snapshot, the caller, and one or more items of one
//! operation) to a lane's workers over a bounded crossbeam channel and await the reply on a tokio
//! oneshot. A full channel is answered at once with [`EngineError::Overloaded`], never by queueing
//! without bound. Each worker owns a bounded cache of prepared keys; the workers are the only
//! place where working keys exist in plaintext. Each worker also has a control channel (to purge a
//! version that may no longer be used) and counts its own usage, flushed about once a second.
//!
//! Two lanes ([`Lane`]) keep slow asymmetric operations from delaying fast symmetric ones, and
//! [`WorkerPool::run_coalesced`] sends the jobs one HTTP worker made in one turn of its event loop
//! as one message. docs/performance.md has the measurements behind each choice.

mod coalesce;
mod job;
mod lane;
mod work;
mod worker;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender, TrySendError};
use tokio::sync::oneshot;

use crate::algorithm::Operation;
use crate::clock::Clock;
use crate::error::EngineError;
use crate::ids::KeyVersion;
use crate::keyring::KeyEntry;
use crate::version::VersionState;
use crate::wrap::KeyUnwrapper;

pub use job::ItemResults;
use job::{Control, ItemsJob, Job};
pub use lane::Lane;
pub use work::{Done, Item, Params, UsageRecord};
pub use worker::CacheStats;

#[derive(Clone, Debug)]
pub struct PoolConfig {
    /// Fast-lane worker threads (symmetric keys); defaults to the number of cores.
    pub workers: usize,
    /// Slow-lane worker threads (asymmetric keys); defaults to the number of cores. Zero: no
    /// slow lane, and asymmetric keys share the fast lane's workers (kept to measure what the
    /// lanes are worth; see docs/performance.md).
    pub slow_workers: usize,
    /// Run the slow lane under SCHED_IDLE: any other runnable thread preempts it at once, so an
    /// RSA signature never delays the HTTP workers or the fast lane by a time slice. Under full
    /// load it gets only the CPU left over, and its queue fills (503 `overloaded`) sooner.
    pub slow_idle: bool,
    /// Without `slow_idle`: the slow lane's nice value (0 = the same as everything else).
    pub slow_nice: i32,
    /// Messages waiting in each lane's channel before callers get `Overloaded`.
    pub queue_depth: usize,
    /// Prepared keys each worker keeps. Sized to hold every live key version: a miss costs a
    /// round trip to the HSM actor.
    pub cache_capacity: usize,
}

impl Default for PoolConfig {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Self {
            workers: cores,
            slow_workers: cores,
            slow_idle: true,
            slow_nice: 10,
            queue_depth: 1024,
            cache_capacity: 100_000,
        }
    }
}

/// One lane's workers and the channel they take jobs from.
struct LaneWorkers {
    jobs: Sender<Job>,
    controls: Vec<Sender<Control>>,
    /// Purges sent to this lane; a shared version unwrapped before the latest is dropped.
    purges: Arc<AtomicU64>,
    threads: Vec<JoinHandle<()>>,
    stats: Vec<Arc<CacheStats>>,
}

static NEXT_POOL: AtomicU64 = AtomicU64::new(0);

pub struct WorkerPool {
    id: u64,
    /// The cache size last set through [`WorkerPool::resize_caches`]; 0: the configured one.
    cache_setting: AtomicU64,
    /// The configured cache size, what a setting of 0 means.
    cache_capacity: usize,
    fast: LaneWorkers,
    slow: Option<LaneWorkers>,
    usage: std::sync::Mutex<Option<Receiver<Vec<UsageRecord>>>>,
}

impl WorkerPool {
    pub fn start(
        config: &PoolConfig,
        unwrapper: Arc<dyn KeyUnwrapper>,
        clock: Arc<dyn Clock>,
    ) -> std::io::Result<Self> {
        // Usage batches: a few seconds' worth per worker; a full channel keeps counting locally.
        let (usage_tx, usage_rx) = crossbeam_channel::bounded(64);
        let start = |lane: Lane, workers: usize, priority: worker::Priority| {
            let (jobs, rx) = crossbeam_channel::bounded(config.queue_depth.max(1));
            let workers = workers.max(1);
            let (control_txs, control_rxs): (Vec<_>, Vec<_>) =
                (0..workers).map(|_| crossbeam_channel::unbounded()).unzip();
            let mut out = LaneWorkers {
                jobs,
                controls: control_txs.clone(),
                purges: Arc::new(AtomicU64::new(0)),
                threads: Vec::new(),
                stats: Vec::new(),
            };
            for (i, control_rx) in control_rxs.into_iter().enumerate() {
                let stats = Arc::new(CacheStats::default());
                let siblings = control_txs
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| *j != i)
                    .map(|(_, tx)| tx.clone())
                    .collect();
                let setup = worker::Setup {
                    jobs: rx.clone(),
                    control: control_rx,
                    usage: usage_tx.clone(),
                    unwrapper: Arc::clone(&unwrapper),
                    clock: Arc::clone(&clock),
                    capacity: config.cache_capacity.max(16),
                    priority,
                    stats: Arc::clone(&stats),
                    siblings,
                    purges: Arc::clone(&out.purges),
                };
                out.threads.push(
                    std::thread::Builder::new()
                        .name(format!("kms-{}-{i}", lane.name()))
                        .spawn(move || worker::run(setup))?,
                );
                out.stats.push(stats);
            }
            Ok::<_, std::io::Error>(out)
        };
        let fast = start(Lane::Fast, config.workers, worker::Priority::Normal)?;
        let slow_priority = if config.slow_idle {
            worker::Priority::Idle
        } else {
            worker::Priority::Nice(config.slow_nice)
        };
        let slow = (config.slow_workers > 0)
            .then(|| start(Lane::Slow, config.slow_workers, slow_priority))
            .transpose()?;
        Ok(Self {
            id: NEXT_POOL.fetch_add(1, Ordering::Relaxed),
            cache_setting: AtomicU64::new(0),
            cache_capacity: config.cache_capacity.max(16),
            fast,
            slow,
            usage: std::sync::Mutex::new(Some(usage_rx)),
        })
    }

    /// The workers that run a lane's jobs (the fast lane's, when there is no slow lane).
    fn lane(&self, lane: Lane) -> &LaneWorkers {
        match (lane, &self.slow) {
            (Lane::Slow, Some(slow)) => slow,
            _ => &self.fast,
        }
    }

    /// A lane's own workers, if it has any.
    fn own(&self, lane: Lane) -> Option<&LaneWorkers> {
        match lane {
            Lane::Fast => Some(&self.fast),
            Lane::Slow => self.slow.as_ref(),
        }
    }

    /// Worker threads in a lane (zero for a slow lane that shares the fast lane's).
    pub fn workers(&self, lane: Lane) -> usize {
        self.own(lane).map_or(0, |l| l.threads.len())
    }

    /// Messages waiting in a lane's channel.
    pub fn queue_len(&self, lane: Lane) -> usize {
        self.own(lane).map_or(0, |l| l.jobs.len())
    }

    /// Prepared-key cache hits and misses in a lane, summed over its workers.
    pub fn cache_stats(&self, lane: Lane) -> (u64, u64) {
        self.own(lane).map_or((0, 0), |l| {
            l.stats
                .iter()
                .fold((0, 0), |(h, m), s| (h + s.hits(), m + s.misses()))
        })
    }

    /// The usage batches the workers flush; taken once, by whoever records them.
    pub fn take_usage(&self) -> Option<Receiver<Vec<UsageRecord>>> {
        self.usage.lock().ok().and_then(|mut u| u.take())
    }

    fn submit(&self, lane: Lane, job: Job) {
        match self.lane(lane).jobs.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(job)) => job.refuse(|| EngineError::Overloaded),
            Err(TrySendError::Disconnected(job)) => job.refuse(|| EngineError::WorkerGone),
        }
    }

    /// Runs `items` (all of one operation) against `key` for `caller`, as one message to the
    /// key's lane.
    pub async fn run(
        &self,
        key: Arc<KeyEntry>,
        caller: Arc<str>,
        items: Vec<Item>,
    ) -> Result<ItemResults, EngineError> {
        let (job, answer) = ItemsJob::new(key, caller, items);
        self.submit(Lane::of(job.key.algorithm), Job::Items(job));
        answer.await
    }

    /// The public key of `version`, SPKI PEM.
    pub async fn public_key(
        &self,
        key: Arc<KeyEntry>,
        version: KeyVersion,
    ) -> Result<String, EngineError> {
        let (reply, rx) = oneshot::channel();
        self.submit(
            Lane::of(key.algorithm),
            Job::PublicKey {
                key,
                version,
                reply,
            },
        );
        rx.await.map_err(|_| EngineError::WorkerGone)?
    }

    /// Drops every version of `key` that may no longer be used from every worker's cache.
    pub fn purge_unusable(&self, key: &KeyEntry) {
        let versions: Vec<KeyVersion> = key
            .versions()
            .iter()
            .filter(|v| !matches!(v.state, VersionState::Active | VersionState::DecryptOnly))
            .map(|v| v.version)
            .collect();
        self.purge(key, versions);
    }

    /// Drops every version of a deleted key from every worker's cache.
    pub fn purge_all(&self, key: &KeyEntry) {
        self.purge(key, key.versions().iter().map(|v| v.version).collect());
    }

    fn purge(&self, key: &KeyEntry, versions: Vec<KeyVersion>) {
        if versions.is_empty() {
            return;
        }
        let lane = self.lane(Lane::of(key.algorithm));
        // Before the purge is sent: a version a worker is unwrapping now is then not shared.
        lane.purges.fetch_add(1, Ordering::AcqRel);
        for control in &lane.controls {
            let _ = control.send(Control::Purge {
                key: key.id,
                versions: versions.clone(),
            });
        }
    }

    /// Resizes every worker's prepared-key cache to `size` versions (0: the configured size);
    /// Vault Transit's `cache-config`. Applies until the process restarts.
    pub fn resize_caches(&self, size: u64) {
        self.cache_setting.store(size, Ordering::Relaxed);
        let capacity = if size == 0 {
            u64::try_from(self.cache_capacity).unwrap_or(u64::MAX)
        } else {
            size
        };
        for control in std::iter::once(&self.fast)
            .chain(&self.slow)
            .flat_map(|lane| &lane.controls)
        {
            let _ = control.send(Control::Resize(capacity));
        }
    }

    /// The size last given to [`WorkerPool::resize_caches`] (0: the configured size).
    pub fn cache_setting(&self) -> u64 {
        self.cache_setting.load(Ordering::Relaxed)
    }

    /// Test hook: the plaintext material of a key version as one worker holds it.
    #[cfg(feature = "test-hooks")]
    pub async fn reveal_for_test(
        &self,
        key: Arc<KeyEntry>,
        version: KeyVersion,
    ) -> Result<Vec<u8>, EngineError> {
        let (reply, rx) = oneshot::channel();
        self.submit(
            Lane::of(key.algorithm),
            Job::Reveal {
                key,
                version,
                reply,
            },
        );
        rx.await.map_err(|_| EngineError::WorkerGone)?
    }

    /// Test hook: the versions of `key` any worker holds prepared.
    #[cfg(feature = "test-hooks")]
    pub fn cached_for_test(
        &self,
        key: crate::ids::KeyId,
    ) -> std::collections::BTreeSet<KeyVersion> {
        std::iter::once(&self.fast)
            .chain(&self.slow)
            .flat_map(|lane| &lane.controls)
            .flat_map(|c| {
                let (tx, rx) = crossbeam_channel::bounded(1);
                let _ = c.send(Control::Cached { key, reply: tx });
                rx.recv().unwrap_or_default()
            })
            .collect()
    }

    /// Stops taking jobs, lets the workers finish what is queued, and joins them.
    pub fn shutdown(self) {
        let threads: Vec<JoinHandle<()>> = std::iter::once(self.fast)
            .chain(self.slow)
            .flat_map(|lane| {
                drop(lane.jobs);
                drop(lane.controls);
                lane.threads
            })
            .collect();
        for t in threads {
            let _ = t.join();
        }
    }
}

/// The operation a batch of items asks for (they are all the same), for grant checks.
pub fn operation_of(items: &[Item]) -> Option<Operation> {
    items.first().map(Item::operation)
}
