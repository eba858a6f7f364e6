//! `kms random [BYTES]`: random bytes from the server's CSPRNG, raw (or `--hex`, `--base64`).

use clap::Args;
use serde_json::json;
use zeroize::Zeroizing;

use super::io::{Caller, decode, field, write_to};
use crate::client::CliError;

#[derive(Args, Debug)]
pub struct RandomArgs {
    /// How many bytes: 1 to 1024.
    #[arg(default_value_t = 32, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub bytes: u16,
    /// Print them as hexadecimal digits and a newline instead of raw bytes.
    #[arg(long, conflicts_with = "base64")]
    pub hex: bool,
    /// Print them as base64 and a newline instead of raw bytes.
    #[arg(long)]
    pub base64: bool,
    /// Write them to this file instead of standard output.
    #[arg(long = "out", value_name = "FILE")]
    pub output: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub caller: Caller,
}

pub fn run(args: &RandomArgs) -> Result<(), CliError> {
    let answer = args
        .caller
        .post("/v1/random", &json!({ "bytes": args.bytes }))?;
    let encoded = field(&answer, "random")?;
    let bytes = Zeroizing::new(decode(encoded, "the random bytes")?);
    if bytes.len() != usize::from(args.bytes) {
        return Err(CliError::Input(format!(
            "asked for {} bytes, the server sent {}",
            args.bytes,
            bytes.len()
        )));
    }
    let out: Zeroizing<Vec<u8>> = if args.hex {
        Zeroizing::new(format!("{}\n", hex::encode(&*bytes)).into_bytes())
    } else if args.base64 {
        Zeroizing::new(format!("{encoded}\n").into_bytes())
    } else {
        bytes
    };
    write_to(args.output.as_deref(), &out)
}
