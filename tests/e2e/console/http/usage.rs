//! The key page's use over time: one line per version in a server-drawn SVG with labelled axes,
//! and the range chosen through plain links, for a person who may only read.

use std::time::Duration;

use serde_json::json;

use super::super::Console;
use crate::people::{enrolled_user, login, people_server};
use crate::support::*;

#[test]
fn the_key_page_draws_each_versions_use_over_the_chosen_range() {
    let dir = tempfile::tempdir().unwrap();
    let (server, clock) = people_server(dir.path());
    let http = Http::new(&server);
    let secret = enrolled_user(&http, &clock, "oli", &["operator"]);
    let token = login(&http, &clock, "oli", &secret);
    http.create_key("cards");
    let app = http.create_app("billing");
    http.grant("cards", "billing", &["encrypt"]);
    for _ in 0..3 {
        http.seal(&app, "cards", b"a", None);
    }
    let (s, b) = http.post(
        "/v1/admin/keys/cards/rotate",
        Some(ROOT),
        &json!({ "reason": "r" }),
    );
    assert_eq!(s, 200, "{b}");
    http.seal(&app, "cards", b"b", None);

    let console = Console::with_session(&server.url(""), &token);
    // The usage flush is asynchronous: the legend shows each version's count once it is in.
    let mut page = console.get("/ui/keys/cards");
    eventually(Duration::from_secs(20), "usage in the series", || {
        page = console.get("/ui/keys/cards");
        page.body.contains("v1: 3</text>") && page.body.contains("v2: 1</text>")
    });
    assert_eq!(page.status, 200, "{}", page.body);
    let svg = page
        .body
        .split(r#"<svg id="usage-series""#)
        .nth(1)
        .unwrap_or_else(|| panic!("no time chart in {}", page.body));
    let svg = &svg[..svg.find("</svg>").unwrap()];
    // One line per version, each with its total in the range.
    assert_eq!(svg.matches("<polyline").count(), 2, "{svg}");
    assert!(svg.contains(r#"data-version="1" data-total="3""#), "{svg}");
    assert!(svg.contains(r#"data-version="2" data-total="1""#), "{svg}");
    // Labelled axes; the default range is hourly.
    assert!(
        svg.contains("calls per hour") && svg.contains("time (UTC)"),
        "{svg}"
    );
    // The totals' bars are still there.
    assert!(page.body.contains(r#"id="usage-chart""#));
    // The range choice: plain links, the shown one marked; no script, no inline style.
    for range in ["24h", "7d", "30d"] {
        assert!(
            page.body
                .contains(&format!(r#"href="/ui/keys/cards?range={range}""#)),
            "{range}: {}",
            page.body
        );
    }
    assert!(page.body.contains(r#"id="range-24h" aria-current="page""#));
    assert!(!page.body.contains("<script>") && !page.body.contains("style="));

    let month = console.get("/ui/keys/cards?range=30d");
    assert_eq!(month.status, 200, "{}", month.body);
    assert!(month.body.contains(r#"id="range-30d" aria-current="page""#));
    assert!(month.body.contains("calls per day"), "{}", month.body);
    assert!(month.body.contains("v1: 3</text>") && month.body.contains("v2: 1</text>"));
    // Thirty daily buckets (thirty-one when the range starts mid-day): a point each per line.
    let line = month.body.split("<polyline").nth(1).unwrap();
    let points = line
        .split("points=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let n = points.split(' ').count();
    assert!((30..=31).contains(&n), "{n} points: {points}");
    // An unknown range is the default one.
    let other = console.get("/ui/keys/cards?range=1y");
    assert!(other.body.contains(r#"id="range-24h" aria-current="page""#));
}
