//! `POST /v1/auth/login` `{"user","password","totp"}` → `{"token","expires_at","user","roles"}`.
//!
//! Every admin login needs the second factor. A wrong name, password or code answers the same
//! 401 `invalid_credentials`; after `max_failed_logins` consecutive failures the account is
//! locked (423 `account_locked`) for `lockout`, even for the right password. A TOTP code works
//! once. Every attempt is audited (kms_control::people::login).

use actix_web::{HttpRequest, HttpResponse, web};
use kms_control::people::login::{Credentials, login};
use kms_engine::secret::SecretString;
use serde::Deserialize;

use crate::error::ApiError;
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    user: String,
    password: String,
    totp: String,
}

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<Request>,
) -> Result<HttpResponse, ApiError> {
    let mut body = body.into_inner();
    let remote = req.peer_addr().map(|a| a.ip().to_string());
    let name = body.user.clone();
    let credentials = Credentials {
        password: SecretString::new(std::mem::take(&mut body.password)),
        user: body.user,
        totp: body.totp,
    };
    let outcome = state
        .on_control(move |ctl| async move { login(&ctl, credentials, remote).await })
        .await;
    match outcome {
        Ok(opened) => Ok(HttpResponse::Ok().json(opened)),
        Err(e) => {
            tracing::info!(user = %name, code = e.code, "login refused");
            Err(e)
        }
    }
}
