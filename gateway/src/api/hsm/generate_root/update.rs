//! `POST /v1/hsm/generate-root/update` (custodian) `{"nonce":"...","share":"<a current unseal
//! share>"}` → `{"complete":false,"generate_root":{...progress}}`, or, from the share that meets
//! the threshold, `{"complete":true,"encrypted_root_token":{"fingerprint","ciphertext"},
//! "revoked_root_tokens":N}`. Refusals as for rekey: `409 nonce_mismatch`, `409
//! already_submitted`, `400 invalid_share`, `400 wrong_shares`.

use actix_web::{HttpRequest, HttpResponse, web};
use kms_control::shares::generate_root::{Update, update};
use kms_engine::secret::SecretString;
use serde::Deserialize;
use serde_json::json;

use crate::api::hsm::{custodian, remote};
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    nonce: String,
    share: String,
}

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<Request>,
) -> Result<HttpResponse, ApiError> {
    let who = custodian(&state, &req, "generate_root_update", None).await?;
    let Request { nonce, share } = body.into_inner();
    let share = SecretString::new(share);
    let remote = remote(&req);
    let done = state
        .on_control(move |ctl| async move { update(&ctl, &who, &nonce, share, remote).await })
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
