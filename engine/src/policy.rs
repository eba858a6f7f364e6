//! Per-key usage policies: which source addresses may use a key, in which UTC time windows, and
//! how fast each app may call it.
//!
//! An administrator sends a [`PolicySpec`] (strings, as in the API); [`UsagePolicy::parse`] checks
//! it once and keeps it in a form that costs a few comparisons per request. The store keeps the
//! canonical spec ([`UsagePolicy::spec`]) as JSON. A key's snapshot carries a [`KeyPolicy`]: the
//! policy and one [`RateLimiter`] per granted app, created with the snapshot and handed on to the
//! next snapshot of the key (see `Directory::put_key`), so rebuilding the directory does not
//! refill anyone's bucket. A key without a policy carries nothing and is checked by nothing.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

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

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowSpec {
    /// `mon` ... `sun`; empty or absent: every day.
    #[serde(default)]
    pub days: Vec<String>,
    /// `HH:MM`, UTC.
    pub start: String,
    /// `HH:MM` (or `24:00`), UTC; before `start`: the window runs past midnight.
    pub end: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateSpec {
    pub per_second: u32,
    /// Requests allowed at once after a quiet spell; default `per_second`.
    #[serde(default)]
    pub burst: Option<u32>,
}

fn invalid(message: impl Into<String>) -> EngineError {
    EngineError::InvalidPolicy(message.into())
}

/// An address range: `10.0.0.0/8`, `2001:db8::/32`, or one address (`/32`, `/128`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    /// The network address: host bits are zero.
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parses a range. Host bits must be zero (`10.1.2.3/8` is refused: it is probably a typo,
    /// and silently widening it would be worse).
    pub fn parse(text: &str) -> Result<Self, EngineError> {
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let network: IpAddr = addr
            .parse()
            .map_err(|_| invalid(format!("`{text}` is not an IP address or CIDR range")))?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| invalid(format!("`{text}`: the prefix must be 0 to {max}")))?,
        };
        let cidr = Self { network, prefix };
        if cidr.masked(network) != Some(network) {
            let fixed = Self {
                network: cidr.masked(network).unwrap_or(network),
                prefix,
            };
            return Err(invalid(format!(
                "`{text}` has host bits set; did you mean `{fixed}`?"
            )));
        }
        Ok(cidr)
    }

    /// `addr` with this range's prefix applied, if it is of the same family.
    fn masked(&self, addr: IpAddr) -> Option<IpAddr> {
        match (self.network, addr) {
            (IpAddr::V4(_), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                Some(IpAddr::V4((u32::from(a) & mask).into()))
            }
            (IpAddr::V6(_), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                Some(IpAddr::V6((u128::from(a) & mask).into()))
            }
            _ => None,
        }
    }

    /// Whether `addr` is in the range. An IPv4 address that arrives as IPv6 (`::ffff:a.b.c.d`, on
    /// a dual-stack socket) counts as the IPv4 address.
    pub fn contains(&self, addr: IpAddr) -> bool {
        self.masked(addr.to_canonical()) == Some(self.network)
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

impl fmt::Debug for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Cidr({self})")
    }
}

const DAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const MINUTES_PER_DAY: u16 = 24 * 60;
const MS_PER_DAY: i64 = 86_400_000;

/// A daily window in UTC on some days of the week.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeWindow {
    /// Bit `d` set: the window opens on day `d` (Monday = 0).
    days: u8,
    /// Minutes after midnight, `start` inclusive, `end` exclusive (1440 = midnight at the end of
    /// the day). `end < start`: the window closes on the next day.
    start: u16,
    end: u16,
}

fn minutes(field: &str, text: &str, allow_24: bool) -> Result<u16, EngineError> {
    let parsed = text
        .split_once(':')
        .filter(|(h, m)| h.len() == 2 && m.len() == 2)
        .and_then(|(h, m)| Some((h.parse::<u16>().ok()?, m.parse::<u16>().ok()?)));
    match parsed {
        Some((h, m)) if h < 24 && m < 60 => Ok(h * 60 + m),
        Some((24, 0)) if allow_24 => Ok(MINUTES_PER_DAY),
        _ => Err(invalid(format!(
            "time window `{field}` must be HH:MM (00:00 to 23:59{}), got `{text}`",
            if allow_24 { ", or 24:00" } else { "" }
        ))),
    }
}

