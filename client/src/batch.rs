//! Automatic batching. Calls for the same operation and key that arrive close together are
//! queued; the queue leaves as one `{"items":[...]}` request when nobody joined it during one
//! turn of the runtime's scheduler, or at `window`, `max_items` or `max_bytes`. Each caller
//! gets the result at its own position back, so many small calls get batch throughput without
//! changing code.
//!
//! Why a scheduler turn rather than a timer: tokio's timers tick in milliseconds, far coarser
//! than the 200 µs window, and under load the callers a batch should gather are exactly the
//! tasks already runnable. A queue's flusher yields once; if the queue grew meanwhile it yields
//! again, until the queue stops growing or the window is over.
//!
//! Batches never mix keys (one queue per operation and key) and each item carries its own
//! caller's fields (context included), in the caller's position.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::oneshot;
use zeroize::Zeroizing;

use crate::config::{Batching, EncryptRetry};
use crate::error::{Error, Result};
use crate::failover::Retry;

/// The data-plane operations that take `items`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    Encrypt = 0,
    Decrypt = 1,
    Rewrap = 2,
    Datakey = 3,
    Sign = 4,
    Verify = 5,
    Hmac = 6,
    HmacVerify = 7,
    Random = 8,
}

const OPS: usize = 9;

impl Op {
    pub fn path(self, key: &str) -> String {
        let suffix = match self {
            Op::Encrypt => "encrypt",
            Op::Decrypt => "decrypt",
            Op::Rewrap => "rewrap",
            Op::Datakey => "datakey",
            Op::Sign => "sign",
            Op::Verify => "verify",
            Op::Hmac => "hmac",
            Op::HmacVerify => "hmac/verify",
            Op::Random => return "/v1/random".into(),
        };
        format!("/v1/keys/{key}/{suffix}")
    }

    /// Encrypts and data keys make something new each time (see [`EncryptRetry`]); every other
    /// operation answers the same however often it is asked.
    pub fn retry(self, policy: EncryptRetry) -> Retry {
        match (self, policy) {
            (Op::Encrypt | Op::Datakey, EncryptRetry::IfUnsent) => Retry::Unsent,
            _ => Retry::Any,
        }
    }
}

/// One item's JSON (the fields of a single request), zeroized after use: it may hold a
/// plaintext.
pub type Item = Zeroizing<Vec<u8>>;

/// One item's result JSON (it may hold a plaintext or a data key: zeroized after use).
pub type Answer = Zeroizing<String>;

/// Sends items of one operation and key as one request; answers each item's result JSON (or
/// its error) in order, or one error for the whole request.
pub type Dispatch = Arc<
    dyn Fn(
            Op,
            Arc<str>,
            Vec<Item>,
            Instant,
        ) -> Pin<Box<dyn Future<Output = Result<Vec<Result<Answer>>>> + Send>>
        + Send
        + Sync,
>;

type Reply = oneshot::Sender<Result<Answer>>;

struct Pending {
    item: Item,
    reply: Reply,
    deadline: Instant,
}

struct Queue {
    items: Vec<Pending>,
    bytes: usize,
    opened: Instant,
    flusher: bool,
}

impl Queue {
    fn take(&mut self) -> Vec<Pending> {
        self.bytes = 0;
        std::mem::take(&mut self.items)
    }
}

pub struct Batcher {
    config: Batching,
    queues: [Mutex<HashMap<Arc<str>, Queue>>; OPS],
    dispatch: Dispatch,
}

impl Batcher {
    pub fn new(config: Batching, dispatch: Dispatch) -> Arc<Self> {
        Arc::new(Self {
            config,
            queues: std::array::from_fn(|_| Mutex::new(HashMap::new())),
            dispatch,
        })
    }

