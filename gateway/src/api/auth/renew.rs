//! `POST /v1/auth/renew` `{"user","password","totp"}` → `{"enrolment":{"token","part":"whole",
//! "expires_at"}}`: a person changes their own password and TOTP. With their current ones they
//! get a token of their own and enrol again with it (`/v1/auth/enrol/...`); the old credentials
//! work until then. Counted and throttled like a login.

use actix_web::{HttpRequest, HttpResponse, web};
use kms_control::people::enrolment::renew;
use kms_control::people::login::Credentials;
use kms_engine::secret::SecretString;
use serde::Deserialize;
use serde_json::json;

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
    let Request {
        user,
        password,
        totp,
    } = body.into_inner();
    let credentials = Credentials {
        user,
        password: SecretString::new(password),
        totp,
    };
    let remote = req.peer_addr().map(|a| a.ip().to_string());
    let handed = state
        .on_control(move |ctl| async move { renew(&ctl, credentials, remote).await })
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "enrolment": handed })))
}
