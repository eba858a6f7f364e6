//! The software HSM's file. Nothing in it is usable without the custodians' shares:
//!
//! - `sealed_kek`: the keyring key (KEK), AES-256-GCM under the unseal key, which exists only as
//!   Shamir shares;
//! - `master_keys`: each master key, AES-256-GCM under the KEK, with its id, KCV and origin;
//! - `audit_anchor`: the audit counter (seals so far, the last seal's entry and MAC),
//!   AES-256-GCM under the KEK, so it can be neither read nor forged without the shares.
//!
//! Adding a master key (a rotation) needs the KEK, so it needs the HSM unsealed, but not the
//! shares again.

use std::io::Write;
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use crate::backend::HsmError;

pub const FORMAT: u32 = 1;

#[derive(Clone, Serialize, Deserialize)]
pub struct SealedMasterKey {
    pub id: String,
    pub kcv: String,
    /// `generated` or `components`.
    pub origin: String,
    /// base64(nonce ‖ AES-256-GCM(KEK, master key) ‖ tag), AAD `kms-mk-v1` ‖ id.
    pub sealed: String,
}

#[derive(Clone, Serialize, Deserialize)]
pub struct SealedFile {
    pub format: u32,
    pub shares: u8,
    pub threshold: u8,
    /// base64(nonce ‖ AES-256-GCM(unseal key, KEK) ‖ tag), AAD `kms-seal-v1`.
    pub sealed_kek: String,
    pub master_keys: Vec<SealedMasterKey>,
    /// base64(nonce ‖ AES-256-GCM(KEK, AuditAnchor bytes) ‖ tag), AAD `kms-audit-anchor-v1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit_anchor: Option<String>,
}

pub fn decode(field: &str, text: &str) -> Result<Vec<u8>, HsmError> {
    STANDARD
        .decode(text)
        .map_err(|_| HsmError::Corrupt(format!("{field} is not base64")))
}

pub fn encode(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

impl SealedFile {
    pub fn read(path: &Path) -> Result<Option<Self>, HsmError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let file: SealedFile = serde_json::from_str(&text)
            .map_err(|e| HsmError::Corrupt(format!("{}: {e}", path.display())))?;
        if file.format != FORMAT {
            return Err(HsmError::Corrupt(format!(
                "{}: unknown format {}",
                path.display(),
                file.format
            )));
        }
        Ok(Some(file))
    }

    /// Writes the file atomically: a temporary file, fsync, rename, fsync of the directory. A crash
    /// leaves either the old file or the new one.
    pub fn write(&self, path: &Path) -> Result<(), HsmError> {
        let text = serde_json::to_vec_pretty(self)
            .map_err(|e| HsmError::Corrupt(format!("cannot encode: {e}")))?;
        let dir = path.parent().unwrap_or(Path::new("."));
        // The folder 0700 and the file 0600, whatever the process's umask.
        let mut folder = std::fs::DirBuilder::new();
        folder.recursive(true);
        let mut file = std::fs::OpenOptions::new();
        file.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
            folder.mode(0o700);
            file.mode(0o600);
        }
        folder.create(dir)?;
        let tmp = path.with_extension("tmp");
        {
            let mut f = file.open(&tmp)?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                // A temporary file left by a crash keeps its old mode through `open`.
                f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
            }
            f.write_all(&text)?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, path)?;
        std::fs::File::open(dir)?.sync_all()?;
        Ok(())
    }
}
