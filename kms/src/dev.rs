//! Dev mode: the master key made without a ceremony (there are no custodians), the software
//! HSM's single unseal share kept in the data directory, and a fixed root token. Never for real
//! data (`kms serve` says so loudly).

use std::path::Path;

use kms_engine::audit::{AuditEvent, Outcome};
use kms_engine::clock::Clock;
use kms_engine::master_key::{MasterKeyRecord, MasterKeyState};
use kms_engine::secret::SecretString;
use kms_engine::store::KeyStore;
use kms_engine::token::TokenHash;
use kms_hsm::{DEV_SHARE_FILE, HsmHandle, MasterKeySource, Sealing};

use crate::options::ServeError;

const DEV_ROOT_LABEL: &str = "dev";

fn data_dir_error(path: &Path) -> impl FnOnce(std::io::Error) -> ServeError + '_ {
    move |source| ServeError::DataDir {
        path: path.to_owned(),
        source,
    }
}

fn write_private_file(path: &Path, contents: &str) -> Result<(), ServeError> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(path).map_err(data_dir_error(path))?;
    f.write_all(contents.as_bytes())
        .and_then(|()| f.sync_all())
        .map_err(data_dir_error(path))
}

/// Dev mode: the software HSM's single unseal share is kept in the data directory; unseal with it.
async fn dev_unseal(hsm: &HsmHandle, data_dir: &Path) -> Result<(), ServeError> {
    let status = hsm.seal_status().await?;
    if !status.initialized || !status.sealed {
        return Ok(());
    }
    let share_path = data_dir.join(DEV_SHARE_FILE);
    let share = match std::fs::read_to_string(&share_path) {
        Ok(s) => SecretString::new(s),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(ServeError::NotADevDataDir(data_dir.to_owned()));
        }
        Err(e) => return Err(data_dir_error(&share_path)(e)),
    };
    hsm.submit_share(share).await?;
    Ok(())
}

/// Dev mode: makes the master key without a ceremony (there are no custodians in dev mode) and
/// sets the dev root token. Refuses a data directory initialised outside dev mode.
pub(crate) async fn dev_initialise(
    store: &dyn KeyStore,
    hsm: &HsmHandle,
    clock: &dyn Clock,
    data_dir: &Path,
    root: &SecretString,
) -> Result<(), ServeError> {
    dev_unseal(hsm, data_dir).await?;
    let event = |action: &str| AuditEvent {
        at: clock.now(),
        actor: "system".into(),
        action: action.into(),
        target: Some(format!("root:{DEV_ROOT_LABEL}")),
        outcome: Outcome::Success,
        code: None,
        remote: None,
        detail: Some("dev mode start".into()),
    };
    let initialised = store
        .master_keys()
        .await?
        .iter()
        .any(|k| k.state == MasterKeyState::Active);
    if initialised {
        store
            .put_root_token(
                DEV_ROOT_LABEL,
                &TokenHash::of(root.expose()),
                &event("set_root_token"),
            )
            .await?;
        return Ok(());
    }
    let software = hsm.seal_status().await?.backend == "software";
    if software && hsm.seal_status().await?.initialized {
        return Err(ServeError::NotADevDataDir(data_dir.to_owned()));
    }
    let sealing = software.then_some(Sealing {
        shares: 1,
        threshold: 1,
    });
    let created = hsm
        .create_master_key(MasterKeySource::Generate, sealing)
        .await?;
    if let Some(share) = created.shares.first() {
        write_private_file(&data_dir.join(DEV_SHARE_FILE), share.expose())?;
    }
    let now = clock.now();
    let record = MasterKeyRecord {
        id: created.id.clone(),
        kcv: created.kcv.clone(),
        origin: created.origin,
        state: MasterKeyState::Active,
        created_at: now,
        updated_at: now,
    };
    let mut audit = event("master_key_create");
    audit.detail = Some(format!(
        "dev mode: master_key={} kcv={}",
        created.id, created.kcv
    ));
    store
        .initialize_master_key(
            &record,
            DEV_ROOT_LABEL,
            &TokenHash::of(root.expose()),
            &audit,
        )
        .await?;
    Ok(())
}
