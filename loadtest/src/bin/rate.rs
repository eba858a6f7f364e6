//! An open-loop load generator: requests start at a constant rate whatever the server's answers
//! do, and each latency is measured from when the request was due, not from when it was sent, so
//! a stalled server shows up in the percentiles (closed-loop tools such as wrk hide it:
//! "coordinated omission").
//!
//! `kms-rate URL TOKEN RATE SECONDS LABEL CLASS...` where each CLASS is
//! `name,weight,path,body` (the body is JSON, POSTed). One JSON line per class goes to stdout:
//! offered and achieved rates, answers by kind, and p50/p90/p99/p99.9/max latency in µs.
//! Requests due in the first second are a warm-up and not counted. At most 128 are on the wire at
//! once (as many connections), like wrk2's fixed connections; a due request waits for one and the
//! wait counts in its latency. At most 4096 may be waiting; past that a due request is counted
//! `dropped` (the server is far behind).
#![forbid(unsafe_code)]
// Measurement arithmetic: counts and durations become f64 and back, within range by construction.
#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_precision_loss,
    clippy::cast_sign_loss
)]

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

const MAX_IN_FLIGHT: usize = 4096;
/// Connections (requests on the wire at once); a due request waits for one, and the wait counts.
const CONNECTIONS: usize = 128;
const WARMUP: Duration = Duration::from_secs(1);

struct Class {
    name: String,
    weight: u32,
    url: String,
    body: String,
}

#[derive(Default)]
struct Tally {
    latencies_us: Vec<u64>,
    ok: u64,
    status_503: u64,
    other_status: u64,
    transport_errors: u64,
    dropped: u64,
}

fn usage() -> ! {
    eprintln!("usage: kms-rate URL TOKEN RATE SECONDS LABEL name,weight,path,body ...");
    std::process::exit(2)
}

