//! `POST /v1/admin/apps` `{"name"}` → `{"id","name","token","created_at"}`. The token is shown
//! once; the store keeps only its hash.

use actix_web::{HttpRequest, HttpResponse, web};
use kms_engine::ids::{AppId, AppName};
use kms_engine::store::AppRecord;
use kms_engine::token::{self, TokenHash};
use serde::{Deserialize, Serialize};

use super::{run, success};
use crate::auth;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    name: String,
}

#[derive(Serialize)]
struct Response {
    id: String,
    name: String,
    token: String,
    created_at: String,
}

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<Request>,
) -> Result<HttpResponse, ApiError> {
    let target = format!("app:{}", body.name);
    let caller = auth::require_admin(&state, &req, "create_app", Some(target.clone())).await?;
    let name = AppName::new(&body.name)?;
    let event = success(&state, &caller, "create_app", target.clone());
    let response = run(&state, &caller, "create_app", target, |st| async move {
        let app = AppRecord {
            id: AppId::random(),
            name,
            created_at: st.clock.now(),
        };
        let token = token::generate();
        let revision = st
            .store
            .create_app(&app, &TokenHash::of(token.expose()), &event)
            .await?;
        st.synced(revision).await;
        Ok(Response {
            id: app.id.to_string(),
            name: app.name.to_string(),
            token: token.expose().to_owned(),
            created_at: app.created_at.rfc3339(),
        })
    })
    .await?;
    Ok(HttpResponse::Created().json(response))
}
