//! The example payment service (client/examples/payment_service) against the real server: the
//! same code the example binary runs.

#[path = "../../../client/examples/payment_service/service.rs"]
#[allow(dead_code)]
mod service;

use super::{builder, create_key, runtime, url};
use crate::support::{Http, dev_server};

#[test]
fn the_example_payment_service_stores_only_ciphertexts_and_refunds_the_right_card() {
    let dir = tempfile::tempdir().unwrap();
    let server = dev_server(dir.path());
    let http = Http::new(&server);
    create_key(&http, service::CARD_KEY, "aes-256-gcm");
    create_key(&http, service::FINGERPRINT_KEY, "hmac-sha256");
    create_key(&http, service::SETTLEMENT_KEY, "aes-256-gcm");
    let token = http.create_app("payments");
    http.grant(service::CARD_KEY, "payments", &["encrypt", "decrypt"]);
    http.grant(service::FINGERPRINT_KEY, "payments", &["hmac"]);
    http.grant(service::SETTLEMENT_KEY, "payments", &["datakey", "decrypt"]);
    assert_eq!(service::test_pan(0), "4000000000000002");
    let rt = runtime();
    let summary = rt
        .block_on(async {
            let kms = builder(&url(&server), &token).build().unwrap();
            service::run(kms, 2_000, 200).await
        })
        .unwrap();
    assert_eq!(summary.orders, 2_000);
    assert_eq!(summary.refunds_checked, 200);
    assert_eq!(summary.settlement_lines, 2_000);
    // 2,000 encrypts and 2,000 MACs from 200 concurrent checkouts: batched.
    assert!(
        summary.requests < 1_000,
        "{} requests for {} items",
        summary.requests,
        summary.items
    );
}
