//! Engine operations in process, one thread: the cost floor under every request.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kms_engine::ciphertext;
use kms_engine::crypto::PreparedKey;
use kms_engine::ids::KeyVersion;
use kms_engine::token::TokenHash;
use kms_engine::wrap::KeyUnwrapper;
use std::hint::black_box;

fn engine(c: &mut Criterion) {
    let f = kms_benches::fixture();
    let key = &f.key;
    let version = KeyVersion::FIRST;
    let (cipher, material) = f.cipher();
    let plaintext = [0x42u8; 64];
    let sealed = cipher
        .encrypt(&key.id, version, b"ctx", &plaintext)
        .expect("encrypt");

    let mut g = c.benchmark_group("aes-256-gcm/64B");
    g.throughput(Throughput::Elements(1));
    g.bench_function("encrypt", |b| {
        b.iter(|| cipher.encrypt(&key.id, version, black_box(b"ctx"), black_box(&plaintext)));
    });
    g.bench_function("decrypt", |b| {
        b.iter(|| {
            let parsed = ciphertext::parse(black_box(&sealed)).expect("parse");
            cipher.decrypt(&key.id, parsed, b"ctx")
        });
    });
    g.finish();

    let body = ciphertext::parse(&sealed).expect("parse").body;
    let mut g = c.benchmark_group("ciphertext");
    g.bench_function("format", |b| {
        b.iter(|| ciphertext::format(version, black_box(&body)))
    });
    g.bench_function("parse", |b| {
        b.iter(|| ciphertext::parse(black_box(&sealed)))
    });
    g.finish();

    c.bench_function("token/hash", |b| {
        b.iter(|| TokenHash::of(black_box("kms_wuYY41cmqxrj9BuWSyH2ydimxAsJ6NOBaXyUqZ9jm1c")));
    });
    c.bench_function("prepare-cipher", |b| {
        b.iter(|| PreparedKey::new(key.algorithm, false, black_box(&material)));
    });
    c.bench_function("hsm/unwrap-through-actor", |b| {
        let wrapped = key
            .version(version)
            .and_then(|v| v.wrapped.clone())
            .expect("wrapped");
        b.iter(|| f.hsm.unwrap_key(&key.wrap_context(version), &wrapped));
    });
}

criterion_group!(benches, engine);
criterion_main!(benches);
