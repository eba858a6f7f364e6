//! The route table.

use actix_web::http::{Method, StatusCode};
use actix_web::{HttpResponse, web};

use crate::api::transit::{self, envelope};
use crate::api::{admin, auth, data, demo, hsm, passwords, sys};
use crate::error::ApiError;

/// Every route of a node that runs all roles (the default): the data plane and the control plane.
/// The data plane comes first: the router tries services in order, and data requests are most.
pub fn configure(cfg: &mut web::ServiceConfig) {
    data_plane(cfg);
    system(cfg);
    control_plane(cfg);
}

/// Health, readiness (what a load balancer routes on), metrics and the API's OpenAPI description:
/// on every node.
pub fn system(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/healthz").route(web::get().to(sys::health::handle)))
        .service(resource("/readyz").route(web::get().to(sys::ready::handle)))
        .service(resource("/metrics").route(web::get().to(sys::metrics::handle)))
        .service(resource("/v1/openapi.json").route(web::get().to(sys::openapi::handle)));
}

/// What a service node serves: the data plane (keys and passwords) and random bytes.
pub fn data_plane(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/v1/keys/{name}")
            .service(key_resource("encrypt").route(web::post().to(data::encrypt::handle)))
            .service(key_resource("decrypt").route(web::post().to(data::decrypt::handle)))
            .service(key_resource("rewrap").route(web::post().to(data::rewrap::handle)))
            .service(key_resource("datakey").route(web::post().to(data::datakey::handle)))
            .service(key_resource("sign").route(web::post().to(data::sign::handle)))
            .service(key_resource("verify").route(web::post().to(data::verify::handle)))
            .service(key_resource("hmac").route(web::post().to(data::hmac::handle)))
            .service(key_resource("hmac/verify").route(web::post().to(data::hmac_verify::handle)))
            .service(key_resource("public-key").route(web::get().to(data::public_key::handle)))
            .default_service(web::to(not_found)),
    )
    .service(resource("/v1/random").route(web::post().to(data::random::handle)))
    .service(resource("/v1/apps/self").route(web::get().to(auth::app_self::handle)))
    // Password keys (docs/passwords.md) and the demo login page's backend.
    .service(
        web::scope("/v1/passwords/{name}")
            .service(resource("/public-key").route(web::get().to(passwords::public_key::handle)))
            .service(resource("/challenge").route(web::post().to(passwords::challenge::handle)))
            .service(resource("/protect").route(web::post().to(passwords::protect::handle)))
            .service(resource("/verify").route(web::post().to(passwords::verify::handle)))
            .service(resource("/rewrap").route(web::post().to(passwords::rewrap::handle)))
            .default_service(web::to(not_found)),
    )
    .service(resource("/demo/login").route(web::get().to(demo::page::handle)))
    .service(resource("/demo/api/public-key").route(web::get().to(demo::session::public_key)))
    .service(resource("/demo/api/challenge").route(web::post().to(demo::session::challenge)))
    .service(resource("/demo/api/signup").route(web::post().to(demo::signup::handle)))
    .service(resource("/demo/api/login").route(web::post().to(demo::login::handle)));
}

