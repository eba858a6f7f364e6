//! `kms backup` and `kms restore` (docs/backup.md): a backup restored into an empty data
//! directory serves every key; a damaged archive or another HSM restores nothing; the archive
//! holds neither key material nor the database in the clear.

use std::path::{Path, PathBuf};

use kms_engine::ids::KeyVersion;
use serde_json::json;

use kms_testkit::softhsm::{MODULE, PIN, SoftHsm};

use crate::process::{Server, ceremony, field, kms, kms_offline, write_config};
use crate::support::*;

const STORE_FILES: [&str; 3] = ["kms.db", "kms.db-wal", "kms.db-shm"];

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn wipe_store(dir: &Path) {
    for name in STORE_FILES {
        let _ = std::fs::remove_file(dir.join(name));
    }
    assert!(!dir.join("kms.db").exists());
}

/// `kms restore` (offline: no --addr); returns (success, stderr).
fn restore(archive: &Path, data_dir: &Path) -> (bool, String) {
    restore_with(archive, data_dir, &[], &[])
}

fn restore_with(
    archive: &Path,
    data_dir: &Path,
    extra: &[&str],
    env: &[(&str, String)],
) -> (bool, String) {
    restore_reading(archive, data_dir, extra, env, "")
}

/// `kms restore` with `stdin` (unseal shares) on standard input.
fn restore_reading(
    archive: &Path,
    data_dir: &Path,
    extra: &[&str],
    env: &[(&str, String)],
    stdin: &str,
) -> (bool, String) {
    let mut args = vec![
        "restore",
        "--in",
        archive.to_str().unwrap(),
        "--data-dir",
        data_dir.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let out = kms_offline(&args, stdin, &env);
    (out.ok, out.stderr)
}

/// Offsets of each chunk's length prefix (the format in control/src/backup/archive.rs).
fn chunk_offsets(archive: &[u8]) -> Vec<usize> {
    let header_len = u32::from_be_bytes(archive[8..12].try_into().unwrap()) as usize;
    let mut at = 12 + header_len;
    let mut offsets = Vec::new();
    while at < archive.len() {
        offsets.push(at);
        at += 4 + u32::from_be_bytes(archive[at..at + 4].try_into().unwrap()) as usize;
    }
    assert_eq!(at, archive.len());
    offsets
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// A refused restore writes nothing into the data directory.
fn assert_refused(archive: &Path, data_dir: &Path, code: &str, what: &str) {
    let (ok, stderr) = restore(archive, data_dir);
    assert!(!ok, "{what}: restore succeeded");
    assert!(stderr.contains(code), "{what}: {stderr}");
    for name in STORE_FILES.iter().chain(&["kms.db.restoring"]) {
        assert!(!data_dir.join(name).exists(), "{what}: {name} was written");
    }
}

#[test]
fn a_backup_restored_into_an_empty_store_decrypts_every_record_and_tampering_restores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let archive_path = work.path().join("kms.bak");
    let (token, records, materials) = {
        let server = dev_server(dir.path());
        let http = Http::new(&server);
        http.create_key("ledger-secrets");
        let token = http.create_app("ledger");
        http.grant("ledger-secrets", "ledger", &["encrypt", "decrypt"]);
        let mut records = Vec::new();
        for i in 0..20 {
            let plaintext = format!("card {i:04}");
            records.push((
                plaintext.clone(),
                http.seal(&token, "ledger-secrets", plaintext.as_bytes(), None),
            ));
            if i == 9 {
                let (s, b) = http.post(
                    "/v1/admin/keys/ledger-secrets/rotate",
                    Some(ROOT),
                    &json!({ "reason": "r" }),
                );
                assert_eq!(s, 200, "{b}");
            }
        }
        let key = server
            .state
            .directory
            .load()
            .key("ledger-secrets")
            .cloned()
            .unwrap();
        let materials: Vec<Vec<u8>> = [1, 2]
            .into_iter()
            .map(|v| {
                let v = KeyVersion::new(v).unwrap();
                server
                    .state
                    .io
                    .block_on(server.state.pool.reveal_for_test(key.clone(), v))
                    .unwrap()
            })
            .collect();
        let run = kms(
            &["backup", "--out", archive_path.to_str().unwrap()],
            &format!("http://{}", server.addr),
            "",
            &[("KMS_TOKEN", ROOT)],
        );
        assert!(run.ok, "{}", run.stderr);
        // The backup is audited.
        let (s, audit) = http.get("/v1/admin/audit?action=backup", Some(ROOT));
        assert_eq!(s, 200, "{audit}");
        assert!(audit.to_string().contains("\"backup\""), "{audit}");
        server.stop();
        (token, records, materials)
    };
    let archive = std::fs::read(&archive_path).unwrap();
    assert!(archive.starts_with(b"KMSBAK1"));
    for material in &materials {
        assert_eq!(material.len(), 32);
        assert!(!contains(&archive, material), "key material in the archive");
        assert!(!contains(&archive, hex::encode(material).as_bytes()));
    }
    assert!(
        !contains(&archive, b"ledger-secrets"),
        "a key name in clear"
    );
    assert!(
        !contains(&archive, b"SQLite format 3"),
        "the database in clear"
    );
    let offsets = chunk_offsets(&archive);
    assert!(offsets.len() >= 3, "{} chunks", offsets.len());

    wipe_store(dir.path());
    let mut flipped = archive.clone();
    flipped[offsets[1] + 100] ^= 0x01;
    let bad = write(work.path(), "flipped", &flipped);
    assert_refused(&bad, dir.path(), "backup_tampered", "flipped byte");
    let bad = write(
        work.path(),
        "truncated",
        &archive[..offsets[offsets.len() - 1]],
    );
    assert_refused(&bad, dir.path(), "backup_tampered", "truncated");
    let mut swapped = archive[..offsets[0]].to_vec();
    swapped.extend_from_slice(&archive[offsets[1]..offsets[2]]);
    swapped.extend_from_slice(&archive[offsets[0]..offsets[1]]);
    swapped.extend_from_slice(&archive[offsets[2]..]);
    let bad = write(work.path(), "swapped", &swapped);
    assert_refused(&bad, dir.path(), "backup_tampered", "swapped chunks");

    // An empty data directory has no keyring at all: the refusal says the keyring is missing,
    // not that the backup's key is wrong.
    let bare = tempfile::tempdir().unwrap();
    assert_refused(
        &archive_path,
        bare.path(),
        "restore_no_keyring",
        "no keyring",
    );
    let (_, stderr) = restore(&archive_path, bare.path());
    assert!(
        stderr.contains("hsm/sealed.json") && !stderr.contains("cannot unwrap"),
        "{stderr}"
    );

    // Another dev data directory's keyring holds another master key.
    let other = tempfile::tempdir().unwrap();
    dev_server(other.path()).stop();
    wipe_store(other.path());
    assert_refused(
        &archive_path,
        other.path(),
        "backup_wrong_master_key",
        "other HSM",
    );

    let (ok, stderr) = restore(&archive_path, dir.path());
    assert!(ok, "{stderr}");
    // A store is there now: a second restore refuses.
    let (ok, stderr) = restore(&archive_path, dir.path());
    assert!(
        !ok && stderr.contains("restore_target_not_empty"),
        "{stderr}"
    );

    let server = dev_server(dir.path());
    let http = Http::new(&server);
    for (plaintext, ciphertext) in &records {
        assert_eq!(
            http.open(&token, "ledger-secrets", ciphertext, None),
            plaintext.as_bytes()
        );
    }
    assert!(
        http.seal(&token, "ledger-secrets", b"x", None)
            .starts_with("kms:00002:")
    );
}

#[test]
fn only_a_security_admin_or_root_gets_a_backup() {
    let dir = tempfile::tempdir().unwrap();
    let server = dev_server(dir.path());
    let http = Http::new(&server);
    let app = http.create_app("nosy");
    let (s, got) = http.post_for_bytes("/v1/admin/backup", Some(&app));
    assert_eq!(s, 403);
    assert_eq!(got.unwrap_err()["error"]["code"], "forbidden");
    let (s, got) = http.post_for_bytes("/v1/admin/backup", None);
    assert_eq!(s, 401, "{got:?}");
}

/// A PKCS#11 HSM: the token that holds the master key unwraps the backup key; a token without it
/// cannot.
#[test]
fn a_backup_made_on_a_pkcs11_hsm_restores_through_the_same_token_only() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let softhsm = SoftHsm::create(&dir.path().join("softhsm"), &["kms-a"]);
    let stranger = SoftHsm::create(&dir.path().join("stranger"), &["kms-a"]);
    let config = write_config(
        dir.path(),
        &format!(
            "[hsm]\nbackend = \"pkcs11\"\n[hsm.pkcs11]\nmodule = \"{MODULE}\"\n\
             tokens = [ {{ label = \"kms-a\", pin_env = \"KMS_TEST_PIN\" }} ]\n"
        ),
    );
    let env = |conf: PathBuf| {
        vec![
            ("SOFTHSM2_CONF", conf.display().to_string()),
            ("KMS_TEST_PIN", PIN.to_owned()),
        ]
    };
    let flags = ["--config", config.to_str().unwrap()];
    let archive = dir.path().join("kms.bak");
    let server = Server::start_dev_with(&data, ROOT, &flags, &env(softhsm.conf()));
    let http = server.http();
    http.create_key("pan");
    let token = http.create_app("pos");
    http.grant("pan", "pos", &["encrypt", "decrypt"]);
    let records: Vec<(String, String)> = (0..5)
        .map(|i| {
            let p = format!("pan {i}");
            let c = http.seal(&token, "pan", p.as_bytes(), None);
            (p, c)
        })
        .collect();
    let run = kms(
        &["backup", "--out", archive.to_str().unwrap()],
        &server.addr,
        "",
        &[("KMS_TOKEN", ROOT)],
    );
    assert!(run.ok, "{}", run.stderr);
    server.kill();
    wipe_store(&data);

    let (ok, stderr) = restore_with(&archive, &data, &flags, &env(stranger.conf()));
    assert!(
        !ok && stderr.contains("backup_wrong_master_key"),
        "{stderr}"
    );
    assert!(!data.join("kms.db").exists());
    let (ok, stderr) = restore_with(&archive, &data, &flags, &env(softhsm.conf()));
    assert!(ok, "{stderr}");

    let server = Server::start_dev_with(&data, ROOT, &flags, &env(softhsm.conf()));
    let http = server.http();
    for (plaintext, ciphertext) in &records {
        assert_eq!(
            http.open(&token, "pan", ciphertext, None),
            plaintext.as_bytes()
        );
    }
    server.kill();
}

