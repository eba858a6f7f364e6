//! One keep-alive HTTP/1.1 connection with pipelining: a writer task drains the queue of
//! requests into one buffer and writes it at once; a reader task reads the answers in order and
//! hands each to the request it belongs to. Each request learns whether it was written before a
//! failure, so that the caller can decide whether another attempt is safe.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf, ReadHalf, WriteHalf};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, watch};
use zeroize::Zeroizing;

use super::codec::{ResponseReader, encode_request};
use super::message::{FailureKind, Request, Response, SendError};

/// Requests are gathered into one write up to this size.
const WRITE_BATCH: usize = 64 * 1024;

pub enum Stream {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

type Reply = oneshot::Sender<Result<Response, SendError>>;

pub struct Job {
    pub req: Arc<Request>,
    pub reply: Reply,
}

/// The handle the pool keeps. Dropping it lets the connection finish what is in flight and
/// close.
pub struct Conn {
    jobs: mpsc::UnboundedSender<Job>,
    in_flight: AtomicUsize,
    dead: Arc<watch::Sender<bool>>,
}

impl Conn {
    /// Starts the connection's tasks on the current runtime. `head`: the header lines every
    /// request to this node carries.
    pub fn start(stream: Stream, head: Arc<Zeroizing<Vec<u8>>>) -> Arc<Self> {
        let (jobs_tx, jobs_rx) = mpsc::unbounded_channel();
        let (written_tx, written_rx) = mpsc::unbounded_channel();
        let dead = Arc::new(watch::channel(false).0);
        let (r, w) = tokio::io::split(stream);
        tokio::spawn(write_loop(w, jobs_rx, written_tx, Arc::clone(&dead), head));
        tokio::spawn(read_loop(r, written_rx, Arc::clone(&dead)));
        Arc::new(Self {
            jobs: jobs_tx,
            in_flight: AtomicUsize::new(0),
            dead,
        })
    }

    pub fn is_dead(&self) -> bool {
        *self.dead.borrow()
    }

    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }

    pub fn claim(&self) {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
    }

    pub fn release(&self) {
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
    }

    /// Queues a request; gives it back if the connection is gone.
    pub fn send(&self, job: Job) -> Result<(), Job> {
        self.jobs.send(job).map_err(|e| e.0)
    }
}

/// Resolves once the connection is marked dead (the other task failed).
async fn until_dead(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|d| *d).await.map(|_| ());
}

fn not_written() -> SendError {
    SendError::unsent(
        FailureKind::Io,
        "the connection closed before the request was written",
    )
}

async fn write_loop(
    mut w: WriteHalf<Stream>,
    mut jobs: mpsc::UnboundedReceiver<Job>,
    written: mpsc::UnboundedSender<Reply>,
    dead: Arc<watch::Sender<bool>>,
    head: Arc<Zeroizing<Vec<u8>>>,
) {
    let mut dead_rx = dead.subscribe();
    let mut buf = Zeroizing::new(Vec::with_capacity(WRITE_BATCH));
    'outer: loop {
        let first = tokio::select! {
            biased;
            _ = until_dead(&mut dead_rx) => break,
            job = jobs.recv() => match job {
                Some(job) => job,
                // The pool let go of the connection: close our side once what is in flight
                // has been answered (the reader sees the node close its side).
                None => {
                    let _ = w.shutdown().await;
                    return;
                }
            },
        };
        buf.clear();
        let mut next = Some(first);
        while let Some(job) = next.take() {
            let mark = buf.len();
            encode_request(&mut buf, &job.req, &head);
            // The reply is queued for the reader before the bytes go out, so that the answer
            // always finds it.
            if let Err(back) = written.send(job.reply) {
                buf.truncate(mark);
                let _ = back.0.send(Err(not_written()));
                if !buf.is_empty() {
                    let _ = w.write_all(&buf).await;
                }
                break 'outer;
            }
            if buf.len() < WRITE_BATCH {
                next = jobs.try_recv().ok();
            }
        }
        if w.write_all(&buf).await.is_err() {
            break;
        }
    }
    dead.send_replace(true);
    jobs.close();
    while let Ok(job) = jobs.try_recv() {
        let _ = job.reply.send(Err(not_written()));
    }
}

async fn read_loop(
    mut r: ReadHalf<Stream>,
    mut written: mpsc::UnboundedReceiver<Reply>,
    dead: Arc<watch::Sender<bool>>,
) {
    let mut dead_rx = dead.subscribe();
    let mut reader = ResponseReader::new();
    let failure = loop {
        let next = tokio::select! {
            biased;
            _ = until_dead(&mut dead_rx) => {
                break SendError::sent(FailureKind::Io, "the connection failed while writing");
            }
            next = reader.next(&mut r) => next,
        };
        match next {
            Ok(Some((response, close))) => {
                let Ok(reply) = written.try_recv() else {
                    break SendError::sent(FailureKind::Protocol, "an answer to no request");
                };
                if close {
                    // Dead before the answer is handed over, so that the caller's next request
                    // never picks this connection. A node that announces `Connection: close`
                    // processes no request after this one (RFC 9112, 9.6): those pipelined
                    // behind it were not done and may go to another connection.
                    dead.send_replace(true);
                    let _ = reply.send(Ok(response));
                    break SendError::unsent(
                        FailureKind::Io,
                        "the node closed the connection before this request",
                    );
                }
                let _ = reply.send(Ok(response));
            }
            Ok(None) => break SendError::sent(FailureKind::Io, "the node closed the connection"),
            Err(e) => break e,
        }
    };
    dead.send_replace(true);
    written.close();
    while let Ok(reply) = written.try_recv() {
        let _ = reply.send(Err(failure.clone()));
    }
}
