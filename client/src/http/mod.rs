//! HTTP/1.1 to one node: a pool of keep-alive connections on which requests are pipelined
//! (written back to back, answered in order), plain or over rustls.
//!
//! Why not hyper or reqwest: the client must know, for every failed request, whether its bytes
//! were written (an encrypt that never left may always be retried elsewhere; one that did, only
//! by policy), and pipelining lets one `write` carry every request queued on a connection,
//! which on a loaded 2-core machine saves a system call per request. The server speaks only
//! HTTP/1.1 (actix-web without `http2`), so HTTP/2 would buy nothing here.

pub mod codec;
pub mod conn;
mod message;
pub mod pool;
pub mod tls;

pub use message::{Endpoint, Method, Request, Response};
pub use pool::NodePool;
