//! A service node's handle on the store: the internal API's change feed, keys (wrapped to this
//! node's zone), credentials and certificates, and the way back for usage counts and audit events.
//!
//! It implements [`KeyStore`] so that the key sync, the audit sink and the usage writer run on a
//! service node unchanged. A service node serves no admin API, so every other store call is
//! refused with [`StoreError::Unavailable`] naming the call (none is reachable through its
//! routes). Everything it loads is also kept in a mirror, which the disk cache saves.

// Over 600 lines: one impl of the whole KeyStore trait, most of it one-line refusals of the
// calls a service node never makes.

use std::collections::BTreeMap;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use kms_engine::audit::{AuditEvent, AuditRecord};
use kms_engine::clock::Timestamp;
use kms_engine::directory::Credential;
use kms_engine::ids::{AppId, AppName, KeyId, KeyName, KeyVersion, MasterKeyId};
use kms_engine::keyring::KeyEntry;
use kms_engine::master_key::{MasterKeyRecord, RotationJob};
use kms_engine::people::{
    ApprovalRecord, AuditSeal, Enrolment, EnrolmentRecord, LoginState, NewApproval, Session,
    UserRecord, Vote,
};
use kms_engine::pool::UsageRecord;
use kms_engine::role::RoleSet;
use kms_engine::store::{
    AppRecord, AppTokens, AuditQuery, CertificateBinding, CertificateCredential, Change, Delivery,
    EventRecord, Grant, KeyConfig, KeyDeletion, KeyEvent, KeyRestore, KeyStore, NewKey,
    NodeContact, PolicyChange, Revision, Rollback, Rotation, StoreError, TokenRotation,
    UsageBucket, UsageSummary, VersionChange, ZoneRecord,
};
use kms_engine::token::TokenHash;
use kms_engine::wrap::{WrapContext, WrappedKey};
use kms_engine::zone::ZoneName;
use serde::Deserialize;

use super::client::InternalClient;
use super::report::Reporter;
use super::wire::{
    WireAuditEvent, WireCertificate, WireChange, WireCredential, WireKey, WireUsage,
};

/// Longest wait for an ordinary internal call.
const CALL: Duration = Duration::from_secs(10);

/// What the node has loaded from the store: the disk cache's contents.
#[derive(Clone, Debug, Default)]
pub struct Mirror {
    pub keys: BTreeMap<String, WireKey>,
    pub credentials: Vec<WireCredential>,
    pub certificates: Vec<WireCertificate>,
}

pub struct RemoteStore {
    client: InternalClient,
    zone: ZoneName,
    mirror: Mutex<Mirror>,
    /// What the node says about itself with each feed pull (set once the node is assembled).
    reporter: OnceLock<Reporter>,
}

#[derive(Deserialize)]
struct RevisionAnswer {
    revision: Revision,
}

fn not_served(call: &str) -> StoreError {
    StoreError::Unavailable(format!("`{call}` is not served on a service node").into())
}

impl RemoteStore {
    pub fn new(client: InternalClient, zone: ZoneName, mirror: Mirror) -> Self {
        Self {
            client,
            zone,
            mirror: Mutex::new(mirror),
            reporter: OnceLock::new(),
        }
    }

    /// Sends `reporter`'s report (readiness, applied revision) with every pull of the change
    /// feed from now on (`report.rs`). Set once; later calls are ignored.
    pub fn report_with(&self, reporter: Reporter) {
        let _ = self.reporter.set(reporter);
    }

    /// The report's headers, or none.
    fn report(&self) -> Vec<(&'static str, String)> {
        self.reporter
            .get()
            .and_then(|r| r())
            .map(|r| r.headers())
            .unwrap_or_default()
    }

    /// A copy of what has been loaded so far.
    pub fn mirror(&self) -> Mirror {
        self.mirror.lock().map(|m| m.clone()).unwrap_or_default()
    }

    fn update(&self, f: impl FnOnce(&mut Mirror)) {
        if let Ok(mut m) = self.mirror.lock() {
            f(&mut m);
        }
    }

