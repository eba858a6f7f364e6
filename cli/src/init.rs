//! `kms init --custodian NAME [--shares N --threshold M]`: starts the create ceremony. The master
//! key is made once a quorum of custodians has approved it (`kms hsm ceremony approve`); the
//! approval that completes the quorum prints the unseal shares and the root token, once.

use serde_json::json;

use crate::args::InitArgs;
use crate::client::{Auth, read_secret};
use crate::client::{CliError, Client};

pub fn run(args: &InitArgs) -> Result<(), CliError> {
    let stdin = std::io::stdin();
    let password = read_secret("Password: ", &mut stdin.lock())?;
    let mut body = json!({ "operation": "create" });
    if let Some(s) = &args.source {
        body["source"] = json!(s);
    }
    if let Some(n) = args.components {
        body["components"] = json!(n);
    }
    if let (Some(n), Some(m)) = (args.shares, args.threshold) {
        body["shares"] = json!(n);
        body["threshold"] = json!(m);
    }
    let view = Client::new(&args.addr.addr)?.post(
        "/v1/hsm/ceremonies",
        &Auth::Custodian(&args.custodian, &password),
        &body,
    )?;
    let id = view["id"].as_str().unwrap_or("?");
    println!("Ceremony: {id}");
    println!(
        "Custodians now approve it: `kms hsm ceremony approve {id} --custodian NAME`. The approval \
         that completes the quorum prints the unseal shares and the root token, once."
    );
    Ok(())
}
