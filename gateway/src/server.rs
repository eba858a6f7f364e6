//! Assembling the KMS: control runtime, store, HSM actor, key sync, crypto workers, HTTP server.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use actix_web::{App, HttpServer, web};
use kms_engine::audit::{AuditEvent, Outcome};
use kms_engine::challenges::Challenges;
use kms_engine::clock::{Clock, SystemClock};
use kms_engine::directory::DirectoryHandle;
use kms_engine::master_key::{MasterKeyRecord, MasterKeyState};
use kms_engine::pool::{PoolConfig, WorkerPool};
use kms_engine::secret::SecretString;
use kms_engine::store::{KeyStore, StoreError};
use kms_engine::sync::{KeyListener, KeySync, KeyUpdate, SyncConfig};
use kms_engine::token::{self, TokenHash};
use kms_hsm::{HsmBackend, HsmError, HsmHandle, MasterKeySource, Pkcs11Hsm, Sealing, SoftwareHsm};
use kms_store::{PostgresStore, SqliteStore};

use crate::api::demo::Demo;
use crate::audit_sink::AuditSink;
use crate::ceremony::Ceremonies;
use crate::config::{ConfigError, ConfigFile, HsmChoice, RewrapPace};
use crate::custodians::{Custodian, Custodians, Quorum};
use crate::error::json_error;
use crate::rewrap::Rewrapper;
use crate::roles::Roles;
use crate::routes;
use crate::state::{AccessPolicy, AppState, Limits};
use crate::webhooks::Webhook;
use crate::{scheduler, usage};
use kms_store::remote::client::InternalClient;
use kms_tls::InternalTls;
use kms_tls::{self as tls, TlsError, TlsFiles};

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
}

/// `[internal]` in kms.toml.
#[derive(Clone, Debug)]
pub struct InternalOptions {
    pub tls: InternalTls,
    pub listen: Option<SocketAddr>,
    pub store: Option<String>,
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
            transit_mount: crate::api::transit::DEFAULT_MOUNT.to_owned(),
            tls: None,
            roles: Roles::ALL,
            internal: None,
            zone: None,
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
        opts.internal = file.internal.as_ref().map(|i| InternalOptions {
            tls: InternalTls {
                cert: i.cert.clone(),
                key: i.key.clone(),
                ca: i.ca.clone(),
            },
            listen: i.listen,
            store: i.store.clone(),
        });
        opts.zone = file.zone.as_ref().map(|z| z.name.clone());
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

/// The running KMS without its HTTP listener.
pub struct Kms {
    pub state: web::Data<AppState>,
    pub(crate) control: tokio::runtime::Runtime,
    /// Dev mode: the root token to show the operator.
    pub root_token: Option<SecretString>,
    /// The listener's TLS configuration, read at start so that a bad file stops the start.
    pub(crate) tls: Option<rustls::ServerConfig>,
    pub(crate) roles: Roles,
    /// A service node that also has the manage role forwards the control plane to the store.
    pub(crate) forward: Option<web::Data<InternalClient>>,
}

pub(crate) const DEV_SHARE_FILE: &str = "dev-unseal-share";
const DEV_ROOT_LABEL: &str = "dev";

fn data_dir_error(path: &Path) -> impl FnOnce(std::io::Error) -> ServeError + '_ {
    move |source| ServeError::DataDir {
        path: path.to_owned(),
        source,
    }
}

fn create_private_dir(path: &Path) -> Result<(), ServeError> {
    std::fs::create_dir_all(path).map_err(data_dir_error(path))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))
            .map_err(data_dir_error(path))?;
    }
    Ok(())
}

fn write_private_file(path: &Path, contents: &str) -> Result<(), ServeError> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(path).map_err(data_dir_error(path))?;
    f.write_all(contents.as_bytes())
        .and_then(|()| f.sync_all())
        .map_err(data_dir_error(path))
}

