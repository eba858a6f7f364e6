//! The client's settings and their builder. Every setting has a default that suits a busy
//! internal service; `build` checks them together.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::clock::{Clock, SystemClock};
use crate::error::{Error, Result};
use crate::secret::Token;

/// Automatic batching: concurrent calls for the same key and operation are sent as one `items`
/// request. A batch leaves as soon as no new call joined it during one turn of the runtime's
/// scheduler, or when it is `window` old, `max_items` long or `max_bytes` big, whichever comes
/// first; a lone call therefore waits microseconds, not the whole window.
#[derive(Debug, Clone)]
pub struct Batching {
    pub enabled: bool,
    /// The longest the first call of a batch waits for others (default 200 µs).
    pub window: Duration,
    /// Items per request (default 256; the server takes at most 10 000).
    pub max_items: usize,
    /// Request body size at which a batch leaves (default 512 KiB; the server's body limit is
    /// 1 MiB by default). A call bigger than this is sent alone.
    pub max_bytes: usize,
}

impl Default for Batching {
    fn default() -> Self {
        Self {
            enabled: true,
            window: Duration::from_micros(200),
            max_items: 256,
            max_bytes: 512 * 1024,
        }
    }
}

impl Batching {
    /// One request per call.
    pub fn disabled() -> Self {
        Self {
            enabled: false,
            ..Self::default()
        }
    }
}

/// Whether an encrypt (and a data key) may be sent again after the request reached a node
/// whose answer was lost (the node died, the connection broke mid-answer).
///
/// A second attempt makes a second ciphertext of the same plaintext. Each ciphertext is valid
/// on its own and the first is never returned to anybody, so for the KMS's AEAD keys this is
/// harmless, and `Always` is the default. What does change: the lost attempt still counts in the
/// key's usage statistics and against a per-app rate limit. Choose `IfUnsent` where that
/// matters (exact usage accounting); encrypts then fail over only when the request provably
/// never left the client (no connection, or queued behind a connection that broke).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EncryptRetry {
    #[default]
    Always,
    IfUnsent,
}

/// Several nodes: health, balancing, retries and circuit breaking.
#[derive(Debug, Clone)]
pub struct Failover {
    /// Attempts per call, on different nodes where there are several (default 3).
    pub max_attempts: u32,
    /// Consecutive failures that open a node's circuit (default 3).
    pub breaker_failures: u32,
    /// How long an open circuit keeps a node out before one trial call (default 2 s; doubles
    /// on each failed trial, up to 30 s).
    pub breaker_cooldown: Duration,
    /// How often `/readyz` is polled on every node (default 1 s; `None`: never).
    pub health_interval: Option<Duration>,
    pub encrypt_retry: EncryptRetry,
}

impl Default for Failover {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            breaker_failures: 3,
            breaker_cooldown: Duration::from_secs(2),
            health_interval: Some(Duration::from_secs(1)),
            encrypt_retry: EncryptRetry::Always,
        }
    }
}

/// Connections to each node: HTTP/1.1 with keep-alive, requests pipelined on each connection.
#[derive(Debug, Clone)]
pub struct Pool {
    /// Connections per node (default 8).
    pub max_connections: usize,
    /// Requests in flight on one connection (default 32). Connections × depth bounds the
    /// requests in flight to a node; further calls wait for a slot.
    pub pipeline_depth: usize,
    pub connect_timeout: Duration,
    /// A connection unused this long is closed by the client before the server's keep-alive
    /// (5 s) closes it, so a request is never written into a connection being closed.
    pub idle_timeout: Duration,
}

impl Default for Pool {
    fn default() -> Self {
        Self {
            max_connections: 8,
            pipeline_depth: 32,
            connect_timeout: Duration::from_secs(2),
            idle_timeout: Duration::from_secs(4),
        }
    }
}

/// Limits of the envelope data-key cache, per data key, as the AWS Encryption SDK's caching
/// materials manager has them. An entry is evicted (and its key zeroized) when any is reached.
#[derive(Debug, Clone)]
pub struct CacheLimits {
    /// Age after which a data key is no longer used (default 5 minutes).
    pub max_age: Duration,
    /// Messages encrypted under one data key (default 100 000; at most 2^32, the bound for
    /// random 96-bit GCM nonces).
    pub max_messages: u64,
    /// Plaintext bytes encrypted under one data key (default 1 GiB). A message bigger than
    /// this gets a data key of its own, never cached.
    pub max_bytes: u64,
    /// Data keys kept (encryption and decryption each; default 1 000); the oldest goes first.
    pub capacity: usize,
}

impl Default for CacheLimits {
    fn default() -> Self {
        Self {
            max_age: Duration::from_secs(300),
            max_messages: 100_000,
            max_bytes: 1 << 30,
            capacity: 1_000,
        }
    }
}

