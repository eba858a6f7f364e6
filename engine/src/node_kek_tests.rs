use super::*;

fn kek_in(dir: &tempfile::TempDir) -> (NodeKek, PathBuf) {
    let path = dir.path().join("node.kek");
    (NodeKek::load_or_create(&path).unwrap(), path)
}

#[test]
fn seal_round_trips_and_load_finds_the_same_key() {
    let dir = tempfile::tempdir().unwrap();
    let (kek, path) = kek_in(&dir);
    for plaintext in [&b""[..], b"x", &[0x5a; 5000]] {
        let sealed = kek.seal("zone-key", plaintext);
        assert_eq!(sealed[0], SEALED_FORMAT_V1);
        assert_eq!(sealed.len(), 1 + NONCE_LEN + plaintext.len() + TAG_LEN);
        assert_eq!(kek.open("zone-key", &sealed).unwrap().as_slice(), plaintext);
    }
    let sealed = kek.seal("zone-key", b"secret");
    assert_ne!(
        sealed,
        kek.seal("zone-key", b"secret"),
        "fresh nonce each time"
    );
    let reloaded = NodeKek::load_or_create(&path).unwrap();
    assert_eq!(
        reloaded.open("zone-key", &sealed).unwrap().as_slice(),
        b"secret"
    );
    assert_eq!(format!("{reloaded:?}"), "NodeKek([redacted])");
}

#[test]
fn wrong_purpose_other_kek_and_tampering_fail() {
    let dir = tempfile::tempdir().unwrap();
    let (kek, _) = kek_in(&dir);
    let (other, _) = {
        let path = dir.path().join("other.kek");
        (NodeKek::load_or_create(&path).unwrap(), path)
    };
    let sealed = kek.seal("zone-key", b"secret material");
    let failed = |r: Result<Zeroizing<Vec<u8>>, EngineError>| {
        matches!(r, Err(EngineError::NodeSealOpenFailed))
    };
    assert!(failed(kek.open("received-keys", &sealed)));
    assert!(failed(kek.open("zone-ke", &sealed)));
    assert!(failed(other.open("zone-key", &sealed)));
    for at in 0..sealed.len() {
        let mut altered = sealed.clone();
        altered[at] ^= 0x80;
        assert!(failed(kek.open("zone-key", &altered)), "byte {at}");
    }
    for len in 0..sealed.len() {
        assert!(failed(kek.open("zone-key", &sealed[..len])), "len {len}");
    }
}

#[cfg(unix)]
#[test]
fn the_kek_file_is_0600_and_loose_or_wrong_files_are_refused() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let (_, path) = kek_in(&dir);
    let meta = fs::metadata(&path).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert_eq!(meta.len(), NODE_KEK_LEN as u64);

    fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
    let err = NodeKek::load_or_create(&path).unwrap_err();
    assert!(matches!(err, NodeKekError::Refused { .. }), "{err}");
    assert!(err.to_string().contains("640"), "{err}");

    let short = dir.path().join("short.kek");
    fs::write(&short, [1u8; 31]).unwrap();
    fs::set_permissions(&short, fs::Permissions::from_mode(0o600)).unwrap();
    let err = NodeKek::load_or_create(&short).unwrap_err();
    assert!(err.to_string().contains("31 bytes"), "{err}");

    let missing_dir = dir.path().join("nope").join("node.kek");
    assert!(matches!(
        NodeKek::load_or_create(&missing_dir),
        Err(NodeKekError::Io { .. })
    ));
}

#[test]
fn sealed_files_are_written_atomically_and_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let (kek, _) = kek_in(&dir);
    let path = dir.path().join("zone.key.sealed");
    assert!(kek.read_sealed(&path, "zone-key").unwrap().is_none());

    kek.write_sealed(&path, "zone-key", b"first").unwrap();
    assert_eq!(
        kek.read_sealed(&path, "zone-key")
            .unwrap()
            .unwrap()
            .as_slice(),
        b"first"
    );
    // A stale temporary file from a crash is replaced, not appended to.
    let tmp = dir.path().join("zone.key.sealed.tmp");
    fs::write(&tmp, b"left over by a crash").unwrap();
    kek.write_sealed(&path, "zone-key", b"second").unwrap();
    assert_eq!(
        kek.read_sealed(&path, "zone-key")
            .unwrap()
            .unwrap()
            .as_slice(),
        b"second"
    );
    assert!(!tmp.exists(), "the temporary file is renamed away");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let names: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");

    let err = kek.read_sealed(&path, "other").unwrap_err();
    assert!(matches!(
        err,
        NodeKekError::Open {
            source: EngineError::NodeSealOpenFailed,
            ..
        }
    ));
}
