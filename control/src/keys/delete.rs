//! Deleting a key whose `deletion_allowed` is set (Transit's config). One store transaction
//! destroys every version (material erased, as a destruction erases it), removes the grants and
//! the usage policy and frees the name; the history and audit records stay.

use kms_engine::ids::KeyId;
use kms_engine::store::{KeyDeletion, StoreError};

use crate::approvals::invocation::Invocation;
use crate::context::Control;
use crate::error::ControlError;
use crate::keyops;

const REASON: &str = "deleted through the Transit API";

pub fn not_allowed() -> ControlError {
    ControlError::invalid(
        "deletion_not_allowed",
        "deletion is not allowed for this key",
    )
}

/// Deletes the key `id` named `name` (audited under `action`).
pub async fn delete(
    ctl: &Control,
    invocation: &Invocation,
    action: &str,
    name: &str,
    id: KeyId,
) -> Result<(), ControlError> {
    let event = invocation.event(
        ctl,
        action,
        format!("key:{name}"),
        Some(format!("key_id={id} reason={REASON}")),
    );
    let deletion = KeyDeletion {
        key: id,
        at: ctl.clock.now(),
        actor: invocation.actor.clone(),
        reason: REASON.to_owned(),
    };
    let revision = ctl
        .store
        .delete_key(&deletion, &event)
        .await
        .map_err(|e| match e {
            // `deletion_allowed` was turned off since the snapshot was read.
            StoreError::Conflict(_) => not_allowed(),
            other => other.into(),
        })?;
    ctl.synced(revision).await;
    keyops::event(
        ctl,
        "key_deleted",
        id,
        name,
        None,
        serde_json::json!({ "actor": invocation.actor, "reason": REASON }),
    )
    .await;
    Ok(())
}
