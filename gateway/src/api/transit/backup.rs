//! `GET {mount}/backup/:name` → `{"backup":"<base64>"}`: the key, every version, its material
//! wrapped under the master key and the whole tagged (kms_control::keys::transit_backup). Only a
//! key whose `allow_plaintext_backup` is set (`400 plaintext_backup_not_allowed`), and only once
//! the call passes the approval rules (gated.rs). A root token or a `key_admin`
//! (`transit_backup_key`).

use actix_web::{HttpRequest, HttpResponse, web};
use kms_control::approvals::action::Action;
use kms_control::keys::transit_backup::{self, Params};
use serde_json::json;

use super::envelope::{self, VaultError};
use crate::api::admin::{key_admin, run};
use crate::state::AppState;

pub async fn backup(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, VaultError> {
    let action = "transit_backup_key";
    let name = req.match_info().query("name");
    let (caller, target) = key_admin(&state, &req, name, action).await?;
    let key = super::read_key::snapshot(&state, name).map_err(envelope::missing_is_400)?;
    transit_backup::check(&key)?;
    let params = Params {
        name: name.to_owned(),
    };
    let gated = Action::BackupKey(params.clone());
    super::gated::pass(&state, &caller, gated, target.clone()).await?;
    let invocation = caller.invocation();
    let backup = run(&state, &caller, action, target, move |ctl| async move {
        transit_backup::backup(&ctl, &invocation, &params).await
    })
    .await?;
    Ok(envelope::ok(json!({ "backup": backup }), Vec::new()))
}
