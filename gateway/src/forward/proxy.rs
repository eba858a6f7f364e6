//! A manage node without the store role: the management zone's entry point. It holds no database
//! credentials and no HSM; it forwards the control plane (admin API, logins, ceremonies, seal and
//! unseal) to the store's internal listener over mutual TLS, where every admin operation runs
//! beside the HSM it needs, and answers what the store answers. The caller's address travels in
//! `X-Kms-Forwarded-For`, which the store trusts only on its internal listener (audit records name
//! the real caller).

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use kms_engine::store::StoreError;

use crate::auth::FORWARDED_FOR;
use crate::error::ApiError;
use kms_store::remote::client::InternalClient;

/// Headers passed on to the store (everything else is dropped): the API's, and the web console's
/// session cookie and the headers its CSRF check reads.
const PASSED: [&str; 6] = [
    "authorization",
    "content-type",
    "x-vault-token",
    "cookie",
    "origin",
    "sec-fetch-site",
];

/// Headers of the store's answer passed back besides `Content-Type` and `Retry-After`: the web
/// console's cookie, redirects, downloads and security headers.
const PASSED_BACK: [&str; 9] = [
    "location",
    "set-cookie",
    "content-disposition",
    "content-security-policy",
    "x-frame-options",
    "x-content-type-options",
    "referrer-policy",
    "cache-control",
    "cross-origin-opener-policy",
];

/// A control-plane call may take a while (an HSM ceremony, a backup).
const TIMEOUT: Duration = Duration::from_secs(120);

/// The largest body forwarded (`max_body_bytes`): app data on every listener that forwards. A
/// body over it is refused here with the JSON `413` every other route answers, stating the limit.
#[derive(Clone, Copy, Debug)]
pub struct BodyLimit(pub usize);

/// The default service of a manage node: forwards `/v1/...` and the web console (`/ui`) to the
/// store, 404 for anything else.
pub async fn forward(
    req: HttpRequest,
    payload: web::Payload,
    client: web::Data<InternalClient>,
) -> Result<HttpResponse, ApiError> {
    // Without the listener's limit, the default one (1 MiB, kms.toml's default).
    let limit = req.app_data::<BodyLimit>().map_or(1 << 20, |l| l.0);
    let body = payload
        .to_bytes_limited(limit)
        .await
        .map_err(|_| crate::error::too_large(limit))?
        .map_err(|e| ApiError::bad_request("invalid_request", e.to_string()))?;
    let path = req
        .uri()
        .path_and_query()
        .map_or_else(|| req.uri().path().to_owned(), |p| p.as_str().to_owned());
    let console = req.path() == "/ui" || req.path().starts_with("/ui/");
    if !path.starts_with("/v1/") && !console {
        return crate::routes::not_found().await;
    }
    let mut headers: Vec<(&str, String)> = PASSED
        .iter()
        .filter_map(|name| {
            req.headers()
                .get(*name)
                .and_then(|v| v.to_str().ok())
                .map(|v| (*name, v.to_owned()))
        })
        .collect();
    if let Some(peer) = req.peer_addr() {
        headers.push((FORWARDED_FOR, peer.ip().to_string()));
    }
    if console {
        // The origin the browser sees is this node's: the console's CSRF check compares it
        // with the form's `Origin`, and its cookie is `Secure` when this node speaks HTTPS.
        let info = req.connection_info().clone();
        headers.push(("x-forwarded-host", info.host().to_owned()));
        headers.push(("x-forwarded-proto", info.scheme().to_owned()));
    }
    let method = req.method().as_str().to_owned();
    let client = client.into_inner();
    let answer = web::block(move || client.send(&method, &path, &headers, &body, TIMEOUT))
        .await
        .map_err(|e| ApiError::internal(&e))?;
    let answer = match answer {
        Ok(a) => a,
        Err(e @ StoreError::Unavailable(_)) => return Err(e.into()),
        Err(e) => return Err(ApiError::internal(&e)),
    };
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::BAD_GATEWAY);
    let mut out = HttpResponse::build(status);
    if let Some(ct) = answer.content_type {
        out.insert_header(("content-type", ct));
    }
    if let Some(ra) = answer.retry_after {
        out.insert_header(("retry-after", ra));
    }
    for (name, value) in &answer.headers {
        if PASSED_BACK.contains(&name.as_str()) {
            out.append_header((name.as_str(), value.as_str()));
        }
    }
    Ok(out.body(answer.body))
}
