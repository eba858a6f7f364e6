//! `kms sign --key NAME`: the input signed (or `--prehashed`: the input is the digest); prints the
//! signature (`kms:NNNNN:...`).

use clap::Args;
use serde_json::json;

use super::io::{Keyed, encode, field};
use crate::client::CliError;

/// How the input is signed; shared with `kms verify`.
#[derive(Args, Debug)]
pub struct Scheme {
    /// The input is already a SHA-256 digest (RSA, ECDSA) or SM2's e = SM3(Z_A ‖ M), not the
    /// message (Ed25519 refuses it).
    #[arg(long)]
    pub prehashed: bool,
    /// RSA only: pss (the server's default) or pkcs1v15.
    #[arg(long, value_parser = ["pss", "pkcs1v15"])]
    pub scheme: Option<String>,
}

impl Scheme {
    pub fn add_to(&self, body: &mut serde_json::Value) {
        body["prehashed"] = json!(self.prehashed);
        if let Some(s) = &self.scheme {
            body["scheme"] = json!(s);
        }
    }
}

#[derive(Args, Debug)]
pub struct SignArgs {
    #[command(flatten)]
    pub keyed: Keyed,
    #[command(flatten)]
    pub scheme: Scheme,
}

pub fn run(args: &SignArgs) -> Result<(), CliError> {
    let input = args.keyed.files.read()?;
    let mut body = json!({ "input": encode(&input) });
    args.scheme.add_to(&mut body);
    let answer = args.keyed.caller.post(&args.keyed.path("sign"), &body)?;
    args.keyed.files.write_line(field(&answer, "signature")?)
}
