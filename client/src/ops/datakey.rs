//! `datakey` (`POST /v1/keys/{name}/datakey`): a fresh data key, encrypted under the key, with
//! or without its plaintext.

use serde::{Deserialize, Serialize};

use super::wire::{Ciphertext, b64, invalid, item, parse, unb64};
use crate::batch::Op;
use crate::client::Client;
use crate::error::{Error, Result};
use crate::secret::DataKeyPlaintext;

#[derive(Serialize)]
struct DataKeyItem {
    bits: u32,
    return_plaintext: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    context: Option<String>,
}

/// `plaintext` borrows from the answer, which is zeroized after use.
#[derive(Deserialize)]
struct DataKeyOut<'a> {
    ciphertext: String,
    key_version: u32,
    #[serde(borrow)]
    plaintext: Option<&'a str>,
}

/// A data key: its plaintext for local encryption (zeroized on drop) and its ciphertext to
/// store beside the data.
pub struct DataKey {
    pub plaintext: DataKeyPlaintext,
    /// `kms:NNNNN:...`: decrypt it with `decrypt` on the same key and context.
    pub ciphertext: String,
    pub key_version: u32,
}

fn check_bits(bits: u32) -> Result<()> {
    if bits == 128 || bits == 256 {
        Ok(())
    } else {
        Err(Error::InvalidArgument("a data key has 128 or 256 bits"))
    }
}

impl Client {
    /// A fresh data key of `bits` (128 or 256) with its plaintext, bound to `context`.
    pub async fn datakey(&self, key: &str, bits: u32, context: Option<&[u8]>) -> Result<DataKey> {
        check_bits(bits)?;
        let request = DataKeyItem {
            bits,
            return_plaintext: true,
            context: context.map(b64),
        };
        let answer = self.item(Op::Datakey, key, item(&request)?).await?;
        let out: DataKeyOut = parse(&answer)?;
        let plaintext = out
            .plaintext
            .ok_or_else(|| invalid("a data key without its plaintext"))?;
        let bytes = unb64(plaintext)?;
        if bytes.len() * 8 != bits as usize {
            return Err(invalid("a data key of another size"));
        }
        Ok(DataKey {
            plaintext: DataKeyPlaintext::new(bytes),
            ciphertext: out.ciphertext,
            key_version: out.key_version,
        })
    }

    /// A fresh data key's ciphertext only (for a component that will decrypt it later).
    pub async fn datakey_wrapped(
        &self,
        key: &str,
        bits: u32,
        context: Option<&[u8]>,
    ) -> Result<Ciphertext> {
        check_bits(bits)?;
        let request = DataKeyItem {
            bits,
            return_plaintext: false,
            context: context.map(b64),
        };
        let answer = self.item(Op::Datakey, key, item(&request)?).await?;
        parse(&answer)
    }
}
