//! `POST /v1/hsm/rekey/update` (custodian) `{"nonce":"...","share":"<a current unseal share>"}` →
//! `{"complete":false,"rekey":{...progress}}`, or, from the share that meets the threshold,
//! `{"complete":true,"shares":N,"threshold":M,"encrypted_shares":[{"fingerprint","ciphertext"}]}`
//! (`"shares_plain"` only when the rekey was started without `share_keys`). Refusals:
//! `409 nonce_mismatch`, `409 already_submitted` (one share per custodian), `400 invalid_share`,
//! `400 wrong_shares` (the quorum does not reconstruct the unseal key; start again).

use actix_web::{HttpRequest, HttpResponse, web};
use kms_control::shares::rekey::{Update, update};
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
            "rekey_update",
            body.into_inner(),
            |ctl, who, nonce, share, remote| async move {
                update(&ctl, &who, &nonce, share, remote).await
            },
        )
        .await?;
    Ok(HttpResponse::Ok().json(match done {
        Update::Pending(view) => json!({ "complete": false, "rekey": view }),
        Update::Done(r) => {
            let mut body = json!({
                "complete": true,
                "shares": r.shares,
                "threshold": r.threshold,
            });
            let delivered = r.delivered.to_json();
            if let Some(sealed) = delivered.get("encrypted_shares") {
                body["encrypted_shares"] = sealed.clone();
            }
            if let Some(plain) = delivered.get("shares") {
                body["shares_plain"] = plain.clone();
            }
            body
        }
    }))
}
