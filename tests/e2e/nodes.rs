//! Watching the nodes (`GET /v1/admin/nodes`, the console's zones page): a service node that
//! follows the feed is `ok` with no lag, reporting `ready`; stopped, its `last_seen` stops and it
//! turns `stale`; a node the store pins but that never called is `never_seen`.

use std::time::Duration;

use serde_json::Value;

use crate::cluster::Cluster;
use crate::console::Console;
use crate::process::Server;
use crate::support::{ROOT, eventually, eventually_some};

/// The listing's entry for `cert`'s node.
fn node(store: &Server, cluster: &Cluster, cert: &str) -> Value {
    let (s, b) = store.http().get("/v1/admin/nodes", Some(ROOT));
    assert_eq!(s, 200, "{b}");
    let fingerprint = cluster.fingerprint(cert);
    b["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["fingerprint"] == fingerprint.as_str())
        .cloned()
        .unwrap_or_else(|| panic!("{cert} is not listed: {b}"))
}

/// The zones page's row for `cert`'s node: its `data-status`.
fn row_status(console: &Console, cluster: &Cluster, cert: &str) -> String {
    let page = console.get("/ui/zones");
    assert_eq!(page.status, 200, "{}", page.body);
    let marker = format!(
        r#"data-fingerprint="{}" data-status=""#,
        cluster.fingerprint(cert)
    );
    let at = page
        .body
        .find(&marker)
        .unwrap_or_else(|| panic!("no row for {cert}: {}", page.body));
    let rest = &page.body[at + marker.len()..];
    rest[..rest.find('"').unwrap()].to_owned()
}

#[test]
fn a_syncing_node_is_ok_a_stopped_one_turns_stale_and_one_never_started_is_never_seen() {
    let cluster = Cluster::new(None);
    let store = cluster.start_store();
    let admin = store.http();
    cluster.zone_keygen("n1", "zone-a");
    cluster.register_zone(&admin, "zone-a");
    admin.create_key("cards");

    // Before any node calls: every pinned node is listed, none seen.
    let (s, listed) = admin.get("/v1/admin/nodes", Some(ROOT));
    assert_eq!(s, 200, "{listed}");
    assert_eq!(listed["stale_after_seconds"], 15, "{listed}");
    let nodes = listed["nodes"].as_array().unwrap();
    assert_eq!(
        nodes.len(),
        4,
        "n1, n2 (zone-a), n3 (zone-b), manage: {listed}"
    );
    assert!(
        nodes
            .iter()
            .all(|n| n["status"] == "never_seen" && n["last_seen"].is_null())
    );
    let kinds: Vec<(&str, &str)> = nodes
        .iter()
        .map(|n| {
            (
                n["kind"].as_str().unwrap(),
                n["zone"].as_str().unwrap_or("-"),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("service", "zone-a"),
            ("service", "zone-a"),
            ("service", "zone-b"),
            ("manage", "-")
        ]
    );

    let n1 = cluster.start_service("n1", "127.0.0.3", "zone-a");
    // A change after it started: it follows the feed to the store's revision.
    admin.create_key("more");
    let seen = eventually_some(Duration::from_secs(20), "n1 ok, ready, no lag", || {
        let n = node(&store, &cluster, "n1");
        (n["status"] == "ok"
            && n["reported_status"] == "ready"
            && n["lag_revisions"] == 0
            && n["applied_revision"] == n["store_revision"])
            .then_some(n)
    });
    assert!(seen["applied_revision"].as_u64().unwrap() >= 2, "{seen}");
    assert!(
        seen["seconds_since_contact"].as_f64().unwrap() < 15.0,
        "{seen}"
    );
    for never in ["n2", "n3", "manage"] {
        let n = node(&store, &cluster, never);
        assert_eq!(n["status"], "never_seen", "{never}: {n}");
        assert!(
            n["lag_revisions"].is_null() && n["reported_status"].is_null(),
            "{n}"
        );
    }

    // The console shows it under its zone, and the others marked as they are.
    let console = Console::with_session(&store.addr, ROOT);
    let page = console.get("/ui/zones");
    assert_eq!(page.status, 200, "{}", page.body);
    let zone_a = page.body.find("Service nodes of zone zone-a").unwrap();
    let n1_row = page.body.find(&cluster.fingerprint("n1")).unwrap();
    let not_registered = page.body.find("zones not registered").unwrap();
    let n3_row = page.body.find(&cluster.fingerprint("n3")).unwrap();
    assert!(
        zone_a < n1_row && n1_row < not_registered && not_registered < n3_row,
        "{}",
        page.body
    );
    assert_eq!(row_status(&console, &cluster, "n1"), "ok");
    assert_eq!(row_status(&console, &cluster, "n2"), "never_seen");
    assert!(page.body.contains(">ready<"), "{}", page.body);

    // Stopped: its last contact stays where it was, and it turns stale.
    n1.kill();
    let stopped_at = node(&store, &cluster, "n1")["last_seen"].clone();
    let stale = eventually_some(Duration::from_secs(40), "n1 stale", || {
        let n = node(&store, &cluster, "n1");
        (n["status"] == "stale").then_some(n)
    });
    // The write in flight when it was stopped may land once; nothing after.
    let last = stale["last_seen"].clone();
    assert!(
        last.as_str() >= stopped_at.as_str(),
        "{stopped_at} → {last}"
    );
    assert!(
        stale["seconds_since_contact"].as_f64().unwrap() > 15.0,
        "{stale}"
    );
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(node(&store, &cluster, "n1")["last_seen"], last);
    // The revision moves on without it: it lags.
    admin.create_key("after");
    eventually(Duration::from_secs(5), "n1 lags", || {
        node(&store, &cluster, "n1")["lag_revisions"].as_u64() >= Some(1)
    });
    assert_eq!(row_status(&console, &cluster, "n1"), "stale");
    let page = console.get("/ui/zones");
    assert!(
        page.body.contains("<strong>stale</strong>"),
        "{}",
        page.body
    );
    assert_eq!(node(&store, &cluster, "n2")["status"], "never_seen");
}

/// The attack: a node's certificate reports a readiness made of markup and a revision that is no
/// number. The store records a known word (`unknown`) and no revision, and the console shows
/// nothing of it; a manage node is listed as seen, with nothing reported. Listing needs a token,
/// and a service node's certificate gets no control plane on the internal listener.
#[test]
fn what_a_node_reports_is_recorded_as_a_known_word_and_listing_needs_an_administrator() {
    let cluster = Cluster::new(None);
    let store = cluster.start_store();
    let (s, b) = cluster.internal(Some("n3")).get_with(
        "/internal/v1/changes?after=0",
        &[
            ("X-Kms-Node-Status", "<script>alert(1)</script>"),
            ("X-Kms-Node-Applied", "-1; DROP TABLE node_contacts"),
        ],
    );
    assert_eq!(s, 200, "{b}");
    let (s, b) = cluster
        .internal(Some("manage"))
        .get("/internal/v1/revision", None);
    assert_eq!(s, 200, "{b}");
    let n3 = eventually_some(Duration::from_secs(10), "n3 seen", || {
        let n = node(&store, &cluster, "n3");
        (n["status"] == "ok").then_some(n)
    });
    assert_eq!(n3["reported_status"], "unknown", "{n3}");
    assert!(
        n3["applied_revision"].is_null() && n3["lag_revisions"].is_null(),
        "{n3}"
    );
    let manage = node(&store, &cluster, "manage");
    assert_eq!(
        (manage["kind"].as_str(), manage["status"].as_str()),
        (Some("manage"), Some("ok"))
    );
    assert!(manage["reported_status"].is_null(), "{manage}");
    let page = Console::with_session(&store.addr, ROOT).get("/ui/zones");
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(!page.body.contains("<script>alert"), "{}", page.body);
    assert!(page.body.contains(">unknown<"), "{}", page.body);

    let (s, b) = store.http().get("/v1/admin/nodes", None);
    assert_eq!(s, 401, "{b}");
    assert_eq!(b["error"]["code"], "missing_token", "{b}");
    let (s, b) = cluster
        .internal(Some("n1"))
        .get("/v1/admin/nodes", Some(ROOT));
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (403, Some("not_a_manage_node")),
        "{b}"
    );
}
