//! The software HSM's rekey: a quorum of current shares re-splits the unseal key; the master
//! keys (and so every wrapped working key) stay; the old shares stop unsealing. PKCS#11 HSMs
//! have no shares and refuse it.
#![allow(clippy::unwrap_used)]

use kms_engine::algorithm::Algorithm;
use kms_engine::ids::{KeyId, KeyVersion};
use kms_engine::secret::SecretString;
use kms_engine::wrap::WrapContext;
use kms_hsm::{HsmBackend, HsmError, MasterKeySource, Sealing, SoftwareHsm};

fn context() -> WrapContext {
    WrapContext {
        key: KeyId::from_bytes([3; 16]),
        version: KeyVersion::new(1).unwrap(),
        algorithm: Algorithm::Aes256Gcm,
    }
}

fn copy(s: &SecretString) -> SecretString {
    SecretString::new(s.expose().to_owned())
}

/// Opens the file again (a restart) and submits `shares`; true when it unseals.
fn unseals(path: &std::path::Path, shares: &[SecretString]) -> bool {
    let mut hsm = SoftwareHsm::open(path).unwrap();
    let mut sealed = true;
    for s in shares {
        match hsm.submit_share(s.expose()) {
            Ok(status) => sealed = status.sealed,
            Err(_) => return false,
        }
    }
    !sealed
}

#[test]
fn a_quorum_rekeys_and_the_old_shares_stop_working() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sealed.json");
    let mut hsm = SoftwareHsm::open(&path).unwrap();
    let created = hsm
        .create_master_key(
            MasterKeySource::Generate,
            Some(Sealing {
                shares: 3,
                threshold: 2,
            }),
        )
        .unwrap();
    let old = created.shares;
    let wrapped = hsm.generate_wrapped(&context(), &created.id).unwrap();
    let before = hsm.unwrap(&context(), &wrapped).unwrap();

    // One share is not a quorum; a share twice is not two; a forged share does not combine.
    assert!(matches!(
        hsm.rekey(
            &[copy(&old[0])],
            Sealing {
                shares: 2,
                threshold: 2
            }
        ),
        Err(HsmError::WrongShares)
    ));
    assert!(matches!(
        hsm.rekey(
            &[copy(&old[0]), copy(&old[0])],
            Sealing {
                shares: 2,
                threshold: 2
            }
        ),
        Err(HsmError::InvalidShare(_))
    ));
    let other = kms_hsm::soft::shamir::split(&[1; 32], 3, 2).unwrap();
    assert!(matches!(
        hsm.check_shares(&[copy(&old[0]), copy(&other[1])]),
        Err(HsmError::WrongShares)
    ));
    hsm.check_shares(&[copy(&old[0]), copy(&old[2])]).unwrap();

    let new = hsm
        .rekey(
            &[copy(&old[1]), copy(&old[2])],
            Sealing {
                shares: 4,
                threshold: 3,
            },
        )
        .unwrap();
    assert_eq!(new.len(), 4);
    let status = hsm.seal_status();
    assert_eq!((status.shares, status.threshold), (4, 3));

    // After a restart: the old shares no longer unseal, three new ones do, and the master key
    // is the same (the working key wrapped before still unwraps to the same bytes).
    assert!(!unseals(&path, &[copy(&old[0]), copy(&old[1])]));
    assert!(!unseals(&path, &[copy(&new[0]), copy(&new[1])]));
    let mut again = SoftwareHsm::open(&path).unwrap();
    for s in &new[1..] {
        again.submit_share(s.expose()).unwrap();
    }
    assert!(!again.seal_status().sealed);
    assert_eq!(
        again.unwrap(&context(), &wrapped).unwrap().expose(),
        before.expose()
    );
}
