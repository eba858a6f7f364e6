//! Values every store test crate builds its calls from (conformance, lifecycle, replication).

use kms_engine::audit::{AuditEvent, Outcome};
use kms_engine::clock::Timestamp;

/// A fixed instant plus `ms`: tests do not depend on the wall clock.
pub fn at(ms: i64) -> Timestamp {
    Timestamp::from_millis(1_700_000_000_000 + ms)
}

/// A successful audit event of the test's administrator.
pub fn event(action: &str) -> AuditEvent {
    AuditEvent {
        at: at(0),
        actor: "root:test".into(),
        action: action.into(),
        target: None,
        outcome: Outcome::Success,
        code: None,
        remote: None,
        detail: None,
    }
}
