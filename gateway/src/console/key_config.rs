//! `POST /ui/keys/{name}/config` (`min_decryption_version`, `rotation_period`, `no_rotation`,
//! `notice_period`, `reason`): the key's configuration through the API's `configure_key`
//! handler (`POST /v1/admin/keys/{name}/config`); a field left empty stays as it is, and
//! `no_rotation` turns scheduled rotation off.

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use super::call;
use super::html::{Fields, field, need_form};
use super::key::after;
use crate::api::admin;
use crate::error::ApiError;
use crate::state::AppState;

/// The API request's fields from the form's.
fn request(form: &Fields) -> Result<Value, ApiError> {
    let get = |k: &str| field(form, k);
    let mut fields = json!({ "reason": get("reason") });
    let min = get("min_decryption_version");
    if !min.is_empty() {
        let min: u32 = min.parse().map_err(|_| {
            ApiError::bad_request("invalid_json", "min_decryption_version is a version number")
        })?;
        fields["min_decryption_version"] = json!(min);
    }
    if form.contains_key("no_rotation") {
        fields["rotation_period"] = Value::Null;
    } else if !get("rotation_period").is_empty() {
        fields["rotation_period"] = json!(get("rotation_period"));
    }
    if !get("notice_period").is_empty() {
        fields["notice_period"] = json!(get("notice_period"));
    }
    Ok(fields)
}

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    name: web::Path<String>,
    form: web::Form<Fields>,
) -> HttpResponse {
    let viewer = match need_form(&state, &req, field(&form, "csrf")).await {
        Ok(v) => v,
        Err(answer) => return *answer,
    };
    let name = name.into_inner();
    let answer = match request(&form).and_then(call::body) {
        Ok(body) => {
            let (s, r, p) = (state.clone(), req.clone(), web::Path::from(name.clone()));
            admin::config::handle(s, r, p, web::Json(body)).await
        }
        Err(e) => Err(e),
    };
    let done = "Configuration saved.";
    after(state, req, &viewer, &name, call::json(answer).await, done).await
}
