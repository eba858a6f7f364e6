//! The per-app rate limiter of usage policies: lock-free GCRA.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateSpec {
    pub per_second: u32,
    /// Requests allowed at once after a quiet spell; default `per_second`.
    #[serde(default)]
    pub burst: Option<u32>,
}

/// The most requests per second a rate limit may name (one per microsecond).
pub const MAX_RATE: u32 = 1_000_000;

/// A token bucket as GCRA (the generic cell rate algorithm): one `AtomicU64` holding the
/// theoretical arrival time, advanced by compare-and-swap. No lock, no allocation, and a refusal
/// changes nothing.
/// Why [`RateLimiter::acquire_n`] refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Allowed after this many nanoseconds.
    Wait(u64),
    /// More items than the burst: never allowed in one call.
    OverBurst { burst: u64 },
}

#[derive(Debug)]
pub struct RateLimiter {
    /// Nanoseconds since the Unix epoch at which the bucket is full again.
    tat: AtomicU64,
    /// Nanoseconds per request at the sustained rate.
    interval: u64,
    /// `burst × interval`: how far ahead of now `tat` may run.
    tolerance: u64,
}

impl RateLimiter {
    pub fn new(rate: RateSpec) -> Self {
        let per_second = u64::from(rate.per_second.clamp(1, MAX_RATE));
        let burst = u64::from(rate.burst.unwrap_or(rate.per_second).max(1));
        let interval = 1_000_000_000 / per_second;
        Self {
            tat: AtomicU64::new(0),
            interval,
            tolerance: interval.saturating_mul(burst),
        }
    }

    pub(super) fn same_rate(&self, other: &RateLimiter) -> bool {
        self.interval == other.interval && self.tolerance == other.tolerance
    }

    /// Takes one request at `now_ms`, or says in how many nanoseconds one will be allowed.
    pub fn acquire(&self, now_ms: i64) -> Result<(), u64> {
        self.acquire_n(now_ms, 1).map_err(|e| match e {
            Refusal::Wait(ns) => ns,
            Refusal::OverBurst { .. } => u64::MAX,
        })
    }

    /// The most items one call may take: the burst.
    pub fn burst(&self) -> u64 {
        self.tolerance / self.interval.max(1)
    }

    /// Takes `n` items at once at `now_ms`, all or none. A call for more than the burst can never
    /// pass and is refused as such; a refusal changes nothing.
    pub fn acquire_n(&self, now_ms: i64, n: u64) -> Result<(), Refusal> {
        let n = n.max(1);
        let burst = self.burst();
        if n > burst {
            return Err(Refusal::OverBurst { burst });
        }
        let cost = self.interval.saturating_mul(n);
        let now = u64::try_from(now_ms).unwrap_or(0).saturating_mul(1_000_000);
        let mut tat = self.tat.load(Ordering::Relaxed);
        loop {
            let next = tat.max(now).saturating_add(cost);
            let ahead = next - now;
            if ahead > self.tolerance {
                return Err(Refusal::Wait(ahead - self.tolerance));
            }
            match self
                .tat
                .compare_exchange_weak(tat, next, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return Ok(()),
                Err(current) => tat = current,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn the_rate_limiter_allows_the_burst_then_the_rate() {
        let limiter = RateLimiter::new(RateSpec {
            per_second: 2,
            burst: Some(3),
        });
        let t = 1_800_000_000_000;
        for _ in 0..3 {
            assert_eq!(limiter.acquire(t), Ok(()));
        }
        // The fourth waits half a second (one interval at 2/s).
        assert_eq!(limiter.acquire(t), Err(500_000_000));
        // Refusals take nothing.
        assert_eq!(limiter.acquire(t + 499), Err(1_000_000));
        assert_eq!(limiter.acquire(t + 500), Ok(()));
        assert!(limiter.acquire(t + 500).is_err());
        // After a quiet spell the bucket is full again, but never more than the burst.
        for _ in 0..3 {
            assert_eq!(limiter.acquire(t + 60_000), Ok(()));
        }
        assert!(limiter.acquire(t + 60_000).is_err());
    }

    #[test]
    fn a_batch_is_charged_per_item_and_one_over_the_burst_is_refused_whole() {
        let limiter = RateLimiter::new(RateSpec {
            per_second: 1,
            burst: Some(10),
        });
        let t = 1_800_000_000_000;
        assert_eq!(
            limiter.acquire_n(t, 5_000),
            Err(Refusal::OverBurst { burst: 10 })
        );
        // The refusal took nothing: the whole burst is still there, and then it is gone.
        assert_eq!(limiter.acquire_n(t, 7), Ok(()));
        assert_eq!(limiter.acquire_n(t, 4), Err(Refusal::Wait(1_000_000_000)));
        assert_eq!(limiter.acquire_n(t, 3), Ok(()));
        assert!(limiter.acquire(t).is_err());
    }

    #[test]
    fn the_rate_limiter_is_exact_under_contention() {
        let limiter = Arc::new(RateLimiter::new(RateSpec {
            per_second: 1,
            burst: Some(1000),
        }));
        let t = 1_800_000_000_000;
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let l = Arc::clone(&limiter);
                std::thread::spawn(move || (0..1000).filter(|_| l.acquire(t).is_ok()).count())
            })
            .collect();
        let allowed: usize = threads.into_iter().map(|h| h.join().unwrap()).sum();
        assert_eq!(allowed, 1000);
    }
}
