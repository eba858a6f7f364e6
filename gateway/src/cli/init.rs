//! `kms init --shares N --threshold M`: prints the unseal shares and the root token, once.

use serde_json::json;

use super::{CliError, Client, InitArgs};

pub fn run(args: &InitArgs) -> Result<(), CliError> {
    let client = Client::new(&args.addr.addr);
    let out = client.post(
        "/v1/sys/init",
        &json!({ "shares": args.shares, "threshold": args.threshold }),
    )?;
    let shares = out["shares"].as_array().cloned().unwrap_or_default();
    println!(
        "Master key: {}",
        out["master_key_id"].as_str().unwrap_or("?")
    );
    for (i, share) in shares.iter().enumerate() {
        println!("Unseal share {}: {}", i + 1, share.as_str().unwrap_or("?"));
    }
    println!("Root token: {}", out["root_token"].as_str().unwrap_or("?"));
    println!(
        "\nGive each share to a different custodian. {} of them unseal the KMS (`kms unseal`). \
         These shares and the root token are not shown again.",
        args.threshold
    );
    Ok(())
}
