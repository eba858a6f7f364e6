//! Per-key usage policies: which source addresses may use a key, in which UTC time windows, and
//! how fast each app may call it.
//!
//! An administrator sends a [`PolicySpec`] (strings, as in the API); [`UsagePolicy::parse`] checks
//! it once and keeps it in a form that costs a few comparisons per request. The store keeps the
//! canonical spec ([`UsagePolicy::spec`]) as JSON. A key's snapshot carries a [`KeyPolicy`]: the
//! policy and one [`RateLimiter`] per granted app, created with the snapshot and handed on to the
//! next snapshot of the key (see `Directory::put_key`), so rebuilding the directory does not
//! refill anyone's bucket. A key without a policy carries nothing and is checked by nothing.

mod cidr;
mod rate;
mod window;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub use cidr::Cidr;
pub use rate::{MAX_RATE, RateLimiter, RateSpec, Refusal};
pub use window::{TimeWindow, WindowSpec};

use crate::clock::Clock;
use crate::error::EngineError;
use crate::ids::AppId;

/// A policy as administrators write it and the store keeps it. Absent or empty parts restrict
/// nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicySpec {
    #[serde(default)]
    pub allowed_cidrs: Vec<String>,
    #[serde(default)]
    pub time_windows: Vec<WindowSpec>,
    #[serde(default)]
    pub rate_limit: Option<RateSpec>,
}

/// A checked policy.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UsagePolicy {
    cidrs: Vec<Cidr>,
    windows: Vec<TimeWindow>,
    rate: Option<RateSpec>,
}

/// At most this many ranges and windows per policy: each is checked per request.
pub const MAX_ENTRIES: usize = 64;

impl UsagePolicy {
    pub fn parse(spec: &PolicySpec) -> Result<Self, EngineError> {
        if spec.allowed_cidrs.len() > MAX_ENTRIES || spec.time_windows.len() > MAX_ENTRIES {
            return Err(EngineError::invalid_policy(format!(
                "at most {MAX_ENTRIES} CIDR ranges and {MAX_ENTRIES} time windows"
            )));
        }
        let cidrs = spec
            .allowed_cidrs
            .iter()
            .map(|c| Cidr::parse(c))
            .collect::<Result<_, _>>()?;
        let windows = spec
            .time_windows
            .iter()
            .map(TimeWindow::parse)
            .collect::<Result<_, _>>()?;
        if let Some(r) = spec.rate_limit {
            if !(1..=MAX_RATE).contains(&r.per_second) {
                return Err(EngineError::invalid_policy(format!(
                    "`rate_limit.per_second` must be 1 to {MAX_RATE}"
                )));
            }
            if r.burst.is_some_and(|b| !(1..=MAX_RATE).contains(&b)) {
                return Err(EngineError::invalid_policy(format!(
                    "`rate_limit.burst` must be 1 to {MAX_RATE}"
                )));
            }
        }
        Ok(Self {
            cidrs,
            windows,
            rate: spec.rate_limit,
        })
    }

    /// True when the policy restricts nothing (the same as no policy).
    pub fn is_empty(&self) -> bool {
        self.cidrs.is_empty() && self.windows.is_empty() && self.rate.is_none()
    }

    /// Whether this policy allows nothing that `old` refused: each range within one of `old`'s,
    /// each window one of `old`'s, a rate no higher (a part `old` does not have restricts more
    /// than nothing). Replacing a policy by one that is not is loosening it, which needs approval.
    pub fn at_least_as_strict_as(&self, old: &UsagePolicy) -> bool {
        let cidrs = old.cidrs.is_empty()
            || (!self.cidrs.is_empty()
                && self
                    .cidrs
                    .iter()
                    .all(|c| old.cidrs.iter().any(|o| c.within(o))));
        let windows = old.windows.is_empty()
            || (!self.windows.is_empty() && self.windows.iter().all(|w| old.windows.contains(w)));
        let burst = |r: &RateSpec| r.burst.unwrap_or(r.per_second);
        let rate = match (&old.rate, &self.rate) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(o), Some(n)) => n.per_second <= o.per_second && burst(n) <= burst(o),
        };
        cidrs && windows && rate
    }

    /// The canonical spec: what the store keeps and administrators see.
    pub fn spec(&self) -> PolicySpec {
        PolicySpec {
            allowed_cidrs: self.cidrs.iter().map(ToString::to_string).collect(),
            time_windows: self.windows.iter().map(TimeWindow::spec).collect(),
            rate_limit: self.rate,
        }
    }
}

impl UsagePolicy {
    /// The form the store keeps: the canonical spec as JSON.
    pub fn to_stored(&self) -> String {
        serde_json::to_string(&self.spec()).unwrap_or_default()
    }

