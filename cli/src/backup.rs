//! `kms backup` (asks the running server for an archive), and the arguments of `kms restore`
//! (offline, into an empty data directory; the `kms` binary runs it; docs/backup.md).

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;
use serde_json::json;

use crate::args::TokenArgs;
use crate::client::Auth;
use crate::client::{CliError, Client};

#[derive(Args, Debug)]
pub struct BackupArgs {
    /// Where to write the archive (must not exist yet).
    #[arg(long)]
    pub out: PathBuf,
    /// The approved request that authorises this backup (a user's first call files it).
    #[arg(long)]
    pub approval: Option<i64>,
    #[command(flatten)]
    pub token: TokenArgs,
}

#[derive(Args, Debug)]
pub struct RestoreArgs {
    /// The archive `kms backup` wrote.
    #[arg(long = "in")]
    pub input: PathBuf,
    /// The data directory to restore into: its store must be absent. The software HSM's sealed
    /// keyring (hsm/sealed.json) that wrapped the backup must be there.
    #[arg(long, env = "KMS_DATA_DIR")]
    pub data_dir: PathBuf,
    /// kms.toml, for the HSM to open (the PKCS#11 token that holds the master key).
    #[arg(long, env = "KMS_CONFIG")]
    pub config: Option<PathBuf>,
}

fn write_new(path: &Path, bytes: &[u8]) -> Result<(), CliError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let bad = |e: std::io::Error| CliError::Input(format!("{}: {e}", path.display()));
    let mut f = options.open(path).map_err(bad)?;
    f.write_all(bytes).and_then(|()| f.sync_all()).map_err(bad)
}

pub fn backup(args: &BackupArgs) -> Result<(), CliError> {
    if args.out.exists() {
        return Err(CliError::Input(format!(
            "{} already exists; choose a new file",
            args.out.display()
        )));
    }
    let client = Client::new(&args.token.addr.addr)?;
    let token = args.token.token()?;
    let body = match args.approval {
        Some(id) => json!({ "approval": id }),
        None => json!({}),
    };
    let (status, archive) =
        client.post_for_bytes("/v1/admin/backup", &Auth::Bearer(&token), &body)?;
    if status == 202 {
        let request: serde_json::Value = serde_json::from_slice(&archive)
            .map_err(|e| CliError::Input(format!("the server's answer: {e}")))?;
        println!(
            "A backup waits for approval: request {}. Once approved, take it with `kms backup \
             --out {} --approval {}`.",
            request["id"],
            args.out.display(),
            request["id"]
        );
        return Ok(());
    }
    write_new(&args.out, &archive)?;
    println!(
        "Backup written to {} ({} bytes).",
        args.out.display(),
        archive.len()
    );
    Ok(())
}
