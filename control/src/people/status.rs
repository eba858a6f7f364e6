//! An account's status: disabled (its sessions end) or enabled (unlocked too), and the end of
//! the bootstrap root token.

use super::accounts::show;
use super::user::UserView;
use crate::approvals::invocation::Invocation;
use crate::context::Control;
use crate::error::ControlError;

/// Disables (and ends the sessions of) or enables (and unlocks) the account.
pub async fn set_disabled(
    ctl: &Control,
    invocation: &Invocation,
    name: &str,
    disabled: bool,
) -> Result<UserView, ControlError> {
    let action = if disabled {
        "disable_user"
    } else {
        "enable_user"
    };
    let event = invocation.event(ctl, action, format!("user:{name}"), None);
    let revision = ctl.store.set_user_disabled(name, disabled, &event).await?;
    ctl.synced(revision).await;
    show(ctl, name).await
}

/// Ends the bootstrap credential: from then on, only people with roles administer the KMS.
pub async fn revoke_root_tokens(
    ctl: &Control,
    invocation: &Invocation,
) -> Result<u64, ControlError> {
    let event = invocation.event(ctl, "revoke_root_tokens", "root-tokens".into(), None);
    let (revision, n) = ctl.store.revoke_root_tokens(&event).await?;
    ctl.synced(revision).await;
    Ok(n)
}
