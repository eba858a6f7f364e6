//! `POST /v1/admin/users` `{"name","password","roles":[...]}` → 201 `{"user","totp_secret",
//! "totp_uri"}`. The TOTP secret is shown once (the store keeps it sealed under an HSM-wrapped
//! key); the password is kept as an argon2id hash and must be at least 12 characters.
//!
//! A user may not create an administrator directly: create the account with other roles (or
//! none), then request the roles, which needs approval. The root token may (bootstrap).

use actix_web::{HttpRequest, HttpResponse, web};
use kms_control::people::accounts::{check_new, create};
use kms_control::people::user::{check_name, parse_roles};
use kms_engine::secret::SecretString;
use serde::Deserialize;

use super::super::run;
use crate::auth;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    name: String,
    password: String,
    #[serde(default)]
    roles: Vec<String>,
}

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<Request>,
) -> Result<HttpResponse, ApiError> {
    let mut body = body.into_inner();
    let target = format!("user:{}", body.name);
    let caller = auth::require_admin(&state, &req, "create_user", Some(target.clone())).await?;
    check_name(&body.name)?;
    let roles = parse_roles(&body.roles)?;
    let password = SecretString::new(std::mem::take(&mut body.password));
    check_new(caller.principal(), &body.name, roles, &password)?;
    let invocation = caller.invocation();
    let name = body.name;
    let response = run(
        &state,
        &caller,
        "create_user",
        target,
        move |ctl| async move { create(&ctl, &invocation, name, password, roles).await },
    )
    .await?;
    Ok(HttpResponse::Created().json(response))
}
