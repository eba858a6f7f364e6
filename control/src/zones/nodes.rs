//! How the nodes of the internal API are shown (`GET /v1/admin/nodes`): every node the store's
//! configuration pins, with what the store last heard from it (`node_contacts`), and a status
//! derived from when that was (docs/deployment.md, "Watching the nodes").

use std::time::Duration;

use kms_engine::clock::Timestamp;
use kms_engine::store::{NodeContact, Revision};
use serde::Serialize;

/// A node not heard from for longer than this is `stale`. A healthy service node pulls the feed
/// about once a second and its contact is recorded at least every five seconds, so a node past
/// this has missed several pulls: it is stopped, cut off, or cannot reach the store. A manage
/// node is heard from only when someone uses it (its `/readyz`, its forwarded requests).
pub const STALE_AFTER: Duration = Duration::from_secs(15);

/// A certificate the store's configuration pins.
#[derive(Clone, Debug)]
pub struct Pinned {
    /// Lowercase hex SHA-256 of the certificate.
    pub fingerprint: String,
    pub manage: bool,
    /// A service node's zone.
    pub zone: Option<String>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct NodeView {
    pub fingerprint: String,
    /// `service`, `manage`, or `service+manage`.
    pub kind: &'static str,
    pub zone: Option<String>,
    /// `never_seen`, `stale` (not heard from for more than [`STALE_AFTER`]) or `ok`.
    pub status: &'static str,
    pub last_seen: Option<String>,
    pub seconds_since_contact: Option<f64>,
    /// The readiness the node reported with its last feed pull (`ready`, `degraded`, ...).
    pub reported_status: Option<String>,
    pub applied_revision: Option<Revision>,
    pub store_revision: Revision,
    /// `store_revision - applied_revision`: changes the node had not applied when last heard.
    pub lag_revisions: Option<u64>,
}

/// One view per pinned node, in the order given, at `now`, against the store's `revision`.
pub fn views(
    pinned: &[Pinned],
    contacts: &[NodeContact],
    revision: Revision,
    now: Timestamp,
) -> Vec<NodeView> {
    pinned
        .iter()
        .map(|p| {
            let contact = contacts.iter().find(|c| c.fingerprint == p.fingerprint);
            let age = contact.map(|c| {
                let ms = now.millis().saturating_sub(c.last_seen.millis()).max(0);
                Duration::from_millis(u64::try_from(ms).unwrap_or(0))
            });
            let status = match age {
                None => "never_seen",
                Some(age) if age > STALE_AFTER => "stale",
                Some(_) => "ok",
            };
            let applied = contact.and_then(|c| c.applied);
            NodeView {
                fingerprint: p.fingerprint.clone(),
                kind: match (p.zone.is_some(), p.manage) {
                    (true, true) => "service+manage",
                    (true, false) => "service",
                    _ => "manage",
                },
                zone: p.zone.clone(),
                status,
                last_seen: contact.map(|c| c.last_seen.rfc3339()),
                seconds_since_contact: age.map(|a| a.as_secs_f64()),
                reported_status: contact.and_then(|c| c.status.clone()),
                applied_revision: applied,
                store_revision: revision,
                lag_revisions: applied.map(|a| revision.saturating_sub(a)),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pinned(fingerprint: &str, manage: bool, zone: Option<&str>) -> Pinned {
        Pinned {
            fingerprint: fingerprint.into(),
            manage,
            zone: zone.map(str::to_owned),
        }
    }

    #[test]
    fn a_node_is_never_seen_ok_or_stale_by_its_last_contact() {
        let now = Timestamp::from_millis(1_000_000);
        let seen = |fingerprint: &str, ago_ms: i64, applied: Option<u64>| NodeContact {
            fingerprint: fingerprint.into(),
            zone: Some("zone-a".into()),
            last_seen: Timestamp::from_millis(1_000_000 - ago_ms),
            status: applied.map(|_| "ready".to_owned()),
            applied,
        };
        let pins = [
            pinned("a1", false, Some("zone-a")),
            pinned("a2", false, Some("zone-a")),
            pinned("a3", true, Some("zone-a")),
            pinned("m1", true, None),
        ];
        let stale_ms = i64::try_from(STALE_AFTER.as_millis()).unwrap();
        let contacts = [
            seen("a1", 2_000, Some(9)),
            seen("a3", stale_ms + 1, Some(7)),
            seen("m1", stale_ms, None),
        ];
        let v = views(&pins, &contacts, 9, now);
        let got: Vec<(&str, &str, Option<u64>)> = v
            .iter()
            .map(|n| (n.kind, n.status, n.lag_revisions))
            .collect();
        assert_eq!(
            got,
            vec![
                ("service", "ok", Some(0)),
                ("service", "never_seen", None),
                ("service+manage", "stale", Some(2)),
                ("manage", "ok", None),
            ]
        );
        assert_eq!(v[0].seconds_since_contact, Some(2.0));
        assert_eq!(v[1].last_seen, None);
        assert_eq!(v[0].reported_status.as_deref(), Some("ready"));
    }
}
