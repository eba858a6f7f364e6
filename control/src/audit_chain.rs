//! Sealing the audit chain's head with an HMAC under the audit seal key (generated in the HSM and
//! kept wrapped under its master key; system_keys.rs), and verifying the whole chain.
//!
//! Seals are chained: seal number `k` covers the head and seal `k-1`'s MAC
//! ([`chained_seal_input`]), so removing or replacing a seal breaks the next. The last seals are
//! what the HSM's counter ([`AuditAnchor`]) protects: each seal moves it forward, out of the
//! database's reach, and verification compares the database with it. Each seal is then shipped,
//! with the entries it covers, to the copies outside the database (audit_export.rs).

use kms_engine::audit::{AuditAnchor, ChainVerifier, Finding, chained_seal_input, seal_input};
use kms_engine::people::AuditSeal;
use kms_hsm::HsmError;
use serde::Serialize;

use crate::audit_export::{SinkCheck, SinkSummary, page_after};
use crate::context::Control;
use crate::error::ControlError;
use crate::system_keys;

/// The HSM's audit counter; `None` where the backend keeps none (a service node's zone backend).
async fn hsm_anchor(ctl: &Control) -> Result<Option<AuditAnchor>, ControlError> {
    match ctl.hsm.audit_anchor().await {
        Err(HsmError::NotSupported(_)) => Ok(None),
        other => Ok(other?),
    }
}

fn count(seals: &[AuditSeal]) -> u64 {
    u64::try_from(seals.len()).unwrap_or(u64::MAX)
}

/// Seals the current head unless it is sealed already or the last seal is younger than
/// `min_age_ms`; returns the latest seal (`None` for an empty log). Refuses (`audit_truncated`)
/// to seal a database that is behind the HSM's counter: that would paper over a trimmed tail.
pub async fn seal(ctl: &Control, min_age_ms: i64) -> Result<Option<AuditSeal>, ControlError> {
    let mut shipped = ctl.audit_export.lock().await;
    let (seq, head) = ctl.store.audit_head().await?;
    if seq == 0 {
        return Ok(None);
    }
    let held = ctl.store.audit_seal_count().await?;
    // Checked on every call, so the scheduler keeps reporting a trimmed log each tick.
    if let Some(anchor) = hsm_anchor(ctl).await?
        && (anchor.seals > held || anchor.seq > seq)
    {
        return Err(ControlError::conflict(
            "audit_truncated",
            format!(
                "the HSM's counter records seal {} over entry {}, but the database holds {} \
                 seals and ends at entry {seq}: the audit log was trimmed; run `kms audit verify`",
                anchor.seals, anchor.seq, held
            ),
        ));
    }
    let last = ctl.store.last_audit_seal().await?;
    if let Some(last) = &last
        && (last.seq == seq || ctl.clock.now().millis() - last.at.millis() < min_age_ms)
    {
        return Ok(Some(last.clone()));
    }
    let number = held + 1;
    let prev_mac = last.map_or([0u8; 32], |s| s.mac);
    let key = system_keys::audit_seal_key(ctl).await?;
    let tag = key.tag(&chained_seal_input(number, seq, &head, &prev_mac));
    let mac = <[u8; 32]>::try_from(tag.as_slice()).map_err(ControlError::internal)?;
    let seal = AuditSeal {
        seq,
        head,
        mac,
        at: ctl.clock.now(),
    };
    // The database first: if the HSM then fails, the database is ahead of the counter (which
    // verification accepts) rather than behind it (which it reports as truncation).
    ctl.store.append_audit_seal(&seal).await?;
    match ctl
        .hsm
        .advance_audit_anchor(AuditAnchor {
            seals: number,
            seq,
            mac,
        })
        .await
    {
        Ok(()) | Err(HsmError::NotSupported(_)) => {}
        Err(e) => return Err(e.into()),
    }
    ctl.audit_export
        .ship(&mut shipped, ctl.store.as_ref(), number, &seal)
        .await?;
    Ok(Some(seal))
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub ok: bool,
    /// `audit_truncated` (entries or seals missing at the end) or `audit_tampered`; `null` when
    /// ok.
    pub code: Option<&'static str>,
    /// Entries checked.
    pub entries: u64,
    pub seals: usize,
    /// The last sealed entry.
    pub sealed_through: Option<u64>,
    pub first_bad: Option<BadEntry>,
    /// Set when the chain stops short of what the HSM's counter or the sink file records.
    pub truncated: Option<Truncation>,
    /// The HSM's record of the last seal.
    pub hsm_counter: Option<CounterView>,
    /// The sink file compared with the database, when one is configured and exists.
    pub sink: Option<SinkSummary>,
}

#[derive(Debug, Serialize)]
pub struct BadEntry {
    pub seq: u64,
    pub problem: String,
}

#[derive(Debug, Serialize)]
pub struct Truncation {
    /// The database's last entry.
    pub chain_ends_at: u64,
    /// The last entry the witness knows was written.
    pub recorded_through: u64,
    /// `recorded_through - chain_ends_at`: at least this many entries are gone.
    pub missing: u64,
    /// `hsm` or `sink`.
    pub witness: &'static str,
}

#[derive(Debug, Serialize)]
pub struct CounterView {
    pub seals: u64,
    pub seq: u64,
}

