//! Who is calling, and may they? Every refusal is audited before it is answered.

use std::net::IpAddr;
use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::http::header::AUTHORIZATION;
use actix_web::{HttpMessage, HttpRequest};
use kms_engine::algorithm::Operation;
use kms_engine::audit::Outcome;
use kms_engine::certificate::CertFingerprint;
use kms_engine::directory::{Identity, Principal};
use kms_engine::keyring::KeyEntry;

use kms_control::approvals::invocation::Invocation;
use kms_control::{access, system_keys};

use crate::access_log;
use crate::api::internal::nodes::Node;
use crate::error::ApiError;
use crate::peer::PeerCertificate;
use crate::state::AppState;

/// The header Vault clients send their token in; accepted like `Authorization: Bearer`.
pub const VAULT_TOKEN: &str = "x-vault-token";

/// The header in which a manage node names the caller it forwards (believed only on the store's
/// internal listener).
pub const FORWARDED_FOR: &str = "x-kms-forwarded-for";

/// App data marking the internal listener's requests.
#[derive(Clone, Copy, Debug)]
pub struct InternalListener;

/// An authenticated caller.
#[derive(Clone, Debug)]
pub struct Caller {
    pub identity: Arc<Identity>,
    /// Formatted only when an audit record needs it, never on the data plane's success path.
    pub remote: Option<IpAddr>,
}

impl Caller {
    pub fn principal(&self) -> &Principal {
        &self.identity.principal
    }

    /// The caller's name in audit records.
    pub fn actor(&self) -> String {
        self.identity.actor.to_string()
    }

    /// Who an admin action runs for, in the management center.
    pub fn invocation(&self) -> Invocation {
        Invocation::new(self.actor(), self.remote)
    }

    /// The same name, shared (usage counts carry it per job).
    pub fn actor_shared(&self) -> Arc<str> {
        Arc::clone(&self.identity.actor)
    }
}

/// The caller's address. On the store's internal listener, a manage node forwarding a call names
/// its caller in `X-Kms-Forwarded-For`: believed only from a certificate pinned as a manage node
/// (`api::internal::guard` refuses the header from any other before routing, and put the node it
/// found in the request). On the public listener, behind a trusted proxy, `X-Forwarded-For`
/// (`proxies.rs`; without `trusted_proxies` that is one emptiness check).
pub(crate) fn remote(state: &AppState, req: &HttpRequest) -> Option<IpAddr> {
    let peer = req.peer_addr().map(|a| a.ip());
    if req.app_data::<InternalListener>().is_some() {
        let manage = req.extensions().get::<Node>().is_some_and(|n| n.manage);
        let named = || {
            req.headers()
                .get(FORWARDED_FOR)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse().ok())
        };
        return if manage { named().or(peer) } else { peer };
    }
    peer.map(|ip| state.trusted_proxies.client(ip, req.headers()))
}

/// Audits a refusal, then returns it as the error to answer with.
pub async fn refuse(
    state: &AppState,
    actor: String,
    remote: Option<IpAddr>,
    action: &str,
    target: Option<String>,
    error: ApiError,
) -> ApiError {
    let mut event = state.event(actor, action, target, Outcome::Denied);
    event.code = Some(error.code.to_owned());
    event.remote = remote.map(|ip| ip.to_string());
    state.audit.record(event).await;
    error
}

