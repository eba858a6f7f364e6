//! Property test of the version lifecycle: random sequences of rotations, rollbacks,
//! disable/enable, scheduled and cancelled destructions, minimum-version changes and the passing
//! of time, applied to the store and to a model of the rules. After every step the store agrees
//! with the model (which steps succeed, every version's state), and the invariants hold: exactly
//! one active version; destroyed is final; a destroyed version's material is gone from the store
//! and from the database files; a version that is not active or decrypt-only neither encrypts nor
//! decrypts.
//!
//! It runs against SQLite (the database files searched) and PostgreSQL (every BYTEA value the
//! database holds searched; a database of its own per case, tests/pg/mod.rs).
// Test helpers panic on failure by design; version numbers here are tiny.
#![allow(clippy::unwrap_used, clippy::cast_possible_truncation)]

mod fixtures;

use fixtures::{at, event};
use std::sync::Arc;

use kms_engine::algorithm::Algorithm;
use kms_engine::ids::{KeyId, KeyName, KeyVersion, MasterKeyId};
use kms_engine::store::{
    KeyConfig, KeyStore, NewKey, Rollback, Rotation, VersionAction, VersionChange,
};
use kms_engine::version::VersionState;
use kms_engine::wrap::WrappedKey;
use kms_store::SqliteStore;
use proptest::prelude::*;

mod pg;

/// The store under test and what it keeps at rest.
enum Backend {
    Sqlite(tempfile::TempDir),
    Postgres(Box<pg::TestDb>),
}

impl Backend {
    async fn open(postgres: bool) -> (Self, Arc<dyn KeyStore>) {
        if postgres {
            let db = pg::TestDb::create().await;
            let store: Arc<dyn KeyStore> = Arc::new(db.open().await);
            (Backend::Postgres(Box::new(db)), store)
        } else {
            let dir = tempfile::tempdir().unwrap();
            let store: Arc<dyn KeyStore> =
                Arc::new(SqliteStore::open(&dir.path().join("kms.db")).await.unwrap());
            (Backend::Sqlite(dir), store)
        }
    }

    /// SQLite: every file in the directory (the WAL included). PostgreSQL: every BYTEA value.
    async fn at_rest(&self) -> Vec<Vec<u8>> {
        match self {
            Backend::Sqlite(dir) => std::fs::read_dir(dir.path())
                .unwrap()
                .map(|e| std::fs::read(e.unwrap().path()).unwrap())
                .collect(),
            Backend::Postgres(db) => db.bytea_values().await,
        }
    }
}

const WEEK: i64 = 7 * 24 * 3600 * 1000;

#[derive(Clone, Debug)]
enum Step {
    Rotate,
    Rollback,
    Disable(u32),
    Enable(u32),
    Schedule(u32),
    Cancel(u32),
    SetMin(u32),
    /// Hours pass; due destructions run.
    Elapse(i64),
}

fn step() -> impl Strategy<Value = Step> {
    let v = 1u32..7;
    prop_oneof![
        3 => Just(Step::Rotate),
        1 => Just(Step::Rollback),
        2 => v.clone().prop_map(Step::Disable),
        1 => v.clone().prop_map(Step::Enable),
        2 => v.clone().prop_map(Step::Schedule),
        1 => v.clone().prop_map(Step::Cancel),
        1 => v.prop_map(Step::SetMin),
        2 => (1i64..200).prop_map(Step::Elapse),
    ]
}

/// The rules, written independently of the store.
#[derive(Clone, Debug)]
struct Model {
    states: Vec<VersionState>,
    destroy_at: Vec<Option<i64>>,
    min: u32,
    now: i64,
}

impl Model {
    fn active(&self) -> u32 {
        self.states
            .iter()
            .position(|s| *s == VersionState::Active)
            .unwrap() as u32
            + 1
    }

