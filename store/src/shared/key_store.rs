//! The [`KeyStore`] implementation, written once for both backends: nearly every method hands
//! its work to an area module (reads on the backend's read pool, writes in the backend's write
//! transaction). What differs per backend (closing, the long poll, snapshots) is an inherent
//! method of the backend's store in its mod.rs.

use std::path::Path;
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
    EventRecord, Grant, KeyConfig, KeyDeletion, KeyEvent, KeyRestore, KeyStore, NewKey, PolicyChange,
    Revision,
    Rollback, Rotation, StoreError, TokenRotation, UsageBucket, UsageSummary, VersionChange, ZoneRecord,
    NodeContact,
};
use kms_engine::token::TokenHash;
use kms_engine::wrap::{WrapContext, WrappedKey};

use super::{
    Store, approvals, apps, audit, certificates, enrolments, events, feed, keys, master_keys, nodes, people,
    usage, zones,
};
use super::errors::db_err;

#[async_trait]
impl KeyStore for Store {
    async fn close(&self) {
        Store::close(self).await;
    }

    async fn revision(&self) -> Result<Revision, StoreError> {
        feed::current_revision(self.reader()).await
    }

    async fn wait_for_change(
        &self,
        after: Revision,
        timeout: Duration,
    ) -> Result<Revision, StoreError> {
        self.wait(after, timeout).await
    }

    async fn changes_since(
        &self,
        after: Revision,
        limit: u32,
    ) -> Result<Vec<(Revision, Change)>, StoreError> {
        feed::changes_since(self.reader(), after, limit).await
    }

    async fn load_keys(&self) -> Result<Vec<KeyEntry>, StoreError> {
        keys::load(self.reader(), None).await
    }

    async fn load_key(&self, id: KeyId) -> Result<Option<KeyEntry>, StoreError> {
        Ok(keys::load(self.reader(), Some(id)).await?.pop())
    }

    async fn load_credentials(&self) -> Result<Vec<Credential>, StoreError> {
        let mut credentials = apps::credentials(self.reader(), self.now()).await?;
        credentials.extend(people::session_credentials(self.reader()).await?);
        Ok(credentials)
    }

    async fn load_certificates(&self) -> Result<Vec<CertificateCredential>, StoreError> {
        certificates::load(self.reader()).await
    }

    async fn create_app(
        &self,
        app: &AppRecord,
        token: &TokenHash,
        audit: &AuditEvent,
    ) -> Result<Revision, StoreError> {
        self.create_app_tx(app, token, audit).await
    }

    async fn find_app(&self, name: &AppName) -> Result<Option<AppRecord>, StoreError> {
        apps::find(self.reader(), name).await
    }

    async fn put_root_token(
        &self,
        label: &str,
        token: &TokenHash,
        audit: &AuditEvent,
    ) -> Result<Revision, StoreError> {
        self.put_root_token_tx(label, token, audit).await
    }

    async fn key_id(&self, name: &KeyName) -> Result<Option<KeyId>, StoreError> {
        keys::id_by_name(self.reader(), name).await
    }

    async fn create_key(&self, key: &NewKey, audit: &AuditEvent) -> Result<Revision, StoreError> {
        self.create_key_tx(key, audit).await
    }

    async fn rotate_key(
        &self,
        rotation: &Rotation,
        audit: &AuditEvent,
    ) -> Result<Revision, StoreError> {
        self.rotate_key_tx(rotation, audit).await
    }

    async fn set_grant(&self, grant: &Grant, audit: &AuditEvent) -> Result<Revision, StoreError> {
        self.set_grant_tx(grant, audit).await
    }

    async fn key_history(&self, key: KeyId) -> Result<Vec<KeyEvent>, StoreError> {
        keys::history(self.reader(), key).await
    }

    async fn list_apps(&self, only: Option<&AppName>) -> Result<Vec<AppTokens>, StoreError> {
        apps::list(self.reader(), only).await
    }

    async fn rotate_app_token(
        &self,
        rotation: &TokenRotation,
        audit: &AuditEvent,
    ) -> Result<Revision, StoreError> {
        self.rotate_app_token_tx(rotation, audit).await
    }

