//! Metrics: recorded through the `metrics` facade into one Prometheus recorder per process, and
//! rendered at `GET /metrics`.
//!
//! The hot path records one counter and one histogram sample per request (the `metrics` registry
//! is a sharded map of atomics: no lock is held across requests). Figures that already exist as
//! atomics elsewhere (queue depths, cache hits, sync state) are read when Prometheus scrapes,
//! not recorded per request. Histogram samples are drained into their buckets every few seconds
//! by an upkeep thread, so memory stays bounded even if nobody scrapes.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use kms_engine::algorithm::Operation;
use kms_engine::pool::Lane;
use metrics::{Counter, Histogram};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::state::AppState;

/// Latency buckets, seconds: 50 µs to 5 s.
const BUCKETS: &[f64] = &[
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1.0, 2.5, 5.0,
];

const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// The process's recorder, installed on first use. `None` if another recorder was installed
/// first (then `/metrics` says so instead of rendering).
pub fn handle() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets(BUCKETS)
                .ok()?
                .build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).ok()?;
            let upkeep = handle.clone();
            std::thread::Builder::new()
                .name("kms-metrics".into())
                .spawn(move || {
                    loop {
                        std::thread::sleep(UPKEEP_EVERY);
                        upkeep.run_upkeep();
                    }
                })
                .ok()?;
            Some(handle)
        })
        .as_ref()
}

/// Each HTTP worker's handles to the data plane's series, so that recording a request neither
/// allocates nor hashes its labels into the registry again.
#[derive(Default)]
struct Handles {
    /// (operation, outcome) → key → `kms_requests_total`.
    requests: HashMap<(&'static str, &'static str), HashMap<Box<str>, Counter>>,
    /// operation → (`kms_items_total`, `kms_request_duration_seconds`).
    per_op: HashMap<&'static str, (Counter, Histogram)>,
}

thread_local! {
    static HANDLES: RefCell<Handles> = RefCell::default();
}

/// One data-plane request: its operation, its key (empty when the name matched no key, so that
/// made-up names cannot grow the label set), its outcome (`ok` or the error code), and its items.
pub fn request(op: Operation, key: &str, outcome: &'static str, items: usize, started: Instant) {
    let operation = op.name();
    let seconds = started.elapsed().as_secs_f64();
    HANDLES.with_borrow_mut(|h| {
        let by_key = h.requests.entry((operation, outcome)).or_default();
        if let Some(counter) = by_key.get(key) {
            counter.increment(1);
        } else {
            let counter = metrics::counter!("kms_requests_total", "operation" => operation, "key" => key.to_owned(), "outcome" => outcome);
            counter.increment(1);
            by_key.insert(key.into(), counter);
        }
        let (items_total, duration) = h.per_op.entry(operation).or_insert_with(|| {
            (
                metrics::counter!("kms_items_total", "operation" => operation),
                metrics::histogram!("kms_request_duration_seconds", "operation" => operation),
            )
        });
        items_total.increment(items as u64);
        duration.record(seconds);
    });
}

/// Sets the gauges read at scrape time, then renders everything.
pub fn render(state: &AppState) -> Option<String> {
    let handle = handle()?;
    for lane in Lane::ALL {
        let name = lane.name();
        metrics::gauge!("kms_queue_depth", "lane" => name).set(state.pool.queue_len(lane) as f64);
        metrics::gauge!("kms_crypto_workers", "lane" => name).set(state.pool.workers(lane) as f64);
        let (hits, misses) = state.pool.cache_stats(lane);
        metrics::counter!("kms_key_cache_hits_total", "lane" => name).absolute(hits);
        metrics::counter!("kms_key_cache_misses_total", "lane" => name).absolute(misses);
    }
    metrics::gauge!("kms_sync_applied_revision").set(state.control.sync.applied() as f64);
    metrics::gauge!("kms_sync_healthy").set(if state.control.sync.is_healthy() {
        1.0
    } else {
        0.0
    });
    metrics::gauge!("kms_sync_lag_seconds").set(state.control.sync.since_contact().as_secs_f64());
    Some(handle.render())
}
