//! `kms audit verify --against FILE`: the database's chain compared with a copy of the audit sink
//! file (`[audit] sink_file`, or the lines syslog received), kept where the database's
//! administrator cannot write. Every entry the file holds must be in the database with the same
//! hash, and the database's chain must reach the file's last entry.

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

use crate::client::CliError;
use crate::output::{Common, get};

/// The file's entries as (seq, hash), in file order.
fn entries_in(path: &Path) -> Result<Vec<(u64, Vec<u8>)>, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::Input(format!("{}: {e}", path.display())))?;
    let mut out = Vec::new();
    for (n, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let bad = |why: &str| CliError::Input(format!("{} line {}: {why}", path.display(), n + 1));
        // A syslog line carries the JSON after its header.
        let json = line.find('{').map_or(line, |i| &line[i..]);
        let v: Value = serde_json::from_str(json).map_err(|e| bad(&e.to_string()))?;
        if v["kind"] != "entry" {
            continue;
        }
        let seq = v["seq"].as_u64().ok_or_else(|| bad("no seq"))?;
        let hash = v["hash"]
            .as_str()
            .and_then(|h| hex::decode(h).ok())
            .filter(|h| h.len() == 32)
            .ok_or_else(|| bad("no 32-byte hex hash"))?;
        out.push((seq, hash));
    }
    out.sort_by_key(|(seq, _)| *seq);
    out.dedup_by_key(|(seq, _)| *seq);
    Ok(out)
}

/// Compares; `Ok` says how far the file goes, `Err` names the first difference with its code.
pub fn check(common: &Common, path: &Path) -> Result<String, CliError> {
    let copies = entries_in(path)?;
    let mut next = copies.iter().peekable();
    let mut last_in_db = 0u64;
    let mut after = 0u64;
    loop {
        let page = get(
            common,
            &format!("/v1/admin/audit?limit=10000&after={after}"),
        )?;
        let entries = page["entries"].as_array().cloned().unwrap_or_default();
        for e in &entries {
            let seq = e["seq"].as_u64().unwrap_or_default();
            last_in_db = seq;
            while let Some((copy_seq, hash)) = next.peek() {
                if *copy_seq > seq {
                    break;
                }
                next.next();
                if *copy_seq < seq {
                    return Err(CliError::Input(format!(
                        "audit log FAILED at entry {copy_seq}: {} holds it but the database \
                         does not [audit_tampered]",
                        path.display()
                    )));
                }
                let db_hash = e["hash"].as_str().and_then(|h| STANDARD.decode(h).ok());
                if db_hash.as_deref() != Some(hash.as_slice()) {
                    return Err(CliError::Input(format!(
                        "audit log FAILED at entry {seq}: entry {seq} differs from its copy in \
                         {}: it was rewritten in the database [audit_tampered]",
                        path.display()
                    )));
                }
            }
        }
        match page["next_after"].as_u64() {
            Some(n) if !entries.is_empty() => after = n,
            _ => break,
        }
    }
    let through = copies.last().map_or(0, |(seq, _)| *seq);
    if through > last_in_db {
        return Err(CliError::Input(format!(
            "audit log FAILED at entry {}: the chain ends at entry {last_in_db} but {} holds \
             entries up to {through}: {} entries missing [audit_truncated]",
            last_in_db + 1,
            path.display(),
            through - last_in_db
        )));
    }
    Ok(format!(
        "the database matches {} ({} entries, through entry {through})",
        path.display(),
        copies.len()
    ))
}
