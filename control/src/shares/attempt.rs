//! One operation that a quorum of current unseal shares authorises (a rekey, or a root-token
//! generation), while its shares come in: at most one at a time per kind, in memory only (like a
//! ceremony: a restart forgets it and the shares in it), for the ceremony TTL.
//!
//! Rules that make one person unable to complete it alone: every submission names the attempt's
//! nonce (so a share goes to the operation its custodian was shown); each custodian submits one
//! share per attempt (`409 already_submitted`); a share already in is refused (`invalid_share`);
//! the operation runs only when as many distinct shares as the current threshold are in, and
//! the HSM then checks that they reconstruct the unseal key. The attempt ends when it runs,
//! whatever the outcome, so a failed one starts over with a new nonce.

use std::sync::Mutex;

use kms_engine::clock::Timestamp;
use kms_engine::secret::SecretString;
use kms_hsm::soft::shamir;
use serde::Serialize;

use crate::custodians::Custodian;
use crate::error::ControlError;

/// What custodians are shown about an attempt (never a share).
#[derive(Clone, Debug, Serialize)]
pub struct AttemptView {
    /// Names this attempt: every share is submitted with it.
    pub nonce: String,
    pub started_by: String,
    pub created_at: String,
    pub expires_at: String,
    /// Current shares needed (the HSM's threshold).
    pub required: u8,
    pub progress: u8,
    /// Who has submitted a share so far.
    pub submitted_by: Vec<String>,
    /// What it will do (the new split, the recipients' key fingerprints).
    pub plan: serde_json::Value,
}

struct Submitted {
    custodian: String,
    id: u8,
    share: SecretString,
}

struct Attempt<P> {
    nonce: String,
    started_by: String,
    created_at: Timestamp,
    expires_at: Timestamp,
    required: u8,
    submitted: Vec<Submitted>,
    plan: P,
    shown: serde_json::Value,
}

/// What a submission led to.
pub enum Progress<P> {
    /// Recorded; more shares are needed.
    Pending(AttemptView),
    /// The threshold is met: the attempt is over, and the caller runs `plan` with `shares`.
    Ready {
        plan: P,
        shares: Vec<SecretString>,
        custodians: Vec<String>,
    },
}

/// The one attempt of a kind (`what`: `rekey` or `generate_root`, which prefixes its codes).
pub struct Slot<P> {
    open: Mutex<Option<Attempt<P>>>,
    ttl_ms: i64,
    not_started: &'static str,
    in_progress: &'static str,
}

fn lock_error() -> ControlError {
    ControlError::internal("share attempt lock poisoned")
}

impl<P> Attempt<P> {
    fn view(&self) -> AttemptView {
        AttemptView {
            nonce: self.nonce.clone(),
            started_by: self.started_by.clone(),
            created_at: self.created_at.rfc3339(),
            expires_at: self.expires_at.rfc3339(),
            required: self.required,
            progress: u8::try_from(self.submitted.len()).unwrap_or(u8::MAX),
            submitted_by: self.submitted.iter().map(|s| s.custodian.clone()).collect(),
            plan: self.shown.clone(),
        }
    }
}

