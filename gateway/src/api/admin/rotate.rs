//! `POST /v1/admin/keys/{name}/rotate` `{"reason"}` → the key's description with its new active
//! version. The new version is generated (inside the HSM, or as a key pair wrapped by it),
//! committed in one transaction (the old active version becomes decrypt-only), and served by the
//! data plane before the call returns.

use actix_web::{HttpRequest, HttpResponse, web};
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
    let (caller, target) = key_admin(&state, &req, &name, "rotate_key").await?;
    let why = reason(body.into_inner().reason)?;
    let event = success(&state, &caller, "rotate_key", target.clone());
    let actor = caller.actor();
    let view = run(&state, &caller, "rotate_key", target, |st| async move {
        let id = key_id(&st, &name).await?;
        let (revision, _) = keyops::rotate(&st, id, &actor, &why, &event).await?;
        st.synced(revision).await;
        KeyView::load(&st, id).await
    })
    .await?;
    Ok(HttpResponse::Ok().json(view))
}
