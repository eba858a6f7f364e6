//! Transit's `export` of secret material, `backup` and `restore` pass this KMS's approval rules:
//! a key administrator's call (their session token as `X-Vault-Token`) files an approval request,
//! and the same call runs, once, after a quorum of other people approved it. The material works
//! outside the KMS; a backup holds no plaintext, restores a deleted key so its old ciphertexts
//! decrypt, and is refused when edited.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use serde_json::{Value, json};

use super::{assert_vault_error, vault_call};
use crate::people::{Staffed, staffed};
use crate::support::*;

fn people() -> Staffed {
    staffed(&[
        ("kim", "key_admin"),
        ("ann", "key_admin"),
        ("sam", "security_admin"),
        ("olga", "operator"),
    ])
}

fn transit(
    s: &Staffed,
    method: &str,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    vault_call(
        &s.server.url(""),
        method,
        &format!("/v1/transit{path}"),
        Some(token),
        body.as_ref(),
    )
}

/// The approval request a 403 names (`... approval request N ...`).
#[track_caller]
fn request_id(got: &(u16, Value)) -> i64 {
    let line = got.1["errors"][0].as_str().unwrap_or_default();
    line.split("approval request ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no request id in {}", got.1))
}

/// A Transit AES-256 key made by the root token, with `config`, and a ciphertext of `secret`.
fn key_with(s: &Staffed, name: &str, config: Value, secret: &[u8]) -> String {
    let made = transit(s, "POST", &format!("/keys/{name}"), ROOT, Some(config));
    assert_eq!(made.0, 200, "{}", made.1);
    let sealed = transit(
        s,
        "POST",
        &format!("/encrypt/{name}"),
        ROOT,
        Some(json!({ "plaintext": b64(secret) })),
    );
    assert_eq!(sealed.0, 200, "{}", sealed.1);
    sealed.1["data"]["ciphertext"].as_str().unwrap().to_owned()
}

/// Opens a Transit ciphertext outside the KMS with exported AES-256 material: the body is
/// nonce ‖ ciphertext ‖ tag, the associated data the native header ‖ the key id (ciphertext.md).
fn open_locally(material: &[u8], key_id: &[u8], ciphertext: &str) -> Vec<u8> {
    let body = unb64(ciphertext.strip_prefix("vault:v1:").unwrap());
    let aad = [b"kms:00001:".as_slice(), key_id].concat();
    let cipher = Aes256Gcm::new_from_slice(material).unwrap();
    let (nonce, sealed) = body.split_at(12);
    cipher
        .decrypt(
            &Nonce::try_from(nonce).unwrap(),
            Payload {
                msg: sealed,
                aad: &aad,
            },
        )
        .unwrap()
}

#[test]
fn an_export_runs_once_after_a_quorum_and_its_material_decrypts_a_transit_ciphertext() {
    let s = people();
    let kim = s.token["kim"].clone();
    let ciphertext = key_with(
        &s,
        "cards",
        json!({ "exportable": true }),
        b"4111111111111111",
    );
    let path = "/export/encryption-key/cards/1";

    // The first call files the request and names it; the same call while it waits says so.
    let first = transit(&s, "GET", path, &kim, None);
    assert_vault_error(&first, 403, "approval_required");
    let id = request_id(&first);
    let waiting = transit(&s, "GET", path, &kim, None);
    assert_vault_error(&waiting, 403, "approval_pending");
    assert_eq!(request_id(&waiting), id);
    let (_, shown) = s
        .http
        .get(&format!("/v1/admin/approvals/{id}"), Some(&s.token["ann"]));
    assert_eq!(shown["action"], "transit_export_key", "{shown}");
    assert_eq!(shown["params"]["kind"], "encryption-key", "{shown}");

    for approver in ["ann", "sam"] {
        let (status, body) = s.http.vote(&s.token[approver], "approve", id);
        assert_eq!(status, 200, "{body}");
    }
    // Another person's identical call does not take kim's export: it files a request of its own.
    let other = transit(&s, "GET", path, &s.token["ann"], None);
    assert_vault_error(&other, 403, "approval_required");
    assert_ne!(request_id(&other), id);

    let exported = transit(&s, "GET", path, &kim, None);
    assert_eq!(exported.0, 200, "{}", exported.1);
    assert_eq!(exported.1["data"]["name"], "cards");
    assert_eq!(exported.1["data"]["type"], "aes256-gcm96");
    let material = unb64(exported.1["data"]["keys"]["1"].as_str().unwrap());
    assert_eq!(material.len(), 32);
    let key_id = s.server.state.directory.load().key("cards").unwrap().id;
    assert_eq!(
        open_locally(&material, key_id.as_bytes(), &ciphertext),
        b"4111111111111111"
    );
    // Once: the same call again is a new request.
    let again = transit(&s, "GET", path, &kim, None);
    assert_vault_error(&again, 403, "approval_required");
    assert_ne!(request_id(&again), id);
}

