//! Zones and their public transport keys.

use kms_engine::audit::AuditEvent;
use kms_engine::store::{StoreError, ZoneRecord};
use sqlx::Row;

use super::{Pool, Store, audit};
use super::errors::{db_err, unique_err};
use crate::rows;

pub async fn all(pool: &Pool) -> Result<Vec<ZoneRecord>, StoreError> {
    let found = sqlx::query(
        "SELECT name, public_key, fingerprint, registered_at, registered_by FROM zones \
         ORDER BY name",
    )
    .fetch_all(pool)
    .await
    .map_err(db_err)?;
    Ok(found
        .iter()
        .map(|row| ZoneRecord {
            name: row.get("name"),
            public_key_pem: row.get("public_key"),
            fingerprint: row.get("fingerprint"),
            registered_at: rows::ts(row.get("registered_at")),
            registered_by: row.get("registered_by"),
        })
        .collect())
}

impl Store {
    pub(super) async fn register_zone_tx(
        &self,
        zone: &ZoneRecord,
        audit_event: &AuditEvent,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO zones (name, public_key, fingerprint, registered_at, registered_by) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&zone.name)
        .bind(&zone.public_key_pem)
        .bind(&zone.fingerprint)
        .bind(zone.registered_at.millis())
        .bind(&zone.registered_by)
        .execute(&mut *tx)
        .await
        .map_err(unique_err(StoreError::AlreadyExists("zone")))?;
        audit::append(&mut tx, audit_event).await?;
        tx.commit().await.map_err(db_err)
    }
}
