//! A service node's key-encryption key (KEK): 32 random bytes in a file of mode 0600, under which
//! the node seals what it keeps on its own disk (its zone private key, the keys it received).
//!
//! Sealed format, version 1: `0x01 ‖ nonce (12) ‖ AES-256-GCM ciphertext ‖ tag (16)`, with the
//! associated data `"kms-node-kek-v1" ‖ purpose`, so that data sealed for one purpose (one file)
//! does not open as another.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{AeadInOut, KeyInit};
use thiserror::Error;
use zeroize::Zeroizing;

use crate::error::EngineError;

pub const NODE_KEK_LEN: usize = 32;
/// The first byte of sealed data.
pub const SEALED_FORMAT_V1: u8 = 0x01;
const AAD_PREFIX: &[u8] = b"kms-node-kek-v1";
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

#[derive(Debug, Error)]
pub enum NodeKekError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The KEK file exists but is not acceptable (length, permissions, type).
    #[error("{}: {reason}", path.display())]
    Refused { path: PathBuf, reason: String },
    #[error("{}: {source}", path.display())]
    Open {
        path: PathBuf,
        #[source]
        source: EngineError,
    },
}

fn io_at(path: &Path) -> impl FnOnce(io::Error) -> NodeKekError + '_ {
    move |source| NodeKekError::Io {
        path: path.to_owned(),
        source,
    }
}

/// A node's key-encryption key. `Debug` shows nothing; the AES key schedule is erased on drop.
pub struct NodeKek {
    cipher: Box<Aes256Gcm>,
}

impl fmt::Debug for NodeKek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NodeKek([redacted])")
    }
}

