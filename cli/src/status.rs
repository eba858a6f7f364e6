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
    println!(
        "Master key:    {} (KCV {})",
        status["master_key_id"].as_str().unwrap_or("-"),
        status["kcv"].as_str().unwrap_or("-")
    );
    Ok(())
}
