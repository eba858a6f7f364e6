//! `POST {mount}/keys/:name/trim` `{"min_available_version":N}` → the key, as read, without the
//! versions below N. N may not exceed `min_decryption_version`. Each of those versions is
//! scheduled for destruction now (one transaction each, with its history entry); the scheduler
//! then erases their material as for any destruction. Administrators only (`transit_trim_key`).

use actix_web::{HttpRequest, HttpResponse, web};
use kms_engine::store::{VersionAction, VersionChange};
use kms_engine::version::VersionState;

use super::envelope::VaultError;
use super::{Name, admin_request, read_key};
use crate::api::admin::{run, success};
use crate::state::AppState;
use kms_control::keyops;

const REASON: &str = "trimmed through the Transit API";

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    name: Name,
    payload: web::Payload,
) -> Result<HttpResponse, VaultError> {
    let name = name.into_inner();
    let (caller, target, mut body) =
        admin_request(&state, &req, &name, "transit_trim_key", payload).await?;
    let key = read_key::snapshot(&state, &name).map_err(super::envelope::missing_is_400)?;
    let min = body.uint("min_available_version")?.unwrap_or(0);
    if min == 0 || min > u64::from(key.min_decryption_version.get()) {
        return Err(VaultError::bad_request(
            "invalid_request",
            "`min_available_version` must be 1 to the key's min_decryption_version",
        ));
    }
    let doomed: Vec<_> = key
        .versions()
        .iter()
        .filter(|v| u64::from(v.version.get()) < min)
        .filter(|v| matches!(v.state, VersionState::DecryptOnly | VersionState::Disabled))
        .map(|v| v.version)
        .collect();
    let event = success(&state, &caller, "transit_trim_key", target.clone());
    let actor = caller.actor();
    let id = key.id;
    let key_name = name.clone();
    run(&state, &caller, "transit_trim_key", target, move |st| async move {
        let now = st.clock.now();
        for version in doomed {
            let change = VersionChange {
                key: id,
                version,
                action: VersionAction::ScheduleDestruction { destroy_at: now },
                at: now,
                actor: actor.clone(),
                reason: REASON.to_owned(),
            };
            let mut audit = event.clone();
            audit.detail = Some(format!("version={version} reason={REASON}"));
            let revision = st.store.change_version(&change, &audit).await?;
            st.synced(revision).await;
            keyops::event(
                &st,
                "version_destruction_scheduled",
                id,
                &key_name,
                Some(version),
                serde_json::json!({ "actor": actor, "reason": REASON, "destroy_at": now.rfc3339() }),
            )
            .await;
        }
        Ok(())
    })
    .await?;
    read_key::answer(&state, &name, body.warnings()).await
}
