//! The hand-off: an inline encrypt versus the same encrypt sent to the crypto worker pool and
//! awaited, one at a time and as a batch of 100. The difference is what the pool costs a request.

use std::sync::Arc;

// The `kms` binary's allocator: jobs are allocated on one thread and freed on another.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kms_engine::clock::SystemClock;
use kms_engine::ids::KeyVersion;
use kms_engine::pool::{Item, PoolConfig, WorkerPool};
use kms_engine::secret::PlaintextBuf;

fn item() -> Item {
    Item::Encrypt {
        plaintext: PlaintextBuf::new(vec![0x42; 64]),
        context: Vec::new(),
    }
}

fn pool(c: &mut Criterion) {
    let f = kms_benches::fixture();
    let key = Arc::clone(&f.key);
    let version = KeyVersion::FIRST;
    let (cipher, _material) = f.cipher();
    let workers = WorkerPool::start(
        &PoolConfig {
            workers: 2,
            queue_depth: 1024,
            cache_capacity: 1024,
            ..PoolConfig::default()
        },
        Arc::new(f.hsm.clone()),
        Arc::new(SystemClock),
    )
    .expect("pool");

    let caller: Arc<str> = Arc::from("app:bench");
    let mut g = c.benchmark_group("encrypt-64B");
    g.throughput(Throughput::Elements(1));
    g.bench_function("inline", |b| {
        b.iter(|| cipher.encrypt(&key.id, version, b"", &[0x42; 64]));
    });
    g.bench_function("pool-round-trip", |b| {
        b.iter(|| {
            f.runtime
                .block_on(workers.run(Arc::clone(&key), Arc::clone(&caller), vec![item()]))
        });
    });
    g.finish();

    // What the HTTP workers do: many requests in flight on one thread's event loop, each sent
    // with `run_coalesced`. The figure to compare with the target of 1M operations/s per core
    // (the machine's cores: this thread, and the crypto workers).
    const IN_FLIGHT: u64 = 1000;
    let workers = Arc::new(workers);
    let local = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let mut g = c.benchmark_group("encrypt-64B-concurrent");
    g.throughput(Throughput::Elements(IN_FLIGHT));
    g.bench_function("pool-coalesced-1000-in-flight", |b| {
        b.iter(|| {
            let set = tokio::task::LocalSet::new();
            for _ in 0..IN_FLIGHT {
                let (workers, key, caller) =
                    (Arc::clone(&workers), Arc::clone(&key), Arc::clone(&caller));
                set.spawn_local(async move {
                    let out = workers.run_coalesced(key, caller, vec![item()]).await;
                    assert!(out.is_ok_and(|r| r.len() == 1 && r[0].is_ok()));
                });
            }
            local.block_on(set);
        });
    });
    g.finish();

    let mut g = c.benchmark_group("encrypt-64B-batch-100");
    g.throughput(Throughput::Elements(100));
    g.bench_function("pool-round-trip", |b| {
        b.iter(|| {
            let items = (0..100).map(|_| item()).collect();
            f.runtime
                .block_on(workers.run(Arc::clone(&key), Arc::clone(&caller), items))
        });
    });
    g.finish();
}

criterion_group!(benches, pool);
criterion_main!(benches);
