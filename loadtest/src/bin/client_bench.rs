//! The Rust client's benchmark: 64-byte encrypts from many concurrent tasks against a
//! running server, by four clients measured one after another in each round:
//!
//! - `naive`: what an application writes without the client: reqwest, one request per call,
//!   one node, no retries;
//! - `unbatched`: kms-client with batching off (its pipelined connection pool only);
//! - `batched`: kms-client with automatic batching (the default);
//! - `envelope`: kms-client's `encrypt_local` with the data-key cache (default limits).
//!
//! Every figure is compared with the naive client's in the same round, and the report gives the
//! median over rounds of those ratios (the machine is shared: figures from different moments
//! are not comparable, ratios taken side by side are). After each measurement a sample of the
//! results is decrypted and compared with its plaintext.
//!
//! `kms-client-bench --url URL --token TOKEN --key KEY [--tasks 1000] [--seconds 5]
//!  [--warmup 1] [--rounds 3] [--markdown docs/benchmarks.md] [--machine TEXT] [--command TEXT]
//!  [--note TEXT]` (`--note`: what else ran on the machine, printed with the figures)
//!
//! One JSON line per measurement goes to stdout. With `--markdown`, the section between `<!-- client-bench -->` and `<!-- /client-bench -->`
//! of that file is replaced (or appended), leaving the rest as it is.
#![forbid(unsafe_code)]
// Measurement arithmetic: counts and durations become f64 and back, within range by construction.
#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_precision_loss,
    clippy::cast_sign_loss
)]

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use kms_client::{Batching, Client, Failover};

const BEGIN: &str = "<!-- client-bench -->";
const END: &str = "<!-- /client-bench -->";
const MODES: [&str; 4] = ["naive", "unbatched", "batched", "envelope"];

struct Args {
    url: String,
    token: String,
    key: String,
    tasks: usize,
    seconds: f64,
    warmup: f64,
    rounds: usize,
    markdown: Option<String>,
    machine: String,
    command: String,
    note: String,
}

fn usage() -> ! {
    eprintln!(
        "usage: kms-client-bench --url URL --token TOKEN --key KEY [--tasks N] [--seconds S] \
         [--warmup S] [--rounds N] [--markdown FILE] [--machine TEXT] [--command TEXT] [--note TEXT]"
    );
    std::process::exit(2)
}

fn args() -> Args {
    let mut a = Args {
        url: String::new(),
        token: String::new(),
        key: String::new(),
        tasks: 1000,
        seconds: 5.0,
        warmup: 1.0,
        rounds: 3,
        markdown: None,
        machine: String::new(),
        command: String::new(),
        note: String::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let v = it.next().unwrap_or_else(|| usage());
        let num = |v: &str| v.parse::<f64>().unwrap_or_else(|_| usage());
        match flag.as_str() {
            "--url" => a.url = v,
            "--token" => a.token = v,
            "--key" => a.key = v,
            "--tasks" => a.tasks = num(&v) as usize,
            "--seconds" => a.seconds = num(&v),
            "--warmup" => a.warmup = num(&v),
            "--rounds" => a.rounds = num(&v) as usize,
            "--markdown" => a.markdown = Some(v),
            "--machine" => a.machine = v,
            "--command" => a.command = v,
            "--note" => a.note = v,
            _ => usage(),
        }
    }
    if a.url.is_empty() || a.token.is_empty() || a.key.is_empty() || a.tasks == 0 {
        usage()
    }
    a
}

/// One mode's measurement in one round.
struct Run {
    mode: &'static str,
    round: usize,
    ops: u64,
    errors: u64,
    seconds: f64,
    /// HTTP requests the client sent while measuring (kms-client's own count).
    requests: Option<u64>,
}

impl Run {
    fn ops_per_s(&self) -> f64 {
        self.ops as f64 / self.seconds
    }
}

/// What one task made last: checked against its plaintext after the run.
enum Sample {
    Ciphertext(String),
    Envelope(Vec<u8>),
}

fn plaintext(task: usize) -> Vec<u8> {
    // 64 bytes, different per task.
    format!("{task:064}").into_bytes()
}

async fn one(
    mode: &str,
    naive: &reqwest::Client,
    args: &Args,
    kms: &Client,
    pt: &[u8],
) -> Result<Sample, String> {
    match mode {
        "naive" => {
            let body = format!("{{\"plaintext\":\"{}\"}}", STANDARD.encode(pt));
            let r = naive
                .post(format!("{}/v1/keys/{}/encrypt", args.url, args.key))
                .header("Authorization", format!("Bearer {}", args.token))
                .header("Content-Type", "application/json")
                .body(body)
                .send()
                .await
                .map_err(|e| e.to_string())?;
            if !r.status().is_success() {
                return Err(format!("status {}", r.status()));
            }
            let bytes = r.bytes().await.map_err(|e| e.to_string())?;
            let v: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
            v["ciphertext"]
                .as_str()
                .map(|c| Sample::Ciphertext(c.to_owned()))
                .ok_or_else(|| "no ciphertext".to_owned())
        }
        "envelope" => kms
            .encrypt_local(&args.key, pt, None)
            .await
            .map(Sample::Envelope)
            .map_err(|e| e.to_string()),
        _ => kms
            .encrypt(&args.key, pt, None)
            .await
            .map(|c| Sample::Ciphertext(c.ciphertext))
            .map_err(|e| e.to_string()),
    }
}

