//! `kms unseal`: reads shares from standard input, one per line (a custodian types theirs, or a
//! script pipes several), and submits each until the server is unsealed. Shares are never taken
//! from the command line, where they would land in shell history and `ps`. With `--private-key`,
//! each line is an encrypted share (as `kms init --share-key` or a rekey printed it), decrypted
//! here with the custodian's own key: the plaintext share is never shown.

use std::io::BufRead;

use serde_json::json;

use crate::args::UnsealArgs;
use crate::client::Auth;
use crate::client::{CliError, Client};

fn show(status: &serde_json::Value) {
    if status["sealed"] == json!(false) {
        println!("Unsealed.");
    } else {
        println!(
            "Sealed: {} of {} shares submitted.",
            status["progress"], status["threshold"]
        );
    }
}

pub fn run(args: &UnsealArgs) -> Result<(), CliError> {
    let client = Client::new(&args.addr.addr)?;
    if args.reset {
        show(&client.post("/v1/sys/unseal", &Auth::None, &json!({ "reset": true }))?);
        return Ok(());
    }
    let status = client.get("/v1/sys/seal-status", &Auth::None)?;
    if status["sealed"] == json!(false) {
        println!("Already unsealed.");
        return Ok(());
    }
    let holder = args
        .private_key
        .as_deref()
        .map(crate::shares::holder)
        .transpose()?;
    if holder.is_some() {
        eprintln!("Paste your encrypted share (one per line, end with Ctrl-D):");
    } else {
        eprintln!("Enter an unseal share (one per line, end with Ctrl-D):");
    }
    let stdin = std::io::stdin();
    let mut submitted = 0;
    for line in stdin.lock().lines() {
        let line = line.map_err(|e| CliError::Input(e.to_string()))?;
        let share = line.trim();
        if share.is_empty() {
            continue;
        }
        let opened = holder
            .as_ref()
            .map(|h| crate::shares::open(h, share))
            .transpose()?;
        let share = opened.as_ref().map_or(share, |s| s.expose());
        let status = client.post("/v1/sys/unseal", &Auth::None, &json!({ "share": share }))?;
        submitted += 1;
        show(&status);
        if status["sealed"] == json!(false) {
            return Ok(());
        }
    }
    if submitted == 0 {
        return Err(CliError::Input("no share given on standard input".into()));
    }
    Ok(())
}