/// Dev mode: the software HSM's single unseal share is kept in the data directory; unseal with it.
async fn dev_unseal(hsm: &HsmHandle, data_dir: &Path) -> Result<(), ServeError> {
    let status = hsm.seal_status().await?;
    if !status.initialized || !status.sealed {
        return Ok(());
    }
    let share_path = data_dir.join(DEV_SHARE_FILE);
    let share = match std::fs::read_to_string(&share_path) {
        Ok(s) => SecretString::new(s),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(ServeError::NotADevDataDir(data_dir.to_owned()));
        }
        Err(e) => return Err(data_dir_error(&share_path)(e)),
    };
    hsm.submit_share(share).await?;
    Ok(())
}

/// Dev mode: makes the master key without a ceremony (there are no custodians in dev mode) and
/// sets the dev root token. Refuses a data directory initialised outside dev mode.
async fn dev_initialise(
    store: &dyn KeyStore,
    hsm: &HsmHandle,
    clock: &dyn Clock,
    data_dir: &Path,
    root: &SecretString,
) -> Result<(), ServeError> {
    dev_unseal(hsm, data_dir).await?;
    let event = |action: &str| AuditEvent {
        at: clock.now(),
        actor: "system".into(),
        action: action.into(),
        target: Some(format!("root:{DEV_ROOT_LABEL}")),
        outcome: Outcome::Success,
        code: None,
        remote: None,
        detail: Some("dev mode start".into()),
    };
    let initialised = store
        .master_keys()
        .await?
        .iter()
        .any(|k| k.state == MasterKeyState::Active);
    if initialised {
        store
            .put_root_token(
                DEV_ROOT_LABEL,
                &TokenHash::of(root.expose()),
                &event("set_root_token"),
            )
            .await?;
        return Ok(());
    }
    let software = hsm.seal_status().await?.backend == "software";
    if software && hsm.seal_status().await?.initialized {
        return Err(ServeError::NotADevDataDir(data_dir.to_owned()));
    }
    let sealing = software.then_some(Sealing {
        shares: 1,
        threshold: 1,
    });
    let created = hsm
        .create_master_key(MasterKeySource::Generate, sealing)
        .await?;
    if let Some(share) = created.shares.first() {
        write_private_file(&data_dir.join(DEV_SHARE_FILE), share.expose())?;
    }
    let now = clock.now();
    let record = MasterKeyRecord {
        id: created.id.clone(),
        kcv: created.kcv.clone(),
        origin: created.origin,
        state: MasterKeyState::Active,
        created_at: now,
        updated_at: now,
    };
    let mut audit = event("master_key_create");
    audit.detail = Some(format!(
        "dev mode: master_key={} kcv={}",
        created.id, created.kcv
    ));
    store
        .initialize_master_key(
            &record,
            DEV_ROOT_LABEL,
            &TokenHash::of(root.expose()),
            &audit,
        )
        .await?;
    Ok(())
}

