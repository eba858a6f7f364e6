//! Writes the crypto workers' usage counters to the store, off the hot path: the workers count in
//! their own maps and flush about once a second; this thread batches what arrives into one
//! transaction.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::Receiver;
use kms_engine::pool::UsageRecord;
use kms_engine::store::{KeyStore, StoreError};

pub fn start(
    rx: Receiver<Vec<UsageRecord>>,
    store: Arc<dyn KeyStore>,
    runtime: tokio::runtime::Handle,
) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("kms-usage".into())
        .spawn(move || {
            while let Ok(first) = rx.recv() {
                let mut batch = first;
                while let Ok(more) = rx.try_recv() {
                    batch.extend(more);
                }
                let batch = Arc::new(batch);
                let mut wait = Duration::from_millis(100);
                for attempt in 1..=5 {
                    match record(&runtime, &store, &batch) {
                        Some(Ok(())) => break,
                        Some(Err(e)) if attempt < 5 => {
                            tracing::warn!(error = %e, "usage not recorded yet; retrying");
                            std::thread::sleep(wait);
                            wait *= 2;
                        }
                        Some(Err(e)) => {
                            tracing::error!(error = %e, records = batch.len(), "usage counts lost");
                        }
                        None => {
                            tracing::warn!(
                                records = batch.len(),
                                "shutting down: the last usage counts were not recorded"
                            );
                            return;
                        }
                    }
                }
            }
        })
}

/// Writes one batch on the control runtime; `None` once that runtime is shutting down (it drops
/// the task instead of running it).
fn record(
    runtime: &tokio::runtime::Handle,
    store: &Arc<dyn KeyStore>,
    batch: &Arc<Vec<UsageRecord>>,
) -> Option<Result<(), StoreError>> {
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    let (store, batch) = (Arc::clone(store), Arc::clone(batch));
    runtime.spawn(async move {
        let _ = tx.send(store.record_usage(&batch).await);
    });
    rx.recv().ok()
}
