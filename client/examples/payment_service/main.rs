//! A payment service encrypting card numbers through the client (service.rs has the code an
//! application would have). Against a running KMS with the keys of the README's "Rust client"
//! section:
//!
//! ```text
//! KMS_TOKEN=<the app's token> cargo run --release -p kms-client --example payment_service -- \
//!     --node http://127.0.0.1:8200 --orders 20000 --concurrency 500
//! ```
//!
//! `--node` may be given several times (failover); `--ca-file` for https:// nodes.

mod service;

use std::time::Duration;

use kms_client::Client;

fn usage() -> ! {
    eprintln!(
        "usage: payment_service --node URL [--node URL ...] [--ca-file PEM] [--orders N] [--concurrency N]\n\
         (the app's token in KMS_TOKEN)"
    );
    std::process::exit(2)
}

fn main() {
    let mut nodes = Vec::new();
    let (mut ca_file, mut orders, mut concurrency) = (None, 10_000usize, 200usize);
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().unwrap_or_else(|| usage());
        match flag.as_str() {
            "--node" => nodes.push(value),
            "--ca-file" => ca_file = Some(value),
            "--orders" => orders = value.parse().unwrap_or_else(|_| usage()),
            "--concurrency" => concurrency = value.parse().unwrap_or_else(|_| usage()),
            _ => usage(),
        }
    }
    let Ok(token) = std::env::var("KMS_TOKEN") else {
        usage()
    };
    if nodes.is_empty() {
        usage();
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("payment_service: {e}");
            std::process::exit(1)
        }
    };
    let outcome = runtime.block_on(async move {
        let mut builder = Client::builder()
            .nodes(nodes)
            .token(token)
            .deadline(Duration::from_secs(30));
        if let Some(ca) = ca_file {
            builder = builder.ca_file(ca);
        }
        let kms = builder.build().map_err(|e| e.to_string())?;
        service::run(kms, orders, concurrency).await
    });
    match outcome {
        Ok(s) => println!(
            "payment_service: {} orders authorised and stored encrypted, {} refunds decrypted \
             and checked, {} settlement lines; {} requests carried {} items; {:.2} s",
            s.orders,
            s.refunds_checked,
            s.settlement_lines,
            s.requests,
            s.items,
            s.elapsed.as_secs_f64()
        ),
        Err(e) => {
            eprintln!("payment_service: {e}");
            std::process::exit(1)
        }
    }
}
