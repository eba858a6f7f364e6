//! Lanes: which worker threads run a key's operations.
//!
//! An AES encrypt costs a fraction of a microsecond; an RSA-3072 signature costs milliseconds.
//! On one set of threads, an AES request that lands behind a run of RSA signatures waits for them
//! all. So the pool keeps two sets of workers, each with its own bounded channel: the fast lane
//! runs symmetric keys (AEAD and MAC), the slow lane runs asymmetric keys, and the slow lane's
//! threads run at a lower scheduling priority so that, when both want the CPU, the fast lane gets
//! it first. A key's lane follows from its algorithm alone, so each lane's workers cache only the
//! keys they serve.

use crate::algorithm::{Algorithm, Family};

#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub enum Lane {
    Fast,
    Slow,
}

impl Lane {
    pub const ALL: [Lane; 2] = [Lane::Fast, Lane::Slow];

    pub fn of(algorithm: Algorithm) -> Lane {
        match algorithm.family() {
            Family::Aead | Family::Mac => Lane::Fast,
            Family::Rsa | Family::Ecdsa | Family::Ed25519 | Family::Sm2 => Lane::Slow,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Lane::Fast => "fast",
            Lane::Slow => "slow",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symmetric_keys_are_fast_and_asymmetric_keys_slow() {
        for a in Algorithm::ALL {
            let expected = if a.has_public_key() {
                Lane::Slow
            } else {
                Lane::Fast
            };
            assert_eq!(Lane::of(*a), expected, "{a:?}");
        }
    }
}
