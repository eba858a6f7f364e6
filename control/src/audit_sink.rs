//! Writes the audit events that happen outside a store transaction (refusals, failed admin calls)
//! in batches: one transaction for everything queued, so a burst of refusals costs a few commits.
//!
//! A caller waits until its event is durable before it answers (bounded by a timeout), so a
//! refusal the client has seen is a refusal the audit log holds. The queue is bounded; a store
//! outage makes the writer retry with backoff while callers time out and log it.

use std::sync::Arc;
use std::time::Duration;

use kms_engine::audit::AuditEvent;
use kms_engine::store::KeyStore;
use tokio::sync::{mpsc, oneshot};

type Entry = (AuditEvent, oneshot::Sender<()>);

#[derive(Clone)]
pub struct AuditSink {
    tx: mpsc::Sender<Entry>,
}

const QUEUE: usize = 4096;
const BATCH: usize = 256;
const WAIT: Duration = Duration::from_secs(5);

impl AuditSink {
    pub fn start(store: Arc<dyn KeyStore>, runtime: &tokio::runtime::Handle) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        runtime.spawn(write_loop(store, rx));
        Self { tx }
    }

    /// Records `event` and waits until it is committed (or gives up after a timeout).
    pub async fn record(&self, event: AuditEvent) {
        let (ack, done) = oneshot::channel();
        let action = event.action.clone();
        let queued = tokio::time::timeout(WAIT, self.tx.send((event, ack))).await;
        let committed = match queued {
            Ok(Ok(())) => tokio::time::timeout(WAIT, done)
                .await
                .is_ok_and(|r| r.is_ok()),
            _ => false,
        };
        if !committed {
            tracing::error!(action, "audit event not confirmed durable within {WAIT:?}");
        }
    }
}

async fn write_loop(store: Arc<dyn KeyStore>, mut rx: mpsc::Receiver<Entry>) {
    let mut backoff = Duration::from_millis(50);
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < BATCH {
            match rx.try_recv() {
                Ok(entry) => batch.push(entry),
                Err(_) => break,
            }
        }
        let events: Vec<AuditEvent> = batch.iter().map(|(e, _)| e.clone()).collect();
        loop {
            match store.append_audit(&events).await {
                Ok(()) => {
                    backoff = Duration::from_millis(50);
                    break;
                }
                Err(e) => {
                    tracing::error!(error = %e, pending = events.len(), "audit write failed; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
        }
        for (_, ack) in batch {
            let _ = ack.send(());
        }
    }
}
