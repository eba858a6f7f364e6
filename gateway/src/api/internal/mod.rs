//! The store's internal API, served only on the internal listener (mutual TLS: every client
//! presents a certificate from the internal CA). Service nodes follow the change feed, load keys
//! wrapped to their zone's key, and send back usage counts and audit events; manage nodes reach
//! the admin API through the same listener (docs/deployment.md). What each certificate may reach
//! is pinned in the store's configuration and enforced by `guard` before any route.

pub mod contact;
pub mod feed;
pub mod guard;
pub mod keys;
pub mod nodes;
pub mod records;

use actix_web::web;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/internal/v1/revision").route(web::get().to(feed::revision)))
        .service(web::resource("/internal/v1/changes").route(web::get().to(feed::changes)))
        .service(web::resource("/internal/v1/changes/wait").route(web::get().to(feed::wait)))
        .service(web::resource("/internal/v1/zones/{zone}/keys").route(web::get().to(keys::list)))
        .service(
            web::resource("/internal/v1/zones/{zone}/keys/{id}").route(web::get().to(keys::one)),
        )
        .service(
            web::resource("/internal/v1/credentials").route(web::get().to(records::credentials)),
        )
        .service(
            web::resource("/internal/v1/certificates").route(web::get().to(records::certificates)),
        )
        .service(web::resource("/internal/v1/usage").route(web::post().to(records::usage)))
        .service(web::resource("/internal/v1/audit").route(web::post().to(records::audit)));
}
