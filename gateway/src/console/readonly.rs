//! Read-only pages: `GET /ui/zones` (zones and their transport keys, then the nodes of each zone
//! with their readiness and sync lag, `nodes.rs`) and `GET /ui/hsm` (tokens with their health and
//! master keys with their KCVs, master-key rotations in progress, and for custodians the share
//! ceremonies in progress: rekey and root-token generation). Each shows API handlers' answers
//! (`GET /v1/admin/zones` and `GET /v1/admin/nodes`; the HSM's), as tables.

use actix_web::{HttpRequest, HttpResponse, web};

use super::call;
use super::html::{auto_table, esc, need_session, page, pre, refusal};
use super::nodes;
use super::session::Viewer;
use crate::api::{admin, hsm as hsm_api};
use crate::error::ApiError;
use crate::state::AppState;
use actix_web::http::StatusCode;

/// A page of tables: each `(heading, field)` of the handler's answer.
async fn tables(
    state: web::Data<AppState>,
    req: HttpRequest,
    title: &str,
    answer: Result<HttpResponse, ApiError>,
    parts: &[(&str, &str)],
    extra: String,
) -> HttpResponse {
    let viewer = match need_session(&state, &req) {
        Ok(v) => v,
        Err(to_login) => return *to_login,
    };
    match call::json(answer).await {
        Ok((_, v)) => {
            let empty = Vec::new();
            let body: String = parts
                .iter()
                .map(|(heading, field)| {
                    let rows = v[*field].as_array().unwrap_or(&empty);
                    format!("<h2>{heading}</h2>{}", auto_table(rows, field))
                })
                .collect();
            page(&viewer, title, &format!("{body}{extra}"))
        }
        Err(e) => refusal(Some(&viewer), &e),
    }
}

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

/// An open share ceremony (`rekey` or `generate-root`), for a custodian: its state as the API
/// shows it to them, or "none" (404).
async fn ceremony(title: &str, answer: Result<HttpResponse, ApiError>) -> String {
    let shown = match call::json(answer).await {
        Ok((_, v)) => pre(&v),
        Err(e) if e.status == StatusCode::NOT_FOUND => {
            r#"<p class="empty">None open.</p>"#.to_owned()
        }
        Err(e) => format!("<p>{}: {}</p>", esc(e.code), esc(&e.message)),
    };
    format!("<h2>{title}</h2>{shown}")
}

pub async fn hsm(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    // Custodians see the share ceremonies in progress (the API shows them to custodians only).
    let mut ceremonies = String::new();
    if Viewer::of(&state, &req).is_some_and(|v| v.custodian()) {
        let rekey = hsm_api::rekey::status::handle(state.clone(), req.clone()).await;
        ceremonies.push_str(&ceremony("Rekey of the unseal shares in progress", rekey).await);
        let root = hsm_api::generate_root::status::handle(state.clone(), req.clone()).await;
        ceremonies.push_str(&ceremony("Root token generation in progress", root).await);
    }
    let rotations =
        match call::json(hsm_api::rotations::handle(state.clone(), req.clone()).await).await {
            Ok((_, v)) => {
                let rows = v["rotations"].as_array().cloned().unwrap_or_default();
                format!(
                    "<h2>Master-key rotations in progress</h2>{}",
                    auto_table(&rows, "rotations")
                )
            }
            Err(_) => String::new(),
        };
    let answer = hsm_api::status::handle(state.clone(), req.clone()).await;
    let parts = [("Tokens", "tokens"), ("Master keys", "master_keys")];
    tables(state, req, "HSM", answer, &parts, rotations + &ceremonies).await
}