impl TimeWindow {
    pub fn parse(spec: &WindowSpec) -> Result<Self, EngineError> {
        let mut days = 0u8;
        for d in &spec.days {
            let index = DAY_NAMES
                .iter()
                .position(|n| n.eq_ignore_ascii_case(d))
                .ok_or_else(|| invalid(format!("unknown day `{d}` (use mon ... sun)")))?;
            days |= 1 << index;
        }
        if days == 0 {
            days = 0x7f;
        }
        let start = minutes("start", &spec.start, false)?;
        let end = minutes("end", &spec.end, true)?;
        if start == end {
            return Err(invalid("a time window's start and end must differ"));
        }
        Ok(Self { days, start, end })
    }

    fn opens_on(&self, day: i64) -> bool {
        let d = day.rem_euclid(7);
        self.days & (1 << d) != 0
    }

    /// Whether `now_ms` (milliseconds since the Unix epoch) is inside the window.
    pub fn contains(&self, now_ms: i64) -> bool {
        // 1970-01-01 was a Thursday (day 3 when Monday is 0).
        let day = now_ms.div_euclid(MS_PER_DAY) + 3;
        let minute = now_ms.rem_euclid(MS_PER_DAY) / 60_000;
        let (start, end) = (i64::from(self.start), i64::from(self.end));
        if start < end {
            self.opens_on(day) && (start..end).contains(&minute)
        } else {
            (self.opens_on(day) && minute >= start) || (self.opens_on(day - 1) && minute < end)
        }
    }

    fn spec(&self) -> WindowSpec {
        let hhmm = |m: u16| format!("{:02}:{:02}", m / 60, m % 60);
        let days = if self.days == 0x7f {
            Vec::new()
        } else {
            (0..7)
                .filter(|d| self.days & (1 << d) != 0)
                .map(|d| DAY_NAMES[d].to_owned())
                .collect()
        };
        WindowSpec {
            days,
            start: hhmm(self.start),
            end: hhmm(self.end),
        }
    }
}

/// The most requests per second a rate limit may name (one per microsecond).
pub const MAX_RATE: u32 = 1_000_000;

