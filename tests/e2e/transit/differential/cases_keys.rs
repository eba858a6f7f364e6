//! Key management: create, read, list, config, rotate, trim, delete, and BYOK import.

use serde_json::json;

use super::{Call, Vars, bare, post};

/// The values of a key read that must be equal on both sides (the rest is compared by shape).
pub const KEY: &[&str] = &[
    "/data/name",
    "/data/type",
    "/data/latest_version",
    "/data/min_available_version",
    "/data/min_decryption_version",
    "/data/min_encryption_version",
    "/data/derived",
    "/data/exportable",
    "/data/allow_plaintext_backup",
    "/data/deletion_allowed",
    "/data/imported_key",
    "/data/auto_rotate_period",
    "/data/supports_encryption",
    "/data/supports_decryption",
    "/data/supports_signing",
    "/data/supports_derivation",
    "/data/convergent_encryption",
    "/data/key_size",
    "/data/kdf",
];

const CREATE: &str = "POST /keys/:name";
const READ: &str = "GET /keys/:name";
const LIST: &str = "LIST /keys";
const CONFIG: &str = "POST /keys/:name/config";
const ROTATE: &str = "POST /keys/:name/rotate";
const TRIM: &str = "POST /keys/:name/trim";
const DELETE: &str = "DELETE /keys/:name";

fn key(name: &str, what: &str, body: serde_json::Value) -> Call {
    post(CREATE, what, &format!("/keys/{name}"), body).same(KEY)
}

/// Every key type both servers have, and the creation parameters.
pub fn create() -> Vec<Call> {
    vec![
        key("aes", "default type (aes256-gcm96)", json!({})),
        key(
            "aes128",
            "`type` aes128-gcm96",
            json!({"type": "aes128-gcm96"}),
        ),
        key(
            "chacha",
            "`type` chacha20-poly1305",
            json!({"type": "chacha20-poly1305"}),
        ),
        key("ed", "`type` ed25519", json!({"type": "ed25519"})),
        key("p256", "`type` ecdsa-p256", json!({"type": "ecdsa-p256"})),
        key("p384", "`type` ecdsa-p384", json!({"type": "ecdsa-p384"})),
        key("p521", "`type` ecdsa-p521", json!({"type": "ecdsa-p521"})),
        key("rsa2048", "`type` rsa-2048", json!({"type": "rsa-2048"})),
        key("rsa3072", "`type` rsa-3072", json!({"type": "rsa-3072"})),
        key("rsa4096", "`type` rsa-4096", json!({"type": "rsa-4096"})),
        key(
            "hmac",
            "`type` hmac, `key_size` 32",
            json!({"type": "hmac", "key_size": 32}),
        ),
        key("derived", "`derived`", json!({"derived": true})),
        key(
            "conv",
            "`derived` and `convergent_encryption`",
            json!({"derived": true, "convergent_encryption": true}),
        ),
        key(
            "conv-chacha",
            "convergent chacha20-poly1305",
            json!({"derived": true, "convergent_encryption": true, "type": "chacha20-poly1305"}),
        ),
        key(
            "conv-bad",
            "`convergent_encryption` without `derived`",
            json!({"convergent_encryption": true}),
        ),
        key("exp", "`exportable`", json!({"exportable": true})),
        key(
            "daily",
            "`auto_rotate_period` 24h",
            json!({"auto_rotate_period": "24h"}),
        ),
        key(
            "hourly",
            "`auto_rotate_period` in seconds",
            json!({"auto_rotate_period": 3600}),
        ),
        key(
            "short",
            "`auto_rotate_period` under an hour",
            json!({"auto_rotate_period": "30m"}),
        ),
        key("nope", "unknown `type`", json!({"type": "aes512-gcm"})),
        key("aes", "a key that exists", json!({})),
        key("warned", "an unknown parameter", json!({"colour": "blue"})),
        key("del", "a key to delete later", json!({})),
        key("trimmed", "a key to trim later", json!({})),
    ]
}

