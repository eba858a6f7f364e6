//! The data directory: private to the process's user, and opened by one process at a time.
//!
//! Files are created 0600 and folders 0700: the process's umask is set to 0o077 before anything
//! is created (so files SQLite makes on its own, `-wal` and `-shm`, follow), and the files the KMS
//! writes itself name their mode explicitly as well. A lock file, `kms.lock`, held with an
//! exclusive advisory lock (`flock`) for the process's lifetime, keeps a second `kms serve` or
//! `kms restore` out of a data directory in use: the second refuses to start before it touches
//! the store or the HSM.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

use crate::options::ServeError;

/// The lock file's name in the data directory.
pub const LOCK_FILE: &str = "kms.lock";

/// Files this process creates from now on get no group or other bits (0600 and 0700 at most).
/// Called by `kms serve` and `kms restore` before they create anything.
#[cfg(unix)]
pub fn restrict_umask() {
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
}

#[cfg(not(unix))]
pub fn restrict_umask() {}

fn data_dir_error(path: &Path) -> impl FnOnce(std::io::Error) -> ServeError + '_ {
    move |source| ServeError::DataDir {
        path: path.to_owned(),
        source,
    }
}

/// Creates the data directory (and its parents) if needed, mode 0700, and makes an existing one
/// 0700.
pub fn create_private_dir(path: &Path) -> Result<(), ServeError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        builder.mode(0o700);
        builder.create(path).map_err(data_dir_error(path))?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))
            .map_err(data_dir_error(path))?;
    }
    #[cfg(not(unix))]
    builder.create(path).map_err(data_dir_error(path))?;
    Ok(())
}

/// The exclusive lock on a data directory; released when dropped (or when the process ends).
#[derive(Debug)]
pub struct DataDirLock {
    _file: File,
    pub path: PathBuf,
}

/// Takes the data directory's lock, or refuses at once if another process holds it.
pub fn lock(data_dir: &Path) -> Result<DataDirLock, ServeError> {
    create_private_dir(data_dir)?;
    let path = data_dir.join(LOCK_FILE);
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let file = options.open(&path).map_err(data_dir_error(&path))?;
    match file.try_lock() {
        Ok(()) => Ok(DataDirLock { _file: file, path }),
        Err(TryLockError::WouldBlock) => Err(ServeError::DataDirLocked(path)),
        Err(TryLockError::Error(e)) => Err(data_dir_error(&path)(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_the_same_directory_is_refused_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let first = lock(dir.path()).unwrap();
        let second = lock(dir.path());
        assert!(
            matches!(&second, Err(ServeError::DataDirLocked(p)) if p == &dir.path().join(LOCK_FILE)),
            "{second:?}"
        );
        drop(first);
        lock(dir.path()).unwrap();
    }
}
