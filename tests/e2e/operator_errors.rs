//! What the `kms` command says when an operator gets something wrong: each message names the
//! mistake and what to do instead.

use crate::process::*;
use crate::support::*;

/// `KMS_ADDR=127.0.0.1:8200` (no scheme) is refused before any connection, saying which schemes
/// to write; no server is needed to see it.
#[test]
fn an_address_without_a_scheme_says_to_write_one() {
    let run = kms_offline(&["status"], "", &[("KMS_ADDR", "127.0.0.1:8200")]);
    assert!(!run.ok);
    assert!(
        run.stderr.contains("no scheme")
            && run.stderr.contains("http://127.0.0.1:8200")
            && run.stderr.contains("https://127.0.0.1:8200"),
        "{}",
        run.stderr
    );
}

/// `https://` against a server that speaks plain HTTP: the message says so and gives the
/// `http://` address, instead of rustls's "corrupt message of type InvalidContentType".
#[test]
fn https_against_a_plain_http_server_says_it_speaks_http() {
    let dir = tempfile::tempdir().unwrap();
    let server = dev_server(dir.path());
    let http_addr = server.url("");
    let https_addr = http_addr.replacen("http://", "https://", 1);
    let run = kms_offline(&["status", "--addr", &https_addr], "", &[]);
    assert!(!run.ok);
    assert!(
        run.stderr.contains("speaks plain HTTP") && run.stderr.contains(&http_addr),
        "{}",
        run.stderr
    );
    // The right address works.
    assert!(kms(&["status"], &http_addr, "", &[]).ok);
}

/// `kms key show crads` names the key it did not find; `--algorithm aes256` lists the names
/// that would have worked.
#[test]
fn key_commands_name_the_missing_key_and_the_valid_algorithms() {
    let dir = tempfile::tempdir().unwrap();
    let server = dev_server(dir.path());
    let addr = server.url("");
    let env = [("KMS_TOKEN", ROOT)];
    let run = kms(&["key", "show", "crads"], &addr, "", &env);
    assert!(!run.ok);
    assert!(
        run.stderr.contains("key not found: crads"),
        "{}",
        run.stderr
    );
    let run = kms(
        &["key", "create", "cards", "--algorithm", "aes256"],
        &addr,
        "",
        &env,
    );
    assert!(!run.ok);
    for name in [
        "`aes256`",
        "aes-256-gcm",
        "aes-128-gcm",
        "ed25519",
        "rsa-4096",
    ] {
        assert!(run.stderr.contains(name), "{name}: {}", run.stderr);
    }
    assert!(kms(&["key", "create", "cards"], &addr, "", &env).ok);
}
