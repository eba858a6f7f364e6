//! `POST /v1/admin/users/{name}/roles` `{"roles":[...]}` → the user; or `202` with the approval
//! request for any change but adding `auditor` (a user asking, not the root token). No change
//! may leave fewer people than a quorum needs.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use kms_control::approvals::action::Action;
use kms_control::people::roles::Params;
use kms_control::people::user::parse_roles;
use serde::Deserialize;

use super::super::approve_or_run::approve_or_run;
use crate::auth;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    roles: Vec<String>,
}

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    name: web::Path<String>,
    body: web::Json<Request>,
) -> Result<HttpResponse, ApiError> {
    let name = name.into_inner();
    let target = format!("user:{name}");
    let caller = auth::require_admin(&state, &req, "set_user_roles", Some(target.clone())).await?;
    let roles = parse_roles(&body.roles)?;
    let params = Params {
        name,
        roles: roles.names().into_iter().map(str::to_owned).collect(),
    };
    approve_or_run(
        &state,
        &caller,
        Action::SetUserRoles(params),
        target,
        StatusCode::OK,
    )
    .await
}
