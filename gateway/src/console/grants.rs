//! `POST /ui/keys/{name}/grants` (`app`, `operations` separated by commas or spaces): set what an
//! app may do with the key, through the API's `grant` handler; a person's grant that adds an
//! operation becomes an approval request (whoever holds the app's token reaches the data).

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use super::call;
use super::html::need_form;
use super::key::after;
use crate::api::admin;
use crate::state::AppState;

#[derive(Deserialize)]
pub struct Form {
    #[serde(default)]
    csrf: String,
    app: String,
    #[serde(default)]
    operations: String,
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
    let operations: Vec<&str> = form
        .operations
        .split([',', ' '])
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .collect();
    let answer = match call::body(json!({ "app": form.app.trim(), "operations": operations })) {
        Ok(body) => {
            let path = web::Path::from(name.clone());
            admin::grant::handle(state.clone(), req.clone(), path, web::Json(body)).await
        }
        Err(e) => Err(e),
    };
    let done = format!("Grant for {} set.", form.app.trim());
    after(state, req, &viewer, &name, call::json(answer).await, &done).await
}
