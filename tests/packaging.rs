//! The packaging an operator installs (docs/packaging.md): the systemd unit passes
//! `systemd-analyze verify` and keeps its hardening (exposure score), and the container image's
//! Dockerfile keeps what the issue asked for (two stages, a non-root user, a data volume, a health
//! check through `kms ready`). Building and running the image needs a container runtime, which
//! this test uses when one answers and otherwise says it could not (scripts/docker-smoke.sh is
//! the operator's check).
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap()
}

fn has(cmd: &str, args: &[&str]) -> bool {
    Command::new(cmd)
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The unit with ExecStart pointing at the binary this build made (verify checks that the
/// command exists).
fn unit_for_this_build(dir: &Path) -> PathBuf {
    let unit = read("deploy/kms.service").replace("/usr/local/bin/kms", env!("CARGO_BIN_EXE_kms"));
    let path = dir.join("kms.service");
    std::fs::write(&path, unit).unwrap();
    path
}

#[test]
fn the_systemd_unit_runs_the_server_unprivileged_with_a_private_data_directory() {
    let unit = read("deploy/kms.service");
    for line in [
        "ExecStart=/usr/local/bin/kms serve --config /etc/kms/kms.toml",
        "User=kms",
        "StateDirectory=kms",
        "StateDirectoryMode=0700",
        "UMask=0077",
        "NoNewPrivileges=yes",
        "CapabilityBoundingSet=",
        "ProtectSystem=strict",
        "MemoryDenyWriteExecute=yes",
        "LimitCORE=0",
    ] {
        assert!(
            unit.lines().any(|l| l.trim() == line),
            "deploy/kms.service lacks `{line}`"
        );
    }
}

#[test]
fn the_systemd_unit_verifies_and_its_exposure_stays_low() {
    if !has("systemd-analyze", &["--version"]) {
        eprintln!("systemd-analyze is not installed: the unit was not verified");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let unit = unit_for_this_build(dir.path());
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&unit)
        .current_dir(dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stderr.trim().is_empty(),
        "systemd-analyze verify: {stderr}"
    );
    let out = Command::new("systemd-analyze")
        .args(["security", "--offline=yes", "--no-pager"])
        .arg(&unit)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let score: f64 = text
        .lines()
        .find_map(|l| l.split("Overall exposure level for kms.service:").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no exposure score in: {text}"));
    // 0 is fully locked down, 10 unprotected; systemd calls below 2 "OK". The unit measured 1.4.
    assert!(score < 2.0, "exposure {score}: {text}");
}

#[test]
fn the_image_is_built_in_two_stages_and_runs_unprivileged_with_a_health_check() {
    let file = read("Dockerfile");
    let froms = file.lines().filter(|l| l.starts_with("FROM ")).count();
    assert_eq!(froms, 2, "a build stage and a runtime stage");
    let last_user = file.lines().rfind(|l| l.starts_with("USER ")).unwrap();
    assert!(!last_user.contains("root"), "{last_user}");
    assert!(file.contains(r#"VOLUME ["/var/lib/kms"]"#));
    assert!(file.contains(r#"CMD ["kms", "ready", "--addr", "http://127.0.0.1:8200"]"#));
    // The health check's command exists in the binary the image ships.
    let help = Command::new(env!("CARGO_BIN_EXE_kms"))
        .args(["ready", "--help"])
        .output()
        .unwrap();
    assert!(
        help.status.success() && String::from_utf8_lossy(&help.stdout).contains("/readyz"),
        "kms ready --help"
    );
    // Nothing of the build context that should not be in it: the target directory and the data
    // directory of a dev server.
    let ignore = read(".dockerignore");
    for entry in ["target", "kms-data", ".git"] {
        assert!(
            ignore.lines().any(|l| l.trim() == entry),
            ".dockerignore: {entry}"
        );
    }
}

#[test]
fn the_image_builds_and_serves_where_a_container_runtime_answers() {
    if !has("docker", &["info"]) {
        eprintln!(
            "no container runtime answers here (docker info failed): the image was not built; \
             scripts/docker-smoke.sh builds and checks it where one does"
        );
        return;
    }
    let out = Command::new("bash")
        .arg(root().join("scripts/docker-smoke.sh"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "docker-smoke: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `scripts/pki.sh` (docs/deployment.md) makes the internal CA and node certificates that the
/// internal API takes: server and client authentication, the store's address in its names, keys
/// private to their owner, nothing overwritten. (The disaster-recovery drill runs a store and
/// service nodes over mutual TLS with certificates it made.)
#[test]
fn the_pki_script_makes_an_internal_ca_and_node_certificates() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let pki = dir.path().join("pki");
    let script = root().join("scripts/pki.sh");
    let run = |args: &[&str]| {
        Command::new(&script)
            .arg(args[0])
            .arg(&pki)
            .args(&args[1..])
            .output()
            .unwrap()
    };
    assert!(run(&["init", "--days", "2"]).status.success());
    let store = run(&[
        "issue",
        "store",
        "--ip",
        "10.0.0.5",
        "--dns",
        "store.internal",
    ]);
    assert!(
        store.status.success(),
        "{}",
        String::from_utf8_lossy(&store.stderr)
    );
    let printed = String::from_utf8(store.stdout).unwrap();
    let fingerprint = printed.trim().strip_prefix("store ").unwrap().to_owned();
    assert_eq!(fingerprint.len(), 32 * 3 - 1, "{printed}");

    let openssl = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(&pki)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    for purpose in ["sslserver", "sslclient"] {
        openssl(&[
            "verify",
            "-purpose",
            purpose,
            "-CAfile",
            "internal-ca.pem",
            "store.pem",
        ]);
    }
    let text = openssl(&["x509", "-in", "store.pem", "-noout", "-text"]);
    assert!(
        text.contains("IP Address:10.0.0.5") && text.contains("DNS:store.internal"),
        "{text}"
    );
    assert!(text.contains("CA:FALSE"), "{text}");
    let again = openssl(&[
        "x509",
        "-in",
        "store.pem",
        "-noout",
        "-fingerprint",
        "-sha256",
    ]);
    assert!(
        again.trim().ends_with(&fingerprint),
        "{again} vs {fingerprint}"
    );

    for key in ["internal-ca.key", "store.key"] {
        let mode = std::fs::metadata(pki.join(key))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{key}");
    }
    let before = std::fs::read(pki.join("store.key")).unwrap();
    let twice = run(&["issue", "store"]);
    assert!(!twice.status.success());
    assert!(String::from_utf8_lossy(&twice.stderr).contains("exists"));
    assert_eq!(
        std::fs::read(pki.join("store.key")).unwrap(),
        before,
        "overwritten"
    );
    let bad = run(&["issue", "n1", "--days", "soon"]);
    assert!(!bad.status.success() && String::from_utf8_lossy(&bad.stderr).contains("--days"));
}
