//! Master-key ceremonies as a custodian probing them would: every refused step and every failed
//! execution is in the audit trail, under who tried and with its code.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use crate::process::*;
use crate::support::Http;

/// `POST path` as custodian `who` (HTTP Basic).
fn as_custodian(addr: &str, who: &str, path: &str, body: &Value) -> (u16, Value) {
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .new_agent();
    let basic = STANDARD.encode(format!("{who}:{}", password(who)));
    Http::answer(
        agent
            .post(format!("{addr}{path}"))
            .header("Authorization", &format!("Basic {basic}"))
            .send_json(body),
    )
}

/// The audit entries for `action`, newest first.
fn audited(http: &Http, root: &str, action: &str) -> Vec<Value> {
    let (s, body) = http.get(&format!("/v1/admin/audit?action={action}"), Some(root));
    assert_eq!(s, 200, "{body}");
    body["entries"].as_array().unwrap().clone()
}

fn has(entries: &[Value], actor: &str, outcome: &str, code: &str) -> bool {
    entries
        .iter()
        .any(|e| e["actor"] == actor && e["outcome"] == outcome && e["code"] == code)
}

#[test]
fn every_refused_ceremony_step_and_failed_execution_is_audited() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "");
    let server = Server::start(&config, &[]);
    let addr = server.addr.clone();
    let out = ceremony(
        &addr,
        &["--operation", "create", "--shares", "3", "--threshold", "2"],
    );
    let root = field(&out, "Root token:")[0].to_owned();
    let http = server.http();
    let start = |who: &str, body: Value| as_custodian(&addr, who, "/v1/hsm/ceremonies", &body);
    let approve = |who: &str, id: &str, body: Value| {
        as_custodian(
            &addr,
            who,
            &format!("/v1/hsm/ceremonies/{id}/approve"),
            &body,
        )
    };

    // A plan that cannot be (destroy without naming a key).
    let (s, b) = start("bob", json!({ "operation": "destroy" }));
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (400, Some("invalid_request")),
        "{b}"
    );
    // An approval for a ceremony that does not exist, a malformed component, a second approval.
    let (s, b) = approve("carol", "no-such-ceremony", json!({}));
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (404, Some("ceremony_not_found")),
        "{b}"
    );
    let (s, b) = start(
        "alice",
        json!({ "operation": "create", "shares": 3, "threshold": 2 }),
    );
    assert_eq!(s, 201, "{b}");
    let second = b["id"].as_str().unwrap().to_owned();
    let (s, b) = approve("erin", &second, json!({ "component": "not hex" }));
    assert_eq!(s, 400, "{b}");
    let bad_component = b["error"]["code"].as_str().unwrap().to_owned();
    for who in ["alice", "bob", "carol"] {
        let (s, b) = approve(who, &second, json!({}));
        assert_eq!(s, 200, "{b}");
    }
    let (s, b) = approve("alice", &second, json!({}));
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (409, Some("already_approved")),
        "{b}"
    );
    // The approval that meets the quorum runs it, and it fails: the KMS already has a master key.
    let (s, b) = approve("dave", &second, json!({}));
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (409, Some("already_initialized")),
        "{b}"
    );

    let starts = audited(&http, &root, "ceremony_start");
    assert!(
        has(&starts, "custodian:bob", "denied", "invalid_request"),
        "{starts:?}"
    );
    let approvals = audited(&http, &root, "ceremony_approve");
    assert!(
        has(
            &approvals,
            "custodian:carol",
            "denied",
            "ceremony_not_found"
        ),
        "{approvals:?}"
    );
    assert!(
        has(&approvals, "custodian:erin", "denied", &bad_component),
        "{approvals:?}"
    );
    assert!(
        has(&approvals, "custodian:alice", "denied", "already_approved"),
        "{approvals:?}"
    );
    let failed = audited(&http, &root, "master_key_create");
    assert!(
        has(
            &failed,
            &format!("ceremony:{second}"),
            "failed",
            "already_initialized"
        ),
        "{failed:?}"
    );
}
