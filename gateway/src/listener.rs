//! The HTTP listeners: the public one (the data plane and/or the control plane, or forwarding of
//! the control plane to the store), the store's internal one (mutual TLS), and a manage node's.

use std::net::SocketAddr;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use kms_store::remote::client::InternalClient;

use crate::api::internal::{guard, nodes::InternalNodes};
use crate::auth::InternalListener;
use crate::error::json_error;
use crate::forward::{proxy, store_ready};
use crate::state::AppState;
use crate::{access_log, api, routes};

/// What the public listener serves.
#[derive(Clone)]
pub struct Mounts {
    /// The data plane (and Transit): a service node.
    pub data_plane: bool,
    /// The control plane, served here: the store with the manage role.
    pub control_plane: bool,
    /// The control plane, forwarded to the store: a service node with the manage role.
    pub forward: Option<web::Data<InternalClient>>,
}

/// Binds the public listener (TLS with `tls`). Call inside an actix system; await the server.
pub fn public(
    state: web::Data<AppState>,
    mounts: Mounts,
    tls: Option<rustls::ServerConfig>,
    listen: SocketAddr,
    workers: usize,
) -> std::io::Result<(Server, SocketAddr)> {
    let body_limit = state.limits.body_bytes;
    let transit_mount = state.transit_mount.clone();
    let server = HttpServer::new(move || {
        let app = App::new()
            .app_data(state.clone())
            .app_data(json_config(body_limit));
        // The data plane first: the router tries services in order.
        let app = if mounts.data_plane {
            app.configure(routes::data_plane)
                .configure(routes::system)
                .configure(|cfg| routes::transit(cfg, &transit_mount))
        } else {
            app.configure(routes::system)
        };
        match &mounts.forward {
            _ if mounts.control_plane => app
                .configure(routes::control_plane)
                .default_service(web::to(routes::not_found)),
            Some(client) => app
                .app_data(client.clone())
                .app_data(proxy::BodyLimit(body_limit))
                .default_service(web::to(proxy::forward)),
            None => app.default_service(web::to(routes::not_found)),
        }
        .wrap(from_fn(access_log::log))
    })
    .workers(workers.max(1))
    .shutdown_timeout(10);
    // Plain HTTP installs no connect hook: nothing changes per connection or per request.
    let server = match tls {
        None => server.bind(listen),
        Some(config) => server
            .on_connect(crate::peer::on_connect)
            .bind_rustls_0_23(listen, config),
    }?;
    let addr = server.addrs().first().copied().unwrap_or(listen);
    Ok((server.run(), addr))
}

/// The store's internal listener (mutual TLS, `config` requires client certificates): the
/// internal API for service nodes, and the control plane for manage nodes; `nodes` says which
/// certificate is which (`api::internal::guard` enforces it before any route). No data plane and
/// no Transit: those are a service node's, on its public listener.
pub fn internal(
    state: web::Data<AppState>,
    nodes: InternalNodes,
    config: rustls::ServerConfig,
    listen: SocketAddr,
) -> std::io::Result<(Server, SocketAddr)> {
    let body_limit = state.limits.body_bytes;
    // The admin API lists the pinned nodes (`GET /v1/admin/nodes`), on any listener.
    state.nodes.pin(nodes.clone());
    let nodes = web::Data::new(nodes);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .app_data(nodes.clone())
            .app_data(InternalListener)
            .app_data(json_config(body_limit))
            .configure(api::internal::configure)
            .configure(routes::system)
            .configure(routes::control_plane)
            .default_service(web::to(routes::not_found))
            .wrap(from_fn(guard::guard))
            .wrap(from_fn(access_log::log))
    })
    .workers(2)
    .shutdown_timeout(10)
    .on_connect(crate::peer::on_connect)
    .bind_rustls_0_23(listen, config)?;
    let addr = server.addrs().first().copied().unwrap_or(listen);
    Ok((server.run(), addr))
}

/// A manage node's only listener: `/healthz`, `/readyz` (the store answers), and everything
/// else forwarded to the store.
pub fn manage(
    client: web::Data<InternalClient>,
    body_limit: usize,
    tls: Option<rustls::ServerConfig>,
    listen: SocketAddr,
    workers: usize,
) -> std::io::Result<(Server, SocketAddr)> {
    let server = HttpServer::new(move || {
        App::new()
            .app_data(client.clone())
            .app_data(proxy::BodyLimit(body_limit))
            .route("/healthz", web::get().to(store_ready::health))
            .route("/readyz", web::get().to(store_ready::ready))
            .default_service(web::to(proxy::forward))
            .wrap(from_fn(access_log::log))
    })
    .workers(workers.max(1))
    .shutdown_timeout(10);
    let server = match tls {
        None => server.bind(listen),
        Some(config) => server.bind_rustls_0_23(listen, config),
    }?;
    let addr = server.addrs().first().copied().unwrap_or(listen);
    Ok((server.run(), addr))
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
