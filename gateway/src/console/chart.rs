//! The use of a key's versions as charts drawn on the server as SVG (no script, no inline style:
//! SVG presentation attributes only): the totals as bars, and the use over time as one line per
//! version.

use std::collections::BTreeMap;

use kms_engine::clock::Timestamp;
use serde_json::Value;

use super::html::esc;

const WIDTH: u64 = 480;
const BAR: u64 = 22;

/// One bar per version: its calls, all callers and operations together.
pub fn usage(rows: &[Value]) -> String {
    let mut per_version: BTreeMap<u64, u64> = BTreeMap::new();
    for row in rows {
        if let (Some(v), Some(n)) = (row["version"].as_u64(), row["count"].as_u64()) {
            *per_version.entry(v).or_default() += n;
        }
    }
    if per_version.is_empty() {
        return r#"<p class="empty" id="usage-chart">No use recorded yet.</p>"#.to_owned();
    }
    let max = per_version.values().copied().max().unwrap_or(1).max(1);
    let height = BAR * (per_version.len() as u64) + 10;
    let bars: String = per_version
        .iter()
        .enumerate()
        .map(|(i, (version, count))| {
            let y = (i as u64) * BAR + 5;
            let w = (WIDTH - 160) * count / max;
            format!(
                r##"<text x="4" y="{ty}" font-size="12">v{version}</text><rect x="50" y="{y}" width="{w}" height="{h}" fill="#3b6ea5"><title>{title}</title></rect><text x="{tx}" y="{ty}" font-size="12">{count}</text>"##,
                ty = y + 14,
                h = BAR - 6,
                tx = 56 + w,
                title = esc(&format!("version {version}: {count} calls")),
            )
        })
        .collect();
    format!(
        r#"<svg id="usage-chart" class="chart" role="img" aria-label="calls per version" xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}">{bars}</svg>"#
    )
}

/// The colours of the versions' lines, in turn.
const COLOURS: &[&str] = &[
    "#3b6ea5", "#d9822b", "#3a9a5b", "#b8455a", "#7b5ea7", "#2b9aa0", "#8c6d3f", "#555555",
];
const SERIES_WIDTH: i64 = 680;
const SERIES_HEIGHT: i64 = 260;
const LEFT: i64 = 60;
const RIGHT: i64 = 540;
const TOP: i64 = 14;
const BOTTOM: i64 = 214;

/// A step of 1, 2 or 5 times a power of ten, at least 1, at least `max / 4`: four or five
/// ticks on the count axis.
fn tick_step(max: u64) -> u64 {
    let mut step = 1;
    loop {
        for m in [1, 2, 5] {
            if step * m * 4 >= max {
                return step * m;
            }
        }
        step *= 10;
    }
}

/// `2026-12-04T21:00:00Z` as `12-04 21:00` (hours) or `12-04` (days).
fn short_time(rfc3339: &str, hours: bool) -> String {
    let date = rfc3339.get(5..10).unwrap_or(rfc3339);
    match (hours, rfc3339.get(11..16)) {
        (true, Some(time)) => format!("{date} {time}"),
        _ => date.to_owned(),
    }
}

