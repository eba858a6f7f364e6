//! The same split knowledge through the command line, with keys made by `openssl` as custodians
//! would make them: `kms init --share-key ... --root-token-key ...` prints only ciphertexts,
//! `kms unseal --private-key` opens a custodian's own share on their machine (and not another's),
//! and `kms hsm rekey` / `kms hsm generate-root` run with each custodian's encrypted share.

use kms_testkit::openssl;

use crate::process::*;

/// `kms hsm decrypt --private-key KEY` (offline) with `ciphertext` on stdin: the secret.
fn decrypt(key: &str, ciphertext: &str) -> String {
    let run = kms_offline(
        &["hsm", "decrypt", "--private-key", key],
        &format!("{ciphertext}\n"),
        &[],
    );
    assert!(run.ok, "{}", run.stderr);
    run.stdout.trim().to_owned()
}

/// `kms <args>`, asserting it succeeded; its stdout.
fn ok(args: &[&str], addr: &str, stdin: &str) -> String {
    let run = kms(args, addr, stdin, &[]);
    assert!(run.ok, "kms {args:?}: {}{}", run.stdout, run.stderr);
    run.stdout
}

#[test]
fn custodians_get_encrypted_shares_on_the_command_line_and_open_only_their_own() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path();
    for name in ["k1", "k2", "k3", "root", "n1", "n2"] {
        let private = format!("{name}.pem");
        openssl::run(
            keys,
            &[
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                "rsa_keygen_bits:2048",
                "-out",
                &private,
            ],
        );
        openssl::run(
            keys,
            &[
                "pkey",
                "-in",
                &private,
                "-pubout",
                "-out",
                &format!("{name}.pub"),
            ],
        );
    }
    let path = |f: &str| keys.join(f).display().to_string();
    let config = write_config(dir.path(), "");
    let mut server = Server::start(&config, &[]);
    let started = ok(
        &[
            "init",
            "--custodian",
            "alice",
            "--shares",
            "3",
            "--threshold",
            "2",
            "--share-key",
            &path("k1.pub"),
            &path("k2.pub"),
            &path("k3.pub"),
            "--root-token-key",
            &path("root.pub"),
        ],
        &server.addr,
        "pw-alice\n",
    );
    assert!(started.contains("Share 3 goes to key"), "{started}");
    let id = field(&started, "Ceremony:")[0].to_owned();
    for who in ["alice", "bob", "carol"] {
        assert!(approve(&server.addr, &id, who, None).ok);
    }
    let last = approve(&server.addr, &id, "dave", None);
    assert!(last.ok, "{}", last.stderr);
    // The last approver's terminal: ciphertexts only.
    assert!(!last.stdout.contains("Unseal share"), "{}", last.stdout);
    assert!(!last.stdout.contains("Root token:"), "{}", last.stdout);
    let share = |n: usize| field(&last.stdout, &format!("Encrypted share {n} "))[0].to_owned();
    let root_ct = field(&last.stdout, "Encrypted root token")[0].to_owned();

    server.kill();
    server = Server::start(&config, &[]);
    // Carol's key does not open Alice's share.
    let wrong = kms(
        &["unseal", "--private-key", &path("k3.pem")],
        &server.addr,
        &format!("{}\n", share(1)),
        &[],
    );
    assert!(!wrong.ok, "{}", wrong.stdout);
    assert!(
        wrong
            .stderr
            .contains("does not decrypt with your private key"),
        "{}",
        wrong.stderr
    );
    let one = ok(
        &["unseal", "--private-key", &path("k1.pem")],
        &server.addr,
        &format!("{}\n", share(1)),
    );
    assert!(one.contains("1 of 2"), "{one}");
    let two = ok(
        &["unseal", "--private-key", &path("k2.pem")],
        &server.addr,
        &format!("{}\n", share(2)),
    );
    assert!(two.contains("Unsealed."), "{two}");
    let root = decrypt(&path("root.pem"), &root_ct);
    assert_eq!(server.http().get("/v1/hsm/status", Some(&root)).0, 200);

    // Rekey to two new custodians' keys, each submitting their own encrypted share.
    let out = ok(
        &[
            "hsm",
            "rekey",
            "init",
            "--custodian",
            "bob",
            "--shares",
            "2",
            "--threshold",
            "2",
            "--share-key",
            &path("n1.pub"),
            &path("n2.pub"),
        ],
        &server.addr,
        "pw-bob\n",
    );
    let nonce = field(&out, "Nonce:")[0].to_owned();
    // A custodian's `kms hsm rekey|generate-root update` with their encrypted share.
    let update = |op: &str, nonce: &str, who: &str, key: &str, ct: &str| {
        ok(
            &[
                "hsm",
                op,
                "update",
                "--nonce",
                nonce,
                "--custodian",
                who,
                "--private-key",
                &path(key),
            ],
            &server.addr,
            &format!("{}\n{ct}\n", password(who)),
        )
    };
    update("rekey", &nonce, "alice", "k1.pem", &share(1));
    let done = update("rekey", &nonce, "carol", "k3.pem", &share(3));
    assert!(done.contains("old shares no longer work"), "{done}");
    let new = |n: usize| field(&done, &format!("Encrypted share {n} "))[0].to_owned();

    // A new root token from the new shares, encrypted to the root key.
    let out = ok(
        &[
            "hsm",
            "generate-root",
            "init",
            "--custodian",
            "carol",
            "--public-key",
            &path("root.pub"),
        ],
        &server.addr,
        "pw-carol\n",
    );
    let nonce = field(&out, "Nonce:")[0].to_owned();
    update("generate-root", &nonce, "dave", "n1.pem", &new(1));
    let done = update("generate-root", &nonce, "erin", "n2.pem", &new(2));
    let ct = field(&done, "Encrypted root token")[0].to_owned();
    let fresh = decrypt(&path("root.pem"), &ct);
    assert_eq!(server.http().get("/v1/hsm/status", Some(&fresh)).0, 200);
    assert_eq!(server.http().get("/v1/hsm/status", Some(&root)).0, 401);
}
