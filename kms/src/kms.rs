//! A running node without its listeners: the handlers' state, the control runtime, and what the
//! listeners need to start (TLS, what to mount).

use std::net::SocketAddr;
use std::time::Duration;

use actix_web::web;
use kms_engine::master_key::MasterKeyState;
use kms_engine::secret::SecretString;
use kms_gateway::api::internal::nodes::InternalNodes;
use kms_gateway::listener::{self, Mounts};
use kms_gateway::state::AppState;
use kms_store::remote::client::InternalClient;
use kms_tls::InternalTls;

use crate::data_dir::DataDirLock;
use crate::options::ServeError;
use crate::roles::Roles;

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
    /// The data directory's lock, released when the node is dropped (a manage node has none).
    pub(crate) _lock: Option<DataDirLock>,
}

fn bind_error(addr: SocketAddr) -> impl FnOnce(std::io::Error) -> ServeError {
    move |source| ServeError::Bind { addr, source }
}

impl Kms {
    /// Binds the public listener. Call inside an actix system; await the returned server.
    pub fn http_server(
        &self,
        listen: SocketAddr,
        workers: usize,
    ) -> Result<(actix_web::dev::Server, SocketAddr), ServeError> {
        // The control plane is served where the store is, and forwarded there by a service node
        // that also has the manage role.
        let mounts = Mounts {
            data_plane: self.roles.service,
            control_plane: self.roles.store && self.roles.manage,
            forward: self.forward.clone().filter(|_| self.roles.manage),
        };
        listener::public(
            self.state.clone(),
            mounts,
            self.tls.clone(),
            listen,
            workers,
        )
        .map_err(bind_error(listen))
    }

    /// The store's internal listener (mutual TLS): the internal API for service nodes, and the
    /// control plane for manage nodes.
    pub fn internal_server(
        &self,
        listen: SocketAddr,
        tls: &InternalTls,
        nodes: InternalNodes,
    ) -> Result<(actix_web::dev::Server, SocketAddr), ServeError> {
        if nodes.is_empty() {
            tracing::warn!(
                "[internal] pins no node certificates (manage_nodes, zone_nodes): the internal \
                 listener refuses every client"
            );
        }
        let config = kms_tls::internal_server_config(tls)?;
        listener::internal(self.state.clone(), nodes, config, listen).map_err(bind_error(listen))
    }

    /// Tells the operator what the store still needs: a master key, or unsealing.
    pub async fn announce_state(&self) -> Result<(), ServeError> {
        let initialised = self
            .state
            .control
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
        } else if self.state.control.hsm.seal_status().await?.sealed {
            println!("kms: sealed; custodians run `kms unseal`");
        }
        Ok(())
    }

    /// Stops the background work after the HTTP server has drained.
    pub fn shutdown(self) {
        let Kms { state, control, .. } = self;
        drop(state);
        control.shutdown_timeout(Duration::from_secs(5));
    }
}
