//! `GET /v1/admin/apps/{name}` → the app with its tokens' ids and lifetimes.

use actix_web::{HttpRequest, HttpResponse, web};

use super::app_admin;
use super::app_view::{AppView, find_app};
use crate::error::ApiError;
use crate::state::AppState;

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let name = name.into_inner();
    app_admin(&state, &req, &name, "get_app").await?;
    let st = state.clone().into_inner();
    let app = state
        .io(async move {
            let app = find_app(&st, &name).await?;
            let mut found = st.store.list_apps(Some(&app.name)).await?;
            found
                .pop()
                .ok_or_else(|| kms_engine::store::StoreError::NotFound("app").into())
        })
        .await?;
    Ok(HttpResponse::Ok().json(AppView::new(&app, state.clock.now())))
}
