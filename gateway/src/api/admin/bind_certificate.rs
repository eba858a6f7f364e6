//! `POST /v1/admin/apps/{name}/certificate` `{"fingerprint"}` → `{"app","fingerprint",
//! "created_at"}`: a TLS client certificate whose SHA-256 fingerprint (of its DER encoding) is
//! this one then authenticates as the app, without a token, on a listener with
//! `[tls] client_ca` (which verifies the certificate first). An app may hold several
//! certificates (a renewal is bound before the old one expires); a certificate belongs to one
//! app, once (409 `certificate_already_bound`). Revoking the app revokes its certificates.

use actix_web::{HttpRequest, HttpResponse, web};
use kms_control::apps::tokens::bind_certificate;
use kms_engine::certificate::CertFingerprint;
use serde::Deserialize;

use super::{app_admin, run};
use crate::error::ApiError;
use crate::state::AppState;

const ACTION: &str = "bind_app_certificate";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    /// 64 hex digits, or colon-separated pairs as `openssl x509 -fingerprint -sha256` prints.
    fingerprint: String,
}

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    name: web::Path<String>,
    body: web::Json<Request>,
) -> Result<HttpResponse, ApiError> {
    let name = name.into_inner();
    let (caller, target) = app_admin(&state, &req, &name, ACTION).await?;
    let fingerprint = CertFingerprint::parse(&body.fingerprint)
        .map_err(|m| ApiError::bad_request("invalid_fingerprint", m))?;
    let invocation = caller.invocation();
    let response = run(&state, &caller, ACTION, target, |ctl| async move {
        bind_certificate(&ctl, &invocation, &name, fingerprint).await
    })
    .await?;
    Ok(HttpResponse::Ok().json(response))
}
