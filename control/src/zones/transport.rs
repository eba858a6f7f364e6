//! Keys for a zone's service nodes: each usable version unwrapped with the master key in the HSM
//! and wrapped again to the zone's public key (RSA-OAEP-SHA256 around an AES key wrap,
//! engine/src/zone.rs), so that only the zone's nodes can open it. Versions that may no longer be
//! used (scheduled for destruction, destroyed) travel without material; the reserved
//! `kms-system.` keys never leave the store.

use std::collections::HashMap;

use kms_engine::ids::{KeyId, KeyVersion};
use kms_engine::keyring::KeyEntry;
use kms_engine::version::VersionState;
use kms_engine::wrap::WrappedKey;
use kms_engine::zone::{ZoneName, ZonePublicKey, zone_master_key_id};

use crate::context::Control;
use crate::error::ControlError;
use crate::system_keys;

/// A key as a zone's nodes receive it: its snapshot, and its usable versions wrapped to the zone.
pub struct ZoneKey {
    pub entry: KeyEntry,
    pub transport: HashMap<KeyVersion, WrappedKey>,
}

/// The registered zone's public key.
async fn zone_key(ctl: &Control, name: &str) -> Result<(ZoneName, ZonePublicKey), ControlError> {
    let zone =
        ZoneName::new(name).map_err(|e| ControlError::invalid("invalid_zone", e.to_string()))?;
    let record = ctl
        .store
        .zones()
        .await?
        .into_iter()
        .find(|z| z.name == zone.as_str())
        .ok_or_else(|| {
            ControlError::not_found("zone_not_found", format!("no zone {zone} is registered"))
        })?;
    let key = ZonePublicKey::from_pem(&record.public_key_pem).map_err(ControlError::internal)?;
    Ok((zone, key))
}

fn usable(state: VersionState) -> bool {
    matches!(
        state,
        VersionState::Active | VersionState::DecryptOnly | VersionState::Disabled
    )
}

async fn for_zone(
    ctl: &Control,
    zone: &ZoneName,
    public: &ZonePublicKey,
    key: KeyEntry,
) -> Result<ZoneKey, ControlError> {
    let mut transport = HashMap::new();
    for v in key.versions().iter().filter(|v| usable(v.state)) {
        let Some(wrapped) = &v.wrapped else { continue };
        let context = key.wrap_context(v.version);
        let material = ctl.hsm.unwrap(context, wrapped.clone()).await?;
        let blob = public
            .wrap_transport(&context, &material)
            .map_err(ControlError::internal)?;
        transport.insert(
            v.version,
            WrappedKey {
                master_key: zone_master_key_id(zone),
                blob,
            },
        );
    }
    Ok(ZoneKey {
        entry: key,
        transport,
    })
}

/// Whether the key may leave the store at all.
fn shared(key: &KeyEntry) -> bool {
    !system_keys::is_reserved(key.name.as_str())
}

/// Every key, for the zone named `zone` (404 `zone_not_found` for an unregistered zone).
pub async fn keys(ctl: &Control, zone: &str) -> Result<Vec<ZoneKey>, ControlError> {
    let (zone, public) = zone_key(ctl, zone).await?;
    let mut out = Vec::new();
    for key in ctl.store.load_keys().await? {
        if shared(&key) {
            out.push(for_zone(ctl, &zone, &public, key).await?);
        }
    }
    Ok(out)
}

/// One key for the zone; `None` once it is gone (deleted) or if it never leaves the store.
pub async fn key(ctl: &Control, zone: &str, id: KeyId) -> Result<Option<ZoneKey>, ControlError> {
    let (zone, public) = zone_key(ctl, zone).await?;
    match ctl.store.load_key(id).await? {
        Some(key) if shared(&key) => Ok(Some(for_zone(ctl, &zone, &public, key).await?)),
        _ => Ok(None),
    }
}
