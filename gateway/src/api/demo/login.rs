//! `POST /demo/api/login` `{"username","encrypted_password"}` → 200 `{"username"}` when the KMS
//! says the password matches the stored protected value, 401 `login_failed` otherwise (an
//! unknown user gets the same answer). A match under an older key version stores the value the
//! KMS re-protected under the active one.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use kms_engine::ciphertext::encode_b64;
use serde_json::json;
use sqlx::Row;

use super::{Credentials, db_error};
use crate::api::passwords::{self, verify};
use crate::error::ApiError;
use crate::state::AppState;

fn refused() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "login_failed",
        "unknown username or wrong password",
    )
}

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
    let users = demo.users.clone();
    let name = username.clone();
    let row = state
        .io(async move {
            sqlx::query("SELECT salt, protected FROM users WHERE username = ?")
                .bind(name)
                .fetch_optional(&users)
                .await
                .map_err(db_error)
        })
        .await?;
    let Some(row) = row else {
        return Err(refused());
    };
    let request = verify::Request {
        encrypted_password: body.into_inner().encrypted_password,
        salt: encode_b64(&row.get::<Vec<u8>, _>("salt")),
        protected: row.get("protected"),
    };
    let answer = passwords::call(&state, &caller, key, request.item(&state)?).await?;
    if answer["match"] != json!(true) {
        return Err(refused());
    }
    if let Some(upgraded) = answer["protected"].as_str().map(str::to_owned) {
        let users = demo.users.clone();
        let name = username.clone();
        state
            .io(async move {
                sqlx::query("UPDATE users SET protected = ? WHERE username = ?")
                    .bind(upgraded)
                    .bind(name)
                    .execute(&users)
                    .await
                    .map_err(db_error)
            })
            .await?;
    }
    Ok(HttpResponse::Ok().json(json!({ "username": username })))
}
