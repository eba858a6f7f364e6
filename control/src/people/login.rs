//! Logging in and out. Every admin login needs the second factor. A wrong name, password or code
//! answers the same `invalid_credentials`; the `max_failed_logins`-th failure in a row locks the
//! account (`account_locked`) for `lockout`, even for the right password, counted in one
//! conditional update so that concurrent failures lock it at exactly the limit. A TOTP code
//! works once. Attempts are throttled per source and per account, and password hashing is
//! bounded (people/guard.rs). Every attempt is audited.

use kms_engine::audit::Outcome;
use kms_engine::clock::Timestamp;
use kms_engine::people::{Session, UserRecord};
use kms_engine::secret::SecretString;
use kms_engine::store::StoreError;
use kms_engine::token::{self, TokenHash};
use serde::Serialize;

use super::user::check_name;
use crate::approvals::invocation::Invocation;
use crate::context::Control;
use crate::error::ControlError;
use crate::{custodians, system_keys, totp};

/// What a person types.
pub struct Credentials {
    pub user: String,
    pub password: SecretString,
    pub totp: String,
}

#[derive(Serialize)]
pub struct Opened {
    token: String,
    expires_at: String,
    user: String,
    roles: Vec<&'static str>,
}

pub(crate) fn millis(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn invalid() -> ControlError {
    ControlError::Unauthenticated {
        code: "invalid_credentials",
        message: "unknown user, wrong password or wrong TOTP code".into(),
    }
}

/// A person whose password and code checked out, and the TOTP step their code was for.
pub(crate) struct Checked {
    pub user: UserRecord,
    pub step: u64,
}

/// Checks a person's password and code for `action` (`login`, `renew_credentials`): throttled,
/// hashed within the bound, failures counted and locks applied atomically, every refusal
/// audited.
pub(crate) async fn check(
    ctl: &Control,
    credentials: Credentials,
    remote: Option<String>,
    action: &str,
) -> Result<Checked, ControlError> {
    let Credentials {
        user: name,
        password,
        totp: code,
    } = credentials;
    let now = ctl.clock.now();
    // A name that could not be a user's (any length, any bytes) is not copied into the log.
    let actor = if check_name(&name).is_ok() {
        format!("user:{name}")
    } else {
        "anonymous".to_owned()
    };
    let audit = |outcome: Outcome, code: Option<&str>, detail: Option<String>| {
        let mut event = ctl.event(actor.clone(), action, None, outcome);
        event.remote.clone_from(&remote);
        event.code = code.map(str::to_owned);
        event.detail = detail;
        event
    };
    let refuse = |e: ControlError| async {
        ctl.audit
            .record(audit(Outcome::Denied, Some(e.code()), None))
            .await;
        e
    };
    if let Err(e) = ctl.logins.admit(remote.as_deref(), &name, now) {
        return Err(refuse(e).await);
    }
    let user = ctl.store.user(&name).await?;
    let hash = user
        .as_ref()
        .filter(|u| u.enrolled())
        .map(|u| u.password_hash.clone());
    let password_ok = {
        let _slot = match ctl.logins.hashing().await {
            Ok(slot) => slot,
            Err(e) => return Err(refuse(e).await),
        };
        tokio::task::spawn_blocking(move || {
            custodians::verify_password(hash.as_deref(), password.expose())
        })
        .await
        .map_err(ControlError::internal)?
    };
    let Some(user) = user.filter(UserRecord::enrolled) else {
        return Err(refuse(invalid()).await);
    };
    if user.disabled {
        let e = ControlError::forbidden("account_disabled", "this account is disabled");
        return Err(refuse(e).await);
    }
    if let Some(until) = user.login.locked_until.filter(|u| now < *u) {
        return Err(refuse(locked(until)).await);
    }
    let step = if password_ok {
        let secret = system_keys::open_totp(ctl, &user.name, &user.totp_sealed).await?;
        totp::verify(
            &secret,
            code.trim(),
            now.millis(),
            user.login.totp_last_step,
        )
    } else {
        None
    };
    let Some(step) = step else {
        let until = Timestamp::from_millis(now.millis().saturating_add(millis(ctl.access.lockout)));
        let event = audit(Outcome::Denied, Some("invalid_credentials"), None);
        let counted = ctl
            .store
            .record_login_failure(&user.name, ctl.access.max_failed_logins, until, &event)
            .await?;
        return Err(match counted {
            // Locked by failures that raced this one.
            None => ctl
                .store
                .user(&user.name)
                .await?
                .and_then(|u| u.login.locked_until)
                .map_or_else(invalid, locked),
            Some(_) => invalid(),
        });
    };
    Ok(Checked { user, step })
}

fn locked(until: Timestamp) -> ControlError {
    ControlError::Locked {
        code: "account_locked",
        message: format!("too many failed logins: locked until {}", until.rfc3339()),
    }
}

/// Checks the credentials and opens a session.
pub async fn login(
    ctl: &Control,
    credentials: Credentials,
    remote: Option<String>,
) -> Result<Opened, ControlError> {
    let Checked { user, step } = check(ctl, credentials, remote.clone(), "login").await?;
    let now = ctl.clock.now();
    let token = token::generate();
    let session = Session {
        hash: TokenHash::of(token.expose()),
        user: user.name.clone(),
        created_at: now,
        expires_at: Timestamp::from_millis(now.millis() + millis(ctl.access.session_ttl)),
    };
    let mut event = ctl.event(
        format!("user:{}", user.name),
        "login",
        None,
        Outcome::Success,
    );
    event.remote = remote;
    match ctl
        .store
        .record_login(&user.name, step, &session, &event)
        .await
    {
        Ok(revision) => ctl.synced(revision).await,
        // A concurrent login used the same code first, or failures locked the account meanwhile.
        Err(StoreError::Conflict(_)) => return Err(invalid()),
        Err(e) => return Err(e.into()),
    }
    Ok(Opened {
        token: token.expose().to_owned(),
        expires_at: session.expires_at.rfc3339(),
        user: user.name,
        roles: user.roles.names(),
    })
}

/// Ends the session whose token hashes to `session`.
pub async fn logout(
    ctl: &Control,
    invocation: &Invocation,
    session: &TokenHash,
) -> Result<(), ControlError> {
    let mut event = ctl.event(invocation.actor.clone(), "logout", None, Outcome::Success);
    event.remote.clone_from(&invocation.remote);
    let revision = ctl.store.end_session(session, &event).await?;
    ctl.synced(revision).await;
    Ok(())
}
