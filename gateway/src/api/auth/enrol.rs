//! Enrolment: a person sets their own password and TOTP with their enrolment token
//! (kms_control::people::enrolment). Unauthenticated: the token is the credential.
//!
//! - `POST /v1/auth/enrol/begin` `{"user","token"}` → `{"user","totp_secret","totp_uri"}`: a
//!   fresh TOTP secret for the person's authenticator (shown to them only).
//! - `POST /v1/auth/enrol/complete` `{"user","token","password","totp"}` → 204: the password
//!   and the secret become theirs; the token is used up.

use actix_web::{HttpRequest, HttpResponse, web};
use kms_control::people::enrolment::{begin as offer, complete as finish};
use kms_engine::secret::SecretString;
use serde::Deserialize;

use crate::error::ApiError;
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Begin {
    user: String,
    token: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Complete {
    user: String,
    token: String,
    password: String,
    totp: String,
}

fn remote(req: &HttpRequest) -> Option<String> {
    req.peer_addr().map(|a| a.ip().to_string())
}

pub async fn begin(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<Begin>,
) -> Result<HttpResponse, ApiError> {
    let Begin { user, token } = body.into_inner();
    let token = SecretString::new(token);
    let remote = remote(&req);
    let offered = state
        .on_control(move |ctl| async move { offer(&ctl, &user, &token, remote).await })
        .await?;
    Ok(HttpResponse::Ok().json(offered))
}

pub async fn complete(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<Complete>,
) -> Result<HttpResponse, ApiError> {
    let Complete {
        user,
        token,
        password,
        totp,
    } = body.into_inner();
    let (token, password) = (SecretString::new(token), SecretString::new(password));
    let remote = remote(&req);
    state
        .on_control(
            move |ctl| async move { finish(&ctl, &user, &token, password, &totp, remote).await },
        )
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
