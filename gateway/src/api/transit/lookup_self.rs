//! `GET /v1/auth/token/lookup-self`: who the token belongs to, in Vault's shape. Vault clients
//! call it to check their token at start-up (hvac's `is_authenticated`, ...). The token itself is
//! not echoed (`id` is empty), and tokens here neither expire nor renew (`ttl` 0).

use actix_web::{HttpRequest, HttpResponse, web};
use kms_engine::directory::Principal;
use serde_json::json;

use super::envelope::{self, VaultError};
use crate::auth;
use crate::state::AppState;

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, VaultError> {
    let caller = auth::authenticate(&state, &req, "transit_lookup_self", None).await?;
    let policies = match caller.principal() {
        Principal::Root { .. } => ["root"],
        Principal::App { .. } | Principal::User { .. } => ["default"],
    };
    Ok(envelope::ok(
        json!({
            "accessor": "",
            "creation_time": 0,
            "creation_ttl": 0,
            "display_name": caller.actor(),
            "entity_id": "",
            "expire_time": null,
            "explicit_max_ttl": 0,
            "id": "",
            // Tokens here carry no issue time: the epoch, as `creation_time` 0 says.
            "issue_time": "1970-01-01T00:00:00Z",
            "meta": null,
            "num_uses": 0,
            "orphan": true,
            "path": "auth/token/create",
            "policies": policies,
            "renewable": false,
            "ttl": 0,
            "type": "service",
        }),
        Vec::new(),
    ))
}
