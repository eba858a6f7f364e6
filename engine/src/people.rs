//! People (administrators, auditors, operators), their sessions, and the approvals that sensitive
//! actions wait for. The store keeps them; the gateway decides what they may do.

use crate::clock::Timestamp;
use crate::role::RoleSet;
use crate::token::TokenHash;

/// A person who logs in with a password and a TOTP code, both set by that person alone (an
/// enrolment). Until they enrol, both are empty and nobody can log in as them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserRecord {
    pub name: String,
    pub roles: RoleSet,
    /// argon2id, PHC string; empty until the person enrols.
    pub password_hash: String,
    /// The TOTP secret, sealed by the management center (AES-256-GCM under a key wrapped by the
    /// HSM); the store never sees it in the clear. Empty until the person enrols.
    pub totp_sealed: Vec<u8>,
    pub login: LoginState,
    pub disabled: bool,
    pub created_at: Timestamp,
}

/// What a login attempt changes: failures counted towards a lock, and the last TOTP time step
/// accepted (a code is good once).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LoginState {
    pub failed_logins: u32,
    pub locked_until: Option<Timestamp>,
    pub totp_last_step: u64,
}

impl UserRecord {
    /// Whether the person has set their own password and TOTP.
    pub fn enrolled(&self) -> bool {
        !self.password_hash.is_empty() && !self.totp_sealed.is_empty()
    }
}

/// A one-time enrolment: whoever presents the token sets the user's password and enrols their
/// TOTP, once, before `expires_at`. The store keeps the token's hash only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Enrolment {
    pub token: TokenHash,
    pub user: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    /// Who issued it (audit name), for the record.
    pub created_by: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnrolmentRecord {
    pub enrolment: Enrolment,
    /// The TOTP secret offered to the person at the first step, sealed like
    /// [`UserRecord::totp_sealed`]; it becomes theirs when they prove it with a code.
    pub totp_pending: Option<Vec<u8>>,
    pub used_at: Option<Timestamp>,
    /// Ended unused by a newer enrolment or a reset.
    pub revoked_at: Option<Timestamp>,
}

impl EnrolmentRecord {
    /// Unused, not revoked, not expired.
    pub fn usable(&self, now: Timestamp) -> bool {
        self.used_at.is_none() && self.revoked_at.is_none() && now < self.enrolment.expires_at
    }
}

/// An admin session: a bearer token (kept only as its hash) that ends at `expires_at`.
#[derive(Clone, Debug)]
pub struct Session {
    pub hash: TokenHash,
    pub user: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum ApprovalState {
    /// Waiting for approvals.
    Pending = 1,
    /// Approved by the quorum and run (successfully or not: see `result`).
    Executed = 2,
    /// Someone with the right role rejected it.
    Rejected = 3,
    /// Claimed for execution; the run is in progress (or was interrupted).
    Executing = 4,
}

impl ApprovalState {
    pub fn name(self) -> &'static str {
        match self {
            ApprovalState::Pending => "pending",
            ApprovalState::Executed => "executed",
            ApprovalState::Rejected => "rejected",
            ApprovalState::Executing => "executing",
        }
    }

    pub fn from_code(code: i64) -> Option<Self> {
        [
            ApprovalState::Pending,
            ApprovalState::Executed,
            ApprovalState::Rejected,
            ApprovalState::Executing,
        ]
        .into_iter()
        .find(|s| *s as i64 == code)
    }
}

/// A sensitive action waiting for a quorum.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewApproval {
    /// The action as named in the access table (`export_key`, `create_user`, ...).
    pub action: String,
    pub target: String,
    /// The request to run, as JSON.
    pub params: String,
    pub requester: String,
    /// Distinct approvers needed, none of them the requester.
    pub quorum: u8,
    /// Roles an approver must hold one of.
    pub approver_roles: RoleSet,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

impl NewApproval {
    /// What a vote is bound to: SHA-256 over the action, the target and the parameters, as
    /// approvers are shown them. A request whose stored parameters no longer hash to what its
    /// approvers voted for does not run.
    pub fn params_hash(&self) -> [u8; 32] {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(b"kms-approval-v1\0");
        h.update(self.action.as_bytes());
        h.update(b"\0");
        h.update(self.target.as_bytes());
        h.update(b"\0");
        h.update(self.params.as_bytes());
        h.finalize().into()
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vote {
    pub user: String,
    pub approve: bool,
    pub at: Timestamp,
    /// The hash of the request's parameters the voter saw (`None` for votes cast before votes
    /// were bound to it).
    pub params_hash: Option<[u8; 32]>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApprovalRecord {
    pub id: i64,
    pub request: NewApproval,
    pub state: ApprovalState,
    pub votes: Vec<Vote>,
    pub executed_at: Option<Timestamp>,
    /// What the run returned (JSON), or its error.
    pub result: Option<String>,
    /// The run left a result for its requester alone (an export's wrapped key, a token), not
    /// collected yet.
    pub private_pending: bool,
}

impl ApprovalRecord {
    pub fn approvals(&self) -> usize {
        self.votes.iter().filter(|v| v.approve).count()
    }

    /// Pending but past its expiry: can no longer be approved or run.
    pub fn expired(&self, now: Timestamp) -> bool {
        self.state == ApprovalState::Pending && now >= self.request.expires_at
    }

    /// `expired` for a pending request past its time, else the stored state.
    pub fn status(&self, now: Timestamp) -> &'static str {
        if self.expired(now) {
            "expired"
        } else {
            self.state.name()
        }
    }
}

/// The audit chain's head at `seq`, sealed with an HMAC under the audit seal key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditSeal {
    pub seq: u64,
    pub head: [u8; 32],
    pub mac: [u8; 32],
    pub at: Timestamp,
}
