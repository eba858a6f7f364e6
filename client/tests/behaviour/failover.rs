//! Several nodes: failover, `Retry-After`, deadlines, circuit breaking, health, pipelining.

use std::time::{Duration, Instant};

use kms_client::{EncryptRetry, Error, Failover, Health, Pool};

use super::fake::{FakeNode, Reply, dead_url, echo_kms, error, ok};
use super::{builder, unbatched};

fn ready_or(
    reply: impl Fn() -> Reply + Send + Sync + 'static,
) -> impl Fn(&super::fake::Seen, usize) -> Reply + Send + Sync + 'static {
    move |seen, _| {
        if seen.path == "/readyz" {
            ok("{\"status\":\"ready\"}")
        } else {
            reply()
        }
    }
}

#[tokio::test]
async fn calls_fail_over_from_a_dead_node_whose_circuit_then_opens() {
    let live = FakeNode::start(1, echo_kms).await;
    let dead = dead_url();
    let kms = unbatched(&[&dead, &live.url]).build().unwrap();
    for i in 0..20 {
        let ct = kms
            .encrypt("cards", format!("pan-{i}").as_bytes(), None)
            .await
            .unwrap();
        assert!(ct.ciphertext.starts_with("kms:00001:cards."));
    }
    assert_eq!(live.count(), 20);
    let nodes = kms.nodes();
    // Three consecutive failures open the circuit; the cooldown keeps it out after.
    assert!(nodes[0].circuit_open, "{nodes:?}");
    assert_eq!(nodes[0].failed, 3, "{nodes:?}");
    assert_eq!(nodes[1].succeeded, 20);
    let stats = kms.stats();
    assert_eq!(stats.failovers, 3);
    assert_eq!(stats.requests, 23);
    // The token went along.
    let seen = live.requests.lock().unwrap()[0].clone();
    assert_eq!(seen.authorization.as_deref(), Some("Bearer app-token"));
}

#[tokio::test]
async fn a_503_pauses_its_node_for_its_retry_after_and_the_call_goes_elsewhere() {
    let busy = FakeNode::start(
        1,
        ready_or(|| error(503, "overloaded", &["Retry-After: 30"])),
    )
    .await;
    let live = FakeNode::start(1, echo_kms).await;
    let kms = unbatched(&[&busy.url, &live.url]).build().unwrap();
    for _ in 0..10 {
        kms.decrypt("cards", "kms:00001:cards.QQ==.", None)
            .await
            .unwrap();
    }
    assert_eq!(busy.count(), 1, "the paused node was asked again");
    assert_eq!(live.count(), 10);
}

#[tokio::test]
async fn a_429_is_waited_out_within_the_deadline_and_refused_beyond_it() {
    let limited = FakeNode::start(1, |seen: &super::fake::Seen, n| {
        if n == 0 {
            error(429, "rate_limited", &["Retry-After: 1"])
        } else {
            echo_kms(seen, n)
        }
    })
    .await;
    let kms = unbatched(&[&limited.url]).build().unwrap();
    let started = Instant::now();
    kms.encrypt("cards", b"4111", None).await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After not obeyed"
    );
    assert_eq!(limited.count(), 2);

    let always = FakeNode::start(
        1,
        ready_or(|| error(429, "rate_limited", &["Retry-After: 5"])),
    )
    .await;
    let kms = unbatched(&[&always.url]).build().unwrap();
    let got = kms
        .with_deadline(Duration::from_secs(1))
        .encrypt("cards", b"4111", None)
        .await;
    match got {
        Err(Error::Api(e)) => {
            assert_eq!(e.code, "rate_limited");
            assert_eq!(e.status, Some(429));
            assert_eq!(e.retry_after, Some(Duration::from_secs(5)));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        always.count(),
        1,
        "retried although the deadline came first"
    );
}

#[tokio::test]
async fn a_hung_node_costs_the_call_its_deadline_and_no_more() {
    let hung = FakeNode::start(1, |_: &super::fake::Seen, _| Reply::Hang).await;
    let kms = unbatched(&[&hung.url]).build().unwrap();
    let got = kms
        .with_deadline(Duration::from_millis(300))
        .decrypt("cards", "kms:00001:x", None)
        .await;
    assert!(matches!(got, Err(Error::DeadlineExceeded)), "{got:?}");
}

#[tokio::test]
async fn encrypts_are_retried_after_a_cut_connection_only_when_the_policy_allows() {
    let cutter = FakeNode::start(1, ready_or(|| Reply::Close)).await;
    let only_unsent = Failover {
        health_interval: None,
        breaker_failures: 10,
        encrypt_retry: EncryptRetry::IfUnsent,
        ..Failover::default()
    };
    let kms = unbatched(&[&cutter.url])
        .failover(only_unsent)
        .build()
        .unwrap();
    let got = kms.encrypt("cards", b"4111", None).await;
    assert!(matches!(got, Err(Error::Transport { .. })), "{got:?}");
    assert_eq!(cutter.count(), 1, "an encrypt that was sent was sent again");
    // A decrypt is the same whatever happens: retried up to max_attempts (3).
    let got = kms.decrypt("cards", "kms:00001:x", None).await;
    assert!(matches!(got, Err(Error::Transport { .. })), "{got:?}");
    assert_eq!(cutter.count(), 4);

    // With the default policy, the encrypt goes on to a node that answers.
    let live = FakeNode::start(1, echo_kms).await;
    let kms = unbatched(&[&cutter.url, &live.url]).build().unwrap();
    for _ in 0..4 {
        kms.encrypt("cards", b"4111", None).await.unwrap();
    }
    assert_eq!(live.count(), 4);
}