impl From<Finding> for BadEntry {
    fn from(f: Finding) -> Self {
        Self {
            seq: f.seq,
            problem: f.problem,
        }
    }
}

impl Report {
    fn fail(&mut self, code: &'static str, seq: u64, problem: String) {
        self.code = Some(code);
        self.first_bad = Some(BadEntry { seq, problem });
    }

    fn truncated(&mut self, ends: u64, recorded: u64, witness: &'static str, what: &str) {
        let missing = recorded - ends;
        self.fail(
            "audit_truncated",
            ends + 1,
            format!(
                "the chain ends at entry {ends} but {what} entry {recorded}: {missing} entries \
                 missing"
            ),
        );
        self.truncated = Some(Truncation {
            chain_ends_at: ends,
            recorded_through: recorded,
            missing,
            witness,
        });
    }
}

/// The first seal whose MAC does not verify, chained to the one before it. Seals made before
/// seals were chained (`kms-audit-seal-v1`) are accepted only before the first chained one.
async fn bad_seal(ctl: &Control, seals: &[AuditSeal]) -> Result<Option<BadEntry>, ControlError> {
    if seals.is_empty() {
        return Ok(None);
    }
    let key = system_keys::audit_seal_key(ctl).await?;
    let mut prev_mac = [0u8; 32];
    let mut chained = false;
    for (number, s) in (1u64..).zip(seals) {
        if key.verify(
            &chained_seal_input(number, s.seq, &s.head, &prev_mac),
            &s.mac,
        ) {
            chained = true;
        } else if chained || !key.verify(&seal_input(s.seq, &s.head), &s.mac) {
            return Ok(Some(BadEntry {
                seq: s.seq,
                problem: format!(
                    "seal {number} (at entry {}) does not verify: forged or altered, or a seal \
                     before it was removed",
                    s.seq
                ),
            }));
        }
        prev_mac = s.mac;
    }
    Ok(None)
}

/// Checks every seal's HMAC and their chaining, every entry against its hash, its predecessor,
/// the seals, the sink file's copy and the recorded head, and then the chain's length against the
/// HSM's counter and the sink file.
pub async fn verify(ctl: &Control) -> Result<Report, ControlError> {
    let seals = ctl.store.audit_seals().await?;
    let anchor = hsm_anchor(ctl).await?;
    let mut report = Report {
        ok: false,
        code: None,
        entries: 0,
        seals: seals.len(),
        sealed_through: seals.last().map(|s| s.seq),
        first_bad: None,
        truncated: None,
        hsm_counter: anchor.map(|a| CounterView {
            seals: a.seals,
            seq: a.seq,
        }),
        sink: None,
    };
    if let Some(bad) = bad_seal(ctl, &seals).await? {
        report.fail("audit_tampered", bad.seq, bad.problem);
        return Ok(report);
    }
    let mut sink = match ctl.audit_export.file() {
        Some(path) => SinkCheck::open(path)?,
        None => None,
    };
    let (head_seq, head) = ctl.store.audit_head().await?;
    let mut verifier = ChainVerifier::new(seals.iter().map(|s| (s.seq, s.head)));
    let mut after = 0;
    loop {
        let page = page_after(ctl.store.as_ref(), after).await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for record in &page {
            let differs = match sink.as_mut() {
                Some(s) => s.feed(record)?,
                None => None,
            };
            let finding = match differs {
                Some(problem) => Err(Finding {
                    seq: record.seq,
                    problem,
                }),
                None => verifier.feed(record),
            };
            if let Err(finding) = finding {
                report.entries = finding.seq.saturating_sub(1);
                report.fail("audit_tampered", finding.seq, finding.problem);
                return Ok(report);
            }
        }
    }
    let ends = match verifier.finish(head_seq, &head) {
        Ok(n) => n,
        Err(finding) => {
            report.fail("audit_tampered", finding.seq, finding.problem);
            return Ok(report);
        }
    };
    report.entries = ends;
    if let Some(a) = anchor {
        if ends < a.seq {
            let what = format!("the HSM's counter records seal {} over", a.seals);
            report.truncated(ends, a.seq, "hsm", &what);
        } else if count(&seals) < a.seals {
            report.fail(
                "audit_truncated",
                a.seq,
                format!(
                    "the database holds {} seals but the HSM's counter records {}: the last \
                     seals were removed",
                    seals.len(),
                    a.seals
                ),
            );
        } else if a
            .seals
            .checked_sub(1)
            .and_then(|i| seals.get(usize::try_from(i).ok()?))
            .is_some_and(|s| s.seq != a.seq || s.mac != a.mac)
        {
            report.fail(
                "audit_tampered",
                a.seq,
                format!(
                    "seal {} differs from the HSM's record of it (entry {}): seals were replaced",
                    a.seals, a.seq
                ),
            );
        }
    }
    if let Some(sink) = sink {
        let summary = sink.finish()?;
        if report.first_bad.is_none() && summary.entries_through > ends {
            let what = format!("the audit sink {} holds entries up to", summary.path);
            report.truncated(ends, summary.entries_through, "sink", &what);
        }
        report.sink = Some(summary);
    }
    report.ok = report.first_bad.is_none();
    Ok(report)
}
