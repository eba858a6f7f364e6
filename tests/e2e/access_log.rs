//! The server's log as a log shipper reads it: `[log] format = "json"` writes one JSON object per
//! line, and every HTTP request leaves one access line (target `kms::access`) with the method,
//! the route's template, the status, the duration and the caller, and nothing the caller sent.

use std::time::Duration;

use serde_json::{Value, json};

use crate::process::*;
use crate::support::{ROOT, b64, eventually};

/// The access lines (target `kms::access`) in a JSON log, every line of which must be JSON.
fn json_lines(output: &[u8]) -> Vec<Value> {
    let text = String::from_utf8_lossy(output);
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

#[test]
fn json_logs_parse_and_access_lines_name_the_route_and_caller_never_the_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("kms.toml");
    std::fs::write(&config, "[log]\nformat = \"json\"\n").unwrap();
    let server = Server::start_dev_with(
        &dir.path().join("data"),
        ROOT,
        &["--config", config.to_str().unwrap()],
        &[("KMS_LOG", "info".to_owned())],
    );
    let http = server.http();
    http.create_key("ledger");
    let token = http.create_app("shop");
    http.grant("ledger", "shop", &["encrypt", "decrypt"]);
    let pan = "4111111111111111";
    let (s, b) = http.post(
        "/v1/keys/ledger/encrypt",
        Some(&token),
        &json!({ "plaintext_utf8": pan }),
    );
    assert_eq!(s, 200, "{b}");
    let ciphertext = b["ciphertext"].as_str().unwrap().to_owned();
    assert_eq!(
        http.open(&token, "ledger", &ciphertext, None),
        pan.as_bytes()
    );
    let forged = "not-a-token-0123456789";
    let (s, _) = http.post(
        "/v1/keys/ledger/encrypt",
        Some(forged),
        &json!({ "plaintext": b64(pan.as_bytes()) }),
    );
    assert_eq!(s, 401);

    let access = |lines: &[Value]| -> Vec<Value> {
        lines
            .iter()
            .filter(|l| l["target"] == "kms::access")
            .cloned()
            .collect()
    };
    eventually(Duration::from_secs(10), "the access lines", || {
        access(&json_lines(&server.output())).len() >= 6
    });
    let output = server.output();
    let lines = json_lines(&output);
    assert!(
        lines
            .iter()
            .all(|l| l["timestamp"].is_string() && l["level"].is_string())
    );
    let access = access(&lines);
    let find = |route: &str, status: u64| {
        access
            .iter()
            .find(|l| l["route"] == route && l["status"] == status)
            .unwrap_or_else(|| panic!("no {route} {status} line in {access:#?}"))
    };
    let encrypt = find("/v1/keys/{name}/encrypt", 200);
    assert_eq!(encrypt["method"], "POST");
    assert_eq!(encrypt["caller"], "app:shop");
    assert!(encrypt["duration_us"].is_u64(), "{encrypt}");
    assert_eq!(find("/v1/keys/{name}/decrypt", 200)["caller"], "app:shop");
    assert_eq!(find("/v1/admin/keys", 201)["caller"], "root:dev");
    // A refused token: the line is there, without a caller.
    assert_eq!(find("/v1/keys/{name}/encrypt", 401)["caller"], "-");
    // The template, never the raw path (which names the key).
    assert!(
        access
            .iter()
            .all(|l| !l["route"].as_str().unwrap().contains("ledger"))
    );

    // No token, plaintext or ciphertext anywhere in the log.
    let text = String::from_utf8_lossy(&output);
    for secret in [
        ROOT,
        token.as_str(),
        forged,
        pan,
        &b64(pan.as_bytes()),
        &ciphertext["kms:00001:".len()..],
    ] {
        assert!(!text.contains(secret), "{secret} is in the log:\n{text}");
    }
}

/// The text log on a pipe carries no colour codes, and `KMS_LOG` filters the access lines by
/// their own target: `warn,kms::access=info` keeps them and drops the other info events.
#[test]
fn text_logs_on_a_pipe_have_no_colour_and_kms_log_selects_the_access_lines() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_dev_with(
        &dir.path().join("data"),
        ROOT,
        &[],
        &[("KMS_LOG", "warn,kms::access=info".to_owned())],
    );
    let (s, _) = server.http().get("/healthz", None);
    assert_eq!(s, 200);
    eventually(Duration::from_secs(10), "the access line", || {
        String::from_utf8_lossy(&server.output()).contains("kms::access")
    });
    let text = String::from_utf8_lossy(&server.output()).into_owned();
    assert!(!text.contains('\u{1b}'), "colour codes on a pipe:\n{text}");
    let line = text.lines().find(|l| l.contains("kms::access")).unwrap();
    assert!(
        line.contains("method=GET")
            && line.contains("route=\"/healthz\"")
            && line.contains("status=200"),
        "{line}"
    );
    // Other info events (actix's "starting service") are filtered out.
    assert!(!text.contains("starting service"), "{text}");
}
