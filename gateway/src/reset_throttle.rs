//! `POST /v1/sys/unseal {"reset":true}` needs no credential (custodians unseal a sealed server,
//! which can authenticate no one), so anyone could wipe the custodians' progress over and over.
//! A reset is therefore allowed once per [`UNSEAL_RESET_EVERY_MS`] per process; others get
//! `429 unseal_reset_throttled` with `Retry-After`, audited like every unseal attempt.

use std::sync::atomic::{AtomicU64, Ordering};

/// The shortest time between two resets.
pub const UNSEAL_RESET_EVERY_MS: u64 = 60_000;

/// The time of the last allowed reset (milliseconds on the state's clock; 0: none yet).
#[derive(Debug, Default)]
pub struct ResetThrottle(AtomicU64);

impl ResetThrottle {
    /// Takes the reset slot at `now_ms`, or says how many seconds until the next one.
    pub fn take(&self, now_ms: u64) -> Result<(), u32> {
        let last = self.0.load(Ordering::Acquire);
        if last != 0 && now_ms < last.saturating_add(UNSEAL_RESET_EVERY_MS) {
            let wait_ms = last + UNSEAL_RESET_EVERY_MS - now_ms;
            return Err(u32::try_from(wait_ms.div_ceil(1000)).unwrap_or(u32::MAX));
        }
        // Two resets racing for the slot: one wins, the other waits like any other.
        self.0
            .compare_exchange(last, now_ms.max(1), Ordering::AcqRel, Ordering::Acquire)
            .map(|_| ())
            .map_err(|_| u32::try_from(UNSEAL_RESET_EVERY_MS / 1000).unwrap_or(u32::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_reset_per_interval() {
        let t = ResetThrottle::default();
        assert_eq!(t.take(1_000), Ok(()));
        assert_eq!(t.take(1_001), Err(60));
        assert_eq!(t.take(60_500), Err(1));
        assert_eq!(t.take(61_000), Ok(()));
    }
}
