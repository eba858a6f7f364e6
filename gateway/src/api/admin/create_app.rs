//! `POST /v1/admin/apps` `{"name"}` → `{"id","name","token","created_at"}`. The token is shown
//! once; the store keeps only its hash.

use actix_web::{HttpRequest, HttpResponse, web};
use kms_control::apps::tokens::create;
use kms_engine::ids::AppName;
use serde::Deserialize;

use super::run;
use crate::auth;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    name: String,
}

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<Request>,
) -> Result<HttpResponse, ApiError> {
    let target = format!("app:{}", body.name);
    let caller = auth::require_admin(&state, &req, "create_app", Some(target.clone())).await?;
    let name = AppName::new(&body.name)?;
    let invocation = caller.invocation();
    let response = run(&state, &caller, "create_app", target, |ctl| async move {
        create(&ctl, &invocation, name).await
    })
    .await?;
    Ok(HttpResponse::Created().json(response))
}
