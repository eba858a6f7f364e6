//! Sending one request to the nodes: pick the least busy available node (preferring ones this
//! call has not tried), obey `Retry-After`, fail over when a node fails, and give up at the
//! call's deadline or after `max_attempts`.
//!
//! What is retried, by [`Retry`] class:
//! - a request that provably never left the client (no connection): always, for every call;
//! - 503 (`overloaded`, `sealed`, ...): the node did not do the work; retried on another node
//!   for `Any` calls, and the node is paused for its `Retry-After`;
//! - 429 `rate_limited`: waited out (`Retry-After`) if the deadline allows, whatever the class;
//! - a broken connection or a 5xx after the request was written: only `Any` calls;
//! - any other answer (2xx, 4xx) is the call's answer.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::config::Failover;
use crate::error::{Error, Result, parse_error_body};
use crate::http::{Request, Response};
use crate::node::Node;
use crate::stats::Counters;

/// Whether a call may be repeated after its request reached a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Repeating it is harmless (decrypt, verify, sign, ...; encrypt under `EncryptRetry::Always`).
    Any,
    /// Only if it never left (password calls: their challenge is single-use).
    Unsent,
}

/// How long to stay away from a node that answered 503 or 429 without `Retry-After`.
const DEFAULT_PAUSE: Duration = Duration::from_secs(1);

pub struct Cluster {
    pub nodes: Vec<Arc<Node>>,
    pub failover: Failover,
    pub counters: Arc<Counters>,
    next: AtomicUsize,
}

fn api_error(node: &Node, response: &Response) -> Error {
    match parse_error_body(Some(response.status), &response.body) {
        Some(mut e) => {
            e.retry_after = response.retry_after;
            Error::Api(e)
        }
        None => Error::InvalidResponse {
            node: node.url(),
            detail: format!("status {} without an error body", response.status),
        },
    }
}

impl Cluster {
    pub fn new(nodes: Vec<Arc<Node>>, failover: Failover, counters: Arc<Counters>) -> Self {
        Self {
            nodes,
            failover,
            counters,
            next: AtomicUsize::new(0),
        }
    }

    /// Sends `req` until a node answers it with a 2xx or the rules above give up (a 4xx is the
    /// KMS's [`Error::Api`]). Returns the answer and the index of the node that gave it. `pin`:
    /// only that node (a password challenge lives on the node that issued it).
    pub async fn execute(
        &self,
        req: Request,
        retry: Retry,
        deadline: Instant,
        pin: Option<usize>,
    ) -> Result<(Response, usize)> {
        let req = Arc::new(req);
        let mut tried = vec![false; self.nodes.len()];
        let mut last_error: Option<Error> = None;
        let mut previous: Option<usize> = None;
        for attempt in 0..self.failover.max_attempts {
            let Some(index) = self.choose(&tried, pin, deadline).await else {
                return Err(last_error.unwrap_or(Error::NoNodeAvailable));
            };
            tried[index] = true;
            if attempt > 0 {
                Counters::add(&self.counters.retries, 1);
                if previous != Some(index) {
                    Counters::add(&self.counters.failovers, 1);
                }
            }
            previous = Some(index);
            let node = &self.nodes[index];
            Counters::add(&self.counters.requests, 1);
            let sent = tokio::time::timeout_at(deadline.into(), node.pool.send(Arc::clone(&req)));
            let outcome = match sent.await {
                Err(_) => {
                    // Says nothing about the node: its health check judges hung nodes.
                    node.abandoned(Instant::now());
                    return Err(Error::DeadlineExceeded);
                }
                Ok(outcome) => outcome,
            };
            let now = Instant::now();
            match outcome {
                Err(failure) => {
                    node.failed(now);
                    let error = Error::Transport {
                        node: node.url(),
                        detail: failure.detail,
                    };
                    if failure.sent && retry == Retry::Unsent {
                        return Err(error);
                    }
                    last_error = Some(error);
                }
                Ok(response) if response.status == 429 => {
                    node.succeeded();
                    let wait = response.retry_after.unwrap_or(DEFAULT_PAUSE);
                    if now + wait >= deadline {
                        return Err(api_error(node, &response));
                    }
                    last_error = Some(api_error(node, &response));
                    tokio::time::sleep(wait).await;
                    // The limit is the app's on the key, not the node's: any node will do.
                    tried.iter_mut().for_each(|t| *t = false);
                }
                Ok(response) if response.status == 503 => {
                    let error = api_error(node, &response);
                    node.pause(now + response.retry_after.unwrap_or(DEFAULT_PAUSE));
                    if error.code() == Some("overloaded") {
                        node.succeeded();
                    } else {
                        // Sealed, not initialised, HSM or store away: the node cannot serve.
                        node.failed(now);
                    }
                    if retry == Retry::Unsent {
                        return Err(error);
                    }
                    last_error = Some(error);
                }
                Ok(response) if response.status >= 500 => {
                    node.failed(now);
                    let error = api_error(node, &response);
                    if retry == Retry::Unsent {
                        return Err(error);
                    }
                    last_error = Some(error);
                }
                Ok(response) => {
                    node.succeeded();
                    if response.status >= 400 {
                        return Err(api_error(node, &response));
                    }
                    return Ok((response, index));
                }
            }
        }
        Err(last_error.unwrap_or(Error::NoNodeAvailable))
    }

    /// The node for the next attempt, waiting (until the deadline) while none is available.
    async fn choose(&self, tried: &[bool], pin: Option<usize>, deadline: Instant) -> Option<usize> {
        loop {
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            let candidates: Vec<usize> = match pin {
                Some(i) if i < self.nodes.len() => vec![i],
                Some(_) => return None,
                None => self.candidates(tried, now),
            };
            if let Some(&i) = candidates
                .iter()
                .min_by_key(|&&i| self.nodes[i].in_flight())
            {
                if self.nodes[i].acquire(now) {
                    return Some(i);
                }
                continue;
            }
            let wake = (0..self.nodes.len())
                .filter(|&i| pin.is_none_or(|p| p == i))
                .map(|i| self.nodes[i].available_at(now))
                .min()
                .unwrap_or(deadline);
            if wake >= deadline {
                return None;
            }
            tokio::time::sleep_until(wake.into()).await;
        }
    }

    /// Available nodes in the order to prefer: not tried by this call, healthy; then tried ones;
    /// then ones that only health checks say are down. Rotated so that ties spread out.
    fn candidates(&self, tried: &[bool], now: Instant) -> Vec<usize> {
        let n = self.nodes.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed) % n;
        let order = (0..n).map(|k| (start + k) % n);
        for (ignore_health, allow_tried) in [(false, false), (false, true), (true, true)] {
            let found: Vec<usize> = order
                .clone()
                .filter(|&i| {
                    (allow_tried || !tried[i]) && self.nodes[i].available(now, ignore_health)
                })
                .collect();
            if !found.is_empty() {
                return found;
            }
        }
        Vec::new()
    }
}
