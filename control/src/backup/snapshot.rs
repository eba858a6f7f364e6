//! The server's side of a backup: a consistent copy of the store, encrypted into an archive under
//! a fresh backup key that the HSM wraps under the active master key.

use std::path::PathBuf;

use kms_engine::clock::Clock;
use kms_engine::master_key::MasterKeyRecord;
use kms_engine::secret::KeyMaterial;
use kms_engine::store::KeyStore;
use kms_hsm::HsmHandle;
use zeroize::Zeroizing;

use super::archive::{self, CHUNK_BYTES, Header};
use super::{BackupError, wrap_context};

/// A private directory for the plaintext snapshot, removed (with the snapshot) on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Result<Self, BackupError> {
        let mut name = [0u8; 16];
        rand::fill(&mut name);
        let dir = std::env::temp_dir().join(format!("kms-backup-{}", hex::encode(name)));
        let mut builder = std::fs::DirBuilder::new();
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o700);
        }
        builder.create(&dir).map_err(BackupError::io(&dir))?;
        Ok(Self(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.0) {
            tracing::warn!(dir = %self.0.display(), error = %e, "cannot remove a backup's scratch directory");
        }
    }
}

/// Takes the snapshot and returns the whole archive.
pub async fn create(
    store: &dyn KeyStore,
    hsm: &HsmHandle,
    clock: &dyn Clock,
    master: &MasterKeyRecord,
) -> Result<Vec<u8>, BackupError> {
    let key = KeyMaterial::random(32);
    let wrapped = hsm
        .wrap(
            wrap_context()?,
            KeyMaterial::from_slice(key.expose()),
            master.id.clone(),
        )
        .await?;
    let revision = store.revision().await?;
    let (audit_seq, audit_head) = store.audit_head().await?;
    let scratch = Scratch::new()?;
    let file = scratch.0.join("kms.db");
    store.snapshot(&file).await?;
    let header = Header {
        master_key: wrapped.master_key.to_string(),
        kcv: master.kcv.to_string(),
        wrapped_key: hex::encode(&wrapped.blob),
        created_at: clock.now().rfc3339(),
        revision,
        audit_seq,
        audit_head: hex::encode(audit_head),
    };
    // Reading and encrypting a large file is blocking work: off the async workers.
    tokio::task::spawn_blocking(move || {
        let plaintext = Zeroizing::new(std::fs::read(&file).map_err(BackupError::io(&file))?);
        drop(scratch);
        archive::seal(&header, &key, &plaintext, CHUNK_BYTES)
    })
    .await
    .map_err(|e| BackupError::Task(e.to_string()))?
}
