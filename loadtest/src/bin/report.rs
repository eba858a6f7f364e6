//! Turns loadtest/run.sh's results (JSON lines) into docs/benchmarks.md and its PNG chart.
//!
//! `kms-report RESULTS.jsonl OUT.md OUT.png [--machine TEXT] [--settings TEXT] [--quick 0|1]`
//!
//! Every ratio is taken within one round (the echo server measured right before the scenario)
//! and the median over rounds is reported; so are the medians of the absolute figures.
#![forbid(unsafe_code)]
// Measurement arithmetic: counts and durations become f64 and back, within range by construction.
#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_precision_loss,
    clippy::cast_sign_loss
)]

use std::collections::BTreeMap;
use std::fmt::Write as _;

use plotters::prelude::*;
use serde_json::Value;

/// Throughput scenarios in report order, with what one request does.
const SCENARIOS: &[(&str, &str)] = &[
    ("encrypt", "AES-256-GCM encrypt, 64 B"),
    (
        "transit-encrypt",
        "the same through Vault Transit's /v1/transit/encrypt",
    ),
    ("decrypt", "AES-256-GCM decrypt, 64 B"),
    ("mixed", "50% encrypt, 50% decrypt"),
    ("batch100", "100 encrypts in one request"),
    ("sign-ecdsa", "ECDSA P-256 sign of a digest"),
    ("sign-rsa3072", "RSA-3072 PSS sign of a digest"),
];

const FONT: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn num(v: &Value, field: &str) -> f64 {
    v[field].as_f64().unwrap_or(f64::NAN)
}

fn rps(line: &Value) -> f64 {
    num(line, "requests") / num(line, "seconds")
}

/// One scenario's medians over the rounds.
struct Row {
    name: &'static str,
    what: &'static str,
    rounds: usize,
    rps: f64,
    ops: f64,
    echo_rps: f64,
    ratio: f64,
    ratio_min: f64,
    ratio_max: f64,
    p50_ms: f64,
    p99_ms: f64,
    non_2xx: u64,
}

fn wrk_rows(lines: &[Value]) -> Vec<Row> {
    let by_label = |label: &str| -> BTreeMap<i64, &Value> {
        lines
            .iter()
            .filter(|l| l["label"] == label && l.get("kind").is_none())
            .map(|l| (l["round"].as_i64().unwrap_or(0), l))
            .collect()
    };
    SCENARIOS
        .iter()
        .filter_map(|&(name, what)| {
            let runs = by_label(name);
            let echo = by_label(&format!("echo:{name}"));
            if runs.is_empty() {
                return None;
            }
            let ratios: Vec<f64> = runs
                .iter()
                .filter_map(|(r, l)| echo.get(r).map(|e| rps(l) / rps(e)))
                .collect();
            let all = |f: &dyn Fn(&Value) -> f64| median(runs.values().map(|l| f(l)).collect());
            Some(Row {
                name,
                what,
                rounds: runs.len(),
                rps: all(&rps),
                ops: all(&|l| rps(l) * num(l, "items")),
                echo_rps: median(echo.values().map(|l| rps(l)).collect()),
                ratio: median(ratios.clone()),
                ratio_min: ratios.iter().copied().fold(f64::INFINITY, f64::min),
                ratio_max: ratios.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                p50_ms: all(&|l| num(l, "p50_us") / 1000.0),
                p99_ms: all(&|l| num(l, "p99_us") / 1000.0),
                non_2xx: runs
                    .values()
                    .map(|l| {
                        l["non_2xx"].as_u64().unwrap_or(0)
                            + l["socket_errors"].as_u64().unwrap_or(0)
                    })
                    .sum(),
            })
        })
        .collect()
}

struct Target {
    what: String,
    measured: String,
    met: Option<bool>,
}

fn verdict(met: Option<bool>) -> &'static str {
    match met {
        Some(true) => "met",
        Some(false) => "**missed**",
        None => "not measured",
    }
}

