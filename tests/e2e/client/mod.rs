//! The Rust client (`kms-client`) against the real server: every data-plane operation,
//! batching that never mixes keys or callers' contexts, envelope encryption with its cache
//! limits, TLS with a client certificate, a node killed under load, and the example payment
//! service.

mod batching;
mod envelope;
mod example;
mod failover;
mod ops;
mod tls;

use kms::testing::RunningServer;
use kms_client::{Client, ClientBuilder, Failover};
use serde_json::json;

use crate::support::{Http, ROOT};

/// A runtime for a test's client: two workers, as many as the server has of each kind.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// A client of `server` with `token`; background health checks off (nothing here waits for
/// them).
pub fn builder(url: &str, token: &str) -> ClientBuilder {
    Client::builder().node(url).token(token).failover(Failover {
        health_interval: None,
        ..Failover::default()
    })
}

pub fn url(server: &RunningServer) -> String {
    server.url("")
}

/// Creates key `name` of `algorithm`.
pub fn create_key(http: &Http, name: &str, algorithm: &str) {
    let (s, b) = http.post(
        "/v1/admin/keys",
        Some(ROOT),
        &json!({ "name": name, "algorithm": algorithm }),
    );
    assert_eq!(s, 201, "{b}");
}

/// `kms_requests_total` of `operation` on `key` that succeeded: requests, not items.
pub fn requests_ok(server: &RunningServer, operation: &str, key: &str) -> f64 {
    let text = crate::observability::scrape(server);
    crate::observability::sample(
        &text,
        "kms_requests_total",
        &[("operation", operation), ("key", key), ("outcome", "ok")],
    )
    .unwrap_or(0.0)
}
