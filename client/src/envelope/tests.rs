//! The data-key cache's limits on a manual clock, and the envelope's sealing and chunking, with
//! data keys made here instead of by a KMS (tests/e2e/client.rs runs them against the server).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use zeroize::Zeroizing;

use super::cache::{DataKeyCache, EncryptionKey, Fetched, cipher};
use super::format::{MESSAGE, associated_data, parse_header, write_header};
use super::stream::StreamKey;
use super::{open, seal};
use crate::clock::ManualClock;
use crate::config::CacheLimits;
use crate::error::{Error, Result};
use crate::secret::DataKeyPlaintext;

/// Hands out distinct data keys (`kms:00001:` + a counter) and counts the fetches.
struct FakeKms {
    fetches: AtomicUsize,
}

impl FakeKms {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            fetches: AtomicUsize::new(0),
        })
    }

    fn fetched(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }

    async fn fetch(&self) -> Result<Fetched> {
        let n = self.fetches.fetch_add(1, Ordering::SeqCst);
        // Let concurrent misses pile up behind this fetch, as a network round trip would.
        tokio::task::yield_now().await;
        Ok(Fetched {
            plaintext: data_key(n),
            wrapped: format!("kms:00001:key{n}"),
        })
    }
}

fn data_key(n: usize) -> DataKeyPlaintext {
    let mut k = vec![0u8; 32];
    k[..8].copy_from_slice(&(n as u64).to_be_bytes());
    DataKeyPlaintext::new(Zeroizing::new(k))
}

fn make(fetched: Fetched, now: std::time::Instant) -> Result<EncryptionKey> {
    let mut header = Vec::new();
    write_header(&mut header, MESSAGE, "cards", &fetched.wrapped)?;
    let aad = associated_data(&header, None);
    Ok(EncryptionKey::new(
        cipher(&fetched.plaintext)?,
        header,
        aad,
        now,
    ))
}

fn cache(limits: CacheLimits) -> (DataKeyCache, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new());
    (DataKeyCache::new(limits, clock.clone()), clock)
}

/// Encrypts one message of `len` bytes under context `ctx`; answers the data key's wrapped
/// form (from the header) and whether it was a cache hit.
async fn message(c: &DataKeyCache, kms: &FakeKms, ctx: &[u8], len: u64) -> (String, bool) {
    let (key, hit) = c
        .for_encryption("cards", ctx, len, || kms.fetch(), make)
        .await
        .unwrap();
    let (header, _) = parse_header(&key.header).unwrap();
    (header.wrapped.to_owned(), hit)
}

#[tokio::test]
async fn a_data_key_encrypts_at_most_max_messages() {
    let (c, _) = cache(CacheLimits {
        max_messages: 3,
        ..CacheLimits::default()
    });
    let kms = FakeKms::new();
    let mut keys = Vec::new();
    for _ in 0..7 {
        keys.push(message(&c, &kms, b"", 10).await);
    }
    let wrapped: Vec<&str> = keys.iter().map(|k| k.0.as_str()).collect();
    assert_eq!(
        wrapped,
        [
            "kms:00001:key0",
            "kms:00001:key0",
            "kms:00001:key0",
            "kms:00001:key1",
            "kms:00001:key1",
            "kms:00001:key1",
            "kms:00001:key2"
        ]
    );
    let hits: Vec<bool> = keys.iter().map(|k| k.1).collect();
    assert_eq!(hits, [false, true, true, false, true, true, false]);
    assert_eq!(kms.fetched(), 3);
}

#[tokio::test]
async fn a_data_key_encrypts_at_most_max_bytes_and_bigger_messages_get_their_own() {
    let (c, _) = cache(CacheLimits {
        max_bytes: 100,
        ..CacheLimits::default()
    });
    let kms = FakeKms::new();
    // 40 + 40 = 80 fits; a third 40 would make 120.
    let mut wrapped = Vec::new();
    for _ in 0..5 {
        wrapped.push(message(&c, &kms, b"", 40).await.0);
    }
    assert_eq!(wrapped[0], wrapped[1]);
    assert_ne!(wrapped[1], wrapped[2]);
    assert_eq!(wrapped[2], wrapped[3]);
    assert_ne!(wrapped[3], wrapped[4]);
    assert_eq!(kms.fetched(), 3);
    // 101 bytes: a key of its own, not cached, and the cached one is untouched.
    let before = c.len();
    let (big, hit) = message(&c, &kms, b"", 101).await;
    assert!(!hit);
    assert_eq!(c.len(), before);
    let (next, hit) = message(&c, &kms, b"", 10).await;
    assert!(hit);
    assert_ne!(big, next);
    assert_eq!(next, wrapped[4]);
}

#[tokio::test]
async fn a_data_key_is_not_used_past_max_age() {
    let (c, clock) = cache(CacheLimits {
        max_age: Duration::from_secs(60),
        ..CacheLimits::default()
    });
    let kms = FakeKms::new();
    let first = message(&c, &kms, b"", 1).await.0;
    clock.advance(Duration::from_secs(59));
    assert_eq!(message(&c, &kms, b"", 1).await, (first.clone(), true));
    clock.advance(Duration::from_secs(1));
    let (second, hit) = message(&c, &kms, b"", 1).await;
    assert!(!hit);
    assert_ne!(second, first);
    assert_eq!(kms.fetched(), 2);
}

