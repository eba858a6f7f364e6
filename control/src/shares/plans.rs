//! What a rekey or a root-token generation will do, fixed when it starts.

use kms_engine::crypto::recipient::Recipient;
use kms_hsm::Sealing;

/// A rekey: the new split, and who receives each new share (when keys were given).
pub struct RekeyPlan {
    pub sealing: Sealing,
    pub recipients: Option<Vec<Recipient>>,
}

/// A root-token generation: who receives the token.
pub struct RootPlan {
    pub recipient: Recipient,
}
