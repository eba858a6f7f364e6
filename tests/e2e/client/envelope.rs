//! Envelope encryption against the real server: the cache's limits decide how many `datakey`
//! calls the server sees (counted by its own metrics), on a manual clock for age; streams
//! round-trip and refuse tampering and truncation.

use std::sync::Arc;
use std::time::Duration;

use kms_client::{CacheLimits, Error, ManualClock};

use super::{builder, create_key, requests_ok, runtime, url};
use crate::support::{Http, dev_server};

#[test]
fn envelope_encryption_honours_the_cache_limits_and_streams_refuse_tampering() {
    let dir = tempfile::tempdir().unwrap();
    let server = dev_server(dir.path());
    let http = Http::new(&server);
    create_key(&http, "cle-files", "aes-256-gcm");
    let token = http.create_app("cle-app");
    http.grant("cle-files", "cle-app", &["datakey", "decrypt"]);
    let clock = Arc::new(ManualClock::new());
    let limits = CacheLimits {
        max_age: Duration::from_secs(60),
        max_messages: 10,
        max_bytes: 1 << 20,
        capacity: 100,
    };
    let rt = runtime();
    rt.block_on(async {
        let kms = builder(&url(&server), &token)
            .cache_limits(limits)
            .clock(clock.clone())
            .build()
            .unwrap();
        let datakeys = || requests_ok(&server, "datakey", "cle-files");

        // 25 messages, 10 per data key: 3 data keys.
        let mut envelopes = Vec::new();
        for i in 0..25 {
            let msg = format!("receipt {i}");
            envelopes.push((
                msg.clone(),
                kms.encrypt_local("cle-files", msg.as_bytes(), Some(b"batch-7"))
                    .await
                    .unwrap(),
            ));
        }
        assert_eq!(datakeys(), 3.0);
        assert_eq!(kms.stats().datakeys_fetched, 3);
        assert_eq!(kms.stats().cache_hits, 22);

        // Each decrypts; one KMS decrypt per data key, then the cache.
        let decrypts_before = requests_ok(&server, "decrypt", "cle-files");
        for (msg, env) in &envelopes {
            let pt = kms.decrypt_local(env, Some(b"batch-7")).await.unwrap();
            assert_eq!(&pt[..], msg.as_bytes());
        }
        assert_eq!(
            requests_ok(&server, "decrypt", "cle-files") - decrypts_before,
            3.0
        );

        // Another context: the KMS refuses to unwrap the data key for it.
        match kms.decrypt_local(&envelopes[0].1, Some(b"batch-8")).await {
            Err(Error::Api(e)) => assert_eq!(e.code, "decryption_failed"),
            other => panic!("{other:?}"),
        }
        // A flipped bit anywhere after the header: one opaque error.
        let mut bad = envelopes[3].1.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert!(matches!(
            kms.decrypt_local(&bad, Some(b"batch-7")).await,
            Err(Error::DecryptionFailed)
        ));
        assert!(matches!(
            kms.decrypt_local(b"not an envelope", None).await,
            Err(Error::MalformedEnvelope(_))
        ));

        // Age: the manual clock passes max_age and the next message gets a new data key.
        let before = datakeys();
        kms.encrypt_local("cle-files", b"a", None).await.unwrap();
        clock.advance(Duration::from_secs(59));
        kms.encrypt_local("cle-files", b"b", None).await.unwrap();
        assert_eq!(datakeys(), before + 1.0);
        clock.advance(Duration::from_secs(1));
        kms.encrypt_local("cle-files", b"c", None).await.unwrap();
        assert_eq!(datakeys(), before + 2.0);

        // Bytes: a message over max_bytes gets a data key of its own.
        let before = datakeys();
        let big = vec![7u8; (1 << 20) + 1];
        let env = kms.encrypt_local("cle-files", &big, None).await.unwrap();
        kms.encrypt_local("cle-files", b"d", None).await.unwrap();
        assert_eq!(datakeys(), before + 1.0);
        assert_eq!(&kms.decrypt_local(&env, None).await.unwrap()[..], &big[..]);

        // Streams: 1 MiB and a bit, in 64 KiB chunks.
        let data: Vec<u8> = (0..(1u32 << 20) + 12_345)
            .map(|i| (i % 251) as u8)
            .collect();
        let mut sealed = Vec::new();
        let n = kms
            .encrypt_stream("cle-files", Some(b"file-9"), &data[..], &mut sealed)
            .await
            .unwrap();
        assert_eq!(n, data.len() as u64);
        let mut opened = Vec::new();
        kms.decrypt_stream(Some(b"file-9"), &sealed[..], &mut opened)
            .await
            .unwrap();
        assert_eq!(opened, data);
        // Cut after the first full chunk (the header is at most a few hundred bytes): refused.
        let header = sealed.len() - (data.len() + 17 * 16);
        let cut = &sealed[..header + 65_536 + 16];
        let got = kms
            .decrypt_stream(Some(b"file-9"), cut, &mut Vec::new())
            .await;
        assert!(matches!(got, Err(Error::DecryptionFailed)), "{got:?}");
        let mut flipped = sealed.clone();
        flipped[header + 100_000] ^= 0x80;
        let got = kms
            .decrypt_stream(Some(b"file-9"), &flipped[..], &mut Vec::new())
            .await;
        assert!(matches!(got, Err(Error::DecryptionFailed)), "{got:?}");
        let got = kms
            .decrypt_stream(Some(b"file-8"), &sealed[..], &mut Vec::new())
            .await;
        assert_eq!(got.unwrap_err().code(), Some("decryption_failed"));
    });
}
