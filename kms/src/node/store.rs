//! A node with the store role: the store (SQLite, or PostgreSQL), the HSM actor over the master
//! key, the key sync, the crypto workers, the management center with its scheduler and the
//! master-key rotation job.

use std::collections::BTreeMap;
use std::sync::Arc;

use actix_web::web;
use kms_control::audit_export::AuditExport;
use kms_control::audit_sink::AuditSink;
use kms_control::ceremony::registry::Ceremonies;
use kms_control::context::Control;
use kms_control::custodians::Custodians;
use kms_control::people::guard::LoginGuard;
use kms_control::rewrap::Rewrapper;
use kms_control::scheduler;
use kms_control::webhooks::Webhook;
use kms_engine::clock::Clock;
use kms_engine::directory::DirectoryHandle;
use kms_engine::secret::SecretString;
use kms_engine::store::KeyStore;
use kms_engine::sync::{KeySync, SyncConfig};
use kms_engine::token;
use kms_gateway::api::demo::app::Demo;
use kms_gateway::state::{AppState, Parts};
use kms_store::{PostgresStore, SqliteStore};

use crate::dev::dev_initialise;
use crate::kms::Kms;
use crate::options::{ServeError, ServeOptions};
use crate::runtime::{Prepared, control_runtime, prepare, start_pool};

/// Opens the store and the HSM, loads the key directory and starts the actors.
pub fn start(opts: &ServeOptions) -> Result<Kms, ServeError> {
    let Prepared {
        transit_mount,
        tls,
        lock,
    } = prepare(opts)?;
    let control = control_runtime()?;
    let clock: Arc<dyn Clock> = Arc::clone(&opts.clock);
    let store: Arc<dyn KeyStore> = match &opts.postgres_url {
        Some(url) => Arc::new(control.block_on(PostgresStore::open(url, Arc::clone(&clock)))?),
        None => Arc::new(control.block_on(SqliteStore::open_with_clock(
            &opts.data_dir.join("kms.db"),
            Arc::clone(&clock),
        ))?),
    };
    let backend = opts.hsm.open(&opts.data_dir)?;
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
    let center = Arc::new(Control {
        store,
        hsm,
        directory,
        sync,
        audit,
        audit_export: AuditExport::new(opts.audit_sink_file(), opts.audit_syslog.clone()),
        ceremonies,
        rewrapper,
        webhooks: opts.webhooks.iter().map(Webhook::copy).collect(),
        clock,
        access: opts.access.clone(),
        logins: LoginGuard::default(),
    });
    scheduler::spawn(
        Arc::clone(&center),
        opts.scheduler_interval,
        control.handle(),
    );
    let state = web::Data::new(AppState::new(
        center,
        Parts {
            pool,
            io: control.handle().clone(),
            limits: opts.limits.clone(),
            demo,
            transit_mount,
            trusted_proxies: opts.trusted_proxies.clone(),
            metrics_from: opts.metrics_from.clone(),
        },
    ));
    Ok(Kms {
        state,
        control,
        root_token,
        tls,
        roles: opts.roles,
        forward: None,
        _lock: Some(lock),
    })
}
