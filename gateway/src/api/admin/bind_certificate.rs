//! `POST /v1/admin/apps/{name}/certificate` `{"fingerprint"}` → `{"app","fingerprint",
//! "created_at"}`: a TLS client certificate whose SHA-256 fingerprint (of its DER encoding) is
//! this one then authenticates as the app, without a token, on a listener with
//! `[tls] client_ca` (which verifies the certificate first). An app may hold several
//! certificates (a renewal is bound before the old one expires); a certificate belongs to one
//! app, once (409 `certificate_already_bound`). Revoking the app revokes its certificates. A
//! user's binding waits for approval (`202`): the certificate's holder reaches the app's data.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use kms_control::approvals::action::Action;
use kms_control::apps::tokens::{BindParams, fingerprint};
use serde::Deserialize;

use super::app_admin;
use super::approve_or_run::approve_or_run;
use crate::error::ApiError;
use crate::state::AppState;

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
    let (caller, target) = app_admin(&state, &req, &name, "bind_app_certificate").await?;
    fingerprint(&body.fingerprint)?;
    let params = BindParams {
        app: name,
        fingerprint: body.into_inner().fingerprint,
    };
    let action = Action::BindAppCertificate(params);
    approve_or_run(&state, &caller, action, target, StatusCode::OK).await
}
