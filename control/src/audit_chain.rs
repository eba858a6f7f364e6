//! Sealing the audit chain's head with an HMAC under the audit seal key (generated in the HSM and
//! kept wrapped under its master key; system_keys.rs), and verifying the whole chain.

use kms_engine::audit::{ChainVerifier, Finding, seal_input};
use kms_engine::people::AuditSeal;
use kms_engine::store::AuditQuery;
use serde::Serialize;

use crate::context::Control;
use crate::error::ControlError;
use crate::system_keys;

/// Seals the current head unless it is sealed already or the last seal is younger than
/// `min_age_ms`; returns the latest seal (`None` for an empty log).
pub async fn seal(ctl: &Control, min_age_ms: i64) -> Result<Option<AuditSeal>, ControlError> {
    let (seq, head) = ctl.store.audit_head().await?;
    if seq == 0 {
        return Ok(None);
    }
    if let Some(last) = ctl.store.last_audit_seal().await?
        && (last.seq == seq || ctl.clock.now().millis() - last.at.millis() < min_age_ms)
    {
        return Ok(Some(last));
    }
    let key = system_keys::audit_seal_key(ctl).await?;
    let tag = key.tag(&seal_input(seq, &head));
    let mac = <[u8; 32]>::try_from(tag.as_slice()).map_err(ControlError::internal)?;
    let seal = AuditSeal {
        seq,
        head,
        mac,
        at: ctl.clock.now(),
    };
    ctl.store.append_audit_seal(&seal).await?;
    Ok(Some(seal))
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub ok: bool,
    /// Entries checked.
    pub entries: u64,
    pub seals: usize,
    /// The last sealed entry.
    pub sealed_through: Option<u64>,
    pub first_bad: Option<BadEntry>,
}

#[derive(Debug, Serialize)]
pub struct BadEntry {
    pub seq: u64,
    pub problem: String,
}

impl From<Finding> for BadEntry {
    fn from(f: Finding) -> Self {
        Self {
            seq: f.seq,
            problem: f.problem,
        }
    }
}

/// Checks every seal's HMAC, then every entry against its hash, its predecessor, the seals and
/// the recorded head.
pub async fn verify(ctl: &Control) -> Result<Report, ControlError> {
    let seals = ctl.store.audit_seals().await?;
    let mut report = Report {
        ok: false,
        entries: 0,
        seals: seals.len(),
        sealed_through: seals.last().map(|s| s.seq),
        first_bad: None,
    };
    if !seals.is_empty() {
        let key = system_keys::audit_seal_key(ctl).await?;
        if let Some(bad) = seals
            .iter()
            .find(|s| !key.verify(&seal_input(s.seq, &s.head), &s.mac))
        {
            report.first_bad = Some(BadEntry {
                seq: bad.seq,
                problem: format!(
                    "the seal at entry {} does not verify: forged or altered",
                    bad.seq
                ),
            });
            return Ok(report);
        }
    }
    let (head_seq, head) = ctl.store.audit_head().await?;
    let mut verifier = ChainVerifier::new(seals.iter().map(|s| (s.seq, s.head)));
    let mut after = 0;
    loop {
        let page = ctl
            .store
            .audit_log(&AuditQuery {
                after_seq: Some(after),
                limit: 10_000,
                ..AuditQuery::default()
            })
            .await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for record in &page {
            if let Err(finding) = verifier.feed(record) {
                report.entries = finding.seq.saturating_sub(1);
                report.first_bad = Some(finding.into());
                return Ok(report);
            }
        }
    }
    match verifier.finish(head_seq, &head) {
        Ok(n) => {
            report.entries = n;
            report.ok = true;
        }
        Err(finding) => report.first_bad = Some(finding.into()),
    }
    Ok(report)
}
