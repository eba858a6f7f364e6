//! The route table.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};

use crate::api::{admin, data, hsm, sys};
use crate::error::ApiError;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/healthz").route(web::get().to(sys::health::handle)))
        .service(resource("/v1/sys/seal-status").route(web::get().to(sys::seal_status::handle)))
        .service(resource("/v1/sys/unseal").route(web::post().to(sys::unseal::handle)))
        .service(resource("/v1/hsm/status").route(web::get().to(hsm::status::handle)))
        .service(resource("/v1/hsm/rotations").route(web::get().to(hsm::rotations::handle)))
        .service(resource("/v1/hsm/ceremonies").route(web::post().to(hsm::start::handle)))
        .service(resource("/v1/hsm/ceremonies/{id}").route(web::get().to(hsm::show::handle)))
        .service(
            resource("/v1/hsm/ceremonies/{id}/approve").route(web::post().to(hsm::approve::handle)),
        )
        .service(resource("/v1/admin/apps").route(web::post().to(admin::create_app::handle)))
        .service(
            resource("/v1/admin/keys")
                .route(web::post().to(admin::create_key::handle))
                .route(web::get().to(admin::list_keys::handle)),
        )
        .service(resource("/v1/admin/keys/{name}").route(web::get().to(admin::get_key::handle)))
        .service(
            resource("/v1/admin/keys/{name}/grants").route(web::post().to(admin::grant::handle)),
        )
        .service(
            resource("/v1/admin/keys/{name}/rotate").route(web::post().to(admin::rotate::handle)),
        )
        .service(resource("/v1/keys/{name}/encrypt").route(web::post().to(data::encrypt::handle)))
        .service(resource("/v1/keys/{name}/decrypt").route(web::post().to(data::decrypt::handle)));
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

/// For paths that match no resource.
pub async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "no such endpoint",
    ))
}
