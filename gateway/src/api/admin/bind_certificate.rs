//! `POST /v1/admin/apps/{name}/certificate` `{"fingerprint"}` → `{"app","fingerprint",
//! "created_at"}`: a TLS client certificate whose SHA-256 fingerprint (of its DER encoding) is
//! this one then authenticates as the app, without a token, on a listener with
//! `[tls] client_ca` (which verifies the certificate first). An app may hold several
//! certificates (a renewal is bound before the old one expires); a certificate belongs to one
//! app, once (409 `certificate_already_bound`). Revoking the app revokes its certificates.

use actix_web::{HttpRequest, HttpResponse, web};
use kms_engine::certificate::CertFingerprint;
use kms_engine::store::CertificateBinding;
use serde::{Deserialize, Serialize};

use super::app_admin;
use super::app_view::find_app;
use super::{run, success};
use crate::error::ApiError;
use crate::state::AppState;

const ACTION: &str = "bind_app_certificate";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    /// 64 hex digits, or colon-separated pairs as `openssl x509 -fingerprint -sha256` prints.
    fingerprint: String,
}

#[derive(Serialize)]
struct Response {
    app: String,
    fingerprint: String,
    created_at: String,
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
    let mut event = success(&state, &caller, ACTION, target.clone());
    event.detail = Some(format!("fingerprint={fingerprint}"));
    let response = run(&state, &caller, ACTION, target, |st| async move {
        let app = find_app(&st, &name).await?;
        let at = st.clock.now();
        let binding = CertificateBinding {
            app: app.id,
            fingerprint,
            at,
        };
        let revision = st.store.bind_app_certificate(&binding, &event).await?;
        st.synced(revision).await;
        Ok(Response {
            app: app.name.to_string(),
            fingerprint: fingerprint.to_string(),
            created_at: at.rfc3339(),
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(response))
}
