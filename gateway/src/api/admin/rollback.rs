//! `POST /v1/admin/keys/{name}/rollback` `{"reason"}` → the key's description: the previous
//! version (the highest decrypt-only one at or above `min_decryption_version`) is active again;
//! the current one becomes decrypt-only. For an emergency: a new version turned out bad.

use actix_web::{HttpRequest, HttpResponse, web};
use kms_engine::store::Rollback;
use serde::Deserialize;

use super::key_view::{KeyView, key_id};
use super::{key_admin, reason, run, success};
use crate::error::ApiError;
use crate::keyops;
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    reason: String,
}

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    name: web::Path<String>,
    body: web::Json<Request>,
) -> Result<HttpResponse, ApiError> {
    let name = name.into_inner();
    let (caller, target) = key_admin(&state, &req, &name, "rollback_key").await?;
    let why = reason(body.into_inner().reason)?;
    let mut event = success(&state, &caller, "rollback_key", target.clone());
    event.detail = Some(format!("reason={why}"));
    let actor = caller.actor();
    let view = run(&state, &caller, "rollback_key", target, |st| async move {
        let id = key_id(&st, &name).await?;
        let rollback = Rollback {
            key: id,
            at: st.clock.now(),
            actor: actor.clone(),
            reason: why.clone(),
        };
        let revision = st.store.rollback_key(&rollback, &event).await?;
        st.synced(revision).await;
        let view = KeyView::load(&st, id).await?;
        keyops::event(
            &st,
            "key_rolled_back",
            id,
            &name,
            Some(view.active_version()),
            serde_json::json!({ "actor": actor, "reason": why }),
        )
        .await;
        Ok(view)
    })
    .await?;
    Ok(HttpResponse::Ok().json(view))
}