    pub fn from_stored(text: &str) -> Result<Self, EngineError> {
        let spec: PolicySpec = serde_json::from_str(text)
            .map_err(|e| EngineError::invalid_policy(format!("stored policy: {e}")))?;
        Self::parse(&spec)
    }
}

/// A key's policy as the data plane holds it: the policy and a rate limiter per granted app.
#[derive(Clone, Debug)]
pub struct KeyPolicy {
    pub policy: UsagePolicy,
    limiters: HashMap<AppId, Arc<RateLimiter>>,
}

impl KeyPolicy {
    /// The policy with a fresh limiter for each of `apps` (the apps granted on the key), if it has
    /// a rate limit.
    pub fn new<'a>(policy: UsagePolicy, apps: impl Iterator<Item = &'a AppId>) -> Self {
        let limiters = match policy.rate {
            Some(rate) => apps
                .map(|app| (*app, Arc::new(RateLimiter::new(rate))))
                .collect(),
            None => HashMap::new(),
        };
        Self { policy, limiters }
    }

    /// Keeps the buckets of `previous` (the key's policy in the last snapshot) for apps whose
    /// limit is unchanged, so that a new snapshot does not refill them.
    pub fn keep_buckets(&mut self, previous: &KeyPolicy) {
        for (app, limiter) in &mut self.limiters {
            if let Some(old) = previous.limiters.get(app)
                && old.same_rate(limiter)
            {
                *limiter = Arc::clone(old);
            }
        }
    }

    /// Whether `app`, calling from `remote`, may use the key now. Checks the source, then the
    /// time, then takes from the app's bucket (so refused requests do not use up the rate).
    pub fn check(
        &self,
        app: &AppId,
        remote: Option<IpAddr>,
        clock: &dyn Clock,
    ) -> Result<(), EngineError> {
        self.check_n(app, remote, clock, 1)
    }

    /// As [`check`](Self::check) for a request of `items` items: the bucket is charged per item,
    /// all or none, and a batch larger than the burst is refused whole.
    pub fn check_n(
        &self,
        app: &AppId,
        remote: Option<IpAddr>,
        clock: &dyn Clock,
        items: u64,
    ) -> Result<(), EngineError> {
        let p = &self.policy;
        if !p.cidrs.is_empty() && !remote.is_some_and(|ip| Cidr::any_contains(&p.cidrs, ip)) {
            return Err(EngineError::SourceNotAllowed);
        }
        if p.windows.is_empty() && p.rate.is_none() {
            return Ok(());
        }
        let now = clock.now().millis();
        if !p.windows.is_empty() && !p.windows.iter().any(|w| w.contains(now)) {
            return Err(EngineError::OutsideTimeWindow);
        }
        if p.rate.is_some() {
            // Every granted app has a limiter; an app without one cannot have passed the grant
            // check, and is refused rather than let through unlimited.
            let wait = match self.limiters.get(app) {
                Some(limiter) => limiter.acquire_n(now, items),
                None => Err(Refusal::Wait(1_000_000_000)),
            };
            if let Err(Refusal::OverBurst { burst }) = wait {
                return Err(EngineError::BatchOverRateBurst { items, burst });
            }
            if let Err(Refusal::Wait(ns)) = wait {
                let secs = ns.div_ceil(1_000_000_000).max(1);
                return Err(EngineError::RateLimited {
                    retry_after_secs: u32::try_from(secs).unwrap_or(u32::MAX),
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{ManualClock, Timestamp};

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn spec(json: serde_json::Value) -> PolicySpec {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn a_key_policy_checks_source_then_time_then_rate_per_app() {
        let policy = UsagePolicy::parse(&spec(serde_json::json!({
            "allowed_cidrs": ["10.0.0.0/8"],
            "time_windows": [{"days": ["mon"], "start": "08:00", "end": "18:00"}],
            "rate_limit": {"per_second": 1, "burst": 2}
        })))
        .unwrap();
        let (a, b) = (AppId::random(), AppId::random());
        let kp = KeyPolicy::new(policy.clone(), [a, b].iter());
        // Monday 2026-11-30 09:00 UTC.
        let clock = ManualClock::new(Timestamp::from_millis(1_795_996_800_000 + 9 * 3_600_000));
        let inside = Some(ip("10.1.1.1"));
        assert!(matches!(
            kp.check(&a, Some(ip("192.168.0.1")), &clock),
            Err(EngineError::SourceNotAllowed)
        ));
        assert!(matches!(
            kp.check(&a, None, &clock),
            Err(EngineError::SourceNotAllowed)
        ));
        assert!(kp.check(&a, inside, &clock).is_ok());
        assert!(kp.check(&a, inside, &clock).is_ok());
        assert!(matches!(
            kp.check(&a, inside, &clock),
            Err(EngineError::RateLimited {
                retry_after_secs: 1
            })
        ));
        // Another app has its own bucket; an app with none is refused.
        assert!(kp.check(&b, inside, &clock).is_ok());
        assert!(kp.check(&AppId::random(), inside, &clock).is_err());

        // A new snapshot with the same limit keeps the buckets; a changed limit starts afresh.
        let mut same = KeyPolicy::new(policy.clone(), [a, b].iter());
        same.keep_buckets(&kp);
        assert!(same.check(&a, inside, &clock).is_err());
        let mut spec2 = policy.spec();
        spec2.rate_limit = Some(RateSpec {
            per_second: 5,
            burst: None,
        });
        let mut changed = KeyPolicy::new(UsagePolicy::parse(&spec2).unwrap(), [a].iter());
        changed.keep_buckets(&kp);
        assert!(changed.check(&a, inside, &clock).is_ok());

        clock.advance_millis(10 * 3_600_000);
        assert!(matches!(
            kp.check(&b, inside, &clock),
            Err(EngineError::OutsideTimeWindow)
        ));
    }

    #[test]
    fn specs_round_trip_and_empty_means_none() {
        let s = spec(serde_json::json!({
            "allowed_cidrs": ["127.0.0.1", "10.0.0.0/8"],
            "time_windows": [{"start": "22:00", "end": "06:00"}],
            "rate_limit": {"per_second": 100}
        }));
        let p = UsagePolicy::parse(&s).unwrap();
        let canonical = p.spec();
        assert_eq!(canonical.allowed_cidrs, vec!["127.0.0.1/32", "10.0.0.0/8"]);
        assert_eq!(UsagePolicy::parse(&canonical).unwrap(), p);
        assert_eq!(UsagePolicy::from_stored(&p.to_stored()).unwrap(), p);
        assert!(
            UsagePolicy::parse(&PolicySpec::default())
                .unwrap()
                .is_empty()
        );
        for bad in [
            serde_json::json!({"rate_limit": {"per_second": 0}}),
            serde_json::json!({"rate_limit": {"per_second": 5, "burst": 0}}),
            serde_json::json!({"allowed_cidrs": ["10.0.0.0/8", "nope"]}),
        ] {
            assert!(
                matches!(
                    UsagePolicy::parse(&spec(bad.clone())),
                    Err(EngineError::InvalidPolicy(_))
                ),
                "{bad}"
            );
        }
        let many = PolicySpec {
            allowed_cidrs: vec!["10.0.0.0/8".into(); MAX_ENTRIES + 1],
            ..Default::default()
        };
        assert!(UsagePolicy::parse(&many).is_err());
    }

    #[test]
    fn only_a_policy_that_allows_nothing_more_is_at_least_as_strict() {
        let p = |cidrs: &[&str], windows: &[(&str, &str)], rate: Option<(u32, u32)>| {
            UsagePolicy::parse(&PolicySpec {
                allowed_cidrs: cidrs.iter().map(|c| (*c).to_owned()).collect(),
                time_windows: windows
                    .iter()
                    .map(|(s, e)| WindowSpec {
                        days: vec![],
                        start: (*s).into(),
                        end: (*e).into(),
                    })
                    .collect(),
                rate_limit: rate.map(|(per_second, burst)| RateSpec {
                    per_second,
                    burst: Some(burst),
                }),
            })
            .unwrap()
        };
        let old = p(&["10.0.0.0/8"], &[("08:00", "18:00")], Some((100, 200)));
        let none = UsagePolicy::default();
        assert!(old.at_least_as_strict_as(&old));
        assert!(old.at_least_as_strict_as(&none), "restricting an open key");
        assert!(!none.at_least_as_strict_as(&old), "removing the policy");
        assert!(
            p(&["10.1.0.0/16"], &[("08:00", "18:00")], Some((50, 50))).at_least_as_strict_as(&old)
        );
        assert!(
            !p(&["0.0.0.0/0"], &[("08:00", "18:00")], Some((100, 200))).at_least_as_strict_as(&old)
        );
        assert!(!p(&["10.0.0.0/8"], &[], Some((100, 200))).at_least_as_strict_as(&old));
        assert!(
            !p(&["10.0.0.0/8"], &[("07:00", "18:00")], Some((100, 200)))
                .at_least_as_strict_as(&old)
        );
        assert!(
            !p(&["10.0.0.0/8"], &[("08:00", "18:00")], Some((101, 200)))
                .at_least_as_strict_as(&old)
        );
        assert!(!p(&["10.0.0.0/8"], &[("08:00", "18:00")], None).at_least_as_strict_as(&old));
    }
}
