//! A management center over the real SQLite store and the software HSM, without HTTP: what the
//! `kms` binary assembles for a store node, minus the listeners and the crypto workers.

use std::sync::Arc;

use kms_control::approvals::invocation::Invocation;
use kms_control::approvals::ran::Mode;
use kms_control::audit_sink::AuditSink;
use kms_control::ceremony::registry::Ceremonies;
use kms_control::context::{AccessPolicy, Control};
use kms_control::custodians::{Custodians, Quorum};
use kms_control::people::accounts::{self, CreateParams};
use kms_control::people::enrolment;
use kms_control::people::guard::LoginGuard;
use kms_control::rewrap::Rewrapper;
use kms_control::totp;
use kms_engine::audit::{AuditEvent, Outcome};
use kms_engine::clock::{Clock, ManualClock, Timestamp};
use kms_engine::directory::{DirectoryHandle, Principal};
use kms_engine::master_key::{MasterKeyRecord, MasterKeyState};
use kms_engine::role::{Role, RoleSet};
use kms_engine::secret::SecretString;
use kms_engine::store::KeyStore;
use kms_engine::sync::{KeySync, SyncConfig};
use kms_engine::token::TokenHash;
use kms_hsm::{HsmChoice, MasterKeySource, Sealing};
use kms_store::SqliteStore;

pub struct Center {
    pub control: Arc<Control>,
    pub clock: Arc<ManualClock>,
    _dir: tempfile::TempDir,
}

impl Center {
    /// A fresh store and HSM with a master key, the root token `root`.
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::new(Timestamp::from_millis(1_800_000_000_000)));
        let dyn_clock: Arc<dyn Clock> = clock.clone();
        let store: Arc<dyn KeyStore> = Arc::new(
            SqliteStore::open_with_clock(&dir.path().join("kms.db"), Arc::clone(&dyn_clock))
                .await
                .unwrap(),
        );
        let backend = HsmChoice::Software.open(dir.path()).unwrap();
        let (hsm, _thread) =
            kms_hsm::spawn(backend, 64, std::time::Duration::from_secs(10)).unwrap();
        let created = hsm
            .create_master_key(
                MasterKeySource::Generate,
                Some(Sealing {
                    shares: 1,
                    threshold: 1,
                }),
            )
            .await
            .unwrap();
        let now = clock.now();
        let record = MasterKeyRecord {
            id: created.id.clone(),
            kcv: created.kcv.clone(),
            origin: created.origin,
            state: MasterKeyState::Active,
            created_at: now,
            updated_at: now,
        };
        let event = AuditEvent {
            at: now,
            actor: "system".into(),
            action: "master_key_create".into(),
            target: None,
            outcome: Outcome::Success,
            code: None,
            remote: None,
            detail: None,
        };
        store
            .initialize_master_key(&record, "initial", &TokenHash::of("root"), &event)
            .await
            .unwrap();
        let directory = Arc::new(DirectoryHandle::default());
        let sync = KeySync::start(
            Arc::clone(&store),
            Arc::clone(&directory),
            SyncConfig::default(),
            None,
        )
        .await
        .unwrap();
        let runtime = tokio::runtime::Handle::current();
        let control = Arc::new(Control {
            audit: AuditSink::start(Arc::clone(&store), &runtime),
            audit_export: kms_control::audit_export::AuditExport::none(),
            store,
            hsm,
            directory,
            sync,
            ceremonies: Ceremonies::new(Quorum::default(), Custodians::new(Vec::new())),
            rewrapper: Rewrapper::idle(),
            webhooks: Vec::new(),
            clock: dyn_clock,
            access: AccessPolicy::default(),
            logins: LoginGuard::default(),
        });
        Self {
            control,
            clock,
            _dir: dir,
        }
    }

    /// The root token's invocation.
    pub fn root() -> Invocation {
        Invocation::new("root:initial".into(), None)
    }

    /// Creates `name` holding `roles` (as the root token may) and enrols them as the person
    /// would; returns how they act: their principal and invocation, as a session would give them.
    pub async fn person(&self, name: &str, roles: &[Role]) -> (Principal, Invocation) {
        let roles = RoleSet::of(roles);
        let ran = accounts::create(
            &self.control,
            &Self::root(),
            CreateParams {
                name: name.into(),
                roles: roles.names().into_iter().map(str::to_owned).collect(),
            },
            Mode::Direct,
        )
        .await
        .unwrap();
        let token = ran.private.unwrap()["enrolment"]["token"]
            .as_str()
            .unwrap()
            .to_owned();
        let token = SecretString::new(token);
        let offered = enrolment::begin(&self.control, name, &token, None)
            .await
            .unwrap();
        let offered = serde_json::to_value(offered).unwrap();
        let secret = totp::from_base32(offered["totp_secret"].as_str().unwrap()).unwrap();
        let code = totp::code(&secret, totp::step_at(self.clock.now().millis()));
        enrolment::complete(
            &self.control,
            name,
            &token,
            SecretString::new(format!("{name}-long-password")),
            &code,
            None,
        )
        .await
        .unwrap();
        let principal = Principal::User {
            name: name.into(),
            roles,
            expires_at: Timestamp::from_millis(i64::MAX),
        };
        (principal, Invocation::new(format!("user:{name}"), None))
    }
}
