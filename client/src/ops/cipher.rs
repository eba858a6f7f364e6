//! `encrypt`, `decrypt`, `rewrap` (`POST /v1/keys/{name}/...`).

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::wire::{Ciphertext, b64, item, parse, unb64};
use crate::batch::Op;
use crate::client::Client;
use crate::error::Result;

#[derive(Serialize)]
struct EncryptItem<'a> {
    plaintext: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    context: Option<String>,
}

#[derive(Serialize)]
struct CiphertextItem<'a> {
    ciphertext: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    context: Option<String>,
}

/// Borrows from the answer (base64 has nothing to unescape), which is zeroized after use.
#[derive(Deserialize)]
struct PlaintextOut<'a> {
    plaintext: &'a str,
}

impl Client {
    /// Encrypts under the key's active version. `context`, if given, is needed (identical) to
    /// decrypt. Concurrent encrypts with the same key are batched.
    pub async fn encrypt(
        &self,
        key: &str,
        plaintext: &[u8],
        context: Option<&[u8]>,
    ) -> Result<Ciphertext> {
        let encoded = Zeroizing::new(b64(plaintext));
        let request = EncryptItem {
            plaintext: &encoded,
            context: context.map(b64),
        };
        let answer = self.item(Op::Encrypt, key, item(&request)?).await?;
        parse(&answer)
    }

    /// Decrypts a `kms:NNNNN:...` ciphertext made by `key` with the same context.
    pub async fn decrypt(
        &self,
        key: &str,
        ciphertext: &str,
        context: Option<&[u8]>,
    ) -> Result<Zeroizing<Vec<u8>>> {
        let request = CiphertextItem {
            ciphertext,
            context: context.map(b64),
        };
        let answer = self.item(Op::Decrypt, key, item(&request)?).await?;
        let out: PlaintextOut = parse(&answer)?;
        unb64(out.plaintext)
    }

    /// The same plaintext under the key's active version; it never leaves the KMS.
    pub async fn rewrap(
        &self,
        key: &str,
        ciphertext: &str,
        context: Option<&[u8]>,
    ) -> Result<Ciphertext> {
        let request = CiphertextItem {
            ciphertext,
            context: context.map(b64),
        };
        let answer = self.item(Op::Rewrap, key, item(&request)?).await?;
        parse(&answer)
    }
}
