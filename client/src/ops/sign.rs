//! `sign` and `verify` (`POST /v1/keys/{name}/sign`, `/verify`).

use serde::{Deserialize, Serialize};

use super::wire::{Tagged, b64, item, parse};
use crate::batch::Op;
use crate::client::Client;
use crate::error::Result;

/// RSA's padding; other algorithms take none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignScheme {
    Pss,
    Pkcs1v15,
}

impl SignScheme {
    fn name(self) -> &'static str {
        match self {
            SignScheme::Pss => "pss",
            SignScheme::Pkcs1v15 => "pkcs1v15",
        }
    }
}

#[derive(Debug, Clone, Copy, Default)]
pub struct SignOptions {
    /// The input is a SHA-256 digest (RSA, ECDSA) or SM2's `e`.
    pub prehashed: bool,
    /// RSA only (default PSS).
    pub scheme: Option<SignScheme>,
}

#[derive(Serialize)]
struct SignItem {
    input: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    prehashed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    scheme: Option<&'static str>,
}

#[derive(Serialize)]
struct VerifyItem<'a> {
    input: String,
    signature: &'a str,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    prehashed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    scheme: Option<&'static str>,
}

#[derive(Deserialize)]
struct SignatureOut {
    signature: String,
    key_version: u32,
}

#[derive(Deserialize)]
pub(crate) struct ValidOut {
    pub valid: bool,
}

impl Client {
    /// Signs `input` with the key's active version: `kms:NNNNN:<base64 signature>`.
    pub async fn sign(&self, key: &str, input: &[u8], options: SignOptions) -> Result<Tagged> {
        let request = SignItem {
            input: b64(input),
            prehashed: options.prehashed,
            scheme: options.scheme.map(SignScheme::name),
        };
        let answer = self.item(Op::Sign, key, item(&request)?).await?;
        let out: SignatureOut = parse(&answer)?;
        Ok(Tagged {
            value: out.signature,
            key_version: out.key_version,
        })
    }

    /// Whether `signature` (as `sign` made it) is valid for `input`. A wrong signature is
    /// `Ok(false)`; a malformed one is the KMS's `invalid_signature`.
    pub async fn verify(
        &self,
        key: &str,
        input: &[u8],
        signature: &str,
        options: SignOptions,
    ) -> Result<bool> {
        let request = VerifyItem {
            input: b64(input),
            signature,
            prehashed: options.prehashed,
            scheme: options.scheme.map(SignScheme::name),
        };
        let answer = self.item(Op::Verify, key, item(&request)?).await?;
        Ok(parse::<ValidOut>(&answer)?.valid)
    }
}