#[tokio::test]
async fn contexts_never_share_a_data_key_and_capacity_evicts_the_oldest_which_is_dropped() {
    let (c, clock) = cache(CacheLimits {
        capacity: 2,
        ..CacheLimits::default()
    });
    let kms = FakeKms::new();
    let weak = |ctx: &'static [u8]| {
        let c = &c;
        let kms = &kms;
        async move {
            let (key, _) = c
                .for_encryption("cards", ctx, 1, || kms.fetch(), make)
                .await
                .unwrap();
            Arc::downgrade(&key)
        }
    };
    let a: Weak<EncryptionKey> = weak(b"order-1").await;
    clock.advance(Duration::from_millis(1));
    let b = weak(b"order-2").await;
    assert_eq!(kms.fetched(), 2, "two contexts, two data keys");
    assert_eq!(c.len().0, 2);
    clock.advance(Duration::from_millis(1));
    let _c3 = weak(b"order-3").await;
    assert_eq!(c.len().0, 2);
    // The oldest (order-1) went, and nothing holds its cipher: dropped, hence zeroized
    // (AesGcm is ZeroizeOnDrop).
    assert!(a.upgrade().is_none());
    assert!(b.upgrade().is_some());
    let (_, hit) = message(&c, &kms, b"order-2", 1).await;
    assert!(hit);
    let (_, hit) = message(&c, &kms, b"order-1", 1).await;
    assert!(!hit);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_misses_fetch_one_data_key() {
    let (c, _) = cache(CacheLimits::default());
    let c = Arc::new(c);
    let kms = FakeKms::new();
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let (c, kms) = (Arc::clone(&c), Arc::clone(&kms));
            tokio::spawn(async move { message(&c, &kms, b"", 1).await.0 })
        })
        .collect();
    let mut seen = Vec::new();
    for t in tasks {
        seen.push(t.await.unwrap());
    }
    assert_eq!(kms.fetched(), 1);
    assert!(seen.iter().all(|w| *w == seen[0]));
}

#[tokio::test]
async fn decryption_keys_are_kept_until_max_age() {
    let (c, clock) = cache(CacheLimits {
        max_age: Duration::from_secs(10),
        ..CacheLimits::default()
    });
    let unwraps = AtomicUsize::new(0);
    let unwrap = || async {
        unwraps.fetch_add(1, Ordering::SeqCst);
        Ok(data_key(7))
    };
    let (_, hit) = c
        .for_decryption("cards", "kms:00001:a", b"", unwrap)
        .await
        .unwrap();
    assert!(!hit);
    let (_, hit) = c
        .for_decryption("cards", "kms:00001:a", b"", unwrap)
        .await
        .unwrap();
    assert!(hit);
    // Another context is another entry: the KMS checks it on the first use.
    let (_, hit) = c
        .for_decryption("cards", "kms:00001:a", b"x", unwrap)
        .await
        .unwrap();
    assert!(!hit);
    clock.advance(Duration::from_secs(10));
    let (_, hit) = c
        .for_decryption("cards", "kms:00001:a", b"", unwrap)
        .await
        .unwrap();
    assert!(!hit);
    assert_eq!(unwraps.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn sealed_messages_open_only_with_their_context_and_untouched() {
    let (c, _) = cache(CacheLimits::default());
    let kms = FakeKms::new();
    let (key, _) = c
        .for_encryption("cards", b"", 16, || kms.fetch(), make)
        .await
        .unwrap();
    let envelope = seal(&key, b"4111111111111111").unwrap();
    let (_, header_len) = parse_header(&envelope).unwrap();
    let dec =
        super::cache::DecryptionKey::new(cipher(&data_key(0)).unwrap(), std::time::Instant::now());
    let aad = associated_data(&envelope[..header_len], None);
    assert_eq!(
        &open(&dec, &aad, &envelope[header_len..]).unwrap()[..],
        b"4111111111111111"
    );
    let other = associated_data(&envelope[..header_len], Some(b"order-2"));
    assert!(matches!(
        open(&dec, &other, &envelope[header_len..]),
        Err(Error::DecryptionFailed)
    ));
    for i in header_len..envelope.len() {
        let mut bad = envelope.clone();
        bad[i] ^= 1;
        assert!(open(&dec, &aad, &bad[header_len..]).is_err(), "byte {i}");
    }
}

#[test]
fn stream_chunks_open_only_in_order_and_the_last_one_says_so() {
    let key = data_key(1);
    let salt = [9u8; 32];
    let seal_all = |chunks: &[&[u8]]| {
        let mut sk = StreamKey::new(&key, &salt, b"header", None).unwrap();
        chunks
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let mut buf = c.to_vec();
                sk.seal(&mut buf, i + 1 == chunks.len()).unwrap();
                buf
            })
            .collect::<Vec<_>>()
    };
    let sealed = seal_all(&[b"aaaa", b"bbbb", b"cc"]);
    let opener = || StreamKey::new(&key, &salt, b"header", None).unwrap();
    let mut sk = opener();
    for (i, c) in sealed.iter().enumerate() {
        let mut buf = c.clone();
        sk.open(&mut buf, i == 2).unwrap();
    }
    // Swapped chunks fail.
    let mut sk = opener();
    assert!(sk.open(&mut sealed[1].clone(), false).is_err());
    // Cut after the second chunk: the second is not a last chunk.
    let mut sk = opener();
    sk.open(&mut sealed[0].clone(), false).unwrap();
    assert!(sk.open(&mut sealed[1].clone(), true).is_err());
    // Another header or context: nothing opens.
    let mut sk = StreamKey::new(&key, &salt, b"header", Some(b"ctx")).unwrap();
    assert!(sk.open(&mut sealed[0].clone(), false).is_err());
    let mut sk = StreamKey::new(&key, &salt, b"other", None).unwrap();
    assert!(sk.open(&mut sealed[0].clone(), false).is_err());
}
