//! TLS configurations from PEM files: the public listener's (optional: `[tls]` in kms.toml,
//! client certificates optional), the store's internal listener's (client certificates
//! required) and the files a node presents to it (`[internal]`).
//!
//! Owns: reading certificates and keys (named in every error), rustls server configurations.
//! Never depends on: an HTTP framework (the listener's per-connection hook is the gateway's) or
//! any other KMS crate than the engine.
//!
//! With `client_ca`, the server asks every client for a certificate and verifies any it is sent
//! against that CA during the handshake (a certificate from another CA fails the handshake).
//! Sending none is allowed on the public listener, so apps that authenticate with a bearer token
//! keep working (docs/access-control.md).
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use kms_engine::secret::SecretString;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};

/// `[tls]` in kms.toml, or `--tls-cert`/`--tls-key`/`--tls-client-ca`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    /// The server's certificate chain (PEM, leaf first).
    pub cert: PathBuf,
    /// Its private key (PEM: PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
    /// Client certificates are requested and verified against these CA certificates (PEM).
    pub client_ca: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("tls: cannot read the {what} file {path}: {source}")]
    Read {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("tls: the {what} file {path} holds no PEM {expected}")]
    Empty {
        what: &'static str,
        path: PathBuf,
        expected: &'static str,
    },
    #[error("tls: the {what} file {path} is not valid PEM: {message}")]
    Pem {
        what: &'static str,
        path: PathBuf,
        message: String,
    },
    #[error("tls: {0}")]
    Rejected(String),
}

/// `[internal]` in kms.toml: this node's certificate and key, and the internal CA.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InternalTls {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub ca: PathBuf,
}

fn provider() -> Arc<CryptoProvider> {
    // Explicit: the build also holds aws-lc-rs (through the Vault client in the tests), so
    // rustls cannot pick a process default on its own.
    Arc::new(rustls::crypto::ring::default_provider())
}

fn read(what: &'static str, path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        what,
        path: path.to_owned(),
        source,
    })
}

/// The certificates of a PEM file (at least one).
pub fn certificates(
    what: &'static str,
    path: &Path,
) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = read(what, path)?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Pem {
            what,
            path: path.to_owned(),
            message: e.to_string(),
        })?;
    if certs.is_empty() {
        return Err(TlsError::Empty {
            what,
            path: path.to_owned(),
            expected: "CERTIFICATE",
        });
    }
    Ok(certs)
}

fn private_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let what = "key";
    // The PEM text is a secret too: it is zeroized when dropped.
    let pem = SecretString::new(String::from_utf8_lossy(&read(what, path)?).into_owned());
    PrivateKeyDer::from_pem_slice(pem.expose().as_bytes()).map_err(|e| match e {
        rustls::pki_types::pem::Error::NoItemsFound => TlsError::Empty {
            what,
            path: path.to_owned(),
            expected: "PRIVATE KEY",
        },
        e => TlsError::Pem {
            what,
            path: path.to_owned(),
            message: e.to_string(),
        },
    })
}

/// Reads the files and builds the listener's configuration (TLS 1.2 and 1.3, HTTP/1.1).
pub fn server_config(files: &TlsFiles) -> Result<ServerConfig, TlsError> {
    build(files, false)
}

/// The store's internal listener: every client must present a certificate from `ca`
/// (docs/deployment.md).
pub fn internal_server_config(tls: &InternalTls) -> Result<ServerConfig, TlsError> {
    let files = TlsFiles {
        cert: tls.cert.clone(),
        key: tls.key.clone(),
        client_ca: Some(tls.ca.clone()),
    };
    build(&files, true)
}

fn build(files: &TlsFiles, require_client: bool) -> Result<ServerConfig, TlsError> {
    let chain = certificates("cert", &files.cert)?;
    let key = private_key(&files.key)?;
    let builder = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Rejected(e.to_string()))?;
    let builder = match &files.client_ca {
        None => builder.with_no_client_auth(),
        Some(path) => {
            let mut roots = RootCertStore::empty();
            for ca in certificates("client_ca", path)? {
                roots.add(ca).map_err(|e| {
                    TlsError::Rejected(format!("client_ca {}: {e}", path.display()))
                })?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider());
            let verifier = if require_client {
                verifier
            } else {
                verifier.allow_unauthenticated()
            };
            let verifier = verifier
                .build()
                .map_err(|e| TlsError::Rejected(format!("client_ca {}: {e}", path.display())))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder.with_single_cert(chain, key).map_err(|e| {
        TlsError::Rejected(format!(
            "the certificate {} and key {} do not make a usable pair: {e}",
            files.cert.display(),
            files.key.display()
        ))
    })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(dir: &Path, client_ca: bool) -> TlsFiles {
        TlsFiles {
            cert: dir.join("cert.pem"),
            key: dir.join("key.pem"),
            client_ca: client_ca.then(|| dir.join("ca.pem")),
        }
    }

    fn error(files: &TlsFiles) -> String {
        match server_config(files) {
            Err(e) => e.to_string(),
            Ok(_) => "no error".into(),
        }
    }

    #[test]
    fn missing_or_empty_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let f = files(dir.path(), false);
        let m = error(&f);
        assert!(m.contains("cert file") && m.contains("cert.pem"), "{m}");

        std::fs::write(&f.cert, "not pem at all\n").unwrap();
        let m = error(&f);
        assert!(m.contains("holds no PEM CERTIFICATE"), "{m}");
    }

    #[test]
    fn a_key_that_does_not_match_or_is_missing_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let f = files(dir.path(), true);
        let self_signed = |key: &str, cert: &str| {
            kms_testkit::openssl::self_signed(dir.path(), "localhost", key, cert);
        };
        self_signed("key.pem", "cert.pem");
        self_signed("other-key.pem", "other-cert.pem");
        let m = error(&f);
        assert!(m.contains("client_ca file") && m.contains("ca.pem"), "{m}");
        std::fs::copy(
            dir.path().join("other-cert.pem"),
            f.client_ca.clone().unwrap(),
        )
        .unwrap();
        assert!(server_config(&f).is_ok());

        let wrong_key = TlsFiles {
            key: dir.path().join("other-key.pem"),
            ..f.clone()
        };
        let m = error(&wrong_key);
        assert!(m.contains("do not make a usable pair"), "{m}");
        let no_key = TlsFiles {
            key: f.cert.clone(),
            ..f.clone()
        };
        let m = error(&no_key);
        assert!(m.contains("holds no PEM PRIVATE KEY"), "{m}");
    }
}