impl<P> Slot<P> {
    pub fn new(
        ttl: std::time::Duration,
        not_started: &'static str,
        in_progress: &'static str,
    ) -> Self {
        Self {
            open: Mutex::new(None),
            ttl_ms: i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX),
            not_started,
            in_progress,
        }
    }

    fn not_started(&self) -> ControlError {
        ControlError::not_found(self.not_started, "no such operation is in progress")
    }

    /// The open attempt, after dropping an expired one.
    fn current<'a>(
        &self,
        open: &'a mut Option<Attempt<P>>,
        now: Timestamp,
    ) -> Option<&'a mut Attempt<P>> {
        if open.as_ref().is_some_and(|a| now > a.expires_at) {
            *open = None;
        }
        open.as_mut()
    }

    /// Opens an attempt for `plan` (described to custodians as `shown`), needing `required`
    /// shares. Refused while another is open.
    pub fn start(
        &self,
        plan: P,
        shown: serde_json::Value,
        by: &Custodian,
        required: u8,
        now: Timestamp,
    ) -> Result<AttemptView, ControlError> {
        let mut open = self.open.lock().map_err(|_| lock_error())?;
        if self.current(&mut open, now).is_some() {
            return Err(ControlError::conflict(
                self.in_progress,
                "another one is in progress: finish or cancel it first",
            ));
        }
        let mut nonce = [0u8; 16];
        rand::fill(&mut nonce);
        let attempt = Attempt {
            nonce: hex::encode(nonce),
            started_by: by.name.clone(),
            created_at: now,
            expires_at: Timestamp::from_millis(now.millis().saturating_add(self.ttl_ms)),
            required,
            submitted: Vec::new(),
            plan,
            shown,
        };
        let view = attempt.view();
        *open = Some(attempt);
        Ok(view)
    }

    pub fn view(&self, now: Timestamp) -> Result<AttemptView, ControlError> {
        let mut open = self.open.lock().map_err(|_| lock_error())?;
        self.current(&mut open, now)
            .map(|a| a.view())
            .ok_or_else(|| self.not_started())
    }

    /// Ends the open attempt and forgets its shares.
    pub fn cancel(&self, now: Timestamp) -> Result<AttemptView, ControlError> {
        let mut open = self.open.lock().map_err(|_| lock_error())?;
        let view = self
            .current(&mut open, now)
            .map(|a| a.view())
            .ok_or_else(|| self.not_started())?;
        *open = None;
        Ok(view)
    }

    /// Adds `by`'s share to the attempt `nonce` names.
    pub fn submit(
        &self,
        nonce: &str,
        by: &Custodian,
        share: SecretString,
        now: Timestamp,
    ) -> Result<Progress<P>, ControlError> {
        let mut open = self.open.lock().map_err(|_| lock_error())?;
        let attempt = self
            .current(&mut open, now)
            .ok_or_else(|| self.not_started())?;
        if !bool::from(subtle::ConstantTimeEq::ct_eq(
            attempt.nonce.as_bytes(),
            nonce.as_bytes(),
        )) {
            return Err(ControlError::conflict(
                "nonce_mismatch",
                "this nonce is not the operation in progress; check what you are submitting to",
            ));
        }
        if attempt.submitted.iter().any(|s| s.custodian == by.name) {
            return Err(ControlError::conflict(
                "already_submitted",
                "each custodian submits one share per operation",
            ));
        }
        let id = shamir::decode(share.expose())?[0];
        if attempt.submitted.iter().any(|s| s.id == id) {
            return Err(kms_hsm::HsmError::InvalidShare("this share was already submitted").into());
        }
        attempt.submitted.push(Submitted {
            custodian: by.name.clone(),
            id,
            share,
        });
        if attempt.submitted.len() < usize::from(attempt.required) {
            return Ok(Progress::Pending(attempt.view()));
        }
        let Some(done) = open.take() else {
            return Err(lock_error());
        };
        let (custodians, shares) = done
            .submitted
            .into_iter()
            .map(|s| (s.custodian, s.share))
            .unzip();
        Ok(Progress::Ready {
            plan: done.plan,
            shares,
            custodians,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::custodians::CustodianRole;
    use std::time::Duration;

    fn who(name: &str) -> Custodian {
        Custodian::from_user(name, CustodianRole::SecurityAdmin)
    }

    fn slot() -> Slot<u32> {
        Slot::new(
            Duration::from_secs(60),
            "rekey_not_started",
            "rekey_in_progress",
        )
    }

    #[test]
    fn one_custodian_cannot_meet_the_threshold_alone() {
        let shares = shamir::split(&[9u8; 32], 3, 2).unwrap();
        let s = slot();
        let now = Timestamp::from_millis(1_000);
        let nonce = s
            .start(7, serde_json::json!({}), &who("a"), 2, now)
            .unwrap()
            .nonce;
        let copy = |i: usize| SecretString::new(shares[i].expose().to_owned());
        assert!(matches!(
            s.submit(&nonce, &who("a"), copy(0), now).unwrap(),
            Progress::Pending(_)
        ));
        // The same custodian with a second share, and another custodian with the same share.
        assert_eq!(
            s.submit(&nonce, &who("a"), copy(1), now)
                .err()
                .unwrap()
                .code(),
            "already_submitted"
        );
        assert_eq!(
            s.submit(&nonce, &who("b"), copy(0), now)
                .err()
                .unwrap()
                .code(),
            "invalid_share"
        );
        assert_eq!(
            s.submit("wrong", &who("b"), copy(1), now)
                .err()
                .unwrap()
                .code(),
            "nonce_mismatch"
        );
        let Progress::Ready {
            plan, custodians, ..
        } = s.submit(&nonce, &who("b"), copy(1), now).unwrap()
        else {
            panic!("two custodians with two shares did not meet a threshold of two");
        };
        assert_eq!((plan, custodians.len()), (7, 2));
        // Over once run: the next submission finds nothing.
        assert_eq!(
            s.submit(&nonce, &who("c"), copy(2), now)
                .err()
                .unwrap()
                .code(),
            "rekey_not_started"
        );
    }

    #[test]
    fn attempts_expire_and_one_runs_at_a_time() {
        let s = slot();
        let now = Timestamp::from_millis(1_000);
        s.start(1, serde_json::json!({}), &who("a"), 2, now)
            .unwrap();
        assert_eq!(
            s.start(2, serde_json::json!({}), &who("b"), 2, now)
                .err()
                .unwrap()
                .code(),
            "rekey_in_progress"
        );
        let later = Timestamp::from_millis(62_000);
        assert_eq!(s.view(later).err().unwrap().code(), "rekey_not_started");
        s.start(3, serde_json::json!({}), &who("b"), 2, later)
            .unwrap();
        s.cancel(later).unwrap();
        assert_eq!(s.cancel(later).err().unwrap().code(), "rekey_not_started");
    }
}
