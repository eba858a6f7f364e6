//! Audit events and the hash chain that links them.
//!
//! Entry `n` stores `hash_n = SHA-256("kms-audit-v1" ‖ hash_{n-1} ‖ seq ‖ fields)` with each field
//! length-prefixed, so changing, removing or reordering a stored entry breaks the chain from that
//! entry on. Every store backend computes the hash with [`chain_hash`].

use sha2::{Digest, Sha256};

use crate::clock::Timestamp;

/// The chain's starting value, before the first entry.
pub const GENESIS: [u8; 32] = [0u8; 32];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Outcome {
    Success = 1,
    /// Refused: unauthenticated, not granted, forbidden.
    Denied = 2,
    /// Attempted and failed.
    Failed = 3,
}

impl Outcome {
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Denied => "denied",
            Outcome::Failed => "failed",
        }
    }

    pub fn code(self) -> u8 {
        self as u8
    }

    pub fn from_code(code: i64) -> Option<Self> {
        [Outcome::Success, Outcome::Denied, Outcome::Failed]
            .into_iter()
            .find(|o| i64::from(o.code()) == code)
    }
}

/// One audit record, before the store gives it a sequence number and a hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEvent {
    pub at: Timestamp,
    /// `root:<label>`, `app:<name>`, `anonymous`, `system`.
    pub actor: String,
    /// What was attempted: `create_key`, `encrypt`, ...
    pub action: String,
    /// What it was attempted on: `key:<name>`, `app:<name>`.
    pub target: Option<String>,
    pub outcome: Outcome,
    /// For refusals and failures, the error code the caller got.
    pub code: Option<String>,
    /// The caller's address, when known.
    pub remote: Option<String>,
    /// Free-form detail (a reason, a version number). Never secret material.
    pub detail: Option<String>,
}

/// A stored audit record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditRecord {
    pub seq: u64,
    pub event: AuditEvent,
    pub prev_hash: [u8; 32],
    pub hash: [u8; 32],
}

fn field(h: &mut Sha256, value: &[u8]) {
    h.update((value.len() as u64).to_be_bytes());
    h.update(value);
}

fn opt_field(h: &mut Sha256, value: Option<&str>) {
    match value {
        None => h.update([0u8]),
        Some(v) => {
            h.update([1u8]);
            field(h, v.as_bytes());
        }
    }
}

pub fn chain_hash(prev: &[u8; 32], seq: u64, e: &AuditEvent) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"kms-audit-v1");
    h.update(prev);
    h.update(seq.to_be_bytes());
    h.update(e.at.millis().to_be_bytes());
    field(&mut h, e.actor.as_bytes());
    field(&mut h, e.action.as_bytes());
    opt_field(&mut h, e.target.as_deref());
    h.update([e.outcome.code()]);
    opt_field(&mut h, e.code.as_deref());
    opt_field(&mut h, e.remote.as_deref());
    opt_field(&mut h, e.detail.as_deref());
    h.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(actor: &str) -> AuditEvent {
        AuditEvent {
            at: Timestamp::from_millis(5),
            actor: actor.into(),
            action: "encrypt".into(),
            target: Some("key:k".into()),
            outcome: Outcome::Denied,
            code: Some("operation_not_granted".into()),
            remote: None,
            detail: None,
        }
    }

    #[test]
    fn every_field_and_link_changes_the_hash() {
        let base = chain_hash(&GENESIS, 1, &event("app:a"));
        assert_ne!(base, chain_hash(&GENESIS, 2, &event("app:a")));
        assert_ne!(base, chain_hash(&[1; 32], 1, &event("app:a")));
        assert_ne!(base, chain_hash(&GENESIS, 1, &event("app:b")));
        let mut e = event("app:a");
        e.detail = Some(String::new());
        assert_ne!(base, chain_hash(&GENESIS, 1, &e));
        // Moving bytes between adjacent fields changes the hash (length prefixes).
        let mut a = event("app:a");
        a.action = "xencrypt".into();
        let mut b = event("app:ax");
        b.action = "encrypt".into();
        assert_ne!(chain_hash(&GENESIS, 1, &a), chain_hash(&GENESIS, 1, &b));
    }
}