/// Creates `path` exclusively with mode 0600 (unix).
fn create_private(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// Makes a create or rename in `path`'s directory durable.
fn sync_parent(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        File::open(parent)?.sync_all()?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

impl NodeKek {
    fn from_bytes(bytes: &[u8]) -> Result<Self, EngineError> {
        let cipher =
            Aes256Gcm::new_from_slice(bytes).map_err(|_| EngineError::KeyMaterialCorrupt)?;
        Ok(Self {
            cipher: Box::new(cipher),
        })
    }

    /// Loads the KEK at `path`, or creates it (32 random bytes, mode 0600, fsynced with its
    /// directory) if there is none. Refuses a file of another length or, on unix, one that is
    /// not a regular file or that its group or others may access.
    pub fn load_or_create(path: &Path) -> Result<Self, NodeKekError> {
        match create_private(path) {
            Ok(mut file) => {
                let key = Zeroizing::new({
                    let mut k = [0u8; NODE_KEK_LEN];
                    rand::fill(&mut k[..]);
                    k
                });
                file.write_all(&key[..]).map_err(io_at(path))?;
                file.sync_all().map_err(io_at(path))?;
                sync_parent(path).map_err(io_at(path))?;
                Self::from_bytes(&key[..]).map_err(|source| NodeKekError::Open {
                    path: path.to_owned(),
                    source,
                })
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Self::load(path),
            Err(e) => Err(io_at(path)(e)),
        }
    }

    fn load(path: &Path) -> Result<Self, NodeKekError> {
        let refuse = |reason: String| NodeKekError::Refused {
            path: path.to_owned(),
            reason,
        };
        let mut file = File::open(path).map_err(io_at(path))?;
        let meta = file.metadata().map_err(io_at(path))?;
        if !meta.is_file() {
            return Err(refuse("the node KEK is not a regular file".into()));
        }
        #[cfg(unix)]
        {
            let mode = std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o777;
            if mode & 0o077 != 0 {
                return Err(refuse(format!(
                    "the node KEK has mode {mode:o}: group and others must have no access (chmod 600)"
                )));
            }
        }
        if meta.len() != NODE_KEK_LEN as u64 {
            return Err(refuse(format!(
                "the node KEK is {} bytes, not {NODE_KEK_LEN}",
                meta.len()
            )));
        }
        let mut key = Zeroizing::new([0u8; NODE_KEK_LEN]);
        file.read_exact(&mut key[..]).map_err(io_at(path))?;
        let mut extra = [0u8; 1];
        if file.read(&mut extra).map_err(io_at(path))? != 0 {
            return Err(refuse("the node KEK grew while being read".into()));
        }
        Self::from_bytes(&key[..]).map_err(|source| NodeKekError::Open {
            path: path.to_owned(),
            source,
        })
    }

    fn aad(purpose: &str) -> Vec<u8> {
        [AAD_PREFIX, purpose.as_bytes()].concat()
    }

    /// `0x01 ‖ nonce ‖ ciphertext ‖ tag` of `plaintext`, bound to `purpose`.
    pub fn seal(&self, purpose: &str, plaintext: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(1 + NONCE_LEN + plaintext.len() + TAG_LEN);
        out.push(SEALED_FORMAT_V1);
        let mut nonce = [0u8; NONCE_LEN];
        rand::fill(&mut nonce[..]);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(plaintext);
        let tag = self
            .cipher
            .encrypt_inout_detached(
                &nonce.into(),
                &Self::aad(purpose),
                (&mut out[1 + NONCE_LEN..]).into(),
            )
            // Only for a plaintext over 64 GiB, which a node never seals.
            .expect("AES-GCM seals up to 64 GiB");
        out.extend_from_slice(&tag);
        out
    }

    /// Opens what [`NodeKek::seal`] made for `purpose`. Another KEK, another purpose, altered,
    /// truncated or of an unknown format: [`EngineError::NodeSealOpenFailed`].
    pub fn open(&self, purpose: &str, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, EngineError> {
        let fail = || EngineError::NodeSealOpenFailed;
        let (&format, rest) = sealed.split_first().ok_or_else(fail)?;
        if format != SEALED_FORMAT_V1 || rest.len() < NONCE_LEN + TAG_LEN {
            return Err(fail());
        }
        let (nonce, rest) = rest.split_at(NONCE_LEN);
        let (ciphertext, tag) = rest.split_at(rest.len() - TAG_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| fail())?;
        let tag: [u8; TAG_LEN] = tag.try_into().map_err(|_| fail())?;
        let mut buf = Zeroizing::new(ciphertext.to_vec());
        self.cipher
            .decrypt_inout_detached(
                &nonce.into(),
                &Self::aad(purpose),
                buf.as_mut_slice().into(),
                &tag.into(),
            )
            .map_err(|_| fail())?;
        Ok(buf)
    }

    /// Seals `plaintext` for `purpose` into `path`, atomically: writes `<path>.tmp` (mode 0600),
    /// fsyncs it, renames it over `path` and fsyncs the directory.
    pub fn write_sealed(
        &self,
        path: &Path,
        purpose: &str,
        plaintext: &[u8],
    ) -> Result<(), NodeKekError> {
        let sealed = self.seal(purpose, plaintext);
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        // A temporary file left by a crash: replaced, so that its mode cannot carry over.
        match fs::remove_file(&tmp) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_at(&tmp)(e)),
        }
        let mut file = create_private(&tmp).map_err(io_at(&tmp))?;
        file.write_all(&sealed).map_err(io_at(&tmp))?;
        file.sync_all().map_err(io_at(&tmp))?;
        drop(file);
        fs::rename(&tmp, path).map_err(io_at(path))?;
        sync_parent(path).map_err(io_at(path))
    }

    /// Reads and opens `path` sealed for `purpose`; `None` if there is no such file.
    pub fn read_sealed(
        &self,
        path: &Path,
        purpose: &str,
    ) -> Result<Option<Zeroizing<Vec<u8>>>, NodeKekError> {
        let sealed = match fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_at(path)(e)),
        };
        self.open(purpose, &sealed)
            .map(Some)
            .map_err(|source| NodeKekError::Open {
                path: path.to_owned(),
                source,
            })
    }
}

#[cfg(test)]
#[path = "node_kek_tests.rs"]
mod tests;
