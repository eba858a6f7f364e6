//! `POST /v1/admin/keys/{name}/config` `{"min_decryption_version"?,"rotation_period"?,
//! "notice_period"?,"reason"}` → the key's description. `rotation_period: null` turns scheduled
//! rotation off; a field left out stays as it is.

use actix_web::{HttpRequest, HttpResponse, web};
use kms_engine::ids::KeyVersion;
use kms_engine::store::KeyConfig;
use serde::{Deserialize, Deserializer};

use super::key_view::{KeyView, key_id};
use super::{key_admin, reason, run, success};
use crate::durations;
use crate::error::ApiError;
use crate::state::AppState;

/// Tells a field set to `null` (`Some(None)`) from one left out (`None`).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    min_decryption_version: Option<u32>,
    #[serde(default, deserialize_with = "present")]
    rotation_period: Option<Option<String>>,
    notice_period: Option<String>,
    reason: String,
}

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    name: web::Path<String>,
    body: web::Json<Request>,
) -> Result<HttpResponse, ApiError> {
    let name = name.into_inner();
    let (caller, target) = key_admin(&state, &req, &name, "configure_key").await?;
    let body = body.into_inner();
    let why = reason(body.reason)?;
    let config = KeyConfig {
        min_decryption_version: body
            .min_decryption_version
            .map(KeyVersion::new)
            .transpose()?,
        rotation_period_ms: body
            .rotation_period
            .map(|p| {
                p.map(|p| durations::parse("rotation_period", &p))
                    .transpose()
            })
            .transpose()?,
        notice_period_ms: body
            .notice_period
            .map(|p| durations::parse("notice_period", &p))
            .transpose()?,
        deletion_allowed: None,
        ..KeyConfig::default()
    };
    if config.is_empty() {
        return Err(ApiError::bad_request(
            "invalid_request",
            "nothing to change",
        ));
    }
    let mut event = success(&state, &caller, "configure_key", target.clone());
    event.detail = Some(format!("reason={why}"));
    let actor = caller.actor();
    let view = run(&state, &caller, "configure_key", target, |st| async move {
        let id = key_id(&st, &name).await?;
        let revision = st
            .store
            .configure_key(id, &config, st.clock.now(), &actor, &why, &event)
            .await?;
        st.synced(revision).await;
        KeyView::load(&st, id).await
    })
    .await?;
    Ok(HttpResponse::Ok().json(view))
}
