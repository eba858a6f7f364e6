//! `kms datakey --key NAME [--bits 256] [--plaintext-out FILE]`: a fresh random data key for
//! envelope encryption of large files, encrypted under the key; prints that ciphertext (keep it
//! with the data; `kms decrypt` gives the data key back) and writes the data key's raw bytes to
//! `--plaintext-out` when asked.

use std::path::PathBuf;

use clap::Args;
use serde_json::json;
use zeroize::Zeroizing;

use super::io::{Caller, Context, decode, field, write_to};
use crate::client::CliError;

#[derive(Args, Debug)]
pub struct DatakeyArgs {
    /// The key that encrypts the data key.
    #[arg(long)]
    pub key: String,
    /// The data key's length: 128 or 256 bits.
    #[arg(long, default_value_t = 256, value_parser = bits)]
    pub bits: u32,
    /// Also write the data key itself (raw bytes) to this file, readable by you alone;
    /// without it the server never sends the plaintext data key.
    #[arg(long, value_name = "FILE")]
    pub plaintext_out: Option<PathBuf>,
    /// Write the encrypted data key to this file instead of standard output.
    #[arg(long = "out", value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub context: Context,
    #[command(flatten)]
    pub caller: Caller,
}

fn bits(text: &str) -> Result<u32, String> {
    match text {
        "128" => Ok(128),
        "256" => Ok(256),
        _ => Err("a data key has 128 or 256 bits".into()),
    }
}

pub fn run(args: &DatakeyArgs) -> Result<(), CliError> {
    let mut body = json!({
        "bits": args.bits,
        "return_plaintext": args.plaintext_out.is_some(),
    });
    args.context.add_to(&mut body)?;
    let answer = args
        .caller
        .post(&format!("/v1/keys/{}/datakey", args.key), &body)?;
    if let Some(path) = &args.plaintext_out {
        let key = Zeroizing::new(decode(field(&answer, "plaintext")?, "the data key")?);
        write_to(Some(path), &key)?;
    }
    let ciphertext = field(&answer, "ciphertext")?;
    write_to(args.output.as_deref(), format!("{ciphertext}\n").as_bytes())
}
