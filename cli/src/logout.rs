//! `kms logout`: ends the session in KMS_TOKEN on the server (`POST /v1/auth/logout`), so the
//! token is refused from then on, and prints `unset KMS_TOKEN` for `eval "$(kms logout)"`. The
//! CLI keeps no session file: `kms login` hands the token to the shell.

use clap::Args;
use serde_json::json;

use crate::args::TokenArgs;
use crate::client::{Auth, CliError, Client};

#[derive(Args, Debug)]
pub struct LogoutArgs {
    #[command(flatten)]
    pub token: TokenArgs,
}

pub fn run(args: &LogoutArgs) -> Result<(), CliError> {
    let token = args.token.token()?;
    let client = Client::new(&args.token.addr.addr)?;
    match client.post("/v1/auth/logout", &Auth::Bearer(&token), &json!({})) {
        Ok(_) => eprintln!("logged out: the session has ended"),
        // Ended already (expired, or logged out elsewhere): nothing left to end.
        Err(CliError::Api {
            code,
            status: 404 | 401,
            ..
        }) if code == "session_not_found" || code == "session_expired" => {
            eprintln!("the session had already ended ({code})");
        }
        Err(CliError::Api { code, .. }) if code == "not_a_session" => {
            return Err(CliError::Input(
                "KMS_TOKEN is not a person's session (an app's or the root token): \
                 nothing to log out; revoke an app's tokens with `kms app revoke`"
                    .into(),
            ));
        }
        Err(e) => return Err(e),
    }
    println!("unset KMS_TOKEN");
    Ok(())
}
