//! `kms hmac --key NAME`: the input's MAC under an HMAC key, printed as `kms:NNNNN:...`; with
//! `--verify MAC` (or `--verify-file`), checks one instead (constant time, on the server) and
//! fails (exit status 1) if it does not match.

use std::path::PathBuf;

use clap::Args;
use serde_json::json;

use super::io::{Keyed, encode, field};
use super::verify::{signature, verdict};
use crate::client::CliError;

#[derive(Args, Debug)]
pub struct HmacArgs {
    /// Check this MAC (kms:NNNNN:..., as `kms hmac` printed it) against the input instead of
    /// computing one; prints `valid` or fails.
    #[arg(long, value_name = "MAC")]
    pub verify: Option<String>,
    /// Check the MAC held in this file against the input.
    #[arg(long, value_name = "FILE", conflicts_with = "verify")]
    pub verify_file: Option<PathBuf>,
    #[command(flatten)]
    pub keyed: Keyed,
}

pub fn run(args: &HmacArgs) -> Result<(), CliError> {
    let input = args.keyed.files.read()?;
    let input = encode(&input);
    if args.verify.is_none() && args.verify_file.is_none() {
        let answer = args
            .keyed
            .caller
            .post(&args.keyed.path("hmac"), &json!({ "input": input }))?;
        return args.keyed.files.write_line(field(&answer, "hmac")?);
    }
    let mac = signature(args.verify.as_deref(), args.verify_file.as_ref())?;
    let answer = args.keyed.caller.post(
        &args.keyed.path("hmac/verify"),
        &json!({ "input": input, "hmac": mac }),
    )?;
    verdict(answer["valid"].as_bool(), "MAC", &args.keyed.key)
}
