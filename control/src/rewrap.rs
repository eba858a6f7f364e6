//! The master-key rotation job: rewraps every working-key version from the retiring master key to
//! the active one, a batch per transaction, then destroys the retiring key in the HSM.
//!
//! The job's state is in the store, so it resumes after a crash or restart: a batch either
//! committed (its versions are under the new key) or did not (they are still under the old key,
//! which stays in the HSM until the store records that nothing is left under it). Replaying a
//! batch changes nothing. A sealed or unreachable HSM pauses the job until it is back.

use std::sync::Arc;
use std::time::Duration;

use kms_engine::audit::{AuditEvent, Outcome};
use kms_engine::clock::Clock;
use kms_engine::master_key::RotationState;
use kms_engine::store::KeyStore;
use kms_hsm::HsmHandle;
use tokio::sync::Notify;

/// The master-key rotation job's pace (`[hsm] rewrap_batch`, `rewrap_pause` in kms.toml).
#[derive(Clone, Copy, Debug)]
pub struct RewrapPace {
    pub batch: u32,
    pub pause: Duration,
}

impl Default for RewrapPace {
    fn default() -> Self {
        Self {
            batch: 100,
            pause: Duration::ZERO,
        }
    }
}

pub struct Rewrapper {
    notify: Arc<Notify>,
}

struct Job {
    store: Arc<dyn KeyStore>,
    hsm: HsmHandle,
    clock: Arc<dyn Clock>,
    pace: RewrapPace,
}

impl Rewrapper {
    /// Starts the runner on `runtime`; it picks up unfinished jobs at once.
    pub fn start(
        store: Arc<dyn KeyStore>,
        hsm: HsmHandle,
        clock: Arc<dyn Clock>,
        pace: RewrapPace,
        runtime: &tokio::runtime::Handle,
    ) -> Self {
        let notify = Arc::new(Notify::new());
        let job = Job {
            store,
            hsm,
            clock,
            pace,
        };
        runtime.spawn(job.run(Arc::clone(&notify)));
        Self { notify }
    }

    /// A node without the store (service or manage only) runs no rotation job.
    pub fn idle() -> Self {
        Self {
            notify: Arc::new(Notify::new()),
        }
    }

    /// Tells the runner a job was started.
    pub fn poke(&self) {
        self.notify.notify_one();
    }
}

impl Job {
    async fn run(self, notify: Arc<Notify>) {
        let mut backoff = Duration::from_millis(200);
        loop {
            match self.step().await {
                Ok(true) => backoff = Duration::from_millis(200),
                Ok(false) => {
                    let _ = tokio::time::timeout(Duration::from_secs(5), notify.notified()).await;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "master-key rewrap paused; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                }
            }
        }
    }

    /// Advances the oldest unfinished job by one batch or one state. `Ok(true)`: call again.
    async fn step(&self) -> Result<bool, String> {
        let Some(job) = self
            .store
            .unfinished_rotations()
            .await
            .map_err(|e| e.to_string())?
            .into_iter()
            .next()
        else {
            return Ok(false);
        };
        match job.state {
            RotationState::Running => {
                let batch = self
                    .store
                    .versions_wrapped_under(&job.from, self.pace.batch)
                    .await
                    .map_err(|e| e.to_string())?;
                if batch.is_empty() {
                    self.store
                        .finish_rewrap(job.id)
                        .await
                        .map_err(|e| e.to_string())?;
                    tracing::info!(job = job.id, "every version is under the new master key");
                    return Ok(true);
                }
                let mut rewrapped = Vec::with_capacity(batch.len());
                for (ctx, wrapped) in batch {
                    let new = self
                        .hsm
                        .rewrap(ctx, wrapped, job.to.clone())
                        .await
                        .map_err(|e| e.to_string())?;
                    rewrapped.push((ctx, new));
                }
                self.store
                    .store_rewrapped(job.id, &rewrapped)
                    .await
                    .map_err(|e| e.to_string())?;
                if !self.pace.pause.is_zero() {
                    tokio::time::sleep(self.pace.pause).await;
                }
                Ok(true)
            }
            RotationState::Rewrapped => {
                self.hsm
                    .destroy_master_key(job.from.clone())
                    .await
                    .map_err(|e| e.to_string())?;
                let event = AuditEvent {
                    at: self.clock.now(),
                    actor: "system".into(),
                    action: "master_key_retired".into(),
                    target: Some(format!("master_key:{}", job.from)),
                    outcome: Outcome::Success,
                    code: None,
                    remote: None,
                    detail: Some(format!(
                        "rotation job {} rewrapped {} versions to {}; old key destroyed",
                        job.id, job.rewrapped, job.to
                    )),
                };
                self.store
                    .complete_rotation(job.id, &event)
                    .await
                    .map_err(|e| e.to_string())?;
                tracing::info!(job = job.id, old = %job.from, "master-key rotation complete");
                Ok(true)
            }
            RotationState::Done => Ok(false),
        }
    }
}
