//! The `kms` binary.
#![forbid(unsafe_code)]

use clap::Parser;

// Buffers cross between HTTP and crypto worker threads in both directions; see docs/performance.md.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("KMS_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let cli = kms_gateway::cli::Cli::parse();
    std::process::exit(kms_gateway::cli::run(cli));
}
