//! `GET /v1/admin/audit/verify` → `{"ok","entries","seals","sealed_through","first_bad":
//! {"seq","problem"}|null}`: the chain checked from its first entry (see crate::audit_chain).

use actix_web::{HttpRequest, HttpResponse, web};

use crate::error::ApiError;
use crate::state::AppState;
use crate::{audit_chain, auth};

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    auth::require_admin(&state, &req, "verify_audit", None).await?;
    let st = state.clone().into_inner();
    let report = state
        .io(async move { audit_chain::verify(&st).await })
        .await?;
    Ok(HttpResponse::Ok().json(report))
}
