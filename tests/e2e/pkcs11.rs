//! The KMS on SoftHSM2 over PKCS#11, as a bank would run it on a hardware HSM: a master key formed
//! from custodians' components in two tokens, the standby serving when the primary fails, a
//! master-key rotation killed mid-job, and start-up errors that say what is wrong.

use std::path::Path;
use std::process::Command;

use kms_engine::secret::KeyMaterial;
use kms_testkit::softhsm::{MODULE, PIN, SoftHsm};
use serde_json::json;

use crate::process::*;
use crate::rotation;
use crate::support::*;

struct Rig {
    _dir: tempfile::TempDir,
    softhsm: SoftHsm,
    config: std::path::PathBuf,
    env: Vec<(&'static str, String)>,
    /// How kms-b appears in the tokens list, to write a configuration without it.
    standby_entry: String,
}

impl Rig {
    /// The same configuration with the primary token only.
    fn primary_only(&self) -> std::path::PathBuf {
        let text = std::fs::read_to_string(&self.config).unwrap();
        let path = self.config.with_file_name("primary-only.toml");
        std::fs::write(
            &path,
            text.replace(&format!(", {}", self.standby_entry), ""),
        )
        .unwrap();
        path
    }
}

/// Two tokens; kms-a's PIN from an environment variable, kms-b's from a file.
fn rig(extra_hsm: &str) -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let softhsm = SoftHsm::create(&dir.path().join("softhsm"), &["kms-a", "kms-b"]);
    let pin_file = dir.path().join("pin-b");
    std::fs::write(&pin_file, format!("{PIN}\n")).unwrap();
    let standby_entry = format!(
        "{{ label = \"kms-b\", pin_file = \"{}\" }}",
        pin_file.display()
    );
    let hsm = format!(
        "[hsm]\nbackend = \"pkcs11\"\n{extra_hsm}\n[hsm.pkcs11]\nmodule = \"{MODULE}\"\n\
         tokens = [ {{ label = \"kms-a\", pin_env = \"KMS_TEST_PIN_A\" }}, {standby_entry} ]\n"
    );
    let config = write_config(dir.path(), &hsm);
    let env = vec![
        ("SOFTHSM2_CONF", softhsm.conf().display().to_string()),
        ("KMS_TEST_PIN_A", PIN.to_owned()),
    ];
    Rig {
        _dir: dir,
        softhsm,
        config,
        env,
        standby_entry,
    }
}

