//! Signing and verifying: every key type, hash algorithm, padding and marshaling both servers
//! have. Each signature is verified by the server that made it (valid), and against other input
//! (not valid).

use serde_json::json;

use super::{Call, post};

/// Why a 500 of OpenBao's is a 400 here.
pub const B500: &str = "OpenBao answers 500 (a server error) to this bad input; the KMS answers \
                        400 (the design's invariant 8.5, docs/design.md: bad input is a 4xx with a stable code)";

const SIGN: &str = "POST /sign/:name(/:hash_algorithm)";
const VERIFY: &str = "POST /verify/:name(/:hash_algorithm)";
const HELLO: &str = "aGVsbG8=";
const WORLD: &str = "d29ybGQ=";
/// SHA-256, SHA-384 and SHA-512 of "hello", base64.
const HELLO_SHA256: &str = "LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=";
const HELLO_SHA384: &str = "WeF0h3dEjGnea4ANejO7+5/xtGPkQ1TDVTvNucZm+pASWjx5+QOXvfX2oT3oKGhP";
const HELLO_SHA512: &str =
    "m3HSJL1i83hdltRq0+o9czGb+8KJDKra4t/3JRlnPKcjI8PZm6XBHXx6zG4UuMXaDEZjR1wuXDre9G9zvN7AQw==";

/// Signs with `body` under `path`, then verifies the signature (valid) and against other input
/// (not valid), with the same options.
fn round(what: &str, key: &str, suffix: &str, body: serde_json::Value) -> Vec<Call> {
    let mut verify = body.clone();
    verify["signature"] = json!("{sig}");
    let mut wrong = verify.clone();
    if wrong.get("prehashed").is_some() {
        wrong["input"] = json!(HELLO_SHA256.replace('L', "M"));
    } else {
        wrong["input"] = json!(WORLD);
    }
    vec![
        post(SIGN, what, &format!("/sign/{key}{suffix}"), body)
            .capture("sig", "/data/signature")
            .same(&["/data/key_version"]),
        post(
            VERIFY,
            &format!("{what}: its own signature"),
            &format!("/verify/{key}{suffix}"),
            verify,
        )
        .same(&["/data/valid"]),
        post(
            VERIFY,
            &format!("{what}: other input"),
            &format!("/verify/{key}{suffix}"),
            wrong,
        )
        .same(&["/data/valid"]),
    ]
}

pub fn all() -> Vec<Call> {
    let mut calls = Vec::new();
    for key in ["ed", "p256", "p384", "p521", "rsa2048"] {
        calls.extend(round(&format!("`{key}`"), key, "", json!({"input": HELLO})));
    }
    for alg in [
        "sha2-224", "sha2-384", "sha2-512", "sha3-224", "sha3-256", "sha3-384", "sha3-512",
    ] {
        calls.extend(round(
            &format!("ecdsa-p256, `{alg}` in the path"),
            "p256",
            &format!("/{alg}"),
            json!({"input": HELLO}),
        ));
        calls.extend(round(
            &format!("rsa-2048, `{alg}` in the path"),
            "rsa2048",
            &format!("/{alg}"),
            json!({"input": HELLO}),
        ));
    }
    calls.extend(round(
        "ecdsa-p384, `hash_algorithm` sha2-384 in the body",
        "p384",
        "",
        json!({"input": HELLO, "hash_algorithm": "sha2-384"}),
    ));
    calls.extend(round(
        "ecdsa-p521, sha2-512",
        "p521",
        "/sha2-512",
        json!({"input": HELLO}),
    ));
    calls.extend(round(
        "rsa-2048, `pkcs1v15`",
        "rsa2048",
        "",
        json!({"input": HELLO, "signature_algorithm": "pkcs1v15"}),
    ));
    calls.extend(round(
        "rsa-2048, `pkcs1v15`, sha2-512",
        "rsa2048",
        "/sha2-512",
        json!({"input": HELLO, "signature_algorithm": "pkcs1v15"}),
    ));
    calls.extend(round("rsa-3072", "rsa3072", "", json!({"input": HELLO})));
    calls.extend(round(
        "ecdsa-p256, `prehashed`",
        "p256",
        "",
        json!({"input": HELLO_SHA256, "prehashed": true}),
    ));
    calls.extend(round(
        "rsa-2048, `prehashed`",
        "rsa2048",
        "",
        json!({"input": HELLO_SHA256, "prehashed": true}),
    ));
    calls.extend(round(
        "ecdsa-p256, `marshaling_algorithm` jws",
        "p256",
        "",
        json!({"input": HELLO, "marshaling_algorithm": "jws"}),
    ));
    calls.extend(round(
        "ecdsa-p384, jws",
        "p384",
        "/sha2-384",
        json!({"input": HELLO, "marshaling_algorithm": "jws"}),
    ));
    calls.extend([
        post(
            SIGN,
            "ecdsa-p384, `prehashed` SHA-384",
            "/sign/p384/sha2-384",
            json!({"input": HELLO_SHA384, "prehashed": true}),
        )
        .same(&["/data/key_version"]),
        post(
            SIGN,
            "ecdsa-p521, `prehashed` SHA-512",
            "/sign/p521/sha2-512",
            json!({"input": HELLO_SHA512, "prehashed": true}),
        )
        .same(&["/data/key_version"]),
        post(
            SIGN,
            "`key_version` 1",
            "/sign/p256",
            json!({"input": HELLO, "key_version": 1}),
        )
        .same(&["/data/key_version"]),
        post(
            SIGN,
            "`key_version` above the latest",
            "/sign/p256",
            json!({"input": HELLO, "key_version": 3}),
        )
        .deviates(B500),
        post(SIGN, "an aes key", "/sign/aes", json!({"input": HELLO})),
        post(
            SIGN,
            "a missing key",
            "/sign/missing",
            json!({"input": HELLO}),
        ),
        post(
            SIGN,
            "an unknown hash",
            "/sign/p256/md5",
            json!({"input": HELLO}),
        ),
        post(
            SIGN,
            "an unknown `signature_algorithm`",
            "/sign/rsa2048",
            json!({"input": HELLO, "signature_algorithm": "ecb"}),
        )
        .deviates(B500),
        post(
            SIGN,
            "batch",
            "/sign/ed",
            json!({"batch_input": [{"input": HELLO, "reference": "s"}, {"input": WORLD}]}),
        )
        .capture("bsig", "/data/batch_results/0/signature")
        .same(&[
            "/data/batch_results/0/reference",
            "/data/batch_results/1/reference",
        ]),
        post(
            VERIFY,
            "batch",
            "/verify/ed",
            json!({"batch_input": [
                {"input": HELLO, "signature": "{bsig}", "reference": "v"},
                {"input": WORLD, "signature": "{bsig}"}
            ]}),
        )
        .same(&[
            "/data/batch_results/0/valid",
            "/data/batch_results/1/valid",
            "/data/batch_results/0/reference",
        ]),
        post(
            VERIFY,
            "a malformed signature",
            "/verify/p256",
            json!({"input": HELLO, "signature": "nope"}),
        ),
        post(
            VERIFY,
            "neither `signature` nor `hmac`",
            "/verify/p256",
            json!({"input": HELLO}),
        ),
    ]);
    calls
}
