//! The management center's web console under `/ui`: server-rendered HTML, one file per page.
//!
//! The console holds no privilege of its own. Its session cookie carries the person's API session
//! token (opened by `POST /v1/auth/login`'s handler with password and TOTP); a middleware on the
//! `/ui` scope hands it to the API's handlers as `Authorization: Bearer`, and every page calls
//! those handlers in process (`call.rs`), so every access rule, refusal and audit record is the
//! API's own. What the console adds: HTML, the cookie, CSRF checks on every form (`csrf.rs`) and
//! the security headers of every answer (`headers.rs`).

pub mod app_tokens;
pub mod approvals;
pub mod apps;
pub mod assets;
pub mod audit;
pub mod call;
pub mod chart;
pub mod config_form;
pub mod cookie;
pub mod csrf;
pub mod enrol;
pub mod grants;
pub mod headers;
pub mod home;
pub mod hsm;
pub mod hsm_steps;
pub mod html;
pub mod key;
pub mod key_config;
pub mod keys;
pub mod login;
pub mod nodes;
pub mod outcome;
pub mod people;
pub mod policy;
pub mod qr;
pub mod readonly;
pub mod session;

use actix_web::dev::Service;
use actix_web::web;

/// The console's routes, under `/ui` (served with the control plane).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/ui")
            .wrap_fn(|mut req, srv| {
                cookie::bearer(&mut req);
                srv.call(req)
            })
            .wrap(headers::security())
            .service(web::resource("").route(web::get().to(home::handle)))
            .service(web::resource("/").route(web::get().to(home::handle)))
            .service(web::resource("/static/console.css").route(web::get().to(assets::css)))
            .service(web::resource("/static/console.js").route(web::get().to(assets::js)))
            .service(
                web::resource("/login")
                    .route(web::get().to(login::form))
                    .route(web::post().to(login::submit)),
            )
            .service(web::resource("/logout").route(web::post().to(login::logout)))
            .service(web::resource("/enrol").route(web::get().to(enrol::form)))
            .service(web::resource("/enrol/begin").route(web::post().to(enrol::begin)))
            .service(web::resource("/enrol/complete").route(web::post().to(enrol::complete)))
            .service(
                web::resource("/keys")
                    .route(web::get().to(keys::list))
                    .route(web::post().to(keys::create)),
            )
            .service(web::resource("/keys/{name}").route(web::get().to(key::show)))
            .service(web::resource("/keys/{name}/rotate").route(web::post().to(key::rotate)))
            .service(web::resource("/keys/{name}/rollback").route(web::post().to(key::rollback)))
            .service(web::resource("/keys/{name}/grants").route(web::post().to(grants::handle)))
            .service(web::resource("/keys/{name}/policy").route(web::post().to(policy::handle)))
            .service(web::resource("/keys/{name}/config").route(web::post().to(key_config::handle)))
            .service(
                web::resource("/keys/{name}/versions/{version}/{change}")
                    .route(web::post().to(key::change_version)),
            )
            .service(web::resource("/approvals").route(web::get().to(approvals::list)))
            .service(
                web::resource("/approvals/{id}/{action}").route(web::post().to(approvals::vote)),
            )
            .service(web::resource("/audit").route(web::get().to(audit::page_route)))
            .service(web::resource("/audit/export").route(web::get().to(audit::export)))
            .service(
                web::resource("/apps")
                    .route(web::get().to(apps::list))
                    .route(web::post().to(apps::create)),
            )
            .service(
                web::resource("/apps/{name}/{change}").route(web::post().to(app_tokens::handle)),
            )
            .service(
                web::resource("/people")
                    .route(web::get().to(people::list))
                    .route(web::post().to(people::create)),
            )
            .service(web::resource("/people/{name}/roles").route(web::post().to(people::roles)))
            .service(web::resource("/people/{name}/{change}").route(web::post().to(people::change)))
            .service(web::resource("/zones").route(web::get().to(readonly::zones)))
            .service(web::resource("/hsm").route(web::get().to(hsm::show)))
            .service(
                web::resource("/hsm/ceremonies/{id}/approve")
                    .route(web::post().to(hsm_steps::approve)),
            )
            .service(
                web::resource("/hsm/{kind}/update").route(web::post().to(hsm_steps::submit_share)),
            )
            .default_service(web::to(html::not_found)),
    );
}