/// Outside dev mode the software HSM's keyring is sealed: `kms restore` reads unseal shares from
/// standard input, and too few of them restore nothing.
#[test]
fn a_sealed_software_keyring_is_unsealed_with_shares_to_restore() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = write_config(dir.path(), "");
    let flags = ["--config", config.to_str().unwrap()];
    let archive = dir.path().join("kms.bak");
    let server = Server::start(&config, &[]);
    let done = ceremony(
        &server.addr,
        &["--operation", "create", "--shares", "3", "--threshold", "2"],
    );
    let shares = field(&done, "Unseal share ");
    assert_eq!(shares.len(), 3);
    let root = field(&done, "Root token:")[0].to_owned();
    let http = server.http();
    let (s, b) = http.post("/v1/admin/keys", Some(&root), &json!({ "name": "iban" }));
    assert_eq!(s, 201, "{b}");
    let ciphertext = http.seal(&root, "iban", b"DE89 3704", None);
    let run = kms(
        &["backup", "--out", archive.to_str().unwrap()],
        &server.addr,
        "",
        &[("KMS_TOKEN", &root)],
    );
    assert!(run.ok, "{}", run.stderr);
    server.kill();
    wipe_store(&data);

    let one = format!("{}\n", shares[0]);
    let (ok, stderr) = restore_reading(&archive, &data, &flags, &[], &one);
    assert!(!ok && stderr.contains("invalid_input"), "{stderr}");
    assert!(!data.join("kms.db").exists());
    let two = format!("{}\n{}\n", shares[0], shares[2]);
    let (ok, stderr) = restore_reading(&archive, &data, &flags, &[], &two);
    assert!(ok, "{stderr}");

    let server = Server::start(&config, &[]);
    let r = kms(&["unseal"], &server.addr, &two, &[]);
    assert!(r.ok, "{}", r.stderr);
    assert_eq!(
        server.http().open(&root, "iban", &ciphertext, None),
        b"DE89 3704"
    );
    server.kill();
}
