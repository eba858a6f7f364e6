//! Logging in and out. Every admin login needs the second factor. A wrong name, password or code
//! answers the same `invalid_credentials`; after `max_failed_logins` consecutive failures the
//! account is locked (`account_locked`) for `lockout`, even for the right password. A TOTP code
//! works once. Every attempt is audited.

use kms_engine::audit::Outcome;
use kms_engine::clock::Timestamp;
use kms_engine::people::{LoginState, Session};
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

fn millis(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn invalid() -> ControlError {
    ControlError::Unauthenticated {
        code: "invalid_credentials",
        message: "unknown user, wrong password or wrong TOTP code".into(),
    }
}

/// Checks the credentials and opens a session.
pub async fn login(
    ctl: &Control,
    credentials: Credentials,
    remote: Option<String>,
) -> Result<Opened, ControlError> {
    let Credentials {
        user: name,
        password,
        totp: code,
    } = credentials;
    let now = ctl.clock.now();
    let user = ctl.store.user(&name).await?;
    let hash = user.as_ref().map(|u| u.password_hash.clone());
    let password_ok = tokio::task::spawn_blocking(move || {
        custodians::verify_password(hash.as_deref(), password.expose())
    })
    .await
    .map_err(ControlError::internal)?;
    // A name that could not be a user's (any length, any bytes) is not copied into the log.
    let actor = if check_name(&name).is_ok() {
        format!("user:{name}")
    } else {
        "anonymous".to_owned()
    };
    let audit = |outcome: Outcome, code: Option<&str>, detail: Option<String>| {
        let mut event = ctl.event(actor.clone(), "login", None, outcome);
        event.remote.clone_from(&remote);
        event.code = code.map(str::to_owned);
        event.detail = detail;
        event
    };
    let Some(user) = user else {
        ctl.audit
            .record(audit(Outcome::Denied, Some("invalid_credentials"), None))
            .await;
        return Err(invalid());
    };
    if user.disabled {
        ctl.audit
            .record(audit(Outcome::Denied, Some("account_disabled"), None))
            .await;
        return Err(ControlError::forbidden(
            "account_disabled",
            "this account is disabled",
        ));
    }
    if let Some(until) = user.login.locked_until.filter(|u| now < *u) {
        ctl.audit
            .record(audit(Outcome::Denied, Some("account_locked"), None))
            .await;
        return Err(ControlError::Locked {
            code: "account_locked",
            message: format!("too many failed logins: locked until {}", until.rfc3339()),
        });
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
        let failed = user.login.failed_logins + 1;
        let lock = failed >= ctl.access.max_failed_logins;
        let login = LoginState {
            failed_logins: if lock { 0 } else { failed },
            locked_until: lock
                .then(|| Timestamp::from_millis(now.millis() + millis(ctl.access.lockout))),
            totp_last_step: user.login.totp_last_step,
        };
        let detail = Some(if lock {
            format!("failure {failed}: account locked")
        } else {
            format!("failure {failed}")
        });
        let event = audit(Outcome::Denied, Some("invalid_credentials"), detail);
        ctl.store
            .record_login(&user.name, &login, None, &event)
            .await?;
        return Err(invalid());
    };
    let token = token::generate();
    let session = Session {
        hash: TokenHash::of(token.expose()),
        user: user.name.clone(),
        created_at: now,
        expires_at: Timestamp::from_millis(now.millis() + millis(ctl.access.session_ttl)),
    };
    let login = LoginState {
        failed_logins: 0,
        locked_until: None,
        totp_last_step: step,
    };
    let event = audit(Outcome::Success, None, None);
    match ctl
        .store
        .record_login(&user.name, &login, Some(&session), &event)
        .await
    {
        Ok(revision) => ctl.synced(revision).await,
        // A concurrent login used the same code first.
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