    /// Queues one call and waits for its result (or its deadline).
    pub async fn submit(
        self: &Arc<Self>,
        op: Op,
        key: &str,
        item: Item,
        deadline: Instant,
    ) -> Result<Answer> {
        if item.len() >= self.config.max_bytes {
            // Too big to share a request: alone, now.
            let mut results = (self.dispatch)(op, Arc::from(key), vec![item], deadline).await?;
            return results.pop().unwrap_or_else(|| Err(no_result()));
        }
        let (tx, rx) = oneshot::channel();
        let now = Instant::now();
        let (full, start_flusher) = {
            let mut queues = self.queues[op as usize]
                .lock()
                .map_err(|_| Error::Config("batch queue poisoned".into()))?;
            let queue = match queues.get_mut(key) {
                Some(q) => q,
                None => queues.entry(Arc::from(key)).or_insert(Queue {
                    items: Vec::new(),
                    bytes: 0,
                    opened: now,
                    flusher: false,
                }),
            };
            if queue.items.is_empty() {
                queue.opened = now;
            }
            queue.bytes += item.len() + 1;
            queue.items.push(Pending {
                item,
                reply: tx,
                deadline,
            });
            if queue.items.len() >= self.config.max_items || queue.bytes >= self.config.max_bytes {
                (Some(queue.take()), false)
            } else if queue.flusher {
                (None, false)
            } else {
                queue.flusher = true;
                (None, true)
            }
        };
        if let Some(batch) = full {
            self.send(op, Arc::from(key), batch);
        }
        if start_flusher {
            tokio::spawn(Arc::clone(self).flush_when_quiet(op, Arc::from(key)));
        }
        match tokio::time::timeout_at(deadline.into(), rx).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(no_result()),
            Err(_) => Err(Error::DeadlineExceeded),
        }
    }

    async fn flush_when_quiet(self: Arc<Self>, op: Op, key: Arc<str>) {
        // The call that started the queue is in it already.
        let mut seen = 1;
        loop {
            tokio::task::yield_now().await;
            let batch = {
                let Ok(mut queues) = self.queues[op as usize].lock() else {
                    return;
                };
                let Some(queue) = queues.get_mut(&*key) else {
                    return;
                };
                let n = queue.items.len();
                let quiet = n <= seen;
                if n == 0 || quiet || queue.opened.elapsed() >= self.config.window {
                    queue.flusher = false;
                    queue.take()
                } else {
                    seen = n;
                    continue;
                }
            };
            if !batch.is_empty() {
                self.send(op, key, batch);
            }
            return;
        }
    }

    fn send(&self, op: Op, key: Arc<str>, batch: Vec<Pending>) {
        let dispatch = Arc::clone(&self.dispatch);
        tokio::spawn(async move {
            // Callers that gave up (their deadline passed) are left out.
            let (items, waiting): (Vec<Item>, Vec<(Reply, Instant)>) = batch
                .into_iter()
                .filter(|p| !p.reply.is_closed())
                .map(|p| (p.item, (p.reply, p.deadline)))
                .unzip();
            let Some(deadline) = waiting.iter().map(|w| w.1).max() else {
                return;
            };
            let n = items.len();
            match dispatch(op, key, items, deadline).await {
                Ok(results) if results.len() == n => {
                    for ((reply, _), result) in waiting.into_iter().zip(results) {
                        let _ = reply.send(result);
                    }
                }
                Ok(results) => {
                    let e = Error::InvalidResponse {
                        node: String::new(),
                        detail: format!("{} results for {n} items", results.len()),
                    };
                    for (reply, _) in waiting {
                        let _ = reply.send(Err(e.clone()));
                    }
                }
                Err(e) => {
                    for (reply, _) in waiting {
                        let _ = reply.send(Err(e.clone()));
                    }
                }
            }
        });
    }
}

