//! Taking a backup on the running server: the active master key, the store's snapshot, the
//! archive, and the audit record naming what it was made under.

use super::BackupError;
use super::snapshot;
use crate::approvals::invocation::Invocation;
use crate::context::Control;
use crate::error::ControlError;
use crate::master_keys;

impl From<BackupError> for ControlError {
    fn from(e: BackupError) -> Self {
        match e {
            BackupError::Hsm(e) => e.into(),
            BackupError::Store(e) => e.into(),
            other => ControlError::internal(other),
        }
    }
}

/// The whole store, encrypted under a fresh backup key wrapped by the active master key.
pub async fn take(ctl: &Control, invocation: &Invocation) -> Result<Vec<u8>, ControlError> {
    let master = master_keys::active(ctl.store.as_ref()).await?;
    let archive =
        snapshot::create(ctl.store.as_ref(), &ctl.hsm, ctl.clock.as_ref(), &master).await?;
    let detail = format!(
        "master_key={} kcv={} bytes={}",
        master.id,
        master.kcv,
        archive.len()
    );
    ctl.audit
        .record(invocation.event(ctl, "backup", "store".into(), Some(detail)))
        .await;
    Ok(archive)
}
