//! One conformance suite for every HSM backend: the software HSM and SoftHSM2 over PKCS#11 run the
//! same functions. PKCS#11-only behaviour (non-extractable keys, redundant tokens, start-up
//! errors) follows.
// Over 600 lines: one suite that every backend runs, then the PKCS#11-only cases that need the
// same SoftHSM2 fixtures; splitting it would split those fixtures.
// Test helpers panic on failure by design.
#![allow(clippy::unwrap_used)]

use kms_engine::algorithm::Algorithm;
use kms_engine::ids::{KeyId, KeyVersion, MasterKeyId};
use kms_engine::master_key::MasterKeyOrigin;
use kms_engine::secret::{KeyMaterial, SecretString};
use kms_engine::wrap::{WrapContext, WrappedKey};
use kms_hsm::components;
use kms_hsm::{HsmBackend, HsmError, MasterKeySource, Sealing};

fn context(version: u32) -> WrapContext {
    WrapContext {
        key: KeyId::from_bytes([7; 16]),
        version: KeyVersion::new(version).unwrap(),
        algorithm: Algorithm::Aes256Gcm,
    }
}

fn random_component() -> (String, KeyMaterial) {
    let m = KeyMaterial::random(32);
    let hex: String = m.expose().iter().map(|b| format!("{b:02x}")).collect();
    (hex, m)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The conformance functions. `sealing` is what the backend's first key needs (software: shares).
mod conformance {
    use super::*;

    pub fn generated_master_key_wraps_and_binds(
        hsm: &mut dyn HsmBackend,
        sealing: Option<Sealing>,
    ) {
        let mk = hsm
            .create_master_key(MasterKeySource::Generate, sealing)
            .unwrap();
        assert_eq!(mk.origin, MasterKeyOrigin::Generated);
        assert!(mk.id.as_str().starts_with("mk-"));
        assert_eq!(mk.kcv.as_str().len(), 6);

        let ctx = context(1);
        let wrapped = hsm.generate_wrapped(&ctx, &mk.id).unwrap();
        assert_eq!(wrapped.master_key, mk.id);
        let material = hsm.unwrap(&ctx, &wrapped).unwrap();
        assert_eq!(material.len(), 32);
        assert!(!contains(&wrapped.blob, material.expose()));
        // Two generated keys differ.
        let other = hsm.generate_wrapped(&ctx, &mk.id).unwrap();
        assert_ne!(
            hsm.unwrap(&ctx, &other).unwrap().expose(),
            material.expose()
        );

        let mine = KeyMaterial::random(32);
        let w2 = hsm.wrap(&ctx, &mine, &mk.id).unwrap();
        assert_eq!(hsm.unwrap(&ctx, &w2).unwrap().expose(), mine.expose());

        // Bound to key id, version and algorithm.
        assert!(matches!(
            hsm.unwrap(&context(2), &wrapped),
            Err(HsmError::UnwrapFailed)
        ));
        let mut other_key = ctx;
        other_key.key = KeyId::from_bytes([8; 16]);
        assert!(matches!(
            hsm.unwrap(&other_key, &wrapped),
            Err(HsmError::UnwrapFailed)
        ));
        // Tampered anywhere, or truncated: an authentication failure, never an internal error.
        for i in [0, 12, wrapped.blob.len() - 1] {
            let mut t = wrapped.clone();
            t.blob[i] ^= 0x40;
            assert!(
                matches!(hsm.unwrap(&ctx, &t), Err(HsmError::UnwrapFailed)),
                "byte {i}"
            );
        }
        let mut short = wrapped.clone();
        short.blob.truncate(20);
        assert!(matches!(
            hsm.unwrap(&ctx, &short),
            Err(HsmError::UnwrapFailed)
        ));
        let foreign = WrappedKey {
            master_key: MasterKeyId::new("mk-0000000000000000").unwrap(),
            blob: wrapped.blob.clone(),
        };
        assert!(matches!(
            hsm.unwrap(&ctx, &foreign),
            Err(HsmError::UnknownMasterKey(_))
        ));

        let status = hsm.status();
        assert!(status.tokens[0].healthy);
        assert!(
            status.tokens[0]
                .master_keys
                .iter()
                .any(|k| k.id == mk.id.as_str() && k.kcv == mk.kcv.as_str())
        );
    }

    pub fn components_form_the_key_their_kcv_names(
        hsm: &mut dyn HsmBackend,
        sealing: Option<Sealing>,
    ) {
        let parts: Vec<(String, KeyMaterial)> = (0..3).map(|_| random_component()).collect();
        let parse = |p: &[(String, KeyMaterial)]| {
            p.iter()
                .map(|(hex, _)| components::parse(hex).unwrap())
                .collect::<Vec<_>>()
        };
        // The expected key, computed here independently: the XOR of the components.
        let mut xor = [0u8; 32];
        for (_, m) in &parts {
            for (x, b) in xor.iter_mut().zip(m.expose()) {
                *x ^= b;
            }
        }
        let expected = components::kcv(&KeyMaterial::from_slice(&xor)).unwrap();

        let mk = hsm
            .create_master_key(MasterKeySource::Components(parse(&parts)), sealing)
            .unwrap();
        assert_eq!(mk.origin, MasterKeyOrigin::Components);
        assert_eq!(mk.kcv, expected, "the backend's KCV is the XOR's");
        let ctx = context(3);
        let w = hsm.generate_wrapped(&ctx, &mk.id).unwrap();
        assert_eq!(hsm.unwrap(&ctx, &w).unwrap().len(), 32);

        // The same components again: accepted. Others: refused with both KCVs named.
        hsm.load_master_key(&mk.id, &mk.kcv, parse(&parts)).unwrap();
        let mut wrong = parse(&parts);
        wrong[1] = components::parse(&random_component().0).unwrap();
        assert!(matches!(
            hsm.load_master_key(&mk.id, &mk.kcv, wrong),
            Err(HsmError::KcvMismatch { .. })
        ));
        let twice = vec![
            components::parse(&parts[0].0).unwrap(),
            components::parse(&parts[0].0).unwrap(),
        ];
        assert!(matches!(
            hsm.create_master_key(MasterKeySource::Components(twice), None),
            Err(HsmError::InvalidComponent(_))
        ));
    }

    pub fn rotation_rewraps_then_the_old_key_is_destroyed(
        hsm: &mut dyn HsmBackend,
        sealing: Option<Sealing>,
    ) {
        let old = hsm
            .create_master_key(MasterKeySource::Generate, sealing)
            .unwrap();
        let ctx = context(4);
        let material = KeyMaterial::random(32);
        let w1 = hsm.wrap(&ctx, &material, &old.id).unwrap();
        let new = hsm
            .create_master_key(MasterKeySource::Generate, None)
            .unwrap();
        assert_ne!(new.id, old.id);
        let w2 = hsm.rewrap(&ctx, &w1, &new.id).unwrap();
        assert_eq!(w2.master_key, new.id);
        assert_eq!(hsm.unwrap(&ctx, &w2).unwrap().expose(), material.expose());
        hsm.destroy_master_key(&old.id).unwrap();
        assert!(matches!(
            hsm.unwrap(&ctx, &w1),
            Err(HsmError::UnknownMasterKey(_))
        ));
        // Destroying what is gone already is fine (a resumed job may do it twice).
        hsm.destroy_master_key(&old.id).unwrap();
        assert_eq!(hsm.unwrap(&ctx, &w2).unwrap().expose(), material.expose());
        let listed: Vec<String> = hsm.status().tokens[0]
            .master_keys
            .iter()
            .map(|k| k.id.clone())
            .collect();
        assert!(listed.contains(&new.id.to_string()));
        assert!(!listed.contains(&old.id.to_string()));
    }
}

mod software {
    use super::*;
    use kms_hsm::SoftwareHsm;

    const SEALING: Option<Sealing> = Some(Sealing {
        shares: 3,
        threshold: 2,
    });

    fn open() -> (tempfile::TempDir, SoftwareHsm) {
        let dir = tempfile::tempdir().unwrap();
        let hsm = SoftwareHsm::open(&dir.path().join("sealed.json")).unwrap();
        (dir, hsm)
    }

    #[test]
    fn generated_master_key_wraps_and_binds() {
        let (_d, mut hsm) = open();
        conformance::generated_master_key_wraps_and_binds(&mut hsm, SEALING);
    }

    #[test]
    fn components_form_the_key_their_kcv_names() {
        let (_d, mut hsm) = open();
        conformance::components_form_the_key_their_kcv_names(&mut hsm, SEALING);
    }

    #[test]
    fn rotation_rewraps_then_the_old_key_is_destroyed() {
        let (_d, mut hsm) = open();
        conformance::rotation_rewraps_then_the_old_key_is_destroyed(&mut hsm, SEALING);
    }

    #[test]
    fn master_keys_survive_a_restart_behind_the_shares() {
        let (dir, mut hsm) = open();
        let path = dir.path().join("sealed.json");
        let mk = hsm
            .create_master_key(MasterKeySource::Generate, SEALING)
            .unwrap();
        let shares: Vec<String> = mk.shares.iter().map(|s| s.expose().to_owned()).collect();
        assert_eq!(shares.len(), 3);
        let ctx = context(1);
        let w = hsm.generate_wrapped(&ctx, &mk.id).unwrap();
        let material = hsm.unwrap(&ctx, &w).unwrap();
        // A second key, added while unsealed, needs no new shares.
        let mk2 = hsm
            .create_master_key(MasterKeySource::Generate, None)
            .unwrap();
        let w2 = hsm.generate_wrapped(&ctx, &mk2.id).unwrap();
        drop(hsm);

        let mut again = SoftwareHsm::open(&path).unwrap();
        assert!(again.seal_status().sealed);
        assert!(matches!(again.unwrap(&ctx, &w), Err(HsmError::Sealed)));
        assert!(matches!(
            again.create_master_key(MasterKeySource::Generate, SEALING),
            Err(HsmError::AlreadyInitialized)
        ));
        assert_eq!(again.submit_share(&shares[2]).unwrap().progress, 1);
        assert!(matches!(
            again.submit_share(&shares[2]),
            Err(HsmError::InvalidShare(_))
        ));
        assert!(!again.submit_share(&shares[0]).unwrap().sealed);
        assert_eq!(again.unwrap(&ctx, &w).unwrap().expose(), material.expose());
        assert_eq!(again.unwrap(&ctx, &w2).unwrap().len(), 32);
    }

    #[test]
    fn shares_of_another_hsm_do_not_unseal_and_progress_starts_over() {
        let (dir, mut hsm) = open();
        let mine: Vec<String> = hsm
            .create_master_key(MasterKeySource::Generate, SEALING)
            .unwrap()
            .shares
            .iter()
            .map(|s| s.expose().to_owned())
            .collect();
        let (_d2, mut other) = open();
        let foreign: Vec<String> = other
            .create_master_key(MasterKeySource::Generate, SEALING)
            .unwrap()
            .shares
            .iter()
            .map(|s| s.expose().to_owned())
            .collect();
        drop(hsm);
        let mut hsm = SoftwareHsm::open(&dir.path().join("sealed.json")).unwrap();
        hsm.submit_share(&foreign[0]).unwrap();
        assert!(matches!(
            hsm.submit_share(&foreign[1]),
            Err(HsmError::WrongShares)
        ));
        assert_eq!(hsm.seal_status().progress, 0);
        hsm.submit_share(&mine[1]).unwrap();
        assert!(!hsm.submit_share(&mine[2]).unwrap().sealed);
    }

    #[test]
    fn the_sealed_file_holds_no_key_in_clear() {
        let (dir, mut hsm) = open();
        let parts: Vec<(String, KeyMaterial)> = (0..2).map(|_| random_component()).collect();
        let mut xor = [0u8; 32];
        for (_, m) in &parts {
            for (x, b) in xor.iter_mut().zip(m.expose()) {
                *x ^= b;
            }
        }
        let mk = hsm
            .create_master_key(
                MasterKeySource::Components(
                    parts
                        .iter()
                        .map(|(h, _)| components::parse(h).unwrap())
                        .collect(),
                ),
                Some(Sealing {
                    shares: 1,
                    threshold: 1,
                }),
            )
            .unwrap();
        let file = std::fs::read(dir.path().join("sealed.json")).unwrap();
        assert!(!contains(&file, &xor), "master key in clear");
        for (hex, m) in &parts {
            assert!(!contains(&file, m.expose()));
            assert!(!contains(&file, hex.as_bytes()));
        }
        let share = kms_hsm::soft::shamir::decode(mk.shares[0].expose()).unwrap();
        assert!(!contains(&file, &share[1..]), "unseal key in clear");
        assert!(!contains(&file, mk.shares[0].expose().as_bytes()));
    }
}

mod softhsm {
    use super::*;
    use kms_hsm::{Pkcs11Config, Pkcs11Hsm, TokenConfig};
    use kms_testkit::softhsm::{MODULE, PIN, SoftHsm, in_own_process};

    fn open(labels: &[&str]) -> Result<Pkcs11Hsm, HsmError> {
        open_with(MODULE, labels, PIN)
    }

    fn open_with(module: &str, labels: &[&str], pin: &str) -> Result<Pkcs11Hsm, HsmError> {
        Pkcs11Hsm::open(&Pkcs11Config {
            module: module.into(),
            tokens: labels
                .iter()
                .map(|l| TokenConfig {
                    label: (*l).to_owned(),
                    pin: SecretString::new(pin.to_owned()),
                })
                .collect(),
        })
    }

    #[test]
    fn generated_master_key_wraps_and_binds() {
        in_own_process(
            &kms_testkit::test_name!("generated_master_key_wraps_and_binds"),
            &["kms-a"],
            |_| {
                conformance::generated_master_key_wraps_and_binds(
                    &mut open(&["kms-a"]).unwrap(),
                    None,
                );
            },
        );
    }

    #[test]
    fn components_form_the_key_their_kcv_names() {
        in_own_process(
            &kms_testkit::test_name!("components_form_the_key_their_kcv_names"),
            &["kms-a", "kms-b"],
            |_| {
                conformance::components_form_the_key_their_kcv_names(
                    &mut open(&["kms-a", "kms-b"]).unwrap(),
                    None,
                );
            },
        );
    }

    #[test]
    fn rotation_rewraps_then_the_old_key_is_destroyed() {
        in_own_process(
            &kms_testkit::test_name!("rotation_rewraps_then_the_old_key_is_destroyed"),
            &["kms-a"],
            |_| {
                conformance::rotation_rewraps_then_the_old_key_is_destroyed(
                    &mut open(&["kms-a"]).unwrap(),
                    None,
                );
            },
        );
    }

    #[test]
    fn master_keys_survive_a_restart() {
        in_own_process(
            &kms_testkit::test_name!("master_keys_survive_a_restart"),
            &["kms-a"],
            |_| {
                let ctx = context(1);
                let (mk, w, material) = {
                    let mut hsm = open(&["kms-a"]).unwrap();
                    let mk = hsm
                        .create_master_key(MasterKeySource::Generate, None)
                        .unwrap();
                    let w = hsm.generate_wrapped(&ctx, &mk.id).unwrap();
                    let m = hsm.unwrap(&ctx, &w).unwrap().expose().to_vec();
                    (mk, w, m)
                };
                // A new backend instance (new session and login) finds the token object again.
                let mut hsm = open(&["kms-a"]).unwrap();
                assert_eq!(hsm.unwrap(&ctx, &w).unwrap().expose(), &material[..]);
                assert!(
                    hsm.status().tokens[0]
                        .master_keys
                        .iter()
                        .any(|k| k.id == mk.id.as_str())
                );
            },
        );
    }

    /// The master key is created inside the token and cannot be read out: CKA_VALUE is
    /// sensitive, CKA_EXTRACTABLE false, CKA_NEVER_EXTRACTABLE true, as cryptoki and pkcs11-tool
    /// (opensc) both report.
    #[test]
    fn the_master_key_cannot_leave_the_token() {
        in_own_process(
            &kms_testkit::test_name!("the_master_key_cannot_leave_the_token"),
            &["kms-a"],
            |_| {
                use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
                use cryptoki::object::{Attribute, AttributeInfo, AttributeType, ObjectClass};
                use cryptoki::session::UserType;
                use cryptoki::types::AuthPin;

                let mut hsm = open(&["kms-a"]).unwrap();
                let mk = hsm
                    .create_master_key(MasterKeySource::Generate, None)
                    .unwrap();

                // Our own look, through a second session on the same (already initialised) module.
                let p11 = Pkcs11::new(MODULE).unwrap();
                let _ = p11.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK));
                let slot = p11
                    .get_slots_with_initialized_token()
                    .unwrap()
                    .into_iter()
                    .find(|s| p11.get_token_info(*s).unwrap().label().trim_end() == "kms-a")
                    .unwrap();
                let session = p11.open_ro_session(slot).unwrap();
                let _ = session.login(UserType::User, Some(&AuthPin::new(PIN.into())));
                let handle = session
                    .find_objects(&[
                        Attribute::Class(ObjectClass::SECRET_KEY),
                        Attribute::Label(mk.id.as_str().as_bytes().to_vec()),
                    ])
                    .unwrap()[0];
                let info = session
                    .get_attribute_info(handle, &[AttributeType::Value])
                    .unwrap();
                assert!(
                    matches!(info.as_slice(), [AttributeInfo::Sensitive]),
                    "CKA_VALUE must not be readable: {info:?}"
                );
                let attrs = session
                    .get_attributes(
                        handle,
                        &[
                            AttributeType::Extractable,
                            AttributeType::NeverExtractable,
                            AttributeType::Sensitive,
                            AttributeType::Value,
                        ],
                    )
                    .unwrap();
                assert!(attrs.contains(&Attribute::Extractable(false)), "{attrs:?}");
                assert!(
                    attrs.contains(&Attribute::NeverExtractable(true)),
                    "{attrs:?}"
                );
                assert!(attrs.contains(&Attribute::Sensitive(true)), "{attrs:?}");
                assert!(
                    !attrs.iter().any(|a| matches!(a, Attribute::Value(_))),
                    "{attrs:?}"
                );

                // And opensc's view of the same object.
                let out = std::process::Command::new("pkcs11-tool")
                    .args([
                        "--module",
                        MODULE,
                        "--token-label",
                        "kms-a",
                        "--login",
                        "--pin",
                        PIN,
                    ])
                    .args(["--list-objects", "--type", "secrkey"])
                    .output()
                    .expect("pkcs11-tool runs (apt-get install opensc)");
                let listing = String::from_utf8_lossy(&out.stdout);
                assert!(
                    out.status.success(),
                    "{listing}{}",
                    String::from_utf8_lossy(&out.stderr)
                );
                let block = listing
                    .split("Secret Key Object")
                    .find(|b| b.contains(mk.id.as_str()))
                    .unwrap_or_else(|| panic!("{} not listed:\n{listing}", mk.id));
                let access = block
                    .lines()
                    .find(|l| l.trim_start().starts_with("Access:"))
                    .unwrap();
                let flags: Vec<&str> = access
                    .trim_start()
                    .trim_start_matches("Access:")
                    .split(',')
                    .map(str::trim)
                    .collect();
                assert!(flags.contains(&"never extractable"), "{access}");
                assert!(flags.contains(&"sensitive"), "{access}");
                assert!(!flags.contains(&"extractable"), "{access}");
            },
        );
    }

    /// A master key formed from components lives in both tokens; when the primary disappears the
    /// standby serves, and the primary comes back on its own when it returns.
    #[test]
    fn the_standby_token_serves_when_the_primary_fails() {
        in_own_process(
            &kms_testkit::test_name!("the_standby_token_serves_when_the_primary_fails"),
            &["kms-a", "kms-b"],
            |softhsm: &SoftHsm| {
                let mut hsm = open(&["kms-a", "kms-b"]).unwrap();
                let parts = (0..3)
                    .map(|_| components::parse(&random_component().0).unwrap())
                    .collect();
                let mk = hsm
                    .create_master_key(MasterKeySource::Components(parts), None)
                    .unwrap();
                assert_eq!(mk.tokens, vec!["kms-a".to_owned(), "kms-b".to_owned()]);
                let status = hsm.status();
                for t in &status.tokens {
                    assert!(t.healthy, "{t:?}");
                    assert!(
                        t.master_keys
                            .iter()
                            .any(|k| k.id == mk.id.as_str() && k.kcv == mk.kcv.as_str())
                    );
                }
                let ctx = context(1);
                let w = hsm.generate_wrapped(&ctx, &mk.id).unwrap();
                let material = hsm.unwrap(&ctx, &w).unwrap().expose().to_vec();

                softhsm.pull("kms-a");
                assert_eq!(hsm.unwrap(&ctx, &w).unwrap().expose(), &material[..]);
                let w2 = hsm.generate_wrapped(&ctx, &mk.id).unwrap();
                assert_eq!(hsm.unwrap(&ctx, &w2).unwrap().len(), 32);
                let status = hsm.status();
                assert!(!status.tokens[0].healthy, "{:?}", status.tokens[0]);
                assert!(status.tokens[1].healthy);

                // With both gone, the caller hears that the HSM is unavailable, not a key error.
                softhsm.pull("kms-b");
                assert!(matches!(
                    hsm.unwrap(&ctx, &w),
                    Err(HsmError::Unavailable(_))
                ));
                assert!(matches!(
                    hsm.generate_wrapped(&ctx, &mk.id),
                    Err(HsmError::Unavailable(_))
                ));
                // SoftHSM never revalidates a token whose directory vanished while the process
                // ran (its OSToken stays invalid until the next C_Initialize), so the return of
                // a pulled token is only seen after a restart: a new process finds both.
                softhsm.restore("kms-a");
                softhsm.restore("kms-b");
            },
        );
    }

    /// A session that loses its login (another session of the process logged out, as an
    /// administrator's tool might) is rebuilt on the next call: new session, login, handles.
    #[test]
    fn a_lost_session_is_rebuilt_on_the_next_call() {
        in_own_process(
            &kms_testkit::test_name!("a_lost_session_is_rebuilt_on_the_next_call"),
            &["kms-a"],
            |_| {
                use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
                use cryptoki::session::UserType;
                use cryptoki::types::AuthPin;

                let mut hsm = open(&["kms-a"]).unwrap();
                let mk = hsm
                    .create_master_key(MasterKeySource::Generate, None)
                    .unwrap();
                let ctx = context(1);
                let w = hsm.generate_wrapped(&ctx, &mk.id).unwrap();
                let material = hsm.unwrap(&ctx, &w).unwrap().expose().to_vec();

                let p11 = Pkcs11::new(MODULE).unwrap();
                let _ = p11.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK));
                let slot = p11
                    .get_slots_with_token()
                    .unwrap()
                    .into_iter()
                    .find(|s| p11.get_token_info(*s).unwrap().label().trim_end() == "kms-a")
                    .unwrap();
                let other = p11.open_rw_session(slot).unwrap();
                // Login state is per application: this logs every session of the process out.
                let _ = other.login(UserType::User, Some(&AuthPin::new(PIN.into())));
                other.logout().unwrap();

                assert_eq!(hsm.unwrap(&ctx, &w).unwrap().expose(), &material[..]);
                assert!(hsm.generate_wrapped(&ctx, &mk.id).is_ok());
                assert!(hsm.status().tokens[0].healthy);
            },
        );
    }

    #[test]
    fn a_restarted_process_sees_both_tokens_again() {
        in_own_process(
            &kms_testkit::test_name!("a_restarted_process_sees_both_tokens_again"),
            &["kms-a", "kms-b"],
            |softhsm: &SoftHsm| {
                // A previous run pulled and restored the primary; this process starts clean.
                softhsm.pull("kms-a");
                softhsm.restore("kms-a");
                let mut hsm = open(&["kms-a", "kms-b"]).unwrap();
                assert!(hsm.status().tokens.iter().all(|t| t.healthy));
            },
        );
    }

    /// A token replaced after the key was formed gets it from the same components.
    #[test]
    fn the_same_components_load_the_key_into_a_new_token() {
        in_own_process(
            &kms_testkit::test_name!("the_same_components_load_the_key_into_a_new_token"),
            &["kms-a", "kms-b"],
            |_| {
                let hexes: Vec<String> = (0..2).map(|_| random_component().0).collect();
                let parts = || {
                    hexes
                        .iter()
                        .map(|h| components::parse(h).unwrap())
                        .collect::<Vec<_>>()
                };
                let (mk, w) = {
                    let mut only_a = open(&["kms-a"]).unwrap();
                    let mk = only_a
                        .create_master_key(MasterKeySource::Components(parts()), None)
                        .unwrap();
                    let w = only_a.generate_wrapped(&context(1), &mk.id).unwrap();
                    (mk, w)
                };
                let mut only_b = open(&["kms-b"]).unwrap();
                assert!(matches!(
                    only_b.unwrap(&context(1), &w),
                    Err(HsmError::UnknownMasterKey(_))
                ));
                let mut both = open(&["kms-a", "kms-b"]).unwrap();
                assert_eq!(
                    both.load_master_key(&mk.id, &mk.kcv, parts()).unwrap(),
                    vec!["kms-b".to_owned()]
                );
                assert!(
                    both.load_master_key(&mk.id, &mk.kcv, parts())
                        .unwrap()
                        .is_empty()
                );
                drop(both);
                assert_eq!(only_b.unwrap(&context(1), &w).unwrap().len(), 32);
            },
        );
    }

    #[test]
    fn start_up_problems_say_which() {
        in_own_process(
            &kms_testkit::test_name!("start_up_problems_say_which"),
            &["kms-a"],
            |_| {
                let err = |r: Result<Pkcs11Hsm, HsmError>| match r {
                    Err(HsmError::Config(m)) => m,
                    Err(e) => panic!("not a configuration error: {e}"),
                    Ok(_) => panic!("opened"),
                };
                let m = err(open_with("/nonexistent/libpkcs11.so", &["kms-a"], PIN));
                assert!(
                    m.contains("/nonexistent/libpkcs11.so") && m.contains("does not exist"),
                    "{m}"
                );
                let m = err(open(&["kms-missing"]));
                assert!(
                    m.contains("no initialised token labelled `kms-missing`")
                        && m.contains("kms-a"),
                    "{m}"
                );
                let m = err(open_with(MODULE, &["kms-a"], "wrong-pin"));
                assert!(m.contains("kms-a") && m.contains("PIN"), "{m}");
                assert!(open(&["kms-a"]).is_ok());
            },
        );
    }
}
