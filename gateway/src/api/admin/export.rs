//! `POST /v1/admin/keys/{name}/export` `{"public_key":"<RSA SPKI PEM>","version"?}` → for a user,
//! `202` an approval request (two other key or security administrators approve); once run, or
//! at once for the root token: `{"key","version","algorithm","wrapped_key","ciphertext","aad"}`
//! (see kms_engine::crypto::export; `aad` is `kms-export-v1:{name}:{version}`). Only keys created
//! `exportable` (else `400 not_exportable`); the default version is the active one.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use kms_engine::EngineError;
use kms_engine::crypto::export;
use kms_engine::ids::KeyVersion;
use kms_engine::store::StoreError;
use serde::{Deserialize, Serialize};

use super::key_admin;
use super::key_view::key_id;
use crate::approvals::{self, Invocation};
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    public_key: String,
    version: Option<u32>,
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct Params {
    name: String,
    public_key: String,
    version: Option<u32>,
}

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    name: web::Path<String>,
    body: web::Json<Request>,
) -> Result<HttpResponse, ApiError> {
    let name = name.into_inner();
    let (caller, target) = key_admin(&state, &req, &name, "export_key").await?;
    let body = body.into_inner();
    let params = Params {
        name: name.clone(),
        public_key: body.public_key,
        version: body.version,
    };
    // Refuse at once what could never run.
    let key = state
        .directory
        .load()
        .key(&name)
        .cloned()
        .ok_or(EngineError::KeyNotFound)?;
    if !key.settings.exportable {
        return Err(not_exportable(&name));
    }
    approvals::run_or_request(
        &state,
        &caller,
        "export_key",
        target,
        &params,
        true,
        |st, invocation, params| async move { apply(&st, &invocation, params).await },
    )
    .await
}

fn not_exportable(name: &str) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "not_exportable",
        format!("key `{name}` was not created exportable"),
    )
}

/// Exports (directly, or once approved).
pub async fn apply(
    state: &AppState,
    invocation: &Invocation,
    params: serde_json::Value,
) -> Result<serde_json::Value, ApiError> {
    let params: Params = approvals::params(params)?;
    let id = key_id(state, &params.name).await?;
    let key = state
        .store
        .load_key(id)
        .await?
        .ok_or(StoreError::NotFound("key"))?;
    if !key.settings.exportable {
        return Err(not_exportable(&params.name));
    }
    let version = match params.version {
        Some(v) => KeyVersion::new(v)?,
        None => key.active,
    };
    let wrapped = key
        .version(version)
        .ok_or(EngineError::KeyVersionNotFound)?
        .wrapped
        .clone()
        .ok_or(EngineError::KeyVersionDestroyed)?;
    let material = state.hsm.unwrap(key.wrap_context(version), wrapped).await?;
    let aad = format!("kms-export-v1:{}:{version}", params.name);
    let out = export::wrap_for(&params.public_key, aad.as_bytes(), &material)?;
    let event = invocation.event(
        state,
        "export_key",
        format!("key:{}", params.name),
        format!("version={version}"),
    );
    state.audit.record(event).await;
    Ok(serde_json::json!({
        "key": params.name,
        "version": version.get(),
        "algorithm": key.algorithm.name(),
        "aad": aad,
        "wrapped_key": STANDARD.encode(out.wrapped_key),
        "ciphertext": STANDARD.encode(out.ciphertext),
    }))
}
