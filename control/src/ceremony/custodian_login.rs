//! kms.toml custodians authenticate to ceremonies with their name and password (HTTP Basic):
//! throttled per source and per name, hashed within the bound on concurrent hashing, and locked
//! after `max_failed_logins` failures in a row for `lockout` (in memory: custodians are not in
//! the store), like people's logins. Every refusal is audited.

use kms_engine::audit::Outcome;
use kms_engine::secret::SecretString;

use crate::context::Control;
use crate::custodians::Custodian;
use crate::error::ControlError;

/// The custodian `name` if `password` is theirs.
pub async fn check(
    ctl: &Control,
    name: &str,
    password: SecretString,
    remote: Option<String>,
    action: &str,
    target: Option<String>,
) -> Result<Custodian, ControlError> {
    let now = ctl.clock.now();
    let refuse = |e: ControlError| async {
        let mut event = ctl.event(
            format!("custodian:{name}"),
            action,
            target.clone(),
            Outcome::Denied,
        );
        event.code = Some(e.code().to_owned());
        event.remote.clone_from(&remote);
        ctl.audit.record(event).await;
        e
    };
    if let Err(e) = ctl
        .logins
        .admit(remote.as_deref(), &format!("custodian:{name}"), now)
    {
        return Err(refuse(e).await);
    }
    if let Some(until) = ctl.logins.custodian_locked(name, now) {
        let e = ControlError::Locked {
            code: "account_locked",
            message: format!("too many failed attempts: locked until {}", until.rfc3339()),
        };
        return Err(refuse(e).await);
    }
    let custodians = ctl.ceremonies.custodians.clone();
    let checked = name.to_owned();
    let found = {
        let _slot = match ctl.logins.hashing().await {
            Ok(slot) => slot,
            Err(e) => return Err(refuse(e).await),
        };
        tokio::task::spawn_blocking(move || custodians.verify(&checked, password.expose()))
            .await
            .map_err(ControlError::internal)?
    };
    match found {
        Some(c) => {
            ctl.logins.custodian_succeeded(name);
            Ok(c)
        }
        None => {
            ctl.logins.custodian_failed(
                name,
                ctl.access.max_failed_logins,
                ctl.access.lockout,
                now,
            );
            let e = ControlError::Unauthenticated {
                code: "invalid_credentials",
                message: "unknown custodian or wrong password".into(),
            };
            Err(refuse(e).await)
        }
    }
}