    /// Applies a step; false when the rules refuse it.
    fn apply(&mut self, step: &Step) -> bool {
        use VersionState::*;
        let idx = |v: u32| {
            (v as usize)
                .checked_sub(1)
                .filter(|i| *i < self.states.len())
        };
        match *step {
            Step::Rotate => {
                let a = self.active() as usize - 1;
                self.states[a] = DecryptOnly;
                self.states.push(Active);
                self.destroy_at.push(None);
                true
            }
            Step::Rollback => {
                let a = self.active();
                let prev = (self.min..a)
                    .rev()
                    .find(|v| self.states[*v as usize - 1] == DecryptOnly);
                match prev {
                    Some(p) => {
                        self.states[a as usize - 1] = DecryptOnly;
                        self.states[p as usize - 1] = Active;
                        true
                    }
                    None => false,
                }
            }
            Step::Disable(v) => self.transition(idx(v), &[DecryptOnly], Disabled, None),
            Step::Enable(v) => self.transition(idx(v), &[Disabled], DecryptOnly, None),
            Step::Schedule(v) => {
                let at = self.now + WEEK;
                self.transition(
                    idx(v),
                    &[DecryptOnly, Disabled],
                    ScheduledForDestruction,
                    Some(at),
                )
            }
            Step::Cancel(v) => self.transition(idx(v), &[ScheduledForDestruction], Disabled, None),
            Step::SetMin(v) => {
                if v <= self.active() {
                    self.min = v;
                    true
                } else {
                    false
                }
            }
            Step::Elapse(hours) => {
                self.now += hours * 3600 * 1000;
                for i in 0..self.states.len() {
                    if self.states[i] == ScheduledForDestruction
                        && self.destroy_at[i].is_some_and(|t| t <= self.now)
                    {
                        self.states[i] = Destroyed;
                        self.destroy_at[i] = None;
                    }
                }
                true
            }
        }
    }

    fn transition(
        &mut self,
        i: Option<usize>,
        from: &[VersionState],
        to: VersionState,
        destroy_at: Option<i64>,
    ) -> bool {
        match i {
            Some(i) if from.contains(&self.states[i]) => {
                self.states[i] = to;
                self.destroy_at[i] = destroy_at;
                true
            }
            // A version that does not exist: the store says not found; the model refuses.
            _ => false,
        }
    }
}

