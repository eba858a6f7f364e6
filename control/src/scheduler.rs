//! The scheduler, on the KMS's clock (injectable: tests move a manual clock and call [`tick`]).
//! Each tick:
//! 1. destroys the versions whose destruction waiting period is over;
//! 2. rotates the keys whose `rotation_period` has passed since their active version became
//!    active, and sends a rotation notice (once per active version) `notice_period` before;
//! 3. delivers the webhook calls that are due;
//! 4. seals the audit chain's head (at most once a minute, when it has moved).

use std::sync::Arc;
use std::time::Duration;

use kms_engine::clock::Timestamp;
use kms_engine::store::EventRecord;
use serde_json::json;

use crate::context::Control;
use crate::error::ControlError;
use crate::{audit_chain, durations, keyops, webhooks};

/// How often the audit chain's head is sealed (when it has moved).
const SEAL_EVERY_MS: i64 = 60_000;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TickReport {
    pub destroyed: usize,
    pub rotated: usize,
    pub notices: usize,
    pub deliveries: usize,
}

pub async fn tick(ctl: &Control) -> Result<TickReport, ControlError> {
    let mut report = TickReport::default();
    let now = ctl.clock.now();

    for (key, version) in ctl.store.destroy_due_versions(now).await? {
        report.destroyed += 1;
        let name = ctl
            .store
            .load_key(key)
            .await?
            .map(|k| k.name.to_string())
            .unwrap_or_default();
        keyops::event(
            ctl,
            "version_destroyed",
            key,
            &name,
            Some(version),
            json!({}),
        )
        .await;
    }

    let keys: Vec<_> = ctl.directory.load().keys().cloned().collect();
    for key in keys {
        let Some(period) = key.settings.rotation_period_ms else {
            continue;
        };
        let Some(active) = key.version(key.active) else {
            continue;
        };
        let due = Timestamp::from_millis(active.updated_at.millis() + period);
        if now >= due {
            let reason = format!("scheduled rotation (every {})", durations::format(period));
            let audit = keyops::system_event(
                ctl,
                "rotate_key",
                format!("key:{}", key.name),
                reason.clone(),
            );
            let (revision, _) =
                keyops::rotate(ctl, key.id, "system:scheduler", &reason, &audit).await?;
            ctl.synced(revision).await;
            report.rotated += 1;
        } else if now.millis() >= due.millis() - key.settings.notice_period_ms {
            let notice = EventRecord {
                id: 0,
                at: now,
                kind: "rotation_notice".into(),
                key: Some(key.id),
                key_name: Some(key.name.to_string()),
                version: Some(key.active),
                detail: json!({
                    "due_at": due.rfc3339(),
                    "rotation_period": durations::format(period),
                })
                .to_string(),
            };
            if ctl
                .store
                .record_rotation_notice(key.id, key.active, &notice, &ctl.webhook_urls())
                .await?
                .is_some()
            {
                report.notices += 1;
            }
        }
    }

    report.deliveries =
        webhooks::deliver_due(ctl.store.as_ref(), &ctl.webhooks, ctl.clock.now()).await?;

    // Seal the audit chain's head when it has moved and the last seal is a minute old.
    audit_chain::seal(ctl, SEAL_EVERY_MS).await?;
    Ok(report)
}

/// Ticks every `interval` on the control runtime for as long as it runs.
pub fn spawn(ctl: Arc<Control>, interval: Duration, runtime: &tokio::runtime::Handle) {
    runtime.spawn(async move {
        loop {
            tokio::time::sleep(interval).await;
            if let Err(e) = tick(&ctl).await {
                tracing::warn!(error = %e, "scheduler tick failed; it runs again at the next one");
            }
        }
    });
}
