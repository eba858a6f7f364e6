//! Keys for a zone's service nodes, wrapped to the zone's public key (the management center's
//! `zones::transport` does the unwrapping and wrapping; this is the wire side).

use actix_web::{HttpResponse, web};
use kms_control::zones::transport::{self, ZoneKey};
use kms_engine::ids::KeyId;
use kms_store::remote::wire::WireKey;

use crate::error::ApiError;
use crate::state::AppState;

fn wire(mut key: ZoneKey) -> WireKey {
    WireKey::from_entry(&key.entry, |v| key.transport.remove(&v.version))
}

/// `GET /internal/v1/zones/{zone}/keys`
pub async fn list(
    state: web::Data<AppState>,
    zone: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let zone = zone.into_inner();
    let keys = state
        .on_control(move |ctl| async move { transport::keys(&ctl, &zone).await })
        .await?;
    let body: Vec<WireKey> = keys.into_iter().map(wire).collect();
    Ok(HttpResponse::Ok().json(body))
}

/// `GET /internal/v1/zones/{zone}/keys/{id}`: 404 once the key is gone (deleted).
pub async fn one(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (zone, id) = path.into_inner();
    let id =
        KeyId::parse(&id).map_err(|e| ApiError::bad_request("invalid_key_id", e.to_string()))?;
    let key = state
        .on_control(move |ctl| async move { transport::key(&ctl, &zone, id).await })
        .await?;
    match key {
        Some(key) => Ok(HttpResponse::Ok().json(wire(key))),
        None => Err(ApiError::new(
            actix_web::http::StatusCode::NOT_FOUND,
            "key_not_found",
            "no such key",
        )),
    }
}
