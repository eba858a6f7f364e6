//! The version lifecycle over HTTP, on a manual clock: rollback, minimum decryption version,
//! disable and enable, destruction scheduled, cancelled and carried out (material gone from the
//! store and from the workers), scheduled rotation with its notice and signed webhooks (retried
//! with backoff), and usage per version.

use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use kms::testing::RunningServer;
use kms_control::scheduler::{self, TickReport};
use kms_control::webhooks::Webhook;
use kms_engine::clock::{ManualClock, Timestamp};
use kms_engine::ids::KeyVersion;
use kms_engine::secret::SecretString;
use serde_json::{Value, json};
use sha2::Sha256;

use crate::support::*;
use crate::webhook_receiver::Receiver;

const DAY: i64 = 86_400_000;

pub fn manual_server(
    dir: &std::path::Path,
    webhooks: Vec<Webhook>,
) -> (RunningServer, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(Timestamp::from_millis(1_800_000_000_000)));
    let c = Arc::clone(&clock);
    let server = dev_server_with(dir, move |o| {
        o.clock = c;
        o.webhooks = webhooks;
        // Only the test ticks the scheduler.
        o.scheduler_interval = Duration::from_secs(3600);
    });
    (server, clock)
}

fn tick(server: &RunningServer) -> TickReport {
    server
        .state
        .io
        .block_on(scheduler::tick(&server.state.control))
        .unwrap()
}

pub fn admin(http: &Http, path: &str, body: Value) -> Value {
    let (s, b) = http.post(path, Some(ROOT), &body);
    assert_eq!(s, 200, "{path}: {b}");
    b
}

fn events(http: &Http) -> Vec<Value> {
    let (s, b) = http.get("/v1/admin/events", Some(ROOT));
    assert_eq!(s, 200, "{b}");
    b["events"].as_array().unwrap().clone()
}

