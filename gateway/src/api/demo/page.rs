//! `GET /demo/login`: the login page. Its script fetches the password key's public key and a
//! challenge from the demo backend, encrypts `{"p":password,"c":challenge}` with WebCrypto
//! (RSA-OAEP, SHA-256) and posts only that ciphertext.

use actix_web::{HttpResponse, web};

use crate::error::ApiError;
use crate::state::AppState;

const PAGE: &str = include_str!("login.html");

pub async fn handle(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    super::demo(&state)?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((
            "Content-Security-Policy",
            "default-src 'self'; script-src 'unsafe-inline' 'self'; style-src 'unsafe-inline'",
        ))
        .insert_header(("Cache-Control", "no-store"))
        .body(PAGE))
}
