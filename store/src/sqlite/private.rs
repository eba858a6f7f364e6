//! A SQLite database's files readable by the process's user only. SQLite creates the `-wal` and
//! `-shm` files itself, with the main file's permission bits: so the main file is created 0600
//! before SQLite opens it, and files left from before (a data directory made by an older version
//! or under a looser umask) are set to 0600 on every open.

use std::path::{Path, PathBuf};

/// The database file and the files SQLite keeps next to it.
fn files(path: &Path) -> [PathBuf; 3] {
    let with = |suffix: &str| {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    };
    [path.to_owned(), with("-wal"), with("-shm")]
}

/// Creates `path` (mode 0600) if it does not exist, and sets it and its `-wal` and `-shm` files,
/// where they exist, to 0600.
pub fn private_database(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path)?;
        for file in files(path) {
            match std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
    }
    #[cfg(not(unix))]
    let _ = files(path);
    Ok(())
}