pub fn read() -> Vec<Call> {
    let mut calls: Vec<Call> = [
        "aes", "aes128", "chacha", "ed", "p256", "p384", "p521", "rsa2048", "hmac", "derived",
        "conv", "exp", "daily",
    ]
    .iter()
    .map(|name| {
        bare(
            READ,
            &format!("a `{name}` key"),
            "GET",
            &format!("/keys/{name}"),
        )
        .same(KEY)
    })
    .collect();
    calls.push(bare(READ, "a missing key", "GET", "/keys/missing"));
    calls.push(bare(LIST, "LIST", "LIST", "/keys").same(&["/data/keys"]));
    calls.push(bare(LIST, "LIST with a trailing `/`", "LIST", "/keys/").same(&["/data/keys"]));
    calls.push(bare(LIST, "GET `?list=true`", "GET", "/keys?list=true").same(&["/data/keys"]));
    calls.push(bare(LIST, "GET without `list`", "GET", "/keys"));
    calls
}

/// Rotation, configuration, trimming and deletion, on keys the data calls have used.
pub fn lifecycle() -> Vec<Call> {
    vec![
        post(ROTATE, "rotate", "/keys/trimmed/rotate", json!({})).same(KEY),
        post(ROTATE, "rotate again", "/keys/trimmed/rotate", json!({})).same(KEY),
        post(ROTATE, "a missing key", "/keys/missing/rotate", json!({})),
        post(ROTATE, "an ed25519 key", "/keys/ed/rotate", json!({})).same(KEY),
        post(
            CONFIG,
            "`min_decryption_version`: older versions leave `keys`",
            "/keys/trimmed/config",
            json!({"min_decryption_version": 2}),
        )
        .same(KEY),
        post(
            CONFIG,
            "`min_decryption_version` above the latest",
            "/keys/trimmed/config",
            json!({"min_decryption_version": 9}),
        ),
        post(
            CONFIG,
            "`min_encryption_version`",
            "/keys/trimmed/config",
            json!({"min_encryption_version": 3}),
        )
        .same(KEY),
        post(
            CONFIG,
            "`min_encryption_version` above the latest",
            "/keys/trimmed/config",
            json!({"min_encryption_version": 7}),
        ),
        post(
            "POST /encrypt/:name",
            "`key_version` below `min_encryption_version`",
            "/encrypt/trimmed",
            json!({"plaintext": "aGk=", "key_version": 2}),
        ),
        post(
            CONFIG,
            "`auto_rotate_period`",
            "/keys/trimmed/config",
            json!({"auto_rotate_period": "48h"}),
        )
        .same(KEY),
        post(
            CONFIG,
            "`auto_rotate_period` 0 turns it off",
            "/keys/daily/config",
            json!({"auto_rotate_period": 0}),
        )
        .same(KEY),
        post(
            CONFIG,
            "`exportable`",
            "/keys/trimmed/config",
            json!({"exportable": true}),
        )
        .same(KEY),
        post(
            CONFIG,
            "a missing key",
            "/keys/missing/config",
            json!({"deletion_allowed": true}),
        ),
        post(
            TRIM,
            "`min_available_version`",
            "/keys/trimmed/trim",
            json!({"min_available_version": 2}),
        )
        .same(KEY),
        post(
            TRIM,
            "above `min_decryption_version`",
            "/keys/trimmed/trim",
            json!({"min_available_version": 3}),
        ),
        bare(READ, "after the trim", "GET", "/keys/trimmed").same(KEY),
        post(
            "POST /decrypt/:name",
            "a ciphertext of a trimmed version",
            "/decrypt/trimmed",
            json!({"ciphertext": "{trimmed_v1}"}),
        ),
        bare(DELETE, "deletion not allowed", "DELETE", "/keys/del"),
        post(
            CONFIG,
            "`deletion_allowed`",
            "/keys/del/config",
            json!({"deletion_allowed": true}),
        )
        .same(KEY),
        bare(DELETE, "deletion allowed", "DELETE", "/keys/del"),
        bare(DELETE, "a missing key", "DELETE", "/keys/del"),
        bare(READ, "a deleted key", "GET", "/keys/del"),
        post(
            CONFIG,
            "`allow_plaintext_backup`",
            "/keys/exp/config",
            json!({"allow_plaintext_backup": true}),
        )
        .same(KEY),
        bare("GET /backup/:name", "a key", "GET", "/backup/exp").capture("backup", "/data/backup"),
        post(
            "POST /restore(/:name)",
            "a key that exists",
            "/restore",
            json!({"backup": "{backup}"}),
        )
        .deviates(super::cases_sign::B500),
        post(
            "POST /restore(/:name)",
            "a key that exists, `force`",
            "/restore",
            json!({"backup": "{backup}", "force": true}),
        ),
        bare(READ, "a restored key", "GET", "/keys/exp")
            .same(KEY)
            .deviates(
                "no `backup_info` and `restore_info`: the audit log records each backup \
                 (`transit_backup_key`) and restore, and the key's history each restore",
            ),
        post(
            "POST /restore(/:name)",
            "under another name",
            "/restore/exp-copy",
            json!({"backup": "{backup}"}),
        )
        .deviates(
            "`400 key_exists`: a restore keeps the key's id, which every ciphertext binds, so the \
             KMS does not restore a copy beside the live key (restore it after a deletion, or \
             over itself with `force`)",
        ),
        // Last: one server makes these keys and the other does not, so no listing may follow.
        key(
            "hmac-default",
            "`type` hmac without `key_size`",
            json!({"type": "hmac"}),
        )
        .deviates("OpenBao 2.7.2 answers 500 (\"invalid key size\"); the KMS makes a 32-byte key"),
        key(
            "hmac64",
            "`type` hmac, `key_size` 64",
            json!({"type": "hmac", "key_size": 64}),
        )
        .deviates("`400 invalid_request`: HMAC keys are 32 bytes here (`key_size` 32 or absent)"),
    ]
}

