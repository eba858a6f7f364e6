//! `kms status`: initialised? sealed? how far is the unseal?

use crate::args::AddrArgs;
use crate::client::Auth;
use crate::client::{CliError, Client};

pub fn run(args: &AddrArgs) -> Result<(), CliError> {
    let status = Client::new(&args.addr)?.get("/v1/sys/seal-status", &Auth::None)?;
    println!(
        "Backend:       {}",
        status["backend"].as_str().unwrap_or("?")
    );
    println!("Initialised:   {}", status["initialized"]);
    println!("Sealed:        {}", status["sealed"]);
    println!(
        "Unseal:        {} of {} shares (of {} issued)",
        status["progress"], status["threshold"], status["shares"]
    );
    // Shown to administrators only (`kms hsm status` with a token has it).
    if let Some(id) = status["master_key_id"].as_str() {
        println!(
            "Master key:    {id} (KCV {})",
            status["kcv"].as_str().unwrap_or("-")
        );
    }
    Ok(())
}
