//! A manage node alone (roles = ["manage"]): the management zone's address for administrators
//! and the CLI. It holds no database credentials, no HSM and no keys: every `/v1/` call is
//! forwarded to the store's internal listener over mutual TLS (forward.rs). `/readyz` is ready
//! while the store answers.

use std::time::Duration;

use actix_web::{App, HttpResponse, HttpServer, web};
use serde_json::json;

use super::forward;
use crate::server::{ServeError, ServeOptions};
use kms_store::remote::client::InternalClient;
use kms_tls as tls;

async fn health() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

async fn ready(client: web::Data<InternalClient>) -> HttpResponse {
    let client = client.into_inner();
    let answer = web::block(move || {
        client.get::<serde_json::Value>("/internal/v1/revision", Duration::from_secs(3))
    })
    .await;
    match answer {
        Ok(Ok(_)) => HttpResponse::Ok().json(json!({ "status": "ready" })),
        _ => HttpResponse::ServiceUnavailable()
            .insert_header(("Retry-After", "5"))
            .json(json!({ "status": "store_unavailable" })),
    }
}

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
    let public_tls = opts.tls.as_ref().map(tls::server_config).transpose()?;
    let body_limit = opts.limits.body_bytes;
    actix_web::rt::System::new().block_on(async {
        let server = HttpServer::new(move || {
            App::new()
                .app_data(client.clone())
                .app_data(web::PayloadConfig::new(body_limit))
                .route("/healthz", web::get().to(health))
                .route("/readyz", web::get().to(ready))
                .default_service(web::to(forward::forward))
        })
        .workers(opts.http_workers.max(1))
        .shutdown_timeout(10);
        let server = match public_tls {
            None => server.bind(opts.listen),
            Some(config) => server.bind_rustls_0_23(opts.listen, config),
        }
        .map_err(|source| ServeError::Bind {
            addr: opts.listen,
            source,
        })?;
        let addr = server.addrs().first().copied().unwrap_or(opts.listen);
        let scheme = if opts.tls.is_some() { "https" } else { "http" };
        println!("kms: roles manage; the control plane is forwarded to {store}");
        println!("kms: listening on {scheme}://{addr}");
        server.run().await.map_err(ServeError::Http)
    })
}
