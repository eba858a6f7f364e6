//! `POST /v1/keys/{name}/rewrap`: `{"ciphertext":"kms:NNNNN:...","context":"<b64>"?}` →
//! `{"ciphertext":"kms:MMMMM:...","key_version":M}` under the active version, or a batch of those.
//! The plaintext is decrypted and encrypted again inside a crypto worker; it never leaves.

use actix_web::{HttpRequest, HttpResponse, web};
use kms_engine::algorithm::Operation;
use kms_engine::pool::Item;

use super::CiphertextRequest;
use crate::error::ApiError;
use crate::state::AppState;

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    name: super::Path,
    body: web::Json<CiphertextRequest>,
) -> Result<HttpResponse, ApiError> {
    super::ciphertext_op(
        &state,
        &req,
        &name,
        body.into_inner(),
        Operation::Rewrap,
        |ciphertext, context| Item::Rewrap {
            ciphertext,
            context,
        },
    )
    .await
}
