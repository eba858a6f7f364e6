//! `LIST {mount}/keys` or `GET {mount}/keys?list=true` → `{"keys":["name",...]}`, by name.
//! Administrators only. Like Vault, no keys at all is a 404.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use super::envelope::{self, VaultError};
use crate::auth;
use crate::error::ApiError;
use crate::state::AppState;

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, VaultError> {
    auth::require_admin(&state, &req, "transit_list_keys", None).await?;
    let mut names: Vec<String> = state
        .directory
        .load()
        .keys()
        .filter(|k| !kms_control::system_keys::is_reserved(k.name.as_str()))
        .map(|k| k.name.to_string())
        .collect();
    if names.is_empty() {
        return Err(VaultError(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no keys",
        )));
    }
    names.sort();
    Ok(envelope::ok(json!({ "keys": names }), Vec::new()))
}

/// `GET {mount}/keys` needs `?list=true`, as in Vault.
pub async fn get(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, VaultError> {
    let listing =
        web::Query::<std::collections::HashMap<String, String>>::from_query(req.query_string())
            .ok()
            .and_then(|q| q.get("list").cloned())
            .is_some_and(|v| v == "true" || v == "1");
    if !listing {
        return envelope::method_not_allowed().await;
    }
    handle(state, req).await
}
