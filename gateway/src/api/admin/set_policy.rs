//! `POST /v1/admin/keys/{name}/policy` `{"allowed_cidrs"?,"time_windows"?,"rate_limit"?}` →
//! `{"key","policy"}`: replaces the key's usage policy (see kms-engine `policy/`); `{}` removes
//! it. Served by the data plane before the call returns. Loosening a policy (removing it, or a
//! new one that allows anything the old one refused) is, for a user, `202` an approval request.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use kms_control::approvals::action::Action;
use kms_control::keys::policy::Params;
use kms_engine::policy::{PolicySpec, UsagePolicy};

use super::approve_or_run::approve_or_run;
use super::key_admin;
use crate::error::ApiError;
use crate::state::AppState;

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    name: web::Path<String>,
    body: web::Json<PolicySpec>,
) -> Result<HttpResponse, ApiError> {
    let name = name.into_inner();
    let (caller, target) = key_admin(&state, &req, &name, "set_key_policy").await?;
    let new = UsagePolicy::parse(&body)?;
    let params = Params {
        name,
        policy: new.spec(),
    };
    let action = Action::SetKeyPolicy(params);
    approve_or_run(&state, &caller, action, target, StatusCode::OK).await
}
