//! What the dependency audit (`cargo deny`, deny.toml) cannot see, checked in the source
//! (docs/security.md, "Supply chain"):
//!
//! - RUSTSEC-2023-0071 (the Marvin attack on the `rsa` crate) is ignored in deny.toml because of
//!   a mitigation, and these tests hold the mitigation in place: the locked `rsa` is 0.10 or later
//!   (constant-time arithmetic), no code decrypts with PKCS#1 v1.5, and every RSA private-key
//!   operation passes a random generator for blinding;
//! - every exception in deny.toml says why;
//! - the `kms` binary's own dependency tree does not compile aws-lc-sys (issue 19: it cost a
//!   third of a cold build and arrived only through the load-test and test HTTP clients).
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every `.rs` file under a `src/` folder of the workspace (the code that ships; tests play
/// attackers and may encrypt with PKCS#1 v1.5 to check that it is refused).
fn sources() -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let mut dirs = vec![root()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if path.is_dir() && name != "target" && !name.starts_with('.') {
                dirs.push(path);
            } else if name.ends_with(".rs") && path.components().any(|c| c.as_os_str() == "src") {
                let text = std::fs::read_to_string(&path).unwrap();
                out.push((path, text));
            }
        }
    }
    out
}

#[test]
fn the_locked_rsa_crate_has_constant_time_arithmetic() {
    let lock = std::fs::read_to_string(root().join("Cargo.lock")).unwrap();
    let versions: Vec<&str> = lock
        .split("[[package]]")
        .filter(|p| p.lines().any(|l| l.trim() == "name = \"rsa\""))
        .filter_map(|p| {
            p.lines()
                .find_map(|l| l.trim().strip_prefix("version = \""))
        })
        .map(|v| v.trim_end_matches('"'))
        .collect();
    assert!(!versions.is_empty(), "rsa is not in Cargo.lock");
    for v in versions {
        let mut parts = v.split('.').map(|n| n.parse::<u32>().unwrap_or(0));
        let (major, minor) = (parts.next().unwrap(), parts.next().unwrap());
        assert!(
            major > 0 || minor >= 10,
            "rsa {v}: before 0.10 its modular exponentiation is not constant time (RUSTSEC-2023-0071)"
        );
    }
}

#[test]
fn no_rsa_private_key_operation_goes_unblinded_or_uses_pkcs1v15_decryption() {
    // The calls the rsa crate offers without an explicit random generator, and PKCS#1 v1.5
    // decryption (the padding the Marvin and Bleichenbacher attacks feed on).
    let forbidden = [
        "Pkcs1v15Encrypt",
        ".decrypt(Oaep",
        ".decrypt(rsa::Oaep",
        "pkcs1v15_sign_prehash::<",
        "pkcs1v15_sign::<",
        ".sign(Pkcs1v15Sign",
        "pss_sign_prehash::<",
    ];
    let this_file = Path::new(file!()).file_name().unwrap();
    let mut found = Vec::new();
    for (path, text) in sources() {
        if path.file_name() == Some(this_file) {
            continue;
        }
        // Without whitespace, so a call split over lines is still seen.
        let joined: String = text.split_whitespace().collect();
        for f in forbidden {
            if joined.contains(f) {
                found.push(format!("{}: {f}", path.display()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "unblinded RSA private-key calls: {found:#?}"
    );
}

/// `cargo build --release --bin kms` at the workspace root (the README's build) resolves
/// features over the default members: aws-lc-sys must not be among the normal or build
/// dependencies there. The load-test crate (goose asks for reqwest's default TLS, on aws-lc-rs)
/// is left out of `default-members` for this reason, and the Vault client the differential tests
/// use is a dev-dependency, which a binary build does not unify.
#[test]
fn the_kms_binary_does_not_compile_aws_lc() {
    let out = std::process::Command::new(env!("CARGO"))
        .current_dir(root())
        .args([
            "tree",
            "--locked",
            "--offline",
            "-e",
            "normal,build",
            "-i",
            "aws-lc-sys",
        ])
        .args(["--target", "x86_64-unknown-linux-gnu"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "cargo tree failed: {stderr}");
    assert!(
        stdout.trim().is_empty() && stderr.contains("nothing to print"),
        "aws-lc-sys reaches the default build:\n{stdout}"
    );
}

#[test]
fn every_exception_in_deny_toml_says_why() {
    let text = std::fs::read_to_string(root().join("deny.toml")).unwrap();
    let deny: toml::Table = text.parse().unwrap();
    let mut unexplained = Vec::new();
    let ignores = deny["advisories"]
        .get("ignore")
        .and_then(|i| i.as_array())
        .cloned()
        .unwrap_or_default();
    for entry in ignores {
        let reason = entry.get("reason").and_then(|r| r.as_str()).unwrap_or("");
        if reason.len() < 40 {
            unexplained.push(format!("advisories.ignore {entry}"));
        }
    }
    let skips = deny["bans"]
        .get("skip")
        .and_then(|i| i.as_array())
        .cloned()
        .unwrap_or_default();
    for entry in skips {
        if entry
            .get("reason")
            .and_then(|r| r.as_str())
            .unwrap_or("")
            .is_empty()
        {
            unexplained.push(format!("bans.skip {entry}"));
        }
    }
    assert!(
        unexplained.is_empty(),
        "exceptions without a reason: {unexplained:#?}"
    );
    assert!(
        text.contains("RUSTSEC-2023-0071"),
        "the Marvin advisory's decision is recorded in deny.toml"
    );
}
