//! Automatic batching against the real server: many concurrent calls become few requests, and
//! no caller ever gets another's result, key or context.

use std::sync::Arc;

use kms_client::Error;

use super::{builder, create_key, requests_ok, runtime, url};
use crate::support::{Http, dev_server};

#[test]
fn batching_never_mixes_keys_or_callers_contexts() {
    let dir = tempfile::tempdir().unwrap();
    let server = dev_server(dir.path());
    let http = Http::new(&server);
    let keys = ["clb-cards", "clb-ibans"];
    let token = http.create_app("clb-app");
    for key in keys {
        create_key(&http, key, "aes-256-gcm");
        http.grant(key, "clb-app", &["encrypt", "decrypt"]);
    }
    const CALLERS: usize = 600;
    let rt = runtime();
    let kms = rt.block_on(async { builder(&url(&server), &token).build().unwrap() });
    let results: Vec<(usize, String)> = rt.block_on(async {
        let calls: Vec<_> = (0..CALLERS)
            .map(|i| {
                let kms = kms.clone();
                tokio::spawn(async move {
                    let ct = kms
                        .encrypt(
                            keys[i % 2],
                            format!("pan-{i}").as_bytes(),
                            Some(format!("order-{i}").as_bytes()),
                        )
                        .await
                        .unwrap();
                    (i, ct.ciphertext)
                })
            })
            .collect();
        let mut out = Vec::new();
        for c in calls {
            out.push(c.await.unwrap());
        }
        out
    });
    let stats = kms.stats();
    let encrypt_requests: f64 = keys
        .iter()
        .map(|k| requests_ok(&server, "encrypt", k))
        .sum();
    assert_eq!(encrypt_requests as u64, stats.requests);
    assert!(
        stats.requests < (CALLERS / 4) as u64,
        "{CALLERS} concurrent encrypts took {} requests",
        stats.requests
    );
    assert!(stats.batches > 0);

    // Each ciphertext opens with its own key and context into its own plaintext, and with no
    // other key or context. Decrypts are batched too (all concurrent).
    let results = Arc::new(results);
    rt.block_on(async {
        let checks: Vec<_> = (0..CALLERS)
            .map(|n| {
                let (kms, results) = (kms.clone(), Arc::clone(&results));
                tokio::spawn(async move {
                    let (i, ct) = &results[n];
                    let (key, other_key) = (keys[i % 2], keys[(i + 1) % 2]);
                    let ctx = format!("order-{i}");
                    let pt = kms.decrypt(key, ct, Some(ctx.as_bytes())).await.unwrap();
                    assert_eq!(&pt[..], format!("pan-{i}").as_bytes());
                    let refused = |r: Result<_, Error>| {
                        matches!(r, Err(Error::Api(e)) if e.code == "decryption_failed")
                    };
                    if n % 10 == 0 {
                        let other_ctx = format!("order-{}", i + 1);
                        assert!(refused(
                            kms.decrypt(key, ct, Some(other_ctx.as_bytes())).await
                        ));
                        assert!(refused(
                            kms.decrypt(other_key, ct, Some(ctx.as_bytes())).await
                        ));
                    }
                })
            })
            .collect();
        for c in checks {
            c.await.unwrap();
        }
    });
    let decrypts = kms.stats().requests - stats.requests;
    assert!(
        decrypts < CALLERS as u64 / 2,
        "{} concurrent decrypts took {decrypts} requests",
        CALLERS + CALLERS / 5
    );
}
