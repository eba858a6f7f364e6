//! The HSM actor: one thread owns the backend and handles requests from a bounded mailbox one at a
//! time, so every master-key operation is serialised (a PKCS#11 session is not `Sync`, and
//! unsealing must not interleave with wrapping).
//!
//! Admin handlers call it with `.await`; crypto workers, on a cache miss, call it blocking with a
//! timeout. Either way a full mailbox is an immediate [`HsmError::Busy`], never an unbounded queue.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TrySendError};
use kms_engine::EngineError;
use kms_engine::audit::AuditAnchor;
use kms_engine::secret::{KeyMaterial, SecretString};
use kms_engine::wrap::{KeyUnwrapper, WrapContext, WrappedKey};
use tokio::sync::oneshot;

use kms_engine::ids::MasterKeyId;
use kms_engine::master_key::Kcv;

use crate::backend::{
    CreatedMasterKey, HsmBackend, HsmError, HsmStatus, MasterKeySource, SealStatus, Sealing,
};

/// Where a reply goes: an awaiting task or a blocked thread.
enum Reply<T> {
    Async(oneshot::Sender<T>),
    Blocking(Sender<T>),
}

impl<T> Reply<T> {
    fn send(self, value: T) {
        // The caller may have given up (timeout); then the value is dropped, zeroizing any key.
        match self {
            Reply::Async(tx) => {
                let _ = tx.send(value);
            }
            Reply::Blocking(tx) => {
                let _ = tx.send(value);
            }
        }
    }
}

type R<T> = Reply<Result<T, HsmError>>;

enum Request {
    SealStatus(Reply<SealStatus>),
    Status(Reply<HsmStatus>),
    SubmitShare {
        share: SecretString,
        reply: R<SealStatus>,
    },
    ResetUnseal(Reply<SealStatus>),
    Rekey {
        shares: Vec<SecretString>,
        sealing: Sealing,
        reply: R<Vec<SecretString>>,
    },
    CheckShares {
        shares: Vec<SecretString>,
        reply: R<()>,
    },
    CreateMasterKey {
        source: MasterKeySource,
        sealing: Option<Sealing>,
        reply: R<CreatedMasterKey>,
    },
    LoadMasterKey {
        id: MasterKeyId,
        expected: Kcv,
        components: Vec<KeyMaterial>,
        reply: R<Vec<String>>,
    },
    DestroyMasterKey {
        id: MasterKeyId,
        reply: R<()>,
    },
    GenerateWrapped {
        context: WrapContext,
        under: MasterKeyId,
        reply: R<WrappedKey>,
    },
    Wrap {
        context: WrapContext,
        material: KeyMaterial,
        under: MasterKeyId,
        reply: R<WrappedKey>,
    },
    Unwrap {
        context: WrapContext,
        wrapped: WrappedKey,
        reply: R<KeyMaterial>,
    },
    Rewrap {
        context: WrapContext,
        wrapped: WrappedKey,
        under: MasterKeyId,
        reply: R<WrappedKey>,
    },
    AuditAnchor(R<Option<AuditAnchor>>),
    AdvanceAuditAnchor {
        next: AuditAnchor,
        reply: R<()>,
    },
}

/// A cloneable handle to the HSM actor.
#[derive(Clone)]
pub struct HsmHandle {
    mailbox: Sender<Request>,
    /// How long a blocking caller waits for a mailbox slot and then for the answer.
    timeout: Duration,
}

/// Starts the actor thread. It runs until every handle is dropped.
pub fn spawn(
    backend: Box<dyn HsmBackend>,
    mailbox: usize,
    timeout: Duration,
) -> std::io::Result<(HsmHandle, JoinHandle<()>)> {
    let (tx, rx) = crossbeam_channel::bounded(mailbox.max(1));
    let thread = std::thread::Builder::new()
        .name("kms-hsm".into())
        .spawn(move || run(backend, &rx))?;
    Ok((
        HsmHandle {
            mailbox: tx,
            timeout,
        },
        thread,
    ))
}

