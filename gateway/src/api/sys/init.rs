//! `POST /v1/sys/init` `{"shares":N,"threshold":M}` → `{"master_key_id","shares":[...],
//! "root_token"}`. Creates the master key, sealed under N shares of which M unseal it, and a root
//! token. Works once; the shares and the token are never shown again.

use actix_web::{HttpRequest, HttpResponse, web};
use kms_engine::audit::Outcome;
use kms_engine::token::{self, TokenHash};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    shares: u8,
    threshold: u8,
}

#[derive(Serialize)]
struct Response {
    master_key_id: String,
    shares: Vec<String>,
    threshold: u8,
    root_token: String,
}

/// Label of the root token issued at initialisation.
pub const ROOT_LABEL: &str = "initial";

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<Request>,
) -> Result<HttpResponse, ApiError> {
    let Request { shares, threshold } = body.into_inner();
    let mut event = state.event("anonymous".into(), "init", None, Outcome::Success);
    event.remote = req.peer_addr().map(|a| a.ip().to_string());
    event.detail = Some(format!("shares={shares} threshold={threshold}"));
    let st = state.clone().into_inner();
    let response = state
        .io(async move {
            let out = st.hsm.initialize(shares, threshold).await?;
            let root = token::generate();
            let revision = st
                .store
                .put_root_token(ROOT_LABEL, &TokenHash::of(root.expose()), &event)
                .await?;
            st.synced(revision).await;
            Ok(Response {
                master_key_id: out.master_key.to_string(),
                shares: out.shares.iter().map(|s| s.expose().to_owned()).collect(),
                threshold,
                root_token: root.expose().to_owned(),
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(response))
}
