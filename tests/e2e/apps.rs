//! Apps over HTTP, on a manual clock: token rotation with an overlap (the old token stops at its
//! expiry without any store change), revocation, listings that never show a token, and per-key
//! usage policies (source ranges, UTC time windows, a rate limit per app with 429 and
//! Retry-After), each refusal audited.

use kms_engine::audit::Outcome;
use serde_json::{Value, json};

use crate::access::audit;
use crate::lifecycle::{admin, manual_server};
use crate::support::*;

const HOUR: i64 = 3_600_000;

/// Rotates the app's token: `(token, response)`.
fn rotate(http: &Http, app: &str, body: Value) -> (String, Value) {
    let (s, b) = http.post(&format!("/v1/admin/apps/{app}/tokens"), Some(ROOT), &body);
    assert_eq!(s, 201, "{b}");
    (b["token"].as_str().unwrap().to_owned(), b)
}

fn works(http: &Http, token: &str) -> bool {
    match http.encrypt(token, "cards", b"4111", None) {
        (200, _) => true,
        got => {
            assert_error(&got, 401, "invalid_token");
            false
        }
    }
}

fn token_states(http: &Http, app: &str) -> Vec<String> {
    let (s, b) = http.get(&format!("/v1/admin/apps/{app}"), Some(ROOT));
    assert_eq!(s, 200, "{b}");
    b["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["state"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn rotated_tokens_overlap_then_expire_and_revocation_ends_every_token() {
    let dir = tempfile::tempdir().unwrap();
    let (server, clock) = manual_server(dir.path(), vec![]);
    let http = Http::new(&server);
    http.create_key("cards");
    let first = http.create_app("checkout");
    http.grant("cards", "checkout", &["encrypt"]);
    assert!(works(&http, &first));

    // A new token with an hour's overlap: both work until the hour is up.
    let (second, b) = rotate(&http, "checkout", json!({ "overlap_seconds": 3600 }));
    assert_eq!(b["app"], "checkout");
    assert!(b["token_id"].as_str().unwrap().starts_with("tok_"));
    assert_eq!(b["created_at"], "2027-01-15T08:00:00Z");
    assert_eq!(b["previous_tokens_expire_at"], "2027-01-15T09:00:00Z");
    assert_ne!(first, second);
    assert!(works(&http, &first) && works(&http, &second));
    assert_eq!(token_states(&http, "checkout"), vec!["expiring", "active"]);
    clock.advance_millis(HOUR - 1);
    assert!(works(&http, &first));
    // The expiry is in the snapshot: only the clock moves, nothing is written to the store.
    let revision = server.state.control.sync.applied();
    clock.advance_millis(1);
    assert!(!works(&http, &first));
    assert!(works(&http, &second));
    assert_eq!(server.state.control.sync.applied(), revision);
    assert_eq!(token_states(&http, "checkout"), vec!["expired", "active"]);

    // Overlap 0: the old token stops at once. No overlap given: 24 hours.
    let (third, _) = rotate(&http, "checkout", json!({ "overlap_seconds": 0 }));
    assert!(!works(&http, &second));
    assert!(works(&http, &third));
    let (fourth, b) = rotate(&http, "checkout", json!({}));
    assert_eq!(b["previous_tokens_expire_at"], "2027-01-16T09:00:00Z");
    assert!(works(&http, &third) && works(&http, &fourth));

    // Listings show ids and lifetimes, never a token.
    let (s, listed) = http.get("/v1/admin/apps", Some(ROOT));
    assert_eq!(s, 200, "{listed}");
    let apps = listed["apps"].as_array().unwrap();
    assert_eq!(apps.len(), 1);
    assert_eq!(apps[0]["name"], "checkout");
    let tokens = apps[0]["tokens"].as_array().unwrap();
    assert_eq!(tokens.len(), 4);
    assert_eq!(tokens[0]["expires_at"], "2027-01-15T09:00:00Z");
    assert_eq!(tokens[3]["expires_at"], Value::Null);
    let text = listed.to_string();
    for t in [&first, &second, &third, &fourth] {
        assert!(!text.contains(t.as_str()));
    }

    // Revocation ends every live token at once; the app and its grant stay.
    let (s, b) = http.post("/v1/admin/apps/checkout/revoke", Some(ROOT), &json!({}));
    assert_eq!((s, &b["revoked_tokens"]), (200, &json!(2)), "{b}");
    assert!(!works(&http, &third));
    assert!(!works(&http, &fourth));
    assert_eq!(
        token_states(&http, "checkout"),
        vec!["expired", "expired", "revoked", "revoked"]
    );
    let (_, key) = http.get("/v1/admin/keys/cards", Some(ROOT));
    assert_eq!(key["grants"][0]["app"], "checkout", "{key}");
    let (fifth, _) = rotate(&http, "checkout", json!({ "overlap_seconds": 0 }));
    assert!(works(&http, &fifth));

    // Bad requests, unknown apps, and apps trying to administer.
    assert_error(
        &http.post(
            "/v1/admin/apps/checkout/tokens",
            Some(ROOT),
            &json!({ "overlap_seconds": 91 * 86_400 }),
        ),
        400,
        "invalid_request",
    );
    assert_error(
        &http.post(
            "/v1/admin/apps/checkout/tokens",
            Some(ROOT),
            &json!({ "overlap": 5 }),
        ),
        400,
        "invalid_json",
    );
    for (path, body) in [
        ("/v1/admin/apps/ghost/tokens", Some(json!({}))),
        ("/v1/admin/apps/ghost/revoke", Some(json!({}))),
        ("/v1/admin/apps/ghost", None),
    ] {
        let got = match body {
            Some(b) => http.post(path, Some(ROOT), &b),
            None => http.get(path, Some(ROOT)),
        };
        assert_error(&got, 404, "app_not_found");
    }
    assert_error(
        &http.post("/v1/admin/apps/checkout/revoke", Some(&fifth), &json!({})),
        403,
        "forbidden",
    );
    assert_error(&http.get("/v1/admin/apps", Some(&fifth)), 403, "forbidden");

    // Each change is in the audit log under its own action.
    let actions: Vec<(String, Option<String>, Outcome)> = audit(&server, "root:dev")
        .into_iter()
        .filter(|r| r.event.target.as_deref() == Some("app:checkout"))
        .map(|r| (r.event.action, r.event.code, r.event.outcome))
        .collect();
    let done = |a: &str| {
        actions
            .iter()
            .filter(|(x, _, o)| x == a && *o == Outcome::Success)
            .count()
    };
    assert_eq!(done("rotate_app_token"), 4);
    assert_eq!(done("revoke_app"), 1);
    // The token that expired in the snapshot was refused under the app's name; tokens that
    // were gone from the snapshot (overlap 0, revoked) are anonymous, like unknown ones.
    let expired = audit(&server, "app:checkout")
        .into_iter()
        .filter(|r| r.event.code.as_deref() == Some("invalid_token"))
        .count();
    assert_eq!(expired, 1);
    // The app's attempt to administer is a refusal on record.
    let denied = audit(&server, "app:checkout")
        .into_iter()
        .filter(|r| r.event.action == "revoke_app" && r.event.outcome == Outcome::Denied)
        .count();
    assert_eq!(denied, 1);
}

fn set_policy(http: &Http, key: &str, policy: Value) -> Value {
    admin(http, &format!("/v1/admin/keys/{key}/policy"), policy)
}

/// A server on the manual clock (Friday 2027-01-15 08:00 UTC), key `cards`, apps `app` and
/// `other` granted encrypt.
fn rig(
    dir: &std::path::Path,
) -> (
    kms::testing::RunningServer,
    std::sync::Arc<kms_engine::clock::ManualClock>,
    String,
    String,
) {
    let (server, clock) = manual_server(dir, vec![]);
    let http = Http::new(&server);
    http.create_key("cards");
    let app = http.create_app("app");
    let other = http.create_app("other");
    http.grant("cards", "app", &["encrypt"]);
    http.grant("cards", "other", &["encrypt"]);
    (server, clock, app, other)
}

#[test]
fn a_source_range_policy_refuses_other_addresses_and_is_shown_with_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let (server, _clock, app, _) = rig(dir.path());
    let http = Http::new(&server);
    let outsider = http.create_app("outsider");

    // The test client calls from 127.0.0.1.
    let b = set_policy(&http, "cards", json!({ "allowed_cidrs": ["10.0.0.0/8"] }));
    assert_eq!(b["policy"]["allowed_cidrs"], json!(["10.0.0.0/8"]));
    assert_error(
        &http.encrypt(&app, "cards", b"x", None),
        403,
        "source_not_allowed",
    );
    // The grant is checked first: an app without one learns nothing about the policy.
    assert_error(
        &http.encrypt(&outsider, "cards", b"x", None),
        403,
        "operation_not_granted",
    );
    // Administrators' root tokens are not bound by usage policies.
    http.seal(ROOT, "cards", b"x", None);

    let (_, key) = http.get("/v1/admin/keys/cards", Some(ROOT));
    assert_eq!(key["policy"]["allowed_cidrs"], json!(["10.0.0.0/8"]));
    assert_eq!(
        key["history"].as_array().unwrap().last().unwrap()["action"],
        "policy"
    );

    set_policy(
        &http,
        "cards",
        json!({ "allowed_cidrs": ["10.0.0.0/8", "127.0.0.0/8"] }),
    );
    http.seal(&app, "cards", b"x", None);

    // `{}` removes the policy.
    let b = set_policy(&http, "cards", json!({}));
    assert_eq!(b["policy"], Value::Null);
    let (_, key) = http.get("/v1/admin/keys/cards", Some(ROOT));
    assert_eq!(key["policy"], Value::Null);

    let refused: Vec<_> = audit(&server, "app:app")
        .into_iter()
        .map(|r| {
            (
                r.event.action,
                r.event.outcome,
                r.event.code,
                r.event.remote,
            )
        })
        .collect();
    assert_eq!(
        refused,
        vec![(
            "encrypt".to_owned(),
            Outcome::Denied,
            Some("source_not_allowed".to_owned()),
            Some("127.0.0.1".to_owned())
        )]
    );

    // Bad policies are refused with a reason; an unknown key is not found.
    for bad in [
        json!({ "allowed_cidrs": ["10.1.2.3/8"] }),
        json!({ "allowed_cidrs": ["localhost"] }),
        json!({ "time_windows": [{ "days": ["funday"], "start": "08:00", "end": "18:00" }] }),
        json!({ "time_windows": [{ "start": "8am", "end": "18:00" }] }),
        json!({ "rate_limit": { "per_second": 0 } }),
    ] {
        let got = http.post("/v1/admin/keys/cards/policy", Some(ROOT), &bad);
        assert_error(&got, 400, "invalid_policy");
    }
    assert_error(
        &http.post(
            "/v1/admin/keys/cards/policy",
            Some(ROOT),
            &json!({ "allowed_cidr": [] }),
        ),
        400,
        "invalid_json",
    );
    assert_error(
        &http.post("/v1/admin/keys/nope/policy", Some(ROOT), &json!({})),
        404,
        "key_not_found",
    );
    assert_error(
        &http.post("/v1/admin/keys/cards/policy", Some(&app), &json!({})),
        403,
        "forbidden",
    );
}

