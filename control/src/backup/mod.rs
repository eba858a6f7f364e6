//! Backups of the store: an archive encrypted under a fresh backup key that only the HSM's master
//! key unwraps (docs/backup.md). The server writes it (`POST /v1/admin/backup`); `kms restore`
//! reads it offline into an empty data directory.

pub mod archive;
pub mod restore;
pub mod snapshot;
pub mod take;

use kms_engine::EngineError;
use kms_engine::algorithm::Algorithm;
use kms_engine::ids::{KeyId, KeyVersion};
use kms_engine::wrap::WrapContext;
use kms_hsm::HsmError;

/// The id the backup key is wrapped under. Working keys get random (version 4) UUIDs, so no
/// working key ever has this all-ones id, and a wrapped working key never unwraps as a backup
/// key (nor the other way round).
const BACKUP_KEY_ID: [u8; 16] = [0xff; 16];

/// What the backup key is bound to inside the HSM.
pub fn wrap_context() -> Result<WrapContext, BackupError> {
    Ok(WrapContext {
        key: KeyId::from_bytes(BACKUP_KEY_ID),
        version: KeyVersion::new(1).map_err(BackupError::Engine)?,
        algorithm: Algorithm::Aes256Gcm,
    })
}

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// Not a backup archive, or one this version cannot read.
    #[error("not a KMS backup archive: {0}")]
    Format(&'static str),
    /// A chunk failed authentication, chunks are missing, reordered or added: one opaque error.
    #[error("the backup archive is damaged or was tampered with")]
    Tampered,
    /// The HSM could not unwrap the backup key: it does not hold the master key.
    #[error(
        "this HSM cannot unwrap the backup key (master key {master_key}, KCV {kcv}); restore needs \
         the HSM or sealed keyring that held that master key"
    )]
    WrongMasterKey { master_key: String, kcv: String },
    /// The software HSM's sealed keyring is not in the data directory: nothing can unwrap the
    /// backup key, whichever key it is.
    #[error(
        "the software HSM's sealed keyring {0} is missing: copy the keyring (hsm/sealed.json) \
         that held the backup's master key into the data directory, then restore (or give \
         --config for a PKCS#11 HSM)"
    )]
    NoKeyring(std::path::PathBuf),
    /// Restore only writes into an empty data directory.
    #[error("{0} already holds a store; restore only into an empty data directory")]
    NotEmpty(std::path::PathBuf),
    #[error("{path}: {source}")]
    Io {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("HSM: {0}")]
    Hsm(#[from] HsmError),
    #[error("crypto: {0}")]
    Engine(EngineError),
    #[error("key store: {0}")]
    Store(#[from] kms_engine::store::StoreError),
    #[error("{0}")]
    Input(String),
    #[error("the backup task failed: {0}")]
    Task(String),
}

impl BackupError {
    /// A stable machine-readable code (docs/backup.md).
    pub fn code(&self) -> &'static str {
        match self {
            BackupError::Format(_) => "backup_format",
            BackupError::Tampered => "backup_tampered",
            BackupError::WrongMasterKey { .. } => "backup_wrong_master_key",
            BackupError::NoKeyring(_) => "restore_no_keyring",
            BackupError::NotEmpty(_) => "restore_target_not_empty",
            BackupError::Io { .. } => "backup_io",
            BackupError::Hsm(_) => "hsm_error",
            BackupError::Engine(_) => "backup_crypto",
            BackupError::Store(_) => "store_error",
            BackupError::Input(_) => "invalid_input",
            BackupError::Task(_) => "internal",
        }
    }

    pub fn io(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> BackupError + '_ {
        move |source| BackupError::Io {
            path: path.to_owned(),
            source,
        }
    }
}
