//! `hmac` and `hmac/verify` (`POST /v1/keys/{name}/hmac`, `/hmac/verify`).

use serde::{Deserialize, Serialize};

use super::sign::ValidOut;
use super::wire::{Tagged, b64, item, parse};
use crate::batch::Op;
use crate::client::Client;
use crate::error::Result;

#[derive(Serialize)]
struct HmacItem {
    input: String,
}

#[derive(Serialize)]
struct HmacVerifyItem<'a> {
    input: String,
    hmac: &'a str,
}

#[derive(Deserialize)]
struct HmacOut {
    hmac: String,
    key_version: u32,
}

impl Client {
    /// A MAC of `input` under the key's active version: `kms:NNNNN:<base64>`. The same input
    /// and version always give the same MAC (lookups by card number, for example).
    pub async fn hmac(&self, key: &str, input: &[u8]) -> Result<Tagged> {
        let request = HmacItem { input: b64(input) };
        let answer = self.item(Op::Hmac, key, item(&request)?).await?;
        let out: HmacOut = parse(&answer)?;
        Ok(Tagged {
            value: out.hmac,
            key_version: out.key_version,
        })
    }

    /// Whether `hmac` is `input`'s MAC, compared in constant time by the KMS.
    pub async fn hmac_verify(&self, key: &str, input: &[u8], hmac: &str) -> Result<bool> {
        let request = HmacVerifyItem {
            input: b64(input),
            hmac,
        };
        let answer = self.item(Op::HmacVerify, key, item(&request)?).await?;
        Ok(parse::<ValidOut>(&answer)?.valid)
    }
}