/// A token bucket as GCRA (the generic cell rate algorithm): one `AtomicU64` holding the
/// theoretical arrival time, advanced by compare-and-swap. No lock, no allocation, and a refusal
/// changes nothing.
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

    fn same_rate(&self, other: &RateLimiter) -> bool {
        self.interval == other.interval && self.tolerance == other.tolerance
    }

    /// Takes one request at `now_ms`, or says in how many nanoseconds one will be allowed.
    pub fn acquire(&self, now_ms: i64) -> Result<(), u64> {
        let now = u64::try_from(now_ms).unwrap_or(0).saturating_mul(1_000_000);
        let mut tat = self.tat.load(Ordering::Relaxed);
        loop {
            let next = tat.max(now).saturating_add(self.interval);
            let ahead = next - now;
            if ahead > self.tolerance {
                return Err(ahead - self.tolerance);
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
            return Err(invalid(format!(
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
                return Err(invalid(format!(
                    "`rate_limit.per_second` must be 1 to {MAX_RATE}"
                )));
            }
            if r.burst.is_some_and(|b| !(1..=MAX_RATE).contains(&b)) {
                return Err(invalid(format!(
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
        let spec: PolicySpec =
            serde_json::from_str(text).map_err(|e| invalid(format!("stored policy: {e}")))?;
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
        let p = &self.policy;
        if !p.cidrs.is_empty() && !remote.is_some_and(|ip| p.cidrs.iter().any(|c| c.contains(ip))) {
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
                Some(limiter) => limiter.acquire(now),
                None => Err(1_000_000_000),
            };
            if let Err(ns) = wait {
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

    #[test]
    fn cidr_ranges_parse_and_match() {
        let net = Cidr::parse("10.0.0.0/8").unwrap();
        assert!(net.contains(ip("10.255.1.2")));
        assert!(!net.contains(ip("11.0.0.1")));
        assert!(!net.contains(ip("::1")));
        // IPv4 seen through a dual-stack socket.
        assert!(net.contains(ip("::ffff:10.1.2.3")));
        let one = Cidr::parse("127.0.0.1").unwrap();
        assert_eq!(one.to_string(), "127.0.0.1/32");
        assert!(one.contains(ip("127.0.0.1")));
        assert!(!one.contains(ip("127.0.0.2")));
        let all = Cidr::parse("0.0.0.0/0").unwrap();
        assert!(all.contains(ip("203.0.113.9")));
        let v6 = Cidr::parse("2001:db8::/32").unwrap();
        assert!(v6.contains(ip("2001:db8:1::5")));
        assert!(!v6.contains(ip("2001:db9::5")));
        assert!(Cidr::parse("::/0").unwrap().contains(ip("fe80::1")));
        assert_eq!(Cidr::parse("::1").unwrap().to_string(), "::1/128");

        for bad in [
            "",
            "10.0.0.0/33",
            "10.0.0.0/-1",
            "10.0.0.0/",
            "10.0.0/8",
            "abc",
            "::/129",
            "10.0.0.0/8/8",
        ] {
            assert!(
                matches!(Cidr::parse(bad), Err(EngineError::InvalidPolicy(_))),
                "{bad}"
            );
        }
        let Err(EngineError::InvalidPolicy(msg)) = Cidr::parse("10.1.2.3/8") else {
            panic!("host bits accepted");
        };
        assert!(msg.contains("10.0.0.0/8"), "{msg}");
    }

    fn window(days: &[&str], start: &str, end: &str) -> Result<TimeWindow, EngineError> {
        TimeWindow::parse(&WindowSpec {
            days: days.iter().map(|d| (*d).to_owned()).collect(),
            start: start.into(),
            end: end.into(),
        })
    }

    /// Milliseconds of 2026-11-30 (a Monday) plus `day` days at `hh:mm` UTC.
    fn at(day: i64, hh: i64, mm: i64) -> i64 {
        // 2026-11-30T00:00:00Z.
        let monday = 1_795_996_800_000;
        monday + day * MS_PER_DAY + (hh * 60 + mm) * 60_000
    }

    #[test]
    fn time_windows_follow_days_and_hours_in_utc() {
        let office = window(&["mon", "tue", "wed", "thu", "fri"], "08:00", "18:00").unwrap();
        assert!(!office.contains(at(0, 7, 59)));
        assert!(office.contains(at(0, 8, 0)));
        assert!(office.contains(at(4, 17, 59)));
        assert!(!office.contains(at(4, 18, 0)));
        assert!(!office.contains(at(5, 12, 0)), "saturday");
        assert!(!office.contains(at(6, 12, 0)), "sunday");
        assert!(office.contains(at(7, 12, 0)), "next monday");

        // Overnight, opening on friday only: friday night and saturday morning.
        let night = window(&["fri"], "22:00", "06:00").unwrap();
        assert!(night.contains(at(4, 23, 0)));
        assert!(night.contains(at(5, 5, 59)));
        assert!(!night.contains(at(5, 6, 0)));
        assert!(!night.contains(at(5, 23, 0)));
        assert!(
            !night.contains(at(4, 5, 0)),
            "friday morning belongs to thursday"
        );

        let all_day = window(&[], "00:00", "24:00").unwrap();
        assert!(all_day.contains(at(3, 0, 0)) && all_day.contains(at(3, 23, 59)));
        // Before 1970 too (days before the epoch).
        assert!(all_day.contains(-1));

        for (days, s, e) in [
            (&["mon"][..], "08:00", "08:00"),
            (&["monday"][..], "08:00", "09:00"),
            (&[][..], "8:00", "09:00"),
            (&[][..], "24:00", "09:00"),
            (&[][..], "08:60", "09:00"),
            (&[][..], "08:00", "24:01"),
        ] {
            assert!(window(days, s, e).is_err(), "{days:?} {s} {e}");
        }
        assert_eq!(
            window(&["Sat", "mon"], "08:00", "24:00").unwrap().spec(),
            WindowSpec {
                days: vec!["mon".into(), "sat".into()],
                start: "08:00".into(),
                end: "24:00".into()
            }
        );
    }

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
        let clock = ManualClock::new(Timestamp::from_millis(at(0, 9, 0)));
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
}
