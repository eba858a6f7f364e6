//! Login challenges for password keys: random, single use, short-lived, bound to one key.
//!
//! The browser puts the challenge inside what it encrypts, so a captured `encrypted_password`
//! cannot be replayed: its challenge is spent the first time it is used. Challenges live in this
//! process's memory only, which is right for a single node (a restart only makes outstanding
//! logins fetch a new one); a multi-node deployment must share them (docs/passwords.md).

use std::collections::HashMap;
use std::sync::Mutex;

use crate::ciphertext::encode_b64;
use crate::clock::Timestamp;
use crate::error::EngineError;
use crate::ids::KeyId;

/// How long a challenge may be used.
pub const DEFAULT_TTL_MS: i64 = 120_000;
/// Outstanding challenges before new ones are refused (each is about 100 bytes).
pub const DEFAULT_CAPACITY: usize = 100_000;

struct Slot {
    key: KeyId,
    expires: Timestamp,
    used: bool,
}

pub struct Challenges {
    slots: Mutex<HashMap<String, Slot>>,
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
        Self {
            slots: Mutex::new(HashMap::new()),
            ttl_ms,
            capacity,
        }
    }

    fn slots(&self) -> std::sync::MutexGuard<'_, HashMap<String, Slot>> {
        // A panic while holding the lock leaves a map that is still consistent.
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A new challenge for `key` and when it expires.
    pub fn issue(&self, key: KeyId, now: Timestamp) -> Result<(String, Timestamp), EngineError> {
        let mut bytes = [0u8; 32];
        rand::fill(&mut bytes);
        let challenge = encode_b64(&bytes);
        let expires = Timestamp::from_millis(now.millis() + self.ttl_ms);
        let mut slots = self.slots();
        if slots.len() >= self.capacity {
            // Kept one more lifetime after expiry, so that a late use is told "expired".
            let forget = now.millis() - self.ttl_ms;
            slots.retain(|_, s| s.expires.millis() > forget);
            if slots.len() >= self.capacity {
                return Err(EngineError::TooManyChallenges);
            }
        }
        slots.insert(
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
        let mut slots = self.slots();
        let slot = slots
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

    #[test]
    fn a_challenge_is_single_use_short_lived_and_bound_to_its_key() {
        let c = Challenges::new(1000, 10);
        let (k1, k2) = (KeyId::random(), KeyId::random());
        let (a, expires) = c.issue(k1, at(0)).unwrap();
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
        let (b, _) = c.issue(k1, at(0)).unwrap();
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
        c.issue(k, at(0)).unwrap();
        c.issue(k, at(0)).unwrap();
        assert!(matches!(
            c.issue(k, at(10)),
            Err(EngineError::TooManyChallenges)
        ));
        // Once they are past expiry and a further lifetime, they make room.
        c.issue(k, at(2001)).unwrap();
    }
}
