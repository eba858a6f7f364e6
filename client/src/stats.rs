//! Counters of what the client did, for applications' metrics and for the benchmarks (the mean
//! batch size is `items / requests`).

use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Default)]
pub(crate) struct Counters {
    pub requests: AtomicU64,
    pub items: AtomicU64,
    pub batches: AtomicU64,
    pub retries: AtomicU64,
    pub failovers: AtomicU64,
    pub datakeys_fetched: AtomicU64,
    pub cache_hits: AtomicU64,
}

impl Counters {
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> Stats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        Stats {
            requests: get(&self.requests),
            items: get(&self.items),
            batches: get(&self.batches),
            retries: get(&self.retries),
            failovers: get(&self.failovers),
            datakeys_fetched: get(&self.datakeys_fetched),
            cache_hits: get(&self.cache_hits),
        }
    }
}

/// A snapshot from [`crate::Client::stats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// HTTP requests sent, every attempt counted.
    pub requests: u64,
    /// Data-plane items those requests carried (a batch counts each).
    pub items: u64,
    /// Requests that carried more than one item.
    pub batches: u64,
    /// Attempts after the first, for any reason.
    pub retries: u64,
    /// Retries that went to another node than the attempt before.
    pub failovers: u64,
    /// Data keys fetched from the KMS for envelope encryption and decryption.
    pub datakeys_fetched: u64,
    /// Envelope operations served by a cached data key.
    pub cache_hits: u64,
}
