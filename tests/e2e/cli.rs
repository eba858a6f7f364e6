//! The software HSM as an operator runs it: a create ceremony approved by a quorum of custodians,
//! 3-of-5 unseal shares, SIGKILL and restart, unseal by other custodians, and a master-key
//! rotation killed in the middle of its rewrap job.

use serde_json::{Value, json};

use crate::process::*;
use crate::rotation;
use crate::support::*;

#[test]
fn a_quorum_initialises_the_kms_and_custodians_unseal_it_after_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "[hsm]\nbackend = \"software\"\n");
    let server = Server::start(&config, &[]);
    let http = server.http();
    let (_, status) = http.get("/v1/sys/seal-status", None);
    assert_eq!(status["initialized"], false);

    // There is no way around the ceremony: the old unauthenticated init is gone.
    let (s, _) = http.post(
        "/v1/sys/init",
        None,
        &json!({ "shares": 1, "threshold": 1 }),
    );
    assert_eq!(s, 404);

    let run = kms(
        &[
            "init",
            "--shares",
            "5",
            "--threshold",
            "3",
            "--custodian",
            "alice",
        ],
        &server.addr,
        "pw-alice\n",
        &[],
    );
    assert!(run.ok, "{}", run.stderr);
    let id = field(&run.stdout, "Ceremony:")[0].to_owned();

    // Wrong password, unknown custodian: refused.
    let r = kms(
        &["hsm", "ceremony", "approve", &id, "--custodian", "bob"],
        &server.addr,
        "nope\n",
        &[],
    );
    assert!(
        !r.ok && r.stderr.contains("invalid_credentials"),
        "{}",
        r.stderr
    );
    let r = kms(
        &["hsm", "ceremony", "approve", &id, "--custodian", "mallory"],
        &server.addr,
        "pw-alice\n",
        &[],
    );
    assert!(
        !r.ok && r.stderr.contains("invalid_credentials"),
        "{}",
        r.stderr
    );
    // The same custodian twice counts once.
    assert!(approve(&server.addr, &id, "alice", None).ok);
    let r = approve(&server.addr, &id, "alice", None);
    assert!(
        !r.ok && r.stderr.contains("already_approved"),
        "{}",
        r.stderr
    );
    // Three security admins are not the quorum without an operator; nothing has happened yet.
    for who in ["bob", "carol"] {
        let r = approve(&server.addr, &id, who, None);
        assert!(r.ok && !r.stdout.contains("Done."), "{}", r.stdout);
    }
    let (_, status) = http.get("/v1/sys/seal-status", None);
    assert_eq!(status["initialized"], false);
    // Any custodian can look at the ceremony: who approved, what it still needs.
    let show = kms(
        &["hsm", "ceremony", "show", &id, "--custodian", "erin"],
        &server.addr,
        "pw-erin\n",
        &[],
    );
    assert!(show.ok, "{}", show.stderr);
    let view: Value = serde_json::from_str(&show.stdout).unwrap();
    assert_eq!(view["state"], "open");
    assert_eq!(view["operation"], "create");
    let approvers: Vec<&str> = view["approvals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["custodian"].as_str().unwrap())
        .collect();
    assert_eq!(approvers, vec!["alice", "bob", "carol"]);
    assert_eq!(view["required"]["security_admin"], 3);

    let done = approve(&server.addr, &id, "dave", None);
    assert!(
        done.ok && done.stdout.contains("Done."),
        "{}{}",
        done.stdout,
        done.stderr
    );
    let shares = field(&done.stdout, "Unseal share ");
    assert_eq!(shares.len(), 5);
    let root = field(&done.stdout, "Root token:")[0].to_owned();
    // A ceremony runs once.
    let r = approve(&server.addr, &id, "erin", None);
    assert!(
        !r.ok && r.stderr.contains("ceremony_closed"),
        "{}",
        r.stderr
    );
    let r = kms(
        &[
            "init",
            "--shares",
            "5",
            "--threshold",
            "3",
            "--custodian",
            "bob",
        ],
        &server.addr,
        "pw-bob\n",
        &[],
    );
    assert!(r.ok, "a second create ceremony may start: {}", r.stderr);
    let second = field(&r.stdout, "Ceremony:")[0].to_owned();
    for who in ["alice", "bob", "carol"] {
        assert!(approve(&server.addr, &second, who, None).ok);
    }
    let r = approve(&server.addr, &second, "erin", None);
    assert!(
        !r.ok && r.stderr.contains("already_initialized"),
        "{}",
        r.stderr
    );

    // The audit log names the ceremony and every approver, never a password or share.
    let status = kms(&["status"], &server.addr, "", &[]);
    assert!(
        status.stdout.contains("Initialised:   true"),
        "{}",
        status.stdout
    );

    let (s, b) = http.post("/v1/admin/keys", Some(&root), &json!({ "name": "cards" }));
    assert_eq!(s, 201, "{b}");
    let ct = http.seal(&root, "cards", b"5500000000000004", None);

    // Killed without warning; after the restart the KMS is sealed until three custodians unseal.
    server.kill();
    let server = Server::start(&config, &[]);
    let http = server.http();
    let (_, status) = http.get("/v1/sys/seal-status", None);
    assert_eq!(status["sealed"], true);
    assert_error(&http.decrypt(&root, "cards", &ct, None), 503, "sealed");
    let (s, ready) = http.get("/readyz", None);
    assert_eq!(
        (s, ready["status"].as_str()),
        (503, Some("sealed")),
        "{ready}"
    );
    // The health check a container or a unit runs says the same, and fails.
    let r = kms(&["ready"], &server.addr, "", &[]);
    assert!(
        !r.ok && r.stderr.contains("not ready: sealed"),
        "{}",
        r.stderr
    );
    let typo = format!("{}x", &shares[1][..shares[1].len() - 1]);
    let r = kms(&["unseal"], &server.addr, &format!("{typo}\n"), &[]);
    assert!(!r.ok && r.stderr.contains("invalid_share"), "{}", r.stderr);
    let r = kms(
        &["unseal"],
        &server.addr,
        &format!("{}\n{}\n", shares[1], shares[4]),
        &[],
    );
    assert!(r.ok && r.stdout.contains("2 of 3"), "{}", r.stdout);
    let r = kms(&["unseal"], &server.addr, &format!("{}\n", shares[2]), &[]);
    assert!(r.ok && r.stdout.contains("Unsealed"), "{}", r.stdout);
    assert_eq!(http.open(&root, "cards", &ct, None), b"5500000000000004");
    let (s, ready) = http.get("/readyz", None);
    assert_eq!(
        (s, ready["status"].as_str()),
        (200, Some("ready")),
        "{ready}"
    );
    let r = kms(&["ready"], &server.addr, "", &[]);
    assert!(
        r.ok && r.stdout.trim() == "ready",
        "{} {}",
        r.stdout,
        r.stderr
    );
}

