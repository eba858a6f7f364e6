//! `GET /v1/admin/keys/{name}/usage?since=&until=&bucket=` → the key's use per version over time
//! (`kms_control::keys::usage`): `since` an RFC 3339 time or a duration before `until` (`24h`,
//! `7d`; default 24 hours, or 30 days for days), `until` an RFC 3339 time (default now),
//! `bucket` `hour` (default) or `day`. Read with the key's description (`read_key_usage`, the
//! roles of `read_key`).

use actix_web::{HttpRequest, HttpResponse, web};
use kms_control::keys::usage::{SeriesQuery, range, series};
use serde::Deserialize;

use crate::error::ApiError;
use crate::state::AppState;

#[derive(Deserialize, Default)]
pub struct Query {
    pub since: Option<String>,
    pub until: Option<String>,
    pub bucket: Option<String>,
}

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    name: web::Path<String>,
    q: web::Query<Query>,
) -> Result<HttpResponse, ApiError> {
    let name = name.into_inner();
    super::key_admin(&state, &req, &name, "read_key_usage").await?;
    let q = q.into_inner();
    let checked = range(
        &SeriesQuery {
            since: q.since,
            until: q.until,
            bucket: q.bucket,
        },
        state.clock.now(),
    )?;
    let view = state
        .on_control(move |ctl| async move { series(&ctl, &name, checked).await })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}
