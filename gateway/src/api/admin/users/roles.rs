//! `POST /v1/admin/users/{name}/roles` `{"roles":[...]}` → the user, or 202 with the approval
//! request when a user (not the root token) gives someone an administrator role they did not hold.

use actix_web::{HttpRequest, HttpResponse, web};
use kms_engine::store::StoreError;
use serde::{Deserialize, Serialize};

use super::{UserView, parse_roles};
use crate::approvals::{self, Invocation};
use crate::auth;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    name: String,
    roles: Vec<String>,
}

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
    let st = state.clone().into_inner();
    let lookup = name.clone();
    let current = state
        .io(async move { Ok(st.store.user(&lookup).await?) })
        .await?
        .ok_or(StoreError::NotFound("user"))?;
    let params = Params {
        name,
        roles: roles.names().into_iter().map(str::to_owned).collect(),
    };
    let adds_administrator = roles
        .iter()
        .any(|r| r.is_administrator() && !current.roles.contains(r));
    approvals::run_or_request(
        &state,
        &caller,
        "set_user_roles",
        target,
        &params,
        adds_administrator,
        |st, invocation, params| async move { apply(&st, &invocation, params).await },
    )
    .await
}

/// Sets the roles (directly, or once approved).
pub async fn apply(
    state: &AppState,
    invocation: &Invocation,
    params: serde_json::Value,
) -> Result<serde_json::Value, ApiError> {
    let params: Params = approvals::params(params)?;
    let roles = parse_roles(&params.roles)?;
    let event = invocation.event(
        state,
        "set_user_roles",
        format!("user:{}", params.name),
        format!("roles={}", roles.to_csv()),
    );
    let revision = state
        .store
        .set_user_roles(&params.name, roles, &event)
        .await?;
    state.synced(revision).await;
    let user = state
        .store
        .user(&params.name)
        .await?
        .ok_or(StoreError::NotFound("user"))?;
    serde_json::to_value(UserView::from(&user)).map_err(|e| ApiError::internal(&e))
}
