//! What administrators see of the HSM: every token with its health and the master keys it
//! holds, the master keys the store records, and master-key rotations still rewrapping.

use serde_json::{Value, json};

use crate::context::Control;
use crate::error::ControlError;

pub async fn status(ctl: &Control) -> Result<Value, ControlError> {
    let hsm = ctl.hsm.status().await?;
    let recorded = ctl.store.master_keys().await?;
    Ok(json!({
        "backend": hsm.backend,
        "tokens": hsm.tokens,
        "master_keys": recorded.iter().map(|k| json!({
            "id": k.id.to_string(),
            "kcv": k.kcv.to_string(),
            "origin": k.origin.name(),
            "state": k.state.name(),
            "created_at": k.created_at.rfc3339(),
            "updated_at": k.updated_at.rfc3339(),
        })).collect::<Vec<_>>(),
    }))
}

pub async fn rotations(ctl: &Control) -> Result<Value, ControlError> {
    let mut jobs = Vec::new();
    for job in ctl.store.unfinished_rotations().await? {
        jobs.push(json!({
            "id": job.id,
            "from": job.from.to_string(),
            "to": job.to.to_string(),
            "state": job.state.name(),
            "rewrapped": job.rewrapped,
            "remaining": ctl.store.count_wrapped_under(&job.from).await?,
            "started_at": job.started_at.rfc3339(),
        }));
    }
    Ok(json!({ "rotations": jobs }))
}