#[test]
fn a_time_window_policy_follows_the_clock_in_utc() {
    let dir = tempfile::tempdir().unwrap();
    let (server, clock, app, _) = rig(dir.path());
    let http = Http::new(&server);

    // It is Friday 08:00 UTC.
    set_policy(
        &http,
        "cards",
        json!({ "time_windows": [{ "days": ["mon", "tue", "wed", "thu"], "start": "00:00", "end": "24:00" }] }),
    );
    assert_error(
        &http.encrypt(&app, "cards", b"x", None),
        403,
        "outside_time_window",
    );
    http.seal(ROOT, "cards", b"x", None);

    set_policy(
        &http,
        "cards",
        json!({ "time_windows": [{ "days": ["fri"], "start": "08:00", "end": "09:00" }] }),
    );
    http.seal(&app, "cards", b"x", None);
    clock.advance_millis(HOUR - 1);
    http.seal(&app, "cards", b"x", None);
    clock.advance_millis(1);
    assert_error(
        &http.encrypt(&app, "cards", b"x", None),
        403,
        "outside_time_window",
    );
    let codes: Vec<_> = audit(&server, "app:app")
        .into_iter()
        .filter_map(|r| r.event.code)
        .collect();
    assert_eq!(codes, vec!["outside_time_window", "outside_time_window"]);
}