fn no_result() -> Error {
    Error::InvalidResponse {
        node: String::new(),
        detail: "the batch ended without a result for this call".into(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    /// A dispatcher that answers each item with `op|key|item` and records the batch sizes.
    fn echo(batches: Arc<Mutex<Vec<(Op, String, usize)>>>) -> Dispatch {
        Arc::new(move |op, key, items, _deadline| {
            let batches = Arc::clone(&batches);
            Box::pin(async move {
                batches
                    .lock()
                    .unwrap()
                    .push((op, key.to_string(), items.len()));
                // An answer takes a moment, as over the network.
                tokio::time::sleep(Duration::from_millis(2)).await;
                Ok(items
                    .iter()
                    .map(|i| {
                        let text = String::from_utf8(i.to_vec()).unwrap();
                        if text == "bad" {
                            Err(Error::api(None, "decryption_failed", "no"))
                        } else {
                            Ok(Zeroizing::new(format!("{op:?}|{key}|{text}")))
                        }
                    })
                    .collect())
            })
        })
    }

    fn deadline() -> Instant {
        Instant::now() + Duration::from_secs(10)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_calls_share_requests_per_key_and_each_gets_its_own_result() {
        let batches = Arc::new(Mutex::new(Vec::new()));
        let batcher = Batcher::new(Batching::default(), echo(Arc::clone(&batches)));
        let mut tasks = Vec::new();
        for caller in 0..600 {
            let b = Arc::clone(&batcher);
            tasks.push(tokio::spawn(async move {
                let key = ["cards", "ibans", "names"][caller % 3];
                let op = if caller % 2 == 0 {
                    Op::Encrypt
                } else {
                    Op::Decrypt
                };
                let item = Zeroizing::new(format!("caller-{caller}").into_bytes());
                let got = b.submit(op, key, item, deadline()).await.unwrap();
                assert_eq!(*got, format!("{op:?}|{key}|caller-{caller}"));
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let batches = batches.lock().unwrap();
        let items: usize = batches.iter().map(|b| b.2).sum();
        assert_eq!(items, 600);
        assert!(
            batches.len() < 300,
            "600 concurrent calls took {} requests",
            batches.len()
        );
        assert!(batches.iter().all(|b| b.2 <= 256));
    }

    #[tokio::test]
    async fn an_items_error_goes_to_its_caller_only() {
        let batcher = Batcher::new(Batching::default(), echo(Arc::default()));
        let ok = batcher.submit(
            Op::Decrypt,
            "k",
            Zeroizing::new(b"fine".to_vec()),
            deadline(),
        );
        let bad = batcher.submit(
            Op::Decrypt,
            "k",
            Zeroizing::new(b"bad".to_vec()),
            deadline(),
        );
        let (ok, bad) = tokio::join!(ok, bad);
        assert_eq!(ok.unwrap().as_str(), "Decrypt|k|fine");
        assert_eq!(bad.unwrap_err().code(), Some("decryption_failed"));
    }

    #[tokio::test]
    async fn a_whole_request_failure_reaches_every_caller_and_full_queues_leave_at_once() {
        let calls = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&calls);
        let failing: Dispatch = Arc::new(move |_, _, items, _| {
            counted.fetch_add(1, Ordering::SeqCst);
            assert!(items.len() <= 2);
            Box::pin(async { Err(Error::api(Some(403), "operation_not_granted", "no")) })
        });
        let config = Batching {
            max_items: 2,
            ..Batching::default()
        };
        let batcher = Batcher::new(config, failing);
        let callers: Vec<_> = (0..4u8)
            .map(|i| {
                let b = Arc::clone(&batcher);
                tokio::spawn(async move {
                    b.submit(Op::Sign, "k", Zeroizing::new(vec![b'a' + i]), deadline())
                        .await
                })
            })
            .collect();
        for c in callers {
            assert_eq!(
                c.await.unwrap().unwrap_err().code(),
                Some("operation_not_granted")
            );
        }
        // On one thread the four calls queue before anything else runs: two full batches.
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn paths_and_retry_classes() {
        assert_eq!(Op::HmacVerify.path("tok"), "/v1/keys/tok/hmac/verify");
        assert_eq!(Op::Random.path(""), "/v1/random");
        assert_eq!(Op::Encrypt.retry(EncryptRetry::IfUnsent), Retry::Unsent);
        assert_eq!(Op::Encrypt.retry(EncryptRetry::Always), Retry::Any);
        assert_eq!(Op::Decrypt.retry(EncryptRetry::IfUnsent), Retry::Any);
    }
}
