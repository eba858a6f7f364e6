//! `POST /v1/admin/keys/{name}/grants` `{"app","operations":[...]}` → the grant. Replaces what
//! the app held on the key; an empty list revokes it. A grant that adds an operation waits for
//! approval (`202`) unless the root token asks: whoever holds the app's token reaches the data.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use kms_control::approvals::action::Action;
use kms_control::keys::grants::Params;
use kms_engine::ids::AppName;
use serde::Deserialize;

use super::approve_or_run::approve_or_run;
use super::key_admin;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    app: String,
    operations: Vec<String>,
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
    AppName::new(&body.app)?;
    let params = Params {
        key: name,
        app: body.app,
        operations: body.operations,
    };
    params.operations()?;
    approve_or_run(
        &state,
        &caller,
        Action::Grant(params),
        target,
        StatusCode::OK,
    )
    .await
}
