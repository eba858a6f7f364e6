//! The `kms` command line.

mod app;
mod approvals;
mod audit;
mod backup;
mod client;
mod hsm;
mod init;
mod key;
mod login;
mod output;
mod status;
mod unseal;
mod user;
mod zone;

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::ConfigFile;
use crate::server::{self, ServeError, ServeOptions};

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
    /// Start the create ceremony of a new KMS (its first master key and root token); a quorum
    /// of custodians then approves it with `kms hsm ceremony approve`.
    Init(InitArgs),
    /// Submit unseal shares (software HSM), read from standard input one per line.
    Unseal(UnsealArgs),
    /// Show whether the server is initialised and sealed.
    Status(AddrArgs),
    /// The HSM: status, rotations, master-key ceremonies.
    #[command(subcommand)]
    Hsm(hsm::HsmCommand),
    /// Keys and their versions: create, show, rotate, roll back, disable, destroy, events.
    #[command(subcommand)]
    Key(key::KeyCommand),
    /// Open an admin session: password and TOTP code from the terminal or standard input.
    Login(login::LoginArgs),
    /// People and their roles.
    #[command(subcommand)]
    User(user::UserCommand),
    /// Apps (machine identities).
    #[command(subcommand)]
    App(app::AppCommand),
    /// Grant an app operations on a key.
    Grant(app::GrantArgs),
    /// Requests for sensitive actions, waiting for a quorum.
    #[command(subcommand)]
    Approvals(approvals::ApprovalsCommand),
    /// The audit log: list, verify the chain, export as JSON lines.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Ask the running server for an encrypted backup of the store (docs/backup.md).
    Backup(backup::BackupArgs),
    /// Restore a backup into an empty data directory, offline, through the HSM that holds its
    /// master key.
    Restore(backup::RestoreArgs),
    /// Print an argon2id hash of a password read from standard input (for kms.toml custodians).
    HashPassword,
    /// Zones: a service node's zone key pair, and its registration with the store.
    #[command(subcommand)]
    Zone(zone::ZoneCommand),
}

#[derive(Args, Debug)]
pub struct AddrArgs {
    /// The server's address.
    #[arg(long, env = "KMS_ADDR", default_value = "http://127.0.0.1:8200")]
    pub addr: String,
}

#[derive(Args, Debug)]
pub struct TokenArgs {
    /// An administrator's token (better given as KMS_TOKEN than on the command line).
    #[arg(long, env = "KMS_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    #[command(flatten)]
    pub addr: AddrArgs,
}

