//! How an app is shown to administrators: its tokens' ids and lifetimes, never a token.

use kms_engine::clock::Timestamp;
use kms_engine::ids::AppName;
use kms_engine::store::{AppRecord, AppTokens, TokenRecord};
use serde::Serialize;

use crate::context::Control;
use crate::error::ControlError;

#[derive(Serialize)]
pub struct TokenView {
    id: String,
    /// `active`, `expiring` (works until `expires_at`), `expired` or `revoked`.
    state: &'static str,
    created_at: String,
    expires_at: Option<String>,
    revoked_at: Option<String>,
}

/// A client certificate bound to the app, by SHA-256 fingerprint.
#[derive(Serialize)]
pub struct CertificateView {
    fingerprint: String,
    /// `active` or `revoked` (with the app).
    state: &'static str,
    created_at: String,
    revoked_at: Option<String>,
}

#[derive(Serialize)]
pub struct AppView {
    id: String,
    name: String,
    created_at: String,
    tokens: Vec<TokenView>,
    certificates: Vec<CertificateView>,
}

fn token_state(t: &TokenRecord, now: Timestamp) -> &'static str {
    match (t.revoked_at, t.expires_at) {
        (Some(_), _) => "revoked",
        (None, Some(at)) if at <= now => "expired",
        (None, Some(_)) => "expiring",
        (None, None) => "active",
    }
}

impl AppView {
    pub fn new(a: &AppTokens, now: Timestamp) -> Self {
        Self {
            id: a.app.id.to_string(),
            name: a.app.name.to_string(),
            created_at: a.app.created_at.rfc3339(),
            tokens: a
                .tokens
                .iter()
                .map(|t| TokenView {
                    id: t.id.clone(),
                    state: token_state(t, now),
                    created_at: t.created_at.rfc3339(),
                    expires_at: t.expires_at.map(Timestamp::rfc3339),
                    revoked_at: t.revoked_at.map(Timestamp::rfc3339),
                })
                .collect(),
            certificates: a
                .certificates
                .iter()
                .map(|c| CertificateView {
                    fingerprint: c.fingerprint.to_string(),
                    state: if c.revoked_at.is_some() {
                        "revoked"
                    } else {
                        "active"
                    },
                    created_at: c.created_at.rfc3339(),
                    revoked_at: c.revoked_at.map(Timestamp::rfc3339),
                })
                .collect(),
        }
    }
}

fn app_not_found(name: &str) -> ControlError {
    ControlError::not_found("app_not_found", format!("no app named `{name}`"))
}

/// Finds an app by name in the store, or 404 `app_not_found` (also for a name no app could have).
pub async fn find_app(ctl: &Control, name: &str) -> Result<AppRecord, ControlError> {
    let parsed = AppName::new(name).map_err(|_| app_not_found(name))?;
    ctl.store
        .find_app(&parsed)
        .await?
        .ok_or_else(|| app_not_found(name))
}

/// Every app, by name, with its tokens' ids and lifetimes.
pub async fn list(ctl: &Control) -> Result<Vec<AppView>, ControlError> {
    let apps = ctl.store.list_apps(None).await?;
    let now = ctl.clock.now();
    Ok(apps.iter().map(|a| AppView::new(a, now)).collect())
}

/// One app.
pub async fn show(ctl: &Control, name: &str) -> Result<AppView, ControlError> {
    let app = find_app(ctl, name).await?;
    let mut found = ctl.store.list_apps(Some(&app.name)).await?;
    let app = found
        .pop()
        .ok_or(kms_engine::store::StoreError::NotFound("app"))?;
    Ok(AppView::new(&app, ctl.clock.now()))
}