/// Each version's wrapped material is distinct, so the file search finds exactly it.
fn blob(key: KeyId, version: u32) -> Vec<u8> {
    let mut b = key.as_bytes().to_vec();
    b.extend_from_slice(&version.to_be_bytes());
    b.extend_from_slice(b"-wrapped-material-of-this-version-");
    b.extend_from_slice(key.as_bytes());
    b
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

async fn run(postgres: bool, steps: Vec<Step>) {
    let (backend, store) = Backend::open(postgres).await;
    let mk = MasterKeyId::new("mk-prop").unwrap();
    fixtures::initialize(store.as_ref(), mk.as_str()).await;
    let key = KeyId::random();
    let wrapped = |v: u32| WrappedKey {
        master_key: mk.clone(),
        blob: blob(key, v),
    };
    store
        .create_key(
            &NewKey {
                id: key,
                name: KeyName::new("prop").unwrap(),
                algorithm: Algorithm::Aes256Gcm,
                settings: Default::default(),
                wrapped: wrapped(1),
                at: at(0),
                actor: "test".into(),
            },
            &event("create"),
        )
        .await
        .unwrap();
    let mut model = Model {
        states: vec![VersionState::Active],
        destroy_at: vec![None],
        min: 1,
        now: 0,
    };
    let mut destroyed_ever = std::collections::BTreeSet::new();
    for step in &steps {
        let now = at(model.now);
        let outcome = match *step {
            Step::Rotate => store
                .rotate_key(
                    &Rotation {
                        key,
                        new_version: KeyVersion::new(model.states.len() as u32 + 1).unwrap(),
                        wrapped: wrapped(model.states.len() as u32 + 1),
                        at: now,
                        actor: "test".into(),
                        reason: "prop".into(),
                    },
                    &event("rotate"),
                )
                .await
                .map(|_| ()),
            Step::Rollback => store
                .rollback_key(
                    &Rollback {
                        key,
                        at: now,
                        actor: "test".into(),
                        reason: "prop".into(),
                    },
                    &event("rollback"),
                )
                .await
                .map(|_| ()),
            Step::Disable(v) | Step::Enable(v) | Step::Schedule(v) | Step::Cancel(v) => {
                let action = match step {
                    Step::Disable(_) => VersionAction::Disable,
                    Step::Enable(_) => VersionAction::Enable,
                    Step::Schedule(_) => VersionAction::ScheduleDestruction {
                        destroy_at: at(model.now + WEEK),
                    },
                    _ => VersionAction::CancelDestruction,
                };
                store
                    .change_version(
                        &VersionChange {
                            key,
                            version: KeyVersion::new(v).unwrap(),
                            action,
                            at: now,
                            actor: "test".into(),
                            reason: "prop".into(),
                        },
                        &event("change"),
                    )
                    .await
                    .map(|_| ())
            }
            Step::SetMin(v) => store
                .configure_key(
                    key,
                    &KeyConfig {
                        min_decryption_version: Some(KeyVersion::new(v).unwrap()),
                        ..Default::default()
                    },
                    now,
                    "test",
                    "prop",
                    &event("config"),
                )
                .await
                .map(|_| ()),
            Step::Elapse(hours) => store
                .destroy_due_versions(at(model.now + hours * 3600 * 1000))
                .await
                .map(|_| ()),
        };
        let expected = model.apply(step);
        assert_eq!(
            outcome.is_ok(),
            expected,
            "{step:?}: store {outcome:?}, model {expected}"
        );

        let entry = store.load_key(key).await.unwrap().expect("key");
        let states: Vec<VersionState> = entry.versions().iter().map(|v| v.state).collect();
        assert_eq!(states, model.states, "after {step:?}");
        assert_eq!(entry.min_decryption_version.get(), model.min);
        // Exactly one active version (KeyEntry::new refuses anything else; said again here).
        assert_eq!(
            states
                .iter()
                .filter(|s| **s == VersionState::Active)
                .count(),
            1
        );
        for v in entry.versions() {
            let n = v.version.get();
            if v.state == VersionState::Destroyed {
                destroyed_ever.insert(n);
                assert!(
                    v.wrapped.is_none(),
                    "v{n} destroyed but its material is still stored"
                );
            } else {
                assert!(
                    !destroyed_ever.contains(&n),
                    "v{n} came back from destroyed"
                );
            }
            let usable = matches!(v.state, VersionState::Active | VersionState::DecryptOnly)
                && v.version >= entry.min_decryption_version;
            assert_eq!(
                entry.decrypting_version(v.version).is_ok(),
                usable,
                "v{n} {:?}",
                v.state
            );
        }
        assert_eq!(
            entry.encrypting_version().unwrap().state,
            VersionState::Active
        );
    }
    // Destroyed material is gone from what the store keeps at rest too, not only from the rows.
    let files = backend.at_rest().await;
    for v in &destroyed_ever {
        for f in &files {
            assert!(
                !contains(f, &blob(key, *v)),
                "v{v}'s material is still in a database file"
            );
        }
    }
    // And what is not destroyed is found by the same search (the search can find things).
    for (i, s) in model.states.iter().enumerate() {
        if *s != VersionState::Destroyed {
            let b = blob(key, i as u32 + 1);
            assert!(
                files.iter().any(|f| contains(f, &b)),
                "v{} not found on disk",
                i + 1
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn the_lifecycle_keeps_its_invariants(steps in proptest::collection::vec(step(), 1..40)) {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(run(false, steps));
    }

    #[test]
    fn the_lifecycle_keeps_its_invariants_on_postgres(
        steps in proptest::collection::vec(step(), 1..40)
    ) {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(run(true, steps));
    }
}
