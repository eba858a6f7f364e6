//! A manage node alone (roles = ["manage"]): the management zone's address for administrators
//! and the CLI. It holds no database credentials, no HSM and no keys: every `/v1/` call is
//! forwarded to the store's internal listener over mutual TLS (kms_gateway::forward). `/readyz`
//! is ready while the store answers.

use actix_web::web;
use kms_gateway::listener;
use kms_store::remote::client::InternalClient;

use crate::options::{ServeError, ServeOptions};

/// Runs a manage node until SIGINT or SIGTERM.
pub fn serve(opts: &ServeOptions) -> Result<(), ServeError> {
    let internal = opts
        .internal
        .as_ref()
        .ok_or_else(|| ServeError::Start("a manage node needs [internal]".into()))?;
    let store = internal
        .store
        .as_deref()
        .ok_or_else(|| ServeError::Start("a manage node needs [internal] store".into()))?;
    let client = web::Data::new(InternalClient::new(store, &internal.tls)?);
    let public_tls = opts.tls.as_ref().map(kms_tls::server_config).transpose()?;
    actix_web::rt::System::new().block_on(async {
        let (server, addr) = listener::manage(
            client,
            opts.limits.body_bytes,
            public_tls,
            opts.listen,
            opts.http_workers,
        )
        .map_err(|source| ServeError::Bind {
            addr: opts.listen,
            source,
        })?;
        let scheme = if opts.tls.is_some() { "https" } else { "http" };
        println!("kms: roles manage; the control plane is forwarded to {store}");
        println!("kms: listening on {scheme}://{addr}");
        server.await.map_err(ServeError::Http)
    })
}