    async fn bind_app_certificate(
        &self,
        binding: &CertificateBinding,
        audit: &AuditEvent,
    ) -> Result<Revision, StoreError> {
        self.bind_app_certificate_tx(binding, audit).await
    }

    async fn revoke_app_tokens(
        &self,
        app: AppId,
        at: Timestamp,
        audit: &AuditEvent,
    ) -> Result<(Revision, u64), StoreError> {
        self.revoke_app_tokens_tx(app, at, audit).await
    }

    async fn set_key_policy(
        &self,
        change: &PolicyChange,
        audit: &AuditEvent,
    ) -> Result<Revision, StoreError> {
        self.set_key_policy_tx(change, audit).await
    }

    async fn change_version(
        &self,
        change: &VersionChange,
        audit: &AuditEvent,
    ) -> Result<Revision, StoreError> {
        self.change_version_tx(change, audit).await
    }

    async fn rollback_key(
        &self,
        rollback: &Rollback,
        audit: &AuditEvent,
    ) -> Result<Revision, StoreError> {
        self.rollback_tx(rollback, audit).await
    }

    async fn configure_key(
        &self,
        key: KeyId,
        config: &KeyConfig,
        at: Timestamp,
        actor: &str,
        reason: &str,
        audit: &AuditEvent,
    ) -> Result<Revision, StoreError> {
        self.configure_tx(key, config, at, actor, reason, audit)
            .await
    }

    async fn delete_key(
        &self,
        deletion: &KeyDeletion,
        audit: &AuditEvent,
    ) -> Result<Revision, StoreError> {
        self.delete_key_tx(deletion, audit).await
    }

    async fn restore_key(
        &self,
        restore: &KeyRestore,
        audit: &AuditEvent,
    ) -> Result<Revision, StoreError> {
        self.restore_key_tx(restore, audit).await
    }

    async fn destroy_due_versions(
        &self,
        now: Timestamp,
    ) -> Result<Vec<(KeyId, KeyVersion)>, StoreError> {
        self.destroy_due_tx(now).await
    }

    async fn append_event(
        &self,
        event: &EventRecord,
        webhooks: &[String],
    ) -> Result<i64, StoreError> {
        self.append_event_tx(event, webhooks).await
    }

    async fn record_rotation_notice(
        &self,
        key: KeyId,
        version: KeyVersion,
        event: &EventRecord,
        webhooks: &[String],
    ) -> Result<Option<i64>, StoreError> {
        self.record_notice_tx(key, version, event, webhooks).await
    }

    async fn events(&self, after: i64, limit: u32) -> Result<Vec<EventRecord>, StoreError> {
        events::list(self.reader(), after, limit).await
    }

    async fn due_deliveries(
        &self,
        now: Timestamp,
        limit: u32,
    ) -> Result<Vec<Delivery>, StoreError> {
        events::due(self.reader(), now, limit).await
    }

    async fn delivery_outcome(
        &self,
        event: i64,
        url: &str,
        at: Timestamp,
        outcome: Result<(), (String, Option<Timestamp>)>,
    ) -> Result<(), StoreError> {
        self.delivery_outcome_tx(event, url, at, outcome).await
    }

    async fn record_usage(&self, usage: &[UsageRecord]) -> Result<(), StoreError> {
        self.record_usage_tx(usage).await
    }

    async fn usage(&self, key: KeyId) -> Result<Vec<UsageSummary>, StoreError> {
        usage::summary(self.reader(), key).await
    }

    async fn usage_series(
        &self,
        key: KeyId,
        since: Timestamp,
        until: Timestamp,
    ) -> Result<Vec<UsageBucket>, StoreError> {
        usage::series(self.reader(), key, since, until).await
    }

    async fn master_keys(&self) -> Result<Vec<MasterKeyRecord>, StoreError> {
        master_keys::all(self.reader()).await
    }

