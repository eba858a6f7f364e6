//! A service node killed (SIGKILL) under load from the client: the client fails over to the
//! other nodes, no call fails, and every ciphertext it acknowledged decrypts on the survivors.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kms_client::{Client, Failover};

use super::runtime;
use crate::cluster::Cluster;

#[test]
fn a_node_killed_under_load_loses_no_acknowledged_operation() {
    let mut cluster = Cluster::new(None);
    cluster.pin_zones(&[("zone-a", &["n1", "n2", "n3"])]);
    let store = cluster.start_store();
    let admin = store.http();
    // One zone, three service nodes: n1 makes the zone key, n2 and n3 import it.
    cluster.zone_keygen("n1", "zone-a");
    cluster.zone_import("n2", "zone-a");
    cluster.zone_import("n3", "zone-a");
    cluster.register_zone(&admin, "zone-a");
    admin.create_key("clf-cards");
    let token = admin.create_app("clf-app");
    admin.grant("clf-cards", "clf-app", &["encrypt", "decrypt"]);
    let n1 = cluster.start_service("n1", "127.0.0.3", "zone-a");
    let n2 = cluster.start_service("n2", "127.0.0.4", "zone-a");
    let n3 = cluster.start_service("n3", "127.0.0.5", "zone-a");
    let nodes = [n1.addr.clone(), n2.addr.clone(), n3.addr.clone()];

    let rt = runtime();
    let kms = rt.block_on(async {
        Client::builder()
            .nodes(nodes.clone())
            .token(&token)
            .deadline(Duration::from_secs(20))
            .failover(Failover {
                health_interval: Some(Duration::from_millis(200)),
                ..Failover::default()
            })
            .build()
            .unwrap()
    });
    // Every node serves before the kill (a node that serves nothing proves nothing).
    rt.block_on(async {
        for node in &kms.nodes() {
            assert!(node.url.starts_with("http://127.0.0."), "{node:?}");
        }
        for _ in 0..30 {
            kms.encrypt("clf-cards", b"warm-up", None).await.unwrap();
        }
    });
    assert!(
        kms.nodes().iter().all(|n| n.succeeded > 0),
        "{:?}",
        kms.nodes()
    );

    // 32 tasks encrypt in a loop; n1 is killed in the middle.
    let acknowledged = Arc::new(Mutex::new(Vec::<(Vec<u8>, String)>::new()));
    let failures = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..32)
        .map(|w| {
            let (kms, acknowledged, failures, stop) = (
                kms.clone(),
                Arc::clone(&acknowledged),
                Arc::clone(&failures),
                Arc::clone(&stop),
            );
            rt.spawn(async move {
                let mut i = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let pan = format!("card {w}-{i}").into_bytes();
                    i += 1;
                    match kms.encrypt("clf-cards", &pan, None).await {
                        Ok(ct) => acknowledged.lock().unwrap().push((pan, ct.ciphertext)),
                        Err(e) => failures.lock().unwrap().push(e.to_string()),
                    }
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(800));
    let before_kill = acknowledged.lock().unwrap().len();
    let n1_served = kms.nodes()[0].succeeded;
    n1.kill();
    std::thread::sleep(Duration::from_millis(1500));
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        rt.block_on(w).unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    let failures = failures.lock().unwrap().clone();
    let stats = kms.stats();
    println!(
        "client failover: {} acknowledged ({before_kill} before the kill), {} failed, \
         {} retries, {} failovers, nodes {:?}",
        acknowledged.len(),
        failures.len(),
        stats.retries,
        stats.failovers,
        kms.nodes()
    );
    assert!(failures.is_empty(), "calls failed: {failures:?}");
    assert!(before_kill > 0 && n1_served > 0);
    assert!(
        acknowledged.len() > before_kill,
        "nothing was acknowledged after the kill"
    );

    // Every acknowledged ciphertext decrypts on the survivors (a client without n1).
    rt.block_on(async {
        let survivors = Client::builder()
            .nodes([n2.addr.clone(), n3.addr.clone()])
            .token(&token)
            .build()
            .unwrap();
        let checks: Vec<_> = acknowledged
            .chunks(256)
            .map(|chunk| {
                let (survivors, chunk) = (survivors.clone(), chunk.to_vec());
                tokio::spawn(async move {
                    for (pan, ct) in chunk {
                        let pt = survivors.decrypt("clf-cards", &ct, None).await.unwrap();
                        assert_eq!(&pt[..], &pan[..]);
                    }
                })
            })
            .collect();
        for c in checks {
            c.await.unwrap();
        }
    });
}