/// The control plane: admin API, logins, HSM ceremonies, seal and unseal. Served where the store
/// and its HSM are (a manage node forwards it there).
pub fn control_plane(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/v1/sys/seal-status").route(web::get().to(sys::seal_status::handle)))
        .service(resource("/v1/sys/unseal").route(web::post().to(sys::unseal::handle)))
        .service(resource("/v1/admin/backup").route(web::post().to(admin::backup::handle)))
        .service(resource("/v1/hsm/status").route(web::get().to(hsm::status::handle)))
        .service(resource("/v1/hsm/rotations").route(web::get().to(hsm::rotations::handle)))
        .service(
            resource("/v1/hsm/ceremonies")
                .route(web::post().to(hsm::start::handle))
                .route(web::get().to(hsm::list::handle)),
        )
        .service(resource("/v1/hsm/ceremonies/{id}").route(web::get().to(hsm::show::handle)))
        .service(
            resource("/v1/hsm/ceremonies/{id}/approve").route(web::post().to(hsm::approve::handle)),
        )
        .service(resource("/v1/hsm/rekey").route(web::get().to(hsm::rekey::status::handle)))
        .service(resource("/v1/hsm/rekey/init").route(web::post().to(hsm::rekey::init::handle)))
        .service(resource("/v1/hsm/rekey/update").route(web::post().to(hsm::rekey::update::handle)))
        .service(resource("/v1/hsm/rekey/cancel").route(web::post().to(hsm::rekey::cancel::handle)))
        .service(
            resource("/v1/hsm/generate-root")
                .route(web::get().to(hsm::generate_root::status::handle)),
        )
        .service(
            resource("/v1/hsm/generate-root/init")
                .route(web::post().to(hsm::generate_root::init::handle)),
        )
        .service(
            resource("/v1/hsm/generate-root/update")
                .route(web::post().to(hsm::generate_root::update::handle)),
        )
        .service(
            resource("/v1/hsm/generate-root/cancel")
                .route(web::post().to(hsm::generate_root::cancel::handle)),
        )
        .service(
            resource("/v1/admin/apps")
                .route(web::post().to(admin::create_app::handle))
                .route(web::get().to(admin::list_apps::handle)),
        )
        .service(resource("/v1/admin/apps/{name}").route(web::get().to(admin::get_app::handle)))
        .service(
            resource("/v1/admin/apps/{name}/tokens")
                .route(web::post().to(admin::rotate_app_token::handle)),
        )
        .service(
            resource("/v1/admin/apps/{name}/revoke")
                .route(web::post().to(admin::revoke_app::handle)),
        )
        .service(
            resource("/v1/admin/apps/{name}/certificate")
                .route(web::post().to(admin::bind_certificate::handle)),
        )
        .service(
            resource("/v1/admin/keys/{name}/policy")
                .route(web::post().to(admin::set_policy::handle)),
        )
        .service(
            resource("/v1/admin/keys")
                .route(web::post().to(admin::create_key::handle))
                .route(web::get().to(admin::list_keys::handle)),
        )
        .service(resource("/v1/admin/keys/{name}").route(web::get().to(admin::get_key::handle)))
        .service(
            resource("/v1/admin/keys/{name}/usage").route(web::get().to(admin::key_usage::handle)),
        )
        .service(
            resource("/v1/admin/keys/{name}/rollback")
                .route(web::post().to(admin::rollback::handle)),
        )
        .service(
            resource("/v1/admin/keys/{name}/config").route(web::post().to(admin::config::handle)),
        )
        .service(
            resource("/v1/admin/keys/{name}/versions/{version}/disable")
                .route(web::post().to(admin::versions::disable)),
        )
        .service(
            resource("/v1/admin/keys/{name}/versions/{version}/enable")
                .route(web::post().to(admin::versions::enable)),
        )
        .service(
            resource("/v1/admin/keys/{name}/versions/{version}/schedule-destruction")
                .route(web::post().to(admin::versions::schedule_destruction)),
        )
        .service(
            resource("/v1/admin/keys/{name}/versions/{version}/cancel-destruction")
                .route(web::post().to(admin::versions::cancel_destruction)),
        )
        .service(
            resource("/v1/admin/zones")
                .route(web::post().to(admin::zones::register::handle))
                .route(web::get().to(admin::zones::list::handle)),
        )
        .service(resource("/v1/admin/nodes").route(web::get().to(admin::zones::nodes::handle)))
        .service(resource("/v1/admin/events").route(web::get().to(admin::events::handle)))
        .service(
            resource("/v1/admin/keys/{name}/grants").route(web::post().to(admin::grant::handle)),
        )
        .service(
            resource("/v1/admin/keys/{name}/rotate").route(web::post().to(admin::rotate::handle)),
        )
        .service(
            resource("/v1/admin/keys/{name}/export").route(web::post().to(admin::export::handle)),
        )
        .service(resource("/v1/auth/login").route(web::post().to(auth::login::handle)))
        .service(resource("/v1/auth/logout").route(web::post().to(auth::logout::handle)))
        .service(resource("/v1/auth/enrol/begin").route(web::post().to(auth::enrol::begin)))
        .service(resource("/v1/auth/enrol/complete").route(web::post().to(auth::enrol::complete)))
        .service(resource("/v1/auth/renew").route(web::post().to(auth::renew::handle)))
        .service(
            resource("/v1/admin/users")
                .route(web::post().to(admin::users::create::handle))
                .route(web::get().to(admin::users::list::list)),
        )
        .service(resource("/v1/admin/users/{name}").route(web::get().to(admin::users::list::show)))
        .service(
            resource("/v1/admin/users/{name}/roles")
                .route(web::post().to(admin::users::roles::handle)),
        )
        .service(
            resource("/v1/admin/users/{name}/reset")
                .route(web::post().to(admin::users::reset::handle)),
        )
        .service(
            resource("/v1/admin/users/{name}/disable")
                .route(web::post().to(admin::users::status::disable)),
        )
        .service(
            resource("/v1/admin/users/{name}/enable")
                .route(web::post().to(admin::users::status::enable)),
        )
        .service(
            resource("/v1/admin/root-tokens/revoke")
                .route(web::post().to(admin::root_tokens::revoke)),
        )
        .service(resource("/v1/admin/approvals").route(web::get().to(admin::approvals::list::list)))
        .service(
            resource("/v1/admin/approvals/{id}").route(web::get().to(admin::approvals::list::show)),
        )
        .service(
            resource("/v1/admin/approvals/{id}/approve")
                .route(web::post().to(admin::approvals::vote::approve)),
        )
        .service(
            resource("/v1/admin/approvals/{id}/reject")
                .route(web::post().to(admin::approvals::vote::reject)),
        )
        .service(
            resource("/v1/admin/approvals/{id}/collect")
                .route(web::post().to(admin::approvals::collect::handle)),
        )
        .service(resource("/v1/admin/audit").route(web::get().to(admin::audit::query::handle)))
        .service(
            resource("/v1/admin/audit/verify").route(web::get().to(admin::audit::verify::handle)),
        )
        .service(resource("/v1/admin/audit/seal").route(web::post().to(admin::audit::seal::handle)))
        // The web console: pages over the handlers above (console/mod.rs lists them).
        .configure(crate::console::routes);
}

