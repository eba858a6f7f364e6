//! `kms enrol begin|complete --user NAME` and `kms renew --user NAME`: a person sets their own
//! password and TOTP. `begin` reads the enrolment token (both halves, typed one after the other,
//! when the account was created through an approval) and prints the TOTP secret for their
//! authenticator; `complete` reads the token, the new password and a code from that
//! authenticator. `renew` reads the current password and code and prints a token of their own.
//! Secrets come from the terminal without echo, or one per line on standard input.

use clap::{Args, Subcommand};
use serde_json::json;

use crate::args::AddrArgs;
use crate::client::{Auth, CliError, Client, read_secret};
use crate::login::send_credentials;
use crate::output::{Output, object};

#[derive(Args, Debug)]
pub struct Person {
    /// Your user name.
    #[arg(long)]
    pub user: String,
    /// How to print the answer: text for people, or the server's JSON for scripts.
    #[arg(long, value_enum, default_value_t = Output::Table)]
    pub output: Output,
    #[command(flatten)]
    pub addr: AddrArgs,
}

#[derive(Subcommand, Debug)]
pub enum EnrolCommand {
    /// Read the enrolment token; print a fresh TOTP secret (and its otpauth:// URI) for your
    /// authenticator app.
    Begin(Person),
    /// Read the enrolment token, your new password (at least 12 characters) and a code from the
    /// authenticator you set up with `begin`: both become yours.
    Complete(Person),
}

/// The token: a whole one on one line, or two halves on two lines (`first half: `, then `second
/// half: `) when the first line is only half a token.
fn token(lines: &mut impl std::io::BufRead) -> Result<String, CliError> {
    let first = read_secret("Enrolment token (or its first half): ", lines)?;
    if first.trim().len() == 32 {
        let second = read_secret("Second half: ", lines)?;
        return Ok(format!("{}{}", first.trim(), second.trim()));
    }
    Ok(first.trim().to_owned())
}

pub fn run(command: &EnrolCommand) -> Result<(), CliError> {
    let stdin = std::io::stdin();
    let mut lines = stdin.lock();
    match command {
        EnrolCommand::Begin(p) => {
            let token = token(&mut lines)?;
            let answer = Client::new(&p.addr.addr)?.post(
                "/v1/auth/enrol/begin",
                &Auth::None,
                &json!({ "user": p.user, "token": token }),
            )?;
            object(p.output, &answer);
        }
        EnrolCommand::Complete(p) => {
            let token = token(&mut lines)?;
            let password = read_secret("New password: ", &mut lines)?;
            let code = read_secret("TOTP code: ", &mut lines)?;
            Client::new(&p.addr.addr)?.post(
                "/v1/auth/enrol/complete",
                &Auth::None,
                &json!({ "user": p.user, "token": token, "password": password, "totp": code }),
            )?;
            eprintln!(
                "{} is enrolled: log in with `kms login --user {}`",
                p.user, p.user
            );
        }
    }
    Ok(())
}

/// `kms renew`: the current password and code give a token of your own to enrol again with.
pub fn renew(p: &Person) -> Result<(), CliError> {
    let answer = send_credentials(
        &p.addr.addr,
        "/v1/auth/renew",
        &p.user,
        "Current password: ",
    )?;
    object(p.output, &answer);
    Ok(())
}
