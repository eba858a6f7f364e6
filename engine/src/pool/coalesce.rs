//! Coalescing the hand-offs one HTTP worker makes in one turn of its event loop.
//!
//! A job sent on its own costs two cross-thread wake-ups: the crypto worker's (a futex call and a
//! context switch) and, for the reply, the HTTP worker's (an eventfd write). On two cores these
//! cost more than the AES itself. On an actix worker many requests become ready in one turn of the
//! event loop (every connection whose bytes arrived in one epoll wake-up), so the first of them to
//! reach the pool leaves its job in this thread's outbox and spawns a local task; the others add
//! theirs; the task runs after every task that was already ready and sends the whole outbox as one
//! message. The worker answers the whole message with one reply, which wakes the flush task (one
//! cross-thread wake-up); the task hands each caller its results on the same thread, where waking
//! a task is only a push onto the local run queue.

use std::cell::RefCell;
use std::sync::Arc;

use tokio::sync::oneshot;

use super::WorkerPool;
use super::job::{ItemResults, ItemsJob, Job, Work};
use super::lane::Lane;
use crate::error::EngineError;
use crate::keyring::KeyEntry;
use crate::pool::Item;

/// The most jobs one message carries; a fuller outbox is sent at once and a new one started.
const MAX_BATCH: usize = 256;

thread_local! {
    /// Jobs waiting for this turn's flush, per pool (a process normally has one).
    static OUTBOX: RefCell<Vec<(u64, Vec<ItemsJob>)>> = const { RefCell::new(Vec::new()) };
}

/// Adds `job` to this thread's outbox for `pool`; true if it is the first (whoever adds the
/// first schedules the flush).
fn park(pool: u64, job: ItemsJob) -> Result<bool, ItemsJob> {
    OUTBOX.with(|outbox| {
        let Ok(mut outbox) = outbox.try_borrow_mut() else {
            return Err(job);
        };
        let jobs = if let Some(i) = outbox.iter().position(|(id, _)| *id == pool) {
            &mut outbox[i].1
        } else {
            outbox.push((pool, Vec::new()));
            let last = outbox.len() - 1;
            &mut outbox[last].1
        };
        if jobs.len() >= MAX_BATCH {
            return Err(job);
        }
        jobs.push(job);
        Ok(jobs.len() == 1)
    })
}

fn take(pool: u64) -> Vec<ItemsJob> {
    OUTBOX.with(|outbox| {
        outbox
            .try_borrow_mut()
            .ok()
            .and_then(|mut o| {
                o.iter_mut()
                    .find(|(id, _)| *id == pool)
                    .map(|(_, jobs)| std::mem::take(jobs))
            })
            .unwrap_or_default()
    })
}

impl WorkerPool {
    /// [`WorkerPool::run`], with fast-lane jobs coalesced per turn of the calling thread's event
    /// loop. Must be called inside a tokio `LocalSet` (every actix worker runs in one); slow-lane
    /// jobs, whose crypto costs far more than a wake-up, go on their own.
    pub async fn run_coalesced(
        self: &Arc<Self>,
        key: Arc<KeyEntry>,
        caller: Arc<str>,
        items: Vec<Item>,
    ) -> Result<ItemResults, EngineError> {
        let lane = Lane::of(key.algorithm);
        let (job, answer) = ItemsJob::new(key, caller, items);
        if lane == Lane::Fast {
            match park(self.id, job) {
                Ok(true) => {
                    let pool = Arc::clone(self);
                    tokio::task::spawn_local(async move { pool.flush().await });
                }
                Ok(false) => {}
                // The outbox is full: this job goes on its own.
                Err(job) => self.submit(lane, Job::Items(job)),
            }
        } else {
            self.submit(lane, Job::Items(job));
        }
        answer.await
    }

    async fn flush(&self) {
        let mut jobs = take(self.id);
        if jobs.len() <= 1 {
            if let Some(job) = jobs.pop() {
                self.submit(Lane::Fast, Job::Items(job));
            }
            return;
        }
        let (replies, work): (Vec<_>, Vec<_>) = jobs
            .into_iter()
            .map(|j| {
                let work = Work {
                    key: j.key,
                    caller: j.caller,
                    items: j.items,
                };
                (j.reply, work)
            })
            .unzip();
        let (reply, answer) = oneshot::channel();
        self.submit(Lane::Fast, Job::Batch { work, reply });
        match answer.await {
            Ok(results) => {
                for (reply, result) in replies.into_iter().zip(results) {
                    let _ = reply.send(result);
                }
            }
            Err(_) => {
                for reply in replies {
                    let _ = reply.send(Err(EngineError::WorkerGone));
                }
            }
        }
    }
}