#[test]
fn one_person_cannot_export_alone_and_a_key_that_is_not_exportable_is_refused() {
    let s = people();
    let kim = s.token["kim"].clone();
    key_with(&s, "open", json!({ "exportable": true }), b"x");
    key_with(&s, "closed", json!({}), b"x");
    let path = "/export/encryption-key/open";
    let id = request_id(&transit(&s, "GET", path, &kim, None));

    // The requester cannot approve their own request; one other approval is not a quorum; an
    // operator is no approver of exports.
    let own = s.http.vote(&kim, "approve", id);
    assert_eq!(
        (own.0, own.1["error"]["code"].as_str()),
        (403, Some("self_approval")),
        "{}",
        own.1
    );
    let operator = s.http.vote(&s.token["olga"], "approve", id);
    assert_eq!(operator.0, 403, "{}", operator.1);
    let (status, body) = s.http.vote(&s.token["ann"], "approve", id);
    assert_eq!(status, 200, "{body}");
    assert_vault_error(
        &transit(&s, "GET", path, &kim, None),
        403,
        "approval_pending",
    );

    // Not exportable: Vault's 400, and no request is filed for what could never run.
    let (_, before) = s.http.get("/v1/admin/approvals", Some(&kim));
    let refused = transit(&s, "GET", "/export/encryption-key/closed", &kim, None);
    assert_vault_error(&refused, 400, "not_exportable");
    let root_refused = transit(&s, "GET", "/export/hmac-key/closed/1", ROOT, None);
    assert_vault_error(&root_refused, 400, "not_exportable");
    let (_, after) = s.http.get("/v1/admin/approvals", Some(&kim));
    assert_eq!(before, after);
    // People without the role, and apps, may not ask at all.
    let operator = transit(&s, "GET", path, &s.token["olga"], None);
    assert_vault_error(&operator, 403, "forbidden");
    let app = s.http.create_app("shop");
    s.http.grant("open", "shop", &["encrypt", "decrypt"]);
    assert_vault_error(&transit(&s, "GET", path, &app, None), 403, "forbidden");
}

