//! `/metrics` counts what the data plane did; `/readyz` tells a load balancer whether to send
//! traffic.

use kms::options::ServeOptions;
use kms::testing::RunningServer;
use serde_json::json;

use crate::support::*;

/// The value of the one sample of `metric` whose labels include every `labels` pair.
pub fn sample(text: &str, metric: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines()
        .filter(|l| l.starts_with(&format!("{metric}{{")) || l.starts_with(&format!("{metric} ")))
        .find(|l| {
            labels
                .iter()
                .all(|(k, v)| l.contains(&format!("{k}=\"{v}\"")))
        })
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

pub fn scrape(server: &RunningServer) -> String {
    let mut r = ureq::get(&server.url("/metrics")).call().unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let ct = r.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(ct.starts_with("text/plain"), "{ct}");
    r.body_mut().read_to_string().unwrap()
}

#[test]
fn metrics_count_requests_by_operation_key_and_outcome() {
    let dir = tempfile::tempdir().unwrap();
    let server = dev_server(dir.path());
    let http = Http::new(&server);
    // Names of their own: the recorder is shared by every server in this test process.
    http.create_key("obs-pan");
    let token = http.create_app("obs-shop");
    http.grant("obs-pan", "obs-shop", &["encrypt"]);
    for _ in 0..3 {
        http.seal(&token, "obs-pan", b"4000123412341234", None);
    }
    let items: Vec<_> = (0..5).map(|_| json!({ "plaintext": b64(b"x") })).collect();
    let (s, _) = http.post(
        "/v1/keys/obs-pan/encrypt",
        Some(&token),
        &json!({ "items": items }),
    );
    assert_eq!(s, 200);
    // Refused: no decrypt grant. And a made-up key name, which must not become a label.
    assert_error(
        &http.decrypt(&token, "obs-pan", "kms:00001:AAAA", None),
        403,
        "operation_not_granted",
    );
    let (s, _) = http.post(
        "/v1/keys/obs-no-such-key/encrypt",
        Some(&token),
        &json!({ "plaintext": b64(b"x") }),
    );
    assert_eq!(s, 403);

    let text = scrape(&server);
    let ok = [
        ("operation", "encrypt"),
        ("key", "obs-pan"),
        ("outcome", "ok"),
    ];
    assert_eq!(
        sample(&text, "kms_requests_total", &ok),
        Some(4.0),
        "{text}"
    );
    assert!(
        sample(
            &text,
            "kms_requests_total",
            &[
                ("operation", "decrypt"),
                ("outcome", "operation_not_granted")
            ]
        )
        .is_some_and(|n| n >= 1.0),
        "{text}"
    );
    assert!(!text.contains("obs-no-such-key"), "{text}");
    assert!(
        sample(&text, "kms_items_total", &[("operation", "encrypt")]).is_some_and(|n| n >= 8.0),
        "{text}"
    );
    assert!(
        sample(
            &text,
            "kms_request_duration_seconds_count",
            &[("operation", "encrypt")]
        )
        .is_some_and(|n| n >= 4.0),
        "{text}"
    );
    assert!(
        text.contains("kms_request_duration_seconds_bucket{operation=\"encrypt\",le=\"0.001\"}"),
        "{text}"
    );
    // The workers' caches: the first encrypt unwrapped the key (a miss), the rest hit.
    assert!(
        sample(&text, "kms_key_cache_misses_total", &[("lane", "fast")]).is_some_and(|n| n >= 1.0),
        "{text}"
    );
    assert!(
        sample(&text, "kms_key_cache_hits_total", &[("lane", "fast")]).is_some_and(|n| n >= 3.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "kms_crypto_workers", &[("lane", "fast")]),
        Some(2.0)
    );
    assert!(sample(&text, "kms_queue_depth", &[("lane", "slow")]).is_some());
    assert!(
        sample(
            &text,
            "kms_hsm_operations_total",
            &[("operation", "unwrap")]
        )
        .is_some_and(|n| n >= 1.0),
        "{text}"
    );
    // Gauges are per process, and other tests' servers (one with its store taken away) set
    // them too: only their presence is this test's to check; /readyz checks the values.
    for gauge in [
        "kms_sync_healthy",
        "kms_sync_lag_seconds",
        "kms_sync_applied_revision",
    ] {
        assert!(sample(&text, gauge, &[]).is_some(), "{gauge}: {text}");
    }
}

#[test]
fn readyz_follows_the_seal() {
    // A fresh KMS without a master key cannot serve.
    let dir = tempfile::tempdir().unwrap();
    let mut opts = ServeOptions::new(dir.path().to_owned());
    opts.listen = "127.0.0.1:0".parse().unwrap();
    opts.http_workers = 1;
    opts.pool.workers = 1;
    let server = RunningServer::start(opts).unwrap();
    let http = Http::new(&server);
    let (s, body) = http.get("/readyz", None);
    assert_eq!(
        (s, body["status"].as_str()),
        (503, Some("not_initialized")),
        "{body}"
    );
    // Liveness is not readiness.
    assert_eq!(http.get("/healthz", None).0, 200);
    server.stop();

    // Dev mode is initialised and unsealed.
    let dir = tempfile::tempdir().unwrap();
    let server = dev_server(dir.path());
    let (s, body) = Http::new(&server).get("/readyz", None);
    assert_eq!((s, body["status"].as_str()), (200, Some("ready")), "{body}");
    assert!(
        body["sync_lag_seconds"].as_f64().is_some_and(|l| l < 5.0),
        "{body}"
    );
}

#[test]
fn the_slow_lane_runs_under_sched_idle() {
    let dir = tempfile::tempdir().unwrap();
    let _server = dev_server(dir.path());
    // Every slow-lane thread in this process (other tests' servers too) is SCHED_IDLE (5), and
    // the fast lane's are SCHED_OTHER (0).
    let mut seen = (0, 0);
    for task in std::fs::read_dir("/proc/self/task").unwrap() {
        let path = task.unwrap().path();
        let Ok(comm) = std::fs::read_to_string(path.join("comm")) else {
            continue;
        };
        let Ok(sched) = std::fs::read_to_string(path.join("sched")) else {
            continue;
        };
        let policy = sched
            .lines()
            .find(|l| l.starts_with("policy"))
            .and_then(|l| l.rsplit(' ').next())
            .unwrap()
            .trim()
            .to_owned();
        if comm.starts_with("kms-slow-") {
            assert_eq!(policy, "5", "{comm}");
            seen.0 += 1;
        } else if comm.starts_with("kms-fast-") {
            assert_eq!(policy, "0", "{comm}");
            seen.1 += 1;
        }
    }
    assert!(seen.0 >= 2 && seen.1 >= 2, "{seen:?}");
}

#[test]
fn readyz_is_degraded_while_the_store_is_away_and_cached_keys_keep_serving() {
    let dir = tempfile::tempdir().unwrap();
    let server = dev_server(dir.path());
    let http = Http::new(&server);
    http.create_key("outage-pan");
    let token = http.create_app("outage-shop");
    http.grant("outage-pan", "outage-shop", &["encrypt", "decrypt"]);
    let before = http.seal(&token, "outage-pan", b"4000123412341234", None);

    // The store goes away (its connections are closed: every call is `Unavailable`).
    server.state.io.block_on(server.state.control.store.close());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let body = loop {
        let (s, body) = http.get("/readyz", None);
        assert_eq!(s, 200, "{body}");
        if body["status"] == "degraded" || std::time::Instant::now() > deadline {
            break body;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert_eq!(body["status"], "degraded", "{body}");

    // Keys already in the directory keep serving, both ways; changes cannot be made.
    assert_eq!(
        http.open(&token, "outage-pan", &before, None),
        b"4000123412341234"
    );
    let during = http.seal(&token, "outage-pan", b"5500000000000004", None);
    assert_eq!(
        http.open(&token, "outage-pan", &during, None),
        b"5500000000000004"
    );
    let (s, body) = http.post(
        "/v1/admin/keys",
        Some(ROOT),
        &json!({ "name": "outage-new" }),
    );
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (503, Some("store_unavailable")),
        "{body}"
    );
    let (_, ready) = http.get("/readyz", None);
    assert_eq!(ready["status"], "degraded", "{ready}");
    assert!(
        ready["sync_lag_seconds"].as_f64().is_some_and(|l| l > 0.0),
        "{ready}"
    );
}
