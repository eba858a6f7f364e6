//! Enrolment: a person sets their own password and TOTP with a one-time token (short-lived,
//! single use, audited). Whoever creates or resets an account never learns either.
//!
//! A token is 32 random bytes, 64 hex digits. When a user (not the bootstrap root token) creates
//! or resets an account, the action waits for approval and the token is split (split knowledge):
//! the first half goes to the requester, the second to the approver whose vote ran it, so that
//! neither alone can enrol as the new person; the person is given both halves and types them
//! one after the other.
//!
//! Two steps: `begin` offers a fresh TOTP secret (shown to the person only), `complete` takes
//! their password and a code from that secret, and only then are both theirs. A person renews
//! their own credentials with their current password and code (`renew`), which gives them a new
//! token of their own.

use kms_engine::audit::Outcome;
use kms_engine::clock::Timestamp;
use kms_engine::people::{Enrolment, EnrolmentRecord};
use kms_engine::secret::SecretString;
use kms_engine::token::TokenHash;
use serde::Serialize;
use zeroize::Zeroizing;

use super::login::{Checked, Credentials, check, millis};
use super::user::check_name;
use crate::context::Control;
use crate::error::ControlError;
use crate::{custodians, system_keys, totp};

pub const MIN_PASSWORD: usize = 12;

/// A new token: its text (shown once) and the enrolment the store keeps.
pub struct Issued {
    pub token: SecretString,
    pub enrolment: Enrolment,
}

/// How a token is handed out.
#[derive(Serialize)]
pub struct Handed {
    /// The whole token, or this party's half.
    pub token: String,
    /// `whole`, `first_half` or `second_half`.
    pub part: &'static str,
    pub expires_at: String,
}

/// Makes a token for `user`, issued by `created_by`.
pub fn issue(ctl: &Control, user: &str, created_by: &str) -> Issued {
    let mut raw = Zeroizing::new([0u8; 32]);
    rand::fill(&mut raw[..]);
    let token = SecretString::new(hex::encode(&raw[..]));
    let now = ctl.clock.now();
    let ttl = millis(ctl.access.enrolment_ttl);
    Issued {
        enrolment: Enrolment {
            token: TokenHash::of(token.expose()),
            user: user.to_owned(),
            created_at: now,
            expires_at: Timestamp::from_millis(now.millis().saturating_add(ttl)),
            created_by: created_by.to_owned(),
        },
        token,
    }
}

impl Issued {
    /// The whole token, for one party (the root token at bootstrap, a person renewing their own
    /// credentials).
    pub fn whole(&self) -> Handed {
        Handed {
            token: self.token.expose().to_owned(),
            part: "whole",
            expires_at: self.enrolment.expires_at.rfc3339(),
        }
    }

    /// The two halves, for two parties.
    pub fn halves(&self) -> (Handed, Handed) {
        let (first, second) = self.token.expose().split_at(32);
        let at = self.enrolment.expires_at.rfc3339();
        (
            Handed {
                token: first.to_owned(),
                part: "first_half",
                expires_at: at.clone(),
            },
            Handed {
                token: second.to_owned(),
                part: "second_half",
                expires_at: at,
            },
        )
    }
}

fn invalid() -> ControlError {
    ControlError::Unauthenticated {
        code: "invalid_enrolment",
        message: "unknown, used, revoked or expired enrolment token for this user".into(),
    }
}

/// The person's usable enrolment (both halves joined), or `invalid_enrolment`, audited.
async fn usable(
    ctl: &Control,
    user: &str,
    token: &SecretString,
    remote: &Option<String>,
    action: &str,
) -> Result<EnrolmentRecord, ControlError> {
    let now = ctl.clock.now();
    let actor = if check_name(user).is_ok() {
        format!("user:{user}")
    } else {
        "anonymous".to_owned()
    };
    let refuse = |e: ControlError| async {
        let mut event = ctl.event(actor.clone(), action, None, Outcome::Denied);
        event.remote.clone_from(remote);
        event.code = Some(e.code().to_owned());
        ctl.audit.record(event).await;
        e
    };
    if let Err(e) = ctl.logins.admit(remote.as_deref(), user, now) {
        return Err(refuse(e).await);
    }
    let hash = TokenHash::of(token.expose().trim());
    match ctl.store.enrolment(&hash).await? {
        Some(e) if e.usable(now) && e.enrolment.user == user => Ok(e),
        _ => Err(refuse(invalid()).await),
    }
}

