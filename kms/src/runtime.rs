//! What every node starts the same way: the checks before anything runs, the control runtime,
//! and the crypto workers with their usage writer and cache purge.

use std::sync::Arc;

use kms_engine::clock::Clock;
use kms_engine::pool::WorkerPool;
use kms_engine::store::KeyStore;
use kms_engine::sync::{KeyListener, KeyUpdate};
use kms_hsm::HsmHandle;
use kms_tls as tls;

use crate::data_dir::{self, DataDirLock};
use crate::options::{ServeError, ServeOptions};

/// What every node checks and makes before it starts anything: the metrics recorder (installed
/// before anything records: the HSM actor and the workers record from the start), the Transit
/// mount, the listener's TLS configuration (a bad file stops the start), the data directory and
/// its lock (held until the node is dropped: a second process on the same directory stops here,
/// before it opens the store or the HSM).
pub(crate) fn prepare(opts: &ServeOptions) -> Result<Prepared, ServeError> {
    let _ = kms_gateway::metrics::handle();
    let transit_mount =
        kms_gateway::api::transit::mount_path(&opts.transit_mount).map_err(ServeError::Start)?;
    let tls = opts.tls.as_ref().map(tls::server_config).transpose()?;
    let lock = data_dir::lock(&opts.data_dir)?;
    Ok(Prepared {
        transit_mount,
        tls,
        lock,
    })
}

/// What [`prepare`] made.
pub(crate) struct Prepared {
    pub transit_mount: String,
    pub tls: Option<rustls::ServerConfig>,
    pub lock: DataDirLock,
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
        kms_control::usage::start(counts, Arc::clone(store), control.handle().clone())
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
