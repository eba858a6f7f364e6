//! `POST /ui/keys/{name}/policy` (`policy`: the usage policy as JSON, `{}` to remove it): through
//! the API's `set_key_policy` handler, so a person's loosening becomes an approval request and a
//! tightening applies at once.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::call;
use super::html::need_form;
use super::key::after;
use crate::api::admin;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Deserialize)]
pub struct Form {
    #[serde(default)]
    csrf: String,
    policy: String,
}

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    name: web::Path<String>,
    form: web::Form<Form>,
) -> HttpResponse {
    let viewer = match need_form(&state, &req, &form.csrf).await {
        Ok(v) => v,
        Err(answer) => return *answer,
    };
    let name = name.into_inner();
    let parsed = serde_json::from_str(&form.policy)
        .map_err(|e| ApiError::bad_request("invalid_json", format!("the policy is not JSON: {e}")))
        .and_then(call::body);
    let answer = match parsed {
        Ok(spec) => {
            let path = web::Path::from(name.clone());
            admin::set_policy::handle(state.clone(), req.clone(), path, web::Json(spec)).await
        }
        Err(e) => Err(e),
    };
    after(
        state,
        req,
        &viewer,
        &name,
        call::json(answer).await,
        "Policy set.",
    )
    .await
}
