//! A manage node's own health and readiness: ready while the store's internal API answers.

use std::time::Duration;

use actix_web::{HttpResponse, web};
use kms_store::remote::client::InternalClient;
use serde_json::json;

pub async fn health() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

pub async fn ready(client: web::Data<InternalClient>) -> HttpResponse {
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
