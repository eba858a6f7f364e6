//! `GET /v1/keys/{name}/public-key[?version=N]`.

use serde::Deserialize;

use super::wire::parse;
use crate::client::{Client, check_key_name};
use crate::error::Result;
use crate::failover::Retry;
use crate::http::Method;

/// The public half of an RSA, ECDSA, Ed25519 or SM2 version.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PublicKey {
    pub key_version: u32,
    pub algorithm: String,
    /// SPKI, PEM.
    pub pem: String,
}

impl Client {
    /// The public key of `version` (default: the active one).
    pub async fn public_key(&self, key: &str, version: Option<u32>) -> Result<PublicKey> {
        check_key_name(key)?;
        let path = match version {
            Some(v) => format!("/v1/keys/{key}/public-key?version={v}"),
            None => format!("/v1/keys/{key}/public-key"),
        };
        let (body, _) = self
            .request(Method::Get, path, Vec::new(), Retry::Any)
            .await?;
        parse(std::str::from_utf8(&body).unwrap_or(""))
    }
}
