//! `kms init --custodian NAME [--shares N --threshold M]`: starts the create ceremony. The master
//! key is made once a quorum of custodians has approved it (`kms hsm ceremony approve`); the
//! approval that completes the quorum prints the unseal shares and the root token, once: in
//! plaintext, or, with `--share-key FILE...` (one custodian's RSA public key per share) and
//! `--root-token-key FILE`, each encrypted to its owner's key, so the last approver reads none.

use serde_json::json;

use crate::args::InitArgs;
use crate::client::{Auth, read_secret};
use crate::client::{CliError, Client};
use crate::shares::read_pem;

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
    if !args.share_keys.is_empty() {
        let keys = args
            .share_keys
            .iter()
            .map(|p| read_pem(p))
            .collect::<Result<Vec<_>, _>>()?;
        body["share_keys"] = json!(keys);
    }
    if let Some(path) = &args.root_token_key {
        body["root_token_key"] = json!(read_pem(path)?);
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
    for (i, fp) in view["share_key_fingerprints"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        println!("Share {} goes to key {}", i + 1, fp.as_str().unwrap_or("?"));
    }
    if let Some(fp) = view["root_token_key_fingerprint"].as_str() {
        println!("The root token goes to key {fp}");
    }
    Ok(())
}
