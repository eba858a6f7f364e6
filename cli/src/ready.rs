//! `kms ready`: `GET /readyz`, for health checks (the container image's `HEALTHCHECK`, a
//! systemd `ExecStartPost`): prints the status and succeeds only when the node serves.

use crate::args::AddrArgs;
use crate::client::Auth;
use crate::client::{CliError, Client};

pub fn run(args: &AddrArgs) -> Result<(), CliError> {
    match Client::new(&args.addr)?.get("/readyz", &Auth::None) {
        Ok(answer) => {
            println!("{}", answer["status"].as_str().unwrap_or("?"));
            Ok(())
        }
        Err(CliError::Api { status, code, .. }) => Err(CliError::Input(format!(
            "not ready: {} ({status})",
            if code.is_empty() { "unknown" } else { &code }
        ))),
        Err(e) => Err(e),
    }
}
