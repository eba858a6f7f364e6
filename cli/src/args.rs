//! Arguments several commands share (the server's address, an administrator's token), and those
//! of the commands whose work is the `kms` binary's own (`serve`) or the server's (`init`,
//! `unseal`).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;

use crate::client::CliError;

#[derive(Args, Debug)]
pub struct AddrArgs {
    /// The server's address, with its scheme: http://host:port, or https://host:port (verified
    /// against the system's roots, or against the CA certificates in the PEM file KMS_CACERT
    /// names).
    #[arg(long, env = "KMS_ADDR", default_value = "http://127.0.0.1:8200")]
    pub addr: String,
}

#[derive(Args, Debug)]
pub struct CustodianArgs {
    /// Your custodian name in kms.toml; your password is read from the terminal (or standard
    /// input). Without it you act through your session (KMS_TOKEN, from `kms login`), as a person
    /// holding security_admin or operator.
    #[arg(long)]
    pub custodian: Option<String>,
    /// Your session token (better given as KMS_TOKEN), when you act as a person, not as a
    /// kms.toml custodian.
    #[arg(long, env = "KMS_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    #[command(flatten)]
    pub addr: AddrArgs,
}

/// A custodian's credentials, read once: kms.toml's name and password (HTTP Basic), or a person's
/// session token.
pub enum CustodianLogin {
    Basic { name: String, password: String },
    Session(String),
}

impl CustodianArgs {
    /// `--custodian NAME` reads the password from the terminal or standard input (and wins over a
    /// KMS_TOKEN in the environment); otherwise the session token is used.
    pub fn login(&self, lines: &mut impl std::io::BufRead) -> Result<CustodianLogin, CliError> {
        match (&self.custodian, &self.token) {
            (Some(name), _) => Ok(CustodianLogin::Basic {
                name: name.clone(),
                password: crate::client::read_secret("Password: ", lines)?,
            }),
            (None, Some(token)) => Ok(CustodianLogin::Session(token.clone())),
            (None, None) => Err(CliError::Input(
                "say who you are: --custodian NAME (a custodian of kms.toml), or log in \
                 (`kms login`) and set KMS_TOKEN to act as a security_admin or operator"
                    .into(),
            )),
        }
    }
}

impl CustodianLogin {
    pub fn auth(&self) -> crate::client::Auth<'_> {
        match self {
            Self::Basic { name, password } => crate::client::Auth::Custodian(name, password),
            Self::Session(token) => crate::client::Auth::Bearer(token),
        }
    }
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
    /// The log's format on stderr: text (default) or json. Replaces kms.toml's [log] format;
    /// which events are written is KMS_LOG's (e.g. `info,kms::access=off`).
    #[arg(long, env = "KMS_LOG_FORMAT", value_parser = ["text", "json"])]
    pub log_format: Option<String>,
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
    /// Software HSM: the RSA public key (PEM) of each share's custodian, in share order, one
    /// per share. Share i then leaves the server only encrypted to key i: the approver who
    /// completes the quorum cannot read it. Each custodian opens theirs with
    /// `kms unseal --private-key FILE`.
    #[arg(long = "share-key", num_args = 1.., requires = "shares")]
    pub share_keys: Vec<PathBuf>,
    /// An RSA public key (PEM) the initial root token is encrypted to (open it with
    /// `kms hsm decrypt --private-key FILE`).
    #[arg(long)]
    pub root_token_key: Option<PathBuf>,
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
    /// Your RSA private key (PEM, unencrypted): paste your encrypted share (the ciphertext
    /// `kms init` or a rekey printed for your key); it is decrypted here and the plaintext
    /// share is submitted, never shown.
    #[arg(long)]
    pub private_key: Option<PathBuf>,
    #[command(flatten)]
    pub addr: AddrArgs,
}
