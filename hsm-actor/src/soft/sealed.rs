//! The software HSM's file: the sealed master key and the share parameters, nothing secret.

use std::io::Write;
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use crate::backend::HsmError;

pub const FORMAT: u32 = 1;

#[derive(Serialize, Deserialize)]
struct OnDisk {
    format: u32,
    master_key_id: String,
    shares: u8,
    threshold: u8,
    /// base64(nonce ‖ AES-256-GCM(unseal key, master key) ‖ tag).
    sealed_master_key: String,
}

pub struct SealedFile {
    pub format: u32,
    pub master_key_id: String,
    pub shares: u8,
    pub threshold: u8,
    pub sealed_master_key: Vec<u8>,
}

impl SealedFile {
    pub fn read(path: &Path) -> Result<Option<Self>, HsmError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let disk: OnDisk = serde_json::from_str(&text)
            .map_err(|e| HsmError::Corrupt(format!("{}: {e}", path.display())))?;
        if disk.format != FORMAT {
            return Err(HsmError::Corrupt(format!(
                "{}: unknown format {}",
                path.display(),
                disk.format
            )));
        }
        let sealed_master_key = STANDARD
            .decode(&disk.sealed_master_key)
            .map_err(|_| HsmError::Corrupt(format!("{}: bad base64", path.display())))?;
        Ok(Some(Self {
            format: disk.format,
            master_key_id: disk.master_key_id,
            shares: disk.shares,
            threshold: disk.threshold,
            sealed_master_key,
        }))
    }

    /// Writes the file atomically: a temporary file, fsync, rename, fsync of the directory. A crash
    /// leaves either no file or the whole file.
    pub fn write(&self, path: &Path) -> Result<(), HsmError> {
        let disk = OnDisk {
            format: self.format,
            master_key_id: self.master_key_id.clone(),
            shares: self.shares,
            threshold: self.threshold,
            sealed_master_key: STANDARD.encode(&self.sealed_master_key),
        };
        let text = serde_json::to_vec_pretty(&disk)
            .map_err(|e| HsmError::Corrupt(format!("cannot encode: {e}")))?;
        let dir = path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)?;
        let tmp = path.with_extension("tmp");
        {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(&text)?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, path)?;
        std::fs::File::open(dir)?.sync_all()?;
        Ok(())
    }
}
