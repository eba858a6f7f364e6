//! `POST /v1/admin/keys/{name}/rotate` `{"reason"}` → the key's description with its new active
//! version. The new version is generated inside the HSM, committed in one transaction (the old
//! active version becomes decrypt-only), and served by the data plane before the call returns.

use actix_web::{HttpRequest, HttpResponse, web};
use kms_engine::EngineError;
use kms_engine::store::{Rotation, StoreError};
use serde::Deserialize;

use super::key_view::{KeyView, key_id};
use super::{run, success};
use crate::auth;
use crate::error::ApiError;
use crate::master_keys;
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    reason: String,
}

/// Attempts before a rotation that keeps losing to concurrent ones (key rotations, or a
/// master-key rotation) gives up with 409.
const ATTEMPTS: usize = 3;

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    name: web::Path<String>,
    body: web::Json<Request>,
) -> Result<HttpResponse, ApiError> {
    let name = name.into_inner();
    let target = format!("key:{name}");
    let caller = auth::require_admin(&state, &req, "rotate_key", Some(target.clone())).await?;
    let reason = body.into_inner().reason;
    if reason.trim().is_empty() || reason.len() > 1024 {
        return Err(ApiError::bad_request(
            "invalid_request",
            "`reason` must be 1 to 1024 characters",
        ));
    }
    let event = success(&state, &caller, "rotate_key", target.clone());
    let actor = caller.actor();
    let view = run(&state, &caller, "rotate_key", target, |st| async move {
        let id = key_id(&st, &name).await?;
        let mut attempt = 0;
        let revision = loop {
            attempt += 1;
            let key = st
                .store
                .load_key(id)
                .await?
                .ok_or(EngineError::KeyNotFound)?;
            let latest = key
                .versions()
                .last()
                .map(|v| v.version)
                .ok_or(EngineError::CorruptRecord("a key without versions"))?;
            let version = latest.next()?;
            let under = master_keys::active(st.store.as_ref()).await?.id;
            let wrapped = st
                .hsm
                .generate_wrapped(key.wrap_context(version), under)
                .await?;
            let rotation = Rotation {
                key: id,
                new_version: version,
                wrapped,
                at: st.clock.now(),
                actor: actor.clone(),
                reason: reason.clone(),
            };
            let mut event = event.clone();
            event.detail = Some(format!("version={version} reason={reason}"));
            match st.store.rotate_key(&rotation, &event).await {
                Err(StoreError::Conflict(_)) if attempt < ATTEMPTS => continue,
                other => break other?,
            }
        };
        st.synced(revision).await;
        KeyView::load(&st, id).await
    })
    .await?;
    Ok(HttpResponse::Ok().json(view))
}