impl Kms {
    /// Opens the store and the HSM, loads the key directory and starts the actors.
    pub fn start(opts: &ServeOptions) -> Result<Self, ServeError> {
        let (transit_mount, tls) = prepare(opts)?;
        let control = control_runtime()?;
        let clock: Arc<dyn Clock> = Arc::clone(&opts.clock);
        let store: Arc<dyn KeyStore> = match &opts.postgres_url {
            Some(url) => Arc::new(control.block_on(PostgresStore::open(url, Arc::clone(&clock)))?),
            None => Arc::new(control.block_on(SqliteStore::open_with_clock(
                &opts.data_dir.join("kms.db"),
                Arc::clone(&clock),
            ))?),
        };
        let backend: Box<dyn HsmBackend> = match &opts.hsm {
            HsmChoice::Software => Box::new(SoftwareHsm::open(
                &opts.data_dir.join("hsm").join("sealed.json"),
            )?),
            HsmChoice::Pkcs11(config) => Box::new(Pkcs11Hsm::open(config)?),
        };
        let (hsm, _thread) =
            kms_hsm::spawn(backend, 1024, opts.hsm_timeout).map_err(ServeError::Runtime)?;

        let root_token = if opts.dev {
            let token = opts
                .dev_root_token
                .clone()
                .map_or_else(token::generate, SecretString::new);
            control.block_on(dev_initialise(
                store.as_ref(),
                &hsm,
                clock.as_ref(),
                &opts.data_dir,
                &token,
            ))?;
            Some(token)
        } else {
            if !opts
                .quorum
                .reachable(&Custodians::new(opts.custodians.clone()), &BTreeMap::new())
            {
                tracing::warn!(
                    quorum = %opts.quorum.describe(),
                    custodians = opts.custodians.len(),
                    "the configured custodians alone cannot meet the quorum: master-key ceremonies \
                     need users holding security_admin or operator"
                );
            }
            None
        };

        let (pool, purge) = start_pool(opts, &hsm, &clock, &store, &control)?;
        let directory = Arc::new(DirectoryHandle::default());
        let sync = control.block_on(KeySync::start(
            Arc::clone(&store),
            Arc::clone(&directory),
            SyncConfig::default(),
            Some(purge),
        ))?;
        let audit = AuditSink::start(Arc::clone(&store), control.handle());
        let rewrapper = Rewrapper::start(
            Arc::clone(&store),
            hsm.clone(),
            Arc::clone(&clock),
            opts.rewrap,
            control.handle(),
        );
        let ceremonies = Ceremonies::new(
            opts.quorum.clone(),
            Custodians::new(opts.custodians.clone()),
        );
        let demo = match (&opts.demo_key, &root_token) {
            (Some(key), Some(token)) => Some(
                control
                    .block_on(Demo::open(
                        &opts.data_dir,
                        key.clone(),
                        SecretString::new(token.expose().to_owned()),
                    ))
                    .map_err(|e| ServeError::Runtime(std::io::Error::other(e)))?,
            ),
            _ => None,
        };
        let state = web::Data::new(AppState {
            directory,
            pool,
            store,
            hsm,
            sync,
            audit,
            ceremonies,
            rewrapper,
            webhooks: opts.webhooks.iter().map(Webhook::copy).collect(),
            clock,
            io: control.handle().clone(),
            limits: opts.limits.clone(),
            access: opts.access.clone(),
            challenges: Arc::new(Challenges::default()),
            demo,
            transit_mount,
        });
        scheduler::spawn(state.clone(), opts.scheduler_interval);
        Ok(Self {
            state,
            control,
            root_token,
            tls,
            roles: opts.roles,
            forward: None,
        })
    }

    /// Binds the HTTP server. Call inside an actix system; await the returned server.
    pub fn http_server(
        &self,
        listen: SocketAddr,
        workers: usize,
    ) -> Result<(actix_web::dev::Server, SocketAddr), ServeError> {
        let state = self.state.clone();
        let body_limit = self.state.limits.body_bytes;
        let transit_mount = self.state.transit_mount.clone();
        let (roles, forward) = (self.roles, self.forward.clone());
        let server = HttpServer::new(move || {
            let app = App::new()
                .app_data(state.clone())
                .app_data(json_config(body_limit));
            // The data plane first: the router tries services in order.
            let app = if roles.service {
                app.configure(routes::data_plane)
                    .configure(routes::system)
                    .configure(|cfg| routes::transit(cfg, &transit_mount))
            } else {
                app.configure(routes::system)
            };
            // The control plane is served where the store is, and forwarded there by a service
            // node that also has the manage role.
            match &forward {
                _ if roles.store && roles.manage => app
                    .configure(routes::control_plane)
                    .default_service(web::to(routes::not_found)),
                Some(client) if roles.manage => app
                    .app_data(client.clone())
                    .default_service(web::to(crate::node::forward::forward)),
                _ => app.default_service(web::to(routes::not_found)),
            }
        })
        .workers(workers.max(1))
        .shutdown_timeout(10);
        // Plain HTTP installs no connect hook: nothing changes per connection or per request.
        let server = match &self.tls {
            None => server.bind(listen),
            Some(config) => server
                .on_connect(crate::peer::on_connect)
                .bind_rustls_0_23(listen, config.clone()),
        }
        .map_err(|source| ServeError::Bind {
            addr: listen,
            source,
        })?;
        let addr = server.addrs().first().copied().unwrap_or(listen);
        Ok((server.run(), addr))
    }

