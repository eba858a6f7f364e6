//! The store's internal listener, attacked by someone holding one node's certificate: a
//! service node's certificate forging the caller's address, reaching the data plane,
//! asking for another zone's keys, back-dating audit events; a certificate from the internal CA
//! that the store's configuration does not name.

use serde_json::{Value, json};

use crate::cluster::Cluster;
use crate::process::Server;
use crate::support::{ROOT, b64};

/// A store with zones `zone-a` (node certificate `n1`) and `zone-b` (`n3`), key `cards` granted
/// to app `checkout` for encrypt and limited to `10.9.0.0/16`. Returns the app's token.
fn rig(cluster: &Cluster) -> (Server, String) {
    let store = cluster.start_store();
    let admin = store.http();
    cluster.zone_keygen("n1", "zone-a");
    cluster.zone_keygen("n3", "zone-b");
    for zone in ["zone-a", "zone-b"] {
        cluster.register_zone(&admin, zone);
    }
    admin.create_key("cards");
    let token = admin.create_app("checkout");
    admin.grant("cards", "checkout", &["encrypt"]);
    let (s, b) = admin.post(
        "/v1/admin/keys/cards/policy",
        Some(ROOT),
        &json!({ "allowed_cidrs": ["10.9.0.0/16"] }),
    );
    assert_eq!(s, 200, "{b}");
    (store, token)
}

fn code(answer: &(u16, Value)) -> (u16, Option<&str>) {
    (answer.0, answer.1["error"]["code"].as_str())
}

/// The audit entries refused with `code`.
fn refusals(store: &Server, code: &str) -> Vec<Value> {
    let (s, log) = store.http().get("/v1/admin/audit?limit=1000", Some(ROOT));
    assert_eq!(s, 200, "{log}");
    log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["code"] == code)
        .cloned()
        .collect()
}

/// The attack: a service node's certificate sends `X-Kms-Forwarded-For` with an address inside
/// the key's range, and the app's token, to the Transit encrypt on the internal listener.
#[test]
fn a_service_node_certificate_cannot_forge_the_callers_address() {
    let cluster = Cluster::new(None);
    let (store, token) = rig(&cluster);
    let body = json!({ "plaintext": b64(b"4111") });
    let forged = [
        ("X-Vault-Token", token.as_str()),
        ("X-Kms-Forwarded-For", "10.9.1.1"),
    ];
    // Through the internal listener with a service node's certificate: the header is refused.
    let n1 = cluster.internal(Some("n1"));
    let through = n1.post_with("/v1/transit/encrypt/cards", &forged, &body);
    assert_eq!(
        code(&through),
        (403, Some("forwarded_for_refused")),
        "{}",
        through.1
    );
    let refused = refusals(&store, "forwarded_for_refused");
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(
        refused[0]["actor"],
        format!("node:{}", cluster.fingerprint("n1"))
    );
    // Even a manage node's certificate does not reach the data plane there: it is not served.
    let manage = cluster.internal(Some("manage"));
    for path in ["/v1/transit/encrypt/cards", "/v1/keys/cards/encrypt"] {
        let (s, b) = manage.post_with(path, &forged, &body);
        assert_eq!(s, 404, "{path}: {b}");
    }
    // A manage node's forwarding still works, and names the caller it forwarded.
    let (s, b) = manage.post_with(
        "/v1/admin/keys",
        &[
            ("Authorization", &format!("Bearer {ROOT}")),
            ("X-Kms-Forwarded-For", "10.2.0.9"),
        ],
        &json!({ "name": "via-manage" }),
    );
    assert_eq!(s, 201, "{b}");
    let (_, log) = store
        .http()
        .get("/v1/admin/audit?action=create_key", Some(ROOT));
    assert_eq!(
        log["entries"].as_array().unwrap().last().unwrap()["remote"],
        "10.2.0.9",
        "{log}"
    );
}

/// The attack: a service node's certificate (no manage role) reaches the control plane on the
/// internal listener with an administrator's token it got hold of.
#[test]
fn a_service_node_certificate_gets_no_control_plane_and_an_unpinned_one_gets_nothing() {
    let cluster = Cluster::new(None);
    let (store, _) = rig(&cluster);
    let n1 = cluster.internal(Some("n1"));
    let answer = n1.get("/v1/admin/keys", Some(ROOT));
    assert_eq!(
        code(&answer),
        (403, Some("not_a_manage_node")),
        "{}",
        answer.1
    );
    // A manage node is not a service node: no keys, credentials or audit appends.
    let manage = cluster.internal(Some("manage"));
    let answer = manage.get("/internal/v1/credentials", None);
    assert_eq!(
        code(&answer),
        (403, Some("not_a_service_node")),
        "{}",
        answer.1
    );
    // A certificate from the internal CA that the store's configuration does not name.
    let stray = cluster.internal(Some("stray"));
    for path in [
        "/internal/v1/revision",
        "/internal/v1/zones/zone-a/keys",
        "/v1/admin/keys",
    ] {
        let answer = stray.get(path, Some(ROOT));
        assert_eq!(
            code(&answer),
            (403, Some("unknown_node")),
            "{path}: {}",
            answer.1
        );
    }
    assert_eq!(refusals(&store, "unknown_node").len(), 3);
}

