//! `DELETE {mount}/keys/:name` → 204, for a key whose `deletion_allowed` is set (Transit's
//! config); otherwise `400 deletion_not_allowed`, as Vault answers. One store transaction destroys
//! every version (material erased, as a destruction erases it), removes the grants and the usage
//! policy and frees the name; the history and audit records stay. The key sync then drops the key
//! from the directory and the crypto workers drop its versions from their caches.
//! Administrators only (`transit_delete_key`).

use actix_web::{HttpRequest, HttpResponse, web};
use kms_engine::store::{KeyDeletion, StoreError};

use super::Name;
use super::envelope::VaultError;
use super::read_key::snapshot;
use crate::api::admin::{key_admin, run, success};
use crate::error::ApiError;
use crate::keyops;
use crate::state::AppState;

const REASON: &str = "deleted through the Transit API";

fn not_allowed() -> ApiError {
    ApiError::bad_request(
        "deletion_not_allowed",
        "deletion is not allowed for this key",
    )
}

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    name: Name,
) -> Result<HttpResponse, VaultError> {
    let name = name.into_inner();
    let (caller, target) = key_admin(&state, &req, &name, "transit_delete_key").await?;
    let key = snapshot(&state, &name).map_err(super::envelope::missing_is_400)?;
    if !key.settings.deletion_allowed {
        return Err(not_allowed().into());
    }
    let mut event = success(&state, &caller, "transit_delete_key", target.clone());
    event.detail = Some(format!("key_id={} reason={REASON}", key.id));
    let actor = caller.actor();
    let id = key.id;
    run(
        &state,
        &caller,
        "transit_delete_key",
        target,
        move |st| async move {
            let deletion = KeyDeletion {
                key: id,
                at: st.clock.now(),
                actor: actor.clone(),
                reason: REASON.to_owned(),
            };
            let revision = st
                .store
                .delete_key(&deletion, &event)
                .await
                .map_err(|e| match e {
                    // `deletion_allowed` was turned off since the snapshot was read.
                    StoreError::Conflict(_) => not_allowed(),
                    other => other.into(),
                })?;
            st.synced(revision).await;
            keyops::event(
                &st,
                "key_deleted",
                id,
                &name,
                None,
                serde_json::json!({ "actor": actor, "reason": REASON }),
            )
            .await;
            Ok(())
        },
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
