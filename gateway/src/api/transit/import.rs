//! `POST {mount}/keys/:name/import` `{"ciphertext","type"?,"hash_function"?,"derived"?,
//! "convergent_encryption"?,"exportable"?,"auto_rotate_period"?,...}` → 204, as Vault: BYOK.
//! `ciphertext` is RSA-OAEP-SHA256 of a fresh AES-256 key for the wrapping key (wrapping_key.rs),
//! then the material under that key by AES key wrap with padding, base64 (engine
//! crypto/import.rs). The material is opened in a blocking task and at once wrapped under the
//! master key by the HSM; only the wrapped form is stored, as for a generated key. The key is
//! `imported_key` and cannot be rotated (Vault's `allow_rotation` is not built). Only a new key:
//! an existing name is refused, as in Vault. Administrators only (`transit_import_key`).

use actix_web::{HttpRequest, HttpResponse, web};
use kms_control::error::ControlError;
use kms_control::keyops;
use kms_control::system_keys::{self, SystemKey};
use kms_engine::EngineError;
use kms_engine::ciphertext::decode_b64;
use kms_engine::ids::KeyName;
use kms_engine::keyring::{DEFAULT_NOTICE_MS, KeySettings};
use kms_engine::store::StoreError;

use super::create_key::{derivation, rotate_period};
use super::envelope::VaultError;
use super::{Name, admin_request, algorithm_of};
use crate::api::admin::{run, success};
use crate::error::ApiError;
use crate::state::AppState;

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    name: Name,
    payload: web::Payload,
) -> Result<HttpResponse, VaultError> {
    let name = name.into_inner();
    let (caller, target, mut body) =
        admin_request(&state, &req, &name, "transit_import_key", payload).await?;
    let key_name = KeyName::new(&name)?;
    if state.directory.load().key(&name).is_some() {
        return Err(VaultError::bad_request(
            "key_exists",
            "the import path cannot be used with an existing key",
        ));
    }
    let algorithm = algorithm_of(body.string("type")?.as_deref().unwrap_or("aes256-gcm96"))?;
    match body.string("hash_function")?.as_deref() {
        None | Some("SHA256") => {}
        Some(other) => {
            return Err(VaultError::bad_request(
                "invalid_request",
                format!("`hash_function` `{other}` is not supported: SHA256"),
            ));
        }
    }
    if body.bool("allow_rotation")? == Some(true) {
        return Err(VaultError::bad_request(
            "invalid_request",
            "`allow_rotation` is not supported: imported keys are not rotated",
        ));
    }
    let (derived, convergent) = derivation(
        algorithm,
        body.bool("derived")?.unwrap_or(false),
        body.bool("convergent_encryption")?.unwrap_or(false),
    )?;
    let ciphertext = decode_b64(
        "ciphertext",
        &body
            .string("ciphertext")?
            .ok_or_else(|| EngineError::InvalidArgument("missing `ciphertext` to import".into()))?,
    )?;
    let settings = KeySettings {
        rotation_period_ms: rotate_period(&mut body)?.flatten(),
        notice_period_ms: DEFAULT_NOTICE_MS,
        exportable: body.bool("exportable")?.unwrap_or(false),
        allow_plaintext_backup: body.bool("allow_plaintext_backup")?.unwrap_or(false),
        derived,
        convergent,
        imported: true,
        ..KeySettings::default()
    };
    let warnings = body.warnings();
    // Opened with the wrapping key's private half, in a blocking task (RSA-4096 is milliseconds).
    let wrapping = state
        .on_control(
            |ctl| async move { system_keys::material(&ctl, SystemKey::TransitWrapping).await },
        )
        .await?;
    let material = tokio::task::spawn_blocking(move || {
        let opened = kms_engine::crypto::import::unwrap(&wrapping, &ciphertext)?;
        kms_engine::crypto::import::material_for(algorithm, &opened)
    })
    .await
    .map_err(|e| ApiError::internal(&e))??;

    let mut event = success(&state, &caller, "transit_import_key", target.clone());
    event.detail = Some(format!("algorithm={algorithm} imported=true"));
    let actor = caller.actor();
    run(
        &state,
        &caller,
        "transit_import_key",
        target,
        move |ctl| async move {
            keyops::import(
                &ctl, key_name, algorithm, settings, material, &actor, &event,
            )
            .await
            .map_err(|e| match e {
                ControlError::Store(StoreError::AlreadyExists(_)) => {
                    ControlError::invalid("key_exists", "a key of this name exists")
                }
                other => other,
            })
        },
    )
    .await?;
    // Vault answers an import with no body.
    let _ = warnings;
    Ok(HttpResponse::NoContent().finish())
}
