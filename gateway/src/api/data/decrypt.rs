//! `POST /v1/keys/{name}/decrypt`: `{"ciphertext":"kms:NNNNN:...","context":"<b64>"?}` →
//! `{"plaintext":"<b64>"}`, or a batch of those.

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
        Operation::Decrypt,
        |ciphertext, context| Item::Decrypt {
            ciphertext,
            context,
        },
    )
    .await
}
