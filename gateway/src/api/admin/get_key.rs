//! `GET /v1/admin/keys/{name}` → versions with state and timestamps, the active version, grants
//! and history.

use actix_web::{HttpRequest, HttpResponse, web};

use super::key_view::{KeyView, key_id};
use crate::error::ApiError;
use crate::state::AppState;

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let name = name.into_inner();
    super::key_admin(&state, &req, &name, "read_key").await?;
    let view = state
        .io({
            let st = state.clone().into_inner();
            async move {
                let id = key_id(&st, &name).await?;
                KeyView::load(&st, id).await
            }
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}
