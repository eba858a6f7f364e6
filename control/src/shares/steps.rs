//! What rekey and generate-root share: the current threshold (or `not_supported`), the audit
//! record of every step, refused or done, under the custodian's name, and the steps themselves
//! on an attempt's slot (start, cancel, submit a share).

use kms_engine::audit::Outcome;
use kms_engine::secret::SecretString;
use kms_hsm::HsmError;

use super::attempt::{AttemptView, Progress, Slot};
use crate::context::Control;
use crate::custodians::Custodian;
use crate::error::ControlError;

/// The current threshold, or `not_supported` where the HSM has no shares.
pub async fn current_threshold(ctl: &Control) -> Result<u8, ControlError> {
    let seal = ctl.hsm.seal_status().await?;
    if seal.threshold == 0 {
        return Err(HsmError::NotSupported("unseal shares (this HSM has none)").into());
    }
    Ok(seal.threshold)
}

/// Audits a custodian's step: done (`Success`), or refused with the error's code (`Denied`, or
/// `Failed` for an operation that ran and failed), and hands the error back.
pub async fn audit(
    ctl: &Control,
    who: &str,
    remote: Option<String>,
    action: &str,
    outcome: Result<String, (Outcome, &ControlError)>,
) {
    let (outcome, detail, code) = match outcome {
        Ok(detail) => (Outcome::Success, Some(detail), None),
        Err((outcome, e)) => (outcome, Some(e.public_message()), Some(e.code().to_owned())),
    };
    let mut event = ctl.event(format!("custodian:{who}"), action, None, outcome);
    event.remote = remote;
    event.detail = detail;
    event.code = code;
    ctl.audit.record(event).await;
}

/// Runs `step` and audits it under `who`: success with the detail it returns, or the refusal.
pub async fn audited<T>(
    ctl: &Control,
    who: &Custodian,
    remote: Option<String>,
    action: &str,
    step: impl std::future::Future<Output = Result<(T, String), ControlError>>,
) -> Result<T, ControlError> {
    match step.await {
        Ok((value, detail)) => {
            audit(ctl, &who.name, remote, action, Ok(detail)).await;
            Ok(value)
        }
        Err(e) => {
            let outcome = if e.code() == "wrong_shares" {
                Outcome::Failed
            } else {
                Outcome::Denied
            };
            audit(ctl, &who.name, remote, action, Err((outcome, &e))).await;
            Err(e)
        }
    }
}

/// Where a share submission left the operation: more shares needed, or done (`T`).
pub enum Update<T> {
    Pending(AttemptView),
    Done(T),
}

/// Opens an attempt in `slot`, audited as `action`: the current threshold first, then `plan`
/// gives the plan, what custodians are shown of it, and the audit detail.
pub async fn start<P>(
    ctl: &Control,
    who: &Custodian,
    remote: Option<String>,
    action: &str,
    slot: &Slot<P>,
    plan: impl FnOnce() -> Result<(P, serde_json::Value, String), ControlError>,
) -> Result<AttemptView, ControlError> {
    audited(ctl, who, remote, action, async {
        let required = current_threshold(ctl).await?;
        let (plan, shown, detail) = plan()?;
        let view = slot.start(plan, shown, who, required, ctl.clock.now())?;
        Ok((view, detail))
    })
    .await
}

/// Ends the attempt open in `slot`, audited as `action`.
pub async fn cancel<P>(
    ctl: &Control,
    who: &Custodian,
    remote: Option<String>,
    action: &str,
    slot: &Slot<P>,
) -> Result<AttemptView, ControlError> {
    audited(ctl, who, remote, action, async {
        let view = slot.cancel(ctl.clock.now())?;
        Ok((view, String::new()))
    })
    .await
}

/// Adds `who`'s share to the attempt `nonce` names in `slot`, audited as `action`; the share
/// that meets the threshold runs `run` with the plan, the shares and their custodians' names,
/// which gives the result and the audit detail.
#[allow(clippy::too_many_arguments)]
pub async fn submit<P, T, Fut>(
    ctl: &Control,
    who: &Custodian,
    remote: Option<String>,
    action: &str,
    slot: &Slot<P>,
    nonce: &str,
    share: SecretString,
    run: impl FnOnce(P, Vec<SecretString>, Vec<String>) -> Fut,
) -> Result<Update<T>, ControlError>
where
    Fut: std::future::Future<Output = Result<(T, String), ControlError>>,
{
    audited(ctl, who, remote, action, async {
        match slot.submit(nonce, who, share, ctl.clock.now())? {
            Progress::Pending(view) => {
                let detail = format!("progress={}/{}", view.progress, view.required);
                Ok((Update::Pending(view), detail))
            }
            Progress::Ready {
                plan,
                shares,
                custodians,
            } => {
                let (done, detail) = run(plan, shares, custodians).await?;
                Ok((Update::Done(done), detail))
            }
        }
    })
    .await
}
