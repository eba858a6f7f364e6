//! The audit counter kept by each HSM backend: it only moves forward, it
//! survives a restart, and it is out of the database's reach: sealed under the KEK in the
//! software HSM's file, a private data object on every PKCS#11 token.
// Test helpers panic on failure by design.
#![allow(clippy::unwrap_used)]

use kms_engine::audit::AuditAnchor;
use kms_hsm::{HsmBackend, HsmError, MasterKeySource, Sealing};

fn anchor(seals: u64, seq: u64, mac: u8) -> AuditAnchor {
    AuditAnchor {
        seals,
        seq,
        mac: [mac; 32],
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Both backends: `None` at first, then each advance is read back; back or sideways is refused
/// and changes nothing.
fn only_moves_forward(hsm: &mut dyn HsmBackend) {
    assert_eq!(hsm.audit_anchor().unwrap(), None);
    hsm.advance_audit_anchor(&anchor(1, 10, 0xa1)).unwrap();
    assert_eq!(hsm.audit_anchor().unwrap(), Some(anchor(1, 10, 0xa1)));
    hsm.advance_audit_anchor(&anchor(2, 25, 0xa2)).unwrap();
    for bad in [
        anchor(2, 30, 0xb1),
        anchor(1, 30, 0xb2),
        anchor(3, 24, 0xb3),
    ] {
        assert!(
            matches!(
                hsm.advance_audit_anchor(&bad),
                Err(HsmError::AuditCounterBackwards { seals: 2, seq: 25 })
            ),
            "{bad:?}"
        );
    }
    assert_eq!(hsm.audit_anchor().unwrap(), Some(anchor(2, 25, 0xa2)));
}

mod software {
    use super::*;
    use kms_hsm::SoftwareHsm;

    #[test]
    fn the_counter_is_sealed_in_the_keyring_file_and_survives_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sealed.json");
        let mut hsm = SoftwareHsm::open(&path).unwrap();
        let sealing = Sealing {
            shares: 2,
            threshold: 2,
        };
        let shares: Vec<String> = hsm
            .create_master_key(MasterKeySource::Generate, Some(sealing))
            .unwrap()
            .shares
            .iter()
            .map(|s| s.expose().to_owned())
            .collect();
        only_moves_forward(&mut hsm);
        drop(hsm);

        // Not readable in the file: no MAC in clear, hex or base64.
        let file = std::fs::read(&path).unwrap();
        let mac = [0xa2u8; 32];
        assert!(!contains(&file, &mac));
        assert!(!contains(&file, hex::encode(mac).as_bytes()));
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD.encode(&mac[..30]);
        assert!(!contains(&file, b64.as_bytes()));

        let mut again = SoftwareHsm::open(&path).unwrap();
        assert!(matches!(again.audit_anchor(), Err(HsmError::Sealed)));
        for s in &shares {
            again.submit_share(s).unwrap();
        }
        assert_eq!(again.audit_anchor().unwrap(), Some(anchor(2, 25, 0xa2)));
    }
}

mod softhsm {
    use super::*;
    use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
    use cryptoki::object::{Attribute, AttributeType, ObjectClass};
    use cryptoki::session::UserType;
    use cryptoki::types::AuthPin;
    use kms_engine::secret::SecretString;
    use kms_hsm::{Pkcs11Config, Pkcs11Hsm, TokenConfig};
    use kms_testkit::softhsm::{MODULE, PIN, in_own_process};

    fn open(labels: &[&str]) -> Pkcs11Hsm {
        Pkcs11Hsm::open(&Pkcs11Config {
            module: MODULE.into(),
            tokens: labels
                .iter()
                .map(|l| TokenConfig {
                    label: (*l).to_owned(),
                    pin: SecretString::new(PIN.to_owned()),
                })
                .collect(),
        })
        .unwrap()
    }

    #[test]
    fn the_counter_is_a_private_data_object_on_every_token() {
        in_own_process(
            &kms_testkit::test_name!("the_counter_is_a_private_data_object_on_every_token"),
            &["kms-a", "kms-b"],
            |_| {
                only_moves_forward(&mut open(&["kms-a", "kms-b"]));
                // A new instance (new sessions, new logins) reads it back from either token.
                assert_eq!(
                    open(&["kms-b"]).audit_anchor().unwrap(),
                    Some(anchor(2, 25, 0xa2))
                );
                let mut both = open(&["kms-a", "kms-b"]);
                both.advance_audit_anchor(&anchor(3, 40, 0xa3)).unwrap();
                drop(both);
                assert_eq!(
                    open(&["kms-a"]).audit_anchor().unwrap(),
                    Some(anchor(3, 40, 0xa3))
                );

                // Our own look at the tokens: one CKO_DATA object each, private (invisible
                // without the PIN), holding the counter.
                let ctx = Pkcs11::new(MODULE).unwrap();
                let _ = ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK));
                let template = [
                    Attribute::Class(ObjectClass::DATA),
                    Attribute::Label(b"kms-audit-anchor".to_vec()),
                ];
                let mut seen = 0;
                for slot in ctx.get_slots_with_initialized_token().unwrap() {
                    let session = ctx.open_ro_session(slot).unwrap();
                    assert!(session.find_objects(&template).unwrap().is_empty());
                    session
                        .login(UserType::User, Some(&AuthPin::new(PIN.into())))
                        .unwrap();
                    let found = session.find_objects(&template).unwrap();
                    assert_eq!(found.len(), 1);
                    let attrs = session
                        .get_attributes(found[0], &[AttributeType::Value, AttributeType::Private])
                        .unwrap();
                    assert!(attrs.contains(&Attribute::Private(true)));
                    assert!(
                        attrs.contains(&Attribute::Value(anchor(3, 40, 0xa3).to_bytes().to_vec()))
                    );
                    seen += 1;
                }
                assert_eq!(seen, 2);
            },
        );
    }
}