#[test]
fn a_software_master_key_rotation_survives_a_kill_mid_job() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        "[hsm]\nbackend = \"software\"\nrewrap_batch = 1\nrewrap_pause_ms = 150\n",
    );
    rotation::survives_a_kill_mid_job(
        &config,
        &[],
        &["--operation", "create", "--shares", "3", "--threshold", "2"],
        &|server: &Server, shares: &[String]| {
            let r = kms(
                &["unseal"],
                &server.addr,
                &format!("{}\n{}\n", shares[0], shares[2]),
                &[],
            );
            assert!(
                r.ok && r.stdout.contains("Unsealed"),
                "{}{}",
                r.stdout,
                r.stderr
            );
        },
        &|_old: &str| {},
    );
}

/// The version lifecycle through `kms key`, as an administrator types it.
#[test]
fn the_key_lifecycle_through_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_dev(dir.path(), "cli-root");
    let env = [("KMS_TOKEN", "cli-root")];
    let key = |args: &[&str]| {
        let mut all = vec!["key"];
        all.extend_from_slice(args);
        let r = kms(&all, &server.addr, "", &env);
        assert!(r.ok, "kms {all:?}: {}", r.stderr);
        r.stdout
    };
    let out = key(&[
        "create",
        "cards",
        "--algorithm",
        "sm4-gcm",
        "--rotation-period",
        "90d",
    ]);
    assert!(out.contains("Key:                    cards"), "{out}");
    assert!(out.contains("Algorithm:              sm4-gcm"), "{out}");
    assert!(out.contains("every 90d (notice 7d)"), "{out}");
    let out = key(&[
        "create",
        "logins",
        "--algorithm",
        "rsa-2048",
        "--purpose",
        "password",
        "--protection",
        "hash",
    ]);
    assert!(
        out.contains("Purpose:                password (protection hash)"),
        "{out}"
    );
    key(&["rotate", "cards", "--reason", "quarterly"]);
    key(&["rotate", "cards", "--reason", "again"]);
    let out = key(&["rollback", "cards", "--reason", "bad batch"]);
    assert!(out.contains("Active version:         2"), "{out}");
    key(&["disable", "cards", "1", "--reason", "unused"]);
    let out = key(&[
        "schedule-destruction",
        "cards",
        "1",
        "--reason",
        "retire",
        "--delay",
        "3d",
    ]);
    assert!(out.contains("scheduled_for_destruction"), "{out}");
    key(&["cancel-destruction", "cards", "1", "--reason", "keep"]);
    key(&[
        "config",
        "cards",
        "--min-decryption-version",
        "2",
        "--rotation-period",
        "none",
        "--reason",
        "v1 out",
    ]);
    let json: Value = serde_json::from_str(&key(&["show", "cards", "--output", "json"])).unwrap();
    assert_eq!(json["active_version"], 2);
    assert_eq!(json["min_decryption_version"], 2);
    assert!(json["rotation_period"].is_null());
    let states: Vec<&str> = json["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, vec!["disabled", "active", "decrypt_only"]);
    let reasons: Vec<&str> = json["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|h| h["reason"].as_str())
        .collect();
    for r in ["quarterly", "bad batch", "unused", "keep"] {
        assert!(
            reasons.iter().any(|x| x.starts_with(r)),
            "{r} not in {reasons:?}"
        );
    }
    let list = key(&["list"]);
    assert!(list.contains("cards") && list.contains("sm4-gcm"), "{list}");
    let events = key(&["events"]);
    assert!(
        events.contains("key_rolled_back") && events.contains("version_destruction_scheduled"),
        "{events}"
    );
    // A mistake is reported with the server's error code.
    let r = kms(
        &["key", "disable", "cards", "2", "--reason", "x"],
        &server.addr,
        "",
        &env,
    );
    assert!(!r.ok && r.stderr.contains("409 conflict"), "{}", r.stderr);
}
