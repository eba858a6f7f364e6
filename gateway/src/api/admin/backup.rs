//! `POST /v1/admin/backup` → the backup archive (`application/octet-stream`; docs/backup.md): the
//! whole store, encrypted under a fresh backup key wrapped by the active master key.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use super::{run, success};
use crate::auth;
use crate::backup::{BackupError, snapshot};
use crate::error::ApiError;
use crate::master_keys;
use crate::state::AppState;

fn api_error(e: BackupError) -> ApiError {
    match e {
        BackupError::Hsm(e) => e.into(),
        BackupError::Store(e) => e.into(),
        other => ApiError::internal(&other),
    }
}

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let target = "store".to_owned();
    let caller = auth::require_admin(&state, &req, "backup", Some(target.clone())).await?;
    let mut event = success(&state, &caller, "backup", target.clone());
    let (archive, detail) = run(&state, &caller, "backup", target, move |st| async move {
        let master = master_keys::active(st.store.as_ref()).await?;
        let archive = snapshot::create(st.store.as_ref(), &st.hsm, st.clock.as_ref(), &master)
            .await
            .map_err(api_error)?;
        let detail = format!(
            "master_key={} kcv={} bytes={}",
            master.id,
            master.kcv,
            archive.len()
        );
        Ok((archive, detail))
    })
    .await?;
    event.detail = Some(detail);
    state.audit.record(event).await;
    Ok(HttpResponse::build(StatusCode::OK)
        .content_type("application/octet-stream")
        .body(archive))
}
