//! `POST /v1/admin/keys/{name}/export` `{"public_key":"<RSA SPKI PEM>","version"?}` → for a user,
//! `202` an approval request (two other key or security administrators approve); once run, or
//! at once for the root token: `{"key","version","algorithm","wrapped_key","ciphertext","aad"}`
//! (see kms_engine::crypto::export; `aad` is `kms-export-v1:{name}:{version}`). Only keys created
//! `exportable` (else `400 not_exportable`); the default version is the active one.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use kms_control::approvals::action::Action;
use kms_control::keys::export::{Params, check};
use serde::Deserialize;

use super::approve_or_run::approve_or_run;
use super::key_admin;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    public_key: String,
    version: Option<u32>,
}

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    name: web::Path<String>,
    body: web::Json<Request>,
) -> Result<HttpResponse, ApiError> {
    let name = name.into_inner();
    let (caller, target) = key_admin(&state, &req, &name, "export_key").await?;
    let body = body.into_inner();
    // Refuse at once what could never run.
    check(&state.control, &name)?;
    let params = Params {
        name,
        public_key: body.public_key,
        version: body.version,
    };
    approve_or_run(
        &state,
        &caller,
        Action::ExportKey(params),
        target,
        StatusCode::OK,
    )
    .await
}
