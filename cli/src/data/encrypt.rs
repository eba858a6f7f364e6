//! `kms encrypt --key NAME [--context TEXT]`: the input's bytes, encrypted; prints the ciphertext
//! (`kms:NNNNN:...`).

use clap::Args;
use serde_json::json;

use super::io::{Context, Keyed, encode, field};
use crate::client::CliError;

#[derive(Args, Debug)]
pub struct EncryptArgs {
    #[command(flatten)]
    pub keyed: Keyed,
    #[command(flatten)]
    pub context: Context,
}

pub fn run(args: &EncryptArgs) -> Result<(), CliError> {
    let plaintext = zeroize::Zeroizing::new(args.keyed.files.read()?);
    let mut body = json!({ "plaintext": encode(&plaintext) });
    args.context.add_to(&mut body)?;
    let answer = args.keyed.caller.post(&args.keyed.path("encrypt"), &body)?;
    args.keyed.files.write_line(field(&answer, "ciphertext")?)
}
