//! Apps' credentials: a new app with its first token (shown once; the store keeps only its
//! hash), token rotation with an overlap, revocation of every token at once, and client
//! certificates bound by fingerprint.

use kms_engine::certificate::CertFingerprint;
use kms_engine::clock::Timestamp;
use kms_engine::ids::{AppId, AppName};
use kms_engine::store::{AppRecord, CertificateBinding, TokenRotation};
use kms_engine::token::{self, TokenHash};
use serde::Serialize;

use super::view::find_app;
use crate::approvals::invocation::Invocation;
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

#[derive(Serialize)]
pub struct RotatedToken {
    app: String,
    token: String,
    token_id: String,
    created_at: String,
    previous_tokens_expire_at: String,
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

/// A new token for the app; its other live tokens keep working for `overlap` seconds.
pub async fn rotate(
    ctl: &Control,
    invocation: &Invocation,
    name: &str,
    overlap: u64,
) -> Result<RotatedToken, ControlError> {
    let event = invocation.event(
        ctl,
        "rotate_app_token",
        format!("app:{name}"),
        Some(format!("overlap_seconds={overlap}")),
    );
    let app = find_app(ctl, name).await?;
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
    Ok(RotatedToken {
        app: app.name.to_string(),
        token: token.expose().to_owned(),
        token_id: hash.id(),
        created_at: now.rfc3339(),
        previous_tokens_expire_at: rotation.old_expire_at.rfc3339(),
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

#[derive(Serialize)]
pub struct Bound {
    app: String,
    fingerprint: String,
    created_at: String,
}

/// Binds a TLS client certificate (by the SHA-256 fingerprint of its DER encoding) to the app.
pub async fn bind_certificate(
    ctl: &Control,
    invocation: &Invocation,
    name: &str,
    fingerprint: CertFingerprint,
) -> Result<Bound, ControlError> {
    let event = invocation.event(
        ctl,
        "bind_app_certificate",
        format!("app:{name}"),
        Some(format!("fingerprint={fingerprint}")),
    );
    let app = find_app(ctl, name).await?;
    let at = ctl.clock.now();
    let binding = CertificateBinding {
        app: app.id,
        fingerprint,
        at,
    };
    let revision = ctl.store.bind_app_certificate(&binding, &event).await?;
    ctl.synced(revision).await;
    Ok(Bound {
        app: app.name.to_string(),
        fingerprint: fingerprint.to_string(),
        created_at: at.rfc3339(),
    })
}
