//! Creating a key: its name, algorithm, purpose and settings, checked; symmetric material is
//! generated inside the HSM, a key pair here and wrapped by the HSM before it reaches the store.

use kms_engine::algorithm::Algorithm;
use kms_engine::ids::KeyName;
use kms_engine::keyring::{DEFAULT_NOTICE_MS, KeySettings, Protection, Purpose};
use serde::Deserialize;

use super::view::KeyView;
use crate::approvals::invocation::Invocation;
use crate::context::Control;
use crate::error::ControlError;
use crate::{durations, keyops, system_keys};

/// What an administrator asks for.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    pub name: String,
    pub algorithm: Option<String>,
    /// `aes-256-gcm-siv` only.
    #[serde(default)]
    pub deterministic: bool,
    /// e.g. `90d`: rotate automatically this long after each rotation.
    pub rotation_period: Option<String>,
    /// e.g. `7d` (the default): announce a scheduled rotation this long before.
    pub notice_period: Option<String>,
    /// Whether the material may be exported (after a quorum approves each export).
    #[serde(default)]
    pub exportable: bool,
    /// `password` makes a password key (docs/passwords.md); absent: a general key.
    pub purpose: Option<String>,
    /// Password keys: `aead` (the default) or `hash`.
    pub protection: Option<String>,
}

/// A request, checked.
#[derive(Debug)]
pub struct NewKey {
    pub name: KeyName,
    pub algorithm: Algorithm,
    pub settings: KeySettings,
}

fn invalid(message: &str) -> ControlError {
    ControlError::invalid("invalid_request", message)
}

/// The purpose and the algorithm (an RSA one for a password key, rsa-3072 by default).
fn purpose(body: &Request) -> Result<(Purpose, Algorithm), ControlError> {
    let password = match body.purpose.as_deref() {
        None | Some("general") => false,
        Some("password") => true,
        Some(_) => return Err(invalid("`purpose` is `general` or `password`")),
    };
    let default = if password { "rsa-3072" } else { "aes-256-gcm" };
    let algorithm = Algorithm::parse(body.algorithm.as_deref().unwrap_or(default))?;
    if !password {
        if body.protection.is_some() {
            return Err(invalid("`protection` applies to password keys only"));
        }
        return Ok((Purpose::General, algorithm));
    }
    if algorithm.rsa_bits().is_none() || body.deterministic {
        return Err(invalid(
            "a password key is rsa-2048, rsa-3072 or rsa-4096, and not deterministic",
        ));
    }
    let protection = Protection::parse(body.protection.as_deref().unwrap_or("aead"))?;
    Ok((Purpose::Password(protection), algorithm))
}

impl NewKey {
    pub fn check(body: &Request) -> Result<Self, ControlError> {
        let name = KeyName::new(&body.name)?;
        system_keys::refuse_reserved(&body.name)?;
        let (purpose, algorithm) = purpose(body)?;
        if body.deterministic && algorithm != Algorithm::Aes256GcmSiv {
            return Err(invalid("only aes-256-gcm-siv keys may be deterministic"));
        }
        let settings = KeySettings {
            deterministic: body.deterministic,
            rotation_period_ms: body
                .rotation_period
                .as_deref()
                .map(|p| durations::parse("rotation_period", p))
                .transpose()?,
            notice_period_ms: body
                .notice_period
                .as_deref()
                .map(|p| durations::parse("notice_period", p))
                .transpose()?
                .unwrap_or(DEFAULT_NOTICE_MS),
            exportable: body.exportable,
            purpose,
            // Only Transit's config sets it (docs/vault-compat.md).
            deletion_allowed: false,
            // Transit's derived, convergent and imported keys are made through Transit only.
            ..KeySettings::default()
        };
        Ok(Self {
            name,
            algorithm,
            settings,
        })
    }
}

/// Creates the key with its first version; answers when the data plane serves it.
pub async fn create(
    ctl: &Control,
    invocation: &Invocation,
    key: NewKey,
) -> Result<KeyView, ControlError> {
    let NewKey {
        name,
        algorithm,
        settings,
    } = key;
    let event = invocation.event(
        ctl,
        "create_key",
        format!("key:{name}"),
        Some(format!(
            "algorithm={algorithm} deterministic={} exportable={} purpose={}",
            settings.deterministic,
            settings.exportable,
            settings.purpose.name()
        )),
    );
    let id = keyops::create(ctl, name, algorithm, settings, &invocation.actor, &event).await?;
    KeyView::load(ctl, id).await
}
