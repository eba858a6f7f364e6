//! Data operations: encrypt, decrypt, rewrap, datakey, hmac, sign, verify, hash, random, export,
//! cache-config, backup and restore.

use serde_json::json;

use super::{Call, bare, post};

const ENCRYPT: &str = "POST /encrypt/:name";
const DECRYPT: &str = "POST /decrypt/:name";
const REWRAP: &str = "POST /rewrap/:name";
const DATAKEY: &str = "POST /datakey/:type/:name";
const HMAC: &str = "POST /hmac/:name(/:algorithm)";
const VERIFY: &str = "POST /verify/:name(/:hash_algorithm)";

/// "hello" and "world", base64.
const HELLO: &str = "aGVsbG8=";
const WORLD: &str = "d29ybGQ=";
/// "ctx-1" and "ctx-2", base64.
const CTX1: &str = "Y3R4LTE=";
const CTX2: &str = "Y3R4LTI=";

fn enc(what: &str, key: &str, body: serde_json::Value) -> Call {
    post(ENCRYPT, what, &format!("/encrypt/{key}"), body).same(&["/data/key_version"])
}

fn dec(what: &str, key: &str, body: serde_json::Value) -> Call {
    post(DECRYPT, what, &format!("/decrypt/{key}"), body).same(&["/data/plaintext"])
}

pub fn encrypt() -> Vec<Call> {
    let mut calls = Vec::new();
    for key in ["aes", "aes128", "chacha"] {
        calls.push(
            enc(&format!("a `{key}` key"), key, json!({"plaintext": HELLO}))
                .capture(key, "/data/ciphertext"),
        );
        calls.push(dec(
            &format!("its own ciphertext, `{key}`"),
            key,
            json!({"ciphertext": format!("{{{key}}}")}),
        ));
    }
    calls.extend([
        enc("empty plaintext", "aes", json!({"plaintext": ""}))
            .capture("empty", "/data/ciphertext"),
        dec(
            "an empty plaintext",
            "aes",
            json!({"ciphertext": "{empty}"}),
        ),
        enc("no plaintext", "aes", json!({})),
        enc("plaintext not base64", "aes", json!({"plaintext": "!!"})),
        enc(
            "`associated_data`",
            "aes",
            json!({"plaintext": HELLO, "associated_data": CTX1}),
        )
        .capture("aad", "/data/ciphertext"),
        dec(
            "with its `associated_data`",
            "aes",
            json!({"ciphertext": "{aad}", "associated_data": CTX1}),
        ),
        dec(
            "with other `associated_data`",
            "aes",
            json!({"ciphertext": "{aad}", "associated_data": CTX2}),
        ),
        enc(
            "`context` on a key that is not derived (ignored)",
            "aes",
            json!({"plaintext": HELLO, "context": CTX1}),
        ),
        enc(
            "a missing key (created, as Vault's upsert)",
            "upserted",
            json!({"plaintext": HELLO}),
        ),
        enc(
            "a missing key with `type`",
            "upserted-chacha",
            json!({"plaintext": HELLO, "type": "chacha20-poly1305"}),
        ),
        bare(
            "GET /keys/:name",
            "a key encrypt created",
            "GET",
            "/keys/upserted-chacha",
        )
        .same(super::cases_keys::KEY),
        enc("an hmac key", "hmac", json!({"plaintext": HELLO})),
        enc("an ed25519 key", "ed", json!({"plaintext": HELLO})),
        enc(
            "`key_version` 1",
            "aes",
            json!({"plaintext": HELLO, "key_version": 1}),
        ),
        enc(
            "`key_version` above the latest",
            "aes",
            json!({"plaintext": HELLO, "key_version": 5}),
        ),
        enc(
            "batch with `reference`",
            "aes",
            json!({"batch_input": [
                {"plaintext": HELLO, "reference": "a"},
                {"plaintext": WORLD, "reference": "b"}
            ]}),
        )
        .capture("batch0", "/data/batch_results/0/ciphertext")
        .same(&[
            "/data/batch_results/0/reference",
            "/data/batch_results/1/reference",
        ]),
        enc(
            "batch without `reference`",
            "aes",
            json!({"batch_input": [{"plaintext": HELLO}]}),
        ),
        enc(
            "batch with a bad item",
            "aes",
            json!({"batch_input": [{"plaintext": HELLO}, {"plaintext": "!!"}]}),
        ),
        enc(
            "batch with a bad item and `partial_failure_response_code`",
            "aes",
            json!({"batch_input": [{"plaintext": HELLO}, {"plaintext": "!!"}],
                   "partial_failure_response_code": 207}),
        ),
        enc("empty batch", "aes", json!({"batch_input": []})),
        // Derived keys and convergent encryption.
        enc(
            "a derived key without `context`",
            "derived",
            json!({"plaintext": HELLO}),
        ),
        enc(
            "a derived key with `context`",
            "derived",
            json!({"plaintext": HELLO, "context": CTX1}),
        )
        .capture("derived1", "/data/ciphertext"),
        dec(
            "a derived key, same `context`",
            "derived",
            json!({"ciphertext": "{derived1}", "context": CTX1}),
        ),
        dec(
            "a derived key, another `context`",
            "derived",
            json!({"ciphertext": "{derived1}", "context": CTX2}),
        ),
        dec(
            "a derived key, no `context`",
            "derived",
            json!({"ciphertext": "{derived1}"}),
        ),
        enc(
            "convergent",
            "conv",
            json!({"plaintext": HELLO, "context": CTX1}),
        )
        .capture("conv1", "/data/ciphertext"),
        enc(
            "convergent, the same plaintext and context again",
            "conv",
            json!({"plaintext": HELLO, "context": CTX1}),
        )
        .capture("conv2", "/data/ciphertext")
        .vars_equal("conv1", "conv2", true),
        enc(
            "convergent, another context",
            "conv",
            json!({"plaintext": HELLO, "context": CTX2}),
        )
        .capture("conv3", "/data/ciphertext")
        .vars_equal("conv1", "conv3", false),
        enc(
            "convergent, another plaintext",
            "conv",
            json!({"plaintext": WORLD, "context": CTX1}),
        )
        .capture("conv4", "/data/ciphertext")
        .vars_equal("conv1", "conv4", false),
        dec(
            "convergent",
            "conv",
            json!({"ciphertext": "{conv1}", "context": CTX1}),
        ),
        enc(
            "convergent chacha20-poly1305, twice",
            "conv-chacha",
            json!({"batch_input": [
                {"plaintext": HELLO, "context": CTX1},
                {"plaintext": HELLO, "context": CTX1}
            ]}),
        )
        .capture("convc1", "/data/batch_results/0/ciphertext")
        .capture("convc2", "/data/batch_results/1/ciphertext")
        .vars_equal("convc1", "convc2", true),
        enc(
            "batch on a derived key, each item its `context`",
            "derived",
            json!({"batch_input": [
                {"plaintext": HELLO, "context": CTX1},
                {"plaintext": HELLO, "context": CTX2},
                {"plaintext": HELLO}
            ]}),
        ),
        enc(
            "a key to trim later",
            "trimmed",
            json!({"plaintext": HELLO}),
        )
        .capture("trimmed_v1", "/data/ciphertext"),
    ]);
    calls.extend(decrypt());
    calls
}