fn parse_class(base: &str, spec: &str) -> Class {
    let mut parts = spec.splitn(4, ',');
    let (Some(name), Some(weight), Some(path), Some(body)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        usage()
    };
    Class {
        name: name.to_owned(),
        weight: weight.parse().unwrap_or_else(|_| usage()),
        url: format!("{base}{path}"),
        body: body.to_owned(),
    }
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 6 {
        usage();
    }
    let (base, token) = (args[0].trim_end_matches('/').to_owned(), args[1].clone());
    let rate: f64 = args[2].parse().unwrap_or_else(|_| usage());
    let seconds: f64 = args[3].parse().unwrap_or_else(|_| usage());
    let label = args[4].clone();
    let classes: Vec<Class> = args[5..].iter().map(|s| parse_class(&base, s)).collect();
    // One cycle of `total` slots in which each class has `weight`, spread evenly (smooth
    // weighted round robin), so the mix is exact over every cycle.
    let total: u32 = classes.iter().map(|c| c.weight).sum();
    if total == 0 {
        usage();
    }
    let mut current = vec![0i64; classes.len()];
    let pattern: Vec<usize> = (0..total)
        .map(|_| {
            for (c, class) in current.iter_mut().zip(&classes) {
                *c += i64::from(class.weight);
            }
            let (pick, _) = current
                .iter()
                .enumerate()
                .max_by_key(|(i, c)| (**c, std::cmp::Reverse(*i)))
                .unwrap_or((0, &0));
            current[pick] -= i64::from(total);
            pick
        })
        .collect();

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(MAX_IN_FLIGHT)
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    let tallies: Rc<Vec<RefCell<Tally>>> =
        Rc::new(classes.iter().map(|_| RefCell::default()).collect());
    let in_flight = Rc::new(std::cell::Cell::new(0usize));
    let wire = Rc::new(tokio::sync::Semaphore::new(CONNECTIONS));
    let classes = Rc::new(classes);
    let auth = format!("Bearer {token}");

    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, async {
        let start = Instant::now();
        let end = start + Duration::from_secs_f64(seconds);
        let interval = Duration::from_secs_f64(1.0 / rate);
        let mut next: u64 = 0;
        // tokio's timers tick in whole milliseconds, which would release requests in bursts and
        // add up to a millisecond to every latency; a thread sleeping on the kernel's
        // high-resolution timer wakes the loop when each request is due instead.
        let (tick_tx, mut ticks) = tokio::sync::mpsc::unbounded_channel::<()>();
        std::thread::spawn(move || {
            let mut k: u64 = 1;
            loop {
                let due = start + interval.mul_f64(k as f64);
                if due >= end || tick_tx.send(()).is_err() {
                    break;
                }
                if let Some(wait) = due.checked_duration_since(Instant::now()) {
                    std::thread::sleep(wait);
                }
                let elapsed = Instant::now().duration_since(start).as_secs_f64();
                k = (elapsed / interval.as_secs_f64()) as u64 + 1;
            }
        });
        while ticks.recv().await.is_some() {
            while ticks.try_recv().is_ok() {}
            let now = Instant::now();
            if now >= end {
                break;
            }
            // Start every request that is due by now.
            while start + interval.mul_f64(next as f64) <= now {
                let due = start + interval.mul_f64(next as f64);
                let class = pattern[(next % u64::from(total)) as usize];
                next += 1;
                let counted = due >= start + WARMUP;
                if in_flight.get() >= MAX_IN_FLIGHT {
                    if counted {
                        tallies[class].borrow_mut().dropped += 1;
                    }
                    continue;
                }
                in_flight.set(in_flight.get() + 1);
                let request = client
                    .post(&classes[class].url)
                    .header("Authorization", &auth)
                    .header("Content-Type", "application/json")
                    .body(classes[class].body.clone());
                let (tallies, in_flight, wire) =
                    (Rc::clone(&tallies), Rc::clone(&in_flight), Rc::clone(&wire));
                tokio::task::spawn_local(async move {
                    let permit = wire.acquire().await;
                    let answer = match request.send().await {
                        Ok(r) => {
                            let status = r.status().as_u16();
                            r.bytes().await.map(|_| status)
                        }
                        Err(e) => Err(e),
                    };
                    let latency = due.elapsed();
                    drop(permit);
                    in_flight.set(in_flight.get() - 1);
                    if !counted {
                        return;
                    }
                    let mut t = tallies[class].borrow_mut();
                    match answer {
                        Ok(200) => {
                            t.ok += 1;
                            t.latencies_us
                                .push(u64::try_from(latency.as_micros()).unwrap_or(u64::MAX));
                        }
                        Ok(503) => t.status_503 += 1,
                        Ok(_) => t.other_status += 1,
                        Err(_) => t.transport_errors += 1,
                    }
                });
            }
        }
        // Let what is in flight finish (bounded by the client's timeout).
        while in_flight.get() > 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    });

    let measured = seconds - WARMUP.as_secs_f64();
    for (class, tally) in classes.iter().zip(tallies.iter()) {
        let mut t = tally.borrow_mut();
        t.latencies_us.sort_unstable();
        let l = &t.latencies_us;
        let offered = rate * f64::from(class.weight) / f64::from(total);
        println!(
            "{{\"kind\":\"rate\",\"label\":\"{label}\",\"class\":\"{}\",\"offered_rps\":{offered:.1},\
             \"achieved_rps\":{:.1},\"ok\":{},\"status_503\":{},\"other_status\":{},\
             \"transport_errors\":{},\"dropped\":{},\"p50_us\":{},\"p90_us\":{},\"p99_us\":{},\
             \"p999_us\":{},\"max_us\":{}}}",
            class.name,
            t.ok as f64 / measured,
            t.ok,
            t.status_503,
            t.other_status,
            t.transport_errors,
            t.dropped,
            percentile(l, 50.0),
            percentile(l, 90.0),
            percentile(l, 99.0),
            percentile(l, 99.9),
            l.last().copied().unwrap_or(0),
        );
    }
}
