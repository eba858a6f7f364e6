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

/// What a seal's HMAC covers: `"kms-audit-seal-v1" ‖ seq ‖ head`.
pub fn seal_input(seq: u64, head: &[u8; 32]) -> Vec<u8> {
    let mut input = b"kms-audit-seal-v1".to_vec();
    input.extend_from_slice(&seq.to_be_bytes());
    input.extend_from_slice(head);
    input
}

/// What a chained seal's HMAC covers: `"kms-audit-seal-v2" ‖ number ‖ seq ‖ head ‖ prev_mac`,
/// where `number` counts seals from 1 and `prev_mac` is the previous seal's MAC (zeros for the
/// first). Removing or replacing any seal but the last breaks the next one's MAC; removing the
/// last ones is what the HSM's [`AuditAnchor`] shows.
pub fn chained_seal_input(number: u64, seq: u64, head: &[u8; 32], prev_mac: &[u8; 32]) -> Vec<u8> {
    let mut input = b"kms-audit-seal-v2".to_vec();
    input.extend_from_slice(&number.to_be_bytes());
    input.extend_from_slice(&seq.to_be_bytes());
    input.extend_from_slice(head);
    input.extend_from_slice(prev_mac);
    input
}

/// The HSM's record of the audit chain's last seal: a counter the database cannot reach. Each
/// seal moves it forward; a database whose seals or entries stop short of it was trimmed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AuditAnchor {
    /// How many seals there have been (the last seal's number).
    pub seals: u64,
    /// The entry the last seal covers.
    pub seq: u64,
    /// The last seal's MAC.
    pub mac: [u8; 32],
}

impl AuditAnchor {
    pub const LEN: usize = 48;

    /// `seals (u64 BE) ‖ seq (u64 BE) ‖ mac`.
    pub fn to_bytes(&self) -> [u8; Self::LEN] {
        let mut out = [0u8; Self::LEN];
        out[..8].copy_from_slice(&self.seals.to_be_bytes());
        out[8..16].copy_from_slice(&self.seq.to_be_bytes());
        out[16..].copy_from_slice(&self.mac);
        out
    }

    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        if bytes.len() != Self::LEN {
            return None;
        }
        Some(Self {
            seals: u64::from_be_bytes(bytes[..8].try_into().ok()?),
            seq: u64::from_be_bytes(bytes[8..16].try_into().ok()?),
            mac: bytes[16..].try_into().ok()?,
        })
    }

    /// Whether `next` may replace `self`: the counter only moves forward, and so does the chain.
    pub fn may_advance_to(&self, next: &AuditAnchor) -> bool {
        next.seals > self.seals && next.seq >= self.seq
    }
}

/// The first thing wrong with a chain: the entry it was found at, and what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub seq: u64,
    pub problem: String,
}

/// Checks a chain fed in sequence order, against the seals (already checked for authenticity)
/// and the head the store records.
#[derive(Debug)]
pub struct ChainVerifier {
    prev: [u8; 32],
    next_seq: u64,
    /// Sealed heads by sequence number.
    seals: std::collections::BTreeMap<u64, [u8; 32]>,
}

impl ChainVerifier {
    pub fn new(seals: impl IntoIterator<Item = (u64, [u8; 32])>) -> Self {
        Self {
            prev: GENESIS,
            next_seq: 1,
            seals: seals.into_iter().collect(),
        }
    }

    pub fn feed(&mut self, r: &AuditRecord) -> Result<(), Finding> {
        let seq = self.next_seq;
        let finding = |problem: String| Err(Finding { seq, problem });
        if r.seq != seq {
            return finding(format!(
                "entry {seq} is missing: the next entry stored is {} (removed or renumbered)",
                r.seq
            ));
        }
        if chain_hash(&r.prev_hash, r.seq, &r.event) != r.hash {
            return finding(format!(
                "entry {seq} does not match its hash: it was changed or moved"
            ));
        }
        if r.prev_hash != self.prev {
            return finding(format!(
                "entry {seq} does not follow entry {}: entries were reordered, removed or rewritten",
                seq - 1
            ));
        }
        if self.seals.get(&seq).is_some_and(|sealed| *sealed != r.hash) {
            return finding(format!(
                "the chain up to entry {seq} differs from what was sealed at entry {seq}: \
                 entries up to it were rewritten"
            ));
        }
        self.prev = r.hash;
        self.next_seq += 1;
        Ok(())
    }