fn state_of(key: &Value, version: u64) -> String {
    key["versions"][usize::try_from(version - 1).unwrap()]["state"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn rollback_minimum_disable_and_destruction() {
    let dir = tempfile::tempdir().unwrap();
    let (server, clock) = manual_server(dir.path(), vec![]);
    let http = Http::new(&server);
    http.create_key("pan");
    let token = http.create_app("pay");
    http.grant("pan", "pay", &["encrypt", "decrypt"]);
    let mut cts = vec![http.seal(&token, "pan", b"v1", None)];
    for n in 2..=3 {
        admin(
            &http,
            "/v1/admin/keys/pan/rotate",
            json!({ "reason": format!("to v{n}") }),
        );
        cts.push(http.seal(&token, "pan", format!("v{n}").as_bytes(), None));
    }

    // Emergency rollback: v2 is active again, v3 still decrypts.
    let key = admin(
        &http,
        "/v1/admin/keys/pan/rollback",
        json!({ "reason": "v3 came from a faulty HSM batch" }),
    );
    assert_eq!(key["active_version"], 2);
    assert_eq!(state_of(&key, 3), "decrypt_only");
    let last = key["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (last["action"].as_str(), last["reason"].as_str()),
        (Some("rollback"), Some("v3 came from a faulty HSM batch"))
    );
    assert!(
        http.seal(&token, "pan", b"x", None)
            .starts_with("kms:00002:")
    );
    assert_eq!(http.open(&token, "pan", &cts[2], None), b"v3");
    admin(
        &http,
        "/v1/admin/keys/pan/rollback",
        json!({ "reason": "again" }),
    );
    assert_error(
        &http.post(
            "/v1/admin/keys/pan/rollback",
            Some(ROOT),
            &json!({ "reason": "once more" }),
        ),
        409,
        "conflict",
    );
    let key = admin(
        &http,
        "/v1/admin/keys/pan/rotate",
        json!({ "reason": "forward" }),
    );
    assert_eq!(key["active_version"], 4);

    // The minimum decryption version refuses old ciphertexts, reversibly.
    admin(
        &http,
        "/v1/admin/keys/pan/config",
        json!({ "min_decryption_version": 2, "reason": "v1 retired" }),
    );
    assert_error(
        &http.decrypt(&token, "pan", &cts[0], None),
        400,
        "below_min_decryption_version",
    );
    assert_error(
        &http.post(
            "/v1/admin/keys/pan/config",
            Some(ROOT),
            &json!({ "min_decryption_version": 5, "reason": "r" }),
        ),
        409,
        "conflict",
    );
    admin(
        &http,
        "/v1/admin/keys/pan/config",
        json!({ "min_decryption_version": 1, "reason": "v1 needed after all" }),
    );
    assert_eq!(http.open(&token, "pan", &cts[0], None), b"v1");

    // Every version is now prepared in some worker.
    let id = server.state.directory.load().key("pan").unwrap().id;
    for (i, ct) in cts.iter().enumerate() {
        assert_eq!(
            http.open(&token, "pan", ct, None),
            format!("v{}", i + 1).as_bytes()
        );
    }
    let v1 = KeyVersion::new(1).unwrap();
    assert!(server.state.pool.cached_for_test(id).contains(&v1));

    // Disabled: neither decrypts, and leaves the workers' memory; enabled again: decrypts.
    admin(
        &http,
        "/v1/admin/keys/pan/versions/1/disable",
        json!({ "reason": "suspected leak" }),
    );
    assert_error(
        &http.decrypt(&token, "pan", &cts[0], None),
        400,
        "key_version_disabled",
    );
    assert!(!server.state.pool.cached_for_test(id).contains(&v1));
    admin(
        &http,
        "/v1/admin/keys/pan/versions/1/enable",
        json!({ "reason": "false alarm" }),
    );
    assert_eq!(http.open(&token, "pan", &cts[0], None), b"v1");
    assert_error(
        &http.post(
            "/v1/admin/keys/pan/versions/4/disable",
            Some(ROOT),
            &json!({ "reason": "r" }),
        ),
        409,
        "conflict",
    );
    assert_error(
        &http.post(
            "/v1/admin/keys/pan/versions/9/disable",
            Some(ROOT),
            &json!({ "reason": "r" }),
        ),
        404,
        "not_found",
    );
    assert_error(
        &http.post(
            "/v1/admin/keys/pan/versions/1/disable",
            Some(ROOT),
            &json!({ "reason": " " }),
        ),
        400,
        "invalid_request",
    );

    // Destruction: scheduled (then it already neither encrypts nor decrypts), cancellable, and
    // carried out by the scheduler when its waiting period is over.
    let key = admin(
        &http,
        "/v1/admin/keys/pan/versions/1/schedule-destruction",
        json!({ "reason": "retire", "delay": "1d" }),
    );
    assert_eq!(state_of(&key, 1), "scheduled_for_destruction");
    assert!(key["versions"][0]["destroy_at"].is_string());
    assert_error(
        &http.decrypt(&token, "pan", &cts[0], None),
        400,
        "key_version_destroyed",
    );
    let key = admin(
        &http,
        "/v1/admin/keys/pan/versions/1/cancel-destruction",
        json!({ "reason": "audit needs it" }),
    );
    assert_eq!(state_of(&key, 1), "disabled");
    admin(
        &http,
        "/v1/admin/keys/pan/versions/1/schedule-destruction",
        json!({ "reason": "retire for good", "delay": "2d" }),
    );
    clock.advance_millis(DAY);
    assert_eq!(tick(&server).destroyed, 0);
    clock.advance_millis(DAY + 1);
    assert_eq!(tick(&server).destroyed, 1);
    let (_, key) = http.get("/v1/admin/keys/pan", Some(ROOT));
    assert_eq!(state_of(&key, 1), "destroyed");
    assert_error(
        &http.decrypt(&token, "pan", &cts[0], None),
        400,
        "key_version_destroyed",
    );
    assert_error(
        &http.post(
            "/v1/admin/keys/pan/versions/1/enable",
            Some(ROOT),
            &json!({ "reason": "r" }),
        ),
        409,
        "conflict",
    );
    // The material is gone from the store; the other versions are untouched.
    let stored = server
        .state
        .io
        .block_on(server.state.control.store.load_key(id))
        .unwrap()
        .unwrap();
    assert!(stored.version(v1).unwrap().wrapped.is_none());
    assert_eq!(http.open(&token, "pan", &cts[1], None), b"v2");
    let kinds: Vec<String> = events(&http)
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect();
    for kind in [
        "key_rotated",
        "key_rolled_back",
        "version_destruction_scheduled",
        "version_destroyed",
    ] {
        assert!(kinds.iter().any(|k| k == kind), "{kind} not in {kinds:?}");
    }
}

fn verify_signature(secret: &[u8], header: &str, body: &str) -> bool {
    let (t, v1) = header.split_once(',').unwrap();
    let t = t.strip_prefix("t=").unwrap();
    let v1 = v1.strip_prefix("v1=").unwrap();
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret).unwrap();
    mac.update(format!("{t}.{body}").as_bytes());
    mac.verify_slice(&hex::decode(v1).unwrap()).is_ok()
}

#[test]
fn scheduled_rotation_sends_its_notice_and_signed_webhooks() {
    let receiver = Receiver::start(&[500]);
    let dir = tempfile::tempdir().unwrap();
    let hook = Webhook {
        url: receiver.url.clone(),
        secret: SecretString::new("whsec-test".into()),
    };
    let (server, clock) = manual_server(dir.path(), vec![hook]);
    let http = Http::new(&server);
    let (s, key) = http.post(
        "/v1/admin/keys",
        Some(ROOT),
        &json!({ "name": "tokens", "algorithm": "hmac-sha256", "rotation_period": "30d", "notice_period": "7d" }),
    );
    assert_eq!(s, 201, "{key}");
    assert_eq!(key["rotation_period"], "30d");
    assert_eq!(key["notice_period"], "7d");
    let created = Timestamp::from_millis(1_800_000_000_000);
    assert_eq!(
        key["next_rotation_at"],
        json!(Timestamp::from_millis(created.millis() + 30 * DAY).rfc3339())
    );

    assert_eq!(tick(&server), TickReport::default());
    // The notice window opens 7 days before day 30: nothing on day 22, the notice on day 23.
    clock.advance_millis(22 * DAY);
    assert_eq!(tick(&server).notices, 0);
    clock.advance_millis(DAY);
    let first = tick(&server);
    assert_eq!((first.notices, first.rotated, first.deliveries), (1, 0, 1));
    // Announced once per active version, however often the scheduler runs.
    assert_eq!(tick(&server).notices, 0);
    let notice = events(&http)
        .into_iter()
        .find(|e| e["kind"] == "rotation_notice")
        .unwrap();
    assert_eq!(notice["key"], "tokens");
    assert_eq!(notice["version"], 1);
    assert_eq!(
        notice["detail"]["due_at"],
        json!(Timestamp::from_millis(created.millis() + 30 * DAY).rfc3339())
    );

    // The receiver answered 500: retried after the backoff, not before.
    assert_eq!(receiver.received().len(), 1);
    clock.advance_millis(5_000);
    assert_eq!(tick(&server).deliveries, 0);
    clock.advance_millis(5_000);
    assert_eq!(tick(&server).deliveries, 1);
    let got = receiver.received();
    assert_eq!(got.len(), 2);
    let delivered: Value = serde_json::from_str(&got[1].body).unwrap();
    assert_eq!(delivered["kind"], "rotation_notice");
    let sig = got[1].header("x-kms-signature").unwrap();
    assert!(
        verify_signature(b"whsec-test", sig, &got[1].body),
        "signature does not verify: {sig}"
    );
    assert!(!verify_signature(b"wrong-secret", sig, &got[1].body));
    assert!(!verify_signature(
        b"whsec-test",
        sig,
        &got[1].body.replace("tokens", "tokenz")
    ));

    // Due: the scheduler rotates, old MACs still verify, the new version's period starts.
    clock.advance_millis(7 * DAY);
    let report = tick(&server);
    assert_eq!(report.rotated, 1);
    let (_, key) = http.get("/v1/admin/keys/tokens", Some(ROOT));
    assert_eq!(key["active_version"], 2);
    let rotation = key["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(rotation["actor"], "system:scheduler");
    assert_eq!(rotation["reason"], "scheduled rotation (every 30d)");
    let rotated = events(&http)
        .into_iter()
        .find(|e| e["kind"] == "key_rotated")
        .unwrap();
    assert_eq!(rotated["version"], 2);
    let last = receiver.received().last().unwrap().body.clone();
    assert_eq!(
        serde_json::from_str::<Value>(&last).unwrap()["kind"],
        "key_rotated"
    );
    clock.advance_millis(23 * DAY);
    assert_eq!(
        tick(&server).notices,
        1,
        "the new version's rotation is announced too"
    );
    // Scheduled rotation can be turned off.
    let key = admin(
        &http,
        "/v1/admin/keys/tokens/config",
        json!({ "rotation_period": null, "reason": "manual only" }),
    );
    assert!(key["rotation_period"].is_null() && key["next_rotation_at"].is_null());
    clock.advance_millis(30 * DAY);
    assert_eq!(tick(&server).rotated, 0);
}

#[test]
fn usage_is_counted_per_version_caller_and_operation() {
    let dir = tempfile::tempdir().unwrap();
    let server = dev_server(dir.path());
    let http = Http::new(&server);
    http.create_key("cards");
    let token = http.create_app("billing");
    http.grant("cards", "billing", &["encrypt", "decrypt"]);
    let ct = http.seal(&token, "cards", b"a", None);
    for _ in 0..2 {
        http.seal(&token, "cards", b"b", None);
    }
    for _ in 0..2 {
        http.open(&token, "cards", &ct, None);
    }
    admin(
        &http,
        "/v1/admin/keys/cards/rotate",
        json!({ "reason": "r" }),
    );
    http.seal(&token, "cards", b"c", None);
    http.open(ROOT, "cards", &ct, None);

    // Ordered by version, caller, then operation (encrypt before decrypt, by operation code).
    let want = [
        (1, "app:billing", "encrypt", 3),
        (1, "app:billing", "decrypt", 2),
        (1, "root:dev", "decrypt", 1),
        (2, "app:billing", "encrypt", 1),
    ];
    // The workers flush about once a second; wait for it.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let usage = loop {
        let (_, key) = http.get("/v1/admin/keys/cards", Some(ROOT));
        let usage: Vec<(u64, String, String, u64)> = key["usage"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| {
                (
                    u["version"].as_u64().unwrap(),
                    u["caller"].as_str().unwrap().to_owned(),
                    u["operation"].as_str().unwrap().to_owned(),
                    u["count"].as_u64().unwrap(),
                )
            })
            .collect();
        if usage.len() >= want.len() || std::time::Instant::now() > deadline {
            break (usage, key);
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let got: Vec<(u64, &str, &str, u64)> = usage
        .0
        .iter()
        .map(|(v, c, o, n)| (*v, c.as_str(), o.as_str(), *n))
        .collect();
    assert_eq!(got, want.to_vec());
    assert!(usage.1["usage"][0]["last_used_at"].is_string());
}
