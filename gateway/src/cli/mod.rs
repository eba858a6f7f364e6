//! The `kms` command line.

mod client;
mod init;
mod status;
mod unseal;

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::server::{self, ServeOptions};

pub use client::{CliError, Client};

#[derive(Parser, Debug)]
#[command(
    name = "kms",
    version,
    about = "A key management system for payment platforms"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the KMS server.
    Serve(ServeArgs),
    /// Initialise a new server: create the master key and print the unseal shares and root token
    /// (once).
    Init(InitArgs),
    /// Submit unseal shares, read from standard input one per line.
    Unseal(UnsealArgs),
    /// Show whether the server is initialised and sealed.
    Status(AddrArgs),
}

#[derive(Args, Debug)]
pub struct AddrArgs {
    /// The server's address.
    #[arg(long, env = "KMS_ADDR", default_value = "http://127.0.0.1:8200")]
    pub addr: String,
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Dev mode: initialise and unseal automatically (the unseal share is kept in the data
    /// directory) and accept a dev root token. Never for real data.
    #[arg(long)]
    pub dev: bool,
    /// Where the database and the sealed master key live.
    #[arg(long, env = "KMS_DATA_DIR", default_value = "kms-data")]
    pub data_dir: PathBuf,
    #[arg(long, env = "KMS_LISTEN", default_value = "127.0.0.1:8200")]
    pub listen: SocketAddr,
    /// Dev mode: the root token to accept (a random one is printed otherwise).
    #[arg(long, env = "KMS_DEV_ROOT_TOKEN", requires = "dev")]
    pub dev_root_token: Option<String>,
    /// HTTP worker threads (default: one per core).
    #[arg(long)]
    pub http_workers: Option<usize>,
    /// Crypto worker threads (default: one per core).
    #[arg(long)]
    pub crypto_workers: Option<usize>,
    /// Largest request body in bytes.
    #[arg(long, default_value_t = 1 << 20)]
    pub max_body_bytes: usize,
}

#[derive(Args, Debug)]
pub struct InitArgs {
    /// Unseal shares to create.
    #[arg(long, default_value_t = 5)]
    pub shares: u8,
    /// Shares needed to unseal.
    #[arg(long, default_value_t = 3)]
    pub threshold: u8,
    #[command(flatten)]
    pub addr: AddrArgs,
}

#[derive(Args, Debug)]
pub struct UnsealArgs {
    /// Forget the shares submitted so far instead.
    #[arg(long)]
    pub reset: bool,
    #[command(flatten)]
    pub addr: AddrArgs,
}

impl ServeArgs {
    pub fn options(&self) -> ServeOptions {
        let mut opts = ServeOptions::new(self.data_dir.clone());
        opts.dev = self.dev;
        opts.listen = self.listen;
        opts.dev_root_token.clone_from(&self.dev_root_token);
        if let Some(n) = self.http_workers {
            opts.http_workers = n;
        }
        if let Some(n) = self.crypto_workers {
            opts.pool.workers = n;
        }
        opts.limits.body_bytes = self.max_body_bytes;
        opts
    }
}

/// Runs a command; returns the process exit code.
pub fn run(cli: Cli) -> i32 {
    let result = match cli.command {
        Command::Serve(args) => server::serve(&args.options()).map_err(|e| e.to_string()),
        Command::Init(args) => init::run(&args).map_err(|e| e.to_string()),
        Command::Unseal(args) => unseal::run(&args).map_err(|e| e.to_string()),
        Command::Status(args) => status::run(&args).map_err(|e| e.to_string()),
    };
    match result {
        Ok(()) => 0,
        Err(message) => {
            eprintln!("kms: error: {message}");
            1
        }
    }
}
