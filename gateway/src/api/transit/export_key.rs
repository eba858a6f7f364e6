//! `GET {mount}/export/public-key/:name[/:version]` (`version`: a number or `latest`; without,
//! every version that still verifies) → `{"name","type","keys":{"N":"<public key>"}}`, public keys as
//! `read` shows them. The other export types (`encryption-key`, `signing-key`, `hmac-key`) would
//! take secret material out of the KMS: `400 not_exportable` for a key that is not exportable, as
//! Vault answers, and for an exportable one `403 approval_required` (backup.rs). An
//! administrator, or (public keys) an app holding any grant on the key.

use actix_web::{HttpRequest, HttpResponse, web};
use kms_engine::EngineError;
use kms_engine::ids::KeyVersion;
use serde_json::{Map, json};

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
        super::backup::export_refused(kind)?;
        let (caller, target) =
            crate::api::admin::key_admin(&state, &req, name, "transit_export_key").await?;
        let key = super::read_key::snapshot(&state, name).map_err(envelope::missing_is_400)?;
        if !key.settings.exportable {
            return Err(VaultError::bad_request(
                "not_exportable",
                "private key material is not exportable",
            ));
        }
        return super::backup::refuse(
            &state,
            &caller,
            "transit_export_key",
            target,
            "exporting key material",
        )
        .await;
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
