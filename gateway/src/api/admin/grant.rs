//! `POST /v1/admin/keys/{name}/grants` `{"app","operations":[...]}` → the grant. Replaces what
//! the app held on the key; an empty list revokes it.

use actix_web::{HttpRequest, HttpResponse, web};
use kms_control::keys::grants::grant;
use kms_engine::algorithm::{Operation, OperationSet};
use kms_engine::ids::AppName;
use serde::{Deserialize, Serialize};

use super::{key_admin, run};
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
    let ops: Vec<&'static str> = operations.iter().map(|o| o.name()).collect();
    let invocation = caller.invocation();
    let key_name = name.clone();
    run(&state, &caller, "grant", target, |ctl| async move {
        grant(&ctl, &invocation, &key_name, &app_name, operations).await
    })
    .await?;
    Ok(HttpResponse::Ok().json(Response {
        key: name,
        app: body.app,
        operations: ops,
    }))
}
