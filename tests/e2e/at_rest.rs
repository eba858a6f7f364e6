//! What is on disk: everything survives a restart, and no working key is ever there in the clear.

use std::path::Path;

use kms_engine::algorithm::Algorithm;
use kms_engine::ciphertext;
use kms_engine::crypto::PreparedKey;
use kms_engine::ids::KeyVersion;
use kms_engine::secret::KeyMaterial;
use serde_json::json;

use crate::support::*;

#[test]
fn a_restart_on_the_same_data_dir_decrypts_everything() {
    let dir = tempfile::tempdir().unwrap();
    let (token, before_rotation, after_rotation) = {
        let server = dev_server(dir.path());
        let http = Http::new(&server);
        http.create_key("ids");
        let token = http.create_app("kyc");
        http.grant("ids", "kyc", &["encrypt", "decrypt"]);
        let v1 = http.seal(&token, "ids", b"passport 123", Some(b"user-1"));
        let (s, _) = http.post(
            "/v1/admin/keys/ids/rotate",
            Some(ROOT),
            &json!({ "reason": "r" }),
        );
        assert_eq!(s, 200);
        let v2 = http.seal(&token, "ids", b"passport 456", None);
        server.stop();
        (token, v1, v2)
    };
    let server = dev_server(dir.path());
    let http = Http::new(&server);
    assert_eq!(
        http.open(&token, "ids", &before_rotation, Some(b"user-1")),
        b"passport 123"
    );
    assert_eq!(
        http.open(&token, "ids", &after_rotation, None),
        b"passport 456"
    );
    let (s, key) = http.get("/v1/admin/keys/ids", Some(ROOT));
    assert_eq!(s, 200);
    assert_eq!(key["active_version"], 2);
    assert!(
        http.seal(&token, "ids", b"x", None)
            .starts_with("kms:00002:")
    );
}

/// Every file under `dir`, read whole (database, WAL, shared memory, sealed master key). The
/// server keeps running meanwhile: a file it renames or removes between the listing and the read
/// (a temporary file replaced atomically) is skipped; its content lives on under its new name.
fn all_bytes(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(all_bytes(&path));
        } else {
            match std::fs::read(&path) {
                Ok(bytes) => out.push((path.display().to_string(), bytes)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => panic!("{}: {e}", path.display()),
            }
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn the_data_dir_holds_no_working_key_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let server = dev_server(dir.path());
    let http = Http::new(&server);
    http.create_key("secret-key");
    let (s, _) = http.post(
        "/v1/admin/keys/secret-key/rotate",
        Some(ROOT),
        &json!({ "reason": "r" }),
    );
    assert_eq!(s, 200);
    let ct = http.seal(ROOT, "secret-key", b"probe", Some(b"ctx"));

    let key = server
        .state
        .directory
        .load()
        .key("secret-key")
        .cloned()
        .unwrap();
    let mut materials = Vec::new();
    for version in [1, 2] {
        let version = KeyVersion::new(version).unwrap();
        let pool = &server.state.pool;
        let bytes = server
            .state
            .io
            .block_on(pool.reveal_for_test(key.clone(), version))
            .unwrap();
        assert_eq!(bytes.len(), 32);
        materials.push((version, bytes));
    }
    // The bytes the worker holds really are the key: they open what the server sealed.
    let (_, v2) = &materials[1];
    let cipher =
        PreparedKey::new(Algorithm::Aes256Gcm, false, &KeyMaterial::from_slice(v2)).unwrap();
    let opened = cipher
        .decrypt(&key.id, ciphertext::parse(&ct).unwrap(), b"ctx")
        .unwrap();
    assert_eq!(&opened[..], b"probe");

    let files = all_bytes(dir.path());
    assert!(files.iter().any(|(name, _)| name.ends_with("kms.db")));
    // The search does find what is stored: each version's wrapped form is in the database files.
    for entry in key.versions() {
        let wrapped = &entry.wrapped.as_ref().unwrap().blob;
        assert!(
            files.iter().any(|(_, bytes)| contains(bytes, wrapped)),
            "wrapped form of v{} not found on disk",
            entry.version
        );
    }
    assert_absent(&files, &materials);
    // And after shutdown, once the WAL has been checkpointed into the main file.
    server.stop();
    assert_absent(&all_bytes(dir.path()), &materials);
}

fn assert_absent(files: &[(String, Vec<u8>)], materials: &[(KeyVersion, Vec<u8>)]) {
    for (version, material) in materials {
        for (name, bytes) in files {
            assert!(
                !contains(bytes, material),
                "plaintext of v{version} found in {name}"
            );
            // Not in hex or base64 either.
            assert!(
                !contains(bytes, hex(material).as_bytes()),
                "hex of v{version} in {name}"
            );
            assert!(
                !contains(bytes, b64(material).as_bytes()),
                "base64 of v{version} in {name}"
            );
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
