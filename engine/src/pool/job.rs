//! The messages between a pool's handle and its workers: jobs of items, batches of jobs, and
//! control messages.

use std::sync::Arc;

use tokio::sync::oneshot;

use super::work::{Done, Item};
use crate::algorithm::Algorithm;
use crate::error::EngineError;
use crate::ids::{KeyId, KeyVersion};
use crate::keyring::{KeyEntry, KeySettings};
use crate::secret::KeyMaterial;

/// One result per item, in order: a user error is that item's; an internal error fails the job.
pub type ItemResults = Vec<Result<Done, EngineError>>;

pub(super) type Reply<T> = oneshot::Sender<Result<T, EngineError>>;

pub(super) struct ItemsJob {
    pub(super) key: Arc<KeyEntry>,
    pub(super) caller: Arc<str>,
    pub(super) items: Vec<Item>,
    pub(super) reply: Reply<ItemResults>,
}

impl ItemsJob {
    /// A job and the future of its answer.
    pub(super) fn new(
        key: Arc<KeyEntry>,
        caller: Arc<str>,
        items: Vec<Item>,
    ) -> (
        Self,
        impl std::future::Future<Output = Result<ItemResults, EngineError>>,
    ) {
        let (reply, rx) = oneshot::channel();
        let job = Self {
            key,
            caller,
            items,
            reply,
        };
        (job, async {
            rx.await.map_err(|_| EngineError::WorkerGone)?
        })
    }
}

/// One caller's work inside a [`Job::Batch`].
pub(super) struct Work {
    pub(super) key: Arc<KeyEntry>,
    pub(super) caller: Arc<str>,
    pub(super) items: Vec<Item>,
}

pub(super) enum Job {
    Items(ItemsJob),
    /// Several callers' work, sent as one message and answered with one reply, in order (see
    /// [`WorkerPool::run_coalesced`]): one cross-thread wake-up each way for the lot.
    Batch {
        work: Vec<Work>,
        reply: oneshot::Sender<Vec<Result<ItemResults, EngineError>>>,
    },
    PublicKey {
        key: Arc<KeyEntry>,
        version: KeyVersion,
        reply: Reply<String>,
    },
    #[cfg(feature = "test-hooks")]
    Reveal {
        key: Arc<KeyEntry>,
        version: KeyVersion,
        reply: Reply<Vec<u8>>,
    },
}

impl Job {
    /// Answers every caller in the job with `error` (the job never reached a worker).
    pub(super) fn refuse(self, error: fn() -> EngineError) {
        match self {
            Job::Items(job) => {
                let _ = job.reply.send(Err(error()));
            }
            Job::Batch { work, reply } => {
                let _ = reply.send(work.iter().map(|_| Err(error())).collect());
            }
            Job::PublicKey { reply, .. } => {
                let _ = reply.send(Err(error()));
            }
            #[cfg(feature = "test-hooks")]
            Job::Reveal { reply, .. } => {
                let _ = reply.send(Err(error()));
            }
        }
    }
}

pub(super) enum Control {
    /// Drop these versions' prepared keys: they are disabled, scheduled for destruction or
    /// destroyed, and their material should not linger in memory.
    Purge {
        key: KeyId,
        versions: Vec<KeyVersion>,
    },
    /// Resize the prepared-key cache to hold this many versions.
    Resize(u64),
    /// A version another worker of the lane has just unwrapped: prepare it here too, so that
    /// every worker serves every key any worker holds (with the HSM away, requests must not
    /// alternate between success and `hsm_unavailable` by which worker takes them). Dropped if
    /// the lane was sent a purge since the unwrap began (`purges` no longer matches).
    Share {
        key: KeyId,
        version: KeyVersion,
        algorithm: Algorithm,
        settings: KeySettings,
        material: KeyMaterial,
        purges: u64,
    },
    /// Test hook: the versions of this key the worker holds prepared.
    #[cfg(feature = "test-hooks")]
    Cached {
        key: KeyId,
        reply: crossbeam_channel::Sender<Vec<KeyVersion>>,
    },
}
