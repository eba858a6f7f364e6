//! `kms restore`: offline, into an empty data directory. The HSM is opened as `kms serve` opens it
//! (the software HSM's sealed keyring in the data directory, or the configured PKCS#11 token); only
//! that HSM unwraps the backup key. Every chunk is verified before anything is written, and the
//! database file appears in one rename.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use kms_engine::ids::MasterKeyId;
use kms_engine::secret::SecretString;
use kms_engine::wrap::WrappedKey;
use kms_hsm::{DEV_SHARE_FILE, HsmChoice, HsmError, HsmHandle};

use super::archive::{self, Header};
use super::{BackupError, wrap_context};

/// The files that make a data directory's store (kms serve opens `kms.db` in WAL mode).
const STORE_FILES: [&str; 3] = ["kms.db", "kms.db-wal", "kms.db-shm"];

pub struct RestoreRequest<'a> {
    pub archive: &'a Path,
    pub data_dir: &'a Path,
    pub hsm: &'a HsmChoice,
}

/// What was restored.
pub struct Restored {
    pub header: Header,
    pub database: PathBuf,
    pub bytes: usize,
}

/// Restores the archive; `shares` supplies unseal shares when a software HSM is sealed and the
/// data directory is not a dev one.
pub fn run(req: &RestoreRequest<'_>, shares: &mut dyn BufRead) -> Result<Restored, BackupError> {
    refuse_non_empty(req.data_dir)?;
    let bytes = std::fs::read(req.archive).map_err(BackupError::io(req.archive))?;
    let parsed = archive::parse(&bytes)?;
    let master_key = MasterKeyId::new(&parsed.header.master_key)
        .map_err(|_| BackupError::Format("bad master key id"))?;
    let blob = hex::decode(&parsed.header.wrapped_key)
        .map_err(|_| BackupError::Format("bad wrapped key"))?;
    let wrong_key = || BackupError::WrongMasterKey {
        master_key: parsed.header.master_key.clone(),
        kcv: parsed.header.kcv.clone(),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(BackupError::io(req.data_dir))?;
    // Without its keyring the software HSM opens empty and unwraps nothing: say what is missing
    // rather than blame the backup's key.
    let keyring = kms_hsm::sealed_path(req.data_dir);
    if matches!(req.hsm, HsmChoice::Software) && !keyring.exists() {
        return Err(BackupError::NoKeyring(keyring));
    }
    let (hsm, thread) = open_hsm(req.hsm, req.data_dir)?;
    let key = runtime.block_on(async {
        unseal(&hsm, req.data_dir, shares).await?;
        hsm.unwrap(wrap_context()?, WrappedKey { master_key, blob })
            .await
            .map_err(BackupError::Hsm)
    });
    // The HSM is closed (PKCS#11 C_Finalize on the actor's thread) before the caller may exit
    // the process: a library still finalising while `exit` runs its destructors can crash.
    drop(hsm);
    let _ = thread.join();
    let key = key.map_err(|e| match e {
        BackupError::Hsm(
            HsmError::UnwrapFailed | HsmError::UnknownMasterKey(_) | HsmError::NotInitialized,
        ) => wrong_key(),
        other => other,
    })?;
    let database = archive::open(&parsed, &key)?;
    let target = write_database(req.data_dir, &database)?;
    Ok(Restored {
        header: parsed.header,
        database: target,
        bytes: database.len(),
    })
}

fn refuse_non_empty(data_dir: &Path) -> Result<(), BackupError> {
    for name in STORE_FILES {
        let path = data_dir.join(name);
        match std::fs::metadata(&path) {
            Ok(_) => return Err(BackupError::NotEmpty(data_dir.to_owned())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(BackupError::io(&path)(e)),
        }
    }
    Ok(())
}

/// The HSM's actor and its thread, which ends when the handle is dropped.
fn open_hsm(
    choice: &HsmChoice,
    data_dir: &Path,
) -> Result<(HsmHandle, std::thread::JoinHandle<()>), BackupError> {
    let backend = choice.open(data_dir)?;
    kms_hsm::spawn(backend, 16, Duration::from_secs(30)).map_err(BackupError::io(data_dir))
}

/// A sealed software HSM is unsealed with the dev share kept in a dev data directory, or with
/// shares read one per line (as `kms unseal` reads them).
async fn unseal(
    hsm: &HsmHandle,
    data_dir: &Path,
    shares: &mut dyn BufRead,
) -> Result<(), BackupError> {
    let status = hsm.seal_status().await?;
    if !status.initialized || !status.sealed {
        return Ok(());
    }
    let dev_share = data_dir.join(DEV_SHARE_FILE);
    match std::fs::read_to_string(&dev_share) {
        Ok(share) => {
            hsm.submit_share(SecretString::new(share)).await?;
            return Ok(());
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(BackupError::io(&dev_share)(e)),
    }
    eprintln!("The HSM is sealed. Enter an unseal share (one per line):");
    let mut line = String::new();
    loop {
        line.clear();
        let n = shares
            .read_line(&mut line)
            .map_err(BackupError::io(Path::new("<stdin>")))?;
        if n == 0 {
            return Err(BackupError::Input(
                "standard input ended before the HSM was unsealed".into(),
            ));
        }
        let share = SecretString::new(line.trim().to_owned());
        if share.expose().is_empty() {
            continue;
        }
        if !hsm.submit_share(share).await?.sealed {
            return Ok(());
        }
    }
}

/// Writes the database to a temporary file, syncs it, then renames it into place.
fn write_database(data_dir: &Path, database: &[u8]) -> Result<PathBuf, BackupError> {
    let mut dir = std::fs::DirBuilder::new();
    dir.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        dir.mode(0o700);
    }
    dir.create(data_dir).map_err(BackupError::io(data_dir))?;
    let tmp = data_dir.join("kms.db.restoring");
    let target = data_dir.join("kms.db");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let written = options.open(&tmp).and_then(|mut f| {
        f.write_all(database)?;
        f.sync_all()
    });
    if let Err(e) = written.and_then(|()| std::fs::rename(&tmp, &target)) {
        let _ = std::fs::remove_file(&tmp);
        return Err(BackupError::io(&target)(e));
    }
    Ok(target)
}
