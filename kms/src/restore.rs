//! `kms restore`: offline, into an empty data directory, through the HSM kms.toml names (the
//! software HSM's sealed keyring in the data directory by default); docs/backup.md.

use kms_cli::backup::RestoreArgs;
use kms_control::backup::restore::{self, RestoreRequest};
use kms_hsm::HsmChoice;

use crate::config::ConfigFile;
use crate::data_dir;

pub fn run(args: &RestoreArgs) -> Result<(), String> {
    // The same lock `kms serve` holds: no restore into a data directory a server is using.
    let _lock = data_dir::lock(&args.data_dir).map_err(|e| e.to_string())?;
    let hsm = match &args.config {
        Some(path) => ConfigFile::load(path)
            .and_then(|f| f.hsm_choice())
            .map_err(|e| e.to_string())?,
        None => HsmChoice::Software,
    };
    let request = RestoreRequest {
        archive: &args.input,
        data_dir: &args.data_dir,
        hsm: &hsm,
    };
    let stdin = std::io::stdin();
    let restored =
        restore::run(&request, &mut stdin.lock()).map_err(|e| format!("{} [{}]", e, e.code()))?;
    println!(
        "Restored {} bytes into {} (backup of {}, store revision {}, audit head #{}). Start the \
         server on this data directory.",
        restored.bytes,
        restored.database.display(),
        restored.header.created_at,
        restored.header.revision,
        restored.header.audit_seq
    );
    Ok(())
}