    async fn initialize_master_key(
        &self,
        key: &MasterKeyRecord,
        root_label: &str,
        root_token: &TokenHash,
        audit: &AuditEvent,
    ) -> Result<Revision, StoreError> {
        self.initialize_master_key_tx(key, root_label, root_token, audit)
            .await
    }

    async fn begin_master_key_rotation(
        &self,
        new: &MasterKeyRecord,
        audit: &AuditEvent,
    ) -> Result<RotationJob, StoreError> {
        self.begin_rotation_tx(new, audit).await
    }

    async fn unfinished_rotations(&self) -> Result<Vec<RotationJob>, StoreError> {
        master_keys::unfinished(self.reader()).await
    }

    async fn rotation(&self, id: i64) -> Result<Option<RotationJob>, StoreError> {
        master_keys::rotation(self.reader(), id).await
    }

    async fn versions_wrapped_under(
        &self,
        master_key: &MasterKeyId,
        limit: u32,
    ) -> Result<Vec<(WrapContext, WrappedKey)>, StoreError> {
        master_keys::wrapped_under(self.reader(), master_key, limit).await
    }

    async fn count_wrapped_under(&self, master_key: &MasterKeyId) -> Result<u64, StoreError> {
        let n: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM key_versions WHERE master_key_id = $1")
                .bind(master_key.as_str())
                .fetch_one(self.reader())
                .await
                .map_err(db_err)?;
        u64::try_from(n).map_err(|_| StoreError::Corrupt("negative count".into()))
    }

    async fn store_rewrapped(
        &self,
        job: i64,
        rewrapped: &[(WrapContext, WrappedKey)],
    ) -> Result<Revision, StoreError> {
        self.store_rewrapped_tx(job, rewrapped).await
    }

    async fn finish_rewrap(&self, job: i64) -> Result<(), StoreError> {
        self.finish_rewrap_tx(job).await
    }

    async fn complete_rotation(&self, job: i64, audit: &AuditEvent) -> Result<(), StoreError> {
        self.complete_rotation_tx(job, audit).await
    }

    async fn destroy_master_key(
        &self,
        id: &MasterKeyId,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        self.destroy_master_key_tx(id, audit).await
    }

