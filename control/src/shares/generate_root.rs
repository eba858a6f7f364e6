//! Generate-root: a new root token, made once a quorum of the current unseal shares is in, for
//! when the root token was revoked or lost. It leaves the server only encrypted to the RSA
//! public key named at `init` (Vault's OTP/PGP step, here RSA-OAEP through the recipient module),
//! so the custodian whose share completes the quorum cannot read it either.
//!
//! Every earlier root token is revoked in the same step (a lost one may have been found), then
//! the new one (label `generated`) is recorded; both are audited.

use kms_engine::audit::Outcome;
use kms_engine::crypto::recipient::{Recipient, Sealed};
use kms_engine::secret::SecretString;
use kms_engine::token::{self, TokenHash};
use serde::Deserialize;
use serde_json::json;

use super::attempt::AttemptView;
use super::plans::RootPlan;
use super::steps;
use crate::context::Control;
use crate::custodians::Custodian;
use crate::error::ControlError;

/// Label of a root token made by generate-root.
pub const GENERATED_ROOT_LABEL: &str = "generated";

/// `POST /v1/hsm/generate-root/init`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InitRequest {
    /// RSA public key (PEM) the new token is encrypted to.
    pub public_key: String,
}

pub struct Generated {
    pub encrypted_root_token: Sealed,
    /// Root tokens that were live and are revoked now.
    pub revoked: u64,
}

/// What a share submission led to: more shares needed, or the new token.
pub type Update = steps::Update<Generated>;

pub async fn init(
    ctl: &Control,
    who: &Custodian,
    request: InitRequest,
    remote: Option<String>,
) -> Result<AttemptView, ControlError> {
    let slot = &ctl.ceremonies.shares.generate_root;
    steps::start(ctl, who, remote, "generate_root_init", slot, || {
        let recipient = Recipient::from_pem(&request.public_key)?;
        let fingerprint = recipient.fingerprint().to_owned();
        Ok((
            RootPlan { recipient },
            json!({ "public_key_fingerprint": fingerprint }),
            format!("public_key_fingerprint={fingerprint}"),
        ))
    })
    .await
}

pub fn status(ctl: &Control) -> Result<AttemptView, ControlError> {
    ctl.ceremonies.shares.generate_root.view(ctl.clock.now())
}

pub async fn cancel(
    ctl: &Control,
    who: &Custodian,
    remote: Option<String>,
) -> Result<AttemptView, ControlError> {
    let slot = &ctl.ceremonies.shares.generate_root;
    steps::cancel(ctl, who, remote, "generate_root_cancel", slot).await
}

/// Adds `who`'s current share; the share that meets the threshold makes the token.
pub async fn update(
    ctl: &Control,
    who: &Custodian,
    nonce: &str,
    share: SecretString,
    remote: Option<String>,
) -> Result<Update, ControlError> {
    let slot = &ctl.ceremonies.shares.generate_root;
    steps::submit(
        ctl,
        who,
        remote,
        "generate_root_update",
        slot,
        nonce,
        share,
        |plan, shares, custodians| generate(ctl, who, plan, shares, custodians),
    )
    .await
}

/// The quorum is in: checks the shares, revokes every earlier root token and records the new
/// one, encrypted to the plan's recipient.
async fn generate(
    ctl: &Control,
    who: &Custodian,
    plan: RootPlan,
    shares: Vec<SecretString>,
    custodians: Vec<String>,
) -> Result<(Generated, String), ControlError> {
    // The shares must reconstruct the unseal key: a quorum of real shares, not of guesses.
    ctl.hsm.check_shares(shares).await?;
    let root = token::generate();
    let sealed = plan.recipient.seal(root.expose().as_bytes())?;
    let actor = format!("custodian:{}", who.name);
    let mut revoke = ctl.event(
        actor.clone(),
        "revoke_root_tokens",
        Some("root-tokens".into()),
        Outcome::Success,
    );
    revoke.detail = Some("generate-root: every earlier root token".into());
    let (_, revoked) = ctl.store.revoke_root_tokens(&revoke).await?;
    let detail = format!(
        "new root token from shares of {}; encrypted to {}; {revoked} earlier root tokens revoked",
        custodians.join(","),
        sealed.fingerprint
    );
    let mut made = ctl.event(
        actor,
        "generate_root",
        Some(format!("root-token:{GENERATED_ROOT_LABEL}")),
        Outcome::Success,
    );
    made.detail = Some(detail.clone());
    let revision = ctl
        .store
        .put_root_token(GENERATED_ROOT_LABEL, &TokenHash::of(root.expose()), &made)
        .await?;
    // The new token works from the next request on.
    ctl.synced(revision).await;
    Ok((
        Generated {
            encrypted_root_token: sealed,
            revoked,
        },
        detail,
    ))
}
