//! `GET /v1/admin/audit/verify` → `{"ok","entries","seals","sealed_through","first_bad":
//! {"seq","problem"}|null}`: the chain checked from its first entry (see kms_control::audit_chain).

use actix_web::{HttpRequest, HttpResponse, web};

use crate::error::ApiError;
use crate::state::AppState;
use kms_control::audit_chain;

use crate::auth;

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    auth::require_admin(&state, &req, "verify_audit", None).await?;
    let report = state
        .on_control(|ctl| async move { audit_chain::verify(&ctl).await })
        .await?;
    Ok(HttpResponse::Ok().json(report))
}
