//! What the store last heard from each node of its internal API (`node_contacts`).

use kms_engine::store::{NodeContact, StoreError};
use sqlx::Row;

use super::errors::db_err;
use super::{Pool, Store};
use crate::rows::{self, corrupt};

pub async fn all(pool: &Pool) -> Result<Vec<NodeContact>, StoreError> {
    sqlx::query(
        "SELECT fingerprint, zone, last_seen, status, applied FROM node_contacts \
         ORDER BY fingerprint",
    )
    .fetch_all(pool)
    .await
    .map_err(db_err)?
    .iter()
    .map(|row| {
        let applied = row
            .get::<Option<i64>, _>("applied")
            .map(u64::try_from)
            .transpose()
            .map_err(|_| corrupt("negative applied revision"))?;
        Ok(NodeContact {
            fingerprint: row.get("fingerprint"),
            zone: row.get("zone"),
            last_seen: rows::ts(row.get("last_seen")),
            status: row.get("status"),
            applied,
        })
    })
    .collect()
}

impl Store {
    /// Upserts `contact`; an older contact never replaces a newer one, whichever store process
    /// writes last.
    pub(super) async fn record_node_contact_tx(
        &self,
        contact: &NodeContact,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO node_contacts (fingerprint, zone, last_seen, status, applied) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (fingerprint) DO UPDATE SET zone = excluded.zone, \
             last_seen = excluded.last_seen, status = excluded.status, \
             applied = excluded.applied \
             WHERE node_contacts.last_seen <= excluded.last_seen",
        )
        .bind(&contact.fingerprint)
        .bind(contact.zone.as_deref())
        .bind(contact.last_seen.millis())
        .bind(contact.status.as_deref())
        .bind(
            contact
                .applied
                .map(|r| i64::try_from(r).unwrap_or(i64::MAX)),
        )
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        tx.commit().await.map_err(db_err)
    }
}
