//! The data operations through the `kms` binary, as an application's operator types them: files
//! and pipes in, raw bytes or `kms:NNNNN:...` text out, the app's token in KMS_TOKEN, the server
//! in KMS_ADDR. Binary inputs (every byte value) check that nothing is mangled on the way.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use kms::testing::RunningServer;
use serde_json::json;

use crate::client::create_key;
use crate::process::KMS;
use crate::support::*;

/// What one `kms` run left: its exit status, raw standard output and standard error.
pub struct Out {
    pub ok: bool,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

impl Out {
    pub fn text(&self) -> String {
        String::from_utf8(self.stdout.clone()).unwrap()
    }
}

/// Runs `kms <args>` against `addr` (KMS_ADDR) with `token` as KMS_TOKEN and `stdin`; none of
/// the test process's own KMS_* variables leak in.
pub fn cli(addr: &str, token: Option<&str>, args: &[&str], stdin: &[u8]) -> Out {
    let mut cmd = Command::new(KMS);
    cmd.args(args)
        .env_remove("KMS_TOKEN")
        .env_remove("KMS_CACERT")
        .env("KMS_ADDR", addr)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(t) = token {
        cmd.env("KMS_TOKEN", t);
    }
    let mut child = cmd.spawn().unwrap();
    // A command refused by its argument parser exits without reading: ignore the broken pipe.
    let _ = child.stdin.take().unwrap().write_all(stdin);
    let out = child.wait_with_output().unwrap();
    Out {
        ok: out.status.success(),
        stdout: out.stdout,
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

/// [`cli`] that must succeed.
pub fn ok(addr: &str, token: Option<&str>, args: &[&str], stdin: &[u8]) -> Out {
    let out = cli(addr, token, args, stdin);
    assert!(out.ok, "kms {args:?} failed: {}", out.stderr);
    out
}

/// [`ok`] for a command given `--output json`: its standard output, parsed.
pub fn ok_json(addr: &str, token: Option<&str>, args: &[&str]) -> serde_json::Value {
    serde_json::from_slice(&ok(addr, token, args, b"").stdout).unwrap()
}

/// [`cli`] that must fail (a non-zero exit) with `expected` in its standard error.
pub fn fails(addr: &str, token: Option<&str>, args: &[&str], stdin: &[u8], expected: &str) -> Out {
    let out = cli(addr, token, args, stdin);
    assert!(
        !out.ok && out.stderr.contains(expected),
        "kms {args:?}: {}",
        out.stderr
    );
    out
}

/// A dev server with its data under `dir/data` (`dir` keeps the test's files), each of `keys`
/// (name, algorithm, operations) created and granted to a new app `app`: the server, its address
/// and the app's token.
fn server_with_app(
    dir: &Path,
    app: &str,
    keys: &[(&str, &str, &[&str])],
) -> (RunningServer, String, String) {
    let server = dev_server(&dir.join("data"));
    let addr = server.url("");
    let http = Http::new(&server);
    for (name, algorithm, _) in keys {
        create_key(&http, name, algorithm);
    }
    let token = http.create_app(app);
    for (name, _, operations) in keys {
        http.grant(name, app, operations);
    }
    (server, addr, token)
}

fn path(dir: &Path, name: &str) -> String {
    dir.join(name).to_str().unwrap().to_owned()
}

#[test]
fn files_and_pipes_round_trip_through_encrypt_decrypt_rewrap_and_datakey() {
    let dir = tempfile::tempdir().unwrap();
    let (server, addr, app) = server_with_app(
        dir.path(),
        "batch",
        &[(
            "files",
            "aes-256-gcm",
            &["encrypt", "decrypt", "rewrap", "datakey"],
        )],
    );
    let http = Http::new(&server);
    let t = Some(app.as_str());

    // A file of every byte value, encrypted to a file and decrypted back to stdout.
    let plain: Vec<u8> = (0..4096u32).map(|i| (i % 256) as u8).collect();
    let (input, ct) = (path(dir.path(), "in.bin"), path(dir.path(), "in.ct"));
    std::fs::write(&input, &plain).unwrap();
    let args = ["encrypt", "--key", "files", "--context", "order-1001"];
    ok(
        &addr,
        t,
        &[&args[..], &["--in", &input, "--out", &ct]].concat(),
        b"",
    );
    let text = std::fs::read_to_string(&ct).unwrap();
    assert!(
        text.starts_with("kms:00001:") && text.ends_with('\n'),
        "{text}"
    );
    let back = ok(
        &addr,
        t,
        &[
            "decrypt",
            "--key",
            "files",
            "--context",
            "order-1001",
            "--in",
            &ct,
        ],
        b"",
    );
    assert_eq!(back.stdout, plain);
    // The same ciphertext opens through the HTTP API (it is the API's text form).
    let (s, b) = http.post(
        "/v1/keys/files/decrypt",
        Some(&app),
        &json!({ "ciphertext": text.trim(), "context": "b3JkZXItMTAwMQ==" }),
    );
    assert_eq!(s, 200, "{b}");
    // The wrong context, or none, fails with the server's code and a non-zero exit.
    for wrong in [&["--context", "order-9999"][..], &[][..]] {
        let out = fails(
            &addr,
            t,
            &[&["decrypt", "--key", "files", "--in", &ct][..], wrong].concat(),
            b"",
            "decryption_failed",
        );
        assert!(out.stdout.is_empty());
    }

    // Pipes: stdin in, stdout out; a binary context given as base64.
    let ct = ok(
        &addr,
        t,
        &["encrypt", "--key", "files", "--context-base64", "AAH/"],
        b"4111111111111111",
    )
    .stdout;
    let back = ok(
        &addr,
        t,
        &["decrypt", "--key", "files", "--context-base64", "AAH/"],
        &ct,
    );
    assert_eq!(back.stdout, b"4111111111111111");

    // Rewrap after a rotation: the new ciphertext names version 2 and opens to the same bytes.
    let (s, b) = http.post(
        "/v1/admin/keys/files/rotate",
        Some(ROOT),
        &json!({ "reason": "cli test" }),
    );
    assert_eq!(s, 200, "{b}");
    let rewrapped = ok(
        &addr,
        t,
        &["rewrap", "--key", "files", "--context-base64", "AAH/"],
        &ct,
    );
    assert!(
        rewrapped.text().starts_with("kms:00002:"),
        "{}",
        rewrapped.text()
    );
    let back = ok(
        &addr,
        t,
        &["decrypt", "--key", "files", "--context-base64", "AAH/"],
        &rewrapped.stdout,
    );
    assert_eq!(back.stdout, b"4111111111111111");

    // A data key: the wrapped key on stdout, the raw key in a private file; decrypting the
    // wrapped key gives the same bytes.
    let raw = path(dir.path(), "dk.bin");
    let wrapped = ok(
        &addr,
        t,
        &["datakey", "--key", "files", "--plaintext-out", &raw],
        b"",
    );
    assert!(
        wrapped.text().starts_with("kms:00002:"),
        "{}",
        wrapped.text()
    );
    let key = std::fs::read(&raw).unwrap();
    assert_eq!(key.len(), 32);
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&raw).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    }
    let opened = ok(&addr, t, &["decrypt", "--key", "files"], &wrapped.stdout);
    assert_eq!(opened.stdout, key);
    let small = path(dir.path(), "dk128.bin");
    ok(
        &addr,
        t,
        &[
            "datakey",
            "--key",
            "files",
            "--bits",
            "128",
            "--plaintext-out",
            &small,
        ],
        b"",
    );
    assert_eq!(std::fs::read(&small).unwrap().len(), 16);
    fails(
        &addr,
        t,
        &["datakey", "--key", "files", "--bits", "512"],
        b"",
        "128 or 256 bits",
    );

    // No token: the message says where the token goes.
    fails(
        &addr,
        None,
        &["encrypt", "--key", "files"],
        b"x",
        "KMS_TOKEN",
    );
    // Another app, without a grant, gets the server's refusal.
    let other = http.create_app("other");
    fails(
        &addr,
        Some(&other),
        &["encrypt", "--key", "files"],
        b"x",
        "403 operation_not_granted",
    );
    // An empty ciphertext is named as such before anything is sent.
    fails(
        &addr,
        t,
        &["decrypt", "--key", "files"],
        b"\n",
        "no ciphertext",
    );
}

#[test]
fn signatures_and_macs_verify_and_a_tampered_file_fails_with_a_non_zero_exit() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, addr, app) = server_with_app(
        dir.path(),
        "release",
        &[
            ("signer", "ecdsa-p256", &["sign", "verify"]),
            ("macs", "hmac-sha256", &["hmac"]),
        ],
    );
    let t = Some(app.as_str());

    let doc = path(dir.path(), "release.tar");
    let sig = path(dir.path(), "release.sig");
    let content: Vec<u8> = (0..2000u32).map(|i| (i * 7 % 256) as u8).collect();
    std::fs::write(&doc, &content).unwrap();
    ok(
        &addr,
        t,
        &["sign", "--key", "signer", "--in", &doc, "--out", &sig],
        b"",
    );
    let signature = std::fs::read_to_string(&sig).unwrap();
    assert!(signature.starts_with("kms:00001:"), "{signature}");
    let out = ok(
        &addr,
        t,
        &[
            "verify",
            "--key",
            "signer",
            "--in",
            &doc,
            "--signature-file",
            &sig,
        ],
        b"",
    );
    assert_eq!(out.text(), "valid\n");
    // The signature given inline, the document on stdin.
    ok(
        &addr,
        t,
        &["verify", "--key", "signer", "--signature", signature.trim()],
        &content,
    );

    // One changed byte: exit status 1 and a message that says the signature is invalid.
    let mut tampered = content.clone();
    tampered[1000] ^= 1;
    let bad = path(dir.path(), "tampered.tar");
    std::fs::write(&bad, &tampered).unwrap();
    let out = cli(
        &addr,
        t,
        &[
            "verify",
            "--key",
            "signer",
            "--in",
            &bad,
            "--signature-file",
            &sig,
        ],
        b"",
    );
    assert!(!out.ok, "a tampered file verified");
    assert!(
        out.stderr.contains("INVALID") && out.stderr.contains("signature does not match"),
        "{}",
        out.stderr
    );
    assert!(out.stdout.is_empty());
    // A signature that is not `kms:NNNNN:<base64>` is the server's 400, also non-zero.
    fails(
        &addr,
        t,
        &[
            "verify",
            "--key",
            "signer",
            "--in",
            &doc,
            "--signature",
            "not-a-signature",
        ],
        b"",
        "400 invalid_signature",
    );

    // HMAC: the tag, then --verify on the same and on a changed input.
    let tag = ok(&addr, t, &["hmac", "--key", "macs", "--in", &doc], b"").text();
    assert!(tag.starts_with("kms:00001:"), "{tag}");
    let out = ok(
        &addr,
        t,
        &[
            "hmac",
            "--key",
            "macs",
            "--in",
            &doc,
            "--verify",
            tag.trim(),
        ],
        b"",
    );
    assert_eq!(out.text(), "valid\n");
    fails(
        &addr,
        t,
        &[
            "hmac",
            "--key",
            "macs",
            "--in",
            &bad,
            "--verify",
            tag.trim(),
        ],
        b"",
        "INVALID: the MAC does not match",
    );
}

#[test]
fn random_bytes_come_raw_hex_or_base64_in_the_length_asked() {
    let dir = tempfile::tempdir().unwrap();
    let server = dev_server(dir.path());
    let addr = server.url("");
    let app = Http::new(&server).create_app("nonces");
    let t = Some(app.as_str());
    let a = ok(&addr, t, &["random", "48"], b"").stdout;
    let b = ok(&addr, t, &["random", "48"], b"").stdout;
    assert_eq!((a.len(), b.len()), (48, 48));
    assert_ne!(a, b);
    assert_eq!(ok(&addr, t, &["random"], b"").stdout.len(), 32);
    let hex = ok(&addr, t, &["random", "16", "--hex"], b"").text();
    assert!(
        hex.len() == 33 && hex.trim().chars().all(|c| c.is_ascii_hexdigit()),
        "{hex}"
    );
    let b64 = ok(&addr, t, &["random", "3", "--base64"], b"").text();
    assert_eq!(b64.trim().len(), 4, "{b64}");
    for bad in ["0", "1025"] {
        fails(&addr, t, &["random", bad], b"", "1..=1024");
    }
}