#[tokio::test]
async fn five_hundreds_open_the_circuit_and_idempotent_calls_still_succeed() {
    let broken = FakeNode::start(1, ready_or(|| error(500, "internal", &[]))).await;
    let live = FakeNode::start(1, echo_kms).await;
    let kms = unbatched(&[&broken.url, &live.url]).build().unwrap();
    for _ in 0..20 {
        kms.decrypt("cards", "kms:00001:cards.QQ==.", None)
            .await
            .unwrap();
    }
    assert_eq!(broken.count(), 3, "an open circuit let calls through");
    assert!(kms.nodes()[0].circuit_open);
}

#[tokio::test]
async fn nodes_that_readyz_calls_down_get_no_calls_while_others_are_up() {
    let sealed = FakeNode::start(1, |seen: &super::fake::Seen, n| {
        if seen.path == "/readyz" {
            Reply::Answer(503, vec![], "{\"status\":\"sealed\"}".into())
        } else {
            echo_kms(seen, n)
        }
    })
    .await;
    let degraded = FakeNode::start(1, |seen: &super::fake::Seen, n| {
        if seen.path == "/readyz" {
            ok("{\"status\":\"degraded\"}")
        } else {
            echo_kms(seen, n)
        }
    })
    .await;
    let kms = unbatched(&[&sealed.url, &degraded.url]).build().unwrap();
    assert_eq!(kms.check_health().await, [Health::Down, Health::Degraded]);
    for _ in 0..10 {
        kms.encrypt("cards", b"4111", None).await.unwrap();
    }
    assert_eq!(sealed.count_path("/encrypt"), 0);
    assert_eq!(degraded.count_path("/encrypt"), 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_are_pipelined_on_one_connection() {
    // The node answers only once eight requests wait on a connection: without pipelining on
    // the client's single connection, no call would ever be answered.
    let node = FakeNode::start(8, echo_kms).await;
    let one_connection = Pool {
        max_connections: 1,
        ..Pool::default()
    };
    let kms = unbatched(&[&node.url])
        .pool(one_connection)
        .build()
        .unwrap();
    let calls: Vec<_> = (0..8)
        .map(|i| {
            let kms = kms.clone();
            tokio::spawn(async move {
                kms.encrypt("cards", format!("{i}").as_bytes(), None)
                    .await
                    .unwrap()
            })
        })
        .collect();
    for c in calls {
        c.await.unwrap();
    }
    assert_eq!(node.count(), 8);
    assert_eq!(
        node.connections.load(std::sync::atomic::Ordering::SeqCst),
        1
    );
}

#[tokio::test]
async fn a_node_that_answers_no_http_is_a_transport_failure() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        while let Ok((mut s, _)) = listener.accept().await {
            let _ = s.write_all(b"SSH-2.0-OpenSSH_9.2\r\n\r\n").await;
        }
    });
    let kms = builder(&[&url]).build().unwrap();
    let got = kms.decrypt("cards", "kms:00001:x", None).await;
    assert!(matches!(got, Err(Error::Transport { .. })), "{got:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_closed_after_an_answer_is_not_reused_and_requests_behind_it_go_again() {
    // Every answer says `Connection: close` and the connection ends (actix does this when a
    // handler left the request body unread). Password verifies are never sent twice once
    // written, so each must find a live connection.
    let node = FakeNode::start(1, |seen: &super::fake::Seen, _| {
        if seen.path == "/readyz" {
            ok("{\"status\":\"ready\"}")
        } else {
            Reply::Answer(
                200,
                vec!["Connection: close".into()],
                "{\"match\":true,\"key_version\":1}".into(),
            )
        }
    })
    .await;
    let kms = unbatched(&[&node.url]).build().unwrap();
    for _ in 0..10 {
        let m = kms
            .password_verify("login", "blob", b"salt", "kms:00001:x")
            .await
            .unwrap();
        assert!(m.matched);
    }
    // Two at once: pipelined on one connection, the second is behind a close and goes again.
    let (a, b) = tokio::join!(
        kms.password_verify("login", "blob", b"salt", "kms:00001:x"),
        kms.password_verify("login", "blob", b"salt", "kms:00001:x"),
    );
    assert!(a.unwrap().matched && b.unwrap().matched);
    // One connection per answer: none was used after its close.
    let connections = node.connections.load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        connections >= 12,
        "{connections} connections for 12 answers"
    );
}
