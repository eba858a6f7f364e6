//! Daily time windows (UTC) for usage policies.

use serde::{Deserialize, Serialize};

use crate::error::EngineError;

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
        _ => Err(EngineError::invalid_policy(format!(
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
                .ok_or_else(|| {
                    EngineError::invalid_policy(format!("unknown day `{d}` (use mon ... sun)"))
                })?;
            days |= 1 << index;
        }
        if days == 0 {
            days = 0x7f;
        }
        let start = minutes("start", &spec.start, false)?;
        let end = minutes("end", &spec.end, true)?;
        if start == end {
            return Err(EngineError::invalid_policy(
                "a time window's start and end must differ",
            ));
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

    pub(super) fn spec(&self) -> WindowSpec {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