/// BYOK: the wrapping key, and importing material wrapped for it.
pub fn byok() -> Vec<Call> {
    vec![
        bare(
            "GET /wrapping_key",
            "the RSA-4096 wrapping key",
            "GET",
            "/wrapping_key",
        )
        .capture("wrapping_key", "/data/public_key"),
        bare(
            "GET /wrapping_key",
            "the same key again",
            "GET",
            "/wrapping_key",
        )
        .capture("wrapping_key2", "/data/public_key")
        .vars_equal("wrapping_key", "wrapping_key2", true),
        post(
            "POST /keys/:name/import",
            "an AES-256 key",
            "/keys/imported/import",
            json!({"ciphertext": "{import_aes}", "type": "aes256-gcm96"}),
        )
        .prepare(super::byok::wrap_aes)
        .same(KEY),
        post(
            "POST /encrypt/:name",
            "under the imported key",
            "/encrypt/imported",
            json!({"plaintext": "aW1wb3J0ZWQ="}),
        )
        .capture("imported_ct", "/data/ciphertext"),
        post(
            "POST /decrypt/:name",
            "under the imported key",
            "/decrypt/imported",
            json!({"ciphertext": "{imported_ct}"}),
        )
        .same(&["/data/plaintext"]),
        post(
            "POST /decrypt/:name",
            "a ciphertext made outside with the imported material",
            "/decrypt/imported",
            json!({"ciphertext": "{outside_ct}"}),
        )
        .prepare(super::byok::outside_ciphertext)
        .deviates(
            "400 `decryption_failed`: this KMS's ciphertexts bind the key's id and the header \
             as associated data, so a ciphertext made outside with the same material does not \
             open (docs/ciphertext.md)",
        ),
        post(
            "POST /keys/:name/import",
            "an ECDSA P-256 key (PKCS#8)",
            "/keys/imported-ec/import",
            json!({"ciphertext": "{import_ec}", "type": "ecdsa-p256"}),
        )
        .prepare(super::byok::wrap_ec)
        .same(KEY),
        post(
            "POST /keys/:name/import",
            "a key that exists",
            "/keys/imported/import",
            json!({"ciphertext": "{import_aes}", "type": "aes256-gcm96"}),
        )
        .deviates(super::cases_sign::B500),
        post(
            "POST /keys/:name/import",
            "material that is not wrapped for the wrapping key",
            "/keys/imported-bad/import",
            json!({"ciphertext": "AAAA", "type": "aes256-gcm96"}),
        )
        .deviates(super::cases_sign::B500),
        post(
            "POST /keys/:name/import",
            "material of the wrong length for the type",
            "/keys/imported-short/import",
            json!({"ciphertext": "{import_short}", "type": "aes256-gcm96"}),
        )
        .prepare(super::byok::wrap_short)
        .deviates(super::cases_sign::B500),
        bare(READ, "an imported key", "GET", "/keys/imported").same(KEY),
        post(
            ROTATE,
            "an imported key (rotation not allowed)",
            "/keys/imported/rotate",
            json!({}),
        )
        .deviates(super::cases_sign::B500),
    ]
}

// The prepare functions take a side's variables; the type check keeps their signature honest.
const _: fn(&mut Vars) = super::byok::wrap_aes;
