//! How a key is shown to administrators: versions with their states, grants, and history.

use kms_engine::clock::Timestamp;
use kms_engine::directory::Directory;
use kms_engine::ids::KeyId;
use kms_engine::keyring::{KeyEntry, Purpose};
use kms_engine::policy::PolicySpec;
use kms_engine::store::{KeyEvent, UsageSummary};
use serde::Serialize;

use crate::context::Control;
use crate::durations;
use crate::error::ControlError;

#[derive(Serialize)]
pub struct VersionView {
    version: u32,
    state: &'static str,
    created_at: String,
    updated_at: String,
    /// For a version scheduled for destruction: when.
    #[serde(skip_serializing_if = "Option::is_none")]
    destroy_at: Option<String>,
}

#[derive(Serialize)]
pub struct GrantView {
    app: String,
    app_id: String,
    operations: Vec<&'static str>,
}

#[derive(Serialize)]
pub struct HistoryView {
    at: String,
    version: Option<u32>,
    action: String,
    from_state: Option<&'static str>,
    to_state: Option<&'static str>,
    actor: String,
    reason: Option<String>,
}

#[derive(Serialize)]
pub struct UsageView {
    version: u32,
    caller: String,
    operation: &'static str,
    count: u64,
    last_used_at: String,
}

#[derive(Serialize)]
pub struct KeyView {
    id: String,
    name: String,
    algorithm: &'static str,
    deterministic: bool,
    exportable: bool,
    /// Vault's `deletion_allowed` (set through Transit's config): Transit's delete may delete it.
    deletion_allowed: bool,
    /// `general` or `password`.
    purpose: &'static str,
    /// Password keys: `aead` or `hash`.
    #[serde(skip_serializing_if = "Option::is_none")]
    protection: Option<&'static str>,
    created_at: String,
    active_version: u32,
    min_decryption_version: u32,
    rotation_period: Option<String>,
    notice_period: String,
    /// When the scheduler rotates next (with `rotation_period`).
    next_rotation_at: Option<String>,
    versions: Vec<VersionView>,
    grants: Vec<GrantView>,
    /// The usage policy (`null`: none): source ranges, time windows, rate limit per app.
    policy: Option<PolicySpec>,
    /// Use per version, caller and operation, with the last use: when is an old version safe to
    /// retire?
    usage: Vec<UsageView>,
    history: Vec<HistoryView>,
}

impl KeyView {
    pub fn active_version(&self) -> kms_engine::ids::KeyVersion {
        kms_engine::ids::KeyVersion::new(self.active_version)
            .unwrap_or(kms_engine::ids::KeyVersion::FIRST)
    }

    pub fn new(
        key: &KeyEntry,
        history: &[KeyEvent],
        usage: &[UsageSummary],
        directory: &Directory,
    ) -> Self {
        let mut grants: Vec<GrantView> = key
            .grants
            .iter()
            .map(|(app, ops)| GrantView {
                app: directory
                    .app_name(app)
                    .map_or_else(String::new, |n| n.to_string()),
                app_id: app.to_string(),
                operations: ops.iter().map(|o| o.name()).collect(),
            })
            .collect();
        grants.sort_by(|a, b| a.app.cmp(&b.app));
        let active_since = key.version(key.active).map(|v| v.updated_at);
        Self {
            id: key.id.to_string(),
            name: key.name.to_string(),
            algorithm: key.algorithm.name(),
            deterministic: key.settings.deterministic,
            exportable: key.settings.exportable,
            deletion_allowed: key.settings.deletion_allowed,
            purpose: key.settings.purpose.name(),
            protection: match key.settings.purpose {
                Purpose::Password(p) => Some(p.name()),
                Purpose::General => None,
            },
            created_at: key.created_at.rfc3339(),
            active_version: key.active.get(),
            min_decryption_version: key.min_decryption_version.get(),
            rotation_period: key.settings.rotation_period_ms.map(durations::format),
            notice_period: durations::format(key.settings.notice_period_ms),
            next_rotation_at: key
                .settings
                .rotation_period_ms
                .zip(active_since)
                .map(|(p, since)| Timestamp::from_millis(since.millis() + p).rfc3339()),
            versions: key
                .versions()
                .iter()
                .map(|v| VersionView {
                    version: v.version.get(),
                    state: v.state.name(),
                    created_at: v.created_at.rfc3339(),
                    updated_at: v.updated_at.rfc3339(),
                    destroy_at: v.destroy_at.map(Timestamp::rfc3339),
                })
                .collect(),
            grants,
            policy: key.policy.as_ref().map(|p| p.policy.spec()),
            usage: usage
                .iter()
                .map(|u| UsageView {
                    version: u.version.get(),
                    caller: u.principal.clone(),
                    operation: u.operation.name(),
                    count: u.count,
                    last_used_at: u.last_used.rfc3339(),
                })
                .collect(),
            history: history
                .iter()
                .map(|e| HistoryView {
                    at: e.at.rfc3339(),
                    version: e.version.map(|v| v.get()),
                    action: e.action.clone(),
                    from_state: e.from_state.map(|s| s.name()),
                    to_state: e.to_state.map(|s| s.name()),
                    actor: e.actor.clone(),
                    reason: e.reason.clone(),
                })
                .collect(),
        }
    }

    /// Reads the key and its history from the store (the source of truth for administrators).
    pub async fn load(ctl: &Control, id: KeyId) -> Result<Self, ControlError> {
        let key = ctl
            .store
            .load_key(id)
            .await?
            .ok_or(kms_engine::EngineError::KeyNotFound)?;
        let history = ctl.store.key_history(id).await?;
        let usage = ctl.store.usage(id).await?;
        let mut view = Self::new(&key, &history, &usage, &ctl.directory.load());
        // The directory knows the names of apps with a live token; an app whose tokens were all
        // revoked keeps its grants, and its name comes from the store.
        if view.grants.iter().any(|g| g.app.is_empty()) {
            let apps = ctl.store.list_apps(None).await?;
            for g in view.grants.iter_mut().filter(|g| g.app.is_empty()) {
                if let Some(a) = apps.iter().find(|a| a.app.id.to_string() == g.app_id) {
                    g.app = a.app.name.to_string();
                }
            }
            view.grants.sort_by(|a, b| a.app.cmp(&b.app));
        }
        Ok(view)
    }
}

/// Finds a key's id by name in the store, or 404 `key_not_found` naming it.
pub async fn key_id(ctl: &Control, name: &str) -> Result<KeyId, ControlError> {
    let not_found = || ControlError::not_found("key_not_found", format!("key not found: {name}"));
    let key_name = kms_engine::ids::KeyName::new(name).map_err(|_| not_found())?;
    ctl.store.key_id(&key_name).await?.ok_or_else(not_found)
}

/// A key by name, as the store holds it now (404 `key_not_found` naming it; a key gone between
/// the two reads is the store's `not_found`).
pub async fn key_by_name(ctl: &Control, name: &str) -> Result<KeyEntry, ControlError> {
    let id = key_id(ctl, name).await?;
    Ok(ctl
        .store
        .load_key(id)
        .await?
        .ok_or(kms_engine::store::StoreError::NotFound("key"))?)
}
