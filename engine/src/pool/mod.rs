//! The fixed pool of crypto worker threads.
//!
//! Request handlers hand a job (one key snapshot, the caller, and one or more items of one
//! operation) to the pool over a bounded crossbeam channel and await the reply on a tokio
//! oneshot. A full channel is answered at once with [`EngineError::Overloaded`], never by queueing
//! without bound. Each worker owns a bounded cache of prepared keys; the workers are the only
//! place where working keys exist in plaintext. Each worker also has a control channel (to purge a
//! version that may no longer be used) and counts its own usage, flushed about once a second.
//! See docs/architecture.md for why the hand-off is built this way.

mod work;
mod worker;

use std::sync::Arc;
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender, TrySendError};
use tokio::sync::oneshot;

use crate::algorithm::Operation;
use crate::clock::Clock;
use crate::error::EngineError;
use crate::ids::{KeyId, KeyVersion};
use crate::keyring::KeyEntry;
use crate::version::VersionState;
use crate::wrap::KeyUnwrapper;

pub use work::{Done, Item, UsageRecord};

#[derive(Clone, Debug)]
pub struct PoolConfig {
    /// Worker threads; defaults to the number of cores.
    pub workers: usize,
    /// Jobs waiting in the channel before callers get `Overloaded`.
    pub queue_depth: usize,
    /// Prepared keys each worker keeps. Sized to hold every live key version: a miss costs a
    /// round trip to the HSM actor.
    pub cache_capacity: usize,
}

impl Default for PoolConfig {
    fn default() -> Self {
        let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
        Self {
            workers,
            queue_depth: 1024,
            cache_capacity: 100_000,
        }
    }
}

/// One result per item, in order: a user error is that item's; an internal error fails the job.
pub type ItemResults = Vec<Result<Done, EngineError>>;

enum Job {
    Items {
        key: Arc<KeyEntry>,
        caller: Arc<str>,
        items: Vec<Item>,
        reply: oneshot::Sender<Result<ItemResults, EngineError>>,
    },
    PublicKey {
        key: Arc<KeyEntry>,
        version: KeyVersion,
        reply: oneshot::Sender<Result<String, EngineError>>,
    },
    #[cfg(feature = "test-hooks")]
    Reveal {
        key: Arc<KeyEntry>,
        version: KeyVersion,
        reply: oneshot::Sender<Result<Vec<u8>, EngineError>>,
    },
}

enum Control {
    /// Drop these versions' prepared keys: they are disabled, scheduled for destruction or
    /// destroyed, and their material should not linger in memory.
    Purge {
        key: KeyId,
        versions: Vec<KeyVersion>,
    },
    /// Test hook: the versions of this key the worker holds prepared.
    #[cfg(feature = "test-hooks")]
    Cached {
        key: KeyId,
        reply: crossbeam_channel::Sender<Vec<KeyVersion>>,
    },
}

pub struct WorkerPool {
    jobs: Sender<Job>,
    controls: Vec<Sender<Control>>,
    usage: std::sync::Mutex<Option<Receiver<Vec<UsageRecord>>>>,
    threads: Vec<JoinHandle<()>>,
}

impl WorkerPool {
    pub fn start(
        config: &PoolConfig,
        unwrapper: Arc<dyn KeyUnwrapper>,
        clock: Arc<dyn Clock>,
    ) -> std::io::Result<Self> {
        let (jobs, rx) = crossbeam_channel::bounded(config.queue_depth.max(1));
        // Usage batches: a few seconds' worth per worker; a full channel keeps counting locally.
        let (usage_tx, usage_rx) = crossbeam_channel::bounded(64);
        let mut controls = Vec::new();
        let mut threads = Vec::new();
        for i in 0..config.workers.max(1) {
            let (control_tx, control_rx) = crossbeam_channel::unbounded();
            controls.push(control_tx);
            let setup = worker::Setup {
                jobs: rx.clone(),
                control: control_rx,
                usage: usage_tx.clone(),
                unwrapper: Arc::clone(&unwrapper),
                clock: Arc::clone(&clock),
                capacity: config.cache_capacity.max(16),
            };
            threads.push(
                std::thread::Builder::new()
                    .name(format!("kms-crypto-{i}"))
                    .spawn(move || worker::run(setup))?,
            );
        }
        Ok(Self {
            jobs,
            controls,
            usage: std::sync::Mutex::new(Some(usage_rx)),
            threads,
        })
    }

    pub fn workers(&self) -> usize {
        self.threads.len()
    }

    /// Jobs waiting for a worker.
    pub fn queue_len(&self) -> usize {
        self.jobs.len()
    }

    /// The usage batches the workers flush; taken once, by whoever records them.
    pub fn take_usage(&self) -> Option<Receiver<Vec<UsageRecord>>> {
        self.usage.lock().ok().and_then(|mut u| u.take())
    }

    fn submit(&self, job: Job) -> Result<(), EngineError> {
        self.jobs.try_send(job).map_err(|e| match e {
            TrySendError::Full(_) => EngineError::Overloaded,
            TrySendError::Disconnected(_) => EngineError::WorkerGone,
        })
    }

    /// Runs `items` (all of one operation) against `key` for `caller`.
    pub async fn run(
        &self,
        key: Arc<KeyEntry>,
        caller: Arc<str>,
        items: Vec<Item>,
    ) -> Result<ItemResults, EngineError> {
        let (reply, rx) = oneshot::channel();
        self.submit(Job::Items {
            key,
            caller,
            items,
            reply,
        })?;
        rx.await.map_err(|_| EngineError::WorkerGone)?
    }

    /// The public key of `version`, SPKI PEM.
    pub async fn public_key(
        &self,
        key: Arc<KeyEntry>,
        version: KeyVersion,
    ) -> Result<String, EngineError> {
        let (reply, rx) = oneshot::channel();
        self.submit(Job::PublicKey {
            key,
            version,
            reply,
        })?;
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
        if versions.is_empty() {
            return;
        }
        for control in &self.controls {
            let _ = control.send(Control::Purge {
                key: key.id,
                versions: versions.clone(),
            });
        }
    }

    /// Test hook: the plaintext material of a key version as one worker holds it.
    #[cfg(feature = "test-hooks")]
    pub async fn reveal_for_test(
        &self,
        key: Arc<KeyEntry>,
        version: KeyVersion,
    ) -> Result<Vec<u8>, EngineError> {
        let (reply, rx) = oneshot::channel();
        self.submit(Job::Reveal {
            key,
            version,
            reply,
        })?;
        rx.await.map_err(|_| EngineError::WorkerGone)?
    }

    /// Test hook: the versions of `key` any worker holds prepared.
    #[cfg(feature = "test-hooks")]
    pub fn cached_for_test(&self, key: KeyId) -> std::collections::BTreeSet<KeyVersion> {
        self.controls
            .iter()
            .flat_map(|c| {
                let (tx, rx) = crossbeam_channel::bounded(1);
                let _ = c.send(Control::Cached { key, reply: tx });
                rx.recv().unwrap_or_default()
            })
            .collect()
    }

    /// Stops taking jobs, lets the workers finish what is queued, and joins them.
    pub fn shutdown(self) {
        drop(self.jobs);
        drop(self.controls);
        for t in self.threads {
            let _ = t.join();
        }
    }
}

/// The operation a batch of items asks for (they are all the same), for grant checks.
pub fn operation_of(items: &[Item]) -> Option<Operation> {
    items.first().map(Item::operation)
}
