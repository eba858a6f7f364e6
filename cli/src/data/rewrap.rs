//! `kms rewrap --key NAME [--context TEXT]`: a ciphertext in, the same plaintext encrypted under
//! the key's active version out; the plaintext never leaves the server.

use clap::Args;
use serde_json::json;

use super::io::{Context, Keyed, field};
use crate::client::CliError;

#[derive(Args, Debug)]
pub struct RewrapArgs {
    #[command(flatten)]
    pub keyed: Keyed,
    #[command(flatten)]
    pub context: Context,
}

pub fn run(args: &RewrapArgs) -> Result<(), CliError> {
    let ciphertext = args.keyed.files.read_text("ciphertext")?;
    let mut body = json!({ "ciphertext": ciphertext });
    args.context.add_to(&mut body)?;
    let answer = args.keyed.caller.post(&args.keyed.path("rewrap"), &body)?;
    args.keyed.files.write_line(field(&answer, "ciphertext")?)
}
