//! The open rekey and root-token generation, held by the ceremony registry.

use super::attempt::Slot;
use super::plans::{RekeyPlan, RootPlan};

/// At most one attempt of each kind at a time.
pub struct ShareOps {
    pub rekey: Slot<RekeyPlan>,
    pub generate_root: Slot<RootPlan>,
}

impl ShareOps {
    pub fn new(ttl: std::time::Duration) -> Self {
        Self {
            rekey: Slot::new(ttl, "rekey_not_started", "rekey_in_progress"),
            generate_root: Slot::new(
                ttl,
                "generate_root_not_started",
                "generate_root_in_progress",
            ),
        }
    }
}
