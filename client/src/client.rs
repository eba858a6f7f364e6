//! The async client: its nodes, its batcher, and the one path every data-plane item takes.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::value::RawValue;
use zeroize::Zeroizing;

use crate::batch::{Answer, Batcher, Dispatch, Item, Op};
use crate::breaker::Breaker;
use crate::config::{ClientBuilder, EncryptRetry, Settings};
use crate::envelope::cache::DataKeyCache;
use crate::error::{Error, Result, parse_error_body};
use crate::failover::{Cluster, Retry};
use crate::http::{Endpoint, Method, NodePool, Request};
use crate::node::{Health, Node, NodeStatus};
use crate::stats::{Counters, Stats};

/// A node of the client's list, by position (from [`crate::PasswordChallenge::node`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeId(pub usize);

pub(crate) struct Inner {
    pub cluster: Arc<Cluster>,
    batcher: Option<Arc<Batcher>>,
    pub encrypt_retry: EncryptRetry,
    pub counters: Arc<Counters>,
    pub cache: DataKeyCache,
}

/// A client of the KMS data plane. Cheap to clone; clones share connections, batches and the
/// data-key cache. Create it inside a tokio runtime ([`ClientBuilder::build`]).
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
    pub(crate) deadline: Duration,
    pub(crate) pin: Option<usize>,
}

impl ClientBuilder {
    /// The client, inside a tokio runtime (its health checks and batches run as tasks).
    pub fn build(self) -> Result<Client> {
        Client::from_settings(self.validated()?)
    }
}

impl Client {
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }

    pub(crate) fn from_settings(settings: Settings) -> Result<Self> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(Error::Config(
                "build the client inside a tokio runtime (or use build_blocking)".into(),
            ));
        }
        let endpoints = settings
            .nodes
            .iter()
            .map(|url| Endpoint::parse(url).map_err(Error::Config))
            .collect::<Result<Vec<_>>>()?;
        let tls = if endpoints.iter().any(|e| e.tls) {
            Some(crate::http::tls::client_config(
                settings.ca_file.as_deref(),
                settings.certificate.as_ref(),
            )?)
        } else if settings.certificate.is_some() {
            return Err(Error::Config(
                "a client certificate needs https:// nodes".into(),
            ));
        } else {
            None
        };
        let token = settings.token.as_ref().map(|t| t.expose());
        let nodes = endpoints
            .into_iter()
            .map(|e| {
                let pool = NodePool::new(e, tls.clone(), token, settings.pool.clone())
                    .map_err(Error::Config)?;
                let breaker = Breaker::new(
                    settings.failover.breaker_failures,
                    settings.failover.breaker_cooldown,
                );
                Ok(Arc::new(Node::new(pool, breaker)))
            })
            .collect::<Result<Vec<_>>>()?;
        let counters = Arc::new(Counters::default());
        let encrypt_retry = settings.failover.encrypt_retry;
        let health_interval = settings.failover.health_interval;
        let cluster = Arc::new(Cluster::new(
            nodes,
            settings.failover,
            Arc::clone(&counters),
        ));
        if let Some(interval) = health_interval {
            crate::health::spawn(Arc::downgrade(&cluster), interval);
        }
        let batcher = settings.batching.enabled.then(|| {
            Batcher::new(
                settings.batching.clone(),
                dispatcher(Arc::clone(&cluster), encrypt_retry),
            )
        });
        Ok(Self {
            inner: Arc::new(Inner {
                cluster,
                batcher,
                encrypt_retry,
                counters,
                cache: DataKeyCache::new(settings.cache, settings.clock),
            }),
            deadline: settings.deadline,
            pin: None,
        })
    }

    /// The same client with another deadline for each call made through it.
    pub fn with_deadline(&self, deadline: Duration) -> Self {
        Self {
            deadline,
            ..self.clone()
        }
    }

    /// The same client, sending only to `node` (no failover, no batching): for password calls,
    /// whose challenge lives in the memory of the node that issued it.
    pub fn on_node(&self, node: NodeId) -> Self {
        Self {
            pin: Some(node.0),
            ..self.clone()
        }
    }

    pub fn stats(&self) -> Stats {
        self.inner.counters.snapshot()
    }

    pub fn nodes(&self) -> Vec<NodeStatus> {
        self.inner
            .cluster
            .nodes
            .iter()
            .map(|n| n.status())
            .collect()
    }

    /// Checks every node's `/readyz` now (the background check does it every
    /// `health_interval`), and answers what each said.
    pub async fn check_health(&self) -> Vec<Health> {
        let mut out = Vec::new();
        for node in &self.inner.cluster.nodes {
            out.push(crate::health::check(Arc::clone(node), Duration::from_secs(2)).await);
        }
        out
    }

    pub(crate) fn call_deadline(&self) -> Instant {
        Instant::now() + self.deadline
    }

    /// One data-plane item: batched with concurrent ones when batching is on.
    pub(crate) async fn item(&self, op: Op, key: &str, item: Item) -> Result<Answer> {
        if op != Op::Random {
            check_key_name(key)?;
        }
        let deadline = self.call_deadline();
        match (&self.inner.batcher, self.pin) {
            (Some(batcher), None) => batcher.submit(op, key, item, deadline).await,
            _ => {
                let retry = op.retry(self.inner.encrypt_retry);
                let mut answers = send_items(
                    &self.inner.cluster,
                    retry,
                    op,
                    key,
                    vec![item],
                    deadline,
                    self.pin,
                )
                .await?;
                answers.pop().unwrap_or_else(|| {
                    Err(Error::InvalidResponse {
                        node: String::new(),
                        detail: "no result".into(),
                    })
                })
            }
        }
    }

    /// A request outside the item model (public keys, password calls): its 2xx body and the
    /// node that answered.
    pub(crate) async fn request(
        &self,
        method: Method,
        path: String,
        body: Vec<u8>,
        retry: Retry,
    ) -> Result<(Zeroizing<Vec<u8>>, usize)> {
        let req = Request {
            method,
            path,
            body: Zeroizing::new(body),
        };
        let (response, node) = self
            .inner
            .cluster
            .execute(req, retry, self.call_deadline(), self.pin)
            .await?;
        Ok((response.body, node))
    }
}