    /// Runs a blocking internal call off the async runtime.
    async fn call<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&InternalClient) -> Result<T, StoreError> + Send + 'static,
    {
        let client = self.client.clone();
        tokio::task::spawn_blocking(move || f(&client))
            .await
            .map_err(|e| StoreError::Unavailable(e.into()))?
    }

    fn keys_path(&self) -> String {
        format!("/internal/v1/zones/{}/keys", self.zone)
    }
}

#[async_trait]
impl KeyStore for RemoteStore {
    async fn close(&self) {}

    async fn revision(&self) -> Result<Revision, StoreError> {
        let answer: RevisionAnswer = self.call(|c| c.get("/internal/v1/revision", CALL)).await?;
        Ok(answer.revision)
    }

    async fn wait_for_change(
        &self,
        after: Revision,
        timeout: Duration,
    ) -> Result<Revision, StoreError> {
        let ms = timeout.as_millis();
        let path = format!("/internal/v1/changes/wait?after={after}&timeout_ms={ms}");
        let headers = self.report();
        let answer: RevisionAnswer = self
            .call(move |c| c.get_with(&path, &headers, timeout + CALL))
            .await?;
        Ok(answer.revision)
    }

    async fn changes_since(
        &self,
        after: Revision,
        limit: u32,
    ) -> Result<Vec<(Revision, Change)>, StoreError> {
        let path = format!("/internal/v1/changes?after={after}&limit={limit}");
        let headers = self.report();
        let changes: Vec<WireChange> = self
            .call(move |c| c.get_with(&path, &headers, CALL))
            .await?;
        changes.iter().map(WireChange::to_change).collect()
    }

    async fn load_keys(&self) -> Result<Vec<KeyEntry>, StoreError> {
        let path = self.keys_path();
        let keys: Vec<WireKey> = self.call(move |c| c.get(&path, CALL)).await?;
        let entries = keys
            .iter()
            .map(WireKey::to_entry)
            .collect::<Result<_, _>>()?;
        self.update(|m| m.keys = keys.into_iter().map(|k| (k.id.clone(), k)).collect());
        Ok(entries)
    }

    async fn load_key(&self, id: KeyId) -> Result<Option<KeyEntry>, StoreError> {
        let path = format!("{}/{id}", self.keys_path());
        let key: Option<WireKey> = self
            .call(move |c| c.get_optional(&path, "key_not_found", CALL))
            .await?;
        let entry = key.as_ref().map(WireKey::to_entry).transpose()?;
        self.update(|m| match key {
            Some(k) => {
                m.keys.insert(k.id.clone(), k);
            }
            None => {
                m.keys.remove(&id.to_string());
            }
        });
        Ok(entry)
    }

    async fn load_credentials(&self) -> Result<Vec<Credential>, StoreError> {
        let found: Vec<WireCredential> = self
            .call(|c| c.get("/internal/v1/credentials", CALL))
            .await?;
        let credentials = found
            .iter()
            .map(WireCredential::to_credential)
            .collect::<Result<_, _>>()?;
        self.update(|m| m.credentials = found);
        Ok(credentials)
    }

    async fn load_certificates(&self) -> Result<Vec<CertificateCredential>, StoreError> {
        let found: Vec<WireCertificate> = self
            .call(|c| c.get("/internal/v1/certificates", CALL))
            .await?;
        let certificates = found
            .iter()
            .map(WireCertificate::to_certificate)
            .collect::<Result<_, _>>()?;
        self.update(|m| m.certificates = found);
        Ok(certificates)
    }

    async fn record_usage(&self, usage: &[UsageRecord]) -> Result<(), StoreError> {
        let body: Vec<WireUsage> = usage.iter().map(WireUsage::of).collect();
        self.call(move |c| c.post::<_, serde_json::Value>("/internal/v1/usage", &body, CALL))
            .await
            .map(drop)
    }

    async fn append_audit(&self, events: &[AuditEvent]) -> Result<(), StoreError> {
        let body: Vec<WireAuditEvent> = events.iter().map(WireAuditEvent::of).collect();
        self.call(move |c| c.post::<_, serde_json::Value>("/internal/v1/audit", &body, CALL))
            .await
            .map(drop)
    }

    // Not served on a service node (see the module's documentation).

    async fn create_app(
        &self,
        _app: &AppRecord,
        _token: &TokenHash,
        _audit: &AuditEvent,
    ) -> Result<Revision, StoreError> {
        Err(not_served("create_app"))
    }

