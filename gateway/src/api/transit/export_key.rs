//! `GET {mount}/export/public-key/:name[/:version]` (`version`: a number or `latest`; without,
//! every version that still verifies) → `{"name","type","keys":{"N":"<public key>"}}`, public keys as
//! `read` shows them; an administrator, or an app holding any grant on the key. The other types
//! (`encryption-key`, `signing-key`, `hmac-key`) take secret material out of the KMS: `400
//! not_exportable` for a key that is not exportable, as Vault answers; for an exportable one, the
//! same answer in Vault's forms (kms_engine::crypto::transit_export) once the call passes the
//! approval rules (gated.rs): at once for the root token, after a quorum's approval for a
//! `key_admin`.

use actix_web::{HttpRequest, HttpResponse, web};
use kms_engine::EngineError;
use kms_engine::ids::KeyVersion;
use serde_json::{Map, json};

use kms_control::approvals::action::Action;
use kms_control::keys::transit_export::{self, Params};

use super::envelope::{self, VaultError};
use super::read_key::public_key;
use super::vault_type;
use crate::auth;
use crate::state::AppState;

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, VaultError> {
    let info = req.match_info();
    let (kind, name) = (info.query("type"), info.query("name"));
    if kind != "public-key" {
        return secret(&state, &req, kind, name, info.get("version")).await;
    }
    let (_, key) = auth::authorize_key_any(&state, &req, name, "transit_export_public_key").await?;
    if !key.algorithm.has_public_key() {
        return Err(EngineError::OperationNotSupported("public-key").into());
    }
    let versions: Vec<KeyVersion> = match info.get("version") {
        // Every version that still verifies.
        None => key
            .versions()
            .iter()
            .map(|v| v.version)
            .filter(|v| key.decrypting_version(*v).is_ok())
            .collect(),
        Some("latest") => vec![key.active],
        Some(n) => vec![KeyVersion::new(n.parse().map_err(|_| {
            EngineError::InvalidArgument("the version is a number or `latest`".into())
        })?)?],
    };
    let mut keys = Map::new();
    for version in versions {
        key.decrypting_version(version)?;
        let pem = public_key(&state, &key, version).await?;
        keys.insert(version.get().to_string(), pem.into());
    }
    Ok(envelope::ok(
        json!({ "name": name, "type": vault_type(key.algorithm), "keys": keys }),
        Vec::new(),
    ))
}

/// `encryption-key`, `signing-key`, `hmac-key`: checked, gated, then exported.
async fn secret(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    kind: &str,
    name: &str,
    version: Option<&str>,
) -> Result<HttpResponse, VaultError> {
    let action = "transit_export_key";
    let (caller, target) = crate::api::admin::key_admin(state, req, name, action).await?;
    let key = super::read_key::snapshot(state, name).map_err(envelope::missing_is_400)?;
    let params = Params {
        name: name.to_owned(),
        kind: kind.to_owned(),
        version: version.map(str::to_owned),
    };
    // Refused at once what could never run: no request is filed for it.
    transit_export::check(&key, &params)?;
    let gated = Action::TransitExport(params.clone());
    super::gated::pass(state, &caller, gated, target.clone()).await?;
    let invocation = caller.invocation();
    let keys = crate::api::admin::run(state, &caller, action, target, move |ctl| async move {
        transit_export::export(&ctl, &invocation, &params).await
    })
    .await?;
    let keys: Map<String, serde_json::Value> = keys
        .iter()
        .map(|(v, material)| (v.to_string(), material.expose().into()))
        .collect();
    Ok(envelope::ok(
        json!({ "name": name, "type": vault_type(key.algorithm), "keys": keys }),
        Vec::new(),
    ))
}