    /// The store's internal listener (mutual TLS): the internal API for service nodes, and the
    /// control plane for manage nodes.
    pub fn internal_server(
        &self,
        listen: SocketAddr,
        tls: &InternalTls,
    ) -> Result<(actix_web::dev::Server, SocketAddr), ServeError> {
        let config = tls::internal_server_config(tls)?;
        let state = self.state.clone();
        let body_limit = self.state.limits.body_bytes;
        let transit_mount = self.state.transit_mount.clone();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .app_data(crate::api::internal::InternalListener)
                .app_data(json_config(body_limit))
                .configure(crate::api::internal::configure)
                .configure(routes::system)
                .configure(routes::control_plane)
                .configure(|cfg| routes::transit(cfg, &transit_mount))
                .default_service(web::to(routes::not_found))
        })
        .workers(2)
        .shutdown_timeout(10)
        .bind_rustls_0_23(listen, config)
        .map_err(|source| ServeError::Bind {
            addr: listen,
            source,
        })?;
        let addr = server.addrs().first().copied().unwrap_or(listen);
        Ok((server.run(), addr))
    }

    /// Stops the background work after the HTTP server has drained.
    pub fn shutdown(self) {
        let Kms { state, control, .. } = self;
        drop(state);
        control.shutdown_timeout(Duration::from_secs(5));
    }
}

/// What every node checks and makes before it starts anything: the metrics recorder (installed
/// before anything records: the HSM actor and the workers record from the start), the Transit
/// mount, the listener's TLS configuration (a bad file stops the start), the data directory.
pub(crate) fn prepare(
    opts: &ServeOptions,
) -> Result<(String, Option<rustls::ServerConfig>), ServeError> {
    let _ = crate::metrics::handle();
    let transit_mount =
        crate::api::transit::mount_path(&opts.transit_mount).map_err(ServeError::Start)?;
    let tls = opts.tls.as_ref().map(tls::server_config).transpose()?;
    create_private_dir(&opts.data_dir)?;
    Ok((transit_mount, tls))
}

/// The control runtime: store, HSM and sync calls run here, never on an HTTP worker.
pub(crate) fn control_runtime() -> Result<tokio::runtime::Runtime, ServeError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("kms-control")
        .enable_all()
        .build()
        .map_err(ServeError::Runtime)
}

/// The crypto workers (unwrapping through `hsm`), their usage writer, and the key-sync listener
/// that purges from every worker's cache a version that may no longer be used, or a deleted
/// key's, as soon as the change arrives.
pub(crate) fn start_pool(
    opts: &ServeOptions,
    hsm: &HsmHandle,
    clock: &Arc<dyn Clock>,
    store: &Arc<dyn KeyStore>,
    control: &tokio::runtime::Runtime,
) -> Result<(Arc<WorkerPool>, KeyListener), ServeError> {
    let pool = Arc::new(
        WorkerPool::start(&opts.pool, Arc::new(hsm.clone()), Arc::clone(clock))
            .map_err(ServeError::Runtime)?,
    );
    if let Some(counts) = pool.take_usage() {
        usage::start(counts, Arc::clone(store), control.handle().clone())
            .map_err(ServeError::Runtime)?;
    }
    let purge: KeyListener = {
        let pool = Arc::clone(&pool);
        Arc::new(move |update| match update {
            KeyUpdate::Loaded(key) => pool.purge_unusable(key),
            KeyUpdate::Removed(key) => pool.purge_all(key),
        })
    };
    Ok((pool, purge))
}

/// The API only speaks JSON, so the body is parsed as JSON whatever the Content-Type says (a plain
/// `curl -d` sends form-urlencoded).
fn json_config(body_limit: usize) -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(body_limit)
        .content_type(|_| true)
        .content_type_required(false)
        .error_handler(json_error)
}