    /// Ends the check against the store's recorded head; returns how many entries were checked.
    pub fn finish(self, head_seq: u64, head: &[u8; 32]) -> Result<u64, Finding> {
        let last = self.next_seq - 1;
        if last < head_seq {
            return Err(Finding {
                seq: last + 1,
                problem: format!("entries {} to {head_seq} were removed", last + 1),
            });
        }
        if last > head_seq || (last > 0 && *head != self.prev) {
            return Err(Finding {
                seq: last,
                problem: "the chain does not end at the head the store recorded".into(),
            });
        }
        if let Some((seq, _)) = self.seals.range(last + 1..).next() {
            return Err(Finding {
                seq: *seq,
                problem: format!("entry {seq} was sealed but is no longer there"),
            });
        }
        Ok(last)
    }
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
    fn anchors_round_trip_and_only_move_forward() {
        let a = AuditAnchor {
            seals: 3,
            seq: 40,
            mac: [7; 32],
        };
        assert_eq!(AuditAnchor::from_bytes(&a.to_bytes()), Some(a));
        assert_eq!(AuditAnchor::from_bytes(&[0; 47]), None);
        let next = |seals, seq| AuditAnchor {
            seals,
            seq,
            mac: [1; 32],
        };
        assert!(a.may_advance_to(&next(4, 40)));
        assert!(!a.may_advance_to(&next(3, 50)), "same counter");
        assert!(!a.may_advance_to(&next(2, 50)), "counter back");
        assert!(!a.may_advance_to(&next(5, 39)), "chain back");
        assert_ne!(
            chained_seal_input(2, 40, &[0; 32], &[1; 32]),
            chained_seal_input(2, 40, &[0; 32], &[2; 32])
        );
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

    fn chain(n: u64) -> Vec<AuditRecord> {
        let mut prev = GENESIS;
        (1..=n)
            .map(|seq| {
                let e = event(&format!("app:{seq}"));
                let hash = chain_hash(&prev, seq, &e);
                let r = AuditRecord {
                    seq,
                    event: e,
                    prev_hash: prev,
                    hash,
                };
                prev = hash;
                r
            })
            .collect()
    }

    fn verify(
        records: &[AuditRecord],
        head: (u64, [u8; 32]),
        seals: &[(u64, [u8; 32])],
    ) -> Result<u64, Finding> {
        let mut v = ChainVerifier::new(seals.iter().copied());
        for r in records {
            v.feed(r)?;
        }
        v.finish(head.0, &head.1)
    }

    #[test]
    fn the_verifier_names_the_first_changed_removed_or_moved_entry() {
        let good = chain(6);
        let head = (6, good[5].hash);
        assert_eq!(verify(&good, head, &[(3, good[2].hash)]), Ok(6));

        let mut changed = good.clone();
        changed[3].event.detail = Some("edited".into());
        assert_eq!(verify(&changed, head, &[]).unwrap_err().seq, 4);

        let mut removed = good.clone();
        removed.remove(2);
        assert_eq!(verify(&removed, head, &[]).unwrap_err().seq, 3);

        let mut swapped = good.clone();
        swapped.swap(1, 2);
        (swapped[1].seq, swapped[2].seq) = (2, 3);
        assert_eq!(verify(&swapped, head, &[]).unwrap_err().seq, 2);

        let truncated = &good[..4];
        assert_eq!(verify(truncated, head, &[]).unwrap_err().seq, 5);

        // Rewritten consistently from entry 2 on: only the seal at 3 shows it.
        let mut rewritten = good[..1].to_vec();
        let mut prev = rewritten[0].hash;
        for seq in 2..=6 {
            let mut e = event(&format!("app:{seq}"));
            e.detail = Some("forged".into());
            let hash = chain_hash(&prev, seq, &e);
            rewritten.push(AuditRecord {
                seq,
                event: e,
                prev_hash: prev,
                hash,
            });
            prev = hash;
        }
        let forged_head = (6, prev);
        assert_eq!(verify(&rewritten, forged_head, &[]), Ok(6));
        assert_eq!(
            verify(&rewritten, forged_head, &[(3, good[2].hash)])
                .unwrap_err()
                .seq,
            3
        );
    }
}
