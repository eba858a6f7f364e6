//! `POST {mount}/keys/:name/config` `{"min_decryption_version"?,"min_encryption_version"?,
//! "auto_rotate_period"?,"deletion_allowed"?,"exportable"?}` → the key, as read. Neither minimum
//! may pass the latest version (400, as in Vault); `exportable` and `allow_plaintext_backup` may
//! only be turned on (exports and backups still need approval: transit/backup.rs). Administrators
//! only (`transit_configure_key`).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use kms_engine::ids::KeyVersion;
use kms_engine::store::KeyConfig;

use super::create_key::rotate_period;
use super::envelope::{VaultError, missing_is_400};
use super::{Name, admin_request, read_key};
use crate::api::admin::{run, success};
use crate::state::AppState;
use kms_control::keys::view::key_id;

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    name: Name,
    payload: web::Payload,
) -> Result<HttpResponse, VaultError> {
    let name = name.into_inner();
    let (caller, target, mut body) =
        admin_request(&state, &req, &name, "transit_configure_key", payload).await?;
    let min_encryption_version = body
        .uint("min_encryption_version")?
        .map(|v| u32::try_from(v).unwrap_or(u32::MAX));
    let exportable = body.bool("exportable")?;
    let min_decryption_version = match body.uint("min_decryption_version")? {
        None | Some(0) => None,
        Some(v) => Some(KeyVersion::new(u32::try_from(v).unwrap_or(u32::MAX))?),
    };
    let config = KeyConfig {
        min_decryption_version,
        rotation_period_ms: rotate_period(&mut body)?,
        notice_period_ms: None,
        deletion_allowed: body.bool("deletion_allowed")?,
        min_encryption_version,
        exportable,
        allow_plaintext_backup: body.bool("allow_plaintext_backup")?,
    };
    let warnings = body.warnings();
    if !config.is_empty() {
        let mut event = success(&state, &caller, "transit_configure_key", target.clone());
        event.detail = Some("configured through the Transit API".into());
        let actor = caller.actor();
        let key = name.clone();
        run(
            &state,
            &caller,
            "transit_configure_key",
            target,
            |st| async move {
                let id = key_id(&st, &key).await?;
                let revision = st
                    .store
                    .configure_key(
                        id,
                        &config,
                        st.clock.now(),
                        &actor,
                        "configured through the Transit API",
                        &event,
                    )
                    .await?;
                st.synced(revision).await;
                Ok(())
            },
        )
        .await
        .map_err(|e| {
            // A minimum above the latest version: Vault's 400, not a conflict to retry.
            let e = missing_is_400(e);
            if e.status == StatusCode::CONFLICT {
                crate::error::ApiError {
                    status: StatusCode::BAD_REQUEST,
                    ..e
                }
            } else {
                e
            }
        })?;
    } else {
        read_key::snapshot(&state, &name).map_err(missing_is_400)?;
    }
    read_key::answer(&state, &name, warnings).await
}
