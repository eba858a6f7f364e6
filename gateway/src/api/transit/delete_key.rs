//! `DELETE {mount}/keys/:name`: refused, as Vault refuses it for a key whose `deletion_allowed` is
//! false, which every key here is: working keys are retired by destroying their versions (`trim`,
//! or the admin API), which keeps their history. Administrators only (`transit_delete_key`).

use actix_web::{HttpRequest, HttpResponse, web};

use super::Name;
use super::envelope::VaultError;
use super::read_key::snapshot;
use crate::api::admin::key_admin;
use crate::state::AppState;

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    name: Name,
) -> Result<HttpResponse, VaultError> {
    key_admin(&state, &req, &name, "transit_delete_key").await?;
    snapshot(&state, &name)?;
    Err(VaultError::bad_request(
        "deletion_not_allowed",
        "deletion is not allowed for this key",
    ))
}