/// The token a request carries: `Authorization: Bearer`, or `X-Vault-Token`, which is how Vault
/// clients send theirs (the Transit API, docs/vault-compat.md).
pub fn token(req: &HttpRequest) -> Option<&str> {
    let header = |name| req.headers().get(name).and_then(|v| v.to_str().ok());
    header(AUTHORIZATION.as_str())
        .and_then(|v| v.strip_prefix("Bearer "))
        .or_else(|| header(VAULT_TOKEN))
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

/// Resolves the bearer token to a principal (401 otherwise).
pub async fn authenticate(
    state: &AppState,
    req: &HttpRequest,
    action: &str,
    target: Option<String>,
) -> Result<Caller, ApiError> {
    authenticate_lazy(state, req, action, || target).await
}

/// [`authenticate`], naming the audit record's target only if there is a refusal to record.
async fn authenticate_lazy(
    state: &AppState,
    req: &HttpRequest,
    action: &str,
    target: impl FnOnce() -> Option<String>,
) -> Result<Caller, ApiError> {
    let remote = remote(state, req);
    let Some(token) = token(req) else {
        // No token: a verified client certificate may stand for an app (TLS with client_ca
        // only; a plain-HTTP connection carries no certificate).
        if let Some(&PeerCertificate(fingerprint)) = req.conn_data::<PeerCertificate>() {
            let caller = by_certificate(state, remote, fingerprint, action, target).await?;
            access_log::note_caller(req, &caller.identity.actor);
            return Ok(caller);
        }
        let e = ApiError::new(
            StatusCode::UNAUTHORIZED,
            "missing_token",
            "send Authorization: Bearer <token> (or X-Vault-Token)",
        );
        return Err(refuse(state, "anonymous".into(), remote, action, target(), e).await);
    };
    let identity = state.directory.load().authenticate(token).cloned();
    let invalid = || {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "unknown, expired or revoked token",
        )
    };
    let (actor, e) = match identity {
        // A token replaced by a rotation, or a session, stops at its expiry, read off the
        // snapshot: the clock is read only for such tokens. The refusal is audited under the
        // token's owner.
        Some(identity) if identity.expired(|| state.clock.now()) => {
            let e = match identity.principal {
                Principal::User { .. } => ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "session_expired",
                    "the session has expired: log in again",
                ),
                _ => invalid(),
            };
            (identity.actor.to_string(), e)
        }
        Some(identity) => {
            let agrees = match req.conn_data::<PeerCertificate>() {
                None => Ok(()),
                Some(&PeerCertificate(fingerprint)) => {
                    certificate_agrees(state, &identity, fingerprint)
                }
            };
            match agrees {
                Ok(()) => {
                    access_log::note_caller(req, &identity.actor);
                    return Ok(Caller { identity, remote });
                }
                Err(e) => (identity.actor.to_string(), e),
            }
        }
        None => ("anonymous".to_owned(), invalid()),
    };
    Err(refuse(state, actor, remote, action, target(), e).await)
}

/// A request with a client certificate and no token: the app the certificate is bound to, or
/// 401 `unknown_certificate` (audited under the certificate's fingerprint).
async fn by_certificate(
    state: &AppState,
    remote: Option<IpAddr>,
    fingerprint: CertFingerprint,
    action: &str,
    target: impl FnOnce() -> Option<String>,
) -> Result<Caller, ApiError> {
    if let Some(identity) = state.directory.load().certificate(&fingerprint).cloned() {
        return Ok(Caller { identity, remote });
    }
    let e = ApiError::new(
        StatusCode::UNAUTHORIZED,
        "unknown_certificate",
        "the client certificate is bound to no app: send a token, or have an administrator bind \
         it (POST /v1/admin/apps/{name}/certificate)",
    );
    let actor = format!("cert:{fingerprint}");
    Err(refuse(state, actor, remote, action, target(), e).await)
}

/// A token and a client certificate together must not name two identities: a certificate bound
/// to an app admits only that app's tokens (403 `certificate_mismatch`). A certificate bound to no
/// app leaves the decision to the token.
fn certificate_agrees(
    state: &AppState,
    identity: &Identity,
    fingerprint: CertFingerprint,
) -> Result<(), ApiError> {
    match state.directory.load().certificate(&fingerprint) {
        Some(bound) if bound.principal != identity.principal => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "certificate_mismatch",
            "the client certificate is bound to another app than the token's owner",
        )),
        _ => Ok(()),
    }
}