/// Key names as the server accepts them (letters, digits, `-`, `_`, `.`), checked here so that a
/// name can never change the request's path.
pub(crate) fn check_key_name(key: &str) -> Result<()> {
    let ok = !key.is_empty()
        && key.len() <= 128
        && key.as_bytes()[0].is_ascii_alphanumeric()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidArgument(
            "a key name is 1 to 128 letters, digits, '-', '_' or '.', starting with a letter or digit",
        ))
    }
}

fn dispatcher(cluster: Arc<Cluster>, encrypt_retry: EncryptRetry) -> Dispatch {
    Arc::new(move |op, key, items, deadline| {
        let cluster = Arc::clone(&cluster);
        Box::pin(async move {
            let retry = op.retry(encrypt_retry);
            send_items(&cluster, retry, op, &key, items, deadline, None).await
        })
    })
}

#[derive(serde::Deserialize)]
struct Results<'a> {
    #[serde(borrow)]
    results: Vec<&'a RawValue>,
}

/// Sends items as one request: a single item's fields as the body, several as `items`.
async fn send_items(
    cluster: &Cluster,
    retry: Retry,
    op: Op,
    key: &str,
    mut items: Vec<Item>,
    deadline: Instant,
    pin: Option<usize>,
) -> Result<Vec<Result<Answer>>> {
    let n = items.len();
    Counters::add(&cluster.counters.items, n as u64);
    let body = if n == 1 {
        items.pop().unwrap_or_default()
    } else {
        Counters::add(&cluster.counters.batches, 1);
        let size = items.iter().map(|i| i.len() + 1).sum::<usize>() + 16;
        let mut body = Zeroizing::new(Vec::with_capacity(size));
        body.extend_from_slice(b"{\"items\":[");
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                body.push(b',');
            }
            body.extend_from_slice(item);
        }
        body.extend_from_slice(b"]}");
        body
    };
    let req = Request {
        method: Method::Post,
        path: op.path(key),
        body,
    };
    let (response, node) = cluster.execute(req, retry, deadline, pin).await?;
    let bad = |detail: String| Error::InvalidResponse {
        node: cluster.nodes[node].url(),
        detail,
    };
    let text = std::str::from_utf8(&response.body).map_err(|_| bad("not UTF-8".into()))?;
    if n == 1 {
        return Ok(vec![Ok(Zeroizing::new(text.to_owned()))]);
    }
    let parsed: Results<'_> =
        serde_json::from_str(text).map_err(|e| bad(format!("batch answer: {e}")))?;
    Ok(parsed
        .results
        .into_iter()
        .map(|raw| {
            let raw = raw.get();
            if raw.starts_with("{\"error\"") {
                Err(parse_error_body(None, raw.as_bytes())
                    .map(Error::Api)
                    .unwrap_or_else(|| bad("an item error without a code".into())))
            } else {
                Ok(Zeroizing::new(raw.to_owned()))
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_names_that_could_change_the_path_are_refused() {
        assert!(check_key_name("cards.v2_eu-1").is_ok());
        for bad in ["", "../admin", "a/b", "a?b", "-x", "a b", &"k".repeat(129)] {
            assert!(
                matches!(check_key_name(bad), Err(Error::InvalidArgument(_))),
                "{bad}"
            );
        }
    }
}
