//! A key's use over time, for administrators: the store's hourly series
//! ([`KeyStore::usage_series`](kms_engine::store::KeyStore::usage_series)) per version, in hours
//! or UTC days, over a range of at most the retention (90 days).

use std::collections::BTreeMap;

use kms_engine::clock::Timestamp;
use kms_engine::store::USAGE_SERIES_RETENTION_MS;
use serde::Serialize;

use super::view::key_by_name;
use crate::context::Control;
use crate::durations;
use crate::error::ControlError;

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

/// What is asked, as it comes: `since` an RFC 3339 time or a duration before `until` (`24h`,
/// `7d`), `until` an RFC 3339 time (default now), `bucket` `hour` (default) or `day`.
#[derive(Debug, Default, Clone)]
pub struct SeriesQuery {
    pub since: Option<String>,
    pub until: Option<String>,
    pub bucket: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bucket {
    Hour,
    Day,
}

impl Bucket {
    pub fn millis(self) -> i64 {
        match self {
            Self::Hour => HOUR_MS,
            Self::Day => DAY_MS,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Hour => "hour",
            Self::Day => "day",
        }
    }
}

/// A checked range: whole buckets, `since` the first one's start, `until` the last one's end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Range {
    pub since: Timestamp,
    pub until: Timestamp,
    pub bucket: Bucket,
}

fn bad_time(what: &str) -> ControlError {
    ControlError::invalid(
        "invalid_time",
        format!(
            "`{what}` must be an RFC 3339 time (2026-11-29T10:00:00Z){}",
            if what == "since" {
                " or a duration before `until` (24h, 7d)"
            } else {
                ""
            }
        ),
    )
}

/// Checks a query against `now`: `400 invalid_bucket`, `400 invalid_time`, or `400
/// invalid_time_range` (`since` not before `until`, or further apart than the retention).
pub fn range(q: &SeriesQuery, now: Timestamp) -> Result<Range, ControlError> {
    let bucket = match q.bucket.as_deref() {
        None | Some("hour") => Bucket::Hour,
        Some("day") => Bucket::Day,
        Some(_) => {
            return Err(ControlError::invalid(
                "invalid_bucket",
                "`bucket` must be `hour` or `day`",
            ));
        }
    };
    let until = match q.until.as_deref() {
        None => now,
        Some(t) => Timestamp::parse_rfc3339(t).ok_or_else(|| bad_time("until"))?,
    };
    let since = match q.since.as_deref() {
        None => Timestamp::from_millis(until.millis().saturating_sub(match bucket {
            Bucket::Hour => DAY_MS,
            Bucket::Day => 30 * DAY_MS,
        })),
        Some(t) => match Timestamp::parse_rfc3339(t) {
            Some(at) => at,
            None => {
                let back = durations::parse("since", t).map_err(|_| bad_time("since"))?;
                Timestamp::from_millis(until.millis().saturating_sub(back))
            }
        },
    };
    if since >= until {
        return Err(ControlError::invalid(
            "invalid_time_range",
            "`since` must be before `until`",
        ));
    }
    if until.millis().saturating_sub(since.millis()) > USAGE_SERIES_RETENTION_MS {
        return Err(ControlError::invalid(
            "invalid_time_range",
            format!(
                "the range may be at most {} (how long the series is kept)",
                durations::format(USAGE_SERIES_RETENTION_MS)
            ),
        ));
    }
    let size = bucket.millis();
    let start = since.millis().div_euclid(size).saturating_mul(size);
    let end = until
        .millis()
        .saturating_add(size - 1)
        .div_euclid(size)
        .saturating_mul(size);
    Ok(Range {
        since: Timestamp::from_millis(start),
        until: Timestamp::from_millis(end),
        bucket,
    })
}

#[derive(Serialize, Debug)]
pub struct Point {
    /// The bucket's start.
    pub at: String,
    pub count: u64,
    /// The count per operation (`encrypt`, `decrypt`, ...).
    pub operations: BTreeMap<&'static str, u64>,
}