async fn measure(
    mode: &'static str,
    round: usize,
    args: &Arc<Args>,
    naive: &reqwest::Client,
    kms: &Client,
) -> Run {
    let measuring = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let tasks: Vec<_> = (0..args.tasks)
        .map(|t| {
            let (args, naive, kms) = (Arc::clone(args), naive.clone(), kms.clone());
            let (measuring, stop) = (Arc::clone(&measuring), Arc::clone(&stop));
            tokio::spawn(async move {
                let pt = plaintext(t);
                let (mut ops, mut errors, mut last) = (0u64, 0u64, None);
                while !stop.load(Ordering::Relaxed) {
                    let result = one(mode, &naive, &args, &kms, &pt).await;
                    let counted = measuring.load(Ordering::Relaxed);
                    match result {
                        Ok(sample) => {
                            ops += u64::from(counted);
                            last = Some(sample);
                        }
                        Err(e) => {
                            errors += u64::from(counted);
                            if errors == 1 {
                                eprintln!("{mode}: {e}");
                            }
                        }
                    }
                }
                (ops, errors, last, pt)
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs_f64(args.warmup)).await;
    let requests_before = kms.stats().requests;
    measuring.store(true, Ordering::Relaxed);
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs_f64(args.seconds)).await;
    measuring.store(false, Ordering::Relaxed);
    let seconds = started.elapsed().as_secs_f64();
    let requests = kms.stats().requests - requests_before;
    stop.store(true, Ordering::Relaxed);
    let (mut ops, mut errors, mut samples) = (0, 0, Vec::new());
    for t in tasks {
        if let Ok((o, e, last, pt)) = t.await {
            ops += o;
            errors += e;
            if samples.len() < 50
                && let Some(s) = last
            {
                samples.push((s, pt));
            }
        }
    }
    // Honest results only: a sample of what was counted decrypts to what went in.
    for (sample, pt) in samples {
        let back = match &sample {
            Sample::Ciphertext(c) => kms.decrypt(&args.key, c, None).await,
            Sample::Envelope(e) => kms.decrypt_local(e, None).await,
        };
        match back {
            Ok(p) if p[..] == pt[..] => {}
            other => {
                eprintln!(
                    "{mode}: a result did not decrypt to its plaintext: {:?}",
                    other.err()
                );
                std::process::exit(1);
            }
        }
    }
    Run {
        mode,
        round,
        ops,
        errors,
        seconds,
        requests: (mode != "naive").then_some(requests),
    }
}

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

fn ratios(runs: &[Run], mode: &str) -> Vec<f64> {
    runs.iter()
        .filter(|r| r.mode == mode)
        .filter_map(|r| {
            let naive = runs
                .iter()
                .find(|n| n.mode == "naive" && n.round == r.round)?;
            Some(r.ops_per_s() / naive.ops_per_s())
        })
        .collect()
}

fn report(args: &Args, runs: &[Run], load_before: &str) -> String {
    let what = [
        (
            "naive",
            "naive: reqwest, one request per call, one node, no retries",
        ),
        (
            "unbatched",
            "kms-client, batching off (pipelined keep-alive pool)",
        ),
        (
            "batched",
            "kms-client, automatic batching (default: 200 µs window, 256 items)",
        ),
        (
            "envelope",
            "kms-client, `encrypt_local` with the data-key cache (default limits)",
        ),
    ];
    let mut md = String::new();
    let _ = writeln!(md, "{BEGIN}");
    let _ = writeln!(md, "## Rust client\n");
    let _ = writeln!(
        md,
        "Written by `kms-client-bench` (`loadtest/src/bin/client_bench.rs`); do not edit by hand. \
         Command: `{}`. 64-byte AES-256-GCM encrypts from {} concurrent tokio tasks (2 runtime \
         threads) against a release `kms serve --dev` on the same machine (2 HTTP workers, 2 \
         crypto workers), {} rounds of {} s per client after {} s of warm-up; each round \
         measures the four clients one after another, and each ratio is to the naive client \
         of the same round. Machine: {}. Load average before: {}.{}\n",
        args.command,
        args.tasks,
        args.rounds,
        args.seconds,
        args.warmup,
        args.machine,
        load_before,
        if args.note.is_empty() {
            String::new()
        } else {
            format!(" {}", args.note)
        }
    );
    let _ = writeln!(
        md,
        "| client | operations/s (median) | ratio to naive (median, range) | KMS requests/s | operations per KMS request | errors |"
    );
    let _ = writeln!(md, "|---|---|---|---|---|---|");
    for (mode, label) in what {
        let mine: Vec<&Run> = runs.iter().filter(|r| r.mode == mode).collect();
        let ops = median(mine.iter().map(|r| r.ops_per_s()).collect());
        let rs = ratios(runs, mode);
        let (lo, hi) = (
            rs.iter().copied().fold(f64::INFINITY, f64::min),
            rs.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        );
        let reqs = median(
            mine.iter()
                .map(|r| r.requests.map_or(r.ops_per_s(), |q| q as f64 / r.seconds))
                .collect(),
        );
        let per = median(
            mine.iter()
                .map(|r| r.ops as f64 / r.requests.unwrap_or(r.ops).max(1) as f64)
                .collect(),
        );
        let errors: u64 = mine.iter().map(|r| r.errors).sum();
        let _ = writeln!(
            md,
            "| {label} | {ops:.0} | {:.2} ({lo:.2}–{hi:.2}) | {reqs:.0} | {per:.1} | {errors} |",
            median(rs.clone())
        );
    }
    let _ = writeln!(
        md,
        "\nKMS requests are counted by the client (every attempt); the naive client's are its \
         operations. The envelope's are its `datakey` calls: one per `max_messages` (100 000) \
         messages, the cache's default limit."
    );
    let verdict = |mode: &str, target: f64| {
        let m = median(ratios(runs, mode));
        let word = if m >= target { "met" } else { "**missed**" };
        format!("{m:.1}× | {word}")
    };
    let _ = writeln!(md, "\n| target | measured | |\n|---|---|---|");
    let _ = writeln!(
        md,
        "| automatic batching ≥ 5× the naive client's operations/s | {} |",
        verdict("batched", 5.0)
    );
    let _ = writeln!(
        md,
        "| envelope with cache ≥ 50× the naive client's operations/s | {} |",
        verdict("envelope", 50.0)
    );
    let _ = writeln!(
        md,
        "\nEvery round:\n\n| round | naive | unbatched | batched | envelope |\n|---|---|---|---|---|"
    );
    for round in 1..=args.rounds {
        let cell = |mode: &str| {
            runs.iter()
                .find(|r| r.mode == mode && r.round == round)
                .map_or_else(String::new, |r| format!("{:.0}", r.ops_per_s()))
        };
        let _ = writeln!(
            md,
            "| {round} | {} | {} | {} | {} |",
            cell("naive"),
            cell("unbatched"),
            cell("batched"),
            cell("envelope")
        );
    }
    let _ = writeln!(md, "{END}");
    md
}

/// Replaces the marked section of `path` (or appends it).
fn splice(path: &str, section: &str) -> std::io::Result<()> {
    let old = std::fs::read_to_string(path).unwrap_or_default();
    let new = match (old.find(BEGIN), old.find(END)) {
        (Some(b), Some(e)) if e > b => {
            format!(
                "{}{}{}",
                &old[..b],
                section,
                &old[e + END.len()..].trim_start_matches('\n')
            )
        }
        _ => format!("{}\n{section}", old.trim_end()),
    };
    std::fs::write(path, new)
}

fn main() {
    let args = Arc::new(args());
    let load_before = std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split(' ').take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let runs = runtime.block_on(async {
        let naive = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("reqwest");
        let build = |batching: Batching| {
            Client::builder()
                .node(&args.url)
                .token(&args.token)
                .batching(batching)
                .failover(Failover {
                    health_interval: None,
                    ..Failover::default()
                })
                .build()
                .expect("client")
        };
        let mut runs = Vec::new();
        for round in 1..=args.rounds {
            for mode in MODES {
                // A fresh client per measurement: no connections or cached keys carried over.
                let kms = build(if mode == "unbatched" {
                    Batching::disabled()
                } else {
                    Batching::default()
                });
                let run = measure(mode, round, &args, &naive, &kms).await;
                let line = serde_json::json!({
                    "kind": "client-bench", "mode": run.mode, "round": run.round,
                    "ops": run.ops, "errors": run.errors, "seconds": run.seconds,
                    "requests": run.requests, "tasks": args.tasks,
                });
                println!("{line}");
                eprintln!(
                    "round {round}: {mode}: {:.0} operations/s ({} errors)",
                    run.ops_per_s(),
                    run.errors
                );
                runs.push(run);
            }
        }
        runs
    });
    let md = report(&args, &runs, &load_before);
    match &args.markdown {
        Some(path) => splice(path, &md).expect("write --markdown"),
        None => print!("{md}"),
    }
}
