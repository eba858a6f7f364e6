//! Forging the server's log through what a caller sends.

use std::time::Duration;

use serde_json::json;

use crate::process::*;
use crate::support::{ROOT, eventually};

/// An attacker logs in with a user name that carries a newline and a made-up log line, hoping an
/// operator (or a log shipper) reads a second event they wrote: the server's log shows the
/// refused login on one line, the newline escaped, and no line starts with the forged text.
#[test]
fn a_user_name_with_a_newline_cannot_forge_a_log_line() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_dev_with(
        &dir.path().join("data"),
        ROOT,
        &[],
        &[("KMS_LOG", "info".to_owned())],
    );
    let forged = "INFO kms: root token rotated by security_admin";
    let name = format!("mallory\n{forged}\r\n\u{1b}[2K{forged}");
    let (s, _) = server.http().post(
        "/v1/auth/login",
        None,
        &json!({ "user": name, "password": "x", "totp": "000000" }),
    );
    assert!((400..500).contains(&s), "{s}");
    eventually(
        Duration::from_secs(10),
        "the refused login in the log",
        || String::from_utf8_lossy(&server.output()).contains("login refused"),
    );
    let output = String::from_utf8_lossy(&server.output()).into_owned();
    for line in output.lines() {
        assert!(
            !line.contains("\u{1b}[2K") && !line.trim_start().starts_with(forged),
            "a forged line in the server's log:\n{output}"
        );
    }
    let refused: Vec<&str> = output
        .lines()
        .filter(|l| l.contains("login refused"))
        .collect();
    assert_eq!(refused.len(), 1, "{output}");
    assert!(
        refused[0].contains(r"mallory\nINFO kms: root token rotated"),
        "{output}"
    );
}
