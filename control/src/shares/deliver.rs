//! Handing new unseal shares out: in plaintext to whoever completed the operation (only when no
//! custodian keys were given), or each encrypted to its custodian's key, in order, so that the
//! plaintext never leaves the server.

use kms_engine::crypto::recipient::{self, Recipient, Sealed};
use kms_engine::secret::SecretString;
use serde_json::json;

use crate::error::ControlError;

/// New shares, as they leave the server.
pub enum Delivered {
    /// No keys were given: the shares themselves (shown once, to one person).
    Plain(Vec<SecretString>),
    /// Share `i` encrypted to key `i`.
    Encrypted(Vec<Sealed>),
}

/// Parses the `share_keys` of a request: one key per share, each an RSA public key of at least
/// 2048 bits (`400 invalid_recipient_key` otherwise, naming which).
pub fn recipients(
    keys: Option<&[String]>,
    shares: u8,
) -> Result<Option<Vec<Recipient>>, ControlError> {
    let Some(keys) = keys else {
        return Ok(None);
    };
    if keys.len() != usize::from(shares) {
        return Err(ControlError::invalid(
            "share_keys_count",
            format!(
                "`share_keys` has {} keys for {shares} shares: give one per share",
                keys.len()
            ),
        ));
    }
    Ok(Some(recipient::parse_all(keys, "share_keys")?))
}

/// The recipients' fingerprints, for custodians to check and for the audit trail.
pub fn fingerprints(to: &[Recipient]) -> Vec<String> {
    to.iter().map(|r| r.fingerprint().to_owned()).collect()
}

/// Encrypts share `i` to `to[i]` (when keys were given); the plaintext shares are dropped
/// (zeroized) here.
pub fn deliver(
    shares: Vec<SecretString>,
    to: Option<&[Recipient]>,
) -> Result<Delivered, ControlError> {
    let Some(to) = to else {
        return Ok(Delivered::Plain(shares));
    };
    if to.len() != shares.len() {
        return Err(ControlError::internal(
            "shares and recipients differ in number",
        ));
    }
    let sealed = shares
        .iter()
        .zip(to)
        .map(|(share, r)| r.seal(share.expose().as_bytes()))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Delivered::Encrypted(sealed))
}

impl Delivered {
    /// `{"shares": [...]}` or `{"encrypted_shares": [{"fingerprint","ciphertext"}]}`.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Delivered::Plain(shares) => {
                json!({ "shares": shares.iter().map(SecretString::expose).collect::<Vec<_>>() })
            }
            Delivered::Encrypted(sealed) => json!({ "encrypted_shares": sealed }),
        }
    }

    /// For the audit record: the fingerprints, or that the shares went out in plaintext.
    pub fn describe(&self) -> String {
        match self {
            Delivered::Plain(s) => format!("{} shares in plaintext to the last submitter", s.len()),
            Delivered::Encrypted(sealed) => format!(
                "shares encrypted to {}",
                sealed
                    .iter()
                    .map(|s| s.fingerprint.as_str())
                    .collect::<Vec<_>>()
                    .join(",")
            ),
        }
    }
}
