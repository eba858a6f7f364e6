//! What a master-key ceremony does once its quorum is met, and the active master key every new
//! working key is wrapped under.

use kms_engine::audit::{AuditEvent, Outcome};
use kms_engine::ids::MasterKeyId;
use kms_engine::master_key::{MasterKeyRecord, MasterKeyState};
use kms_engine::secret::{KeyMaterial, SecretString};
use kms_engine::store::KeyStore;
use kms_engine::token::{self, TokenHash};
use kms_hsm::{CreatedMasterKey, MasterKeySource};
use serde_json::json;

use crate::ceremony::plan::{CeremonyOp, Plan, Source};
use crate::context::Control;
use crate::error::ControlError;
use crate::shares::deliver::{self, Delivered};
use kms_engine::crypto::recipient::Sealed;

/// Label of the root token issued when the KMS is initialised.
pub const INITIAL_ROOT_LABEL: &str = "initial";

/// The master key new working keys are wrapped under (503 `not_initialized` before there is one).
pub async fn active(store: &dyn KeyStore) -> Result<MasterKeyRecord, ControlError> {
    store
        .master_keys()
        .await?
        .into_iter()
        .find(|k| k.state == MasterKeyState::Active)
        .ok_or_else(|| {
            ControlError::unavailable(
                "not_initialized",
                "the KMS has no master key yet: run the create ceremony (`kms init`)",
            )
        })
}

/// What an executed ceremony hands back: a public result, and secrets for the last approver
/// only: in plaintext, or (when the plan named keys) encrypted to each custodian's key, so that
/// the last approver cannot read them.
pub struct Executed {
    pub result: serde_json::Value,
    pub shares: Vec<SecretString>,
    pub root_token: Option<SecretString>,
    pub encrypted_shares: Vec<Sealed>,
    pub encrypted_root_token: Option<Sealed>,
}

impl Executed {
    fn public(result: serde_json::Value) -> Self {
        Self {
            result,
            shares: Vec::new(),
            root_token: None,
            encrypted_shares: Vec::new(),
            encrypted_root_token: None,
        }
    }
}

fn record(created: &CreatedMasterKey, ctl: &Control) -> MasterKeyRecord {
    let now = ctl.clock.now();
    MasterKeyRecord {
        id: created.id.clone(),
        kcv: created.kcv.clone(),
        origin: created.origin,
        state: MasterKeyState::Active,
        created_at: now,
        updated_at: now,
    }
}

fn source(plan: &Plan, components: Vec<KeyMaterial>) -> MasterKeySource {
    match plan.source {
        Some(Source::Components) => MasterKeySource::Components(components),
        _ => MasterKeySource::Generate,
    }
}

fn audit(
    ctl: &Control,
    ceremony: &str,
    plan: &Plan,
    approvers: &[String],
    detail: String,
) -> AuditEvent {
    let mut event = ctl.event(
        format!("ceremony:{ceremony}"),
        plan.op.action(),
        plan.master_key.as_ref().map(|k| format!("master_key:{k}")),
        Outcome::Success,
    );
    event.detail = Some(format!("approved by {}; {detail}", approvers.join(",")));
    event
}

fn described(created: &CreatedMasterKey) -> serde_json::Value {
    json!({
        "master_key_id": created.id.to_string(),
        "kcv": created.kcv.to_string(),
        "origin": created.origin.name(),
        "tokens": created.tokens,
    })
}

