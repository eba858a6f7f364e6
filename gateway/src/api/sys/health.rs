//! `GET /healthz`: the process is up and answering. Says nothing about the seal or the store
//! (see `/v1/sys/seal-status`), so a load balancer's liveness probe never depends on them.

use actix_web::HttpResponse;

pub async fn handle() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}
