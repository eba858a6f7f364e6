//! Apps' credentials: a new app with its first token (shown once; the store keeps only its
//! hash), token rotation with an overlap, revocation of every token at once, and client
//! certificates bound by fingerprint. A new token or certificate for an app that may hold grants
//! waits for approval (approvals/action.rs); revoking never does.

use kms_engine::certificate::CertFingerprint;
use kms_engine::clock::Timestamp;
use kms_engine::ids::{AppId, AppName};
use kms_engine::store::{AppRecord, CertificateBinding, TokenRotation};
use kms_engine::token::{self, TokenHash};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::view::find_app;
use crate::approvals::invocation::Invocation;
use crate::approvals::ran::{Mode, Ran};
use crate::context::Control;
use crate::error::ControlError;

/// 24 hours.
pub const DEFAULT_OVERLAP: u64 = 24 * 3600;
/// 90 days.
pub const MAX_OVERLAP: u64 = 90 * 24 * 3600;

#[derive(Serialize)]
pub struct CreatedApp {
    id: String,
    name: String,
    token: String,
    created_at: String,
}

/// Creates the app with one token.
pub async fn create(
    ctl: &Control,
    invocation: &Invocation,
    name: AppName,
) -> Result<CreatedApp, ControlError> {
    let event = invocation.event(ctl, "create_app", format!("app:{name}"), None);
    let app = AppRecord {
        id: AppId::random(),
        name,
        created_at: ctl.clock.now(),
    };
    let token = token::generate();
    let revision = ctl
        .store
        .create_app(&app, &TokenHash::of(token.expose()), &event)
        .await?;
    ctl.synced(revision).await;
    Ok(CreatedApp {
        id: app.id.to_string(),
        name: app.name.to_string(),
        token: token.expose().to_owned(),
        created_at: app.created_at.rfc3339(),
    })
}

/// What a token rotation needs, as an approval request keeps it.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RotateParams {
    pub app: String,
    pub overlap_seconds: u64,
}

/// What a certificate binding needs, as an approval request keeps it.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BindParams {
    pub app: String,
    /// The fingerprint as the administrator gave it (checked when filed and when run).
    pub fingerprint: String,
}

/// Checks an overlap: 0 to 90 days.
pub fn overlap(seconds: Option<u64>) -> Result<u64, ControlError> {
    let overlap = seconds.unwrap_or(DEFAULT_OVERLAP);
    if overlap > MAX_OVERLAP {
        return Err(ControlError::invalid(
            "invalid_request",
            format!("`overlap_seconds` must be 0 to {MAX_OVERLAP} (90 days)"),
        ));
    }
    Ok(overlap)
}

/// A certificate fingerprint, checked.
pub fn fingerprint(text: &str) -> Result<CertFingerprint, ControlError> {
    CertFingerprint::parse(text).map_err(|m| ControlError::invalid("invalid_fingerprint", m))
}

/// What an approver sees of a rotation: the app, its live tokens, the overlap.
pub async fn describe_rotation(
    ctl: &Control,
    params: &RotateParams,
) -> Result<Value, ControlError> {
    let app = super::view::show(ctl, &params.app).await?;
    Ok(json!({
        "app": params.app,
        "overlap_seconds": params.overlap_seconds,
        "current": app,
    }))
}

/// A new token for the app; its other live tokens keep working for the overlap. The token goes
/// to the caller of a direct run, or to the requester alone (once) of an approved one.
pub async fn rotate(
    ctl: &Control,
    invocation: &Invocation,
    params: RotateParams,
    mode: Mode,
) -> Result<Ran, ControlError> {
    let RotateParams {
        app: name,
        overlap_seconds: overlap,
    } = params;
    let event = invocation.event(
        ctl,
        "rotate_app_token",
        format!("app:{name}"),
        Some(format!("overlap_seconds={overlap}")),
    );
    let app = find_app(ctl, &name).await?;
    let now = ctl.clock.now();
    let overlap_ms = i64::try_from(overlap * 1000).unwrap_or(i64::MAX);
    let token = token::generate();
    let hash = TokenHash::of(token.expose());
    let rotation = TokenRotation {
        app: app.id,
        token: hash,
        at: now,
        old_expire_at: Timestamp::from_millis(now.millis().saturating_add(overlap_ms)),
    };
    let revision = ctl.store.rotate_app_token(&rotation, &event).await?;
    ctl.synced(revision).await;
    let _ = mode;
    Ok(Ran {
        public: json!({
            "app": app.name.to_string(),
            "token_id": hash.id(),
            "created_at": now.rfc3339(),
            "previous_tokens_expire_at": rotation.old_expire_at.rfc3339(),
        }),
        private: Some(json!({ "token": token.expose() })),
        completer: None,
    })
}

#[derive(Serialize)]
pub struct Revoked {
    app: String,
    revoked_tokens: u64,
}

/// Every live token of the app stops working at once; the app and its grants stay.
pub async fn revoke(
    ctl: &Control,
    invocation: &Invocation,
    name: &str,
) -> Result<Revoked, ControlError> {
    let event = invocation.event(ctl, "revoke_app", format!("app:{name}"), None);
    let app = find_app(ctl, name).await?;
    let (revision, revoked) = ctl
        .store
        .revoke_app_tokens(app.id, ctl.clock.now(), &event)
        .await?;
    ctl.synced(revision).await;
    Ok(Revoked {
        app: app.name.to_string(),
        revoked_tokens: revoked,
    })
}

/// Binds a TLS client certificate (by the SHA-256 fingerprint of its DER encoding) to the app.
pub async fn bind_certificate(
    ctl: &Control,
    invocation: &Invocation,
    params: BindParams,
) -> Result<Ran, ControlError> {
    let fingerprint = fingerprint(&params.fingerprint)?;
    let name = params.app;
    let event = invocation.event(
        ctl,
        "bind_app_certificate",
        format!("app:{name}"),
        Some(format!("fingerprint={fingerprint}")),
    );
    let app = find_app(ctl, &name).await?;
    let at = ctl.clock.now();
    let binding = CertificateBinding {
        app: app.id,
        fingerprint,
        at,
    };
    let revision = ctl.store.bind_app_certificate(&binding, &event).await?;
    ctl.synced(revision).await;
    Ran::public(json!({
        "app": app.name.to_string(),
        "fingerprint": fingerprint.to_string(),
        "created_at": at.rfc3339(),
    }))
}
