//! Fixtures shared by the benchmarks: a real software HSM (initialised, unsealed) and a key with
//! its first version generated and wrapped by it.
#![forbid(unsafe_code)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use kms_engine::aead::PreparedCipher;
use kms_engine::algorithm::Algorithm;
use kms_engine::clock::Timestamp;
use kms_engine::ids::{KeyId, KeyName, KeyVersion};
use kms_engine::keyring::{KeyEntry, VersionEntry};
use kms_engine::secret::{KeyMaterial, SecretString};
use kms_engine::version::VersionState;
use kms_engine::wrap::{KeyUnwrapper, WrapContext};
use kms_hsm::{HsmHandle, SoftwareHsm};

pub struct Fixture {
    pub hsm: HsmHandle,
    pub key: Arc<KeyEntry>,
    pub runtime: tokio::runtime::Runtime,
    _dir: tempfile::TempDir,
}

/// # Panics
/// When the software HSM cannot be set up in a temporary directory.
pub fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let backend = SoftwareHsm::open(&dir.path().join("sealed.json")).expect("hsm");
    let (hsm, _) =
        kms_hsm::spawn(Box::new(backend), 1024, Duration::from_secs(5)).expect("hsm actor");
    let id = KeyId::random();
    let wrapped = runtime.block_on(async {
        let out = hsm.initialize(1, 1).await.expect("init");
        let share = SecretString::new(out.shares[0].expose().to_owned());
        hsm.submit_share(share).await.expect("unseal");
        hsm.generate_wrapped(WrapContext {
            key: id,
            version: KeyVersion::FIRST,
            algorithm: Algorithm::Aes256Gcm,
        })
        .await
        .expect("generate")
    });
    let version = VersionEntry {
        version: KeyVersion::FIRST,
        state: VersionState::Active,
        wrapped: Some(wrapped),
        created_at: Timestamp::from_millis(0),
        updated_at: Timestamp::from_millis(0),
    };
    let key = KeyEntry::new(
        id,
        KeyName::new("bench").expect("name"),
        Algorithm::Aes256Gcm,
        Timestamp::from_millis(0),
        KeyVersion::FIRST,
        vec![version],
        HashMap::new(),
    )
    .expect("key");
    Fixture {
        hsm,
        key: Arc::new(key),
        runtime,
        _dir: dir,
    }
}

impl Fixture {
    /// Version 1's material unwrapped through the HSM actor and prepared, as a worker holds it.
    ///
    /// # Panics
    /// When the unwrap fails.
    pub fn cipher(&self) -> (PreparedCipher, KeyMaterial) {
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
        let cipher = PreparedCipher::new(self.key.algorithm, &material).expect("cipher");
        (cipher, material)
    }
}