fn encrypt_raw(http: &Http, token: &str) -> (u16, Value, Option<String>) {
    let body = serde_json::to_vec(&json!({ "plaintext": b64(b"x") })).unwrap();
    http.post_raw(
        "/v1/keys/cards/encrypt",
        Some(token),
        "application/json",
        body,
    )
}

#[test]
fn a_rate_limit_answers_429_with_retry_after_per_app() {
    let dir = tempfile::tempdir().unwrap();
    let (server, clock, app, other) = rig(dir.path());
    let http = Http::new(&server);
    set_policy(
        &http,
        "cards",
        json!({ "rate_limit": { "per_second": 1, "burst": 2 } }),
    );
    let (_, key) = http.get("/v1/admin/keys/cards", Some(ROOT));
    assert_eq!(
        key["policy"]["rate_limit"],
        json!({ "per_second": 1, "burst": 2 })
    );

    for _ in 0..2 {
        assert_eq!(encrypt_raw(&http, &app).0, 200);
    }
    let (status, body, retry) = encrypt_raw(&http, &app);
    assert_error(&(status, body), 429, "rate_limited");
    assert_eq!(retry.as_deref(), Some("1"));
    // Each app has its own bucket; root is not limited.
    assert_eq!(encrypt_raw(&http, &other).0, 200);
    for _ in 0..5 {
        http.seal(ROOT, "cards", b"x", None);
    }

    // A change to the key rebuilds its snapshot; the bucket is not refilled by it.
    http.grant("cards", "other", &["encrypt", "decrypt"]);
    assert_eq!(encrypt_raw(&http, &app).0, 429);

    // One interval later, one more request.
    clock.advance_millis(1000);
    assert_eq!(encrypt_raw(&http, &app).0, 200);
    assert_eq!(encrypt_raw(&http, &app).0, 429);
    let limited = audit(&server, "app:app")
        .iter()
        .filter(|r| r.event.code.as_deref() == Some("rate_limited"))
        .count();
    assert_eq!(limited, 3);
}

