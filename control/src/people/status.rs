//! Enabling an account again (disabling it waits for approval: people/accounts.rs), and the end
//! of the bootstrap root token.

use super::accounts::show;
use super::user::UserView;
use crate::approvals::invocation::Invocation;
use crate::context::Control;
use crate::error::ControlError;

/// Enables (and unlocks) the account.
pub async fn enable(
    ctl: &Control,
    invocation: &Invocation,
    name: &str,
) -> Result<UserView, ControlError> {
    let event = invocation.event(ctl, "enable_user", format!("user:{name}"), None);
    let revision = ctl.store.set_user_disabled(name, false, &event).await?;
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
