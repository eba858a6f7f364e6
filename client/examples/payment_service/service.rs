//! A payment service's use of the KMS: card numbers (PANs) are encrypted the moment they
//! arrive, bound to their order id, and only the ciphertext, the last four digits and a keyed
//! fingerprint (HMAC, for "has this card been used before" without decrypting anything) are
//! stored. A refund decrypts the PAN for the acquirer; the daily settlement file is encrypted
//! locally under a data key (envelope encryption), so that a large file costs one KMS call.
//!
//! The service code calls `encrypt` once per card, as an application naturally would; the
//! client batches the concurrent calls of many checkouts into few requests.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kms_client::{Client, Error};

/// The KMS keys the service uses (created by an administrator; see the README).
pub const CARD_KEY: &str = "cards";
pub const FINGERPRINT_KEY: &str = "card-fingerprints";
pub const SETTLEMENT_KEY: &str = "settlements";

/// What the service's database keeps for a payment: never the PAN in the clear.
#[derive(Clone)]
pub struct StoredPayment {
    pub pan_ciphertext: String,
    pub fingerprint: String,
    pub last4: String,
    pub amount_cents: u64,
}

pub struct PaymentService {
    kms: Client,
    payments: Mutex<HashMap<String, StoredPayment>>,
}

/// A Luhn-valid test PAN for order `n` (the test range of a card scheme).
pub fn test_pan(n: u64) -> String {
    let body = format!("4000{:011}", n % 100_000_000_000);
    let mut sum = 0;
    for (i, c) in body.bytes().rev().enumerate() {
        let mut d = u32::from(c - b'0');
        if i % 2 == 0 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    format!("{body}{}", (10 - sum % 10) % 10)
}

impl PaymentService {
    pub fn new(kms: Client) -> Self {
        Self {
            kms,
            payments: Mutex::new(HashMap::new()),
        }
    }

    fn db(&self) -> std::sync::MutexGuard<'_, HashMap<String, StoredPayment>> {
        // A poisoned lock means another request panicked mid-write: keep serving the rest.
        self.payments
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A checkout: the PAN is encrypted (bound to the order id) and fingerprinted; only those
    /// are stored.
    pub async fn authorize(
        &self,
        order_id: &str,
        pan: &str,
        amount_cents: u64,
    ) -> Result<(), Error> {
        let (ciphertext, fingerprint) = tokio::join!(
            self.kms
                .encrypt(CARD_KEY, pan.as_bytes(), Some(order_id.as_bytes())),
            self.kms.hmac(FINGERPRINT_KEY, pan.as_bytes()),
        );
        let payment = StoredPayment {
            pan_ciphertext: ciphertext?.ciphertext,
            fingerprint: fingerprint?.value,
            last4: pan[pan.len().saturating_sub(4)..].to_owned(),
            amount_cents,
        };
        self.db().insert(order_id.to_owned(), payment);
        Ok(())
    }

    /// A refund: the PAN is decrypted for the acquirer (here: returned to the caller).
    pub async fn refund(&self, order_id: &str) -> Result<Option<String>, Error> {
        let Some(payment) = self.db().get(order_id).cloned() else {
            return Ok(None);
        };
        let pan = self
            .kms
            .decrypt(CARD_KEY, &payment.pan_ciphertext, Some(order_id.as_bytes()))
            .await?;
        Ok(Some(String::from_utf8_lossy(&pan).into_owned()))
    }

    /// The orders paid with this card, found by fingerprint without decrypting anything.
    pub async fn orders_for_card(&self, pan: &str) -> Result<Vec<String>, Error> {
        let fingerprint = self.kms.hmac(FINGERPRINT_KEY, pan.as_bytes()).await?.value;
        let mut orders: Vec<String> = self
            .db()
            .iter()
            .filter(|(_, p)| p.fingerprint == fingerprint)
            .map(|(id, _)| id.clone())
            .collect();
        orders.sort();
        Ok(orders)
    }

    /// The settlement file (order id, last four digits, amount), encrypted locally under a
    /// data key of `settlements` bound to the day.
    pub async fn settlement_file(&self, day: &str) -> Result<Vec<u8>, Error> {
        let mut lines: Vec<String> = self
            .db()
            .iter()
            .map(|(id, p)| format!("{id},{},{}\n", p.last4, p.amount_cents))
            .collect();
        lines.sort();
        let mut sealed = Vec::new();
        self.kms
            .encrypt_stream(
                SETTLEMENT_KEY,
                Some(day.as_bytes()),
                lines.concat().as_bytes(),
                &mut sealed,
            )
            .await?;
        Ok(sealed)
    }

    /// The settlement file back in the clear (for the reconciliation job).
    pub async fn open_settlement_file(&self, day: &str, sealed: &[u8]) -> Result<String, Error> {
        let mut clear = Vec::new();
        self.kms
            .decrypt_stream(Some(day.as_bytes()), sealed, &mut clear)
            .await?;
        Ok(String::from_utf8_lossy(&clear).into_owned())
    }

    pub fn stored(&self, order_id: &str) -> Option<StoredPayment> {
        self.db().get(order_id).cloned()
    }
}

/// What a run did.
#[derive(Debug)]
pub struct Summary {
    pub orders: usize,
    pub refunds_checked: usize,
    pub settlement_lines: usize,
    pub requests: u64,
    pub items: u64,
    pub elapsed: Duration,
}

/// `orders` checkouts from `concurrency` concurrent tasks, then a refund of every tenth order
/// (checked against the PAN that was paid with), a fingerprint lookup, and the settlement file.
pub async fn run(kms: Client, orders: usize, concurrency: usize) -> Result<Summary, String> {
    let started = Instant::now();
    let service = Arc::new(PaymentService::new(kms.clone()));
    let workers: Vec<_> = (0..concurrency.max(1))
        .map(|w| {
            let service = Arc::clone(&service);
            tokio::spawn(async move {
                for n in (w..orders).step_by(concurrency.max(1)) {
                    let order = format!("order-{n:06}");
                    // Every 7th customer pays with the card of customer 0 (a returning card).
                    let pan = test_pan(if n % 7 == 0 { 0 } else { n as u64 });
                    service
                        .authorize(&order, &pan, 100 + n as u64)
                        .await
                        .map_err(|e| format!("{order}: {e}"))?;
                }
                Ok::<(), String>(())
            })
        })
        .collect();
    for w in workers {
        w.await.map_err(|e| e.to_string())??;
    }
    let mut refunds_checked = 0;
    for n in (0..orders).step_by(10) {
        let order = format!("order-{n:06}");
        let expected = test_pan(if n % 7 == 0 { 0 } else { n as u64 });
        let stored = service.stored(&order).ok_or("a payment was not stored")?;
        if stored.pan_ciphertext.contains(&expected) || !stored.pan_ciphertext.starts_with("kms:") {
            return Err(format!("{order}: the stored PAN is not a KMS ciphertext"));
        }
        let pan = service.refund(&order).await.map_err(|e| e.to_string())?;
        if pan.as_deref() != Some(expected.as_str()) {
            return Err(format!("{order}: the refund decrypted another PAN"));
        }
        refunds_checked += 1;
    }
    let returning = service
        .orders_for_card(&test_pan(0))
        .await
        .map_err(|e| e.to_string())?;
    if returning.len() != orders.div_ceil(7) {
        return Err(format!(
            "the returning card was used {} times, found {}",
            orders.div_ceil(7),
            returning.len()
        ));
    }
    let sealed = service
        .settlement_file("2027-01-22")
        .await
        .map_err(|e| e.to_string())?;
    let clear = service
        .open_settlement_file("2027-01-22", &sealed)
        .await
        .map_err(|e| e.to_string())?;
    if clear.contains(&test_pan(1)) {
        return Err("a full PAN reached the settlement file".into());
    }
    let stats = kms.stats();
    Ok(Summary {
        orders,
        refunds_checked,
        settlement_lines: clear.lines().count(),
        requests: stats.requests,
        items: stats.items,
        elapsed: started.elapsed(),
    })
}
