//! The access log: one `tracing` event per HTTP request, target `kms::access`, so that `KMS_LOG`
//! filters it on its own (`KMS_LOG=info,kms::access=off` turns it off).
//!
//! A line says what an operator needs to follow traffic and nothing a caller sent in a body or a
//! header: the method, the route's *template* (`/v1/keys/{name}/encrypt`, never the raw path,
//! which carries key and app names), the status, the duration, and who called (the audit name of
//! the token's or certificate's owner, `app:payments`, or of the internal API's node). Tokens,
//! bodies and query strings never reach it.

use std::sync::Arc;
use std::time::Instant;

use actix_web::HttpMessage;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;

use crate::api::internal::nodes::Node;

/// The `tracing` target of access lines.
pub const TARGET: &str = "kms::access";

/// The caller's audit name, left in the request by authentication for the access line.
#[derive(Clone)]
pub struct CallerName(pub Arc<str>);

/// Whether access lines are written at all: authentication skips noting the caller when not.
pub fn enabled() -> bool {
    tracing::enabled!(target: TARGET, tracing::Level::INFO)
}

/// Notes who called, for this request's access line (nothing when access lines are off).
pub fn note_caller(req: &actix_web::HttpRequest, actor: &Arc<str>) {
    if enabled() {
        req.extensions_mut().insert(CallerName(Arc::clone(actor)));
    }
}

/// `actix_web::middleware::from_fn` on every listener's App, outermost.
pub async fn log(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if !enabled() {
        return next.call(req).await;
    }
    let started = Instant::now();
    let method = req.method().clone();
    let result = next.call(req).await;
    let (status, route, caller) = match &result {
        Ok(res) => {
            let req = res.request();
            let ext = req.extensions();
            let caller = ext
                .get::<CallerName>()
                .map(|c| c.0.to_string())
                .or_else(|| ext.get::<Node>().map(Node::actor));
            (res.status().as_u16(), req.match_pattern(), caller)
        }
        // A middleware's refusal: no request left to read (its status is the error's).
        Err(e) => (e.as_response_error().status_code().as_u16(), None, None),
    };
    let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
    tracing::info!(
        target: TARGET,
        method = %method,
        route = route.as_deref().unwrap_or("-"),
        status,
        duration_us = micros,
        caller = caller.as_deref().unwrap_or("-"),
        "request"
    );
    result
}