/// A client certificate and its private key (PEM files).
#[derive(Debug, Clone)]
pub struct ClientCertificate {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Everything [`ClientBuilder::build`] checked.
pub(crate) struct Settings {
    pub nodes: Vec<String>,
    pub token: Option<Token>,
    pub certificate: Option<ClientCertificate>,
    pub ca_file: Option<PathBuf>,
    pub deadline: Duration,
    pub batching: Batching,
    pub failover: Failover,
    pub pool: Pool,
    pub cache: CacheLimits,
    pub clock: Arc<dyn Clock>,
}

/// Builds a [`crate::Client`] (or, with [`ClientBuilder::build_blocking`], a
/// [`crate::blocking::Client`]).
pub struct ClientBuilder {
    settings: Settings,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl ClientBuilder {
    pub fn new() -> Self {
        Self {
            settings: Settings {
                nodes: Vec::new(),
                token: None,
                certificate: None,
                ca_file: None,
                deadline: Duration::from_secs(10),
                batching: Batching::default(),
                failover: Failover::default(),
                pool: Pool::default(),
                cache: CacheLimits::default(),
                clock: Arc::new(SystemClock),
            },
        }
    }

    /// A service node, `http://host:port` or `https://host:port`. Call once per node.
    pub fn node(mut self, url: impl Into<String>) -> Self {
        self.settings.nodes.push(url.into());
        self
    }

    pub fn nodes<I, S>(mut self, urls: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.settings.nodes.extend(urls.into_iter().map(Into::into));
        self
    }

    /// The app's bearer token.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.settings.token = Some(Token::new(token));
        self
    }

    /// A TLS client certificate bound to the app (`kms app certificate`): no token needed.
    pub fn client_certificate(mut self, cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        self.settings.certificate = Some(ClientCertificate {
            cert: cert.into(),
            key: key.into(),
        });
        self
    }

    /// The CA (PEM) that signed the nodes' certificates; needed for `https://` nodes.
    pub fn ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.settings.ca_file = Some(path.into());
        self
    }

    /// The default deadline of each call (default 10 s); see [`crate::Client::with_deadline`].
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.settings.deadline = deadline;
        self
    }

    pub fn batching(mut self, batching: Batching) -> Self {
        self.settings.batching = batching;
        self
    }

    pub fn failover(mut self, failover: Failover) -> Self {
        self.settings.failover = failover;
        self
    }

    pub fn pool(mut self, pool: Pool) -> Self {
        self.settings.pool = pool;
        self
    }

    pub fn cache_limits(mut self, limits: CacheLimits) -> Self {
        self.settings.cache = limits;
        self
    }

    /// The clock of the data-key cache (tests use [`crate::ManualClock`]).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.settings.clock = clock;
        self
    }

    /// The settings, checked (`build` in client.rs and `build_blocking` in blocking.rs use them).
    pub(crate) fn validated(self) -> Result<Settings> {
        let s = self.settings;
        let fail = |what: &str| Err(Error::Config(what.to_owned()));
        if s.nodes.is_empty() {
            return fail("at least one node address is needed");
        }
        if s.token.is_none() && s.certificate.is_none() {
            return fail("a token or a client certificate is needed");
        }
        if s.batching.max_items == 0 || s.batching.max_items > 10_000 {
            return fail("batching.max_items must be 1 to 10 000 (the server's batch limit)");
        }
        if s.pool.max_connections == 0 || s.pool.pipeline_depth == 0 {
            return fail("pool.max_connections and pool.pipeline_depth must be at least 1");
        }
        if s.failover.max_attempts == 0 || s.failover.breaker_failures == 0 {
            return fail("failover.max_attempts and failover.breaker_failures must be at least 1");
        }
        if s.cache.max_messages == 0 || s.cache.max_messages > 1 << 32 {
            return fail("cache.max_messages must be 1 to 2^32 (random GCM nonces)");
        }
        if s.cache.capacity == 0 || s.cache.max_bytes == 0 {
            return fail("cache.capacity and cache.max_bytes must be at least 1");
        }
        if s.deadline.is_zero() {
            return fail("the deadline must be positive");
        }
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(b: ClientBuilder) -> String {
        match b.validated() {
            Err(Error::Config(what)) => what,
            Err(e) => panic!("another error: {e}"),
            Ok(_) => panic!("accepted"),
        }
    }

    #[test]
    fn inconsistent_settings_are_refused_with_what_is_wrong() {
        assert!(problem(ClientBuilder::new().token("t")).contains("node"));
        assert!(problem(ClientBuilder::new().node("http://a:1")).contains("token"));
        let ok = || ClientBuilder::new().node("http://a:1").token("t");
        let too_many = Batching {
            max_items: 10_001,
            ..Batching::default()
        };
        assert!(problem(ok().batching(too_many)).contains("max_items"));
        let nonces = CacheLimits {
            max_messages: (1 << 32) + 1,
            ..CacheLimits::default()
        };
        assert!(problem(ok().cache_limits(nonces)).contains("2^32"));
        assert!(ok().validated().is_ok());
    }
}