#[test]
fn a_backup_brings_a_deleted_key_back_and_its_old_ciphertexts_decrypt() {
    let s = people();
    let config = json!({ "exportable": true, "allow_plaintext_backup": true });
    let ciphertext = key_with(&s, "ledger", config, b"balance 100");
    let rotated = transit(&s, "POST", "/keys/ledger/rotate", ROOT, None);
    assert_eq!(rotated.0, 200, "{}", rotated.1);
    let set = transit(
        &s,
        "POST",
        "/keys/ledger/config",
        ROOT,
        Some(json!({ "deletion_allowed": true })),
    );
    assert_eq!(set.0, 200, "{}", set.1);

    // A key administrator's backup waits for a quorum, then is theirs once.
    let kim = s.token["kim"].clone();
    let id = request_id(&transit(&s, "GET", "/backup/ledger", &kim, None));
    for approver in ["ann", "sam"] {
        assert_eq!(s.http.vote(&s.token[approver], "approve", id).0, 200);
    }
    let taken = transit(&s, "GET", "/backup/ledger", &kim, None);
    assert_eq!(taken.0, 200, "{}", taken.1);
    let backup = taken.1["data"]["backup"].as_str().unwrap().to_owned();

    // No plaintext material in it: every version's material is wrapped under the master key.
    let decoded = String::from_utf8(unb64(&backup)).unwrap();
    for version in ["1", "2"] {
        let exported = transit(
            &s,
            "GET",
            &format!("/export/encryption-key/ledger/{version}"),
            ROOT,
            None,
        );
        let material = exported.1["data"]["keys"][version].as_str().unwrap();
        assert!(
            !decoded.contains(material),
            "plaintext material in the backup"
        );
        assert!(!decoded.contains(&hex::encode(unb64(material))));
    }

    assert_eq!(transit(&s, "DELETE", "/keys/ledger", ROOT, None).0, 204);
    let gone = transit(
        &s,
        "POST",
        "/decrypt/ledger",
        ROOT,
        Some(json!({ "ciphertext": ciphertext })),
    );
    assert_vault_error(&gone, 400, "key_not_found");

    // A key administrator's restore waits for a quorum too.
    let restore = json!({ "backup": backup });
    let asked = transit(&s, "POST", "/restore", &kim, Some(restore.clone()));
    assert_vault_error(&asked, 403, "approval_required");
    let id = request_id(&asked);
    let (_, shown) = s
        .http
        .get(&format!("/v1/admin/approvals/{id}"), Some(&s.token["sam"]));
    assert_eq!(shown["details"]["key"], "ledger", "{shown}");
    assert_eq!(shown["details"]["versions"], json!([1, 2]), "{shown}");
    for approver in ["ann", "sam"] {
        assert_eq!(s.http.vote(&s.token[approver], "approve", id).0, 200);
    }
    let restored = transit(&s, "POST", "/restore", &kim, Some(restore.clone()));
    assert_eq!(restored.0, 204, "{}", restored.1);

    // The same key id and versions: the ciphertext made before the backup decrypts again.
    let opened = transit(
        &s,
        "POST",
        "/decrypt/ledger",
        ROOT,
        Some(json!({ "ciphertext": ciphertext })),
    );
    assert_eq!(opened.0, 200, "{}", opened.1);
    assert_eq!(
        unb64(opened.1["data"]["plaintext"].as_str().unwrap()),
        b"balance 100"
    );
    let read = transit(&s, "GET", "/keys/ledger", ROOT, None);
    assert_eq!(read.1["data"]["latest_version"], 2, "{}", read.1);

    // It exists now: refused unless `force` (Vault's rule), which overwrites the same key.
    assert_vault_error(
        &transit(&s, "POST", "/restore", ROOT, Some(restore)),
        400,
        "key_exists",
    );
    let forced = transit(
        &s,
        "POST",
        "/restore",
        ROOT,
        Some(json!({ "backup": backup, "force": true })),
    );
    assert_eq!(forced.0, 204, "{}", forced.1);
    // A backup older than the key would lose the newer version: refused, even with `force`.
    assert_eq!(
        transit(&s, "POST", "/keys/ledger/rotate", ROOT, None).0,
        200
    );
    let outdated = transit(
        &s,
        "POST",
        "/restore",
        ROOT,
        Some(json!({ "backup": backup, "force": true })),
    );
    assert_vault_error(&outdated, 400, "backup_outdated");
    // Not under another name while the key lives under its own.
    assert_vault_error(
        &transit(
            &s,
            "POST",
            "/restore/copy",
            ROOT,
            Some(json!({ "backup": backup, "force": true })),
        ),
        400,
        "key_exists",
    );
}

/// An edit of a backup's JSON.
type Edit = fn(&mut Value);

#[test]
fn a_tampered_backup_is_refused_and_backups_need_allow_plaintext_backup() {
    let s = people();
    key_with(&s, "plain", json!({}), b"x");
    assert_vault_error(
        &transit(&s, "GET", "/backup/plain", ROOT, None),
        400,
        "plaintext_backup_not_allowed",
    );
    key_with(&s, "vault", json!({ "allow_plaintext_backup": true }), b"x");
    let taken = transit(&s, "GET", "/backup/vault", ROOT, None);
    assert_eq!(taken.0, 200, "{}", taken.1);
    let backup: Value =
        serde_json::from_slice(&unb64(taken.1["data"]["backup"].as_str().unwrap())).unwrap();

    // Each edit an attacker might make: a setting, the name, a version's state, the material.
    let edits: [(&str, Edit); 4] = [
        ("exportable", |b| b["settings"]["exportable"] = json!(true)),
        ("name", |b| b["name"] = json!("vault2")),
        ("state", |b| b["versions"][0]["state"] = json!(2)),
        ("material", |b| {
            let mut blob = unb64(b["versions"][0]["wrapped"].as_str().unwrap());
            blob[0] ^= 1;
            b["versions"][0]["wrapped"] = json!(b64(&blob));
        }),
    ];
    for (what, edit) in edits {
        let mut tampered = backup.clone();
        edit(&mut tampered);
        let got = transit(
            &s,
            "POST",
            "/restore/restored",
            ROOT,
            Some(json!({ "backup": b64(tampered.to_string().as_bytes()), "force": true })),
        );
        assert_vault_error(&got, 400, "invalid_backup");
        assert!(
            s.server.state.directory.load().key("restored").is_none(),
            "{what}: restored"
        );
    }
}
