//! Rekey: the unseal key is replaced and split anew (a new count and threshold), once a quorum of
//! the current shares is in. The master keys do not change (only the keyring key's seal does),
//! so no working key is touched; the old shares stop working at once. With `share_keys`, each
//! new share leaves the server encrypted to its custodian's key.

use kms_engine::secret::SecretString;
use kms_hsm::Sealing;
use serde::Deserialize;
use serde_json::json;

use super::attempt::AttemptView;
use super::deliver::{self, Delivered};
use super::plans::RekeyPlan;
use super::steps;
use crate::context::Control;
use crate::custodians::Custodian;
use crate::error::ControlError;

/// `POST /v1/hsm/rekey/init`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InitRequest {
    pub shares: u8,
    pub threshold: u8,
    /// One RSA public key (PEM) per new share.
    pub share_keys: Option<Vec<String>>,
}

/// What a completed rekey hands back.
pub struct Rekeyed {
    pub shares: u8,
    pub threshold: u8,
    pub delivered: Delivered,
}

/// What a share submission led to: more shares needed, or the new split.
pub type Update = steps::Update<Rekeyed>;

fn plan(r: InitRequest) -> Result<(RekeyPlan, serde_json::Value), ControlError> {
    // A threshold of one would put the whole unseal key in one person's hands.
    if r.threshold < 2 || r.threshold > r.shares {
        return Err(ControlError::invalid(
            "invalid_request",
            "a rekey needs 2 <= threshold <= shares",
        ));
    }
    let recipients = deliver::recipients(r.share_keys.as_deref(), r.shares)?;
    let shown = json!({
        "shares": r.shares,
        "threshold": r.threshold,
        "share_key_fingerprints": recipients.as_deref().map(deliver::fingerprints),
    });
    let plan = RekeyPlan {
        sealing: Sealing {
            shares: r.shares,
            threshold: r.threshold,
        },
        recipients,
    };
    Ok((plan, shown))
}

pub async fn init(
    ctl: &Control,
    who: &Custodian,
    request: InitRequest,
    remote: Option<String>,
) -> Result<AttemptView, ControlError> {
    let slot = &ctl.ceremonies.shares.rekey;
    steps::start(ctl, who, remote, "rekey_init", slot, || {
        let (plan, shown) = plan(request)?;
        let detail = format!("plan={shown}");
        Ok((plan, shown, detail))
    })
    .await
}

pub fn status(ctl: &Control) -> Result<AttemptView, ControlError> {
    ctl.ceremonies.shares.rekey.view(ctl.clock.now())
}

pub async fn cancel(
    ctl: &Control,
    who: &Custodian,
    remote: Option<String>,
) -> Result<AttemptView, ControlError> {
    steps::cancel(
        ctl,
        who,
        remote,
        "rekey_cancel",
        &ctl.ceremonies.shares.rekey,
    )
    .await
}

/// Adds `who`'s current share; the share that meets the threshold runs the rekey.
pub async fn update(
    ctl: &Control,
    who: &Custodian,
    nonce: &str,
    share: SecretString,
    remote: Option<String>,
) -> Result<Update, ControlError> {
    let slot = &ctl.ceremonies.shares.rekey;
    steps::submit(
        ctl,
        who,
        remote,
        "rekey_update",
        slot,
        nonce,
        share,
        |plan, shares, custodians| rekey(ctl, plan, shares, custodians),
    )
    .await
}

/// The quorum is in: the HSM re-splits the unseal key, and the new shares go out.
async fn rekey(
    ctl: &Control,
    plan: RekeyPlan,
    shares: Vec<SecretString>,
    custodians: Vec<String>,
) -> Result<(Rekeyed, String), ControlError> {
    let new = ctl.hsm.rekey(shares, plan.sealing).await?;
    let delivered = deliver::deliver(new, plan.recipients.as_deref())?;
    let detail = format!(
        "rekeyed with shares of {}: {} shares, threshold {}; {}",
        custodians.join(","),
        plan.sealing.shares,
        plan.sealing.threshold,
        delivered.describe()
    );
    Ok((
        Rekeyed {
            shares: plan.sealing.shares,
            threshold: plan.sealing.threshold,
            delivered,
        },
        detail,
    ))
}
