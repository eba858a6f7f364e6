//! Writes the crypto workers' usage counters to the store, off the hot path: the workers count in
//! their own maps and flush about once a second; this thread batches what arrives into one
//! transaction.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::Receiver;
use kms_engine::pool::UsageRecord;
use kms_engine::store::KeyStore;

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
                let mut wait = Duration::from_millis(100);
                for attempt in 1..=5 {
                    match runtime.block_on(store.record_usage(&batch)) {
                        Ok(()) => break,
                        Err(e) if attempt < 5 => {
                            tracing::warn!(error = %e, "usage not recorded yet; retrying");
                            std::thread::sleep(wait);
                            wait *= 2;
                        }
                        Err(e) => {
                            tracing::error!(error = %e, records = batch.len(), "usage counts lost");
                        }
                    }
                }
            }
        })
}
