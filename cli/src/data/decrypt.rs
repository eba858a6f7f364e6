//! `kms decrypt --key NAME [--context TEXT]`: a ciphertext (`kms:NNNNN:...`) in, the plaintext's
//! raw bytes out.

use clap::Args;
use serde_json::json;
use zeroize::Zeroizing;

use super::io::{Context, Keyed, decode, field};
use crate::client::CliError;

#[derive(Args, Debug)]
pub struct DecryptArgs {
    #[command(flatten)]
    pub keyed: Keyed,
    #[command(flatten)]
    pub context: Context,
}

pub fn run(args: &DecryptArgs) -> Result<(), CliError> {
    let ciphertext = args.keyed.files.read_text("ciphertext")?;
    let mut body = json!({ "ciphertext": ciphertext });
    args.context.add_to(&mut body)?;
    let answer = args.keyed.caller.post(&args.keyed.path("decrypt"), &body)?;
    let plaintext = Zeroizing::new(decode(field(&answer, "plaintext")?, "the plaintext")?);
    args.keyed.files.write(&plaintext)
}
