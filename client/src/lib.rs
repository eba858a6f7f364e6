//! A Rust client for the KMS data plane, for high-QPS internal services.
//!
//! - Typed calls for every data-plane operation of the native API (docs/api.md): encrypt,
//!   decrypt, rewrap, datakey, sign, verify, hmac, hmac/verify, random, public keys, and the
//!   password calls; credentials by token or TLS client certificate, TLS with a CA file.
//! - Keep-alive HTTP/1.1 connection pools with pipelining (http/).
//! - Automatic batching: concurrent calls for the same key and operation leave as one `items`
//!   request (batch.rs).
//! - Several service nodes: `/readyz` health, least-busy balancing, failover, circuit breaking,
//!   `Retry-After`, a deadline per call (failover.rs, health.rs, breaker.rs).
//! - Envelope encryption with a data-key cache and streaming for large files (envelope/).
//! - A blocking facade ([`blocking::Client`]).
//!
//! ```no_run
//! # async fn example() -> Result<(), kms_client::Error> {
//! let kms = kms_client::Client::builder()
//!     .nodes(["https://kms-a.internal:8200", "https://kms-b.internal:8200"])
//!     .ca_file("/etc/kms/ca.pem")
//!     .token(std::env::var("KMS_TOKEN").unwrap_or_default())
//!     .build()?;
//! let ct = kms.encrypt("cards", b"4111111111111111", Some(b"order-1001")).await?;
//! let pan = kms.decrypt("cards", &ct.ciphertext, Some(b"order-1001")).await?;
//! assert_eq!(&pan[..], b"4111111111111111");
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

mod batch;
pub mod blocking;
mod breaker;
mod client;
mod clock;
mod config;
mod envelope;
mod error;
mod failover;
mod health;
mod http;
mod node;
mod ops;
mod secret;
mod stats;

pub use client::{Client, NodeId};
pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{
    Batching, CacheLimits, ClientBuilder, ClientCertificate, EncryptRetry, Failover, Pool,
};
pub use error::{ApiError, Error, Result};
pub use node::{Health, NodeStatus};
pub use ops::{
    Ciphertext, DataKey, PasswordChallenge, PasswordMatch, PasswordPublicKey, PublicKey,
    SignOptions, SignScheme, Tagged,
};
pub use secret::DataKeyPlaintext;
pub use stats::Stats;
pub use zeroize::Zeroizing;
