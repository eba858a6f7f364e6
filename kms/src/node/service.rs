//! Starting a service node without the store: the data plane of one zone. Its "HSM" is the zone
//! backend (the zone private key, sealed on its disk under the node KEK), which opens the
//! transport blobs the store sends; its store handle is the internal API. When the store cannot be
//! reached at start, it serves from its disk cache and reports `degraded` until the store answers.

use std::sync::Arc;

use actix_web::web;
use kms_control::audit_export::AuditExport;
use kms_control::audit_sink::AuditSink;
use kms_control::ceremony::registry::Ceremonies;
use kms_control::context::Control;
use kms_control::custodians::Custodians;
use kms_control::people::guard::LoginGuard;
use kms_control::rewrap::Rewrapper;
use kms_engine::clock::Clock;
use kms_engine::directory::DirectoryHandle;
use kms_engine::store::KeyStore;
use kms_engine::sync::{KeySync, SyncConfig};
use kms_engine::zone::ZoneName;
use kms_engine::zone_key;
use kms_gateway::state::{AppState, Parts};
use kms_hsm::ZoneBackend;
use kms_store::remote::cache::{self, DiskCache};
use kms_store::remote::client::InternalClient;
use kms_store::remote::report::NodeReport;
use kms_store::remote::store::{Mirror, RemoteStore};

use crate::kms::Kms;
use crate::options::{ServeError, ServeOptions};
use crate::runtime::{Prepared, control_runtime, prepare, start_pool};

fn start_error(e: impl std::fmt::Display) -> ServeError {
    ServeError::Start(e.to_string())
}

/// Starts a service node (roles without `store`): see the module's documentation.
pub fn start(opts: &ServeOptions) -> Result<Kms, ServeError> {
    let Prepared {
        transit_mount,
        tls: public_tls,
        lock,
    } = prepare(opts)?;
    let internal = opts
        .internal
        .as_ref()
        .ok_or_else(|| start_error("a service node needs [internal]"))?;
    let store_url = internal
        .store
        .as_deref()
        .ok_or_else(|| start_error("a service node needs [internal] store"))?;
    let zone = ZoneName::new(opts.zone.as_deref().unwrap_or_default()).map_err(start_error)?;
    let client = InternalClient::new(store_url, &internal.tls)?;
    let control = control_runtime()?;
    let clock: Arc<dyn Clock> = Arc::clone(&opts.clock);

    let kek = Arc::new(zone_key::kek(&opts.data_dir).map_err(start_error)?);
    let key = zone_key::load(&kek, &opts.data_dir, &zone).map_err(start_error)?;
    let (hsm, _thread) = kms_hsm::spawn(
        Box::new(ZoneBackend::new(zone.clone(), key)),
        1024,
        opts.hsm_timeout,
    )
    .map_err(ServeError::Runtime)?;
    let disk = DiskCache::new(Arc::clone(&kek), &opts.data_dir, zone.clone());
    let cached = disk.load().map_err(start_error)?;
    let remote = Arc::new(RemoteStore::new(
        client.clone(),
        zone.clone(),
        cached
            .as_ref()
            .map(|(_, m)| m.clone())
            .unwrap_or_else(Mirror::default),
    ));
    let store: Arc<dyn KeyStore> = remote.clone();

    let (pool, purge) = start_pool(opts, &hsm, &clock, &store, &control)?;
    let directory = Arc::new(DirectoryHandle::default());
    let started = control.block_on(KeySync::start(
        Arc::clone(&store),
        Arc::clone(&directory),
        SyncConfig::default(),
        Some(Arc::clone(&purge)),
    ));
    let sync = match (started, cached) {
        (Ok(sync), _) => sync,
        (Err(e), Some((revision, mirror))) => {
            tracing::warn!(error = %e, revision, zone = %zone,
                "cannot load keys from the store: serving the disk cache, degraded");
            let loaded = cache::directory(revision, &mirror)?;
            let _guard = control.enter();
            KeySync::resume(
                Arc::clone(&store),
                Arc::clone(&directory),
                loaded,
                SyncConfig::default(),
                Some(purge),
            )
        }
        (Err(e), None) => {
            return Err(start_error(format!(
                "cannot load zone {zone}'s keys from the store, and this node has no disk \
                 cache yet: {e}"
            )));
        }
    };
    {
        let _guard = control.enter();
        disk.follow(sync.watch_applied(), Arc::clone(&remote));
    }
    let audit = AuditSink::start(Arc::clone(&store), control.handle());
    // The management center's handles without a scheduler or rotation job: a service node
    // serves the data plane and audits its refusals; it administers nothing.
    let center = Arc::new(Control {
        store,
        hsm,
        directory,
        sync,
        audit,
        audit_export: AuditExport::none(),
        ceremonies: Ceremonies::new(opts.quorum.clone(), Custodians::new(Vec::new())),
        rewrapper: Rewrapper::idle(),
        webhooks: Vec::new(),
        clock,
        access: opts.access.clone(),
        logins: LoginGuard::default(),
    });
    // Each feed pull tells the store this node's readiness and applied revision (what its
    // `/readyz` says: the zone backend is never sealed, so `ready` or `degraded`). A weak handle:
    // the store handle is the management center's own.
    let weak = Arc::downgrade(&center);
    remote.report_with(Arc::new(move || {
        let center = weak.upgrade()?;
        let status = if center.sync.is_healthy() {
            "ready"
        } else {
            "degraded"
        };
        Some(NodeReport {
            status,
            applied: center.sync.applied(),
        })
    }));
    let state = web::Data::new(AppState::new(
        center,
        Parts {
            pool,
            io: control.handle().clone(),
            limits: opts.limits.clone(),
            demo: None,
            transit_mount,
            trusted_proxies: opts.trusted_proxies.clone(),
            metrics_from: opts.metrics_from.clone(),
        },
    ));
    Ok(Kms {
        state,
        control,
        root_token: None,
        tls: public_tls,
        roles: opts.roles,
        forward: opts.roles.manage.then(|| web::Data::new(client)),
        _lock: Some(lock),
    })
}
