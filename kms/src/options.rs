//! What `kms serve` runs with: kms.toml, then the command line's flags on top, and what can go
//! wrong at start.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use kms_cli::args::ServeArgs;
use kms_control::context::AccessPolicy;
use kms_control::custodians::{Custodian, Quorum};
use kms_control::rewrap::RewrapPace;
use kms_control::webhooks::Webhook;
use kms_engine::clock::{Clock, SystemClock};
use kms_engine::pool::PoolConfig;
use kms_engine::store::StoreError;
use kms_gateway::api::internal::nodes::InternalNodes;
use kms_gateway::metrics_access::MetricsAccess;
use kms_gateway::proxies::TrustedProxies;
use kms_gateway::state::Limits;
use kms_hsm::{HsmChoice, HsmError};
use kms_tls::{InternalTls, TlsError, TlsFiles};

use crate::config::{ConfigError, ConfigFile};
use crate::logging::LogFormat;
use crate::roles::Roles;
use crate::trust;

pub struct ServeOptions {
    /// Dev mode: initialise and unseal automatically; accept a dev root token.
    pub dev: bool,
    pub data_dir: PathBuf,
    /// The key store in PostgreSQL at this URL; `None`: SQLite, `kms.db` in the data directory.
    pub postgres_url: Option<String>,
    pub listen: SocketAddr,
    pub dev_root_token: Option<String>,
    /// actix-web workers; defaults to the number of cores.
    pub http_workers: usize,
    pub pool: PoolConfig,
    pub limits: Limits,
    pub access: AccessPolicy,
    pub hsm: HsmChoice,
    pub hsm_timeout: Duration,
    pub quorum: Quorum,
    pub custodians: Vec<Custodian>,
    pub rewrap: RewrapPace,
    /// Where time comes from (tests inject a manual clock).
    pub clock: Arc<dyn Clock>,
    /// How often the scheduler runs on its own (tests call it directly instead).
    pub scheduler_interval: Duration,
    pub webhooks: Vec<Webhook>,
    /// Dev mode: serve the password demo (`/demo/login`) with this password key.
    pub demo_key: Option<String>,
    /// Where the Vault Transit-compatible API is mounted (docs/vault-compat.md).
    pub transit_mount: String,
    /// TLS on the listener; `None`: plain HTTP.
    pub tls: Option<TlsFiles>,
    /// What this process does (docs/deployment.md).
    pub roles: Roles,
    /// The store's internal API: its listener (store role) or its address (the other roles).
    pub internal: Option<InternalOptions>,
    /// Service role without the store: the zone this node serves.
    pub zone: Option<String>,
    /// `[server] trusted_proxies`.
    pub trusted_proxies: TrustedProxies,
    /// `[server] metrics_from`.
    pub metrics_from: MetricsAccess,
    /// `[audit] sink_file`: where sealed batches are appended.
    pub audit_file: SinkFile,
    /// `[audit] syslog`: a syslog socket to send them to.
    pub audit_syslog: Option<PathBuf>,
    /// `[log] format`, or `--log-format`.
    pub log_format: LogFormat,
    /// What the flags (or their variables) replaced of kms.toml, logged at start.
    pub replaced: Vec<String>,
}

/// Where the audit sink file is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SinkFile {
    /// `<data-dir>/audit.log` (the default).
    InDataDir,
    Off,
    At(PathBuf),
}

impl ServeOptions {
    /// The audit sink file this node appends to, if any.
    pub fn audit_sink_file(&self) -> Option<PathBuf> {
        match &self.audit_file {
            SinkFile::InDataDir => Some(kms_control::audit_export::default_file(&self.data_dir)),
            SinkFile::Off => None,
            SinkFile::At(path) => Some(path.clone()),
        }
    }
}

/// `[internal]` in kms.toml.
#[derive(Clone, Debug)]
pub struct InternalOptions {
    pub tls: InternalTls,
    pub listen: Option<SocketAddr>,
    pub store: Option<String>,
    /// Store role: which certificate is which node.
    pub nodes: InternalNodes,
}

