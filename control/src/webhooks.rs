//! Lifecycle events delivered to webhooks.
//!
//! Each event is POSTed as JSON to every configured URL with a signature header that receivers
//! can check:
//!
//! ```text
//! X-KMS-Signature: t=<unix milliseconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
//! ```
//!
//! A receiver recomputes the HMAC over the timestamp, a dot and the raw body, compares it in
//! constant time, and refuses old timestamps (replays). A delivery that does not get a 2xx is
//! retried with exponential backoff (10 s, 20 s, ... up to an hour) on the KMS's clock, and given
//! up after 16 attempts; the outcome of each is in the store.

use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use kms_engine::clock::Timestamp;
use kms_engine::secret::SecretString;
use kms_engine::store::{EventRecord, KeyStore, StoreError};
use serde_json::{Value, json};
use sha2::Sha256;

pub struct Webhook {
    pub url: String,
    pub secret: SecretString,
}

impl Webhook {
    /// A second copy of the secret: a webhook is configured once and handed to the server.
    pub fn copy(&self) -> Self {
        Self {
            url: self.url.clone(),
            secret: SecretString::new(self.secret.expose().to_owned()),
        }
    }
}

const MAX_ATTEMPTS: u32 = 16;
const BASE_BACKOFF_MS: i64 = 10_000;
const MAX_BACKOFF_MS: i64 = 3_600_000;
const TIMEOUT: Duration = Duration::from_secs(5);

/// An event as administrators and webhooks see it.
pub fn event_json(e: &EventRecord) -> Value {
    json!({
        "id": e.id,
        "at": e.at.rfc3339(),
        "kind": e.kind,
        "key": e.key_name,
        "key_id": e.key.map(|k| k.to_string()),
        "version": e.version.map(|v| v.get()),
        "detail": serde_json::from_str::<Value>(&e.detail).unwrap_or(Value::Null),
    })
}

/// `t=<ms>,v1=<hex>` for `body` sent at `at`.
pub fn signature(secret: &[u8], at: Timestamp, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(at.millis().to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!(
        "t={},v1={}",
        at.millis(),
        hex::encode(mac.finalize().into_bytes())
    )
}

/// When to try again after `attempts` failures, or never.
fn retry_at(now: Timestamp, attempts: u32) -> Option<Timestamp> {
    if attempts >= MAX_ATTEMPTS {
        return None;
    }
    let shift = attempts.saturating_sub(1).min(20);
    let delay = (BASE_BACKOFF_MS << shift).min(MAX_BACKOFF_MS);
    Some(Timestamp::from_millis(now.millis() + delay))
}

fn post(url: &str, signature: &str, body: String) -> Result<(), String> {
    let agent = ureq::Agent::config_builder()
        .timeout_global(Some(TIMEOUT))
        .http_status_as_error(false)
        .build()
        .new_agent();
    let response = agent
        .post(url)
        .header("Content-Type", "application/json")
        .header("X-KMS-Signature", signature)
        .send(body)
        .map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    if (200..300).contains(&status) {
        Ok(())
    } else {
        Err(format!("HTTP {status}"))
    }
}

/// Tries every delivery that is due at `now`, to the configured `hooks`. Returns how many were
/// attempted.
pub async fn deliver_due(
    store: &dyn KeyStore,
    hooks: &[Webhook],
    now: Timestamp,
) -> Result<usize, StoreError> {
    let due = store.due_deliveries(now, 100).await?;
    for d in &due {
        let attempts = d.attempts + 1;
        let outcome = match hooks.iter().find(|w| w.url == d.url) {
            None => Err(("the webhook is no longer configured".to_owned(), None)),
            Some(hook) => {
                let body = event_json(&d.event).to_string();
                let sig = signature(hook.secret.expose().as_bytes(), now, body.as_bytes());
                let url = d.url.clone();
                let result = tokio::task::spawn_blocking(move || post(&url, &sig, body))
                    .await
                    .map_err(|e| e.to_string())
                    .and_then(|r| r);
                result.map_err(|e| (e, retry_at(now, attempts)))
            }
        };
        if let Err((e, next)) = &outcome {
            tracing::warn!(url = %d.url, event = d.event.id, attempts, error = %e,
                retry = next.is_some(), "webhook delivery failed");
        }
        store
            .delivery_outcome(d.event.id, &d.url, now, outcome)
            .await?;
    }
    Ok(due.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_an_hour_then_gives_up() {
        let t = Timestamp::from_millis(0);
        let delays: Vec<i64> = (1..=MAX_ATTEMPTS)
            .map(|a| retry_at(t, a).map_or(-1, |n| n.millis()))
            .collect();
        assert_eq!(&delays[..4], &[10_000, 20_000, 40_000, 80_000]);
        assert_eq!(delays[10], 3_600_000);
        assert_eq!(*delays.last().unwrap(), -1);
    }

    #[test]
    fn the_signature_covers_timestamp_and_body() {
        let t = Timestamp::from_millis(1_700_000_000_000);
        let s = signature(b"secret", t, b"{}");
        assert!(s.starts_with("t=1700000000000,v1="));
        assert_ne!(s, signature(b"secret", t, b"{ }"));
        assert_ne!(s, signature(b"other", t, b"{}"));
        assert_ne!(s, signature(b"secret", Timestamp::from_millis(1), b"{}"));
    }
}