fn chart(rows: &[Row], path: &str) -> Result<(), Box<dyn std::error::Error>> {
    let font: &'static [u8] = Box::leak(std::fs::read(FONT)?.into_boxed_slice());
    plotters::style::register_font("sans-serif", FontStyle::Normal, font)
        .map_err(|_| "font not usable")?;
    let root = BitMapBackend::new(path, (1400, 560)).into_drawing_area();
    root.fill(&WHITE)?;
    let (left, right) = root.split_horizontally(700);
    let n = rows.len();
    let label = |x: &f64| -> String {
        let i = x.round();
        if (x - i).abs() < 0.01 && i >= 0.0 && (i as usize) < n {
            rows[i as usize].name.to_owned()
        } else {
            String::new()
        }
    };

    // One panel: a caption, room for the scenario names below and the values on the left.
    let panel = |area, caption| {
        let mut b = ChartBuilder::on(area);
        b.caption(caption, ("sans-serif", 20))
            .margin(15)
            .x_label_area_size(40)
            .y_label_area_size(60);
        b
    };
    let top = rows.iter().map(|r| r.ratio).fold(1.0, f64::max) * 1.1;
    let mut c = panel(&left, "requests/s as a share of the echo server (median)")
        .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), 0f64..top)?;
    c.configure_mesh()
        .disable_x_mesh()
        .x_labels(n)
        .x_label_formatter(&label)
        .y_desc("ratio to echo")
        .draw()?;
    c.draw_series(rows.iter().enumerate().map(|(i, r)| {
        let x = i as f64;
        Rectangle::new([(x - 0.3, 0.0), (x + 0.3, r.ratio)], BLUE.mix(0.7).filled())
    }))?;
    c.draw_series(rows.iter().enumerate().map(|(i, r)| {
        Text::new(
            format!("{:.2}", r.ratio),
            (i as f64 - 0.15, r.ratio + top * 0.02),
            ("sans-serif", 15),
        )
    }))?;
    c.draw_series(LineSeries::new(
        [(-0.5, 0.85), (n as f64 - 0.5, 0.85)],
        RED.stroke_width(2),
    ))?
    .label("target 0.85 (encrypt, decrypt)")
    .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], RED.stroke_width(2)));
    c.configure_series_labels()
        .border_style(BLACK)
        .background_style(WHITE.mix(0.8))
        .draw()?;

    let hi = rows.iter().map(|r| r.p99_ms).fold(1.0, f64::max) * 3.0;
    let mut c = panel(&right, "latency under wrk's 64 connections, ms (log)")
        .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), (0.01f64..hi).log_scale())?;
    c.configure_mesh()
        .disable_x_mesh()
        .x_labels(n)
        .x_label_formatter(&label)
        .y_desc("ms")
        .draw()?;
    c.draw_series(rows.iter().enumerate().map(|(i, r)| {
        let x = i as f64;
        Rectangle::new([(x - 0.35, 0.01), (x, r.p50_ms)], GREEN.mix(0.7).filled())
    }))?
    .label("p50")
    .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 15, y + 5)], GREEN.mix(0.7).filled()));
    c.draw_series(rows.iter().enumerate().map(|(i, r)| {
        let x = i as f64;
        Rectangle::new([(x, 0.01), (x + 0.35, r.p99_ms)], MAGENTA.mix(0.7).filled())
    }))?
    .label("p99")
    .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 15, y + 5)], MAGENTA.mix(0.7).filled()));
    c.configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .border_style(BLACK)
        .background_style(WHITE.mix(0.8))
        .draw()?;
    root.present()?;
    Ok(())
}

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 3 {
        eprintln!(
            "usage: kms-report RESULTS.jsonl OUT.md OUT.png [--machine T] [--settings T] [--quick 0|1]"
        );
        std::process::exit(2);
    }
    let lines: Vec<Value> = std::fs::read_to_string(&args[0])?
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?;
    let kind = |k: &'static str| lines.iter().filter(move |l| l["kind"] == k);
    let rows = wrk_rows(&lines);
    let row = |name: &str| rows.iter().find(|r| r.name == name);
    let rate = |label: &str, class: &str| {
        kind("rate").find(|l| l["label"] == label && l["class"] == class)
    };
    let wrk_once = |label: &str| {
        lines
            .iter()
            .find(|l| l["label"] == label && l.get("kind").is_none())
    };
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get()) as f64;
    let bench = |id: &str| {
        kind("bench")
            .find(|l| l["id"] == id)
            .map(|l| num(l, "median_ns"))
    };

    let mut targets = Vec::new();
    for name in ["encrypt", "decrypt"] {
        targets.push(Target {
            what: format!("single-item {name} of 64 B ≥ 0.85× the echo server's requests/s"),
            measured: row(name).map_or("-".into(), |r| {
                format!(
                    "{:.2}× (rounds {:.2}–{:.2})",
                    r.ratio, r.ratio_min, r.ratio_max
                )
            }),
            met: row(name).map(|r| r.ratio >= 0.85),
        });
    }
    // Vault Transit's encrypt against the native one, each as a ratio to the echo server in its
    // own rounds.
    let transit = row("transit-encrypt").zip(row("encrypt"));
    targets.push(Target {
        what: "Transit encrypt within 10% of the native encrypt's requests/s".into(),
        measured: transit.map_or("-".into(), |(t, e)| {
            format!(
                "{:.2}× echo vs {:.2}× = {:.2} of native",
                t.ratio,
                e.ratio,
                t.ratio / e.ratio
            )
        }),
        met: transit.map(|(t, e)| t.ratio >= 0.9 * e.ratio),
    });
    let batch = row("batch100").zip(row("encrypt"));
    targets.push(Target {
        what: "batch of 100 ≥ 20× the single-item operations/s".into(),
        measured: batch.map_or("-".into(), |(b, e)| {
            format!("{:.0} ops/s = {:.1}× {:.0}", b.ops, b.ops / e.ops, e.ops)
        }),
        met: batch.map(|(b, e)| b.ops >= 20.0 * e.ops),
    });
    let r20 = rate("encrypt@20000", "aes-encrypt");
    targets.push(Target {
        what: "p99 ≤ 2 ms at 20,000 requests/s offered at a constant rate".into(),
        measured: r20.map_or("-".into(), |l| {
            format!(
                "p99 {:.2} ms (achieved {:.0}/s, {} dropped, {} 503)",
                num(l, "p99_us") / 1000.0,
                num(l, "achieved_rps"),
                l["dropped"],
                l["status_503"]
            )
        }),
        met: r20.map(|l| {
            num(l, "p99_us") <= 2000.0 && num(l, "achieved_rps") >= 0.97 * num(l, "offered_rps")
        }),
    });
    let inproc =
        bench("encrypt-64B-concurrent/pool-coalesced-1000-in-flight").map(|ns| 1000.0 / (ns / 1e9));
    targets.push(Target {
        what: "in-process encrypt through the pool ≥ 1,000,000 operations/s per core".into(),
        measured: inproc.map_or("-".into(), |ops| {
            format!(
                "{:.0} ops/s on {cores} cores = {:.0} per core",
                ops,
                ops / cores
            )
        }),
        met: inproc.map(|ops| ops / cores >= 1_000_000.0),
    });
    let mixed = rate("mixed@4000 two lanes", "aes-encrypt");
    let mixed_one = rate("mixed@4000 one lane", "aes-encrypt");
    targets.push(Target {
        what: "4,000/s of 95% AES + 5% RSA-3072 sign: AES p99 ≤ 2 ms".into(),
        measured: mixed.map_or("-".into(), |l| {
            format!(
                "AES p99 {:.2} ms with two lanes{}",
                num(l, "p99_us") / 1000.0,
                mixed_one.map_or(String::new(), |o| format!(
                    " (one shared lane: {:.2} ms)",
                    num(o, "p99_us") / 1000.0
                ))
            )
        }),
        met: mixed.map(|l| num(l, "p99_us") <= 2000.0),
    });
    let rss = kind("rss").next();
    let overload = wrk_once("overload:rsa-sign").zip(wrk_once("overload:encrypt"));
    let recovered = wrk_once("recovered-encrypt").zip(wrk_once("echo:recovered-encrypt"));
    let samples: Vec<f64> = rss
        .and_then(|r| r["samples"].as_array())
        .map(|s| s.iter().filter_map(|p| p[1].as_f64()).collect())
        .unwrap_or_default();
    let half = samples.len() / 2;
    let (first_max, second_max) = (
        samples[..half].iter().copied().fold(0.0, f64::max),
        samples[half..].iter().copied().fold(0.0, f64::max),
    );
    let recovered_ratio = recovered.map(|(k, e)| rps(k) / rps(e));
    targets.push(Target {
        what: "overload far above capacity: RSS flat, 503s, throughput recovers".into(),
        measured: match (rss, overload, recovered_ratio) {
            (Some(r), Some((sign, enc)), Some(rec)) => format!(
                "RSS {:.0} MiB before, max {:.0} MiB in the first half, {:.0} MiB in the second, {:.0} MiB after; \
                 {} of {} sign requests answered 503 (encrypt: {} of {}); afterwards encrypt at {:.2}× echo",
                num(r, "before_kb") / 1024.0,
                first_max / 1024.0,
                second_max / 1024.0,
                num(r, "after_kb") / 1024.0,
                sign["non_2xx"],
                sign["requests"],
                enc["non_2xx"],
                enc["requests"],
                rec
            ),
            _ => "-".into(),
        },
        met: match (overload, recovered_ratio, row("encrypt")) {
            (Some((sign, _)), Some(rec), Some(e)) => Some(
                second_max <= first_max * 1.10
                    && sign["non_2xx"].as_u64().unwrap_or(0) > 0
                    && rec >= 0.9 * e.ratio,
            ),
            _ => None,
        },
    });

    let mut md = String::new();
    let quick = arg(&args, "--quick").is_some_and(|q| q == "1");
    writeln!(md, "# Benchmarks\n")?;
    writeln!(
        md,
        "Written by `loadtest/run.sh`{}; do not edit by hand. Machine: {}. Settings: {}. The load \
         generators run on the same machine as the servers.\n",
        if quick {
            " **--quick (short runs: figures are indicative only)**"
        } else {
            ""
        },
        arg(&args, "--machine").unwrap_or_else(|| "?".into()),
        arg(&args, "--settings").unwrap_or_else(|| "?".into()),
    )?;
    writeln!(md, "## Targets\n")?;
    writeln!(md, "| target | measured | |\n|---|---|---|")?;
    for t in &targets {
        writeln!(md, "| {} | {} | {} |", t.what, t.measured, verdict(t.met))?;
    }
    writeln!(
        md,
        "\nWhere a target is missed, docs/performance.md shows the profile of what limits it.\n"
    )?;
    writeln!(md, "## Throughput (wrk, closed loop)\n")?;
    writeln!(md, "![throughput and latency](benchmarks.png)\n")?;
    writeln!(
        md,
        "| scenario | one request | requests/s | operations/s | echo requests/s | ratio to echo (range) | p50 ms | p99 ms | errors | rounds |\n|---|---|---|---|---|---|---|---|---|---|"
    )?;
    for r in &rows {
        writeln!(
            md,
            "| {} | {} | {:.0} | {:.0} | {:.0} | {:.2} ({:.2}–{:.2}) | {:.2} | {:.2} | {} | {} |",
            r.name,
            r.what,
            r.rps,
            r.ops,
            r.echo_rps,
            r.ratio,
            r.ratio_min,
            r.ratio_max,
            r.p50_ms,
            r.p99_ms,
            r.non_2xx,
            r.rounds
        )?;
    }
    writeln!(md, "\n## Constant rate (kms-rate, open loop)\n")?;
    writeln!(
        md,
        "Latency is measured from when each request was due, so queueing anywhere counts.\n\n\
         | run | class | offered/s | achieved/s | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | 503 | other errors | dropped |\n\
         |---|---|---|---|---|---|---|---|---|---|---|---|"
    )?;
    for l in kind("rate") {
        let ms = |f: &str| num(l, f) / 1000.0;
        writeln!(
            md,
            "| {} | {} | {:.0} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} | {:.1} | {} | {} | {} |",
            l["label"].as_str().unwrap_or("?"),
            l["class"].as_str().unwrap_or("?"),
            num(l, "offered_rps"),
            num(l, "achieved_rps"),
            ms("p50_us"),
            ms("p90_us"),
            ms("p99_us"),
            ms("p999_us"),
            ms("max_us"),
            l["status_503"],
            l["other_status"].as_u64().unwrap_or(0) + l["transport_errors"].as_u64().unwrap_or(0),
            l["dropped"],
        )?;
    }
    writeln!(
        md,
        "\n## In process (criterion, `benches/benches/pool.rs`)\n"
    )?;
    writeln!(
        md,
        "| benchmark | median per iteration | operations/s |\n|---|---|---|"
    )?;
    for l in kind("bench") {
        let id = l["id"].as_str().unwrap_or("?");
        let ns = num(l, "median_ns");
        let per_iter = if id.contains("1000") {
            1000.0
        } else if id.contains("batch-100") {
            100.0
        } else {
            1.0
        };
        writeln!(md, "| {id} | {:.0} ns | {:.0} |", ns, per_iter / (ns / 1e9))?;
    }
    writeln!(md, "\n## goose\n")?;
    writeln!(
        md,
        "Each scenario ran with 32 users; goose's own HTML and JSON reports are in \
         `target/loadtest/goose/` (not committed): {}.",
        kind("goose")
            .filter_map(|l| l["scenario"].as_str())
            .collect::<Vec<_>>()
            .join(", ")
    )?;
    std::fs::write(&args[1], md)?;
    chart(&rows, &args[2])?;
    Ok(())
}
