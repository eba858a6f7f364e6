//! The internal listener's gate, before any route: what the client certificate's node may reach.
//!
//! - a certificate the store's configuration does not pin: nothing (`unknown_node`);
//! - `X-Kms-Forwarded-For` from anything but a manage node's certificate: refused
//!   (`forwarded_for_refused`), not ignored, so a misconfigured manage node fails loudly and a
//!   forging node is on record;
//! - `/internal/...`: service nodes only (`not_a_service_node`), and under
//!   `/internal/v1/zones/{zone}/` only the node's own zone (`zone_mismatch`; compared with the
//!   path as sent, so an encoded name is refused rather than decoded into another zone's);
//! - `/internal/v1/revision`, `/healthz`, `/readyz`, `/metrics`: any pinned node (a manage node's
//!   readiness asks for the revision);
//! - everything else (the control plane): manage nodes only (`not_a_manage_node`).
//!
//! Every refusal is a 403, audited under `node:<fingerprint>` before it is answered; every request
//! let through is the node's contact (`contact.rs`).

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::{HttpMessage, web};

use super::contact;
use super::nodes::{InternalNodes, Node};
use crate::auth::{FORWARDED_FOR, refuse};
use crate::error::ApiError;
use crate::peer::PeerCertificate;
use crate::state::AppState;

/// The action internal refusals are audited under.
const ACTION: &str = "internal_api";

/// `actix_web::middleware::from_fn` on the internal listener's App.
pub async fn guard(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let node = match (
        req.request().conn_data::<PeerCertificate>(),
        req.app_data::<web::Data<InternalNodes>>(),
    ) {
        (Some(&PeerCertificate(cert)), Some(nodes)) => Some(nodes.node(cert)),
        _ => None,
    };
    let forwarded = req.headers().contains_key(FORWARDED_FOR);
    let verdict = match &node {
        Some(node) => check(node, req.path(), forwarded),
        None => Err(unknown()),
    };
    if let (Ok(()), Some(node)) = (&verdict, &node) {
        if let Some(state) = req.app_data::<web::Data<AppState>>() {
            contact::seen(state, node, req.headers());
        }
        req.extensions_mut().insert(node.clone());
        return Ok(next.call(req).await?.map_into_left_body());
    }
    let e = verdict.err().unwrap_or_else(unknown);
    let e = match req.app_data::<web::Data<AppState>>() {
        Some(state) => {
            let actor = node.map_or_else(|| "anonymous".to_owned(), |n| n.actor());
            let remote = req.peer_addr().map(|a| a.ip());
            let target = Some(format!("path:{}", req.path()));
            refuse(state, actor, remote, ACTION, target, e).await
        }
        None => e,
    };
    Ok(req.error_response(e).map_into_right_body())
}

/// The rules of the module's documentation, for one request.
fn check(node: &Node, path: &str, forwarded: bool) -> Result<(), ApiError> {
    if !node.manage && node.zone.is_none() {
        return Err(unknown());
    }
    if forwarded && !node.manage {
        return Err(forbidden(
            "forwarded_for_refused",
            "only a manage node's certificate may name the caller (X-Kms-Forwarded-For)",
        ));
    }
    if matches!(
        path,
        "/internal/v1/revision" | "/healthz" | "/readyz" | "/metrics"
    ) {
        return Ok(());
    }
    if let Some(rest) = path.strip_prefix("/internal/") {
        let Some(zone) = &node.zone else {
            return Err(forbidden(
                "not_a_service_node",
                "the internal API serves service nodes: this certificate is pinned to no zone",
            ));
        };
        if let Some(asked) = rest.strip_prefix("v1/zones/") {
            let asked = asked.split('/').next().unwrap_or_default();
            if asked != &**zone {
                return Err(forbidden(
                    "zone_mismatch",
                    format!(
                        "this certificate is pinned to zone `{zone}`: it gets no other zone's keys"
                    ),
                ));
            }
        }
        return Ok(());
    }
    if node.manage {
        Ok(())
    } else {
        Err(forbidden(
            "not_a_manage_node",
            "the control plane on the internal listener is for manage nodes' certificates",
        ))
    }
}

fn unknown() -> ApiError {
    forbidden(
        "unknown_node",
        "this certificate is not pinned in the store's [internal] configuration (manage_nodes, \
         zone_nodes)",
    )
}

fn forbidden(code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, code, message)
}
