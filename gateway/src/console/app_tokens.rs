//! `POST /ui/apps/{name}/rotate-token` (`overlap_seconds`, empty for the API's default) and
//! `POST /ui/apps/{name}/revoke`, through the API's `rotate_app_token` and `revoke_app`
//! handlers. A person's rotation is filed for approval and its new token then goes to the
//! requester alone, collected once in the approvals inbox; the root token's is shown at once.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use super::apps::render;
use super::call;
use super::html::{Fields, field, need_form, refusal, t, text};
use super::outcome::notice_for;
use crate::api::admin;
use crate::error::ApiError;
use crate::state::AppState;

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    form: web::Form<Fields>,
) -> HttpResponse {
    let viewer = match need_form(&state, &req, field(&form, "csrf")).await {
        Ok(v) => v,
        Err(answer) => return *answer,
    };
    let (name, what) = path.into_inner();
    let (s, r, p) = (state.clone(), req.clone(), web::Path::from(name.clone()));
    let answer = match what.as_str() {
        "rotate-token" => {
            let overlap = field(&form, "overlap_seconds");
            let fields = if overlap.is_empty() {
                Ok(json!({}))
            } else {
                overlap
                    .parse::<u64>()
                    .map(|o| json!({ "overlap_seconds": o }))
                    .map_err(|_| {
                        ApiError::bad_request(
                            "invalid_json",
                            "overlap_seconds is a number of seconds",
                        )
                    })
            };
            match fields.and_then(call::body) {
                Ok(body) => admin::rotate_app_token::handle(s, r, p, web::Json(body)).await,
                Err(e) => Err(e),
            }
        }
        "revoke" => admin::revoke_app::handle(s, r, p).await,
        _ => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such change",
        )),
    };
    match call::json(answer).await {
        Ok((status, v)) => {
            let done = if what == "revoke" {
                format!(
                    "Every token of {name} is revoked ({} stopped working).",
                    text(&v["revoked_tokens"])
                )
            } else {
                format!(
                    "{name} has a new token, shown this once; its earlier tokens stop at {}.",
                    text(&v["previous_tokens_expire_at"])
                )
            };
            let mut shown = notice_for(status, &v, &done, Some("the new token"));
            if !v["token"].is_null() {
                shown.push_str(&format!(
                    r#"<p>Token: <code id="new-app-token">{}</code></p>"#,
                    t(&v["token"])
                ));
            }
            render(state, req, &viewer, &shown).await
        }
        Err(e) => refusal(Some(&viewer), &e),
    }
}
