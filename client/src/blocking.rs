//! The blocking facade: the same calls for threads that are not async. It owns a small tokio
//! runtime whose workers run the connections, batches and health checks; each call blocks its
//! own thread until the answer. Calls from many threads at once are batched together just as
//! async calls are.
//!
//! Do not call it (or drop it) from inside an async task: use [`crate::client::Client`] there.

use std::io::{Read, Write};
use std::sync::Arc;
use std::time::Duration;

use zeroize::Zeroizing;

use crate::client::NodeId;
use crate::config::Settings;
use crate::envelope::stream::{BlockingReader, BlockingWriter};
use crate::error::Result;
use crate::node::{Health, NodeStatus};
use crate::ops::{
    Ciphertext, DataKey, PasswordChallenge, PasswordMatch, PasswordPublicKey, PublicKey,
    SignOptions, Tagged,
};
use crate::stats::Stats;

#[derive(Clone)]
pub struct Client {
    runtime: Arc<tokio::runtime::Runtime>,
    inner: crate::client::Client,
}

impl crate::config::ClientBuilder {
    /// A blocking client with its own small runtime (`threads` workers, at least 1).
    pub fn build_blocking(self, threads: usize) -> Result<Client> {
        Client::from_settings(self.validated()?, threads)
    }
}

impl Client {
    pub(crate) fn from_settings(settings: Settings, threads: usize) -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads.max(1))
            .thread_name("kms-client")
            .enable_all()
            .build()?;
        let inner = {
            let _inside = runtime.enter();
            crate::client::Client::from_settings(settings)?
        };
        Ok(Self {
            runtime: Arc::new(runtime),
            inner,
        })
    }

    /// The async client underneath (same connections, batches and cache).
    pub fn async_client(&self) -> &crate::client::Client {
        &self.inner
    }

    pub fn with_deadline(&self, deadline: Duration) -> Self {
        Self {
            runtime: Arc::clone(&self.runtime),
            inner: self.inner.with_deadline(deadline),
        }
    }

    pub fn on_node(&self, node: NodeId) -> Self {
        Self {
            runtime: Arc::clone(&self.runtime),
            inner: self.inner.on_node(node),
        }
    }

    pub fn stats(&self) -> Stats {
        self.inner.stats()
    }

    pub fn nodes(&self) -> Vec<NodeStatus> {
        self.inner.nodes()
    }

    pub fn check_health(&self) -> Vec<Health> {
        self.runtime.block_on(self.inner.check_health())
    }

    pub fn encrypt(
        &self,
        key: &str,
        plaintext: &[u8],
        context: Option<&[u8]>,
    ) -> Result<Ciphertext> {
        self.runtime
            .block_on(self.inner.encrypt(key, plaintext, context))
    }

    pub fn decrypt(
        &self,
        key: &str,
        ciphertext: &str,
        context: Option<&[u8]>,
    ) -> Result<Zeroizing<Vec<u8>>> {
        self.runtime
            .block_on(self.inner.decrypt(key, ciphertext, context))
    }

    pub fn rewrap(
        &self,
        key: &str,
        ciphertext: &str,
        context: Option<&[u8]>,
    ) -> Result<Ciphertext> {
        self.runtime
            .block_on(self.inner.rewrap(key, ciphertext, context))
    }

    pub fn datakey(&self, key: &str, bits: u32, context: Option<&[u8]>) -> Result<DataKey> {
        self.runtime
            .block_on(self.inner.datakey(key, bits, context))
    }

    pub fn datakey_wrapped(
        &self,
        key: &str,
        bits: u32,
        context: Option<&[u8]>,
    ) -> Result<Ciphertext> {
        self.runtime
            .block_on(self.inner.datakey_wrapped(key, bits, context))
    }

    pub fn sign(&self, key: &str, input: &[u8], options: SignOptions) -> Result<Tagged> {
        self.runtime.block_on(self.inner.sign(key, input, options))
    }

    pub fn verify(
        &self,
        key: &str,
        input: &[u8],
        signature: &str,
        options: SignOptions,
    ) -> Result<bool> {
        self.runtime
            .block_on(self.inner.verify(key, input, signature, options))
    }

    pub fn hmac(&self, key: &str, input: &[u8]) -> Result<Tagged> {
        self.runtime.block_on(self.inner.hmac(key, input))
    }

    pub fn hmac_verify(&self, key: &str, input: &[u8], hmac: &str) -> Result<bool> {
        self.runtime
            .block_on(self.inner.hmac_verify(key, input, hmac))
    }

    pub fn random(&self, bytes: usize) -> Result<Zeroizing<Vec<u8>>> {
        self.runtime.block_on(self.inner.random(bytes))
    }

    pub fn public_key(&self, key: &str, version: Option<u32>) -> Result<PublicKey> {
        self.runtime.block_on(self.inner.public_key(key, version))
    }

    pub fn password_public_key(&self, key: &str) -> Result<PasswordPublicKey> {
        self.runtime.block_on(self.inner.password_public_key(key))
    }

    pub fn password_challenge(&self, key: &str) -> Result<PasswordChallenge> {
        self.runtime.block_on(self.inner.password_challenge(key))
    }

    pub fn password_protect(
        &self,
        key: &str,
        encrypted_password: &str,
        salt: &[u8],
    ) -> Result<Ciphertext> {
        self.runtime
            .block_on(self.inner.password_protect(key, encrypted_password, salt))
    }

    pub fn password_verify(
        &self,
        key: &str,
        encrypted_password: &str,
        salt: &[u8],
        protected: &str,
    ) -> Result<PasswordMatch> {
        self.runtime.block_on(
            self.inner
                .password_verify(key, encrypted_password, salt, protected),
        )
    }

    pub fn password_rewrap(&self, key: &str, protected: &str) -> Result<Ciphertext> {
        self.runtime
            .block_on(self.inner.password_rewrap(key, protected))
    }

    pub fn encrypt_local(
        &self,
        key: &str,
        plaintext: &[u8],
        context: Option<&[u8]>,
    ) -> Result<Vec<u8>> {
        self.runtime
            .block_on(self.inner.encrypt_local(key, plaintext, context))
    }

    pub fn decrypt_local(
        &self,
        envelope: &[u8],
        context: Option<&[u8]>,
    ) -> Result<Zeroizing<Vec<u8>>> {
        self.runtime
            .block_on(self.inner.decrypt_local(envelope, context))
    }

    /// [`crate::client::Client::encrypt_stream`] from a `Read` into a `Write`.
    pub fn encrypt_stream<R: Read + Unpin, W: Write + Unpin>(
        &self,
        key: &str,
        context: Option<&[u8]>,
        reader: R,
        writer: W,
    ) -> Result<u64> {
        self.runtime.block_on(self.inner.encrypt_stream(
            key,
            context,
            BlockingReader(reader),
            BlockingWriter(writer),
        ))
    }

    /// [`crate::client::Client::decrypt_stream`] from a `Read` into a `Write`.
    pub fn decrypt_stream<R: Read + Unpin, W: Write + Unpin>(
        &self,
        context: Option<&[u8]>,
        reader: R,
        writer: W,
    ) -> Result<u64> {
        self.runtime.block_on(self.inner.decrypt_stream(
            context,
            BlockingReader(reader),
            BlockingWriter(writer),
        ))
    }
}
