//! Keys for a zone's service nodes: each usable version unwrapped with the master key in the HSM
//! and wrapped again to the zone's public key (RSA-OAEP-SHA256 around an AES key wrap,
//! engine/src/zone.rs), so that only the zone's nodes can open it. Versions that may no longer be
//! used (scheduled for destruction, destroyed) travel without material; the reserved
//! `kms-system.` keys never leave the store.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use kms_engine::ids::{KeyId, KeyVersion};
use kms_engine::keyring::KeyEntry;
use kms_engine::version::VersionState;
use kms_engine::wrap::WrappedKey;
use kms_engine::zone::{ZoneName, ZonePublicKey, zone_master_key_id};
use kms_hsm::HsmHandle;

use crate::error::ApiError;
use crate::state::AppState;
use crate::system_keys;
use kms_store::remote::wire::WireKey;

/// The registered zone's public key.
async fn zone_key(state: &AppState, name: &str) -> Result<(ZoneName, ZonePublicKey), ApiError> {
    let zone =
        ZoneName::new(name).map_err(|e| ApiError::bad_request("invalid_zone", e.to_string()))?;
    let store = state.store.clone();
    let zones = state.io(async move { Ok(store.zones().await?) }).await?;
    let record = zones
        .into_iter()
        .find(|z| z.name == zone.as_str())
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "zone_not_found",
                format!("no zone {zone} is registered"),
            )
        })?;
    let key =
        ZonePublicKey::from_pem(&record.public_key_pem).map_err(|e| ApiError::internal(&e))?;
    Ok((zone, key))
}

fn usable(state: VersionState) -> bool {
    matches!(
        state,
        VersionState::Active | VersionState::DecryptOnly | VersionState::Disabled
    )
}

/// `key` as the zone's nodes receive it.
async fn for_zone(
    hsm: &HsmHandle,
    zone: &ZoneName,
    public: &ZonePublicKey,
    key: &KeyEntry,
) -> Result<WireKey, ApiError> {
    let mut transport: HashMap<KeyVersion, WrappedKey> = HashMap::new();
    for v in key.versions().iter().filter(|v| usable(v.state)) {
        let Some(wrapped) = &v.wrapped else { continue };
        let context = key.wrap_context(v.version);
        let material = hsm.unwrap(context, wrapped.clone()).await?;
        let blob = public
            .wrap_transport(&context, &material)
            .map_err(|e| ApiError::internal(&e))?;
        transport.insert(
            v.version,
            WrappedKey {
                master_key: zone_master_key_id(zone),
                blob,
            },
        );
    }
    Ok(WireKey::from_entry(key, |v| transport.remove(&v.version)))
}

/// Whether the key may leave the store at all.
fn shared(key: &KeyEntry) -> bool {
    !key.name.as_str().starts_with(system_keys::PREFIX)
}

/// `GET /internal/v1/zones/{zone}/keys`
pub async fn list(
    state: web::Data<AppState>,
    zone: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (zone, public) = zone_key(&state, &zone).await?;
    let st = state.clone().into_inner();
    let body = state
        .io(async move {
            let mut out = Vec::new();
            for key in st.store.load_keys().await?.iter().filter(|k| shared(k)) {
                out.push(for_zone(&st.hsm, &zone, &public, key).await?);
            }
            Ok(out)
        })
        .await?;
    Ok(HttpResponse::Ok().json(body))
}

/// `GET /internal/v1/zones/{zone}/keys/{id}`: 404 once the key is gone (deleted).
pub async fn one(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (zone, id) = path.into_inner();
    let (zone, public) = zone_key(&state, &zone).await?;
    let id =
        KeyId::parse(&id).map_err(|e| ApiError::bad_request("invalid_key_id", e.to_string()))?;
    let st = state.clone().into_inner();
    let body = state
        .io(async move {
            match st.store.load_key(id).await? {
                Some(key) if shared(&key) => {
                    Ok(Some(for_zone(&st.hsm, &zone, &public, &key).await?))
                }
                _ => Ok(None),
            }
        })
        .await?;
    Ok(match body {
        Some(key) => HttpResponse::Ok().json(key),
        None => {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "key_not_found",
                "no such key",
            ));
        }
    })
}
