//! `POST /demo/api/signup` `{"username","encrypted_password"}` → 201 `{"username"}`: picks a
//! random salt, has the KMS protect the password, stores username, salt and protected value.

use actix_web::{HttpRequest, HttpResponse, web};
use kms_engine::ciphertext::encode_b64;
use serde_json::json;

use super::{Credentials, db_error};
use crate::api::passwords::{self, protect};
use crate::error::ApiError;
use crate::state::AppState;

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<Credentials>,
) -> Result<HttpResponse, ApiError> {
    let super::Attempt {
        demo,
        username,
        caller,
        key,
    } = super::Attempt::start(&state, &req, &body)?;
    let mut salt = [0u8; 16];
    rand::fill(&mut salt);
    let request = protect::Request {
        encrypted_password: body.into_inner().encrypted_password,
        salt: encode_b64(&salt),
    };
    let protected = passwords::call(&state, &caller, key, request.item(&state)?).await?;
    let protected = protected["protected"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let users = demo.users.clone();
    let name = username.clone();
    let inserted = state
        .io(async move {
            sqlx::query(
                "INSERT INTO users (username, salt, protected) VALUES (?, ?, ?) \
                 ON CONFLICT (username) DO NOTHING",
            )
            .bind(name)
            .bind(salt.to_vec())
            .bind(protected)
            .execute(&users)
            .await
            .map(|r| r.rows_affected() == 1)
            .map_err(db_error)
        })
        .await?;
    if !inserted {
        return Err(ApiError::new(
            actix_web::http::StatusCode::CONFLICT,
            "username_taken",
            "that username is taken",
        ));
    }
    Ok(HttpResponse::Created().json(json!({ "username": username })))
}
