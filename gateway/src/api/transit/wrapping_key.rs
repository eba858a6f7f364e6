//! `GET {mount}/wrapping_key` → `{"public_key":"-----BEGIN PUBLIC KEY-----..."}`: the RSA-4096 key
//! that BYOK imports wrap their material for (import.rs). It is a key the KMS keeps for itself,
//! under a reserved name no API can create, grant, read or use: generated on first use as a key
//! pair wrapped by the HSM, like every key pair, so that a master-key rotation rewraps it with the
//! rest; its private half is only ever unwrapped to open an import. Administrators only
//! (`transit_wrapping_key`), as imports are.

use actix_web::{HttpRequest, HttpResponse, web};
use kms_control::system_keys::{self, SystemKey};
use kms_engine::ids::KeyVersion;
use serde_json::json;

use super::envelope::{self, VaultError};
use crate::auth;
use crate::state::AppState;

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, VaultError> {
    auth::require_admin(&state, &req, "transit_wrapping_key", None).await?;
    let key = state
        .on_control(|ctl| async move { system_keys::entry(&ctl, SystemKey::TransitWrapping).await })
        .await?;
    let pem = state.pool.public_key(key, KeyVersion::FIRST).await?;
    Ok(envelope::ok(json!({ "public_key": pem }), Vec::new()))
}