    async fn find_app(&self, _name: &AppName) -> Result<Option<AppRecord>, StoreError> {
        Err(not_served("find_app"))
    }

    async fn put_root_token(
        &self,
        _label: &str,
        _token: &TokenHash,
        _audit: &AuditEvent,
    ) -> Result<Revision, StoreError> {
        Err(not_served("put_root_token"))
    }

    async fn key_id(&self, _name: &KeyName) -> Result<Option<KeyId>, StoreError> {
        Err(not_served("key_id"))
    }

    async fn create_key(&self, _key: &NewKey, _audit: &AuditEvent) -> Result<Revision, StoreError> {
        Err(not_served("create_key"))
    }

    async fn rotate_key(
        &self,
        _rotation: &Rotation,
        _audit: &AuditEvent,
    ) -> Result<Revision, StoreError> {
        Err(not_served("rotate_key"))
    }

    async fn set_grant(&self, _grant: &Grant, _audit: &AuditEvent) -> Result<Revision, StoreError> {
        Err(not_served("set_grant"))
    }

    async fn key_history(&self, _key: KeyId) -> Result<Vec<KeyEvent>, StoreError> {
        Err(not_served("key_history"))
    }

    async fn list_apps(&self, _only: Option<&AppName>) -> Result<Vec<AppTokens>, StoreError> {
        Err(not_served("list_apps"))
    }

    async fn rotate_app_token(
        &self,
        _rotation: &TokenRotation,
        _audit: &AuditEvent,
    ) -> Result<Revision, StoreError> {
        Err(not_served("rotate_app_token"))
    }

    async fn bind_app_certificate(
        &self,
        _binding: &CertificateBinding,
        _audit: &AuditEvent,
    ) -> Result<Revision, StoreError> {
        Err(not_served("bind_app_certificate"))
    }

    async fn revoke_app_tokens(
        &self,
        _app: AppId,
        _at: Timestamp,
        _audit: &AuditEvent,
    ) -> Result<(Revision, u64), StoreError> {
        Err(not_served("revoke_app_tokens"))
    }

    async fn set_key_policy(
        &self,
        _change: &PolicyChange,
        _audit: &AuditEvent,
    ) -> Result<Revision, StoreError> {
        Err(not_served("set_key_policy"))
    }

    async fn change_version(
        &self,
        _change: &VersionChange,
        _audit: &AuditEvent,
    ) -> Result<Revision, StoreError> {
        Err(not_served("change_version"))
    }

    async fn rollback_key(
        &self,
        _rollback: &Rollback,
        _audit: &AuditEvent,
    ) -> Result<Revision, StoreError> {
        Err(not_served("rollback_key"))
    }

    async fn configure_key(
        &self,
        _key: KeyId,
        _config: &KeyConfig,
        _at: Timestamp,
        _actor: &str,
        _reason: &str,
        _audit: &AuditEvent,
    ) -> Result<Revision, StoreError> {
        Err(not_served("configure_key"))
    }

    async fn delete_key(
        &self,
        _deletion: &KeyDeletion,
        _audit: &AuditEvent,
    ) -> Result<Revision, StoreError> {
        Err(not_served("delete_key"))
    }

    async fn restore_key(
        &self,
        _restore: &KeyRestore,
        _audit: &AuditEvent,
    ) -> Result<Revision, StoreError> {
        Err(not_served("restore_key"))
    }

    async fn destroy_due_versions(
        &self,
        _now: Timestamp,
    ) -> Result<Vec<(KeyId, KeyVersion)>, StoreError> {
        Err(not_served("destroy_due_versions"))
    }

    async fn append_event(
        &self,
        _event: &EventRecord,
        _webhooks: &[String],
    ) -> Result<i64, StoreError> {
        Err(not_served("append_event"))
    }

    async fn record_rotation_notice(
        &self,
        _key: KeyId,
        _version: KeyVersion,
        _event: &EventRecord,
        _webhooks: &[String],
    ) -> Result<Option<i64>, StoreError> {
        Err(not_served("record_rotation_notice"))
    }

    async fn events(&self, _after: i64, _limit: u32) -> Result<Vec<EventRecord>, StoreError> {
        Err(not_served("events"))
    }

