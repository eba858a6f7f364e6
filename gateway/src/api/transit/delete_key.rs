//! `DELETE {mount}/keys/:name` → 204, for a key whose `deletion_allowed` is set (Transit's
//! config); otherwise `400 deletion_not_allowed`, as Vault answers. One store transaction destroys
//! every version (material erased, as a destruction erases it), removes the grants and the usage
//! policy and frees the name; the history and audit records stay. The key sync then drops the key
//! from the directory and the crypto workers drop its versions from their caches.
//! Administrators only (`transit_delete_key`).

use actix_web::{HttpRequest, HttpResponse, web};
use kms_control::keys::delete::{delete, not_allowed};

use super::Name;
use super::envelope::VaultError;
use super::read_key::snapshot;
use crate::api::admin::{key_admin, run};
use crate::error::ApiError;
use crate::state::AppState;

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    name: Name,
) -> Result<HttpResponse, VaultError> {
    let name = name.into_inner();
    let (caller, target) = key_admin(&state, &req, &name, "transit_delete_key").await?;
    let key = snapshot(&state, &name).map_err(super::envelope::missing_is_400)?;
    if !key.settings.deletion_allowed {
        return Err(ApiError::from(not_allowed()).into());
    }
    let invocation = caller.invocation();
    let id = key.id;
    run(
        &state,
        &caller,
        "transit_delete_key",
        target,
        move |ctl| async move { delete(&ctl, &invocation, "transit_delete_key", &name, id).await },
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
