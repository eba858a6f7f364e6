//! What stands in front of every password check: throttles per source address and per account
//! name (so a flood neither guesses quickly nor fills the failure counters of everyone), and a
//! bound on concurrent argon2 hashing (each takes about 19 MiB: without a bound, 60 concurrent
//! logins for unknown names took the server from 45 MB to 1.28 GB).
//!
//! The same guard serves people's logins, enrolments, self-service renewals and kms.toml
//! custodians' HTTP Basic authentication (which also locks a custodian after repeated failures,
//! in memory, since custodians are not in the store).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use kms_engine::clock::Timestamp;
use tokio::sync::{Semaphore, SemaphorePermit};

use crate::error::ControlError;

/// Entries kept per throttle before expired ones are swept.
const MAX_ENTRIES: usize = 10_000;

/// A generic cell rate: `burst` attempts at once, then one per `interval_ms`, per key.
struct Throttle {
    interval_ms: i64,
    burst: i64,
    /// Per key: the theoretical arrival time (ms) of the next attempt.
    tat: Mutex<HashMap<String, i64>>,
}

impl Throttle {
    fn new(per_minute: u32, burst: u32) -> Self {
        Self {
            interval_ms: 60_000 / i64::from(per_minute.max(1)),
            burst: i64::from(burst.max(1)),
            tat: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one attempt for `key` at `now`, or says in how many seconds one is allowed.
    fn take(&self, key: &str, now: i64) -> Result<(), u32> {
        let mut tat = self.tat.lock().unwrap_or_else(|e| e.into_inner());
        if tat.len() >= MAX_ENTRIES {
            tat.retain(|_, t| *t > now);
        }
        if tat.len() >= MAX_ENTRIES && !tat.contains_key(key) {
            // Still full of live entries: a flood from many sources. Refuse rather than grow.
            return Err(1);
        }
        let current = tat.get(key).copied().unwrap_or(now).max(now);
        let next = current + self.interval_ms;
        let ahead = next - now;
        if ahead > self.interval_ms * self.burst {
            let wait = ahead - self.interval_ms * self.burst;
            return Err(u32::try_from(wait / 1000 + 1).unwrap_or(u32::MAX));
        }
        tat.insert(key.to_owned(), next);
        Ok(())
    }
}

/// A kms.toml custodian's failures in a row, and their lock.
#[derive(Default, Clone, Copy)]
struct Failures {
    count: u32,
    locked_until: Option<Timestamp>,
}

pub struct LoginGuard {
    hashing: Semaphore,
    /// How long a check waits for a hashing slot before it is refused.
    wait: Duration,
    by_source: Throttle,
    by_account: Throttle,
    custodians: Mutex<HashMap<String, Failures>>,
}

/// Concurrent password hashes: two per core, so the CPU stays busy and memory bounded.
fn hashing_slots() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get() * 2)
}

impl Default for LoginGuard {
    fn default() -> Self {
        Self::new(hashing_slots())
    }
}

fn throttled(retry_after_secs: u32) -> ControlError {
    ControlError::Throttled {
        code: "login_throttled",
        message: format!("too many login attempts; retry in {retry_after_secs} s"),
        retry_after_secs,
    }
}

impl LoginGuard {
    pub fn new(slots: usize) -> Self {
        Self {
            hashing: Semaphore::new(slots.max(1)),
            wait: Duration::from_secs(2),
            // An address may try 30 a minute (people behind one proxy log in too); an account
            // name 10 a minute, whoever tries.
            by_source: Throttle::new(30, 30),
            by_account: Throttle::new(10, 10),
            custodians: Mutex::new(HashMap::new()),
        }
    }

    /// Admits one attempt from `source` for `account`, or refuses it (`login_throttled`, with
    /// when to retry).
    pub fn admit(
        &self,
        source: Option<&str>,
        account: &str,
        now: Timestamp,
    ) -> Result<(), ControlError> {
        if let Some(source) = source {
            self.by_source
                .take(source, now.millis())
                .map_err(throttled)?;
        }
        self.by_account
            .take(account, now.millis())
            .map_err(throttled)
    }

    /// A slot to hash a password in; waits briefly, then refuses (`login_busy`).
    pub async fn hashing(&self) -> Result<SemaphorePermit<'_>, ControlError> {
        match tokio::time::timeout(self.wait, self.hashing.acquire()).await {
            Ok(Ok(permit)) => Ok(permit),
            Ok(Err(_)) => Err(ControlError::internal("the hashing semaphore is closed")),
            Err(_) => Err(ControlError::Throttled {
                code: "login_busy",
                message: "too many password checks at once; retry in a moment".into(),
                retry_after_secs: 1,
            }),
        }
    }

    /// Whether the custodian is locked at `now` (and until when).
    pub fn custodian_locked(&self, name: &str, now: Timestamp) -> Option<Timestamp> {
        let map = self.custodians.lock().unwrap_or_else(|e| e.into_inner());
        map.get(name)
            .and_then(|f| f.locked_until)
            .filter(|until| now < *until)
    }

    /// Counts a custodian's failure; the `max`-th in a row locks them until `now + lockout`.
    pub fn custodian_failed(&self, name: &str, max: u32, lockout: Duration, now: Timestamp) {
        let mut map = self.custodians.lock().unwrap_or_else(|e| e.into_inner());
        let f = map.entry(name.to_owned()).or_default();
        if f.locked_until.is_some_and(|until| now < until) {
            return;
        }
        f.count += 1;
        if f.count >= max.max(1) {
            let ms = i64::try_from(lockout.as_millis()).unwrap_or(i64::MAX);
            *f = Failures {
                count: 0,
                locked_until: Some(Timestamp::from_millis(now.millis().saturating_add(ms))),
            };
        }
    }

    pub fn custodian_succeeded(&self, name: &str) {
        let mut map = self.custodians.lock().unwrap_or_else(|e| e.into_inner());
        map.remove(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttles_allow_the_burst_then_the_rate_per_key() {
        let t = Throttle::new(60, 3);
        for _ in 0..3 {
            assert!(t.take("a", 0).is_ok());
        }
        assert!(t.take("a", 0).is_err());
        assert!(t.take("b", 0).is_ok(), "another key has its own bucket");
        assert!(t.take("a", 1_000).is_ok(), "one more a second later");
        assert!(t.take("a", 1_000).is_err());
    }

    #[test]
    fn a_custodian_locks_at_the_limit_and_unlocks_after_the_lockout() {
        let g = LoginGuard::new(1);
        let t = Timestamp::from_millis(1_000);
        for _ in 0..4 {
            g.custodian_failed("alice", 5, Duration::from_secs(60), t);
        }
        assert!(g.custodian_locked("alice", t).is_none());
        g.custodian_failed("alice", 5, Duration::from_secs(60), t);
        assert!(g.custodian_locked("alice", t).is_some());
        assert!(
            g.custodian_locked("alice", Timestamp::from_millis(61_001))
                .is_none()
        );
    }
}
