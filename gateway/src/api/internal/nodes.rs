//! Which internal certificates the store knows, and as what: pinned by SHA-256 fingerprint in the
//! store's kms.toml (`[internal] manage_nodes`, `[internal.zone_nodes]`). The internal CA vouches
//! that a certificate is the KMS's; the store's own configuration decides what each one may do,
//! so a certificate the CA issued for one node cannot act as another kind of node, or another
//! zone's (docs/deployment.md).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

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

    /// Every pinned certificate, as the node it is pinned as: service nodes by zone, then
    /// manage nodes, each by fingerprint.
    pub fn all(&self) -> Vec<Node> {
        let mut certs: Vec<CertFingerprint> = self.zones.keys().copied().collect();
        certs.extend(self.manage.iter().filter(|c| !self.zones.contains_key(*c)));
        let mut nodes: Vec<Node> = certs.into_iter().map(|c| self.node(c)).collect();
        nodes.sort_by(|a, b| {
            (a.zone.is_none(), &a.zone, a.fingerprint.to_string()).cmp(&(
                b.zone.is_none(),
                &b.zone,
                b.fingerprint.to_string(),
            ))
        });
        nodes
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

/// How often at most the store records one node's contact in the database (`node_contacts`),
/// unless the readiness it reports changes: a node pulls the feed about once a second, and the
/// listing of nodes needs no finer `last_seen` than this.
pub const RECORD_EVERY: Duration = Duration::from_secs(5);

/// The pinned nodes (set when the internal listener starts) and, per node, what this process
/// last heard and when it last wrote it to the store.
#[derive(Default)]
pub struct NodeContacts {
    pins: OnceLock<InternalNodes>,
    heard: Mutex<HashMap<CertFingerprint, Heard>>,
}

/// What a node last reported to this process.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Heard {
    pub status: Option<&'static str>,
    pub applied: Option<u64>,
    written: Option<Instant>,
}

impl NodeContacts {
    /// Pins the internal listener's nodes (once; a second listener would pin the same).
    pub fn pin(&self, nodes: InternalNodes) {
        let _ = self.pins.set(nodes);
    }

    /// Every pinned node (none without an internal listener).
    pub fn pinned(&self) -> Vec<Node> {
        self.pins.get().map(InternalNodes::all).unwrap_or_default()
    }

    /// A request from `cert` at `now`, with what it reported (`None`: that request reported
    /// nothing, and the last report stands). What to write to the store, if it is time:
    /// [`RECORD_EVERY`] since the last write, or a reported readiness that changed.
    pub fn heard(
        &self,
        cert: CertFingerprint,
        status: Option<&'static str>,
        applied: Option<u64>,
        now: Instant,
    ) -> Option<Heard> {
        let mut heard = self.heard.lock().ok()?;
        let entry = heard.entry(cert).or_default();
        let changed = status.is_some() && status != entry.status;
        entry.status = status.or(entry.status);
        entry.applied = applied.or(entry.applied);
        let due = changed
            || entry
                .written
                .is_none_or(|at| now.duration_since(at) >= RECORD_EVERY);
        if !due {
            return None;
        }
        entry.written = Some(now);
        Some(*entry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_is_written_once_per_period_or_when_its_readiness_changes() {
        let contacts = NodeContacts::default();
        let cert = CertFingerprint::from_bytes([7; 32]);
        let t0 = Instant::now();
        let first = contacts.heard(cert, Some("degraded"), Some(3), t0).unwrap();
        assert_eq!((first.status, first.applied), (Some("degraded"), Some(3)));
        // Within the period: nothing to write, even with a newer revision.
        assert!(
            contacts
                .heard(cert, Some("degraded"), Some(4), t0 + Duration::from_secs(1))
                .is_none()
        );
        // A request that reports nothing keeps the last report.
        assert!(
            contacts
                .heard(cert, None, None, t0 + Duration::from_secs(2))
                .is_none()
        );
        // The readiness changed: written at once, with the latest revision.
        let changed = contacts
            .heard(cert, Some("ready"), Some(5), t0 + Duration::from_secs(3))
            .unwrap();
        assert_eq!((changed.status, changed.applied), (Some("ready"), Some(5)));
        // A period later, a request without a report writes the last one.
        let later = contacts
            .heard(cert, None, None, t0 + Duration::from_secs(9))
            .unwrap();
        assert_eq!((later.status, later.applied), (Some("ready"), Some(5)));
    }

    #[test]
    fn every_pinned_node_is_listed_once_service_nodes_first() {
        let (a, b, m) = (
            CertFingerprint::from_bytes([1; 32]),
            CertFingerprint::from_bytes([2; 32]),
            CertFingerprint::from_bytes([3; 32]),
        );
        let nodes = InternalNodes::new(
            [m, a],
            [
                ("zone-b".to_owned(), vec![a]),
                ("zone-a".to_owned(), vec![b]),
            ],
        )
        .unwrap();
        let all = nodes.all();
        let shown: Vec<(CertFingerprint, bool, Option<&str>)> = all
            .iter()
            .map(|n| (n.fingerprint, n.manage, n.zone.as_deref()))
            .collect();
        assert_eq!(
            shown,
            vec![
                (b, false, Some("zone-a")),
                (a, true, Some("zone-b")),
                (m, true, None)
            ]
        );
    }
}
