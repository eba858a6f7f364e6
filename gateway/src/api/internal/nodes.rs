//! Which internal certificates the store knows, and as what: pinned by SHA-256 fingerprint in the
//! store's kms.toml (`[internal] manage_nodes`, `[internal.zone_nodes]`). The internal CA vouches
//! that a certificate is the KMS's; the store's own configuration decides what each one may do,
//! so a certificate the CA issued for one node cannot act as another kind of node, or another
//! zone's (docs/deployment.md).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use kms_engine::certificate::CertFingerprint;

/// The pinned certificates of the internal listener.
#[derive(Clone, Debug, Default)]
pub struct InternalNodes {
    manage: HashSet<CertFingerprint>,
    zones: HashMap<CertFingerprint, Arc<str>>,
}

impl InternalNodes {
    /// `manage`: certificates of manage nodes (they forward the control plane and may name the
    /// caller in `X-Kms-Forwarded-For`); `zones`: each zone's service nodes' certificates. A
    /// certificate may be in both (a service node with the manage role), but in one zone only.
    pub fn new(
        manage: impl IntoIterator<Item = CertFingerprint>,
        zones: impl IntoIterator<Item = (String, Vec<CertFingerprint>)>,
    ) -> Result<Self, String> {
        let mut by_cert = HashMap::new();
        for (zone, certs) in zones {
            let zone: Arc<str> = zone.into();
            for cert in certs {
                if let Some(other) = by_cert.insert(cert, Arc::clone(&zone))
                    && other != zone
                {
                    return Err(format!(
                        "certificate {cert} is pinned in zones `{other}` and `{zone}`: a node \
                         serves one zone"
                    ));
                }
            }
        }
        Ok(Self {
            manage: manage.into_iter().collect(),
            zones: by_cert,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.manage.is_empty() && self.zones.is_empty()
    }

    /// What the store knows `cert` as.
    pub fn node(&self, cert: CertFingerprint) -> Node {
        Node {
            fingerprint: cert,
            manage: self.manage.contains(&cert),
            zone: self.zones.get(&cert).cloned(),
        }
    }
}

/// The node behind a request on the internal listener (the guard puts it in the request's
/// extensions).
#[derive(Clone, Debug)]
pub struct Node {
    pub fingerprint: CertFingerprint,
    /// A manage node: may reach the control plane and name its caller.
    pub manage: bool,
    /// A service node of this zone: may follow the feed, load this zone's keys, send usage and
    /// audit events.
    pub zone: Option<Arc<str>>,
}

impl Node {
    /// Its name in audit records.
    pub fn actor(&self) -> String {
        format!("node:{}", self.fingerprint)
    }
}