    async fn append_audit(&self, events: &[AuditEvent]) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        for e in events {
            audit::append(&mut tx, e).await?;
        }
        tx.commit().await.map_err(db_err)
    }

    async fn audit_log(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>, StoreError> {
        audit::query(self.reader(), query).await
    }

    async fn audit_head(&self) -> Result<(u64, [u8; 32]), StoreError> {
        audit::head(self.reader()).await
    }

    async fn snapshot(&self, to: &Path) -> Result<(), StoreError> {
        self.snapshot_to(to).await
    }

    async fn append_audit_seal(&self, seal: &AuditSeal) -> Result<(), StoreError> {
        audit::add_seal(self.writer(), seal).await
    }

    async fn audit_seals(&self) -> Result<Vec<AuditSeal>, StoreError> {
        audit::seals(self.reader(), false).await
    }

    async fn last_audit_seal(&self) -> Result<Option<AuditSeal>, StoreError> {
        Ok(audit::seals(self.reader(), true).await?.pop())
    }

    async fn audit_seal_count(&self) -> Result<u64, StoreError> {
        audit::seal_count(self.reader()).await
    }

    async fn create_user(
        &self,
        user: &UserRecord,
        enrolment: &Enrolment,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        self.create_user_tx(user, enrolment, audit).await
    }

    async fn reset_user_credentials(
        &self,
        enrolment: &Enrolment,
        audit: &AuditEvent,
    ) -> Result<Revision, StoreError> {
        self.reset_user_credentials_tx(enrolment, audit).await
    }

    async fn issue_enrolment(
        &self,
        enrolment: &Enrolment,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        self.issue_enrolment_tx(enrolment, audit).await
    }

    async fn enrolment(&self, token: &TokenHash) -> Result<Option<EnrolmentRecord>, StoreError> {
        enrolments::find(self.reader(), token).await
    }

    async fn offer_enrolment_totp(
        &self,
        token: &TokenHash,
        totp_sealed: &[u8],
        at: Timestamp,
    ) -> Result<(), StoreError> {
        self.offer_enrolment_totp_tx(token, totp_sealed, at).await
    }

    async fn complete_enrolment(
        &self,
        token: &TokenHash,
        password_hash: &str,
        totp_step: u64,
        audit: &AuditEvent,
    ) -> Result<Revision, StoreError> {
        self.complete_enrolment_tx(token, password_hash, totp_step, audit)
            .await
    }

    async fn user(&self, name: &str) -> Result<Option<UserRecord>, StoreError> {
        people::find(self.reader(), name).await
    }

    async fn users(&self) -> Result<Vec<UserRecord>, StoreError> {
        people::all(self.reader()).await
    }

    async fn set_user_roles(
        &self,
        name: &str,
        roles: RoleSet,
        audit: &AuditEvent,
    ) -> Result<Revision, StoreError> {
        self.set_user_roles_tx(name, roles, audit).await
    }

    async fn set_user_disabled(
        &self,
        name: &str,
        disabled: bool,
        audit: &AuditEvent,
    ) -> Result<Revision, StoreError> {
        self.set_user_disabled_tx(name, disabled, audit).await
    }

    async fn record_login(
        &self,
        name: &str,
        totp_step: u64,
        session: &Session,
        audit: &AuditEvent,
    ) -> Result<Revision, StoreError> {
        self.record_login_tx(name, totp_step, session, audit).await
    }

    async fn record_login_failure(
        &self,
        name: &str,
        max_failed: u32,
        locked_until: Timestamp,
        audit: &AuditEvent,
    ) -> Result<Option<LoginState>, StoreError> {
        self.record_login_failure_tx(name, max_failed, locked_until, audit)
            .await
    }

    async fn end_session(
        &self,
        hash: &TokenHash,
        audit: &AuditEvent,
    ) -> Result<Revision, StoreError> {
        self.end_session_tx(hash, audit).await
    }

    async fn revoke_root_tokens(&self, audit: &AuditEvent) -> Result<(Revision, u64), StoreError> {
        self.revoke_root_tokens_tx(audit).await
    }

    async fn create_approval(
        &self,
        approval: &NewApproval,
        audit: &AuditEvent,
    ) -> Result<i64, StoreError> {
        self.create_approval_tx(approval, audit).await
    }

    async fn approval(&self, id: i64) -> Result<Option<ApprovalRecord>, StoreError> {
        approvals::find(self.reader(), id).await
    }

    async fn approvals(
        &self,
        pending_only: bool,
        limit: u32,
    ) -> Result<Vec<ApprovalRecord>, StoreError> {
        approvals::list(self.reader(), pending_only, limit).await
    }

    async fn vote(
        &self,
        id: i64,
        vote: &Vote,
        audit: &AuditEvent,
    ) -> Result<ApprovalRecord, StoreError> {
        self.vote_tx(id, vote, audit).await
    }

    async fn claim_approval(&self, id: i64, at: Timestamp) -> Result<bool, StoreError> {
        self.claim_approval_tx(id, at).await
    }

    async fn take_private_result(
        &self,
        id: i64,
        at: Timestamp,
    ) -> Result<Option<String>, StoreError> {
        self.take_private_result_tx(id, at).await
    }

    async fn finish_approval(
        &self,
        id: i64,
        result: &str,
        private: Option<&str>,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        self.finish_approval_tx(id, result, private, audit).await
    }

    async fn register_zone(&self, zone: &ZoneRecord, audit: &AuditEvent) -> Result<(), StoreError> {
        self.register_zone_tx(zone, audit).await
    }

    async fn zones(&self) -> Result<Vec<ZoneRecord>, StoreError> {
        zones::all(self.reader()).await
    }

    async fn record_node_contact(&self, contact: &NodeContact) -> Result<(), StoreError> {
        self.record_node_contact_tx(contact).await
    }

    async fn node_contacts(&self) -> Result<Vec<NodeContact>, StoreError> {
        nodes::all(self.reader()).await
    }
}