    async fn due_deliveries(
        &self,
        _now: Timestamp,
        _limit: u32,
    ) -> Result<Vec<Delivery>, StoreError> {
        Err(not_served("due_deliveries"))
    }

    async fn delivery_outcome(
        &self,
        _event: i64,
        _url: &str,
        _at: Timestamp,
        _outcome: Result<(), (String, Option<Timestamp>)>,
    ) -> Result<(), StoreError> {
        Err(not_served("delivery_outcome"))
    }

    async fn usage(&self, _key: KeyId) -> Result<Vec<UsageSummary>, StoreError> {
        Err(not_served("usage"))
    }

    async fn usage_series(
        &self,
        _key: KeyId,
        _since: Timestamp,
        _until: Timestamp,
    ) -> Result<Vec<UsageBucket>, StoreError> {
        Err(not_served("usage series"))
    }

    async fn master_keys(&self) -> Result<Vec<MasterKeyRecord>, StoreError> {
        Err(not_served("master_keys"))
    }

    async fn initialize_master_key(
        &self,
        _key: &MasterKeyRecord,
        _root_label: &str,
        _root_token: &TokenHash,
        _audit: &AuditEvent,
    ) -> Result<Revision, StoreError> {
        Err(not_served("initialize_master_key"))
    }

    async fn begin_master_key_rotation(
        &self,
        _new: &MasterKeyRecord,
        _audit: &AuditEvent,
    ) -> Result<RotationJob, StoreError> {
        Err(not_served("begin_master_key_rotation"))
    }

    async fn unfinished_rotations(&self) -> Result<Vec<RotationJob>, StoreError> {
        Err(not_served("unfinished_rotations"))
    }

    async fn rotation(&self, _id: i64) -> Result<Option<RotationJob>, StoreError> {
        Err(not_served("rotation"))
    }

    async fn versions_wrapped_under(
        &self,
        _master_key: &MasterKeyId,
        _limit: u32,
    ) -> Result<Vec<(WrapContext, WrappedKey)>, StoreError> {
        Err(not_served("versions_wrapped_under"))
    }

    async fn count_wrapped_under(&self, _master_key: &MasterKeyId) -> Result<u64, StoreError> {
        Err(not_served("count_wrapped_under"))
    }

    async fn store_rewrapped(
        &self,
        _job: i64,
        _rewrapped: &[(WrapContext, WrappedKey)],
    ) -> Result<Revision, StoreError> {
        Err(not_served("store_rewrapped"))
    }

    async fn finish_rewrap(&self, _job: i64) -> Result<(), StoreError> {
        Err(not_served("finish_rewrap"))
    }

    async fn complete_rotation(&self, _job: i64, _audit: &AuditEvent) -> Result<(), StoreError> {
        Err(not_served("complete_rotation"))
    }

    async fn destroy_master_key(
        &self,
        _id: &MasterKeyId,
        _audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        Err(not_served("destroy_master_key"))
    }

    async fn audit_log(&self, _query: &AuditQuery) -> Result<Vec<AuditRecord>, StoreError> {
        Err(not_served("audit_log"))
    }

    async fn audit_head(&self) -> Result<(u64, [u8; 32]), StoreError> {
        Err(not_served("audit_head"))
    }

    async fn snapshot(&self, _to: &std::path::Path) -> Result<(), StoreError> {
        Err(not_served("snapshot"))
    }

    async fn append_audit_seal(&self, _seal: &AuditSeal) -> Result<(), StoreError> {
        Err(not_served("append_audit_seal"))
    }

    async fn audit_seals(&self) -> Result<Vec<AuditSeal>, StoreError> {
        Err(not_served("audit_seals"))
    }

    async fn last_audit_seal(&self) -> Result<Option<AuditSeal>, StoreError> {
        Err(not_served("last_audit_seal"))
    }

    async fn create_user(
        &self,
        _user: &UserRecord,
        _enrolment: &Enrolment,
        _audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        Err(not_served("create_user"))
    }

    async fn reset_user_credentials(
        &self,
        _enrolment: &Enrolment,
        _audit: &AuditEvent,
    ) -> Result<Revision, StoreError> {
        Err(not_served("reset_user_credentials"))
    }

