//! `POST /v1/hsm/ceremonies/{id}/approve` (custodian) `{"component":"<64 hex digits>"?}` →
//! `{"ceremony","component_kcv"}`; the approval that meets the quorum also runs the operation and
//! gets `"result"`, plus, for `create`, the unseal shares (software HSM) and the root token:
//! shown once, to that approver only. When the ceremony was started with `share_keys` (and
//! `root_token_key`), they come as `"encrypted_shares":[{"fingerprint","ciphertext"}]` (and
//! `"encrypted_root_token"`) instead: the approver cannot read them.

use actix_web::{HttpRequest, HttpResponse, web};
use kms_control::ceremony::run::approve;
use serde::Deserialize;
use serde_json::json;

use super::as_custodian;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    component: Option<String>,
}

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    body: web::Json<Request>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let target = format!("ceremony:{id}");
    let component = body.into_inner().component;
    let approval = as_custodian(
        &state,
        &req,
        "ceremony_approve",
        Some(target),
        move |ctl, who, remote| async move { approve(&ctl, &who, &id, component, remote).await },
    )
    .await?;
    Ok(HttpResponse::Ok().json(match &approval.executed {
        None => json!({
            "ceremony": approval.ceremony,
            "component_kcv": approval.component_kcv,
        }),
        Some(done) => {
            let mut body = json!({
                "ceremony": approval.ceremony,
                "component_kcv": approval.component_kcv,
                "result": done.result,
            });
            if !done.shares.is_empty() {
                body["shares"] = json!(done.shares.iter().map(|s| s.expose()).collect::<Vec<_>>());
            }
            if !done.encrypted_shares.is_empty() {
                body["encrypted_shares"] = json!(done.encrypted_shares);
            }
            if let Some(t) = &done.root_token {
                body["root_token"] = json!(t.expose());
            }
            if let Some(t) = &done.encrypted_root_token {
                body["encrypted_root_token"] = json!(t);
            }
            body
        }
    }))
}