impl ServeOptions {
    pub fn new(data_dir: PathBuf) -> Self {
        Self {
            dev: false,
            data_dir,
            postgres_url: None,
            listen: SocketAddr::from(([127, 0, 0, 1], 8200)),
            dev_root_token: None,
            http_workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
            pool: PoolConfig::default(),
            limits: Limits::default(),
            access: AccessPolicy::default(),
            hsm: HsmChoice::Software,
            hsm_timeout: Duration::from_secs(10),
            quorum: Quorum::default(),
            custodians: Vec::new(),
            rewrap: RewrapPace::default(),
            clock: Arc::new(SystemClock),
            scheduler_interval: Duration::from_secs(10),
            webhooks: Vec::new(),
            demo_key: None,
            transit_mount: kms_gateway::api::transit::DEFAULT_MOUNT.to_owned(),
            tls: None,
            roles: Roles::ALL,
            internal: None,
            zone: None,
            trusted_proxies: TrustedProxies::default(),
            metrics_from: MetricsAccess::default(),
            audit_file: SinkFile::InDataDir,
            audit_syslog: None,
            log_format: LogFormat::Text,
            replaced: Vec::new(),
        }
    }

    /// Options from `kms.toml`; command-line flags are applied on top by the CLI.
    pub fn from_config(file: &ConfigFile) -> Result<Self, ServeError> {
        let mut opts = Self::new(file.data_dir.clone().unwrap_or_else(|| "kms-data".into()));
        if let Some(listen) = file.listen {
            opts.listen = listen;
        }
        opts.postgres_url.clone_from(&file.store.postgres);
        if let Some(n) = file.http_workers {
            opts.http_workers = n;
        }
        if let Some(n) = file.crypto_workers {
            opts.pool.workers = n;
        }
        if let Some(n) = file.slow_workers {
            opts.pool.slow_workers = n;
        }
        if let Some(n) = file.max_body_bytes {
            opts.limits.body_bytes = n;
        }
        opts.hsm = file.hsm_choice()?;
        opts.quorum = file.quorum()?;
        opts.custodians = file.custodians()?;
        opts.rewrap = file.rewrap();
        opts.webhooks = file.webhooks()?;
        opts.access = file.access()?;
        if let Some(mount) = &file.transit_mount {
            opts.transit_mount.clone_from(mount);
        }
        opts.tls = file.tls();
        if let Some(names) = &file.roles {
            opts.roles = Roles::parse(names).map_err(ServeError::Start)?;
        }
        opts.internal = match &file.internal {
            None => None,
            Some(i) => Some(InternalOptions {
                tls: InternalTls {
                    cert: i.cert.clone(),
                    key: i.key.clone(),
                    ca: i.ca.clone(),
                },
                listen: i.listen,
                store: i.store.clone(),
                nodes: trust::internal_nodes(i)?,
            }),
        };
        opts.trusted_proxies = trust::trusted_proxies(file)?;
        opts.metrics_from = trust::metrics_from(file)?;
        opts.zone = file.zone.as_ref().map(|z| z.name.clone());
        opts.audit_file = match &file.audit.sink_file {
            None => SinkFile::InDataDir,
            Some(p) if p.as_os_str() == "off" => SinkFile::Off,
            Some(p) => SinkFile::At(p.clone()),
        };
        opts.audit_syslog.clone_from(&file.audit.syslog);
        opts.log_format = file.log.format.unwrap_or_default();
        if let Some(interval) = file.scheduler_interval()? {
            opts.scheduler_interval = interval;
        }
        Ok(opts)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("data directory {path}: {source}")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the data directory is in use by another kms process: {0} is locked; stop that process \
         first (one process per data directory)"
    )]
    DataDirLocked(PathBuf),
    #[error("cannot start a thread or runtime: {0}")]
    Runtime(std::io::Error),
    #[error("key store: {0}")]
    Store(#[from] StoreError),
    #[error("HSM: {0}")]
    Hsm(#[from] HsmError),
    #[error(
        "{0} was initialised outside dev mode; start it without --dev and unseal it with `kms unseal`"
    )]
    NotADevDataDir(PathBuf),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("HTTP server: {0}")]
    Http(std::io::Error),
    #[error("configuration: {0}")]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Tls(#[from] TlsError),
    #[error("{0}")]
    Start(String),
}

