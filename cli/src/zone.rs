//! `kms zone`: a zone's transport key pair. `keygen` and `import` run on a service node's host
//! (the private key is sealed into its data directory under the node's key-encryption key);
//! `register` and `list` talk to the control plane (docs/deployment.md).

use std::path::PathBuf;

use clap::Subcommand;
use kms_engine::zone::{ZoneName, ZonePrivateKey};
use serde_json::json;

use crate::client::CliError;
use crate::output::{Common, get, object, post, rows};
use kms_engine::zone_key;

#[derive(Subcommand, Debug)]
pub enum ZoneCommand {
    /// Make a zone's RSA-3072 key pair and seal the private key into this node's data directory;
    /// writes the public key (to register) and, with --private-out, the private key for the
    /// zone's other nodes (`kms zone import`; delete it afterwards).
    Keygen {
        /// The zone's name.
        #[arg(long)]
        zone: String,
        /// This node's data directory, where the private key is sealed.
        #[arg(long)]
        data_dir: PathBuf,
        /// Where to write the public key (PEM), for `kms zone register`.
        #[arg(long)]
        public_out: PathBuf,
        /// Also write the private key (PEM) here, for the zone's other nodes.
        #[arg(long)]
        private_out: Option<PathBuf>,
    },
    /// Seal a zone private key (PEM) into this node's data directory.
    Import {
        /// The zone's name.
        #[arg(long)]
        zone: String,
        /// This node's data directory, where the private key is sealed.
        #[arg(long)]
        data_dir: PathBuf,
        /// The zone's private key (PEM), as `kms zone keygen --private-out` wrote it.
        #[arg(long)]
        key: PathBuf,
    },
    /// Register a zone's public key with the store (a security administrator's request waits for
    /// approval).
    Register {
        /// The zone's name (1 to 32 of a-z, 0-9, -).
        name: String,
        /// The zone's public key (PEM), as `kms zone keygen` wrote it.
        #[arg(long)]
        public_key: PathBuf,
        #[command(flatten)]
        common: Common,
    },
    /// The registered zones.
    List {
        #[command(flatten)]
        common: Common,
    },
}

fn input(e: impl std::fmt::Display) -> CliError {
    CliError::Input(e.to_string())
}

fn write_private(path: &std::path::Path, text: &str) -> Result<(), CliError> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options
        .open(path)
        .map_err(|e| input(format!("{}: {e}", path.display())))?;
    f.write_all(text.as_bytes())
        .and_then(|()| f.sync_all())
        .map_err(|e| input(format!("{}: {e}", path.display())))
}

pub fn run(command: &ZoneCommand) -> Result<(), CliError> {
    match command {
        ZoneCommand::Keygen {
            zone,
            data_dir,
            public_out,
            private_out,
        } => {
            let zone = ZoneName::new(zone).map_err(input)?;
            let kek = zone_key::kek(data_dir).map_err(input)?;
            let key = ZonePrivateKey::generate().map_err(input)?;
            if let Some(path) = private_out {
                write_private(path, &key.to_pem())?;
            }
            zone_key::seal(&kek, data_dir, &zone, &key).map_err(input)?;
            std::fs::write(public_out, key.public().to_pem())
                .map_err(|e| input(format!("{}: {e}", public_out.display())))?;
            println!(
                "zone {zone}: private key sealed in {}; public key (fingerprint {}) in {}",
                data_dir.join(zone_key::FILE).display(),
                key.public().fingerprint(),
                public_out.display()
            );
        }
        ZoneCommand::Import {
            zone,
            data_dir,
            key,
        } => {
            let zone = ZoneName::new(zone).map_err(input)?;
            let pem = zeroize::Zeroizing::new(
                std::fs::read_to_string(key)
                    .map_err(|e| input(format!("{}: {e}", key.display())))?,
            );
            let private = ZonePrivateKey::from_pem(&pem).map_err(input)?;
            let kek = zone_key::kek(data_dir).map_err(input)?;
            zone_key::seal(&kek, data_dir, &zone, &private).map_err(input)?;
            println!(
                "zone {zone}: private key (fingerprint {}) sealed in {}",
                private.public().fingerprint(),
                data_dir.join(zone_key::FILE).display()
            );
        }
        ZoneCommand::Register {
            name,
            public_key,
            common,
        } => {
            let pem = std::fs::read_to_string(public_key)
                .map_err(|e| input(format!("{}: {e}", public_key.display())))?;
            let body = json!({ "name": name, "public_key": pem });
            object(common.output, &post(common, "/v1/admin/zones", &body)?);
        }
        ZoneCommand::List { common } => {
            let zones = get(common, "/v1/admin/zones")?;
            rows(
                common.output,
                &zones,
                "zones",
                &[
                    ("NAME", "name", 12),
                    ("FINGERPRINT", "fingerprint", 64),
                    ("BY", "registered_by", 16),
                    ("AT", "registered_at", 20),
                ],
            );
        }
    }
    Ok(())
}