    async fn issue_enrolment(
        &self,
        _enrolment: &Enrolment,
        _audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        Err(not_served("issue_enrolment"))
    }

    async fn enrolment(&self, _token: &TokenHash) -> Result<Option<EnrolmentRecord>, StoreError> {
        Err(not_served("enrolment"))
    }

    async fn offer_enrolment_totp(
        &self,
        _token: &TokenHash,
        _totp_sealed: &[u8],
        _at: Timestamp,
    ) -> Result<(), StoreError> {
        Err(not_served("offer_enrolment_totp"))
    }

    async fn complete_enrolment(
        &self,
        _token: &TokenHash,
        _password_hash: &str,
        _totp_step: u64,
        _audit: &AuditEvent,
    ) -> Result<Revision, StoreError> {
        Err(not_served("complete_enrolment"))
    }

    async fn user(&self, _name: &str) -> Result<Option<UserRecord>, StoreError> {
        Err(not_served("user"))
    }

    async fn users(&self) -> Result<Vec<UserRecord>, StoreError> {
        Err(not_served("users"))
    }

    async fn set_user_roles(
        &self,
        _name: &str,
        _roles: RoleSet,
        _audit: &AuditEvent,
    ) -> Result<Revision, StoreError> {
        Err(not_served("set_user_roles"))
    }

    async fn set_user_disabled(
        &self,
        _name: &str,
        _disabled: bool,
        _audit: &AuditEvent,
    ) -> Result<Revision, StoreError> {
        Err(not_served("set_user_disabled"))
    }

    async fn record_login(
        &self,
        _name: &str,
        _totp_step: u64,
        _session: &Session,
        _audit: &AuditEvent,
    ) -> Result<Revision, StoreError> {
        Err(not_served("record_login"))
    }

    async fn record_login_failure(
        &self,
        _name: &str,
        _max_failed: u32,
        _locked_until: Timestamp,
        _audit: &AuditEvent,
    ) -> Result<Option<LoginState>, StoreError> {
        Err(not_served("record_login_failure"))
    }

    async fn end_session(
        &self,
        _hash: &TokenHash,
        _audit: &AuditEvent,
    ) -> Result<Revision, StoreError> {
        Err(not_served("end_session"))
    }

    async fn revoke_root_tokens(&self, _audit: &AuditEvent) -> Result<(Revision, u64), StoreError> {
        Err(not_served("revoke_root_tokens"))
    }

    async fn create_approval(
        &self,
        _approval: &NewApproval,
        _audit: &AuditEvent,
    ) -> Result<i64, StoreError> {
        Err(not_served("create_approval"))
    }

    async fn approval(&self, _id: i64) -> Result<Option<ApprovalRecord>, StoreError> {
        Err(not_served("approval"))
    }

    async fn approvals(
        &self,
        _pending_only: bool,
        _limit: u32,
    ) -> Result<Vec<ApprovalRecord>, StoreError> {
        Err(not_served("approvals"))
    }

    async fn vote(
        &self,
        _id: i64,
        _vote: &Vote,
        _audit: &AuditEvent,
    ) -> Result<ApprovalRecord, StoreError> {
        Err(not_served("vote"))
    }

    async fn claim_approval(&self, _id: i64, _at: Timestamp) -> Result<bool, StoreError> {
        Err(not_served("claim_approval"))
    }

    async fn take_private_result(
        &self,
        _id: i64,
        _at: Timestamp,
    ) -> Result<Option<String>, StoreError> {
        Err(not_served("take_private_result"))
    }

    async fn finish_approval(
        &self,
        _id: i64,
        _result: &str,
        _private: Option<&str>,
        _audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        Err(not_served("finish_approval"))
    }

    async fn register_zone(
        &self,
        _zone: &ZoneRecord,
        _audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        Err(not_served("register_zone"))
    }

    async fn zones(&self) -> Result<Vec<ZoneRecord>, StoreError> {
        Err(not_served("zones"))
    }

    async fn record_node_contact(&self, _contact: &NodeContact) -> Result<(), StoreError> {
        Err(not_served("record_node_contact"))
    }

    async fn node_contacts(&self) -> Result<Vec<NodeContact>, StoreError> {
        Err(not_served("node_contacts"))
    }
}