#[test]
fn a_batch_of_5000_items_does_not_slip_under_a_rate_of_one_per_second() {
    let dir = tempfile::tempdir().unwrap();
    let (server, clock, app, _) = rig(dir.path());
    let http = Http::new(&server);
    set_policy(
        &http,
        "cards",
        json!({ "rate_limit": { "per_second": 1, "burst": 10 } }),
    );
    let item = json!({ "plaintext": b64(b"x") });
    let native = json!({ "items": vec![item.clone(); 5_000] });
    let vault = json!({ "batch_input": vec![item.clone(); 5_000] });
    let bearer = format!("Bearer {app}");
    let headers = [("Authorization", bearer.as_str())];

    // Native and Transit batches larger than the burst are refused whole, with a clear code.
    let (status, body) = http.post_with("/v1/keys/cards/encrypt", &headers, &native);
    assert_error(&(status, body), 429, "batch_over_rate_burst");
    let (status, body) = http.post_with("/v1/transit/encrypt/cards", &headers, &vault);
    assert_eq!(status, 429, "{body}");
    assert!(body.to_string().contains("batch_over_rate_burst"), "{body}");

    // The refusals took nothing from the bucket: a batch of 7 passes, then 4 more do not,
    // whichever API they come through.
    let seven = json!({ "items": vec![item.clone(); 7] });
    assert_eq!(
        http.post_with("/v1/keys/cards/encrypt", &headers, &seven).0,
        200
    );
    let four = json!({ "batch_input": vec![item.clone(); 4] });
    let (status, body) = http.post_with("/v1/transit/encrypt/cards", &headers, &four);
    assert_eq!(status, 429, "{body}");
    assert!(body.to_string().contains("rate_limited"), "{body}");
    let three = json!({ "batch_input": vec![item.clone(); 3] });
    assert_eq!(
        http.post_with("/v1/transit/encrypt/cards", &headers, &three)
            .0,
        200
    );
    assert_eq!(encrypt_raw(&http, &app).0, 429);
    clock.advance_millis(1000);
    assert_eq!(encrypt_raw(&http, &app).0, 200);
}
