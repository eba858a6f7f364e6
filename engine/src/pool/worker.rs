//! One crypto worker: takes jobs off the shared channel, keeps its own cache of prepared ciphers,
//! and never shares a working key with another thread.

use std::panic::{AssertUnwindSafe, catch_unwind};

use crossbeam_channel::Receiver;
use quick_cache::unsync::Cache;

use super::{DecryptItem, EncryptItem, Encrypted, ItemResults, Job};
use crate::aead::PreparedCipher;
use crate::ciphertext;
use crate::error::EngineError;
use crate::ids::{KeyId, KeyVersion};
use crate::keyring::KeyEntry;
use crate::secret::PlaintextBuf;
use crate::wrap::KeyUnwrapper;

struct Prepared {
    cipher: PreparedCipher,
    #[cfg(feature = "test-hooks")]
    material: crate::secret::KeyMaterial,
}

struct Worker<'a> {
    cache: Cache<(KeyId, KeyVersion), Prepared>,
    unwrapper: &'a dyn KeyUnwrapper,
}

pub(super) fn run(jobs: &Receiver<Job>, unwrapper: &dyn KeyUnwrapper, capacity: usize) {
    let mut worker = Worker {
        cache: Cache::new(capacity),
        unwrapper,
    };
    while let Ok(job) = jobs.recv() {
        // A bug that panics on one job must not take the worker down: the job's caller sees its
        // reply channel closed (an internal error) and the worker takes the next job.
        if catch_unwind(AssertUnwindSafe(|| worker.handle(job))).is_err() {
            tracing::error!("a crypto job panicked; the worker continues");
        }
    }
}

impl Worker<'_> {
    fn handle(&mut self, job: Job) {
        match job {
            Job::Encrypt { key, items, reply } => {
                let _ = reply.send(self.encrypt(&key, items));
            }
            Job::Decrypt { key, items, reply } => {
                let _ = reply.send(self.decrypt(&key, items));
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

    /// The prepared cipher for a version, unwrapping it through the HSM actor on a miss.
    fn prepared(&mut self, key: &KeyEntry, version: KeyVersion) -> Result<&Prepared, EngineError> {
        let slot = (key.id, version);
        if self.cache.get(&slot).is_none() {
            let wrapped = key
                .version(version)
                .and_then(|v| v.wrapped.as_ref())
                .ok_or(EngineError::KeyVersionDestroyed)?;
            let material = self
                .unwrapper
                .unwrap_key(&key.wrap_context(version), wrapped)?;
            let cipher = PreparedCipher::new(key.algorithm, &material)?;
            self.cache.insert(
                slot,
                Prepared {
                    cipher,
                    #[cfg(feature = "test-hooks")]
                    material,
                },
            );
        }
        self.cache.get(&slot).ok_or(EngineError::KeyMaterialCorrupt)
    }

    fn encrypt(
        &mut self,
        key: &KeyEntry,
        items: Vec<EncryptItem>,
    ) -> Result<ItemResults<Encrypted>, EngineError> {
        let version = key.encrypting_version()?.version;
        let prepared = self.prepared(key, version)?;
        Ok(items
            .into_iter()
            .map(|item| {
                prepared
                    .cipher
                    .encrypt(&key.id, version, &item.context, &item.plaintext)
                    .map(|ciphertext| Encrypted {
                        ciphertext,
                        version,
                    })
            })
            .collect())
    }

    fn decrypt(
        &mut self,
        key: &KeyEntry,
        items: Vec<DecryptItem>,
    ) -> Result<ItemResults<PlaintextBuf>, EngineError> {
        let mut results = Vec::with_capacity(items.len());
        for item in items {
            let result = match self.decrypt_one(key, &item) {
                Err(e) if !e.is_user_error() => return Err(e),
                other => other,
            };
            results.push(result);
        }
        Ok(results)
    }

    fn decrypt_one(
        &mut self,
        key: &KeyEntry,
        item: &DecryptItem,
    ) -> Result<PlaintextBuf, EngineError> {
        let parsed = ciphertext::parse(&item.ciphertext)?;
        let version = key.decrypting_version(parsed.version)?.version;
        self.prepared(key, version)?
            .cipher
            .decrypt(&key.id, parsed, &item.context)
    }
}