fn decrypt() -> Vec<Call> {
    vec![
        dec("a missing key", "missing", json!({"ciphertext": "{aes}"})),
        dec("no ciphertext", "aes", json!({})),
        dec(
            "not a versioned value",
            "aes",
            json!({"ciphertext": "nope"}),
        ),
        dec(
            "a truncated body",
            "aes",
            json!({"ciphertext": "vault:v1:AAAA"}),
        ),
        dec(
            "a version that does not exist",
            "aes",
            json!({"ciphertext": "vault:v9:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}),
        ),
        dec(
            "batch, in order, with `reference`",
            "aes",
            json!({"batch_input": [
                {"ciphertext": "{batch0}", "reference": "x"},
                {"ciphertext": "{aes}"}
            ]}),
        )
        .same(&[
            "/data/batch_results/0/plaintext",
            "/data/batch_results/1/plaintext",
            "/data/batch_results/0/reference",
        ]),
        dec(
            "batch with a failing item",
            "aes",
            json!({"batch_input": [{"ciphertext": "{aes}"}, {"ciphertext": "vault:v1:AAAA"}]}),
        ),
        post(
            REWRAP,
            "its own ciphertext",
            "/rewrap/aes",
            json!({"ciphertext": "{aes}"}),
        )
        .same(&["/data/key_version"]),
        post(
            REWRAP,
            "batch",
            "/rewrap/aes",
            json!({"batch_input": [{"ciphertext": "{aes}", "reference": "r"}]}),
        )
        .same(&[
            "/data/batch_results/0/key_version",
            "/data/batch_results/0/reference",
        ]),
        post(
            REWRAP,
            "a derived key's, with `context`",
            "/rewrap/derived",
            json!({"ciphertext": "{derived1}", "context": CTX1}),
        )
        .same(&["/data/key_version"]),
        post(
            REWRAP,
            "a missing key",
            "/rewrap/missing",
            json!({"ciphertext": "{aes}"}),
        ),
    ]
}

pub fn datakey() -> Vec<Call> {
    let dk = |what: &str, kind: &str, key: &str, body| {
        post(DATAKEY, what, &format!("/datakey/{kind}/{key}"), body).same(&["/data/key_version"])
    };
    vec![
        dk("`plaintext`", "plaintext", "aes", json!({}))
            .capture("dk_plain", "/data/plaintext")
            .capture("dk_ct", "/data/ciphertext"),
        post(
            DECRYPT,
            "a data key",
            "/decrypt/aes",
            json!({"ciphertext": "{dk_ct}"}),
        )
        .capture("dk_opened", "/data/plaintext")
        .vars_equal("dk_plain", "dk_opened", true),
        dk("`wrapped`", "wrapped", "aes", json!({})),
        dk("`bits` 128", "plaintext", "aes", json!({"bits": 128})),
        dk("`bits` 512", "plaintext", "aes", json!({"bits": 512})),
        dk("`bits` 64", "plaintext", "aes", json!({"bits": 64})),
        dk("another type", "other", "aes", json!({})),
        dk(
            "a derived key with `context`",
            "wrapped",
            "derived",
            json!({"context": CTX1}),
        ),
        dk("a missing key", "plaintext", "missing", json!({})),
        dk("an ed25519 key", "plaintext", "ed", json!({})),
    ]
}

pub fn hmac() -> Vec<Call> {
    let mut calls = Vec::new();
    for key in ["hmac", "aes", "ed", "p256", "rsa2048"] {
        calls.push(
            post(
                HMAC,
                &format!("a `{key}` key"),
                &format!("/hmac/{key}"),
                json!({"input": HELLO}),
            )
            .capture("mac", "/data/hmac"),
        );
        calls.push(
            post(
                VERIFY,
                &format!("an hmac of a `{key}` key"),
                &format!("/verify/{key}"),
                json!({"input": HELLO, "hmac": "{mac}"}),
            )
            .same(&["/data/valid"]),
        );
    }
    for alg in [
        "sha2-224", "sha2-256", "sha2-384", "sha2-512", "sha3-224", "sha3-256", "sha3-384",
        "sha3-512",
    ] {
        calls.push(
            post(
                HMAC,
                &format!("`{alg}` in the path"),
                &format!("/hmac/hmac/{alg}"),
                json!({"input": HELLO}),
            )
            .capture("mac", "/data/hmac"),
        );
        calls.push(
            post(
                VERIFY,
                &format!("an hmac, `{alg}`"),
                &format!("/verify/hmac/{alg}"),
                json!({"input": HELLO, "hmac": "{mac}"}),
            )
            .same(&["/data/valid"]),
        );
    }
    calls.extend([
        post(
            HMAC,
            "`algorithm` in the body",
            "/hmac/hmac",
            json!({"input": HELLO, "algorithm": "sha2-512"}),
        ),
        post(
            HMAC,
            "an unknown algorithm",
            "/hmac/hmac/md5",
            json!({"input": HELLO}),
        ),
        post(
            HMAC,
            "`key_version` 1",
            "/hmac/hmac",
            json!({"input": HELLO, "key_version": 1}),
        ),
        post(
            HMAC,
            "`key_version` above the latest",
            "/hmac/hmac",
            json!({"input": HELLO, "key_version": 4}),
        ),
        post(
            HMAC,
            "a missing key",
            "/hmac/missing",
            json!({"input": HELLO}),
        ),
        post(
            HMAC,
            "batch",
            "/hmac/hmac",
            json!({"batch_input": [{"input": HELLO, "reference": "m"}, {"input": WORLD}]}),
        )
        .same(&[
            "/data/batch_results/0/reference",
            "/data/batch_results/1/reference",
        ]),
        post(
            VERIFY,
            "an hmac of other input",
            "/verify/hmac",
            json!({"input": WORLD, "hmac": "{mac}"}),
        )
        .same(&["/data/valid"]),
        post(
            VERIFY,
            "a malformed hmac",
            "/verify/hmac",
            json!({"input": HELLO, "hmac": "vault:v1:!!"}),
        ),
    ]);
    calls
}

pub fn sign() -> Vec<Call> {
    super::cases_sign::all()
}

pub fn misc() -> Vec<Call> {
    let mut calls = Vec::new();
    for alg in [
        "sha2-224", "sha2-256", "sha2-384", "sha2-512", "sha3-224", "sha3-256", "sha3-384",
        "sha3-512",
    ] {
        calls.push(
            post(
                "POST /hash(/:algorithm)",
                &format!("`{alg}`"),
                &format!("/hash/{alg}"),
                json!({"input": HELLO}),
            )
            .same(&["/data/sum"]),
        );
    }
    calls.extend([
        post("POST /hash(/:algorithm)", "default (sha2-256), base64", "/hash", json!({"input": HELLO, "format": "base64"})).same(&["/data/sum"]),
        post("POST /hash(/:algorithm)", "`algorithm` in the body", "/hash", json!({"input": HELLO, "algorithm": "sha2-512"})).same(&["/data/sum"]),
        post("POST /hash(/:algorithm)", "an unknown algorithm", "/hash/md5", json!({"input": HELLO})),
        post("POST /hash(/:algorithm)", "an unknown format", "/hash", json!({"input": HELLO, "format": "octal"})),
        post("POST /random(/:source)(/:bytes)", "default", "/random", json!({})),
        post("POST /random(/:source)(/:bytes)", "`bytes` and hex", "/random", json!({"bytes": 16, "format": "hex"})),
        post("POST /random(/:source)(/:bytes)", "bytes in the path", "/random/64", json!({})),
        post("POST /random(/:source)(/:bytes)", "source and bytes in the path", "/random/platform/8", json!({})),
        post("POST /random(/:source)(/:bytes)", "too many bytes", "/random", json!({"bytes": 200000})),
        bare("GET /export/:type/:name(/:version)", "`public-key` of ecdsa-p256", "GET", "/export/public-key/p256"),
        bare("GET /export/:type/:name(/:version)", "`public-key`, `latest`", "GET", "/export/public-key/ed/latest"),
        bare("GET /export/:type/:name(/:version)", "`public-key` of an aes key", "GET", "/export/public-key/aes")
            .deviates(super::cases_sign::B500),
        bare("GET /export/:type/:name(/:version)", "`encryption-key` of a key not exportable", "GET", "/export/encryption-key/aes"),
        // The root token runs an export at once (approvals apply to people: transit/approved.rs).
        bare("GET /export/:type/:name(/:version)", "`encryption-key` of an exportable key", "GET", "/export/encryption-key/exp")
            .same(&["/data/name", "/data/type"]),
        bare("GET /export/:type/:name(/:version)", "`encryption-key`, version 1", "GET", "/export/encryption-key/exp/1")
            .same(&["/data/name", "/data/type"]),
        bare("GET /export/:type/:name(/:version)", "`hmac-key` of an exportable key", "GET", "/export/hmac-key/exp")
            .same(&["/data/name", "/data/type"]),
        bare("GET /export/:type/:name(/:version)", "`signing-key` of an aes key", "GET", "/export/signing-key/exp"),
        bare("GET /backup/:name", "a key without `allow_plaintext_backup`", "GET", "/backup/exp")
            .deviates(super::cases_sign::B500),
        post("POST /restore(/:name)", "not a backup", "/restore", json!({"backup": "AAAA"}))
            .deviates(super::cases_sign::B500),
        bare("GET /v1/sys/health", "unsealed", "GET", "/v1/sys/health")
            .same(&["/initialized", "/sealed", "/standby"])
            .deviates("the KMS also sends `performance_standby` (false), as HashiCorp Vault does: Vault clients such as vaultrs fail without it"),
        bare("GET /v1/sys/health", "`standbyok`, `activecode`", "GET", "/v1/sys/health?standbyok=true&activecode=299")
            .same(&["/sealed"])
            .deviates("`performance_standby`, as above"),
        bare("GET /v1/auth/token/lookup-self", "the root token", "GET", "/v1/auth/token/lookup-self")
            .same(&["/data/policies", "/data/ttl", "/data/renewable", "/data/type"]),
        bare("GET /cache-config", "the default", "GET", "/cache-config"),
        post("POST /cache-config", "`size`", "/cache-config", json!({"size": 500})),
        bare("GET /cache-config", "after setting it", "GET", "/cache-config").same(&["/data/size"]),
        post("POST /cache-config", "`size` below the minimum", "/cache-config", json!({"size": 5})),
    ]);
    calls
}
