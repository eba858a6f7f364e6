//! First login: `GET /ui/enrol` asks for the name and the enrolment token an administrator gave;
//! `POST /ui/enrol/begin` (the API's `enrol/begin`) shows the new TOTP secret, as text and as a QR
//! code of its `otpauth://` URI, to put into an authenticator app; `POST /ui/enrol/complete` (the API's `enrol/complete`) sets the password with
//! a first code. Then the person signs in.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use super::html::{esc, notice, page_with, refusal, text};
use super::{call, csrf, qr};
use crate::api::auth;
use crate::state::AppState;

#[derive(Deserialize)]
pub struct Begin {
    user: String,
    token: String,
}

#[derive(Deserialize)]
pub struct Complete {
    user: String,
    token: String,
    password: String,
    totp: String,
}

fn start(status: StatusCode, message: Option<&str>) -> HttpResponse {
    let shown = message.map(|m| notice("refused", m)).unwrap_or_default();
    let body = format!(
        r#"{shown}<form method="post" action="/ui/enrol/begin" id="enrol-form">
<label>Name <input name="user" id="user" required></label>
<label>Enrolment token <input name="token" id="token" required></label>
<button id="begin">Continue</button></form>"#
    );
    page_with(status, None, "Enrol", &body)
}

pub async fn form() -> HttpResponse {
    start(StatusCode::OK, None)
}

pub async fn begin(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<Begin>,
) -> HttpResponse {
    if let Err(e) = csrf::check_origin(&state, &req).await {
        return refusal(None, &e);
    }
    let Begin { user, token } = form.into_inner();
    let body = match call::body(json!({ "user": user, "token": token })) {
        Ok(b) => b,
        Err(e) => return refusal(None, &e),
    };
    match call::json(auth::enrol::begin(state, req, web::Json(body)).await).await {
        Ok((_, offered)) => {
            let secret = text(&offered["totp_secret"]);
            let uri = text(&offered["totp_uri"]);
            let body = format!(
                r#"<p>Scan the code (or type the secret) into your authenticator app, then choose a password and type the app's current code.</p>
{qr}
<dl class="facts"><dt>Secret</dt><dd><code id="totp-secret">{s}</code></dd><dt>URI</dt><dd><code id="totp-uri">{u}</code></dd></dl>
<form method="post" action="/ui/enrol/complete" id="complete-form"><input type="hidden" name="user" value="{user}"><input type="hidden" name="token" value="{token}">
<label>Password <input name="password" id="password" type="password" autocomplete="new-password" required></label>
<label>Authenticator code <input name="totp" id="totp" inputmode="numeric" required></label>
<button id="complete">Enrol</button></form>"#,
                qr = qr::svg(&uri, "totp-qr").unwrap_or_default(),
                s = esc(&secret),
                u = esc(&uri),
                user = esc(&user),
                token = esc(&token),
            );
            page_with(StatusCode::OK, None, "Enrol: your second factor", &body)
        }
        Err(e) => start(e.status, Some(&format!("{}: {}", e.code, e.message))),
    }
}

pub async fn complete(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<Complete>,
) -> HttpResponse {
    if let Err(e) = csrf::check_origin(&state, &req).await {
        return refusal(None, &e);
    }
    let Complete {
        user,
        token,
        password,
        totp,
    } = form.into_inner();
    let body = match call::body(
        json!({ "user": user, "token": token, "password": password, "totp": totp }),
    ) {
        Ok(b) => b,
        Err(e) => return refusal(None, &e),
    };
    match call::json(auth::enrol::complete(state, req, web::Json(body)).await).await {
        Ok(_) => page_with(
            StatusCode::OK,
            None,
            "Enrolled",
            &format!(
                r#"{}<p><a href="/ui/login" id="to-login">Sign in</a></p>"#,
                notice("ok", "Enrolled: sign in with your password and a code.")
            ),
        ),
        Err(e) => start(e.status, Some(&format!("{}: {}", e.code, e.message))),
    }
}