pub async fn execute(
    ctl: &Control,
    ceremony: &str,
    plan: &Plan,
    components: Vec<KeyMaterial>,
    approvers: &[String],
) -> Result<Executed, ControlError> {
    let store = ctl.store.as_ref();
    match plan.op {
        CeremonyOp::Create => {
            if active(store).await.is_ok() {
                return Err(ControlError::conflict(
                    "already_initialized",
                    "the KMS already has a master key; rotate it instead",
                ));
            }
            let mut created = ctl
                .hsm
                .create_master_key(source(plan, components), plan.sealing)
                .await?;
            let root = token::generate();
            // Encrypt before anything is recorded: the plaintext shares are dropped (zeroized)
            // here when keys were given, and the audit records the keys' fingerprints.
            let shares = deliver::deliver(
                std::mem::take(&mut created.shares),
                plan.share_keys.as_deref(),
            )?;
            let sealed_root = plan
                .root_token_key
                .as_ref()
                .map(|r| r.seal(root.expose().as_bytes()))
                .transpose()?;
            let mut detail = format!(
                "master_key={} kcv={}; {}",
                created.id,
                created.kcv,
                shares.describe()
            );
            if let Some(r) = &sealed_root {
                detail.push_str(&format!("; root token encrypted to {}", r.fingerprint));
            }
            let revision = store
                .initialize_master_key(
                    &record(&created, ctl),
                    INITIAL_ROOT_LABEL,
                    &TokenHash::of(root.expose()),
                    &audit(ctl, ceremony, plan, approvers, detail),
                )
                .await?;
            // The root token works from the next request on.
            ctl.synced(revision).await;
            let result = described(&created);
            let (plain, encrypted) = match shares {
                Delivered::Plain(s) => (s, Vec::new()),
                Delivered::Encrypted(e) => (Vec::new(), e),
            };
            Ok(Executed {
                result,
                shares: plain,
                root_token: if sealed_root.is_some() {
                    None
                } else {
                    Some(root)
                },
                encrypted_shares: encrypted,
                encrypted_root_token: sealed_root,
            })
        }
        CeremonyOp::Rotate => {
            let old = active(store).await?;
            if !store.unfinished_rotations().await?.is_empty() {
                return Err(ControlError::conflict(
                    "rotation_running",
                    "a master-key rotation is still rewrapping; wait for it to finish",
                ));
            }
            let created = ctl
                .hsm
                .create_master_key(source(plan, components), None)
                .await?;
            let detail = format!("from={} to={} kcv={}", old.id, created.id, created.kcv);
            let job = match store
                .begin_master_key_rotation(
                    &record(&created, ctl),
                    &audit(ctl, ceremony, plan, approvers, detail),
                )
                .await
            {
                Ok(job) => job,
                Err(e) => {
                    // Nothing refers to the new key yet: take it out of the HSM again.
                    let _ = ctl.hsm.destroy_master_key(created.id.clone()).await;
                    return Err(e.into());
                }
            };
            ctl.rewrapper.poke();
            let mut result = described(&created);
            result["rotation_job"] = json!(job.id);
            result["previous_master_key_id"] = json!(old.id.to_string());
            Ok(Executed::public(result))
        }
        CeremonyOp::Load => {
            let id = plan
                .master_key
                .clone()
                .ok_or_else(|| ControlError::internal("load without a key"))?;
            let known = recorded(store, &id).await?;
            let loaded = ctl
                .hsm
                .load_master_key(id.clone(), known.kcv.clone(), components)
                .await?;
            let mut event = audit(ctl, ceremony, plan, approvers, format!("tokens={loaded:?}"));
            event.action = plan.op.action().into();
            store.append_audit(&[event]).await?;
            Ok(Executed::public(json!({
                "master_key_id": id.to_string(),
                "kcv": known.kcv.to_string(),
                "loaded_into": loaded,
            })))
        }
        CeremonyOp::Destroy => {
            let id = plan
                .master_key
                .clone()
                .ok_or_else(|| ControlError::internal("destroy without a key"))?;
            recorded(store, &id).await?;
            // The store first: it refuses while the key is active or anything is wrapped under
            // it. Only then the HSM, where destruction cannot be undone.
            store
                .destroy_master_key(&id, &audit(ctl, ceremony, plan, approvers, String::new()))
                .await?;
            ctl.hsm.destroy_master_key(id.clone()).await?;
            Ok(Executed::public(
                json!({ "master_key_id": id.to_string(), "ctl": "destroyed" }),
            ))
        }
    }
}

async fn recorded(store: &dyn KeyStore, id: &MasterKeyId) -> Result<MasterKeyRecord, ControlError> {
    store
        .master_keys()
        .await?
        .into_iter()
        .find(|k| &k.id == id)
        .ok_or_else(|| {
            ControlError::not_found(
                "master_key_not_found",
                format!("no master key {id} is recorded"),
            )
        })
}
