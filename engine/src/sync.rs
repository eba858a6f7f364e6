//! The key-sync actor: follows the store's change feed and publishes new directory snapshots.
//!
//! It long-polls the store for a revision past the one it has applied, loads what changed (one
//! key, or the credential set), and swaps in a new snapshot. If the store fails, the current
//! snapshot keeps serving (the data plane never reads the store) and the actor retries with
//! backoff, reporting itself unhealthy until it catches up.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::directory::{Directory, DirectoryHandle};
use crate::error::EngineError;
use crate::keyring::KeyEntry;
use crate::store::{Change, KeyStore, Revision, StoreError};

#[derive(Clone, Debug)]
pub struct SyncConfig {
    /// Longest single wait on the store's change feed.
    pub poll: Duration,
    /// Wait after a failed store call, doubled up to `max_backoff`.
    pub backoff: Duration,
    pub max_backoff: Duration,
    /// Changes read per batch.
    pub batch: u32,
}

impl Default for SyncConfig {
    fn default() -> Self {
        Self {
            poll: Duration::from_secs(1),
            backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
            batch: 500,
        }
    }
}

/// What the sync tells its listener about a key after a change.
#[derive(Clone, Copy, Debug)]
pub enum KeyUpdate<'a> {
    /// The key as the store now loads it (the worker pool purges versions that may no longer be
    /// used).
    Loaded(&'a KeyEntry),
    /// The key is gone from the store (deleted): its last snapshot, every version of which the
    /// worker pool purges.
    Removed(&'a KeyEntry),
}

/// Told about every key the sync loads or removes after a change.
pub type KeyListener = Arc<dyn Fn(KeyUpdate<'_>) + Send + Sync>;

/// When the actor last heard from the store (it hears at least once per long poll when healthy).
struct Contact {
    base: Instant,
    /// Milliseconds after `base`.
    last: AtomicU64,
}

impl Contact {
    fn new() -> Self {
        Self {
            base: Instant::now(),
            last: AtomicU64::new(0),
        }
    }

    fn touch(&self) {
        let ms = u64::try_from(self.base.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last.store(ms, Ordering::Relaxed);
    }

    fn age(&self) -> Duration {
        self.base
            .elapsed()
            .saturating_sub(Duration::from_millis(self.last.load(Ordering::Relaxed)))
    }
}

pub struct KeySync {
    applied: watch::Receiver<Revision>,
    healthy: Arc<AtomicBool>,
    contact: Arc<Contact>,
    task: JoinHandle<()>,
}

impl KeySync {
    /// Loads the whole directory (this must succeed: a node with no keys cannot serve), publishes
    /// it, and starts following the change feed on the current tokio runtime.
    pub async fn start(
        store: Arc<dyn KeyStore>,
        directory: Arc<DirectoryHandle>,
        config: SyncConfig,
        on_key: Option<KeyListener>,
    ) -> Result<Self, StoreError> {
        let revision = store.revision().await?;
        let keys = store.load_keys().await?;
        let credentials = store.load_credentials().await?;
        let mut loaded = Directory::new(revision, keys, credentials);
        loaded.set_certificates(store.load_certificates().await?);
        Ok(Self::follow(store, directory, loaded, true, config, on_key))
    }

    /// Publishes `cached` (a directory saved before, e.g. a service node's disk cache, when the
    /// store cannot be reached at start) and follows the change feed from its revision: unhealthy
    /// until the store answers, then catching up.
    pub fn resume(
        store: Arc<dyn KeyStore>,
        directory: Arc<DirectoryHandle>,
        cached: Directory,
        config: SyncConfig,
        on_key: Option<KeyListener>,
    ) -> Self {
        Self::follow(store, directory, cached, false, config, on_key)
    }

    fn follow(
        store: Arc<dyn KeyStore>,
        directory: Arc<DirectoryHandle>,
        loaded: Directory,
        healthy: bool,
        config: SyncConfig,
        on_key: Option<KeyListener>,
    ) -> Self {
        let revision = loaded.revision;
        directory.publish(loaded);
        let (tx, applied) = watch::channel(revision);
        let healthy = Arc::new(AtomicBool::new(healthy));
        let contact = Arc::new(Contact::new());
        let actor = Actor {
            store,
            directory,
            config,
            applied: tx,
            healthy: Arc::clone(&healthy),
            contact: Arc::clone(&contact),
            on_key,
        };
        let task = tokio::spawn(actor.run(revision));
        Self {
            applied,
            healthy,
            contact,
            task,
        }
    }

    /// Follows the revisions the directory reaches (a service node saves its cache on each).
    pub fn watch_applied(&self) -> watch::Receiver<Revision> {
        self.applied.clone()
    }

    /// The revision the published directory reflects.
    pub fn applied(&self) -> Revision {
        *self.applied.borrow()
    }

    /// Whether the last call to the store succeeded.
    pub fn is_healthy(&self) -> bool {
        self.healthy.load(Ordering::Relaxed)
    }

    /// How long since the actor last heard from the store: under the long-poll interval while
    /// the store answers; growing while it does not (how stale the served keys may be).
    pub fn since_contact(&self) -> Duration {
        self.contact.age()
    }

    /// Waits until the directory reflects `revision` (what an admin call just committed).
    pub async fn wait_applied(
        &self,
        revision: Revision,
        timeout: Duration,
    ) -> Result<(), EngineError> {
        let mut rx = self.applied.clone();
        tokio::time::timeout(timeout, rx.wait_for(|applied| *applied >= revision))
            .await
            .map_err(|_| EngineError::SyncTimeout)?
            .map(|_| ())
            .map_err(|_| EngineError::SyncTimeout)
    }

    pub fn stop(&self) {
        self.task.abort();
    }
}

impl Drop for KeySync {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct Actor {
    store: Arc<dyn KeyStore>,
    directory: Arc<DirectoryHandle>,
    config: SyncConfig,
    applied: watch::Sender<Revision>,
    healthy: Arc<AtomicBool>,
    contact: Arc<Contact>,
    on_key: Option<KeyListener>,
}

impl Actor {
    async fn run(self, mut current: Revision) {
        let mut backoff = self.config.backoff;
        loop {
            let step = match self.store.wait_for_change(current, self.config.poll).await {
                Ok(latest) if latest > current => self.apply(current).await,
                Ok(_) => Ok(current),
                Err(e) => Err(e),
            };
            match step {
                Ok(revision) => {
                    current = revision;
                    backoff = self.config.backoff;
                    self.contact.touch();
                    self.healthy.store(true, Ordering::Relaxed);
                }
                Err(e) => {
                    if self.healthy.swap(false, Ordering::Relaxed) {
                        tracing::warn!(error = %e, "key sync cannot reach the store; serving cached keys");
                    }
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(self.config.max_backoff);
                }
            }
        }
    }

    /// Applies one batch of changes after `current` and returns the revision reached.
    async fn apply(&self, current: Revision) -> Result<Revision, StoreError> {
        let changes = self.store.changes_since(current, self.config.batch).await?;
        let Some(&(last, _)) = changes.last() else {
            return Ok(current);
        };
        let mut next = self.directory.load().next(last);
        let mut credentials_changed = false;
        let mut seen = std::collections::HashSet::new();
        for (_, change) in changes {
            match change {
                Change::Key(id) if seen.insert(id) => match self.store.load_key(id).await? {
                    Some(key) => {
                        if let Some(listener) = &self.on_key {
                            listener(KeyUpdate::Loaded(&key));
                        }
                        next.put_key(key);
                    }
                    None => {
                        let removed = next.remove_key(&id);
                        if let (Some(listener), Some(old)) = (&self.on_key, removed) {
                            listener(KeyUpdate::Removed(&old));
                        }
                    }
                },
                Change::Key(_) => {}
                Change::Credentials => credentials_changed = true,
            }
        }
        if credentials_changed {
            next.set_credentials(self.store.load_credentials().await?);
            next.set_certificates(self.store.load_certificates().await?);
        }
        self.directory.publish(next);
        let _ = self.applied.send(last);
        tracing::debug!(revision = last, "key directory updated");
        Ok(last)
    }
}
