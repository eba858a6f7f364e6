//! `POST /v1/admin/keys/{name}/grants` `{"app","operations":[...]}` → the grant. Replaces what
//! the app held on the key; an empty list revokes it.

use actix_web::{HttpRequest, HttpResponse, web};
use kms_engine::EngineError;
use kms_engine::algorithm::{Operation, OperationSet};
use kms_engine::ids::AppName;
use kms_engine::store::Grant;
use serde::{Deserialize, Serialize};

use super::app_view::find_app;
use super::key_view::key_id;
use super::{key_admin, run, success};
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    app: String,
    operations: Vec<String>,
}

#[derive(Serialize)]
struct Response {
    key: String,
    app: String,
    operations: Vec<&'static str>,
}

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    name: web::Path<String>,
    body: web::Json<Request>,
) -> Result<HttpResponse, ApiError> {
    let name = name.into_inner();
    let (caller, target) = key_admin(&state, &req, &name, "grant").await?;
    let body = body.into_inner();
    let app_name = AppName::new(&body.app)?;
    let operations: OperationSet = body
        .operations
        .iter()
        .map(|o| Operation::parse(o))
        .collect::<Result<_, _>>()?;
    let mut event = success(&state, &caller, "grant", target.clone());
    let ops: Vec<&'static str> = operations.iter().map(|o| o.name()).collect();
    event.detail = Some(format!("app={app_name} operations=[{}]", ops.join(",")));
    let actor = caller.actor();
    let key_name = name.clone();
    run(&state, &caller, "grant", target, |st| async move {
        let id = key_id(&st, &key_name).await?;
        let key = st
            .store
            .load_key(id)
            .await?
            .ok_or(EngineError::KeyNotFound)?;
        if let Some(op) = operations.iter().find(|o| !key.supports(*o)) {
            return Err(EngineError::OperationNotSupported(op.name()).into());
        }
        let app = find_app(&st, app_name.as_str()).await?;
        let grant = Grant {
            key: id,
            app: app.id,
            app_name: app.name,
            operations,
            at: st.clock.now(),
            actor,
        };
        let revision = st.store.set_grant(&grant, &event).await?;
        st.synced(revision).await;
        Ok(())
    })
    .await?;
    Ok(HttpResponse::Ok().json(Response {
        key: name,
        app: body.app,
        operations: ops,
    }))
}
