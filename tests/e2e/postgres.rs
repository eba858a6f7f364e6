//! `kms serve` on PostgreSQL: two servers sharing one database (as two KMS processes would; here
//! two servers in this process, each with its own store connections and key directory) see each
//! other's changes through the store's notifications, and one's ciphertexts open on the other.
//! The database is made for the test through `KMS_TEST_POSTGRES` (store/tests/pg/mod.rs).

use std::time::Duration;

use serde_json::json;

use crate::support::*;

use crate::pg;

/// Retries `f` until it returns `Some` (the other server's directory catching up), at most 10 s.
fn eventually<T>(what: &str, f: impl FnMut() -> Option<T>) -> T {
    crate::support::eventually_some(Duration::from_secs(10), what, f)
}

#[test]
fn two_servers_on_one_postgres_database_serve_each_others_keys() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let db = rt.block_on(pg::TestDb::create());
    // The same software HSM keyring and dev unseal share in both data directories: the two
    // servers hold the same master key, as two processes of one deployment do (each process has
    // its own data directory, which it locks).
    let dir = tempfile::tempdir().unwrap();
    let dir_b = tempfile::tempdir().unwrap();
    let a = dev_server_with(dir.path(), |o| o.postgres_url = Some(db.url()));
    std::fs::create_dir(dir_b.path().join("hsm")).unwrap();
    std::fs::copy(
        dir.path().join("hsm/sealed.json"),
        dir_b.path().join("hsm/sealed.json"),
    )
    .unwrap();
    std::fs::copy(
        dir.path().join("dev-unseal-share"),
        dir_b.path().join("dev-unseal-share"),
    )
    .unwrap();
    let b = dev_server_with(dir_b.path(), |o| o.postgres_url = Some(db.url()));
    let (ha, hb) = (Http::new(&a), Http::new(&b));

    ha.create_key("shared");
    let token = ha.create_app("payments");
    ha.grant("shared", "payments", &["encrypt", "decrypt"]);
    let sealed = ha.seal(&token, "shared", b"4111111111111111", None);
    // B learns the key, the app and the grant from the change feed.
    let opened = eventually("A's key on B", || {
        let (s, body) = hb.decrypt(&token, "shared", &sealed, None);
        (s == 200).then_some(body)
    });
    assert_eq!(
        unb64(opened["plaintext"].as_str().unwrap()),
        b"4111111111111111"
    );

    // A rotation through B: A encrypts under version 2 once it has seen it, B opens that.
    let (s, key) = hb.post(
        "/v1/admin/keys/shared/rotate",
        Some(ROOT),
        &json!({ "reason": "rotated on the other server" }),
    );
    assert_eq!(s, 200, "{key}");
    assert_eq!(key["active_version"], 2);
    let v2 = eventually("B's rotation on A", || {
        let c = ha.seal(&token, "shared", b"after", None);
        c.starts_with("kms:00002:").then_some(c)
    });
    assert_eq!(hb.open(&token, "shared", &v2, None), b"after");
    // The first ciphertext still opens on both.
    assert_eq!(
        ha.open(&token, "shared", &sealed, None),
        b"4111111111111111"
    );
    drop((a, b));
}
