//! `GET {mount}/cache-config` → `{"size":N}`; `POST {mount}/cache-config` `{"size":N}` → the
//! same: the crypto workers' caches of prepared key versions (Vault's key cache). `0` is the
//! server's configured size (Vault's "no limit": here every cache stays bounded); otherwise at
//! least 10, as in Vault. The size applies at once, until the server restarts (the server's
//! configuration sets it at start). Administrators only (`transit_cache_config`).

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use super::envelope::{self, VaultError};
use super::fields::Fields;
use crate::auth;
use crate::state::AppState;

pub async fn read(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, VaultError> {
    auth::require_admin(&state, &req, "transit_cache_config", None).await?;
    Ok(envelope::ok(
        json!({ "size": state.pool.cache_setting() }),
        Vec::new(),
    ))
}

pub async fn write(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, VaultError> {
    auth::require_admin(&state, &req, "transit_cache_config", None).await?;
    let mut body = Fields::read(&state, payload).await?;
    let size = body.uint("size")?.unwrap_or(0);
    if size != 0 && size < 10 {
        return Err(VaultError::bad_request(
            "invalid_request",
            "size must be 0 or a value greater or equal to 10",
        ));
    }
    state.pool.resize_caches(size);
    Ok(envelope::ok(json!({ "size": size }), body.warnings()))
}
