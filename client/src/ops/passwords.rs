//! Password keys (`/v1/passwords/{name}/...`, docs/passwords.md): the browser encrypts the
//! typed password with a single-use challenge; the application backend passes the blob on
//! through these calls and stores only what `protect` returns.
//!
//! A challenge lives in the memory of the node that issued it, so `protect` and `verify` must
//! go to that node: call them on `client.on_node(challenge.node)`. They are never retried once
//! sent (the challenge would be spent), and never batched (the API takes no `items` here).

use serde::{Deserialize, Serialize};

use super::wire::{Ciphertext, b64, item, parse};
use crate::client::{Client, NodeId, check_key_name};
use crate::error::Result;
use crate::failover::Retry;
use crate::http::Method;

/// The password key's public key, for the browser (WebCrypto imports the JWK).
#[derive(Debug, Clone, Deserialize)]
pub struct PasswordPublicKey {
    pub key_version: u32,
    pub pem: String,
    pub jwk: serde_json::Value,
}

/// A single-use challenge, and the node that holds it.
#[derive(Debug, Clone)]
pub struct PasswordChallenge {
    /// Base64, for the browser to encrypt with the password.
    pub challenge: String,
    pub expires_at: String,
    pub node: NodeId,
}

#[derive(Deserialize)]
struct ChallengeOut {
    challenge: String,
    expires_at: String,
}

/// The answer of `verify`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PasswordMatch {
    #[serde(rename = "match")]
    pub matched: bool,
    pub key_version: u32,
    /// On a match under a version no longer active: the same password under the active
    /// version, to store in place of the old value.
    pub protected: Option<String>,
}

#[derive(Deserialize)]
struct ProtectedOut {
    protected: String,
    key_version: u32,
}

#[derive(Serialize)]
struct ProtectItem<'a> {
    encrypted_password: &'a str,
    salt: String,
}

#[derive(Serialize)]
struct VerifyItem<'a> {
    encrypted_password: &'a str,
    salt: String,
    protected: &'a str,
}

#[derive(Serialize)]
struct RewrapItem<'a> {
    protected: &'a str,
}

impl Client {
    async fn password_call(
        &self,
        key: &str,
        op: &str,
        method: Method,
        body: Vec<u8>,
        retry: Retry,
    ) -> Result<(String, usize)> {
        check_key_name(key)?;
        let path = format!("/v1/passwords/{key}/{op}");
        let (answer, node) = self.request(method, path, body, retry).await?;
        Ok((String::from_utf8_lossy(&answer).into_owned(), node))
    }

    pub async fn password_public_key(&self, key: &str) -> Result<PasswordPublicKey> {
        let (answer, _) = self
            .password_call(key, "public-key", Method::Get, Vec::new(), Retry::Any)
            .await?;
        parse(&answer)
    }

    /// A challenge for one `protect` or `verify`, good for two minutes, on the node named in it.
    pub async fn password_challenge(&self, key: &str) -> Result<PasswordChallenge> {
        let (answer, node) = self
            // No body: the endpoint reads none, and actix closes a connection whose request
            // body was left unread.
            .password_call(key, "challenge", Method::Post, Vec::new(), Retry::Any)
            .await?;
        let out: ChallengeOut = parse(&answer)?;
        Ok(PasswordChallenge {
            challenge: out.challenge,
            expires_at: out.expires_at,
            node: NodeId(node),
        })
    }

    /// The value to store for a new password. `encrypted_password` is the browser's base64
    /// blob as it arrived; `salt` the user's salt (1 to 255 bytes).
    pub async fn password_protect(
        &self,
        key: &str,
        encrypted_password: &str,
        salt: &[u8],
    ) -> Result<Ciphertext> {
        let body = item(&ProtectItem {
            encrypted_password,
            salt: b64(salt),
        })?;
        let (answer, _) = self
            .password_call(key, "protect", Method::Post, body.to_vec(), Retry::Unsent)
            .await?;
        let out: ProtectedOut = parse(&answer)?;
        Ok(Ciphertext {
            ciphertext: out.protected,
            key_version: out.key_version,
        })
    }

    /// Whether the browser's blob holds the password `protected` was made from.
    pub async fn password_verify(
        &self,
        key: &str,
        encrypted_password: &str,
        salt: &[u8],
        protected: &str,
    ) -> Result<PasswordMatch> {
        let body = item(&VerifyItem {
            encrypted_password,
            salt: b64(salt),
            protected,
        })?;
        let (answer, _) = self
            .password_call(key, "verify", Method::Post, body.to_vec(), Retry::Unsent)
            .await?;
        parse(&answer)
    }

    /// A protected value moved to the key's active version (`aead` password keys).
    pub async fn password_rewrap(&self, key: &str, protected: &str) -> Result<Ciphertext> {
        let body = item(&RewrapItem { protected })?;
        let (answer, _) = self
            .password_call(key, "rewrap", Method::Post, body.to_vec(), Retry::Any)
            .await?;
        let out: ProtectedOut = parse(&answer)?;
        Ok(Ciphertext {
            ciphertext: out.protected,
            key_version: out.key_version,
        })
    }
}
