//! How a zone is shown: the public half of its zone master key, which the store wraps working
//! keys to (docs/deployment.md).

use kms_engine::store::ZoneRecord;
use serde::Serialize;

#[derive(Serialize)]
pub struct ZoneView {
    name: String,
    fingerprint: String,
    public_key: String,
    registered_at: String,
    registered_by: String,
}

impl From<&ZoneRecord> for ZoneView {
    fn from(z: &ZoneRecord) -> Self {
        Self {
            name: z.name.clone(),
            fingerprint: z.fingerprint.clone(),
            public_key: z.public_key_pem.clone(),
            registered_at: z.registered_at.rfc3339(),
            registered_by: z.registered_by.clone(),
        }
    }
}
