//! `POST /v1/admin/keys/{name}/config` `{"min_decryption_version"?,"rotation_period"?,
//! "notice_period"?,"reason"}` → the key's description. `rotation_period: null` turns scheduled
//! rotation off; a field left out stays as it is.

use actix_web::{HttpRequest, HttpResponse, web};
use kms_control::keys::lifecycle::{ConfigRequest, config, configure, reason};
use serde::{Deserialize, Deserializer};

use super::{key_admin, run};
use crate::error::ApiError;
use crate::state::AppState;

/// Tells a field set to `null` (`Some(None)`) from one left out (`None`).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    min_decryption_version: Option<u32>,
    #[serde(default, deserialize_with = "present")]
    rotation_period: Option<Option<String>>,
    notice_period: Option<String>,
    reason: String,
}

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    name: web::Path<String>,
    body: web::Json<Request>,
) -> Result<HttpResponse, ApiError> {
    let name = name.into_inner();
    let (caller, target) = key_admin(&state, &req, &name, "configure_key").await?;
    let body = body.into_inner();
    let why = reason(body.reason)?;
    let change = config(ConfigRequest {
        min_decryption_version: body.min_decryption_version,
        rotation_period: body.rotation_period,
        notice_period: body.notice_period,
    })?;
    let invocation = caller.invocation();
    let view = run(&state, &caller, "configure_key", target, |ctl| async move {
        configure(&ctl, &invocation, &name, &change, &why).await
    })
    .await?;
    Ok(HttpResponse::Ok().json(view))
}
