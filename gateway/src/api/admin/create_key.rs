//! `POST /v1/admin/keys` `{"name","algorithm"?}` → the key's description. The first version's
//! material is generated inside the HSM and reaches the store only wrapped.

use actix_web::{HttpRequest, HttpResponse, web};
use kms_engine::algorithm::Algorithm;
use kms_engine::ids::{KeyId, KeyName, KeyVersion};
use kms_engine::store::NewKey;
use kms_engine::wrap::WrapContext;
use serde::Deserialize;

use super::key_view::KeyView;
use super::{run, success};
use crate::auth;
use crate::error::ApiError;
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
        let wrapped = st
            .hsm
            .generate_wrapped(WrapContext {
                key: id,
                version: KeyVersion::FIRST,
                algorithm,
            })
            .await?;
        let key = NewKey {
            id,
            name,
            algorithm,
            wrapped,
            at: st.clock.now(),
            actor,
        };
        let revision = st.store.create_key(&key, &event).await?;
        st.synced(revision).await;
        KeyView::load(&st, id).await
    })
    .await?;
    Ok(HttpResponse::Created().json(view))
}
