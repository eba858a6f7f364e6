//! `GET /ui/zones`: zones and their transport keys, then the nodes of each zone with their
//! readiness and sync lag (`nodes.rs`), from `GET /v1/admin/zones` and `GET /v1/admin/nodes`.
//! (The HSM page, with the custodians' steps, is `hsm.rs`.)

use actix_web::{HttpRequest, HttpResponse, web};

use super::call;
use super::html::{auto_table, need_session, page, refusal};
use super::nodes;
use crate::api::admin;
use crate::state::AppState;

pub async fn zones(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let viewer = match need_session(&state, &req) {
        Ok(v) => v,
        Err(to_login) => return *to_login,
    };
    let zones = match call::json(admin::zones::list::handle(state.clone(), req.clone()).await).await
    {
        Ok((_, v)) => v["zones"].as_array().cloned().unwrap_or_default(),
        Err(e) => return refusal(Some(&viewer), &e),
    };
    let listed = call::json(admin::zones::nodes::handle(state.clone(), req.clone()).await).await;
    let nodes = nodes::zones_with_nodes(
        &zones,
        listed
            .as_ref()
            .map(|(_, v)| v)
            .map_err(|e| format!("{}: {}", e.code, e.message)),
    );
    let body = format!("<h2>Zones</h2>{}{nodes}", auto_table(&zones, "zones"));
    page(&viewer, "Zones", &body)
}
