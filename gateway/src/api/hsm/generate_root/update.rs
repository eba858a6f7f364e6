//! `POST /v1/hsm/generate-root/update` (custodian) `{"nonce":"...","share":"<a current unseal
//! share>"}` → `{"complete":false,"generate_root":{...progress}}`, or, from the share that meets
//! the threshold, `{"complete":true,"encrypted_root_token":{"fingerprint","ciphertext"},
//! "revoked_root_tokens":N}`. Refusals as for rekey: `409 nonce_mismatch`, `409
//! already_submitted`, `400 invalid_share`, `400 wrong_shares`.

use actix_web::{HttpRequest, HttpResponse, web};
use kms_control::shares::generate_root::{Update, update};
use serde_json::json;

use crate::api::hsm::{ShareSubmission, submit_share};
use crate::error::ApiError;
use crate::state::AppState;

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<ShareSubmission>,
) -> Result<HttpResponse, ApiError> {
    let done =
        submit_share(
            &state,
            &req,
            "generate_root_update",
            body.into_inner(),
            |ctl, who, nonce, share, remote| async move {
                update(&ctl, &who, &nonce, share, remote).await
            },
        )
        .await?;
    Ok(HttpResponse::Ok().json(match done {
        Update::Pending(view) => json!({ "complete": false, "generate_root": view }),
        Update::Done(g) => json!({
            "complete": true,
            "encrypted_root_token": g.encrypted_root_token,
            "revoked_root_tokens": g.revoked,
        }),
    }))
}
