//! `kms verify --key NAME --signature kms:NNNNN:...` (or `--signature-file`): checks the input's
//! signature; exits 0 and prints `valid` if it verifies, and fails (exit status 1) saying so if it
//! does not.

use std::path::PathBuf;

use clap::Args;
use serde_json::json;

use super::io::{Keyed, encode};
use super::sign::Scheme;
use crate::client::CliError;

#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// The signature, as `kms sign` printed it (kms:NNNNN:...).
    #[arg(long, required_unless_present = "signature_file")]
    pub signature: Option<String>,
    /// A file holding the signature, as `kms sign --out` wrote it.
    #[arg(long, value_name = "FILE", conflicts_with = "signature")]
    pub signature_file: Option<PathBuf>,
    #[command(flatten)]
    pub keyed: Keyed,
    #[command(flatten)]
    pub scheme: Scheme,
}

/// The signature from `--signature` or `--signature-file`, without surrounding whitespace.
pub fn signature(given: Option<&str>, file: Option<&PathBuf>) -> Result<String, CliError> {
    let text = match (given, file) {
        (Some(s), _) => s.to_owned(),
        (None, Some(path)) => std::fs::read_to_string(path)
            .map_err(|e| CliError::Input(format!("{}: {e}", path.display())))?,
        (None, None) => {
            return Err(CliError::Input(
                "give --signature or --signature-file".into(),
            ));
        }
    };
    Ok(text.trim().to_owned())
}

/// `valid` on standard output, or the error that makes the exit status 1.
pub fn verdict(valid: Option<bool>, what: &str, key: &str) -> Result<(), CliError> {
    match valid {
        Some(true) => {
            println!("valid");
            Ok(())
        }
        Some(false) => Err(CliError::Input(format!(
            "INVALID: the {what} does not match the input under key `{key}` (the input or the \
             {what} was changed, or it was made with another key)"
        ))),
        None => Err(CliError::Input("the server's answer has no `valid`".into())),
    }
}

pub fn run(args: &VerifyArgs) -> Result<(), CliError> {
    let signature = signature(args.signature.as_deref(), args.signature_file.as_ref())?;
    let input = args.keyed.files.read()?;
    let mut body = json!({ "input": encode(&input), "signature": signature });
    args.scheme.add_to(&mut body);
    let answer = args.keyed.caller.post(&args.keyed.path("verify"), &body)?;
    verdict(answer["valid"].as_bool(), "signature", &args.keyed.key)
}
