//! Read-only pages: `GET /ui/zones` (zones and their transport keys), one API handler's answer as
//! tables. (The HSM page, with the custodians' steps, is `hsm.rs`.)

use actix_web::{HttpRequest, HttpResponse, web};

use super::call;
use super::html::{auto_table, need_session, page, refusal};
use crate::api::admin;
use crate::error::ApiError;
use crate::state::AppState;

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
    let answer = admin::zones::list::handle(state.clone(), req.clone()).await;
    tables(
        state,
        req,
        "Zones",
        answer,
        &[("Zones", "zones")],
        String::new(),
    )
    .await
}
