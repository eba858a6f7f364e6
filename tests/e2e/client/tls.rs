//! The client over TLS: the server's CA from a file, the app authenticated by its client
//! certificate alone; a certificate from another CA never gets a connection.

use kms_client::{Client, Error, Failover};
use kms_tls::TlsFiles;
use serde_json::json;

use super::runtime;
use crate::support::{Http, ROOT, dev_server_with};
use crate::tls::Pki;

#[test]
fn the_client_over_tls_with_a_client_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let pki_dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(pki_dir.path());
    pki.client("ca", "checkout");
    pki.ca("rogue");
    pki.client("rogue", "impostor");
    let server = dev_server_with(dir.path(), |o| {
        o.tls = Some(TlsFiles {
            cert: pki.path("server.pem"),
            key: pki.path("server.key"),
            client_ca: Some(pki.path("ca.pem")),
        });
    });
    let base = format!("https://127.0.0.1:{}", server.addr.port());
    let admin: Http = pki.http_at(&base, None);
    admin.create_key("clt-cards");
    admin.create_app("clt-checkout");
    admin.grant("clt-cards", "clt-checkout", &["encrypt", "decrypt"]);
    let (s, b) = admin.post(
        "/v1/admin/apps/clt-checkout/certificate",
        Some(ROOT),
        &json!({ "fingerprint": pki.fingerprint("checkout") }),
    );
    assert_eq!(s, 200, "{b}");

    let no_health = Failover {
        health_interval: None,
        ..Failover::default()
    };
    let rt = runtime();
    rt.block_on(async {
        // The certificate is the only credential: no token.
        let kms = Client::builder()
            .node(&base)
            .ca_file(pki.path("ca.pem"))
            .client_certificate(pki.path("checkout.pem"), pki.path("checkout.key"))
            .failover(no_health.clone())
            .build()
            .unwrap();
        let ct = kms
            .encrypt("clt-cards", b"4111111111111111", Some(b"order-1"))
            .await
            .unwrap();
        let pt = kms
            .decrypt("clt-cards", &ct.ciphertext, Some(b"order-1"))
            .await
            .unwrap();
        assert_eq!(&pt[..], b"4111111111111111");
        // Envelope encryption over the same connection pool.
        let envelope = kms.encrypt_local("clt-cards", b"receipt", None).await;
        assert_eq!(
            envelope.unwrap_err().code(),
            Some("operation_not_granted"),
            "no datakey grant"
        );

        // A certificate from a CA the server does not trust: the handshake fails, whichever
        // side notices first; no answer ever comes.
        let impostor = Client::builder()
            .node(&base)
            .ca_file(pki.path("ca.pem"))
            .client_certificate(pki.path("impostor.pem"), pki.path("impostor.key"))
            .failover(no_health.clone())
            .build()
            .unwrap();
        let got = impostor.encrypt("clt-cards", b"x", None).await;
        assert!(matches!(got, Err(Error::Transport { .. })), "{got:?}");

        // A client that trusts another CA refuses the server.
        let distrustful = Client::builder()
            .node(&base)
            .ca_file(pki.path("rogue.pem"))
            .token("whatever")
            .failover(no_health)
            .build()
            .unwrap();
        let got = distrustful.encrypt("clt-cards", b"x", None).await;
        match got {
            Err(Error::Transport { detail, .. }) => {
                assert!(detail.contains("certificate"), "{detail}");
            }
            other => panic!("{other:?}"),
        }
    });
}
