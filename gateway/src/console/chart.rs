//! The use of a key's versions as a bar chart: an SVG drawn on the server (no script, no inline
//! style: SVG presentation attributes only).

use std::collections::BTreeMap;

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
