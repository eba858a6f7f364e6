//! `POST {mount}/keys/:name` `{"type"?,"derived"?,"convergent_encryption"?,"exportable"?,
//! "auto_rotate_period"?,...}` → the key, as read. Types: aes256-gcm96 (default), aes128-gcm96,
//! chacha20-poly1305, ed25519, ecdsa-p256, ecdsa-p384, ecdsa-p521, rsa-2048, rsa-3072, rsa-4096,
//! hmac. Creating a key that exists changes nothing, as in Vault; encrypt creates a missing one
//! for an administrator ([`upsert`]). Administrators only (`transit_create_key`).

use actix_web::{HttpRequest, HttpResponse, web};
use kms_engine::EngineError;
use kms_engine::algorithm::{Algorithm, Family};
use kms_engine::ids::KeyName;
use kms_engine::keyring::{DEFAULT_NOTICE_MS, KeySettings};

use super::envelope::VaultError;
use super::fields::Fields;
use super::{Name, admin_request, algorithm_of, read_key};
use crate::api::admin::{key_admin, run, success};
use crate::auth::Caller;
use crate::state::AppState;
use kms_control::keyops;

/// Transit's derivation settings, checked as Vault checks them: convergent encryption needs
/// derivation; derivation is for the AEAD types (Ed25519's derived signing keys are not built).
pub fn derivation(
    algorithm: Algorithm,
    derived: bool,
    convergent: bool,
) -> Result<(bool, bool), EngineError> {
    if convergent && !derived {
        return Err(EngineError::InvalidArgument(
            "convergent encryption requires derivation to be enabled".into(),
        ));
    }
    if derived && algorithm.family() != Family::Aead {
        return Err(EngineError::InvalidArgument(format!(
            "key derivation is supported for the encryption key types, not {}",
            super::vault_type(algorithm)
        )));
    }
    Ok((derived, convergent))
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
    let (derived, convergent) = derivation(
        algorithm,
        body.bool("derived")?.unwrap_or(false),
        body.bool("convergent_encryption")?.unwrap_or(false),
    )?;
    let exportable = body.bool("exportable")?.unwrap_or(false);
    let allow_plaintext_backup = body.bool("allow_plaintext_backup")?.unwrap_or(false);
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
        // As the native API's `exportable`: the material may leave only as an approved export.
        exportable,
        // A backup still needs a quorum's approval, and holds the material wrapped.
        allow_plaintext_backup,
        derived,
        convergent,
        ..KeySettings::default()
    };
    let warnings = body.warnings();
    if state.directory.load().key(&name).is_none() {
        create(&state, &caller, target, key_name, algorithm, settings).await?;
    }
    read_key::answer(&state, &name, warnings).await
}

/// Creates the key (audited as `transit_create_key`) and waits until the data plane serves it.
pub async fn create(
    state: &web::Data<AppState>,
    caller: &Caller,
    target: String,
    name: KeyName,
    algorithm: Algorithm,
    settings: KeySettings,
) -> Result<(), VaultError> {
    let mut event = success(state, caller, "transit_create_key", target.clone());
    event.detail = Some(format!(
        "algorithm={algorithm} derived={} convergent={} exportable={}",
        settings.derived, settings.convergent, settings.exportable
    ));
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

/// What encrypt's "upsert" creates: the request's `type`, and a derived key (convergent if
/// asked) when the first item has a `context`, as Vault does.
pub struct Upsert {
    pub kind: Option<String>,
    pub derived: bool,
    pub convergent: bool,
}

/// Vault's encrypt creates a missing key ("upsert") for a caller allowed to create keys: here an
/// administrator. Applications never reach this: to them a missing key is the same 403 as a key
/// they hold no grant on.
pub async fn upsert(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    name: &str,
    upsert: &Upsert,
) -> Result<(), VaultError> {
    let (caller, target) = key_admin(state, req, name, "transit_create_key").await?;
    let algorithm = algorithm_of(upsert.kind.as_deref().unwrap_or("aes256-gcm96"))?;
    let (derived, convergent) = derivation(algorithm, upsert.derived, upsert.convergent)?;
    let settings = KeySettings {
        derived,
        convergent,
        ..KeySettings::default()
    };
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
