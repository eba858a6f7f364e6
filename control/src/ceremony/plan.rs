//! What a ceremony will do, checked when it starts: the operation, where the new key comes from
//! (generated in the HSM, or formed from custodians' components), the software HSM's sealing.

use kms_engine::ids::MasterKeyId;
use kms_hsm::Sealing;
use serde::{Deserialize, Serialize};

use crate::error::ControlError;
use crate::shares::deliver;
use kms_engine::crypto::recipient::Recipient;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CeremonyOp {
    /// The first master key (and the KMS's initial root token).
    Create,
    /// A new master key; every working key is rewrapped under it, then the old one is destroyed.
    Rotate,
    /// An existing master key, from its components, into tokens that lack it.
    Load,
    /// A master key nothing is wrapped under any more.
    Destroy,
}

impl CeremonyOp {
    pub fn action(self) -> &'static str {
        match self {
            CeremonyOp::Create => "master_key_create",
            CeremonyOp::Rotate => "master_key_rotate",
            CeremonyOp::Load => "master_key_load",
            CeremonyOp::Destroy => "master_key_destroy",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Generate,
    Components,
}

/// `POST /v1/hsm/ceremonies`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartRequest {
    pub operation: CeremonyOp,
    pub source: Option<Source>,
    /// Components to collect, for `source = components` (default 3).
    pub components: Option<u8>,
    /// Software HSM, `create` only: unseal shares to issue and how many unseal.
    pub shares: Option<u8>,
    pub threshold: Option<u8>,
    /// `load` and `destroy`: which master key.
    pub master_key_id: Option<String>,
    /// Software HSM, `create`: one RSA public key (PEM) per share; share `i` then leaves the
    /// server only encrypted to key `i`.
    pub share_keys: Option<Vec<String>>,
    /// `create`: an RSA public key (PEM) the initial root token is encrypted to.
    pub root_token_key: Option<String>,
}

/// What a ceremony will do, checked when it starts.
#[derive(Clone, Debug)]
pub struct Plan {
    pub op: CeremonyOp,
    pub source: Option<Source>,
    pub components: u8,
    pub sealing: Option<Sealing>,
    pub master_key: Option<MasterKeyId>,
    /// Who receives each share (in order), when keys were given.
    pub share_keys: Option<Vec<Recipient>>,
    /// Who receives the root token, when a key was given.
    pub root_token_key: Option<Recipient>,
}

fn bad(message: &str) -> ControlError {
    ControlError::invalid("invalid_request", message)
}

impl Plan {
    pub fn from_request(r: StartRequest) -> Result<Self, ControlError> {
        let master_key = r
            .master_key_id
            .as_deref()
            .map(MasterKeyId::new)
            .transpose()?;
        let sealing = match (r.shares, r.threshold) {
            (Some(shares), Some(threshold)) => Some(Sealing { shares, threshold }),
            (None, None) => None,
            _ => return Err(bad("give both `shares` and `threshold`, or neither")),
        };
        let source = match r.operation {
            CeremonyOp::Create | CeremonyOp::Rotate => Some(r.source.unwrap_or(Source::Generate)),
            CeremonyOp::Load => match r.source {
                None | Some(Source::Components) => Some(Source::Components),
                Some(Source::Generate) => return Err(bad("`load` forms a key from components")),
            },
            CeremonyOp::Destroy => {
                if r.source.is_some() || r.components.is_some() {
                    return Err(bad("`destroy` takes no source or components"));
                }
                None
            }
        };
        if sealing.is_some() && r.operation != CeremonyOp::Create {
            return Err(bad("`shares` and `threshold` only apply to `create`"));
        }
        if matches!(r.operation, CeremonyOp::Load | CeremonyOp::Destroy) != master_key.is_some() {
            return Err(bad(
                "`master_key_id` is required for `load` and `destroy`, and only there",
            ));
        }
        if r.operation != CeremonyOp::Create
            && (r.share_keys.is_some() || r.root_token_key.is_some())
        {
            return Err(bad(
                "`share_keys` and `root_token_key` only apply to `create`",
            ));
        }
        let share_keys = match (&r.share_keys, sealing) {
            (None, _) => None,
            (Some(keys), Some(s)) => deliver::recipients(Some(keys), s.shares)?,
            (Some(_), None) => return Err(bad("`share_keys` needs `shares` and `threshold`")),
        };
        let root_token_key = r
            .root_token_key
            .as_deref()
            .map(Recipient::from_pem)
            .transpose()?;
        let components = match source {
            Some(Source::Components) => {
                let n = r.components.unwrap_or(3);
                if !(2..=16).contains(&n) {
                    return Err(bad("`components` must be 2 to 16"));
                }
                n
            }
            _ if r.components.is_some() => {
                return Err(bad("`components` only applies to `source = components`"));
            }
            _ => 0,
        };
        Ok(Self {
            op: r.operation,
            source,
            components,
            sealing,
            master_key,
            share_keys,
            root_token_key,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_are_checked_when_the_ceremony_starts() {
        let bad = |body: serde_json::Value| {
            Plan::from_request(serde_json::from_value(body).unwrap())
                .err()
                .unwrap()
                .code()
        };
        assert_eq!(
            bad(serde_json::json!({"operation": "destroy"})),
            "invalid_request"
        );
        assert_eq!(
            bad(
                serde_json::json!({"operation": "load", "master_key_id": "mk-1", "source": "generate"})
            ),
            "invalid_request"
        );
        assert_eq!(
            bad(serde_json::json!({"operation": "rotate", "shares": 3, "threshold": 2})),
            "invalid_request"
        );
        assert_eq!(
            bad(serde_json::json!({"operation": "create", "shares": 3})),
            "invalid_request"
        );
        assert_eq!(
            bad(
                serde_json::json!({"operation": "create", "source": "components", "components": 1})
            ),
            "invalid_request"
        );
        assert_eq!(
            bad(serde_json::json!({"operation": "create", "components": 3})),
            "invalid_request"
        );
        let p = Plan::from_request(
            serde_json::from_value(
                serde_json::json!({"operation": "load", "master_key_id": "mk-1"}),
            )
            .unwrap(),
        )
        .unwrap();
        assert_eq!((p.source, p.components), (Some(Source::Components), 3));
    }
}
