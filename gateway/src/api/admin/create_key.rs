//! `POST /v1/admin/keys` `{"name","algorithm"?}` → the key's description. The first version's
//! material is generated inside the HSM and reaches the store only wrapped.

use actix_web::{HttpRequest, HttpResponse, web};
use kms_engine::algorithm::Algorithm;
use kms_engine::ids::{KeyId, KeyName, KeyVersion};
use kms_engine::store::{NewKey, StoreError};
use kms_engine::wrap::WrapContext;
use serde::Deserialize;

use super::key_view::KeyView;
use super::{run, success};
use crate::auth;
use crate::error::ApiError;
use crate::master_keys;
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    name: String,
    algorithm: Option<String>,
}

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<Request>,
) -> Result<HttpResponse, ApiError> {
    let target = format!("key:{}", body.name);
    let caller = auth::require_admin(&state, &req, "create_key", Some(target.clone())).await?;
    let name = KeyName::new(&body.name)?;
    let algorithm = Algorithm::parse(body.algorithm.as_deref().unwrap_or("aes-256-gcm"))?;
    let mut event = success(&state, &caller, "create_key", target.clone());
    event.detail = Some(format!("algorithm={algorithm}"));
    let actor = caller.actor();
    let view = run(&state, &caller, "create_key", target, |st| async move {
        let id = KeyId::random();
        let context = WrapContext {
            key: id,
            version: KeyVersion::FIRST,
            algorithm,
        };
        let mut attempt = 0;
        let revision = loop {
            attempt += 1;
            let under = master_keys::active(st.store.as_ref()).await?.id;
            let key = NewKey {
                id,
                name: name.clone(),
                algorithm,
                wrapped: st.hsm.generate_wrapped(context, under).await?,
                at: st.clock.now(),
                actor: actor.clone(),
            };
            // A master-key rotation between reading the active key and committing: wrap again.
            match st.store.create_key(&key, &event).await {
                Err(StoreError::Conflict(_)) if attempt < 3 => continue,
                other => break other?,
            }
        };
        st.synced(revision).await;
        KeyView::load(&st, id).await
    })
    .await?;
    Ok(HttpResponse::Created().json(view))
}
