//! Grants and refusals, and that every refusal is audited.

use kms::testing::RunningServer;
use kms_engine::audit::Outcome;
use kms_engine::store::AuditQuery;
use serde_json::json;

use crate::support::*;

/// The audit log, of one actor (or everyone's for ""); also used by the Transit tests.
pub fn audit(server: &RunningServer, actor: &str) -> Vec<kms_engine::audit::AuditRecord> {
    let store = server.state.control.store.clone();
    let query = AuditQuery {
        actor: (!actor.is_empty()).then(|| actor.into()),
        ..Default::default()
    };
    server
        .state
        .io
        .block_on(async move { store.audit_log(&query).await })
        .unwrap()
}

#[test]
fn an_app_without_a_grant_is_refused_and_the_refusal_is_audited() {
    let dir = tempfile::tempdir().unwrap();
    let server = dev_server(dir.path());
    let http = Http::new(&server);
    http.create_key("cards");
    let reader = http.create_app("reader");
    let outsider = http.create_app("outsider");
    http.grant("cards", "reader", &["decrypt"]);
    let ct = http.seal(ROOT, "cards", b"secret", None);

    assert_error(
        &http.encrypt(&outsider, "cards", b"x", None),
        403,
        "operation_not_granted",
    );
    assert_error(
        &http.decrypt(&outsider, "cards", &ct, None),
        403,
        "operation_not_granted",
    );
    // A grant covers only its operations.
    assert_error(
        &http.encrypt(&reader, "cards", b"x", None),
        403,
        "operation_not_granted",
    );
    assert_eq!(http.open(&reader, "cards", &ct, None), b"secret");

    // The refusals are in the audit table, with who, what, on which key and why.
    let log = audit(&server, "app:outsider");
    let refused: Vec<_> = log
        .iter()
        .map(|r| {
            (
                r.event.action.as_str(),
                r.event.target.as_deref(),
                r.event.outcome,
                r.event.code.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        refused,
        vec![
            (
                "encrypt",
                Some("key:cards"),
                Outcome::Denied,
                Some("operation_not_granted")
            ),
            (
                "decrypt",
                Some("key:cards"),
                Outcome::Denied,
                Some("operation_not_granted")
            ),
        ]
    );
    assert_eq!(log[0].event.remote.as_deref(), Some("127.0.0.1"));
    assert_eq!(audit(&server, "app:reader").len(), 1);

    // Revoking the grant (an empty list) takes effect on the next request.
    http.grant("cards", "reader", &[]);
    assert_error(
        &http.decrypt(&reader, "cards", &ct, None),
        403,
        "operation_not_granted",
    );
}

#[test]
fn missing_and_unknown_tokens_get_401_and_apps_cannot_administer() {
    let dir = tempfile::tempdir().unwrap();
    let server = dev_server(dir.path());
    let http = Http::new(&server);
    http.create_key("k");
    let app = http.create_app("app");

    let body = json!({ "plaintext": "" });
    assert_error(
        &http.post("/v1/keys/k/encrypt", None, &body),
        401,
        "missing_token",
    );
    assert_error(
        &http.post("/v1/keys/k/encrypt", Some("kms_forged"), &body),
        401,
        "invalid_token",
    );
    assert_error(
        &http.post("/v1/admin/keys", None, &json!({ "name": "x" })),
        401,
        "missing_token",
    );
    assert_error(
        &http.post("/v1/admin/keys", Some(&app), &json!({ "name": "x" })),
        403,
        "forbidden",
    );
    assert_error(&http.get("/v1/admin/keys/k", Some(&app)), 403, "forbidden");

    let anonymous = audit(&server, "anonymous");
    let codes: Vec<_> = anonymous
        .iter()
        .filter_map(|r| r.event.code.as_deref())
        .collect();
    assert_eq!(
        codes,
        vec!["missing_token", "invalid_token", "missing_token"]
    );
    let forbidden = audit(&server, "app:app");
    assert_eq!(forbidden.len(), 2);
    assert!(
        forbidden
            .iter()
            .all(|r| r.event.code.as_deref() == Some("forbidden"))
    );
    // The token itself is never written to the audit log.
    let all = audit(&server, "");
    assert!(all.len() > 5);
    assert!(!all.iter().any(|r| format!("{:?}", r.event).contains(&app)));
}
