//! Accounts: creating a person (password as an argon2id hash, a TOTP secret sealed under an
//! HSM-wrapped key and shown once), disabling and enabling, reading, and ending the bootstrap
//! root token.

use kms_engine::directory::Principal;
use kms_engine::people::{LoginState, UserRecord};
use kms_engine::role::RoleSet;
use kms_engine::secret::SecretString;
use kms_engine::store::StoreError;
use serde::Serialize;

use super::user::{UserView, check_name};
use crate::approvals::invocation::Invocation;
use crate::context::Control;
use crate::error::ControlError;
use crate::{custodians, system_keys, totp};

pub const MIN_PASSWORD: usize = 12;

#[derive(Serialize)]
pub struct CreatedUser {
    user: UserView,
    /// Base32, for an authenticator app; shown once.
    totp_secret: String,
    totp_uri: String,
}

/// Checks a new account before anything is written: its name, the password's length, and that a
/// user (not the root token) gives no administrator role directly (those need approval).
pub fn check_new(
    creator: &Principal,
    name: &str,
    roles: RoleSet,
    password: &SecretString,
) -> Result<(), ControlError> {
    check_name(name)?;
    if password.expose().chars().count() < MIN_PASSWORD {
        return Err(ControlError::invalid(
            "weak_password",
            format!("a password has at least {MIN_PASSWORD} characters"),
        ));
    }
    if roles.iter().any(|r| r.is_administrator()) && !matches!(creator, Principal::Root { .. }) {
        return Err(ControlError::forbidden(
            "approval_required",
            "create the user without administrator roles, then request them with \
             POST /v1/admin/users/{name}/roles (which needs approval)",
        ));
    }
    Ok(())
}

/// Creates the account (checked with [`check_new`]).
pub async fn create(
    ctl: &Control,
    invocation: &Invocation,
    name: String,
    password: SecretString,
    roles: RoleSet,
) -> Result<CreatedUser, ControlError> {
    let event = invocation.event(
        ctl,
        "create_user",
        format!("user:{name}"),
        Some(format!("roles={}", roles.to_csv())),
    );
    let password_hash =
        tokio::task::spawn_blocking(move || custodians::hash_password(password.expose()))
            .await
            .map_err(ControlError::internal)?
            .map_err(ControlError::internal)?;
    let secret = totp::generate_secret();
    let user = UserRecord {
        name: name.clone(),
        roles,
        password_hash,
        totp_sealed: system_keys::seal_totp(ctl, &name, &secret).await?,
        login: LoginState::default(),
        disabled: false,
        created_at: ctl.clock.now(),
    };
    ctl.store.create_user(&user, &event).await?;
    Ok(CreatedUser {
        user: UserView::from(&user),
        totp_secret: totp::base32(&secret),
        totp_uri: totp::uri("kms", &name, &secret),
    })
}

/// Every account.
pub async fn list(ctl: &Control) -> Result<Vec<UserView>, ControlError> {
    Ok(ctl
        .store
        .users()
        .await?
        .iter()
        .map(UserView::from)
        .collect())
}

/// One account, or 404 `user_not_found`.
pub async fn show(ctl: &Control, name: &str) -> Result<UserView, ControlError> {
    let user = ctl
        .store
        .user(name)
        .await?
        .ok_or(StoreError::NotFound("user"))?;
    Ok(UserView::from(&user))
}