impl ServeOptions {
    /// Refuses a combination of roles and settings that cannot work, naming what is missing.
    pub fn check_roles(&self) -> Result<(), ServeError> {
        let missing = |what: &str| Err(ServeError::Start(format!("roles {}: {what}", self.roles)));
        let internal = self.internal.as_ref();
        if self.roles.store {
            if internal.is_some_and(|i| i.listen.is_none()) {
                return missing("[internal] needs `listen`, the internal API's address");
            }
            if !self.roles.service && !self.roles.manage && internal.is_none() {
                return missing("a store alone serves only its internal API: configure [internal]");
            }
            return Ok(());
        }
        if self.dev {
            return missing("dev mode runs every role in one process");
        }
        if internal.and_then(|i| i.store.as_ref()).is_none() {
            return missing(
                "[internal] needs `store`, the store's internal API (https://host:port)",
            );
        }
        if self.roles.service && self.zone.is_none() {
            return missing("a service node needs [zone] `name`");
        }
        Ok(())
    }
}

/// kms.toml if given, then the flags on top.
pub fn from_args(args: &ServeArgs) -> Result<ServeOptions, ServeError> {
    let file = match &args.config {
        Some(path) => ConfigFile::load(path)?,
        None => ConfigFile::default(),
    };
    let mut opts = ServeOptions::from_config(&file)?;
    opts.replaced = crate::overrides::replaced(args, &file);
    opts.dev = args.dev;
    if let Some(d) = &args.data_dir {
        opts.data_dir.clone_from(d);
    }
    if let Some(url) = &args.postgres_url {
        opts.postgres_url = Some(url.clone());
    }
    if let Some(l) = args.listen {
        opts.listen = l;
    }
    opts.dev_root_token.clone_from(&args.dev_root_token);
    opts.demo_key.clone_from(&args.demo_key);
    if let Some(n) = args.http_workers {
        opts.http_workers = n;
    }
    if let Some(n) = args.crypto_workers {
        opts.pool.workers = n;
    }
    if let Some(n) = args.slow_workers {
        opts.pool.slow_workers = n;
    }
    if let Some(n) = args.max_body_bytes {
        opts.limits.body_bytes = n;
    }
    if let Some(mount) = &args.transit_mount {
        opts.transit_mount.clone_from(mount);
    }
    if let Some(format) = &args.log_format {
        opts.log_format = format.parse().map_err(ServeError::Start)?;
    }
    if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        opts.tls = Some(TlsFiles {
            cert: cert.clone(),
            key: key.clone(),
            client_ca: args.tls_client_ca.clone(),
        });
    }
    Ok(opts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_store_section_chooses_postgres_and_refuses_typos() {
        let url = "postgres://kms@db.internal:5432/kms";
        let cfg: ConfigFile = toml::from_str(&format!("[store]\npostgres = \"{url}\"")).unwrap();
        let opts = ServeOptions::from_config(&cfg).unwrap();
        assert_eq!(opts.postgres_url.as_deref(), Some(url));
        // No [store]: SQLite in the data directory.
        let sqlite = ServeOptions::from_config(&ConfigFile::default()).unwrap();
        assert_eq!(sqlite.postgres_url, None);
        assert!(toml::from_str::<ConfigFile>("[store]\npostgresql = \"x\"").is_err());
    }

    #[test]
    fn the_audit_section_places_or_disables_the_sink_file() {
        let opts = ServeOptions::from_config(&ConfigFile::default()).unwrap();
        assert_eq!(
            opts.audit_sink_file(),
            Some(PathBuf::from("kms-data/audit.log"))
        );
        let cfg: ConfigFile =
            toml::from_str("[audit]\nsink_file = \"off\"\nsyslog = \"/dev/log\"").unwrap();
        let opts = ServeOptions::from_config(&cfg).unwrap();
        assert_eq!(opts.audit_sink_file(), None);
        assert_eq!(opts.audit_syslog, Some(PathBuf::from("/dev/log")));
        let cfg: ConfigFile = toml::from_str("[audit]\nsink_file = \"/x/a.log\"").unwrap();
        assert_eq!(
            ServeOptions::from_config(&cfg).unwrap().audit_sink_file(),
            Some(PathBuf::from("/x/a.log"))
        );
        assert!(toml::from_str::<ConfigFile>("[audit]\nsinkfile = \"x\"").is_err());
    }
}
