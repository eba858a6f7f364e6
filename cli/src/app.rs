//! `kms app create|list|show|rotate-token|revoke|certificate` and `kms grant`: machine identities
//! and what they may do with a key (listing in app_list.rs, token rotation and revocation in
//! app_token.rs).

use std::path::{Path, PathBuf};

use clap::Subcommand;
use kms_engine::certificate::CertFingerprint;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use serde_json::json;

use crate::app_token::RotateArgs;
use crate::client::CliError;
use crate::output::{Common, object, post};
use crate::{app_list, app_token};

#[derive(Subcommand, Debug)]
pub enum AppCommand {
    /// Create an app; prints its token once.
    Create {
        /// The app's name.
        name: String,
        #[command(flatten)]
        common: Common,
    },
    /// Every app, with how many of its tokens and certificates are in each state.
    List {
        #[command(flatten)]
        common: Common,
    },
    /// One app: its tokens (by id, never the token itself) and bound certificates.
    Show {
        /// The app's name.
        name: String,
        #[command(flatten)]
        common: Common,
    },
    /// Issue the app a new token (printed once); its other tokens keep working for the overlap.
    /// For a user, this waits for approval, and the requester collects the token.
    RotateToken(RotateArgs),
    /// End every token and bound certificate of the app at once (the app and its grants stay;
    /// `kms app rotate-token` issues a new token).
    Revoke {
        /// The app's name.
        name: String,
        #[command(flatten)]
        common: Common,
    },
    /// Bind a TLS client certificate to an app: it then authenticates as the app without a token
    /// (on a server with `[tls] client_ca`).
    Certificate {
        /// The app's name.
        name: String,
        /// The certificate's SHA-256 fingerprint (hex, colons allowed).
        #[arg(long, required_unless_present = "cert", conflicts_with = "cert")]
        fingerprint: Option<String>,
        /// The certificate itself (PEM): its fingerprint is computed here.
        #[arg(long)]
        cert: Option<PathBuf>,
        #[command(flatten)]
        common: Common,
    },
}

/// The SHA-256 fingerprint of the first certificate in a PEM file.
pub fn pem_fingerprint(path: &Path) -> Result<CertFingerprint, CliError> {
    let bad = |m: String| CliError::Input(format!("{}: {m}", path.display()));
    let pem = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
    let der = CertificateDer::from_pem_slice(&pem)
        .map_err(|e| bad(format!("no PEM CERTIFICATE ({e})")))?;
    Ok(CertFingerprint::of_der(&der))
}

#[derive(clap::Args, Debug)]
pub struct GrantArgs {
    /// The key's name.
    pub key: String,
    /// The app's name.
    pub app: String,
    /// encrypt, decrypt, rewrap, datakey, sign, verify, hmac (repeatable; none revokes).
    #[arg(long = "operation")]
    pub operations: Vec<String>,
    #[command(flatten)]
    pub common: Common,
}

pub fn run(command: &AppCommand) -> Result<(), CliError> {
    match command {
        AppCommand::Create { name, common } => {
            object(
                common.output,
                &post(common, "/v1/admin/apps", &json!({ "name": name }))?,
            );
        }
        AppCommand::List { common } => app_list::list(common)?,
        AppCommand::Show { name, common } => app_list::show(name, common)?,
        AppCommand::RotateToken(args) => app_token::rotate(args)?,
        AppCommand::Revoke { name, common } => app_token::revoke(name, common)?,
        AppCommand::Certificate {
            name,
            fingerprint,
            cert,
            common,
        } => {
            let fingerprint = match (fingerprint, cert) {
                (Some(f), _) => f.clone(),
                (None, Some(path)) => pem_fingerprint(path)?.to_string(),
                (None, None) => {
                    return Err(CliError::Input("give --fingerprint or --cert".into()));
                }
            };
            let path = format!("/v1/admin/apps/{name}/certificate");
            object(
                common.output,
                &post(common, &path, &json!({ "fingerprint": fingerprint }))?,
            );
        }
    }
    Ok(())
}

pub fn grant(args: &GrantArgs) -> Result<(), CliError> {
    let answer = post(
        &args.common,
        &format!("/v1/admin/keys/{}/grants", args.key),
        &json!({ "app": args.app, "operations": args.operations }),
    )?;
    object(args.common.output, &answer);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pem_certificate_has_the_fingerprint_openssl_prints() {
        let dir = tempfile::tempdir().unwrap();
        kms_testkit::openssl::self_signed(dir.path(), "checkout", "key.pem", "cert.pem");
        let printed = kms_testkit::openssl::fingerprint(dir.path(), "cert.pem");
        let expected = CertFingerprint::parse(&printed).unwrap();
        assert_eq!(
            pem_fingerprint(&dir.path().join("cert.pem")).unwrap(),
            expected
        );
        let err = pem_fingerprint(&dir.path().join("key.pem"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("key.pem") && err.contains("no PEM CERTIFICATE"),
            "{err}"
        );
        let err = pem_fingerprint(&dir.path().join("absent.pem"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("absent.pem"), "{err}");
    }
}