#[derive(Serialize)]
pub struct Offered {
    user: String,
    /// Base32, for an authenticator app; shown to this person only.
    totp_secret: String,
    totp_uri: String,
}

/// Step one: a fresh TOTP secret for the person to add to their authenticator.
pub async fn begin(
    ctl: &Control,
    user: &str,
    token: &SecretString,
    remote: Option<String>,
) -> Result<Offered, ControlError> {
    let found = usable(ctl, user, token, &remote, "enrol").await?;
    let secret = Zeroizing::new(totp::generate_secret());
    let sealed = system_keys::seal_totp(ctl, user, &secret).await?;
    ctl.store
        .offer_enrolment_totp(&found.enrolment.token, &sealed, ctl.clock.now())
        .await?;
    Ok(Offered {
        user: user.to_owned(),
        totp_secret: totp::base32(&secret),
        totp_uri: totp::uri("kms", user, &secret),
    })
}

/// Step two: the person's password and a code from the secret offered; both become theirs.
pub async fn complete(
    ctl: &Control,
    user: &str,
    token: &SecretString,
    password: SecretString,
    code: &str,
    remote: Option<String>,
) -> Result<(), ControlError> {
    let found = usable(ctl, user, token, &remote, "enrol").await?;
    if password.expose().chars().count() < MIN_PASSWORD {
        return Err(ControlError::invalid(
            "weak_password",
            format!("a password has at least {MIN_PASSWORD} characters"),
        ));
    }
    let Some(pending) = &found.totp_pending else {
        return Err(ControlError::conflict(
            "enrolment_not_begun",
            "begin the enrolment first: it shows the TOTP secret to add to an authenticator",
        ));
    };
    let secret = system_keys::open_totp(ctl, user, pending).await?;
    let Some(step) = totp::verify(&secret, code.trim(), ctl.clock.now().millis(), 0) else {
        return Err(ControlError::invalid(
            "invalid_totp_code",
            "the code does not match the TOTP secret this enrolment showed",
        ));
    };
    let password_hash = {
        let _slot = ctl.logins.hashing().await?;
        tokio::task::spawn_blocking(move || custodians::hash_password(password.expose()))
            .await
            .map_err(ControlError::internal)?
            .map_err(ControlError::internal)?
    };
    let mut event = ctl.event(format!("user:{user}"), "enrol", None, Outcome::Success);
    event.remote = remote;
    event.detail = Some(format!("issued by {}", found.enrolment.created_by));
    let revision = ctl
        .store
        .complete_enrolment(&found.enrolment.token, &password_hash, step, &event)
        .await?;
    ctl.synced(revision).await;
    Ok(())
}

/// A person renews their own password and TOTP: with their current ones, a new token of their
/// own (its use replaces both; the old ones work until then).
pub async fn renew(
    ctl: &Control,
    credentials: Credentials,
    remote: Option<String>,
) -> Result<Handed, ControlError> {
    let Checked { user, .. } = check(ctl, credentials, remote.clone(), "renew_credentials").await?;
    let actor = format!("user:{}", user.name);
    let issued = issue(ctl, &user.name, &actor);
    let mut event = ctl.event(actor, "renew_credentials", None, Outcome::Success);
    event.remote = remote;
    event.target = Some(format!("user:{}", user.name));
    ctl.store.issue_enrolment(&issued.enrolment, &event).await?;
    Ok(issued.whole())
}
