//! `POST /v1/random`: bytes from the KMS's CSPRNG.

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::wire::{invalid, item, parse, unb64};
use crate::batch::Op;
use crate::client::Client;
use crate::error::{Error, Result};

#[derive(Serialize)]
struct RandomItem {
    bytes: usize,
}

#[derive(Deserialize)]
struct RandomOut {
    random: String,
}

impl Client {
    /// `bytes` (1 to 1024) random bytes.
    pub async fn random(&self, bytes: usize) -> Result<Zeroizing<Vec<u8>>> {
        if !(1..=1024).contains(&bytes) {
            return Err(Error::InvalidArgument("random takes 1 to 1024 bytes"));
        }
        let answer = self
            .item(Op::Random, "", item(&RandomItem { bytes })?)
            .await?;
        let out = unb64(&parse::<RandomOut>(&answer)?.random)?;
        if out.len() != bytes {
            return Err(invalid("random bytes of another length"));
        }
        Ok(out)
    }
}
