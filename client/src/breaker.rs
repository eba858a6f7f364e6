//! A node's circuit breaker: after `threshold` consecutive failures the node is left alone for a
//! cooldown, then one trial call decides whether it is back. Time is passed in, so the state
//! machine is tested without sleeping.

use std::time::{Duration, Instant};

/// Cooldowns double after each failed trial, up to this.
const MAX_COOLDOWN: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Closed {
        failures: u32,
    },
    Open {
        until: Instant,
        cooldown: Duration,
    },
    /// One trial call is out; everything else waits for its outcome.
    HalfOpen {
        cooldown: Duration,
    },
}

#[derive(Debug)]
pub struct Breaker {
    state: State,
    threshold: u32,
    cooldown: Duration,
}

impl Breaker {
    pub fn new(threshold: u32, cooldown: Duration) -> Self {
        Self {
            state: State::Closed { failures: 0 },
            threshold,
            cooldown,
        }
    }

    /// Whether a call may go to the node now (taking the trial slot when the cooldown is over).
    pub fn try_acquire(&mut self, now: Instant) -> bool {
        match self.state {
            State::Closed { .. } => true,
            State::Open { until, cooldown } if now >= until => {
                self.state = State::HalfOpen { cooldown };
                true
            }
            State::Open { .. } | State::HalfOpen { .. } => false,
        }
    }

    /// Whether [`Breaker::try_acquire`] would succeed, without taking anything.
    pub fn would_allow(&self, now: Instant) -> bool {
        match self.state {
            State::Closed { .. } => true,
            State::Open { until, .. } => now >= until,
            State::HalfOpen { .. } => false,
        }
    }

    /// When an open circuit lets a trial through.
    pub fn reopens_at(&self) -> Option<Instant> {
        match self.state {
            State::Open { until, .. } => Some(until),
            _ => None,
        }
    }

    pub fn success(&mut self) {
        self.state = State::Closed { failures: 0 };
    }

    pub fn failure(&mut self, now: Instant) {
        self.state = match self.state {
            State::Closed { failures } if failures + 1 >= self.threshold => State::Open {
                until: now + self.cooldown,
                cooldown: self.cooldown,
            },
            State::Closed { failures } => State::Closed {
                failures: failures + 1,
            },
            State::HalfOpen { cooldown } => {
                let cooldown = (cooldown * 2).min(MAX_COOLDOWN);
                State::Open {
                    until: now + cooldown,
                    cooldown,
                }
            }
            // A failure reported late by a call that started before the circuit opened.
            open @ State::Open { .. } => open,
        };
    }

    /// A call that took the node ended without a verdict (its caller's deadline passed): a
    /// trial slot it held is given back as a closed circuit would be too hopeful, so the
    /// circuit opens again for one cooldown.
    pub fn abandon(&mut self, now: Instant) {
        if let State::HalfOpen { cooldown } = self.state {
            self.state = State::Open {
                until: now + cooldown,
                cooldown,
            };
        }
    }

    pub fn is_open(&self) -> bool {
        !matches!(self.state, State::Closed { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_consecutive_failures_and_a_trial_closes_or_reopens_it() {
        let t0 = Instant::now();
        let cool = Duration::from_secs(2);
        let mut b = Breaker::new(3, cool);
        b.failure(t0);
        b.failure(t0);
        b.success(); // not consecutive: starts over
        b.failure(t0);
        b.failure(t0);
        assert!(b.try_acquire(t0));
        b.failure(t0);
        assert!(b.is_open());
        assert!(!b.try_acquire(t0 + Duration::from_millis(1999)));
        assert_eq!(b.reopens_at(), Some(t0 + cool));
        // The cooldown is over: one trial, and nobody else meanwhile.
        let t1 = t0 + cool;
        assert!(b.try_acquire(t1));
        assert!(!b.try_acquire(t1));
        assert!(!b.would_allow(t1));
        // The trial fails: open again for twice as long.
        b.failure(t1);
        assert!(!b.try_acquire(t1 + Duration::from_millis(3999)));
        assert!(b.try_acquire(t1 + Duration::from_secs(4)));
        b.success();
        assert!(!b.is_open());
        assert!(b.try_acquire(t1 + Duration::from_secs(4)));
    }

    #[test]
    fn an_abandoned_trial_does_not_leave_the_node_out_for_good() {
        let t0 = Instant::now();
        let cool = Duration::from_secs(1);
        let mut b = Breaker::new(1, cool);
        b.failure(t0);
        assert!(b.try_acquire(t0 + cool));
        b.abandon(t0 + cool);
        assert!(!b.try_acquire(t0 + cool));
        assert!(b.try_acquire(t0 + cool * 2));
        // Abandoning outside a trial changes nothing.
        b.success();
        b.abandon(t0);
        assert!(!b.is_open());
    }

    #[test]
    fn cooldowns_stop_growing_at_the_maximum() {
        let mut t = Instant::now();
        let mut b = Breaker::new(1, Duration::from_secs(20));
        b.failure(t);
        for _ in 0..3 {
            t = b.reopens_at().unwrap();
            assert!(b.try_acquire(t));
            b.failure(t);
        }
        assert_eq!(b.reopens_at(), Some(t + MAX_COOLDOWN));
    }
}