/// Refuses a combination of roles and settings that cannot work, naming what is missing.
fn check_roles(opts: &ServeOptions) -> Result<(), ServeError> {
    let missing = |what: &str| Err(ServeError::Start(format!("roles {}: {what}", opts.roles)));
    let internal = opts.internal.as_ref();
    if opts.roles.store {
        if internal.is_some_and(|i| i.listen.is_none()) {
            return missing("[internal] needs `listen`, the internal API's address");
        }
        if !opts.roles.service && !opts.roles.manage && internal.is_none() {
            return missing("a store alone serves only its internal API: configure [internal]");
        }
        return Ok(());
    }
    if opts.dev {
        return missing("dev mode runs every role in one process");
    }
    if internal.and_then(|i| i.store.as_ref()).is_none() {
        return missing("[internal] needs `store`, the store's internal API (https://host:port)");
    }
    if opts.roles.service && opts.zone.is_none() {
        return missing("a service node needs [zone] `name`");
    }
    Ok(())
}

/// `kms serve`: runs until SIGINT or SIGTERM.
pub fn serve(opts: &ServeOptions) -> Result<(), ServeError> {
    check_roles(opts)?;
    if !opts.roles.store && !opts.roles.service {
        return crate::node::manage::serve(opts);
    }
    let kms = if opts.roles.store {
        Kms::start(opts)?
    } else {
        Kms::start_service(opts)?
    };
    if opts.dev {
        match opts.hsm {
            HsmChoice::Software => eprintln!(
                "\n==> WARNING: dev mode. The unseal share is kept in {}: anyone who can read the \
                 data directory can unseal its keys. Never put real data in a dev server.\n",
                opts.data_dir.join(DEV_SHARE_FILE).display()
            ),
            HsmChoice::Pkcs11(_) => eprintln!(
                "\n==> WARNING: dev mode. The master key was made without a custodians' ceremony and \
                 the root token is fixed. Never put real data in a dev server.\n"
            ),
        }
        if let Some(token) = &kms.root_token {
            println!("Root token: {}", token.expose());
        }
    }
    let result = actix_web::rt::System::new().block_on(async {
        let internal = match (&opts.internal, opts.roles.store) {
            (
                Some(InternalOptions {
                    listen: Some(listen),
                    tls,
                    ..
                }),
                true,
            ) => {
                let (server, addr) = kms.internal_server(*listen, tls)?;
                println!("kms: internal API on https://{addr}");
                Some(server)
            }
            _ => None,
        };
        let public = if opts.roles.service || opts.roles.manage {
            let (server, addr) = kms.http_server(opts.listen, opts.http_workers)?;
            let scheme = if opts.tls.is_some() { "https" } else { "http" };
            println!("kms: roles {}", opts.roles);
            println!("kms: listening on {scheme}://{addr}");
            Some(server)
        } else {
            None
        };
        if opts.roles.store {
            announce_state(&kms).await?;
        }
        let (a, b) = tokio::join!(
            async {
                if let Some(s) = public {
                    s.await
                } else {
                    Ok(())
                }
            },
            async {
                if let Some(s) = internal {
                    s.await
                } else {
                    Ok(())
                }
            }
        );
        a.and(b).map_err(ServeError::Http)
    });
    kms.shutdown();
    result
}

/// Tells the operator what the store still needs: a master key, or unsealing.
async fn announce_state(kms: &Kms) -> Result<(), ServeError> {
    let initialised = kms
        .state
        .store
        .master_keys()
        .await?
        .iter()
        .any(|k| k.state == MasterKeyState::Active);
    if !initialised {
        println!(
            "kms: not initialised; custodians run the create ceremony (`kms init`, then \
             `kms hsm ceremony approve`)"
        );
    } else if kms.state.hsm.seal_status().await?.sealed {
        println!("kms: sealed; custodians run `kms unseal`");
    }
    Ok(())
}