#[derive(Serialize, Debug)]
pub struct VersionSeries {
    pub version: u32,
    /// Every call of the range.
    pub total: u64,
    /// The buckets with use, oldest first (a bucket absent had none).
    pub points: Vec<Point>,
}

#[derive(Serialize, Debug)]
pub struct SeriesView {
    pub key: String,
    pub bucket: &'static str,
    pub since: String,
    pub until: String,
    /// How long the store keeps the series.
    pub retention: String,
    /// Every version of the key, by number, used in the range or not.
    pub versions: Vec<VersionSeries>,
}

/// The key's use per version over the range (404 `key_not_found`).
pub async fn series(ctl: &Control, name: &str, range: Range) -> Result<SeriesView, ControlError> {
    let key = key_by_name(ctl, name).await?;
    let buckets = ctl
        .store
        .usage_series(key.id, range.since, range.until)
        .await?;
    let mut versions: BTreeMap<u32, BTreeMap<i64, Point>> = key
        .versions()
        .iter()
        .map(|v| (v.version.get(), BTreeMap::new()))
        .collect();
    let size = range.bucket.millis();
    for b in &buckets {
        let at = b.hour.millis().div_euclid(size).saturating_mul(size);
        let point = versions
            .entry(b.version.get())
            .or_default()
            .entry(at)
            .or_insert_with(|| Point {
                at: Timestamp::from_millis(at).rfc3339(),
                count: 0,
                operations: BTreeMap::new(),
            });
        point.count += b.count;
        *point.operations.entry(b.operation.name()).or_default() += b.count;
    }
    Ok(SeriesView {
        key: key.name.to_string(),
        bucket: range.bucket.name(),
        since: range.since.rfc3339(),
        until: range.until.rfc3339(),
        retention: durations::format(USAGE_SERIES_RETENTION_MS),
        versions: versions
            .into_iter()
            .map(|(version, points)| VersionSeries {
                version,
                total: points.values().map(|p| p.count).sum(),
                points: points.into_values().collect(),
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(since: Option<&str>, until: Option<&str>, bucket: Option<&str>) -> SeriesQuery {
        SeriesQuery {
            since: since.map(str::to_owned),
            until: until.map(str::to_owned),
            bucket: bucket.map(str::to_owned),
        }
    }

    fn code(r: Result<Range, ControlError>) -> &'static str {
        r.err().map_or("ok", |e| e.code())
    }

    #[test]
    fn ranges_are_whole_buckets_and_bad_parameters_have_their_codes() {
        let now = Timestamp::parse_rfc3339("2026-12-04T21:30:00Z").unwrap();
        let r = range(&q(None, None, None), now).unwrap();
        assert_eq!(r.bucket, Bucket::Hour);
        assert_eq!(r.since.rfc3339(), "2026-12-03T21:00:00Z");
        assert_eq!(r.until.rfc3339(), "2026-12-04T22:00:00Z");
        let r = range(&q(Some("7d"), None, Some("day")), now).unwrap();
        assert_eq!(r.since.rfc3339(), "2026-11-27T00:00:00Z");
        assert_eq!(r.until.rfc3339(), "2026-12-05T00:00:00Z");
        let r = range(
            &q(
                Some("2026-12-01T10:00:00Z"),
                Some("2026-12-01T12:00:00Z"),
                None,
            ),
            now,
        )
        .unwrap();
        assert_eq!(r.until.millis() - r.since.millis(), 2 * HOUR_MS);

        assert_eq!(
            code(range(&q(None, None, Some("week")), now)),
            "invalid_bucket"
        );
        assert_eq!(
            code(range(&q(Some("yesterday"), None, None), now)),
            "invalid_time"
        );
        assert_eq!(code(range(&q(None, Some("7d"), None), now)), "invalid_time");
        assert_eq!(
            code(range(&q(Some("2026-12-05T00:00:00Z"), None, None), now)),
            "invalid_time_range"
        );
        assert_eq!(
            code(range(&q(Some("91d"), None, None), now)),
            "invalid_time_range"
        );
        assert_eq!(code(range(&q(Some("90d"), None, Some("day")), now)), "ok");
    }
}
