//! A key's use over time (`GET /v1/admin/keys/{name}/usage`): what the crypto workers count,
//! flushed asynchronously to the store's hourly series, read back per version and operation
//! across a rotation; bad parameters with their stable codes.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::*;

/// Each version's total and count per operation, from a series answer.
fn sums(series: &Value) -> BTreeMap<u64, (u64, BTreeMap<String, u64>)> {
    series["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            let mut ops = BTreeMap::new();
            let mut points_total = 0;
            for p in v["points"].as_array().unwrap() {
                points_total += p["count"].as_u64().unwrap();
                let mut per_op = 0;
                for (op, n) in p["operations"].as_object().unwrap() {
                    *ops.entry(op.clone()).or_default() += n.as_u64().unwrap();
                    per_op += n.as_u64().unwrap();
                }
                assert_eq!(per_op, p["count"].as_u64().unwrap(), "{p}");
            }
            assert_eq!(points_total, v["total"].as_u64().unwrap(), "{v}");
            (v["version"].as_u64().unwrap(), (points_total, ops))
        })
        .collect()
}

fn ops(list: &[(&str, u64)]) -> BTreeMap<String, u64> {
    list.iter().map(|(o, n)| ((*o).to_owned(), *n)).collect()
}

#[test]
fn the_series_per_version_adds_up_to_the_operations_done_across_a_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let server = dev_server(dir.path());
    let http = Http::new(&server);
    http.create_key("cards");
    let token = http.create_app("billing");
    http.grant("cards", "billing", &["encrypt", "decrypt"]);

    // Version 1: three encryptions, two decryptions.
    let old = http.seal(&token, "cards", b"a", None);
    for _ in 0..2 {
        http.seal(&token, "cards", b"b", None);
    }
    for _ in 0..2 {
        http.open(&token, "cards", &old, None);
    }
    let (s, b) = http.post(
        "/v1/admin/keys/cards/rotate",
        Some(ROOT),
        &json!({ "reason": "r" }),
    );
    assert_eq!(s, 200, "{b}");
    // Version 2: four encryptions; version 1 decrypts once more (by the root token: every caller
    // counts).
    for _ in 0..4 {
        http.seal(&token, "cards", b"c", None);
    }
    http.open(ROOT, "cards", &old, None);

    let want = BTreeMap::from([
        (1, (6, ops(&[("decrypt", 3), ("encrypt", 3)]))),
        (2, (4, ops(&[("encrypt", 4)]))),
    ]);
    // The workers flush about once a second, and the usage writer after them: poll.
    let deadline = Instant::now() + Duration::from_secs(20);
    let series = loop {
        let (s, series) = http.get("/v1/admin/keys/cards/usage", Some(ROOT));
        assert_eq!(s, 200, "{series}");
        if sums(&series) == want || Instant::now() > deadline {
            break series;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(sums(&series), want, "{series}");
    assert_eq!(series["key"], "cards");
    assert_eq!(series["bucket"], "hour");
    assert_eq!(series["retention"], "90d");
    // The default range: whole hours covering the last 24.
    let since = kms_engine::clock::Timestamp::parse_rfc3339(series["since"].as_str().unwrap())
        .unwrap()
        .millis();
    let until = kms_engine::clock::Timestamp::parse_rfc3339(series["until"].as_str().unwrap())
        .unwrap()
        .millis();
    assert_eq!(since % 3_600_000, 0);
    assert!(until - since >= 24 * 3_600_000 && until - since <= 25 * 3_600_000);

    // By day, and over a week: the same sums.
    let (s, days) = http.get("/v1/admin/keys/cards/usage?since=7d&bucket=day", Some(ROOT));
    assert_eq!(s, 200, "{days}");
    assert_eq!(days["bucket"], "day");
    assert_eq!(sums(&days), want, "{days}");
    // The totals of the key's description agree with the series.
    let (_, key) = http.get("/v1/admin/keys/cards", Some(ROOT));
    let mut totals: BTreeMap<u64, u64> = BTreeMap::new();
    for u in key["usage"].as_array().unwrap() {
        *totals.entry(u["version"].as_u64().unwrap()).or_default() += u["count"].as_u64().unwrap();
    }
    assert_eq!(totals, BTreeMap::from([(1, 6), (2, 4)]));
    // A range before any use lists every version, with nothing in it.
    let (s, before) = http.get(
        "/v1/admin/keys/cards/usage?since=2026-01-01T00:00:00Z&until=2026-01-02T00:00:00Z",
        Some(ROOT),
    );
    assert_eq!(s, 200, "{before}");
    assert_eq!(before["versions"].as_array().unwrap().len(), 2);
    assert!(sums(&before).values().all(|(total, _)| *total == 0));
}

#[test]
fn bad_usage_parameters_have_stable_codes() {
    let dir = tempfile::tempdir().unwrap();
    let server = dev_server(dir.path());
    let http = Http::new(&server);
    http.create_key("cards");
    let get = |query: &str| http.get(&format!("/v1/admin/keys/cards/usage?{query}"), Some(ROOT));
    assert_error(&get("bucket=week"), 400, "invalid_bucket");
    assert_error(&get("since=yesterday"), 400, "invalid_time");
    assert_error(&get("until=7d"), 400, "invalid_time");
    assert_error(&get("since=91d"), 400, "invalid_time_range");
    assert_error(
        &get("since=2026-02-01T00:00:00Z&until=2026-01-01T00:00:00Z"),
        400,
        "invalid_time_range",
    );
    assert_error(
        &http.get("/v1/admin/keys/nothing/usage", Some(ROOT)),
        404,
        "key_not_found",
    );
    // The KMS's own keys are not there for administrators.
    assert_error(
        &http.get("/v1/admin/keys/kms-system.audit/usage", Some(ROOT)),
        404,
        "key_not_found",
    );
    assert_error(
        &http.get("/v1/admin/keys/cards/usage", None),
        401,
        "missing_token",
    );
}
