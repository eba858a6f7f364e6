//! What rekey and generate-root share: the current threshold (or `not_supported`), and the
//! audit record of every step, refused or done, under the custodian's name.

use kms_engine::audit::Outcome;
use kms_hsm::HsmError;

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
