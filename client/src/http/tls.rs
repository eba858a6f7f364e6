//! The rustls client configuration: the CA file that signed the nodes' certificates, and the
//! app's client certificate if it has one. Always the `ring` provider, named explicitly, so no
//! process-wide default provider is needed or changed.

use std::path::Path;
use std::sync::Arc;

use rustls::ClientConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::config::ClientCertificate;
use crate::error::{Error, Result};

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| Error::Tls(format!("{}: {e}", path.display())))?;
    if certs.is_empty() {
        return Err(Error::Tls(format!("{}: no certificate", path.display())));
    }
    Ok(certs)
}

/// The configuration for `https://` nodes.
pub fn client_config(
    ca_file: Option<&Path>,
    certificate: Option<&ClientCertificate>,
) -> Result<Arc<ClientConfig>> {
    let ca_file = ca_file.ok_or_else(|| {
        Error::Config("an https:// node needs the CA file that signed its certificate".into())
    })?;
    let mut roots = rustls::RootCertStore::empty();
    for cert in read_certs(ca_file)? {
        roots
            .add(cert)
            .map_err(|e| Error::Tls(format!("{}: {e}", ca_file.display())))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Tls(e.to_string()))?
        .with_root_certificates(roots);
    let config = match certificate {
        None => builder.with_no_client_auth(),
        Some(c) => {
            let chain = read_certs(&c.cert)?;
            let key = PrivateKeyDer::from_pem_file(&c.key)
                .map_err(|e| Error::Tls(format!("{}: {e}", c.key.display())))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| Error::Tls(format!("client certificate: {e}")))?
        }
    };
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_or_empty_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "").unwrap();
        match client_config(Some(&empty), None) {
            Err(Error::Tls(what)) => assert!(what.contains("empty.pem"), "{what}"),
            _ => panic!("an empty CA file was accepted"),
        }
        let missing = dir.path().join("missing.pem");
        match client_config(Some(&missing), None) {
            Err(Error::Tls(what)) => assert!(what.contains("missing.pem"), "{what}"),
            _ => panic!("a missing CA file was accepted"),
        }
        assert!(matches!(client_config(None, None), Err(Error::Config(_))));
    }
}
