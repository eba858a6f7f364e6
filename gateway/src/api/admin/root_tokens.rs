//! `POST /v1/admin/root-tokens/revoke` → `{"revoked":N}`: ends the bootstrap credential. From
//! then on, only users with roles administer the KMS, and sensitive actions need approval.

use actix_web::{HttpRequest, HttpResponse, web};
use kms_control::people::status::revoke_root_tokens;

use super::run;
use crate::auth;
use crate::error::ApiError;
use crate::state::AppState;

pub async fn revoke(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let target = "root-tokens".to_owned();
    let caller =
        auth::require_admin(&state, &req, "revoke_root_tokens", Some(target.clone())).await?;
    let invocation = caller.invocation();
    let revoked = run(
        &state,
        &caller,
        "revoke_root_tokens",
        target,
        |ctl| async move { revoke_root_tokens(&ctl, &invocation).await },
    )
    .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "revoked": revoked })))
}
