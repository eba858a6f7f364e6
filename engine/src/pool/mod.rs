//! The fixed pool of crypto worker threads.
//!
//! Request handlers hand a job (one key snapshot and one or more items) to the pool over a
//! bounded crossbeam channel and await the reply on a tokio oneshot. A full channel is answered
//! at once with [`EngineError::Overloaded`], never by queueing without bound. Each worker owns a
//! bounded cache of prepared ciphers; the workers are the only place where working keys exist in
//! plaintext. See docs/architecture.md for why the hand-off is built this way.

mod worker;

use std::sync::Arc;
use std::thread::JoinHandle;

use crossbeam_channel::{Sender, TrySendError};
use tokio::sync::oneshot;

use crate::error::EngineError;
use crate::ids::KeyVersion;
use crate::keyring::KeyEntry;
use crate::secret::PlaintextBuf;
use crate::wrap::KeyUnwrapper;

#[derive(Clone, Debug)]
pub struct PoolConfig {
    /// Worker threads; defaults to the number of cores.
    pub workers: usize,
    /// Jobs waiting in the channel before callers get `Overloaded`.
    pub queue_depth: usize,
    /// Prepared ciphers each worker keeps. Sized to hold every live key version: a miss costs a
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

pub struct EncryptItem {
    pub plaintext: PlaintextBuf,
    pub context: Vec<u8>,
}

#[derive(Debug)]
pub struct Encrypted {
    pub ciphertext: String,
    pub version: KeyVersion,
}

pub struct DecryptItem {
    pub ciphertext: String,
    pub context: Vec<u8>,
}

/// One result per item, in order: a user error is that item's; an internal error fails the job.
pub type ItemResults<T> = Vec<Result<T, EngineError>>;

enum Job {
    Encrypt {
        key: Arc<KeyEntry>,
        items: Vec<EncryptItem>,
        reply: oneshot::Sender<Result<ItemResults<Encrypted>, EngineError>>,
    },
    Decrypt {
        key: Arc<KeyEntry>,
        items: Vec<DecryptItem>,
        reply: oneshot::Sender<Result<ItemResults<PlaintextBuf>, EngineError>>,
    },
    #[cfg(feature = "test-hooks")]
    Reveal {
        key: Arc<KeyEntry>,
        version: KeyVersion,
        reply: oneshot::Sender<Result<Vec<u8>, EngineError>>,
    },
}

pub struct WorkerPool {
    jobs: Sender<Job>,
    threads: Vec<JoinHandle<()>>,
}

impl WorkerPool {
    pub fn start(config: &PoolConfig, unwrapper: Arc<dyn KeyUnwrapper>) -> std::io::Result<Self> {
        let (jobs, rx) = crossbeam_channel::bounded(config.queue_depth.max(1));
        let threads = (0..config.workers.max(1))
            .map(|i| {
                let rx = rx.clone();
                let unwrapper = Arc::clone(&unwrapper);
                let capacity = config.cache_capacity.max(16);
                std::thread::Builder::new()
                    .name(format!("kms-crypto-{i}"))
                    .spawn(move || worker::run(&rx, unwrapper.as_ref(), capacity))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { jobs, threads })
    }

    pub fn workers(&self) -> usize {
        self.threads.len()
    }

    /// Jobs waiting for a worker.
    pub fn queue_len(&self) -> usize {
        self.jobs.len()
    }

    fn submit(&self, job: Job) -> Result<(), EngineError> {
        self.jobs.try_send(job).map_err(|e| match e {
            TrySendError::Full(_) => EngineError::Overloaded,
            TrySendError::Disconnected(_) => EngineError::WorkerGone,
        })
    }

    pub async fn encrypt(
        &self,
        key: Arc<KeyEntry>,
        items: Vec<EncryptItem>,
    ) -> Result<ItemResults<Encrypted>, EngineError> {
        let (reply, rx) = oneshot::channel();
        self.submit(Job::Encrypt { key, items, reply })?;
        rx.await.map_err(|_| EngineError::WorkerGone)?
    }

    pub async fn decrypt(
        &self,
        key: Arc<KeyEntry>,
        items: Vec<DecryptItem>,
    ) -> Result<ItemResults<PlaintextBuf>, EngineError> {
        let (reply, rx) = oneshot::channel();
        self.submit(Job::Decrypt { key, items, reply })?;
        rx.await.map_err(|_| EngineError::WorkerGone)?
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

    /// Stops taking jobs, lets the workers finish what is queued, and joins them.
    pub fn shutdown(self) {
        drop(self.jobs);
        for t in self.threads {
            let _ = t.join();
        }
    }
}
