//! A service node's disk cache: what it last loaded from the store (keys wrapped to its zone's
//! key, credential hashes, certificate bindings) and the revision it reflects, sealed under the
//! node's key-encryption key in `<data-dir>/cache.sealed`. Written after every change the key
//! sync applies; read at start when the store cannot be reached, so that a node restarted during
//! an outage serves every key it had.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use kms_engine::directory::Directory;
use kms_engine::node_kek::{NodeKek, NodeKekError};
use kms_engine::store::{Revision, StoreError};
use kms_engine::zone::ZoneName;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use super::store::{Mirror, RemoteStore};
use super::wire::{WireCertificate, WireCredential, WireKey};

const PURPOSE: &str = "service-node-cache";
pub const FILE: &str = "cache.sealed";

#[derive(Serialize, Deserialize)]
struct CacheFile {
    zone: String,
    revision: Revision,
    keys: Vec<WireKey>,
    credentials: Vec<WireCredential>,
    certificates: Vec<WireCertificate>,
}

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error(transparent)]
    Kek(#[from] NodeKekError),
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

pub struct DiskCache {
    kek: Arc<NodeKek>,
    path: PathBuf,
    zone: ZoneName,
}

impl DiskCache {
    pub fn new(kek: Arc<NodeKek>, data_dir: &Path, zone: ZoneName) -> Self {
        Self {
            kek,
            path: data_dir.join(FILE),
            zone,
        }
    }

    pub fn save(&self, revision: Revision, mirror: &Mirror) -> Result<(), CacheError> {
        let file = CacheFile {
            zone: self.zone.to_string(),
            revision,
            keys: mirror.keys.values().cloned().collect(),
            credentials: mirror.credentials.clone(),
            certificates: mirror.certificates.clone(),
        };
        let json = zeroize::Zeroizing::new(serde_json::to_vec(&file).map_err(|e| {
            CacheError::Invalid {
                path: self.path.clone(),
                message: e.to_string(),
            }
        })?);
        Ok(self.kek.write_sealed(&self.path, PURPOSE, &json)?)
    }

    /// The saved revision and contents, if there is a cache.
    pub fn load(&self) -> Result<Option<(Revision, Mirror)>, CacheError> {
        let Some(json) = self.kek.read_sealed(&self.path, PURPOSE)? else {
            return Ok(None);
        };
        let invalid = |message: String| CacheError::Invalid {
            path: self.path.clone(),
            message,
        };
        let file: CacheFile = serde_json::from_slice(&json).map_err(|e| invalid(e.to_string()))?;
        if file.zone != self.zone.as_str() {
            return Err(invalid(format!(
                "the cache is zone {}'s, this node is in zone {}",
                file.zone, self.zone
            )));
        }
        let mirror = Mirror {
            keys: file.keys.into_iter().map(|k| (k.id.clone(), k)).collect(),
            credentials: file.credentials,
            certificates: file.certificates,
        };
        Ok(Some((file.revision, mirror)))
    }

    /// Saves the mirror each time the key sync reaches a new revision (on the current runtime).
    pub fn follow(self, mut applied: watch::Receiver<Revision>, remote: Arc<RemoteStore>) {
        tokio::spawn(async move {
            let cache = Arc::new(self);
            loop {
                let revision = *applied.borrow_and_update();
                let (c, mirror) = (Arc::clone(&cache), remote.mirror());
                let saved = tokio::task::spawn_blocking(move || c.save(revision, &mirror)).await;
                match saved {
                    Ok(Ok(())) => tracing::debug!(revision, "disk cache saved"),
                    Ok(Err(e)) => tracing::error!(error = %e, "disk cache not saved"),
                    Err(e) => tracing::error!(error = %e, "disk cache writer failed"),
                }
                if applied.changed().await.is_err() {
                    return;
                }
            }
        });
    }
}

/// The directory a mirror describes, at `revision`.
pub fn directory(revision: Revision, mirror: &Mirror) -> Result<Directory, StoreError> {
    let keys = mirror
        .keys
        .values()
        .map(WireKey::to_entry)
        .collect::<Result<Vec<_>, _>>()?;
    let credentials = mirror
        .credentials
        .iter()
        .map(WireCredential::to_credential)
        .collect::<Result<Vec<_>, _>>()?;
    let certificates = mirror
        .certificates
        .iter()
        .map(WireCertificate::to_certificate)
        .collect::<Result<Vec<_>, _>>()?;
    let mut dir = Directory::new(revision, keys, credentials);
    dir.set_certificates(certificates);
    Ok(dir)
}
