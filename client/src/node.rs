//! One service node as the client sees it: its connection pool, its health from `/readyz`, its
//! circuit breaker, a pause the node asked for (`Retry-After`), and counters.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU8, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::breaker::Breaker;
use crate::http::NodePool;

/// What `/readyz` last said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// Not checked yet (or checks are off): assumed up.
    Unknown = 0,
    Ready = 1,
    /// Serving every cached key while cut off from the store.
    Degraded = 2,
    /// Sealed, not initialised, or not answering.
    Down = 3,
}

impl Health {
    fn from_u8(v: u8) -> Self {
        match v {
            1 => Health::Ready,
            2 => Health::Degraded,
            3 => Health::Down,
            _ => Health::Unknown,
        }
    }
}

/// A snapshot of a node, from [`crate::Client::nodes`].
#[derive(Debug, Clone)]
pub struct NodeStatus {
    pub url: String,
    pub health: Health,
    pub circuit_open: bool,
    /// Calls in flight to it now.
    pub in_flight: usize,
    /// Requests it answered (any status but 5xx) and requests that failed on it.
    pub succeeded: u64,
    pub failed: u64,
}

pub struct Node {
    pub pool: NodePool,
    health: AtomicU8,
    breaker: Mutex<Breaker>,
    pause_until: Mutex<Option<Instant>>,
    in_flight: AtomicUsize,
    succeeded: AtomicU64,
    failed: AtomicU64,
}

impl Node {
    pub fn new(pool: NodePool, breaker: Breaker) -> Self {
        Self {
            pool,
            health: AtomicU8::new(Health::Unknown as u8),
            breaker: Mutex::new(breaker),
            pause_until: Mutex::new(None),
            in_flight: AtomicUsize::new(0),
            succeeded: AtomicU64::new(0),
            failed: AtomicU64::new(0),
        }
    }

    pub fn url(&self) -> String {
        self.pool.endpoint().url()
    }

    pub fn health(&self) -> Health {
        Health::from_u8(self.health.load(Ordering::Relaxed))
    }

    pub fn set_health(&self, h: Health) {
        self.health.store(h as u8, Ordering::Relaxed);
    }

    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }

    fn paused(&self, now: Instant) -> bool {
        self.pause_until
            .lock()
            .map(|p| p.is_some_and(|until| now < until))
            .unwrap_or(false)
    }

    /// Whether a call could go here now: circuit and pause, and health unless `ignore_health`
    /// (health checks lag; when every node looks down the client tries anyway).
    pub fn available(&self, now: Instant, ignore_health: bool) -> bool {
        (ignore_health || self.health() != Health::Down)
            && !self.paused(now)
            && self
                .breaker
                .lock()
                .map(|b| b.would_allow(now))
                .unwrap_or(true)
    }

    /// Takes the node for one call (the trial slot of a half-open circuit, if that is where
    /// the breaker is). The caller must report the outcome.
    pub fn acquire(&self, now: Instant) -> bool {
        let ok = self
            .breaker
            .lock()
            .map(|mut b| b.try_acquire(now))
            .unwrap_or(true);
        if ok {
            self.in_flight.fetch_add(1, Ordering::Relaxed);
        }
        ok
    }

    /// The call ended and the node did its part (any answer but a 5xx or a broken connection).
    pub fn succeeded(&self) {
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
        self.succeeded.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut b) = self.breaker.lock() {
            b.success();
        }
    }

    pub fn failed(&self, now: Instant) {
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
        self.failed.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut b) = self.breaker.lock() {
            b.failure(now);
        }
    }

    /// The call ended without telling anything about the node (the caller's deadline).
    pub fn abandoned(&self, now: Instant) {
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
        if let Ok(mut b) = self.breaker.lock() {
            b.abandon(now);
        }
    }

    /// The node said `Retry-After`: no call goes to it before then.
    pub fn pause(&self, until: Instant) {
        if let Ok(mut p) = self.pause_until.lock()
            && p.is_none_or(|current| current < until)
        {
            *p = Some(until);
        }
    }

    /// When this node will next be available (pause over, circuit ready for a trial).
    pub fn available_at(&self, now: Instant) -> Instant {
        let pause = self.pause_until.lock().ok().and_then(|p| *p);
        let reopen = self.breaker.lock().ok().and_then(|b| b.reopens_at());
        [pause, reopen]
            .into_iter()
            .flatten()
            .max()
            .unwrap_or(now + Duration::from_millis(5))
            .max(now)
    }

    pub fn status(&self) -> NodeStatus {
        NodeStatus {
            url: self.url(),
            health: self.health(),
            circuit_open: self.breaker.lock().map(|b| b.is_open()).unwrap_or(false),
            in_flight: self.in_flight(),
            succeeded: self.succeeded.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
        }
    }
}
