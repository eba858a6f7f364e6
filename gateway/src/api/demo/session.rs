//! `GET /demo/api/public-key` and `POST /demo/api/challenge`: what the login page needs before it
//! encrypts, fetched by the demo backend from the KMS and passed on.

use actix_web::{HttpRequest, HttpResponse, web};

use crate::api::passwords::{challenge, public_key};
use crate::error::ApiError;
use crate::state::AppState;

pub async fn public_key(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let (_, key) = super::caller(super::demo(&state)?, &state, &req)?;
    Ok(HttpResponse::Ok().json(public_key::public_key(&state, key).await?))
}

pub async fn challenge(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let (caller, key) = super::caller(super::demo(&state)?, &state, &req)?;
    Ok(HttpResponse::Ok().json(challenge::issue(&state, &caller, &key)?))
}
