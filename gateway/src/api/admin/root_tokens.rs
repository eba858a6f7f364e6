//! `POST /v1/admin/root-tokens/revoke` → `{"revoked":N}`: ends the bootstrap credential. From
//! then on, only users with roles administer the KMS, and sensitive actions need approval.

use actix_web::{HttpRequest, HttpResponse, web};

use super::{run, success};
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
    let event = success(&state, &caller, "revoke_root_tokens", target.clone());
    let revoked = run(
        &state,
        &caller,
        "revoke_root_tokens",
        target,
        move |st| async move {
            let (revision, n) = st.store.revoke_root_tokens(&event).await?;
            st.synced(revision).await;
            Ok(n)
        },
    )
    .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "revoked": revoked })))
}
