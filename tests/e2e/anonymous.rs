//! What a caller without a credential sees: the metrics (they name keys, apps
//! and operations) only from the addresses in `[server] metrics_from` (default loopback), the seal
//! status without the master key's id and check value, and an unseal reset at most once a minute.

use std::process::Command;

use serde_json::{Value, json};

use crate::support::*;

/// `GET url` with curl from the source address `from` (all of 127.0.0.0/8 is local).
fn get_from(from: &str, url: &str) -> (u16, String) {
    let out = Command::new("curl")
        .args(["-s", "--interface", from, "-w", "\n%{http_code}", url])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let (body, status) = text.rsplit_once('\n').unwrap();
    (status.parse().unwrap(), body.to_owned())
}

#[test]
fn anonymous_callers_read_no_metrics_from_afar_no_master_key_and_cannot_keep_resetting_the_unseal()
{
    let dir = tempfile::tempdir().unwrap();
    let server = dev_server(dir.path());
    let http = Http::new(&server);
    http.create_key("anon-cards");

    // Metrics from another host (here: another loopback address than the scraper's).
    let (s, body) = get_from("127.0.0.5", &server.url("/metrics"));
    assert_eq!(s, 403, "metrics served to a stranger: {body}");
    assert!(!body.contains("anon-cards"), "{body}");
    let refusal: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(refusal["error"]["code"], "metrics_forbidden", "{body}");
    // The node's own scraper still reads them.
    let (s, body) = get_from("127.0.0.1", &server.url("/metrics"));
    assert_eq!(s, 200, "{body}");
    assert!(body.contains("kms_"), "{body}");

    // The seal status: what custodians need, not which master key or its check value.
    let (s, anon) = http.get("/v1/sys/seal-status", None);
    assert_eq!(s, 200, "{anon}");
    assert_eq!(anon["sealed"], false);
    assert!(
        anon.get("kcv").is_none() && anon.get("master_key_id").is_none(),
        "anonymous seal status shows the master key: {anon}"
    );
    let (s, admin) = http.get("/v1/sys/seal-status", Some(ROOT));
    assert_eq!(s, 200, "{admin}");
    assert!(admin["kcv"].is_string(), "{admin}");

    // Resetting the custodians' unseal progress, again and again.
    let first = http.post("/v1/sys/unseal", None, &json!({ "reset": true }));
    assert_ne!(first.0, 429, "{}", first.1);
    let again = http.post("/v1/sys/unseal", None, &json!({ "reset": true }));
    assert_error(&again, 429, "unseal_reset_throttled");
}