/// The attack: a node of zone A asks for zone B's keys.
#[test]
fn a_node_of_one_zone_cannot_fetch_another_zones_keys() {
    let cluster = Cluster::new(None);
    let (store, _) = rig(&cluster);
    let n1 = cluster.internal(Some("n1"));
    let (s, own) = n1.get("/internal/v1/zones/zone-a/keys", None);
    assert_eq!(s, 200, "{own}");
    for path in [
        "/internal/v1/zones/zone-b/keys",
        "/internal/v1/zones/zone-c/keys",
    ] {
        let answer = n1.get(path, None);
        assert_eq!(
            code(&answer),
            (403, Some("zone_mismatch")),
            "{path}: {}",
            answer.1
        );
    }
    let id = own.as_array().unwrap()[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let answer = n1.get(&format!("/internal/v1/zones/zone-b/keys/{id}"), None);
    assert_eq!(code(&answer), (403, Some("zone_mismatch")), "{}", answer.1);
    let refused = refusals(&store, "zone_mismatch");
    assert_eq!(refused.len(), 3, "{refused:?}");
    assert!(
        refused
            .iter()
            .all(|e| e["actor"] == format!("node:{}", cluster.fingerprint("n1")))
    );
    // Zone B's own node gets them.
    let (s, b) = cluster
        .internal(Some("n3"))
        .get("/internal/v1/zones/zone-b/keys", None);
    assert_eq!(s, 200, "{b}");
}

/// The attack: a node appends an audit event dated in 1970, under another node's name.
#[test]
fn a_node_cannot_back_date_audit_events_and_they_name_the_node() {
    let cluster = Cluster::new(None);
    let (store, _) = rig(&cluster);
    let n1 = cluster.internal(Some("n1"));
    let event = json!([{
        "at": 1000, "actor": "app:checkout", "action": "encrypt", "target": "key:cards",
        "outcome": 2, "code": "back_dated", "remote": "10.9.1.1", "detail": "node=n3"
    }]);
    let (s, b) = n1.post_with("/internal/v1/audit", &[], &event);
    assert_eq!(s, 200, "{b}");
    let stored = refusals(&store, "back_dated");
    assert_eq!(stored.len(), 1, "{stored:?}");
    let at = stored[0]["at"].as_str().unwrap();
    assert!(!at.starts_with("1970"), "the node dated the event: {at}");
    let detail = stored[0]["detail"].as_str().unwrap();
    let fingerprint = cluster.fingerprint("n1");
    assert!(
        detail.starts_with(&format!("node={fingerprint} zone=zone-a")),
        "the store did not name the node that sent it: {detail}"
    );
    // The sequence is the store's: the event follows everything recorded before it.
    let (_, log) = store.http().get("/v1/admin/audit?limit=1000", Some(ROOT));
    let last = log["entries"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["code"], "back_dated", "{log}");
    // A manage node's certificate may not append audit events at all.
    let answer = cluster
        .internal(Some("manage"))
        .post_with("/internal/v1/audit", &[], &event);
    assert_eq!(
        code(&answer),
        (403, Some("not_a_service_node")),
        "{}",
        answer.1
    );
}

/// What a service node sends back through `POST /internal/v1/usage` fills the store's totals
/// and its hourly series alike: the series a key's page draws counts the service nodes' use.
#[test]
fn usage_sent_by_a_service_node_is_in_the_series() {
    let cluster = Cluster::new(None);
    let (store, _) = rig(&cluster);
    let admin = store.http();
    let (_, key) = admin.get("/v1/admin/keys/cards", Some(ROOT));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    let used = |operation: &str, count: u64| {
        json!({
            "key": key["id"], "version": 1, "principal": "app:checkout",
            "operation": operation, "count": count, "last_used": now,
        })
    };
    let (s, b) = cluster.internal(Some("n1")).post(
        "/internal/v1/usage",
        None,
        &json!([used("encrypt", 5), used("decrypt", 2), used("encrypt", 1)]),
    );
    assert_eq!((s, &b["recorded"]), (200, &json!(3)), "{b}");
    let (s, series) = admin.get("/v1/admin/keys/cards/usage", Some(ROOT));
    assert_eq!(s, 200, "{series}");
    let v1 = &series["versions"][0];
    assert_eq!(v1["version"], 1, "{series}");
    assert_eq!(v1["total"], 8, "{series}");
    let point = &v1["points"][0];
    assert_eq!(
        point["operations"],
        json!({ "decrypt": 2, "encrypt": 6 }),
        "{series}"
    );
    let (_, key) = admin.get("/v1/admin/keys/cards", Some(ROOT));
    let totals: u64 = key["usage"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["count"].as_u64().unwrap())
        .sum();
    assert_eq!(totals, 8);
}