fn run(mut backend: Box<dyn HsmBackend>, rx: &Receiver<Request>) {
    while let Ok(request) = rx.recv() {
        let operation = request.name();
        let started = Instant::now();
        if catch_unwind(AssertUnwindSafe(|| handle(backend.as_mut(), request))).is_err() {
            tracing::error!("an HSM request panicked; the actor continues");
        }
        metrics::counter!("kms_hsm_operations_total", "operation" => operation).increment(1);
        metrics::histogram!("kms_hsm_operation_duration_seconds", "operation" => operation)
            .record(started.elapsed().as_secs_f64());
    }
}

impl Request {
    /// The operation's name, for metrics.
    fn name(&self) -> &'static str {
        match self {
            Request::SealStatus(_) => "seal_status",
            Request::Status(_) => "status",
            Request::SubmitShare { .. } => "submit_share",
            Request::ResetUnseal(_) => "reset_unseal",
            Request::Rekey { .. } => "rekey",
            Request::CheckShares { .. } => "check_shares",
            Request::CreateMasterKey { .. } => "create_master_key",
            Request::LoadMasterKey { .. } => "load_master_key",
            Request::DestroyMasterKey { .. } => "destroy_master_key",
            Request::GenerateWrapped { .. } => "generate_wrapped",
            Request::Wrap { .. } => "wrap",
            Request::Unwrap { .. } => "unwrap",
            Request::Rewrap { .. } => "rewrap",
            Request::AuditAnchor(_) => "audit_anchor",
            Request::AdvanceAuditAnchor { .. } => "advance_audit_anchor",
        }
    }
}

fn handle(backend: &mut dyn HsmBackend, request: Request) {
    match request {
        Request::SealStatus(reply) => reply.send(backend.seal_status()),
        Request::Status(reply) => reply.send(backend.status()),
        Request::SubmitShare { share, reply } => reply.send(backend.submit_share(share.expose())),
        Request::ResetUnseal(reply) => {
            backend.reset_unseal();
            reply.send(backend.seal_status());
        }
        Request::Rekey {
            shares,
            sealing,
            reply,
        } => reply.send(backend.rekey(&shares, sealing)),
        Request::CheckShares { shares, reply } => reply.send(backend.check_shares(&shares)),
        Request::CreateMasterKey {
            source,
            sealing,
            reply,
        } => reply.send(backend.create_master_key(source, sealing)),
        Request::LoadMasterKey {
            id,
            expected,
            components,
            reply,
        } => reply.send(backend.load_master_key(&id, &expected, components)),
        Request::DestroyMasterKey { id, reply } => reply.send(backend.destroy_master_key(&id)),
        Request::GenerateWrapped {
            context,
            under,
            reply,
        } => reply.send(backend.generate_wrapped(&context, &under)),
        Request::Wrap {
            context,
            material,
            under,
            reply,
        } => reply.send(backend.wrap(&context, &material, &under)),
        Request::Unwrap {
            context,
            wrapped,
            reply,
        } => reply.send(backend.unwrap(&context, &wrapped)),
        Request::Rewrap {
            context,
            wrapped,
            under,
            reply,
        } => reply.send(backend.rewrap(&context, &wrapped, &under)),
        Request::AuditAnchor(reply) => reply.send(backend.audit_anchor()),
        Request::AdvanceAuditAnchor { next, reply } => {
            reply.send(backend.advance_audit_anchor(&next));
        }
    }
}

impl HsmHandle {
    async fn ask<T>(&self, make: impl FnOnce(Reply<T>) -> Request) -> Result<T, HsmError> {
        let (tx, rx) = oneshot::channel();
        self.mailbox
            .try_send(make(Reply::Async(tx)))
            .map_err(|e| match e {
                TrySendError::Full(_) => HsmError::Busy,
                TrySendError::Disconnected(_) => HsmError::Stopped,
            })?;
        tokio::time::timeout(self.timeout, rx)
            .await
            .map_err(|_| HsmError::Timeout)?
            .map_err(|_| HsmError::Stopped)
    }

