//! A custodian's step from the HSM page, through the API's handler with their session (which
//! authenticates them as a custodian, decides and audits): `POST /ui/hsm/ceremonies/{id}/approve`
//! (`component` when the ceremony collects components) and `POST /ui/hsm/{rekey,generate-root}/update`
//! (`nonce`, `share`). What the API answers is shown once: the approval that meets the quorum
//! runs the ceremony, and its answer is that approver's alone (for `create`, the shares and the
//! root token).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use super::call;
use super::hsm::render;
use super::html::{Fields, field, need_form, notice, pre, refusal};
use crate::api::hsm as hsm_api;
use crate::error::ApiError;
use crate::state::AppState;

pub async fn approve(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    form: web::Form<Fields>,
) -> HttpResponse {
    let viewer = match need_form(&state, &req, field(&form, "csrf")).await {
        Ok(v) => v,
        Err(answer) => return *answer,
    };
    let id = id.into_inner();
    let component = field(&form, "component");
    let fields = if component.is_empty() {
        json!({})
    } else {
        json!({ "component": component })
    };
    let answer = match call::body(fields) {
        Ok(body) => {
            let (s, r, p) = (state.clone(), req.clone(), web::Path::from(id.clone()));
            call::json(hsm_api::approve::handle(s, r, p, web::Json(body)).await).await
        }
        Err(e) => Err(e),
    };
    match answer {
        Ok((_, v)) => {
            let done = if v["result"].is_null() {
                format!("Approved ceremony {id}; it runs once the quorum is met.")
            } else {
                format!(
                    "Approved ceremony {id}: the quorum is met and it ran. What it answered is shown to you alone, this once."
                )
            };
            let shown = format!(
                r#"{}<div id="step-answer">{}</div>"#,
                notice("ok", &done),
                pre(&v)
            );
            render(state, req, &viewer, &shown).await
        }
        Err(e) => refusal(Some(&viewer), &e),
    }
}

pub async fn submit_share(
    state: web::Data<AppState>,
    req: HttpRequest,
    kind: web::Path<String>,
    form: web::Form<Fields>,
) -> HttpResponse {
    let viewer = match need_form(&state, &req, field(&form, "csrf")).await {
        Ok(v) => v,
        Err(answer) => return *answer,
    };
    let kind = kind.into_inner();
    let fields = json!({ "nonce": field(&form, "nonce"), "share": field(&form, "share") });
    let (s, r) = (state.clone(), req.clone());
    let answer = match (kind.as_str(), call::body(fields)) {
        (_, Err(e)) => Err(e),
        ("rekey", Ok(b)) => hsm_api::rekey::update::handle(s, r, web::Json(b)).await,
        ("generate-root", Ok(b)) => {
            hsm_api::generate_root::update::handle(s, r, web::Json(b)).await
        }
        _ => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such ceremony",
        )),
    };
    match call::json(answer).await {
        Ok((_, v)) => {
            let done = if v["complete"] == true {
                format!(
                    "Your share completed the {kind}. Its answer is shown to you alone, this once."
                )
            } else {
                format!("Your share for the {kind} is in.")
            };
            let shown = format!(
                r#"{}<div id="step-answer">{}</div>"#,
                notice("ok", &done),
                pre(&v)
            );
            render(state, req, &viewer, &shown).await
        }
        Err(e) => refusal(Some(&viewer), &e),
    }
}
