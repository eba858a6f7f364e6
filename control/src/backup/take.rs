//! Taking a backup on the running server: the active master key, the store's snapshot, the
//! archive, and the audit record naming what it was made under. A user's backup waits for
//! approval; once approved, the requester takes exactly one.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::BackupError;
use super::snapshot;
use crate::approvals::invocation::Invocation;
use crate::approvals::ran::Ran;
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

/// A backup request has no parameters: it is always the whole store.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AuthorizeParams {}

/// What the approved run leaves for the requester: one backup, taken with
/// `POST /v1/admin/backup {"approval": id}`.
const AUTHORIZED: &str = "authorized";

/// What an approver sees: what a backup holds and which master key it is made under.
pub async fn describe(ctl: &Control) -> Result<Value, ControlError> {
    let master = master_keys::active(ctl.store.as_ref()).await?;
    Ok(json!({
        "what": "the whole store (keys wrapped under the master key, people, grants, audit), encrypted under a fresh key wrapped by the master key",
        "master_key": master.id.to_string(),
        "kcv": master.kcv.to_string(),
    }))
}

/// The approved run: it authorises one backup for the requester.
pub async fn authorize(ctl: &Control, invocation: &Invocation) -> Result<Ran, ControlError> {
    let event = invocation.event(ctl, "authorize_backup", "store".into(), None);
    ctl.audit.record(event).await;
    Ok(Ran {
        public: json!({ "backup": AUTHORIZED }),
        private: Some(json!({ "backup": AUTHORIZED })),
        completer: None,
    })
}

/// Whether a collected private result is a backup's authorisation.
pub fn is_authorization(private: &Value) -> bool {
    private.get("backup").and_then(Value::as_str) == Some(AUTHORIZED)
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
