//! `POST {mount}/keys/:name/rotate` → the key, as read, with its new latest version (the previous
//! one stays for decryption). Administrators only (`transit_rotate_key`).

use actix_web::{HttpRequest, HttpResponse, web};

use super::envelope::{VaultError, missing_is_400};
use super::{Name, admin_request, read_key};
use crate::api::admin::{run, success};
use crate::state::AppState;
use kms_control::keyops;
use kms_control::keys::view::key_id;

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    name: Name,
    payload: web::Payload,
) -> Result<HttpResponse, VaultError> {
    let name = name.into_inner();
    let (caller, target, body) =
        admin_request(&state, &req, &name, "transit_rotate_key", payload).await?;
    let key = read_key::snapshot(&state, &name).map_err(missing_is_400)?;
    // No material for a new version of an imported key (Vault's `allow_rotation` is not built).
    if key.settings.imported {
        return Err(VaultError::bad_request(
            "invalid_request",
            "imported keys do not allow rotation",
        ));
    }
    let event = success(&state, &caller, "transit_rotate_key", target.clone());
    let actor = caller.actor();
    let key = name.clone();
    run(
        &state,
        &caller,
        "transit_rotate_key",
        target,
        |st| async move {
            let id = key_id(&st, &key).await?;
            let (revision, _) =
                keyops::rotate(&st, id, &actor, "rotated through the Transit API", &event).await?;
            st.synced(revision).await;
            Ok(())
        },
    )
    .await
    .map_err(missing_is_400)?;
    read_key::answer(&state, &name, body.warnings()).await
}
