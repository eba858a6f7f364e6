//! A service node's zone private key, sealed under the node's key-encryption key in
//! `<data-dir>/zone-key.sealed`, and the KEK itself in `<data-dir>/node.kek` (mode 0600). In
//! production the KEK file belongs on storage that is not backed up with the data directory.

use std::path::Path;

use crate::node_kek::{NodeKek, NodeKekError};
use crate::zone::{ZoneName, ZonePrivateKey};

pub const KEK_FILE: &str = "node.kek";
pub const FILE: &str = "zone-key.sealed";

#[derive(Debug, thiserror::Error)]
pub enum ZoneKeyError {
    #[error(transparent)]
    Kek(#[from] NodeKekError),
    #[error("{0}")]
    Invalid(String),
    #[error(
        "{0} holds no zone key: run `kms zone keygen` or `kms zone import` for this data directory"
    )]
    Missing(String),
}

fn purpose(zone: &ZoneName) -> String {
    format!("zone-private-key:{zone}")
}

pub fn kek(data_dir: &Path) -> Result<NodeKek, ZoneKeyError> {
    let mut folder = std::fs::DirBuilder::new();
    folder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut folder, 0o700);
    folder.create(data_dir).map_err(|e| {
        ZoneKeyError::Invalid(format!("data directory {}: {e}", data_dir.display()))
    })?;
    Ok(NodeKek::load_or_create(&data_dir.join(KEK_FILE))?)
}

/// Seals `key` as this node's key for `zone`.
pub fn seal(
    kek: &NodeKek,
    data_dir: &Path,
    zone: &ZoneName,
    key: &ZonePrivateKey,
) -> Result<(), ZoneKeyError> {
    let pem = key.to_pem();
    Ok(kek.write_sealed(&data_dir.join(FILE), &purpose(zone), pem.as_bytes())?)
}

/// The node's key for `zone`.
pub fn load(
    kek: &NodeKek,
    data_dir: &Path,
    zone: &ZoneName,
) -> Result<ZonePrivateKey, ZoneKeyError> {
    let path = data_dir.join(FILE);
    let pem = kek
        .read_sealed(&path, &purpose(zone))?
        .ok_or_else(|| ZoneKeyError::Missing(data_dir.display().to_string()))?;
    let text = std::str::from_utf8(&pem)
        .map_err(|_| ZoneKeyError::Invalid(format!("{}: not a PEM key", path.display())))?;
    ZonePrivateKey::from_pem(text)
        .map_err(|e| ZoneKeyError::Invalid(format!("{}: {e}", path.display())))
}
