//! Polls `GET /readyz` on every node: `ready` and `degraded` (serving cached keys while cut off
//! from the store) are up; 503 (`sealed`, `not_initialized`) or no answer is down. A node that
//! is down gets no calls while others are up.

use std::sync::{Arc, Weak};
use std::time::Duration;

use zeroize::Zeroizing;

use crate::failover::Cluster;
use crate::http::{Method, Request};
use crate::node::{Health, Node};

/// Runs until the client is dropped.
pub fn spawn(cluster: Weak<Cluster>, interval: Duration) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let Some(cluster) = cluster.upgrade() else {
                return;
            };
            let checks: Vec<_> = cluster
                .nodes
                .iter()
                .map(|node| tokio::spawn(check(Arc::clone(node), interval)))
                .collect();
            drop(cluster);
            for c in checks {
                let _ = c.await;
            }
        }
    });
}

#[derive(serde::Deserialize)]
struct Ready {
    status: String,
}

/// One check; its verdict is also returned (tests).
pub async fn check(node: Arc<Node>, interval: Duration) -> Health {
    let req = Request {
        method: Method::Get,
        path: "/readyz".into(),
        body: Zeroizing::new(Vec::new()),
    };
    let limit = interval.clamp(Duration::from_millis(200), Duration::from_secs(2));
    let health = match tokio::time::timeout(limit, node.pool.send(Arc::new(req))).await {
        Ok(Ok(r)) if r.status == 200 => match serde_json::from_slice::<Ready>(&r.body) {
            Ok(ready) if ready.status == "degraded" => Health::Degraded,
            Ok(_) => Health::Ready,
            Err(_) => Health::Down,
        },
        _ => Health::Down,
    };
    node.set_health(health);
    health
}
