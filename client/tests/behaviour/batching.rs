//! Automatic batching over real HTTP to a scripted node.

use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use kms_client::Batching;

use super::builder;
use super::fake::{FakeNode, echo_kms};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_calls_share_requests_and_never_mix_keys_or_contexts() {
    let node = FakeNode::start(1, echo_kms).await;
    let kms = builder(&[&node.url]).build().unwrap();
    let calls: Vec<_> = (0..400)
        .map(|i| {
            let kms = kms.clone();
            tokio::spawn(async move {
                let key = ["cards", "ibans"][i % 2];
                let pan = format!("pan-{i}");
                let ctx = format!("order-{i}");
                let ct = kms
                    .encrypt(key, pan.as_bytes(), Some(ctx.as_bytes()))
                    .await
                    .unwrap();
                // The node writes the key of the request's path and the item's own fields
                // into the ciphertext: a batch across keys or a result handed to the wrong
                // caller would show here.
                assert_eq!(
                    ct.ciphertext,
                    format!(
                        "kms:00001:{key}.{}.{}",
                        STANDARD.encode(&pan),
                        STANDARD.encode(&ctx)
                    )
                );
                let back = kms
                    .decrypt(key, &ct.ciphertext, Some(ctx.as_bytes()))
                    .await
                    .unwrap();
                assert_eq!(&back[..], pan.as_bytes());
                let wrong = kms.decrypt(key, &ct.ciphertext, Some(b"order-x")).await;
                assert_eq!(wrong.unwrap_err().code(), Some("decryption_failed"));
            })
        })
        .collect();
    for c in calls {
        c.await.unwrap();
    }
    let stats = kms.stats();
    assert_eq!(stats.items, 1200);
    let requests = node.count_path("/encrypt") + node.count_path("/decrypt");
    assert_eq!(requests as u64, stats.requests);
    assert!(
        requests < 600,
        "1200 concurrent calls took {requests} requests"
    );
    assert!(stats.batches > 0);
    // Every batch names one key in its path; its items are that key's only.
    for r in node.requests.lock().unwrap().iter() {
        if r.body.contains("\"items\"") && r.path.ends_with("/encrypt") {
            let key = r.path.split('/').nth(3).unwrap();
            assert!(key == "cards" || key == "ibans");
        }
    }
}

#[tokio::test]
async fn a_lone_call_leaves_without_waiting_for_the_window() {
    let node = FakeNode::start(1, echo_kms).await;
    let slow_window = Batching {
        window: Duration::from_secs(30),
        ..Batching::default()
    };
    let kms = builder(&[&node.url]).batching(slow_window).build().unwrap();
    let started = Instant::now();
    kms.encrypt("cards", b"4111", None).await.unwrap();
    // Far below the window: the batch left when nobody else joined.
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(node.count(), 1);
}
