//! `GET /ui/login`, `POST /ui/login` (name, password, TOTP code: the API's login handler opens the
//! session, the console keeps its token in the cookie) and `POST /ui/logout` (the API's logout
//! handler ends it).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use super::cookie::{clear_cookie, set_cookie};
use super::html::{esc, notice, page_with, refusal};
use super::session::redirect;
use super::{call, csrf};
use crate::api::auth;
use crate::state::AppState;

#[derive(Deserialize)]
pub struct Form {
    user: String,
    password: String,
    totp: String,
}

#[derive(Deserialize)]
pub struct Logout {
    #[serde(default)]
    csrf: String,
}

fn form_page(status: StatusCode, message: Option<&str>, user: &str) -> HttpResponse {
    let shown = message.map(|m| notice("refused", m)).unwrap_or_default();
    let body = format!(
        r#"{shown}<form method="post" action="/ui/login" class="login" id="login-form">
<label>Name <input name="user" id="user" autocomplete="username" required value="{user}"></label>
<label>Password <input name="password" id="password" type="password" autocomplete="current-password" required></label>
<label>Authenticator code <input name="totp" id="totp" inputmode="numeric" autocomplete="one-time-code" required></label>
<button id="sign-in">Sign in</button></form>
<p>First time? <a href="/ui/enrol">Enrol with the token you were given</a>.</p>"#,
        user = esc(user)
    );
    page_with(status, None, "Sign in", &body)
}

pub async fn form() -> HttpResponse {
    form_page(StatusCode::OK, None, "")
}

pub async fn submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<Form>,
) -> HttpResponse {
    if let Err(e) = csrf::check_origin(&state, &req).await {
        return refusal(None, &e);
    }
    let Form {
        user,
        password,
        totp,
    } = form.into_inner();
    let body = match call::body(json!({ "user": user, "password": password, "totp": totp })) {
        Ok(b) => b,
        Err(e) => return refusal(None, &e),
    };
    let answer = call::json(auth::login::handle(state, req.clone(), web::Json(body)).await).await;
    match answer {
        Ok((_, opened)) => match opened["token"].as_str() {
            Some(token) => {
                let mut to = redirect("/ui");
                if let Ok(v) = set_cookie(&req, token).parse() {
                    to.headers_mut()
                        .insert(actix_web::http::header::SET_COOKIE, v);
                }
                to
            }
            None => form_page(StatusCode::INTERNAL_SERVER_ERROR, Some("no session"), &user),
        },
        Err(e) => form_page(e.status, Some(&format!("{}: {}", e.code, e.message)), &user),
    }
}

pub async fn logout(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<Logout>,
) -> HttpResponse {
    if let Err(e) = csrf::check(&state, &req, &form.csrf).await {
        return refusal(None, &e);
    }
    // Already ended or expired: the cookie goes all the same.
    let _ = auth::logout::handle(state, req.clone()).await;
    let mut to = redirect("/ui/login");
    if let Ok(v) = clear_cookie(&req).parse() {
        to.headers_mut()
            .insert(actix_web::http::header::SET_COOKIE, v);
    }
    to
}