/// The use of each version over time, from `GET /v1/admin/keys/{name}/usage`'s answer: one line
/// per version (every bucket of the range, zero where none is listed), the count axis on the
/// left, time (UTC) below, a legend with each version's total on the right.
pub fn series(view: &Value) -> String {
    let since = view["since"].as_str().and_then(Timestamp::parse_rfc3339);
    let until = view["until"].as_str().and_then(Timestamp::parse_rfc3339);
    let hours = view["bucket"] == "hour";
    let size: i64 = if hours { 3_600_000 } else { 86_400_000 };
    let (Some(since), Some(until), Some(versions)) = (since, until, view["versions"].as_array())
    else {
        return r#"<p class="empty" id="usage-series">No series.</p>"#.to_owned();
    };
    let n = usize::try_from((until.millis() - since.millis()) / size)
        .unwrap_or(0)
        .max(1);
    // Each version's count per bucket.
    let lines: Vec<(u64, u64, Vec<u64>)> = versions
        .iter()
        .map(|v| {
            let mut counts = vec![0; n];
            for p in v["points"].as_array().into_iter().flatten() {
                let at = p["at"].as_str().and_then(Timestamp::parse_rfc3339);
                if let Some(i) = at
                    .and_then(|at| usize::try_from((at.millis() - since.millis()) / size).ok())
                    .filter(|i| *i < n)
                {
                    counts[i] += p["count"].as_u64().unwrap_or(0);
                }
            }
            (
                v["version"].as_u64().unwrap_or(0),
                v["total"].as_u64().unwrap_or(0),
                counts,
            )
        })
        .collect();
    let max = lines
        .iter()
        .flat_map(|(_, _, c)| c.iter().copied())
        .max()
        .unwrap_or(0);
    let step = tick_step(max);
    let top = step * max.div_ceil(step).max(1);
    let x = |i: usize| LEFT + (RIGHT - LEFT) * (2 * i as i64 + 1) / (2 * n as i64);
    let y = |c: u64| BOTTOM - (BOTTOM - TOP) * c as i64 / top as i64;

    let mut svg = String::new();
    // The count axis, its ticks and grid lines, and its title.
    let mut tick = 0;
    while tick <= top {
        svg.push_str(&format!(
            r##"<line x1="{LEFT}" x2="{RIGHT}" y1="{yy}" y2="{yy}" stroke="#e3e8ef"/><text x="{tx}" y="{ty}" font-size="11" text-anchor="end">{tick}</text>"##,
            yy = y(tick),
            tx = LEFT - 6,
            ty = y(tick) + 4,
        ));
        tick += step;
    }
    svg.push_str(&format!(
        r##"<line x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{BOTTOM}" stroke="#333333"/><line x1="{LEFT}" x2="{RIGHT}" y1="{BOTTOM}" y2="{BOTTOM}" stroke="#333333"/><text class="axis-label" x="14" y="{my}" font-size="12" text-anchor="middle" transform="rotate(-90 14 {my})">calls per {unit}</text><text class="axis-label" x="{mx}" y="{ly}" font-size="12" text-anchor="middle">time (UTC)</text>"##,
        my = (TOP + BOTTOM) / 2,
        mx = (LEFT + RIGHT) / 2,
        ly = SERIES_HEIGHT - 8,
        unit = if hours { "hour" } else { "day" },
    ));
    // Time ticks: at most six buckets, the first and the last among them.
    let labels = n.min(6);
    for k in 0..labels {
        let i = if labels == 1 {
            0
        } else {
            k * (n - 1) / (labels - 1)
        };
        let at = Timestamp::from_millis(since.millis() + size * i as i64).rfc3339();
        svg.push_str(&format!(
            r##"<line x1="{xx}" x2="{xx}" y1="{BOTTOM}" y2="{ty}" stroke="#333333"/><text x="{xx}" y="{ly}" font-size="10" text-anchor="middle">{label}</text>"##,
            xx = x(i),
            ty = BOTTOM + 4,
            ly = BOTTOM + 16,
            label = esc(&short_time(&at, hours)),
        ));
    }
    // One line per version, and its legend entry.
    for (k, (version, total, counts)) in lines.iter().enumerate() {
        let colour = COLOURS[k % COLOURS.len()];
        let points: Vec<String> = counts
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{},{}", x(i), y(*c)))
            .collect();
        let title = esc(&format!("version {version}: {total} calls in the range"));
        if n == 1 {
            svg.push_str(&format!(
                r#"<circle class="series" data-version="{version}" data-total="{total}" cx="{}" cy="{}" r="3" fill="{colour}"><title>{title}</title></circle>"#,
                x(0),
                y(counts[0]),
            ));
        } else {
            svg.push_str(&format!(
                r#"<polyline class="series" data-version="{version}" data-total="{total}" fill="none" stroke="{colour}" stroke-width="2" points="{}"><title>{title}</title></polyline>"#,
                points.join(" "),
            ));
        }
        let ly = TOP + 8 + 18 * k as i64;
        svg.push_str(&format!(
            r#"<line x1="{lx}" x2="{lx2}" y1="{ly}" y2="{ly}" stroke="{colour}" stroke-width="3"/><text x="{tx}" y="{ty}" font-size="12">v{version}: {total}</text>"#,
            lx = RIGHT + 16,
            lx2 = RIGHT + 36,
            tx = RIGHT + 42,
            ty = ly + 4,
        ));
    }
    format!(
        r#"<svg id="usage-series" class="chart" role="img" aria-label="calls per version per {unit}" xmlns="http://www.w3.org/2000/svg" width="{SERIES_WIDTH}" height="{SERIES_HEIGHT}" viewBox="0 0 {SERIES_WIDTH} {SERIES_HEIGHT}">{svg}</svg>"#,
        unit = if hours { "hour" } else { "day" },
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn each_version_is_one_line_over_every_bucket_with_labelled_axes() {
        let view = json!({
            "bucket": "hour",
            "since": "2026-12-04T00:00:00Z",
            "until": "2026-12-04T04:00:00Z",
            "versions": [
                {"version": 1, "total": 5, "points": [{"at": "2026-12-04T01:00:00Z", "count": 5}]},
                {"version": 2, "total": 0, "points": []},
            ],
        });
        let svg = series(&view);
        assert_eq!(svg.matches("<polyline").count(), 2, "{svg}");
        assert!(svg.contains(r#"data-version="1" data-total="5""#), "{svg}");
        // Four buckets: four points per line; version 1 peaks at the second.
        let line = svg.split("<polyline").nth(1).unwrap();
        let points = line
            .split("points=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        assert_eq!(points.split(' ').count(), 4, "{points}");
        let ys: Vec<i64> = points
            .split(' ')
            .map(|p| p.split(',').nth(1).unwrap().parse().unwrap())
            .collect();
        assert!(ys[1] < ys[0] && ys[0] == ys[2] && ys[2] == ys[3], "{ys:?}");
        for label in [
            "calls per hour",
            "time (UTC)",
            "12-04 00:00",
            "v1: 5",
            "v2: 0",
        ] {
            assert!(svg.contains(label), "{label}: {svg}");
        }
        assert!(!svg.contains("style="));
        assert_eq!(tick_step(0), 1);
        assert_eq!(tick_step(9), 5);
        assert_eq!(tick_step(40), 10);
    }
}
