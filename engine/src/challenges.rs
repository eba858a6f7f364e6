//! Login challenges for password keys: random, single use, short-lived, bound to one key.
//!
//! The browser puts the challenge inside what it encrypts, so a captured `encrypted_password`
//! cannot be replayed: its challenge is spent the first time it is used. Challenges live in this
//! process's memory only, which is right for a single node (a restart only makes outstanding
//! logins fetch a new one); a multi-node deployment must share them (docs/passwords.md).
//!
//! The table is bounded globally, and so is what one caller (an app) and one key may hold: at
//! most `per_caller` and `per_key` challenges issued within one lifetime (two minutes). A caller
//! past its share is told `challenge_quota_exceeded` (429) with the seconds until its oldest
//! challenge expires; others still get theirs, so one app cannot fill the table for everyone.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::sync::{Arc, Mutex};

use crate::ciphertext::encode_b64;
use crate::clock::Timestamp;
use crate::error::EngineError;
use crate::ids::KeyId;

/// How long a challenge may be used.
pub const DEFAULT_TTL_MS: i64 = 120_000;
/// Outstanding challenges before new ones are refused (each is about 100 bytes).
pub const DEFAULT_CAPACITY: usize = 100_000;
/// Challenges one caller may be issued within one lifetime.
pub const DEFAULT_PER_CALLER: usize = 10_000;
/// Challenges one key may be issued within one lifetime.
pub const DEFAULT_PER_KEY: usize = 25_000;

/// How many challenges each caller and each key has been issued within one lifetime: the expiry
/// times of those issued, oldest first.
struct Quota<K> {
    cap: usize,
    issued: HashMap<K, VecDeque<i64>>,
}

impl<K: Eq + Hash + Clone> Quota<K> {
    fn new(cap: usize) -> Self {
        Self {
            cap,
            issued: HashMap::new(),
        }
    }

    /// `Ok` if `who` may have one more now, else the seconds until its oldest expires.
    fn check(&mut self, who: &K, now: i64) -> Result<(), u32> {
        let Some(queue) = self.issued.get_mut(who) else {
            return Ok(());
        };
        while queue.front().is_some_and(|&e| e <= now) {
            queue.pop_front();
        }
        if queue.is_empty() {
            self.issued.remove(who);
            return Ok(());
        }
        match queue.front() {
            Some(&oldest) if queue.len() >= self.cap => {
                Err(u32::try_from((oldest - now + 999) / 1000)
                    .unwrap_or(1)
                    .max(1))
            }
            _ => Ok(()),
        }
    }

    fn add(&mut self, who: K, expires: i64) {
        self.issued.entry(who).or_default().push_back(expires);
    }

    /// Forgets callers and keys with nothing unexpired (bounds the maps by the global table).
    fn sweep(&mut self, now: i64) {
        self.issued.retain(|_, q| {
            while q.front().is_some_and(|&e| e <= now) {
                q.pop_front();
            }
            !q.is_empty()
        });
    }
}

struct Table {
    slots: HashMap<String, Slot>,
    callers: Quota<Arc<str>>,
    keys: Quota<KeyId>,
}

struct Slot {
    key: KeyId,
    expires: Timestamp,
    used: bool,
}

pub struct Challenges {
    table: Mutex<Table>,
    ttl_ms: i64,
    capacity: usize,
}

impl Default for Challenges {
    fn default() -> Self {
        Self::new(DEFAULT_TTL_MS, DEFAULT_CAPACITY)
    }
}

impl Challenges {
    pub fn new(ttl_ms: i64, capacity: usize) -> Self {
        Self::with_quotas(ttl_ms, capacity, DEFAULT_PER_CALLER, DEFAULT_PER_KEY)
    }

    /// A table with these shares per caller and per key (each at least 1).
    pub fn with_quotas(ttl_ms: i64, capacity: usize, per_caller: usize, per_key: usize) -> Self {
        Self {
            table: Mutex::new(Table {
                slots: HashMap::new(),
                callers: Quota::new(per_caller.max(1)),
                keys: Quota::new(per_key.max(1)),
            }),
            ttl_ms,
            capacity,
        }
    }