    fn ask_blocking<T>(&self, make: impl FnOnce(Reply<T>) -> Request) -> Result<T, HsmError> {
        let (tx, rx) = crossbeam_channel::bounded(1);
        self.mailbox
            .send_timeout(make(Reply::Blocking(tx)), self.timeout)
            .map_err(|e| {
                if e.is_timeout() {
                    HsmError::Busy
                } else {
                    HsmError::Stopped
                }
            })?;
        rx.recv_timeout(self.timeout).map_err(|e| {
            if e.is_timeout() {
                HsmError::Timeout
            } else {
                HsmError::Stopped
            }
        })
    }

    pub async fn seal_status(&self) -> Result<SealStatus, HsmError> {
        self.ask(Request::SealStatus).await
    }

    pub async fn status(&self) -> Result<HsmStatus, HsmError> {
        self.ask(Request::Status).await
    }

    pub async fn submit_share(&self, share: SecretString) -> Result<SealStatus, HsmError> {
        self.ask(|reply| Request::SubmitShare { share, reply })
            .await?
    }

    pub async fn reset_unseal(&self) -> Result<SealStatus, HsmError> {
        self.ask(Request::ResetUnseal).await
    }

    /// Replaces the unseal key with a new one split as `sealing` asks, once `shares` (a quorum
    /// of the current ones) prove the caller may (see [`HsmBackend::rekey`]).
    pub async fn rekey(
        &self,
        shares: Vec<SecretString>,
        sealing: Sealing,
    ) -> Result<Vec<SecretString>, HsmError> {
        self.ask(|reply| Request::Rekey {
            shares,
            sealing,
            reply,
        })
        .await?
    }

    /// Checks that `shares` reconstruct the current unseal key ([`HsmBackend::check_shares`]).
    pub async fn check_shares(&self, shares: Vec<SecretString>) -> Result<(), HsmError> {
        self.ask(|reply| Request::CheckShares { shares, reply })
            .await?
    }

    pub async fn create_master_key(
        &self,
        source: MasterKeySource,
        sealing: Option<Sealing>,
    ) -> Result<CreatedMasterKey, HsmError> {
        self.ask(|reply| Request::CreateMasterKey {
            source,
            sealing,
            reply,
        })
        .await?
    }

    pub async fn load_master_key(
        &self,
        id: MasterKeyId,
        expected: Kcv,
        components: Vec<KeyMaterial>,
    ) -> Result<Vec<String>, HsmError> {
        self.ask(|reply| Request::LoadMasterKey {
            id,
            expected,
            components,
            reply,
        })
        .await?
    }

    pub async fn destroy_master_key(&self, id: MasterKeyId) -> Result<(), HsmError> {
        self.ask(|reply| Request::DestroyMasterKey { id, reply })
            .await?
    }

    /// The HSM's audit counter (see [`HsmBackend::audit_anchor`]).
    pub async fn audit_anchor(&self) -> Result<Option<AuditAnchor>, HsmError> {
        self.ask(Request::AuditAnchor).await?
    }

    /// Moves the HSM's audit counter forward to `next`.
    pub async fn advance_audit_anchor(&self, next: AuditAnchor) -> Result<(), HsmError> {
        self.ask(|reply| Request::AdvanceAuditAnchor { next, reply })
            .await?
    }

    pub async fn generate_wrapped(
        &self,
        context: WrapContext,
        under: MasterKeyId,
    ) -> Result<WrappedKey, HsmError> {
        self.ask(|reply| Request::GenerateWrapped {
            context,
            under,
            reply,
        })
        .await?
    }

    pub async fn wrap(
        &self,
        context: WrapContext,
        material: KeyMaterial,
        under: MasterKeyId,
    ) -> Result<WrappedKey, HsmError> {
        self.ask(|reply| Request::Wrap {
            context,
            material,
            under,
            reply,
        })
        .await?
    }

