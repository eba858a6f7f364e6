//! `kms login --user NAME`: password and TOTP code from the terminal (or two lines of standard
//! input); prints `export KMS_TOKEN=...` for `eval "$(kms login --user alice)"`.

use clap::Args;
use serde_json::json;

use crate::args::AddrArgs;
use crate::client::{Auth, read_secret};
use crate::client::{CliError, Client};
use crate::output::{Output, print_json};

#[derive(Args, Debug)]
pub struct LoginArgs {
    /// Your user name.
    #[arg(long)]
    pub user: String,
    /// How to print the answer: text for people, or the server's JSON for scripts.
    #[arg(long, value_enum, default_value_t = Output::Table)]
    pub output: Output,
    #[command(flatten)]
    pub addr: AddrArgs,
}

/// Reads a person's password (asked with `prompt`) and TOTP code, one per line on standard input
/// or from the terminal, and posts them to `path` with the person's name.
pub fn send_credentials(
    addr: &str,
    path: &str,
    user: &str,
    prompt: &str,
) -> Result<serde_json::Value, CliError> {
    let stdin = std::io::stdin();
    let mut lines = stdin.lock();
    let password = read_secret(prompt, &mut lines)?;
    let code = read_secret("TOTP code: ", &mut lines)?;
    Client::new(addr)?.post(
        path,
        &Auth::None,
        &json!({ "user": user, "password": password, "totp": code }),
    )
}

pub fn run(args: &LoginArgs) -> Result<(), CliError> {
    let answer = send_credentials(&args.addr.addr, "/v1/auth/login", &args.user, "Password: ")?;
    match args.output {
        Output::Json => print_json(&answer),
        Output::Table => {
            println!(
                "export KMS_TOKEN={}",
                answer["token"].as_str().unwrap_or_default()
            );
            eprintln!(
                "logged in as {} until {}",
                args.user,
                answer["expires_at"].as_str().unwrap_or_default()
            );
        }
    }
    Ok(())
}