    fn table(&self) -> std::sync::MutexGuard<'_, Table> {
        // A panic while holding the lock leaves a table that is still consistent.
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A new challenge for `key`, asked for by `caller` (its audit name), and when it expires.
    pub fn issue(
        &self,
        key: KeyId,
        caller: &Arc<str>,
        now: Timestamp,
    ) -> Result<(String, Timestamp), EngineError> {
        let mut bytes = [0u8; 32];
        rand::fill(&mut bytes);
        let challenge = encode_b64(&bytes);
        let expires = Timestamp::from_millis(now.millis() + self.ttl_ms);
        let mut table = self.table();
        let quota = |retry_after_secs| EngineError::ChallengeQuotaExceeded { retry_after_secs };
        table.callers.check(caller, now.millis()).map_err(quota)?;
        table.keys.check(&key, now.millis()).map_err(quota)?;
        if table.slots.len() >= self.capacity {
            // Kept one more lifetime after expiry, so that a late use is told "expired".
            let forget = now.millis() - self.ttl_ms;
            table.slots.retain(|_, s| s.expires.millis() > forget);
            table.callers.sweep(now.millis());
            table.keys.sweep(now.millis());
            if table.slots.len() >= self.capacity {
                return Err(EngineError::TooManyChallenges);
            }
        }
        table.callers.add(Arc::clone(caller), expires.millis());
        table.keys.add(key, expires.millis());
        table.slots.insert(
            challenge.clone(),
            Slot {
                key,
                expires,
                used: false,
            },
        );
        Ok((challenge, expires))
    }

    /// Spends `challenge` for `key`: it must exist, be for this key, unexpired and unused.
    pub fn consume(&self, key: KeyId, challenge: &str, now: Timestamp) -> Result<(), EngineError> {
        let mut table = self.table();
        let slot = table
            .slots
            .get_mut(challenge)
            .ok_or(EngineError::ChallengeUnknown)?;
        if slot.key != key {
            return Err(EngineError::ChallengeWrongKey);
        }
        if slot.used {
            return Err(EngineError::ChallengeReused);
        }
        if now.millis() >= slot.expires.millis() {
            return Err(EngineError::ChallengeExpired);
        }
        slot.used = true;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: i64) -> Timestamp {
        Timestamp::from_millis(ms)
    }

    fn app() -> Arc<str> {
        Arc::from("app:web")
    }

    #[test]
    fn one_caller_or_one_key_cannot_take_the_whole_table() {
        let c = Challenges::with_quotas(1000, 100, 2, 3);
        let (k1, k2) = (KeyId::random(), KeyId::random());
        let (greedy, other, third): (Arc<str>, Arc<str>, Arc<str>) = (
            Arc::from("app:greedy"),
            Arc::from("app:other"),
            Arc::from("app:third"),
        );
        c.issue(k1, &greedy, at(0)).unwrap();
        c.issue(k2, &greedy, at(400)).unwrap();
        assert!(matches!(
            c.issue(k1, &greedy, at(500)),
            Err(EngineError::ChallengeQuotaExceeded {
                retry_after_secs: 1
            })
        ));
        // Others still get theirs, until the key's own share is spent.
        c.issue(k1, &other, at(500)).unwrap();
        c.issue(k1, &other, at(500)).unwrap();
        assert!(matches!(
            c.issue(k1, &third, at(500)),
            Err(EngineError::ChallengeQuotaExceeded { .. })
        ));
        c.issue(k2, &third, at(500)).unwrap();
        // The greedy caller's oldest expires: it may have one more.
        c.issue(k2, &greedy, at(1000)).unwrap();
    }

    #[test]
    fn a_challenge_is_single_use_short_lived_and_bound_to_its_key() {
        let c = Challenges::new(1000, 10);
        let (k1, k2) = (KeyId::random(), KeyId::random());
        let (a, expires) = c.issue(k1, &app(), at(0)).unwrap();
        assert_eq!(expires, at(1000));
        assert!(matches!(
            c.consume(k2, &a, at(1)),
            Err(EngineError::ChallengeWrongKey)
        ));
        c.consume(k1, &a, at(999)).unwrap();
        assert!(matches!(
            c.consume(k1, &a, at(999)),
            Err(EngineError::ChallengeReused)
        ));
        let (b, _) = c.issue(k1, &app(), at(0)).unwrap();
        assert_ne!(a, b);
        assert!(matches!(
            c.consume(k1, &b, at(1000)),
            Err(EngineError::ChallengeExpired)
        ));
        assert!(matches!(
            c.consume(k1, "nope", at(0)),
            Err(EngineError::ChallengeUnknown)
        ));
    }

    #[test]
    fn outstanding_challenges_are_bounded() {
        let c = Challenges::new(1000, 2);
        let k = KeyId::random();
        c.issue(k, &app(), at(0)).unwrap();
        c.issue(k, &app(), at(0)).unwrap();
        assert!(matches!(
            c.issue(k, &app(), at(10)),
            Err(EngineError::TooManyChallenges)
        ));
        // Once they are past expiry and a further lifetime, they make room.
        c.issue(k, &app(), at(2001)).unwrap();
    }
}
