//! How a key is shown to administrators: versions with their states, grants, and history.

use kms_engine::directory::Directory;
use kms_engine::ids::KeyId;
use kms_engine::keyring::KeyEntry;
use kms_engine::store::KeyEvent;
use serde::Serialize;

use crate::error::ApiError;
use crate::state::AppState;

#[derive(Serialize)]
pub struct VersionView {
    version: u32,
    state: &'static str,
    created_at: String,
    updated_at: String,
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
pub struct KeyView {
    id: String,
    name: String,
    algorithm: &'static str,
    created_at: String,
    active_version: u32,
    min_decryption_version: u32,
    versions: Vec<VersionView>,
    grants: Vec<GrantView>,
    history: Vec<HistoryView>,
}

impl KeyView {
    pub fn new(key: &KeyEntry, history: &[KeyEvent], directory: &Directory) -> Self {
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
        Self {
            id: key.id.to_string(),
            name: key.name.to_string(),
            algorithm: key.algorithm.name(),
            created_at: key.created_at.rfc3339(),
            active_version: key.active.get(),
            min_decryption_version: key.min_decryption_version.get(),
            versions: key
                .versions()
                .iter()
                .map(|v| VersionView {
                    version: v.version.get(),
                    state: v.state.name(),
                    created_at: v.created_at.rfc3339(),
                    updated_at: v.updated_at.rfc3339(),
                })
                .collect(),
            grants,
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
    pub async fn load(state: &AppState, id: KeyId) -> Result<Self, ApiError> {
        let key = state
            .store
            .load_key(id)
            .await?
            .ok_or_else(|| ApiError::from(kms_engine::EngineError::KeyNotFound))?;
        let history = state.store.key_history(id).await?;
        Ok(Self::new(&key, &history, &state.directory.load()))
    }
}

/// Finds a key's id by name in the store, or 404.
pub async fn key_id(state: &AppState, name: &str) -> Result<KeyId, ApiError> {
    let name = kms_engine::ids::KeyName::new(name)
        .map_err(|_| ApiError::from(kms_engine::EngineError::KeyNotFound))?;
    state
        .store
        .key_id(&name)
        .await?
        .ok_or_else(|| kms_engine::EngineError::KeyNotFound.into())
}
