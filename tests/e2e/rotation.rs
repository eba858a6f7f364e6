//! A master-key rotation whose process is killed in the middle of the rewrap job: after the
//! restart the job resumes, every working key stays readable throughout, and the old master key
//! is destroyed only once nothing is wrapped under it. Run against each HSM backend.

use std::path::Path;
use std::time::Duration;

use serde_json::json;

use crate::process::*;

const KEYS: usize = 8;

/// `create`: the create ceremony's start flags. `unseal`: what the backend needs after a restart.
/// `gone_from_hsm`: checks, outside the KMS, that the old master key is no longer in the HSM.
pub fn survives_a_kill_mid_job(
    config: &Path,
    env: &[(&str, String)],
    create: &[&str],
    unseal: &dyn Fn(&Server, &[String]),
    gone_from_hsm: &dyn Fn(&str),
) {
    let server = Server::start(config, env);
    let out = ceremony(&server.addr, create);
    let root = field(&out, "Root token:")[0].to_owned();
    let shares: Vec<String> = field(&out, "Unseal share ")
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    let old_mk = field(&out, "Master key:")[0].to_owned();
    let http = server.http();

    // Two versions per key, and a ciphertext under each.
    let mut sealed = Vec::new();
    for i in 0..KEYS {
        let name = format!("key-{i}");
        let (s, b) = http.post("/v1/admin/keys", Some(&root), &json!({ "name": name }));
        assert_eq!(s, 201, "{b}");
        let v1 = http.seal(&root, &name, format!("v1 of {i}").as_bytes(), None);
        let (s, b) = http.post(
            &format!("/v1/admin/keys/{name}/rotate"),
            Some(&root),
            &json!({ "reason": "before the master key" }),
        );
        assert_eq!(s, 200, "{b}");
        let v2 = http.seal(&root, &name, format!("v2 of {i}").as_bytes(), None);
        sealed.push((name, v1, format!("v1 of {i}"), v2, format!("v2 of {i}")));
    }

    let out = ceremony(&server.addr, &["--operation", "rotate"]);
    let new_mk = field(&out, "Master key:")[0].to_owned();
    assert_ne!(new_mk, old_mk);
    // Stop it mid-job: some versions rewrapped, not all.
    let at_kill = wait_rotations(&http, &root, Duration::from_secs(30), |b| {
        b["rotations"][0]["rewrapped"].as_u64().unwrap_or(0) >= 3
    });
    server.kill();
    let job = &at_kill["rotations"][0];
    assert_eq!(job["state"], "running", "{at_kill}");
    assert!(
        job["remaining"].as_u64().unwrap() > 0,
        "the job finished before the kill: {at_kill}"
    );

    let server = Server::start(config, env);
    unseal(&server, &shares);
    let http = server.http();
    // Readable while the job is still resuming, and after.
    for (name, v1, p1, _, _) in &sealed {
        assert_eq!(http.open(&root, name, v1, None), p1.as_bytes());
    }
    wait_rotations(&http, &root, Duration::from_secs(60), |b| {
        b["rotations"].as_array().is_some_and(Vec::is_empty)
    });
    for (name, v1, p1, v2, p2) in &sealed {
        assert_eq!(http.open(&root, name, v1, None), p1.as_bytes());
        assert_eq!(http.open(&root, name, v2, None), p2.as_bytes());
    }
    // New work goes under the new master key, and keeps working.
    let (s, b) = http.post("/v1/admin/keys", Some(&root), &json!({ "name": "after" }));
    assert_eq!(s, 201, "{b}");
    let ct = http.seal(&root, "after", b"after", None);
    assert_eq!(http.open(&root, "after", &ct, None), b"after");

    let (s, status) = http.get("/v1/hsm/status", Some(&root));
    assert_eq!(s, 200, "{status}");
    let state = |id: &str| {
        status["master_keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["id"] == id)
            .map(|k| k["state"].as_str().unwrap().to_owned())
    };
    assert_eq!(state(&old_mk).as_deref(), Some("destroyed"), "{status}");
    assert_eq!(state(&new_mk).as_deref(), Some("active"), "{status}");
    // No token keeps the old key; the new one is in at least one (a generated key lives in the
    // primary only).
    let mut holding_new = 0;
    for token in status["tokens"].as_array().unwrap() {
        let held: Vec<&str> = token["master_keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["id"].as_str().unwrap())
            .collect();
        assert!(!held.contains(&old_mk.as_str()), "{token}");
        holding_new += usize::from(held.contains(&new_mk.as_str()));
    }
    assert!(holding_new >= 1, "{status}");
    drop(server);
    gone_from_hsm(&old_mk);
}
