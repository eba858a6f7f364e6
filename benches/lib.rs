//! Fixtures shared by the benchmarks: a real software HSM (initialised, unsealed) and a key with
//! its first version generated and wrapped by it.
#![forbid(unsafe_code)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use kms_engine::algorithm::Algorithm;
use kms_engine::clock::Timestamp;
use kms_engine::crypto::PreparedKey;
use kms_engine::ids::{KeyId, KeyName, KeyVersion, MasterKeyId};
use kms_engine::keyring::{KeyEntry, VersionEntry};
use kms_engine::secret::KeyMaterial;
use kms_engine::version::VersionState;
use kms_engine::wrap::{KeyUnwrapper, WrapContext};
use kms_hsm::{
    HsmBackend, HsmHandle, MasterKeySource, Pkcs11Config, Pkcs11Hsm, Sealing, SoftwareHsm,
};

pub struct Fixture {
    pub hsm: HsmHandle,
    pub key: Arc<KeyEntry>,
    pub master_key: MasterKeyId,
    pub runtime: tokio::runtime::Runtime,
    _dir: tempfile::TempDir,
}

/// A software HSM with one master key and one working key.
///
/// # Panics
/// When the HSM cannot be set up in a temporary directory.
pub fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let backend = SoftwareHsm::open(&dir.path().join("sealed.json")).expect("hsm");
    let sealing = Sealing {
        shares: 1,
        threshold: 1,
    };
    fixture_on(Box::new(backend), Some(sealing), dir)
}

/// The same on a PKCS#11 token (SOFTHSM2_CONF must already point at its configuration).
///
/// # Panics
/// When the token cannot be opened.
pub fn pkcs11_fixture(config: &Pkcs11Config) -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    fixture_on(Box::new(Pkcs11Hsm::open(config).expect("token")), None, dir)
}

fn fixture_on(
    backend: Box<dyn HsmBackend>,
    sealing: Option<Sealing>,
    dir: tempfile::TempDir,
) -> Fixture {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (hsm, _) = kms_hsm::spawn(backend, 1024, Duration::from_secs(5)).expect("hsm actor");
    let id = KeyId::random();
    let (master_key, wrapped) = runtime.block_on(async {
        let mk = hsm
            .create_master_key(MasterKeySource::Generate, sealing)
            .await
            .expect("master key");
        let context = WrapContext {
            key: id,
            version: KeyVersion::FIRST,
            algorithm: Algorithm::Aes256Gcm,
        };
        let wrapped = hsm
            .generate_wrapped(context, mk.id.clone())
            .await
            .expect("generate");
        (mk.id, wrapped)
    });
    let version = VersionEntry {
        version: KeyVersion::FIRST,
        state: VersionState::Active,
        wrapped: Some(wrapped),
        created_at: Timestamp::from_millis(0),
        updated_at: Timestamp::from_millis(0),
        destroy_at: None,
    };
    let key = KeyEntry::new(
        id,
        KeyName::new("bench").expect("name"),
        Algorithm::Aes256Gcm,
        Default::default(),
        Timestamp::from_millis(0),
        KeyVersion::FIRST,
        vec![version],
        HashMap::new(),
    )
    .expect("key");
    Fixture {
        hsm,
        key: Arc::new(key),
        master_key,
        runtime,
        _dir: dir,
    }
}

impl Fixture {
    /// Version 1's material unwrapped through the HSM actor and prepared, as a worker holds it.
    ///
    /// # Panics
    /// When the unwrap fails.
    pub fn cipher(&self) -> (PreparedKey, KeyMaterial) {
        let version = KeyVersion::FIRST;
        let wrapped = self
            .key
            .version(version)
            .and_then(|v| v.wrapped.as_ref())
            .expect("wrapped");
        let material = self
            .hsm
            .unwrap_key(&self.key.wrap_context(version), wrapped)
            .expect("unwrap");
        let cipher = PreparedKey::new(self.key.algorithm, false, &material).expect("cipher");
        (cipher, material)
    }
}
