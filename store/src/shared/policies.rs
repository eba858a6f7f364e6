//! Per-key usage policies: one row per key holding the policy's canonical JSON.

use kms_engine::audit::AuditEvent;
use kms_engine::store::{Change, PolicyChange, Revision, StoreError};

use super::history::{Event, record_event, touch_key};
use super::Store;
use super::errors::db_err;

/// The columns `keys::load` reads the policy from.
pub const POLICIES_ALL: &str = "SELECT key_id, policy FROM key_policies";
pub const POLICIES_ONE: &str = "SELECT key_id, policy FROM key_policies WHERE key_id = $1";

impl Store {
    pub(super) async fn set_key_policy_tx(
        &self,
        c: &PolicyChange,
        audit_event: &AuditEvent,
    ) -> Result<Revision, StoreError> {
        let mut tx = self.begin().await?;
        touch_key(&mut tx, c.key, c.at).await?;
        let key = c.key.as_bytes().to_vec();
        let policy = c.policy.as_ref().filter(|p| !p.is_empty());
        let reason = match policy {
            Some(p) => {
                let stored = p.to_stored();
                sqlx::query(
                    "INSERT INTO key_policies (key_id, policy, updated_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (key_id) DO UPDATE SET policy = $2, updated_at = $3",
                )
                .bind(key)
                .bind(&stored)
                .bind(c.at.millis())
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
                stored
            }
            None => {
                sqlx::query("DELETE FROM key_policies WHERE key_id = $1")
                    .bind(key)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                "removed".to_owned()
            }
        };
        record_event(
            &mut tx,
            Event {
                key: c.key,
                version: None,
                action: "policy",
                from: None,
                to: None,
                actor: &c.actor,
                reason: Some(&reason),
                at: c.at,
            },
        )
        .await?;
        self.commit_change(tx, audit_event, Change::Key(c.key), c.at)
            .await
    }
}