    pub async fn unwrap(
        &self,
        context: WrapContext,
        wrapped: WrappedKey,
    ) -> Result<KeyMaterial, HsmError> {
        self.ask(|reply| Request::Unwrap {
            context,
            wrapped,
            reply,
        })
        .await?
    }

    pub async fn rewrap(
        &self,
        context: WrapContext,
        wrapped: WrappedKey,
        under: MasterKeyId,
    ) -> Result<WrappedKey, HsmError> {
        self.ask(|reply| Request::Rewrap {
            context,
            wrapped,
            under,
            reply,
        })
        .await?
    }

    /// For threads outside any async runtime (crypto workers).
    pub fn unwrap_blocking(
        &self,
        context: WrapContext,
        wrapped: WrappedKey,
    ) -> Result<KeyMaterial, HsmError> {
        self.ask_blocking(|reply| Request::Unwrap {
            context,
            wrapped,
            reply,
        })?
    }
}

impl KeyUnwrapper for HsmHandle {
    fn unwrap_key(
        &self,
        context: &WrapContext,
        wrapped: &WrappedKey,
    ) -> Result<KeyMaterial, EngineError> {
        self.unwrap_blocking(*context, wrapped.clone())
            .map_err(|e| match e {
                HsmError::Sealed | HsmError::NotInitialized => EngineError::Sealed,
                HsmError::UnwrapFailed | HsmError::UnknownMasterKey(_) | HsmError::Corrupt(_) => {
                    tracing::error!(key = %context.key, version = %context.version, error = %e,
                        "a stored working key does not unwrap");
                    EngineError::KeyMaterialCorrupt
                }
                other => {
                    tracing::warn!(error = %other, "HSM unavailable for an unwrap");
                    EngineError::HsmUnavailable
                }
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Sealing;
    use crate::soft::SoftwareHsm;
    use kms_engine::algorithm::Algorithm;
    use kms_engine::ids::{KeyId, KeyVersion};

    fn context() -> WrapContext {
        WrapContext {
            key: KeyId::random(),
            version: KeyVersion::FIRST,
            algorithm: Algorithm::Aes256Gcm,
        }
    }

    #[tokio::test]
    async fn async_and_blocking_callers_share_one_actor() {
        let dir = tempfile::tempdir().unwrap();
        let backend = SoftwareHsm::open(&dir.path().join("s.json")).unwrap();
        let (hsm, _thread) = spawn(Box::new(backend), 8, Duration::from_secs(5)).unwrap();
        let ctx = context();
        let created = hsm
            .create_master_key(
                MasterKeySource::Generate,
                Some(Sealing {
                    shares: 1,
                    threshold: 1,
                }),
            )
            .await
            .unwrap();
        assert_eq!(created.shares.len(), 1);
        let wrapped = hsm.generate_wrapped(ctx, created.id.clone()).await.unwrap();
        let h = hsm.clone();
        let w = wrapped.clone();
        let material = tokio::task::spawn_blocking(move || h.unwrap_key(&ctx, &w))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(material.len(), 32);
        assert_eq!(
            hsm.unwrap(ctx, wrapped).await.unwrap().expose(),
            material.expose()
        );
    }

    #[test]
    fn a_full_mailbox_is_refused_at_once() {
        // A mailbox nobody drains: the channel without its thread.
        let (tx, _rx) = crossbeam_channel::bounded(1);
        let hsm = HsmHandle {
            mailbox: tx,
            timeout: Duration::from_millis(20),
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        // The first request takes the only slot and times out waiting for an answer.
        assert!(matches!(
            rt.block_on(hsm.seal_status()),
            Err(HsmError::Timeout)
        ));
        assert!(matches!(
            rt.block_on(hsm.seal_status()),
            Err(HsmError::Busy)
        ));
        assert!(matches!(
            hsm.unwrap_blocking(
                context(),
                WrappedKey {
                    master_key: MasterKeyId::new("mk").unwrap(),
                    blob: vec![]
                }
            ),
            Err(HsmError::Busy)
        ));
    }
}