impl TokenArgs {
    pub fn token(&self) -> Result<String, CliError> {
        self.token
            .clone()
            .ok_or_else(|| CliError::Input("set KMS_TOKEN to an administrator's token".into()))
    }
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// kms.toml: HSM backend and tokens, custodians, quorum, data directory, listen address.
    #[arg(long, env = "KMS_CONFIG")]
    pub config: Option<PathBuf>,
    /// Dev mode: initialise and unseal automatically (the unseal share is kept in the data
    /// directory) and accept a dev root token. Never for real data.
    #[arg(long)]
    pub dev: bool,
    /// Where the database and the sealed master key live (default: kms-data).
    #[arg(long, env = "KMS_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Keep the key store in PostgreSQL at this URL (postgres://user@host:port/db) instead of
    /// SQLite in the data directory. Replaces kms.toml's [store] postgres.
    #[arg(long, env = "KMS_POSTGRES_URL", hide_env_values = true)]
    pub postgres_url: Option<String>,
    /// Default: 127.0.0.1:8200.
    #[arg(long, env = "KMS_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Dev mode: the root token to accept (a random one is printed otherwise).
    #[arg(long, env = "KMS_DEV_ROOT_TOKEN", requires = "dev")]
    pub dev_root_token: Option<String>,
    /// Dev mode: serve the password demo at /demo/login with this password key (create it with
    /// `"purpose":"password"`; docs/passwords.md).
    #[arg(long, requires = "dev")]
    pub demo_key: Option<String>,
    /// HTTP worker threads (default: one per core).
    #[arg(long)]
    pub http_workers: Option<usize>,
    /// Crypto worker threads (default: one per core).
    #[arg(long)]
    pub crypto_workers: Option<usize>,
    /// Worker threads for asymmetric keys, at a lower priority (default: one per core; 0 runs
    /// them on the crypto workers).
    #[arg(long)]
    pub slow_workers: Option<usize>,
    /// Largest request body in bytes (default 1 MiB).
    #[arg(long)]
    pub max_body_bytes: Option<usize>,
    /// Where the Vault Transit-compatible API is mounted (default /v1/transit).
    #[arg(long, env = "KMS_TRANSIT_MOUNT")]
    pub transit_mount: Option<String>,
    /// Serve HTTPS with this certificate chain (PEM; with --tls-key). Replaces kms.toml's [tls].
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The TLS certificate's private key (PEM).
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Ask TLS clients for a certificate issued by this CA (PEM); apps bound to a certificate
    /// then need no token.
    #[arg(long, requires = "tls_cert")]
    pub tls_client_ca: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct InitArgs {
    /// Software HSM: unseal shares to create.
    #[arg(long)]
    pub shares: Option<u8>,
    /// Software HSM: shares needed to unseal.
    #[arg(long)]
    pub threshold: Option<u8>,
    /// generate (default) or components.
    #[arg(long)]
    pub source: Option<String>,
    /// For --source components: how many.
    #[arg(long)]
    pub components: Option<u8>,
    /// The custodian starting the ceremony; the password is read from the terminal or stdin.
    #[arg(long)]
    pub custodian: String,
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
    /// kms.toml if given, then the flags on top.
    pub fn options(&self) -> Result<ServeOptions, ServeError> {
        let file = match &self.config {
            Some(path) => ConfigFile::load(path)?,
            None => ConfigFile::default(),
        };
        let mut opts = ServeOptions::from_config(&file)?;
        opts.dev = self.dev;
        if let Some(d) = &self.data_dir {
            opts.data_dir.clone_from(d);
        }
        if let Some(url) = &self.postgres_url {
            opts.postgres_url = Some(url.clone());
        }
        if let Some(l) = self.listen {
            opts.listen = l;
        }
        opts.dev_root_token.clone_from(&self.dev_root_token);
        opts.demo_key.clone_from(&self.demo_key);
        if let Some(n) = self.http_workers {
            opts.http_workers = n;
        }
        if let Some(n) = self.crypto_workers {
            opts.pool.workers = n;
        }
        if let Some(n) = self.slow_workers {
            opts.pool.slow_workers = n;
        }
        if let Some(n) = self.max_body_bytes {
            opts.limits.body_bytes = n;
        }
        if let Some(mount) = &self.transit_mount {
            opts.transit_mount.clone_from(mount);
        }
        if let (Some(cert), Some(key)) = (&self.tls_cert, &self.tls_key) {
            opts.tls = Some(kms_tls::TlsFiles {
                cert: cert.clone(),
                key: key.clone(),
                client_ca: self.tls_client_ca.clone(),
            });
        }
        Ok(opts)
    }
}

fn hash_password() -> Result<(), CliError> {
    let stdin = std::io::stdin();
    let password = client::read_secret("Password: ", &mut stdin.lock())?;
    let hash = crate::custodians::hash_password(&password).map_err(CliError::Input)?;
    println!("{hash}");
    Ok(())
}

/// Runs a command; returns the process exit code.
pub fn run(cli: Cli) -> i32 {
    let result = match cli.command {
        Command::Serve(args) => args
            .options()
            .and_then(|o| server::serve(&o))
            .map_err(|e| e.to_string()),
        Command::Init(args) => init::run(&args).map_err(|e| e.to_string()),
        Command::Unseal(args) => unseal::run(&args).map_err(|e| e.to_string()),
        Command::Status(args) => status::run(&args).map_err(|e| e.to_string()),
        Command::Hsm(command) => hsm::run(&command).map_err(|e| e.to_string()),
        Command::Key(command) => key::run(&command).map_err(|e| e.to_string()),
        Command::Login(args) => login::run(&args).map_err(|e| e.to_string()),
        Command::User(command) => user::run(&command).map_err(|e| e.to_string()),
        Command::App(command) => app::run(&command).map_err(|e| e.to_string()),
        Command::Grant(args) => app::grant(&args).map_err(|e| e.to_string()),
        Command::Approvals(command) => approvals::run(&command).map_err(|e| e.to_string()),
        Command::Audit(command) => audit::run(&command).map_err(|e| e.to_string()),
        Command::Backup(args) => backup::backup(&args).map_err(|e| e.to_string()),
        Command::Restore(args) => backup::restore(&args),
        Command::HashPassword => hash_password().map_err(|e| e.to_string()),
        Command::Zone(command) => zone::run(&command).map_err(|e| e.to_string()),
    };
    match result {
        Ok(()) => 0,
        Err(message) => {
            eprintln!("kms: error: {message}");
            1
        }
    }
}