/// Master-key labels on a token, as opensc's pkcs11-tool (not the KMS) sees them.
fn labels_on(conf: &Path, token: &str) -> Vec<String> {
    let out = Command::new("pkcs11-tool")
        .args([
            "--module",
            MODULE,
            "--token-label",
            token,
            "--login",
            "--pin",
            PIN,
        ])
        .args(["--list-objects", "--type", "secrkey"])
        .env("SOFTHSM2_CONF", conf)
        .output()
        .expect("pkcs11-tool runs (apt-get install opensc)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.trim().strip_prefix("label:"))
        .map(|l| l.trim().to_owned())
        .filter(|l| l.starts_with("mk-"))
        .collect()
}

fn component() -> (String, KeyMaterial) {
    let m = KeyMaterial::random(32);
    (m.expose().iter().map(|b| format!("{b:02X}")).collect(), m)
}

#[test]
fn components_load_both_tokens_and_the_standby_serves_when_the_primary_fails() {
    let rig = rig("");
    let server = Server::start(&rig.config, &rig.env);
    let addr = server.addr.clone();

    // Three custodians each enter a component and see its KCV; an operator completes the quorum.
    let run = kms(
        &[
            "init",
            "--source",
            "components",
            "--components",
            "3",
            "--custodian",
            "alice",
        ],
        &addr,
        "pw-alice\n",
        &[],
    );
    assert!(run.ok, "{}", run.stderr);
    let id = field(&run.stdout, "Ceremony:")[0].to_owned();
    let parts: Vec<(String, KeyMaterial)> = (0..3).map(|_| component()).collect();
    let mut xor = [0u8; 32];
    for ((hex, m), who) in parts.iter().zip(["alice", "bob", "carol"]) {
        let r = approve(&addr, &id, who, Some(hex));
        assert!(r.ok, "{}", r.stderr);
        let expected = kms_hsm::components::kcv(m).unwrap();
        assert_eq!(
            field(&r.stdout, "Your component's KCV:"),
            vec![expected.as_str()]
        );
        for (x, b) in xor.iter_mut().zip(m.expose()) {
            *x ^= b;
        }
    }
    // An operator without a component completes it; a fourth component is not asked for.
    let r = approve(&addr, &id, "dave", Some(&component().0));
    assert!(
        !r.ok && r.stderr.contains("component_not_expected"),
        "{}",
        r.stderr
    );
    let done = approve(&addr, &id, "dave", None);
    assert!(
        done.ok && done.stdout.contains("Done."),
        "{}{}",
        done.stdout,
        done.stderr
    );
    let key_kcv = kms_hsm::components::kcv(&KeyMaterial::from_slice(&xor)).unwrap();
    assert_eq!(
        field(&done.stdout, "Master key KCV:"),
        vec![key_kcv.as_str()]
    );
    assert!(
        done.stdout.contains("In tokens: kms-a, kms-b"),
        "{}",
        done.stdout
    );
    let root = field(&done.stdout, "Root token:")[0].to_owned();
    let mk = field(&done.stdout, "Master key:")[0].to_owned();
    assert!(
        done.stdout.lines().all(|l| !l.starts_with("Unseal share")),
        "no shares on PKCS#11"
    );

    // `kms hsm status`, and opensc's own view of both tokens.
    let status = kms(&["hsm", "status"], &addr, "", &[("KMS_TOKEN", &root)]);
    assert!(status.ok, "{}", status.stderr);
    assert!(
        status.stdout.contains("Token kms-a: healthy"),
        "{}",
        status.stdout
    );
    assert!(
        status.stdout.contains("Token kms-b: healthy"),
        "{}",
        status.stdout
    );
    assert_eq!(
        status
            .stdout
            .matches(&format!("holds {mk} KCV {key_kcv}"))
            .count(),
        2,
        "{}",
        status.stdout
    );
    assert!(status.stdout.contains(&format!(
        "Master key {mk} KCV {key_kcv} (components, active)"
    )));
    for token in ["kms-a", "kms-b"] {
        assert_eq!(labels_on(&rig.softhsm.conf(), token), vec![mk.clone()]);
    }

    let http = server.http();
    let (s, b) = http.post("/v1/admin/keys", Some(&root), &json!({ "name": "cards" }));
    assert_eq!(s, 201, "{b}");
    let ct = http.seal(&root, "cards", b"4111111111111111", Some(b"order-7"));

    // The primary fails: master-key work moves to the standby, crypto goes on.
    rig.softhsm.pull("kms-a");
    assert_eq!(
        http.open(&root, "cards", &ct, Some(b"order-7")),
        b"4111111111111111"
    );
    let (s, b) = http.post(
        "/v1/admin/keys",
        Some(&root),
        &json!({ "name": "after-failover" }),
    );
    assert_eq!(
        s, 201,
        "a new key is generated and wrapped on the standby: {b}"
    );
    let ct2 = http.seal(&root, "after-failover", b"second", None);
    assert_eq!(http.open(&root, "after-failover", &ct2, None), b"second");
    let status = kms(&["hsm", "status"], &addr, "", &[("KMS_TOKEN", &root)]);
    assert!(
        status.stdout.contains("Token kms-a: UNAVAILABLE"),
        "{}",
        status.stdout
    );
    assert!(
        status.stdout.contains("Token kms-b: healthy"),
        "{}",
        status.stdout
    );

    // A key used once, so one crypto worker has unwrapped it; the server runs the default
    // number of workers (one per core, at least two here).
    let (s, b) = http.post(
        "/v1/admin/keys",
        Some(&root),
        &json!({ "name": "used-once" }),
    );
    assert_eq!(s, 201, "{b}");
    let once = http.seal(&root, "used-once", b"first", None);

    // Both gone: master-key operations fail cleanly; keys already in the workers keep serving.
    rig.softhsm.pull("kms-b");
    let (s, b, retry) = http.post_raw(
        "/v1/admin/keys",
        Some(&root),
        "application/json",
        br#"{"name":"no-hsm"}"#.to_vec(),
    );
    assert_error(&(s, b), 503, "hsm_unavailable");
    assert_eq!(retry.as_deref(), Some("1"));
    assert_eq!(
        http.open(&root, "cards", &ct, Some(b"order-7")),
        b"4111111111111111"
    );
    let again = http.seal(&root, "after-failover", b"still", None);
    assert_eq!(http.open(&root, "after-failover", &again, None), b"still");
    // Every request, whichever worker takes it: a key any worker holds, all workers hold
    // (before, requests alternated 200 and 503 when each worker cached on its own).
    let mut answers = Vec::new();
    for i in 0..20 {
        let plaintext = format!("during the outage {i}");
        let (enc, b) = http.post(
            "/v1/keys/used-once/encrypt",
            Some(&root),
            &json!({ "plaintext": b64(plaintext.as_bytes()) }),
        );
        if enc == 200 {
            let ct = b["ciphertext"].as_str().unwrap().to_owned();
            let (dec, b) = http.decrypt(&root, "used-once", &ct, None);
            assert!(dec != 200 || unb64(b["plaintext"].as_str().unwrap()) == plaintext.as_bytes());
        }
        let (dec, _) = http.decrypt(&root, "used-once", &once, None);
        answers.push((enc, dec));
    }
    assert!(
        answers.iter().all(|a| *a == (200, 200)),
        "(encrypt, decrypt) during the HSM outage: {answers:?}"
    );

    // The tokens come back; SoftHSM sees them again in a new process.
    rig.softhsm.restore("kms-a");
    rig.softhsm.restore("kms-b");
    server.kill();
    let server = Server::start(&rig.config, &rig.env);
    let http = server.http();
    assert_eq!(
        http.open(&root, "cards", &ct, Some(b"order-7")),
        b"4111111111111111"
    );
    let (s, b) = http.post("/v1/admin/keys", Some(&root), &json!({ "name": "back" }));
    assert_eq!(s, 201, "{b}");
}

#[test]
fn a_pkcs11_master_key_rotation_survives_a_kill_mid_job() {
    let rig = rig("rewrap_batch = 1\nrewrap_pause_ms = 150");
    let conf = rig.softhsm.conf();
    rotation::survives_a_kill_mid_job(
        &rig.config,
        &rig.env,
        &["--operation", "create"],
        &|_: &Server, _: &[String]| {},
        &|old: &str| {
            // A generated key lives in the primary only; it is gone from it now.
            assert!(!labels_on(&conf, "kms-a").contains(&old.to_owned()));
            assert_eq!(labels_on(&conf, "kms-a").len(), 1);
        },
    );
}

#[test]
fn start_up_problems_stop_the_server_with_a_message_that_says_which() {
    let rig = rig("");
    let fail = |config: &Path, env: &[(&str, String)]| match Server::try_start(config, env) {
        Ok(_) => panic!("the server started"),
        Err(stderr) => stderr,
    };
    // A wrong PIN.
    let mut env = rig.env.clone();
    env[1].1 = "wrong-pin".into();
    let e = fail(&rig.config, &env);
    assert!(e.contains("kms-a") && e.contains("PIN"), "{e}");
    // The PIN's variable not set at all.
    let e = fail(&rig.config, &rig.env[..1]);
    assert!(e.contains("KMS_TEST_PIN_A") && e.contains("not set"), "{e}");
    // A token that does not exist, and a module that does not exist.
    let text = std::fs::read_to_string(&rig.config).unwrap();
    let missing_token = rig.config.with_file_name("missing-token.toml");
    std::fs::write(&missing_token, text.replace("\"kms-b\"", "\"kms-z\"")).unwrap();
    let e = fail(&missing_token, &rig.env);
    assert!(e.contains("no initialised token labelled `kms-z`"), "{e}");
    let missing_module = rig.config.with_file_name("missing-module.toml");
    std::fs::write(
        &missing_module,
        text.replace(MODULE, "/opt/hsm/libnothing.so"),
    )
    .unwrap();
    let e = fail(&missing_module, &rig.env);
    assert!(
        e.contains("/opt/hsm/libnothing.so") && e.contains("does not exist"),
        "{e}"
    );
    // And with everything right, it starts.
    let server = Server::start(&rig.config, &rig.env);
    let (s, _) = server.http().get("/healthz", None);
    assert_eq!(s, 200);
}

/// Runs a components ceremony (`start` flags) with these three components from alice, bob and
/// carol, and dave's approval; returns dave's run.
fn components_ceremony(addr: &str, start: &[&str], parts: &[String]) -> Run {
    let mut args = vec!["hsm", "ceremony", "start"];
    args.extend_from_slice(start);
    args.extend_from_slice(&["--custodian", "alice"]);
    let run = kms(&args, addr, "pw-alice\n", &[]);
    assert!(run.ok, "{}", run.stderr);
    let id = field(&run.stdout, "Ceremony:")[0].to_owned();
    for (part, who) in parts.iter().zip(["alice", "bob", "carol"]) {
        let r = approve(addr, &id, who, Some(part));
        assert!(r.ok, "{}", r.stderr);
    }
    approve(addr, &id, "dave", None)
}

#[test]
fn the_same_components_load_the_master_key_into_a_new_standby_token() {
    let rig = rig("");
    let parts: Vec<String> = (0..3).map(|_| component().0).collect();

    // Formed while only the primary is configured.
    let server = Server::start(&rig.primary_only(), &rig.env);
    let done = components_ceremony(
        &server.addr,
        &["--operation", "create", "--source", "components"],
        &parts,
    );
    assert!(
        done.ok && done.stdout.contains("In tokens: kms-a\n"),
        "{}{}",
        done.stdout,
        done.stderr
    );
    let root = field(&done.stdout, "Root token:")[0].to_owned();
    let mk = field(&done.stdout, "Master key:")[0].to_owned();
    let kcv = field(&done.stdout, "Master key KCV:")[0].to_owned();
    let http = server.http();
    let (s, b) = http.post("/v1/admin/keys", Some(&root), &json!({ "name": "cards" }));
    assert_eq!(s, 201, "{b}");
    let ct = http.seal(&root, "cards", b"4000000000000002", None);
    server.kill();

    // The standby joins; it holds nothing yet.
    let server = Server::start(&rig.config, &rig.env);
    let addr = server.addr.clone();
    assert!(labels_on(&rig.softhsm.conf(), "kms-b").is_empty());
    // Wrong components: the KCV does not match the recorded one, nothing is loaded.
    let wrong: Vec<String> = (0..3).map(|_| component().0).collect();
    let load = ["--operation", "load", "--master-key", mk.as_str()];
    let r = components_ceremony(&addr, &load, &wrong);
    assert!(
        !r.ok && r.stderr.contains("kcv_mismatch"),
        "{}{}",
        r.stdout,
        r.stderr
    );
    assert!(labels_on(&rig.softhsm.conf(), "kms-b").is_empty());
    // The right ones.
    let r = components_ceremony(&addr, &load, &parts);
    assert!(
        r.ok && r.stdout.contains(&format!("Master key KCV: {kcv}")),
        "{}{}",
        r.stdout,
        r.stderr
    );
    assert_eq!(labels_on(&rig.softhsm.conf(), "kms-b"), vec![mk.clone()]);

    // Destroying the active master key is refused, even with a quorum.
    let mut args = vec![
        "hsm",
        "ceremony",
        "start",
        "--operation",
        "destroy",
        "--master-key",
        mk.as_str(),
    ];
    args.extend_from_slice(&["--custodian", "alice"]);
    let run = kms(&args, &addr, "pw-alice\n", &[]);
    assert!(run.ok, "{}", run.stderr);
    let id = field(&run.stdout, "Ceremony:")[0].to_owned();
    for who in ["alice", "bob", "carol"] {
        assert!(approve(&addr, &id, who, None).ok);
    }
    let r = approve(&addr, &id, "dave", None);
    assert!(!r.ok && r.stderr.contains("conflict"), "{}", r.stderr);
    assert_eq!(labels_on(&rig.softhsm.conf(), "kms-a"), vec![mk.clone()]);

    // With the primary gone, the standby unwraps what the primary wrapped: it is the same key.
    rig.softhsm.pull("kms-a");
    let http = server.http();
    assert_eq!(http.open(&root, "cards", &ct, None), b"4000000000000002");
    rig.softhsm.restore("kms-a");
}

/// A load balancer asks `/readyz` before it sends traffic. A PKCS#11 server
/// whose tokens hold no master key yet cannot wrap or unwrap anything: it must say
/// `not_initialized` (it used to say `ready`), and `ready` once the create ceremony has run.
#[test]
fn readyz_says_not_initialized_on_a_pkcs11_hsm_until_the_create_ceremony() {
    let rig = rig("");
    let server = Server::start(&rig.config, &rig.env);
    let http = server.http();
    let (s, body) = http.get("/readyz", None);
    assert_eq!(
        (s, body["status"].as_str()),
        (503, Some("not_initialized")),
        "{body}"
    );
    ceremony(&server.addr, &["--operation", "create"]);
    let (s, body) = http.get("/readyz", None);
    assert_eq!((s, body["status"].as_str()), (200, Some("ready")), "{body}");
}

/// A PKCS#11 HSM has no unseal shares: rekey and generate-root say so with a stable code,
/// rather than pretending.
#[test]
fn a_pkcs11_hsm_has_no_shares_to_rekey_or_make_a_root_token_from() {
    let rig = rig("");
    let server = Server::start(&rig.config, &rig.env);
    ceremony(&server.addr, &["--operation", "create"]);
    let (_, public) = crate::dual_control::shares::key_pair();
    for (path, body) in [
        ("/v1/hsm/rekey/init", json!({ "shares": 3, "threshold": 2 })),
        (
            "/v1/hsm/generate-root/init",
            json!({ "public_key": public }),
        ),
    ] {
        let got = crate::dual_control::shares::as_custodian(
            &server.addr,
            Some("alice"),
            path,
            Some(&body),
        );
        assert_error(&got, 400, "not_supported");
    }
}