/// Admin endpoints: the root token, or a user holding a role the access table allows for
/// `action` (403 `forbidden` otherwise, audited).
pub async fn require_admin(
    state: &AppState,
    req: &HttpRequest,
    action: &str,
    target: Option<String>,
) -> Result<Caller, ApiError> {
    let caller = authenticate(state, req, action, target.clone()).await?;
    let allowed = match caller.principal() {
        Principal::Root { .. } => true,
        Principal::User { roles, .. } => roles.intersects(access::allowed(action)),
        Principal::App { .. } => false,
    };
    if allowed {
        return Ok(caller);
    }
    let e = ApiError::new(
        StatusCode::FORBIDDEN,
        "forbidden",
        format!(
            "`{action}` needs one of the roles: {}",
            access::allowed(action).to_csv()
        ),
    );
    Err(refuse(state, caller.actor(), caller.remote, action, target, e).await)
}

/// Data endpoints: the caller must hold a grant for `op` on the key. An app that holds no grant
/// gets the same 403 whether or not the key exists, so key names cannot be probed; an
/// administrator gets 404 for a missing key.
pub async fn authorize_key(
    state: &AppState,
    req: &HttpRequest,
    key_name: &str,
    op: Operation,
) -> Result<(Caller, Arc<KeyEntry>), ApiError> {
    authorize_key_n(state, req, key_name, op, 1).await
}

/// As [`authorize_key`] for a request of `items` items: a key's rate limit is charged per item.
pub async fn authorize_key_n(
    state: &AppState,
    req: &HttpRequest,
    key_name: &str,
    op: Operation,
    items: usize,
) -> Result<(Caller, Arc<KeyEntry>), ApiError> {
    let items = u64::try_from(items).unwrap_or(u64::MAX);
    authorize(state, req, key_name, op.name(), items, |k, app| {
        k.grants_app(app, op)
    })
    .await
}

/// As [`authorize_key`], for endpoints any grant on the key allows (`public-key`).
pub async fn authorize_key_any(
    state: &AppState,
    req: &HttpRequest,
    key_name: &str,
    action: &str,
) -> Result<(Caller, Arc<KeyEntry>), ApiError> {
    authorize(state, req, key_name, action, 1, |k, app| {
        k.grants.get(app).is_some_and(|ops| !ops.is_empty())
    })
    .await
}

async fn authorize(
    state: &AppState,
    req: &HttpRequest,
    key_name: &str,
    action: &str,
    items: u64,
    granted: impl Fn(&KeyEntry, &kms_engine::ids::AppId) -> bool,
) -> Result<(Caller, Arc<KeyEntry>), ApiError> {
    let target = || Some(format!("key:{key_name}"));
    let caller = authenticate_lazy(state, req, action, target).await?;
    // The KMS's own keys are not there for anyone.
    let key = (!system_keys::is_reserved(key_name))
        .then(|| state.directory.load().key(key_name).cloned())
        .flatten();
    let allowed = match (caller.principal(), &key) {
        (Principal::Root { .. }, Some(_)) => true,
        (Principal::Root { .. }, None) => {
            return Err(crate::error::key_not_found(key_name));
        }
        (Principal::App { id, .. }, Some(k)) => granted(k, id),
        (Principal::App { .. }, None) | (Principal::User { .. }, _) => false,
    };
    match key {
        Some(key) if allowed => {
            // The key's usage policy binds apps; administrators' root tokens are not bound.
            if let (Some(policy), Principal::App { id, .. }) = (&key.policy, caller.principal())
                && let Err(e) = policy.check_n(id, caller.remote, state.clock.as_ref(), items)
            {
                let e = ApiError::from(e);
                return Err(
                    refuse(state, caller.actor(), caller.remote, action, target(), e).await,
                );
            }
            Ok((caller, key))
        }
        _ => {
            let e = ApiError::new(
                StatusCode::FORBIDDEN,
                "operation_not_granted",
                format!("no grant for `{action}` on key `{key_name}` (or no such key)"),
            );
            Err(refuse(state, caller.actor(), caller.remote, action, target(), e).await)
        }
    }
}
