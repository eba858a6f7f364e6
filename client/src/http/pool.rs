//! The connections to one node: up to `max_connections`, each carrying up to `pipeline_depth`
//! requests; a request goes to the least busy one, and a new connection is opened only when
//! every open one is at its depth. Connections idle for `idle_timeout` are closed.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use rustls_pki_types::ServerName;
use tokio::net::TcpStream;
use tokio::sync::{Notify, Semaphore, oneshot};
use tokio_rustls::TlsConnector;
use zeroize::Zeroizing;

use super::conn::{Conn, Job, Stream};
use super::message::{Endpoint, FailureKind, Request, Response, SendError};
use crate::config::Pool as PoolConfig;

struct Slot {
    conn: Arc<Conn>,
    last_used: Instant,
}

#[derive(Default)]
struct State {
    slots: Vec<Slot>,
    connecting: usize,
}

pub struct NodePool {
    endpoint: Endpoint,
    tls: Option<(TlsConnector, ServerName<'static>)>,
    /// `Host:` and `Authorization:` lines (the token: zeroized on drop).
    head: Arc<Zeroizing<Vec<u8>>>,
    config: PoolConfig,
    state: Mutex<State>,
    /// Wakes callers waiting for a connection being opened.
    opened: Notify,
    /// Bounds the requests in flight to the node: connections × depth.
    permits: Semaphore,
}

/// Gives a connection's slot back when the request is over, however it ends.
struct Claim(Arc<Conn>);

impl Drop for Claim {
    fn drop(&mut self) {
        self.0.release();
    }
}

enum Pick {
    Use(Arc<Conn>),
    Open,
    Wait,
}

impl NodePool {
    pub fn new(
        endpoint: Endpoint,
        tls: Option<Arc<rustls::ClientConfig>>,
        token: Option<&str>,
        config: PoolConfig,
    ) -> Result<Self, String> {
        let tls = match tls {
            Some(c) if endpoint.tls => {
                let name = ServerName::try_from(endpoint.bare_host().to_owned())
                    .map_err(|e| format!("{}: {e}", endpoint.host))?;
                Some((TlsConnector::from(c), name))
            }
            _ if endpoint.tls => return Err(format!("{}: no TLS configuration", endpoint.url())),
            _ => None,
        };
        let mut head = Zeroizing::new(Vec::with_capacity(128));
        head.extend_from_slice(b"Host: ");
        head.extend_from_slice(endpoint.host.as_bytes());
        head.extend_from_slice(format!(":{}\r\n", endpoint.port).as_bytes());
        if let Some(t) = token {
            if t.bytes().any(|b| b.is_ascii_control()) {
                return Err("the token contains control characters".into());
            }
            head.extend_from_slice(b"Authorization: Bearer ");
            head.extend_from_slice(t.as_bytes());
            head.extend_from_slice(b"\r\n");
        }
        let permits = Semaphore::new(config.max_connections * config.pipeline_depth);
        Ok(Self {
            endpoint,
            tls,
            head: Arc::new(head),
            config,
            state: Mutex::new(State::default()),
            opened: Notify::new(),
            permits,
        })
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// Sends one request and waits for its answer.
    pub async fn send(&self, req: Arc<Request>) -> Result<Response, SendError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| SendError::unsent(FailureKind::Io, "the pool is closed"))?;
        // A connection that closes between being picked and taking the request gives the
        // request back unwritten: another connection may take it.
        for _ in 0..4 {
            let conn = self.checkout().await?;
            let claim = Claim(conn);
            let (tx, rx) = oneshot::channel();
            let job = Job {
                req: Arc::clone(&req),
                reply: tx,
            };
            if claim.0.send(job).is_err() {
                continue;
            }
            match rx.await {
                Ok(Ok(response)) => return Ok(response),
                Ok(Err(e)) if !e.sent && e.kind == FailureKind::Io => continue,
                Ok(Err(e)) => return Err(e),
                Err(_) => return Err(SendError::sent(FailureKind::Io, "the connection ended")),
            }
        }
        Err(SendError::unsent(
            FailureKind::Io,
            "connections to the node keep closing",
        ))
    }

    fn pick(&self) -> Pick {
        let now = Instant::now();
        let Ok(mut st) = self.state.lock() else {
            return Pick::Open;
        };
        let idle = self.config.idle_timeout;
        st.slots.retain(|s| {
            let idle_too_long = s.conn.in_flight() == 0 && now - s.last_used >= idle;
            !s.conn.is_dead() && !idle_too_long
        });
        let total = st.slots.len() + st.connecting;
        let best = st.slots.iter_mut().min_by_key(|s| s.conn.in_flight());
        match best {
            Some(slot)
                if slot.conn.in_flight() < self.config.pipeline_depth
                    || total >= self.config.max_connections =>
            {
                slot.last_used = now;
                slot.conn.claim();
                Pick::Use(Arc::clone(&slot.conn))
            }
            _ if total < self.config.max_connections => {
                st.connecting += 1;
                Pick::Open
            }
            _ => Pick::Wait,
        }
    }

    async fn checkout(&self) -> Result<Arc<Conn>, SendError> {
        loop {
            let opened = self.opened.notified();
            tokio::pin!(opened);
            opened.as_mut().enable();
            match self.pick() {
                Pick::Use(conn) => return Ok(conn),
                Pick::Wait => opened.await,
                Pick::Open => {
                    let result = self.connect().await;
                    if let Ok(mut st) = self.state.lock() {
                        st.connecting -= 1;
                        if let Ok(conn) = &result {
                            conn.claim();
                            st.slots.push(Slot {
                                conn: Arc::clone(conn),
                                last_used: Instant::now(),
                            });
                        }
                    }
                    self.opened.notify_waiters();
                    return result;
                }
            }
        }
    }

    async fn connect(&self) -> Result<Arc<Conn>, SendError> {
        let e = &self.endpoint;
        let connect = TcpStream::connect((e.bare_host(), e.port));
        let tcp = match tokio::time::timeout(self.config.connect_timeout, connect).await {
            Ok(Ok(tcp)) => tcp,
            Ok(Err(err)) => return Err(SendError::unsent(FailureKind::Connect, err.to_string())),
            Err(_) => return Err(SendError::unsent(FailureKind::Connect, "connect timed out")),
        };
        // Small requests and answers: never wait for Nagle.
        let _ = tcp.set_nodelay(true);
        let stream = match &self.tls {
            None => Stream::Plain(tcp),
            Some((connector, name)) => {
                let handshake = connector.connect(name.clone(), tcp);
                match tokio::time::timeout(self.config.connect_timeout, handshake).await {
                    Ok(Ok(tls)) => Stream::Tls(Box::new(tls)),
                    Ok(Err(err)) => {
                        return Err(SendError::unsent(FailureKind::Tls, err.to_string()));
                    }
                    Err(_) => {
                        return Err(SendError::unsent(
                            FailureKind::Tls,
                            "TLS handshake timed out",
                        ));
                    }
                }
            }
        };
        Ok(Conn::start(stream, Arc::clone(&self.head)))
    }
}
