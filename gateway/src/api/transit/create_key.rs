//! `POST {mount}/keys/:name` `{"type"?,"auto_rotate_period"?,...}` → the key, as read. Types:
//! aes256-gcm96 (default), aes128-gcm96, chacha20-poly1305, ed25519, ecdsa-p256, rsa-2048,
//! rsa-3072, rsa-4096, hmac. Creating a key that exists changes nothing, as in Vault; encrypt
//! creates a missing one for an administrator ([`upsert`]).
//! Administrators only (`transit_create_key`).

use actix_web::{HttpRequest, HttpResponse, web};
use kms_engine::EngineError;
use kms_engine::algorithm::Algorithm;
use kms_engine::ids::KeyName;
use kms_engine::keyring::{DEFAULT_NOTICE_MS, KeySettings};

use super::envelope::VaultError;
use super::fields::Fields;
use super::{Name, admin_request, algorithm_of, read_key};
use crate::api::admin::{key_admin, run, success};
use crate::auth::Caller;
use crate::state::AppState;
use kms_control::keyops;

/// Settings this KMS does not have, refused when asked for (false or absent is fine).
pub fn refuse_unsupported(body: &mut Fields, names: &[&str]) -> Result<(), EngineError> {
    for name in names {
        if body.bool(name)? == Some(true) {
            return Err(EngineError::InvalidArgument(format!(
                "`{name}` is not supported (docs/vault-compat.md)"
            )));
        }
    }
    Ok(())
}

/// Vault's `auto_rotate_period`: `0` turns it off; otherwise at least an hour, as a duration
/// (`24h`, `30d`) or seconds. `None` when not sent; `Some(None)` to turn it off.
pub fn rotate_period(body: &mut Fields) -> Result<Option<Option<i64>>, VaultError> {
    let Some(text) = body.text("auto_rotate_period")? else {
        return Ok(None);
    };
    let ms = match text.parse::<i64>() {
        Ok(secs) => secs.saturating_mul(1000),
        Err(_) => kms_control::durations::parse("auto_rotate_period", &text)?,
    };
    if ms == 0 {
        return Ok(Some(None));
    }
    if ms < 3_600_000 {
        return Err(VaultError::bad_request(
            "invalid_duration",
            "`auto_rotate_period` must be 0 or at least an hour",
        ));
    }
    Ok(Some(Some(ms)))
}

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    name: Name,
    payload: web::Payload,
) -> Result<HttpResponse, VaultError> {
    let name = name.into_inner();
    let (caller, target, mut body) =
        admin_request(&state, &req, &name, "transit_create_key", payload).await?;
    let key_name = KeyName::new(&name)?;
    let algorithm = algorithm_of(body.string("type")?.as_deref().unwrap_or("aes256-gcm96"))?;
    refuse_unsupported(
        &mut body,
        &[
            "derived",
            "convergent_encryption",
            "exportable",
            "allow_plaintext_backup",
        ],
    )?;
    match body.uint("key_size")? {
        None | Some(0 | 32) => {}
        Some(_) => {
            return Err(VaultError::bad_request(
                "invalid_request",
                "`key_size` other than 32 is not supported",
            ));
        }
    }
    let settings = KeySettings {
        deterministic: false,
        rotation_period_ms: rotate_period(&mut body)?.flatten(),
        notice_period_ms: DEFAULT_NOTICE_MS,
        ..KeySettings::default()
    };
    let warnings = body.warnings();
    if state.directory.load().key(&name).is_none() {
        create(&state, &caller, target, key_name, algorithm, settings).await?;
    }
    read_key::answer(&state, &name, warnings).await
}

/// Creates the key (audited as `transit_create_key`) and waits until the data plane serves it.
async fn create(
    state: &web::Data<AppState>,
    caller: &Caller,
    target: String,
    name: KeyName,
    algorithm: Algorithm,
    settings: KeySettings,
) -> Result<(), VaultError> {
    let mut event = success(state, caller, "transit_create_key", target.clone());
    event.detail = Some(format!("algorithm={algorithm}"));
    let actor = caller.actor();
    run(
        state,
        caller,
        "transit_create_key",
        target,
        |st| async move { keyops::create(&st, name, algorithm, settings, &actor, &event).await },
    )
    .await?;
    Ok(())
}

/// Vault's encrypt creates a missing key ("upsert") for a caller allowed to create keys: here an
/// administrator, with the `type` the request names (default aes256-gcm96). Applications never
/// reach this: to them a missing key is the same 403 as a key they hold no grant on.
pub async fn upsert(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    name: &str,
    kind: Option<&str>,
) -> Result<(), VaultError> {
    let (caller, target) = key_admin(state, req, name, "transit_create_key").await?;
    let algorithm = algorithm_of(kind.unwrap_or("aes256-gcm96"))?;
    let settings = KeySettings::default();
    create(
        state,
        &caller,
        target,
        KeyName::new(name)?,
        algorithm,
        settings,
    )
    .await
}
