//! `POST {mount}/keys/:name/config` `{"min_decryption_version"?,"auto_rotate_period"?,
//! "deletion_allowed"?,...}` → the key, as read. `min_encryption_version` only 0, `exportable` and
//! `allow_plaintext_backup` only false (docs/vault-compat.md). Administrators only
//! (`transit_configure_key`).

use actix_web::{HttpRequest, HttpResponse, web};
use kms_engine::ids::KeyVersion;
use kms_engine::store::KeyConfig;

use super::create_key::{refuse_unsupported, rotate_period};
use super::envelope::VaultError;
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
    refuse_unsupported(&mut body, &["exportable", "allow_plaintext_backup"])?;
    if !matches!(body.uint("min_encryption_version")?, None | Some(0)) {
        return Err(VaultError::bad_request(
            "invalid_request",
            "`min_encryption_version` other than 0 is not supported: the latest version encrypts",
        ));
    }
    let min_decryption_version = match body.uint("min_decryption_version")? {
        None | Some(0) => None,
        Some(v) => Some(KeyVersion::new(u32::try_from(v).unwrap_or(u32::MAX))?),
    };
    let config = KeyConfig {
        min_decryption_version,
        rotation_period_ms: rotate_period(&mut body)?,
        notice_period_ms: None,
        deletion_allowed: body.bool("deletion_allowed")?,
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
        .await?;
    } else {
        read_key::snapshot(&state, &name)?;
    }
    read_key::answer(&state, &name, warnings).await
}
