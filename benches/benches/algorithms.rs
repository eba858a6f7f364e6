//! Every algorithm's operations in process, one thread, 64-byte inputs: the cost floor under each
//! data-plane request, and what a mixed load has to budget for (an RSA-3072 signature costs
//! thousands of AES encryptions).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kms_engine::algorithm::{Algorithm, MaterialKind, Operation};
use kms_engine::ciphertext::{self, Kind};
use kms_engine::crypto::{PreparedKey, generate_key_pair};
use kms_engine::ids::{KeyId, KeyVersion};
use kms_engine::secret::KeyMaterial;
use std::hint::black_box;

fn prepared(algorithm: Algorithm) -> PreparedKey {
    let material = match algorithm.material() {
        MaterialKind::Random(n) => KeyMaterial::random(n),
        MaterialKind::KeyPair => generate_key_pair(algorithm).expect("key pair"),
    };
    PreparedKey::new(algorithm, false, &material).expect("prepared")
}

fn algorithms(c: &mut Criterion) {
    let id = KeyId::random();
    let v = KeyVersion::FIRST;
    let input = [0x42u8; 64];
    for algorithm in Algorithm::ALL {
        let key = prepared(*algorithm);
        let mut g = c.benchmark_group(algorithm.name());
        g.throughput(Throughput::Elements(1));
        if algorithm.supports(Operation::Encrypt) {
            // SM2 takes no context.
            let ctx: &[u8] = if *algorithm == Algorithm::Sm2 {
                b""
            } else {
                b"ctx"
            };
            let sealed = key.encrypt(&id, v, ctx, &input).expect("encrypt");
            g.bench_function("encrypt", |b| {
                b.iter(|| key.encrypt(&id, v, ctx, black_box(&input)))
            });
            g.bench_function("decrypt", |b| {
                b.iter(|| {
                    key.decrypt(
                        &id,
                        ciphertext::parse(black_box(&sealed)).expect("parse"),
                        ctx,
                    )
                });
            });
        }
        if algorithm.supports(Operation::Sign) {
            let sig = key.sign(v, &input, false, None).expect("sign");
            let raw = ciphertext::parse_as(Kind::Signature, &sig)
                .expect("parse")
                .body;
            g.bench_function("sign", |b| {
                b.iter(|| key.sign(v, black_box(&input), false, None))
            });
            g.bench_function("verify", |b| {
                b.iter(|| key.verify(black_box(&input), false, None, &raw))
            });
        }
        if algorithm.supports(Operation::Hmac) {
            let mac = key.mac(v, &input).expect("mac");
            let raw = ciphertext::parse_as(Kind::Hmac, &mac).expect("parse").body;
            g.bench_function("hmac", |b| b.iter(|| key.mac(v, black_box(&input))));
            g.bench_function("hmac-verify", |b| {
                b.iter(|| key.mac_verify(black_box(&input), &raw))
            });
        }
        g.finish();
    }
}

criterion_group!(benches, algorithms);
criterion_main!(benches);