/// The Vault Transit-compatible API under `mount` (default `/v1/transit`; docs/vault-compat.md).
/// Its errors, 404 and 405 included, are in Vault's shape.
pub fn transit(cfg: &mut web::ServiceConfig, mount: &str) {
    let list = Method::from_bytes(b"LIST").unwrap_or(Method::GET);
    cfg.service(
        web::scope(mount)
            .service(
                // Vault lists `keys` and `keys/` alike.
                vault_resource("/keys")
                    .route(web::method(list.clone()).to(transit::list_keys::handle))
                    .route(web::get().to(transit::list_keys::get)),
            )
            .service(
                vault_resource("/keys/")
                    .route(web::method(list).to(transit::list_keys::handle))
                    .route(web::get().to(transit::list_keys::get)),
            )
            .service(
                vault_resource("/keys/{name}")
                    .route(web::post().to(transit::create_key::handle))
                    .route(web::get().to(transit::read_key::handle))
                    .route(web::delete().to(transit::delete_key::handle)),
            )
            .service(
                vault_resource("/keys/{name}/config")
                    .route(web::post().to(transit::key_config::handle)),
            )
            .service(
                vault_resource("/keys/{name}/rotate")
                    .route(web::post().to(transit::rotate::handle)),
            )
            .service(
                vault_resource("/keys/{name}/trim").route(web::post().to(transit::trim::handle)),
            )
            .service(
                vault_resource("/keys/{name}/import")
                    .route(web::post().to(transit::import::handle)),
            )
            .service(
                vault_resource("/wrapping_key").route(web::get().to(transit::wrapping_key::handle)),
            )
            .service(
                vault_resource("/cache-config")
                    .route(web::get().to(transit::cache_config::read))
                    .route(web::post().to(transit::cache_config::write)),
            )
            .service(vault_resource("/backup/{name}").route(web::get().to(transit::backup::backup)))
            .service(vault_resource("/restore").route(web::post().to(transit::restore::restore)))
            .service(
                vault_resource("/restore/{name}").route(web::post().to(transit::restore::restore)),
            )
            .service(
                vault_resource("/encrypt/{name}").route(web::post().to(transit::encrypt::handle)),
            )
            .service(
                vault_resource("/decrypt/{name}").route(web::post().to(transit::decrypt::handle)),
            )
            .service(
                vault_resource("/rewrap/{name}").route(web::post().to(transit::rewrap::handle)),
            )
            .service(
                vault_resource("/datakey/{type}/{name}")
                    .route(web::post().to(transit::datakey::handle)),
            )
            .service(vault_resource("/hmac/{name}").route(web::post().to(transit::hmac::handle)))
            .service(
                vault_resource("/hmac/{name}/{algorithm}")
                    .route(web::post().to(transit::hmac::handle)),
            )
            .service(vault_resource("/sign/{name}").route(web::post().to(transit::sign::handle)))
            .service(
                vault_resource("/sign/{name}/{algorithm}")
                    .route(web::post().to(transit::sign::handle)),
            )
            .service(
                vault_resource("/verify/{name}").route(web::post().to(transit::verify::handle)),
            )
            .service(
                vault_resource("/verify/{name}/{algorithm}")
                    .route(web::post().to(transit::verify::handle)),
            )
            .service(
                vault_resource("/export/{type}/{name}")
                    .route(web::get().to(transit::export_key::handle)),
            )
            .service(
                vault_resource("/export/{type}/{name}/{version}")
                    .route(web::get().to(transit::export_key::handle)),
            )
            .service(vault_resource("/random").route(web::post().to(transit::random::handle)))
            .service(
                vault_resource("/random/{source}").route(web::post().to(transit::random::handle)),
            )
            .service(
                vault_resource("/random/{source}/{bytes}")
                    .route(web::post().to(transit::random::handle)),
            )
            .service(vault_resource("/hash").route(web::post().to(transit::hash::handle)))
            .service(
                vault_resource("/hash/{algorithm}").route(web::post().to(transit::hash::handle)),
            )
            .default_service(web::to(envelope::not_found)),
    )
    // Vault clients check the server and their token at start-up; outside the mount, as in
    // Vault.
    .service(
        vault_resource("/v1/sys/health")
            .route(web::get().to(transit::sys_health::handle))
            .route(web::head().to(transit::sys_health::handle)),
    )
    .service(
        vault_resource("/v1/auth/token/lookup-self")
            .route(web::get().to(transit::lookup_self::handle)),
    );
}

/// A Transit resource: 405 in Vault's error shape for methods it has no route for.
fn vault_resource(path: &str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(envelope::method_not_allowed))
}

/// A resource that answers 405 in our error format for methods it has no route for.
fn resource(path: &str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(|| async {
        Err::<HttpResponse, _>(ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "this path does not take that method",
        ))
    }))
}

/// `/v1/keys/{name}/<op>`, inside the key scope.
fn key_resource(op: &str) -> actix_web::Resource {
    resource(&format!("/{op}"))
}

/// For paths that match no resource.
pub async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "no such endpoint",
    ))
}
