//! The client against scripted nodes (fake.rs): failover, `Retry-After`, deadlines, circuit
//! breaking, health, pipelining and batching, each made to happen on demand. The client against
//! the real server is in tests/e2e/client.rs.
#![allow(clippy::unwrap_used)]

mod batching;
mod failover;
mod fake;

use std::time::Duration;

use kms_client::{Batching, Client, ClientBuilder, Failover};

/// A client of `urls` with health checks off (tests call `check_health` themselves) and breaker
/// cooldowns far longer than a test, so that an open circuit stays open while it is counted.
pub fn builder(urls: &[&str]) -> ClientBuilder {
    Client::builder()
        .nodes(urls.iter().map(|u| (*u).to_owned()))
        .token("app-token")
        .deadline(Duration::from_secs(10))
        .failover(Failover {
            health_interval: None,
            breaker_cooldown: Duration::from_secs(120),
            ..Failover::default()
        })
}

pub fn unbatched(urls: &[&str]) -> ClientBuilder {
    builder(urls).batching(Batching::disabled())
}
