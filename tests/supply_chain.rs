//! What the dependency audit (`cargo deny`, deny.toml) cannot see, checked in the source
//! (docs/security.md, "Supply chain"):
//!
//! - RUSTSEC-2023-0071 (the Marvin attack on the `rsa` crate) is ignored in deny.toml because of
//!   a mitigation, and these tests hold the mitigation in place: the locked `rsa` is 0.10 or later
//!   (constant-time arithmetic), no code decrypts with PKCS#1 v1.5, and every RSA private-key
//!   operation passes a random generator for blinding;
//! - every exception in deny.toml says why;
//! - the `kms` binary's own dependency tree does not compile aws-lc-sys (it cost a
//!   third of a cold build and arrived only through the load-test and test HTTP clients);
//! - the offline advisory snapshot (supply-chain/README.md) covers every registry crate in
//!   Cargo.lock, so adding a dependency without refreshing it fails here, and each of its records
//!   parses and agrees with its manifest.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
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

const SNAPSHOT: &str = "supply-chain/advisory-db";

fn manifest() -> toml::Table {
    let text = std::fs::read_to_string(root().join(SNAPSHOT).join("MANIFEST.toml")).unwrap();
    text.parse().unwrap()
}

/// The registry crates of a Cargo.lock (workspace members have no `source`) that the snapshot's
/// manifest does not list: crates whose advisories nobody looked up.
fn uncovered_crates(lock: &str, manifest: &toml::Table) -> BTreeSet<String> {
    let lock: toml::Table = lock.parse().unwrap();
    let listed = manifest["crates"].as_table().unwrap();
    lock["package"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| {
            p.get("source")
                .and_then(|s| s.as_str())
                .is_some_and(|s| s.starts_with("registry+"))
        })
        .map(|p| p["name"].as_str().unwrap().to_owned())
        .filter(|name| !listed.contains_key(name))
        .collect()
}

#[test]
fn every_registry_crate_in_cargo_lock_is_covered_by_the_advisory_snapshot() {
    let manifest = manifest();
    let lock = std::fs::read_to_string(root().join("Cargo.lock")).unwrap();
    let uncovered = uncovered_crates(&lock, &manifest);
    assert!(
        uncovered.is_empty(),
        "crates in Cargo.lock the offline advisory snapshot has not checked (run \
         `scripts/advisories.sh refresh` where github.com is reachable): {uncovered:?}"
    );

    // The check sees a dependency added without a refresh.
    let added = format!(
        "{lock}\n[[package]]\nname = \"crate-added-after-the-snapshot\"\nversion = \"1.0.0\"\n\
         source = \"registry+https://github.com/rust-lang/crates.io-index\"\n"
    );
    assert_eq!(
        uncovered_crates(&added, &manifest),
        BTreeSet::from(["crate-added-after-the-snapshot".to_owned()])
    );
}

/// `YYYY-MM-DD`, the date format of RustSec records (and of the manifest).
fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b.iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        })
}

#[test]
fn every_advisory_snapshot_record_parses_and_agrees_with_its_manifest() {
    let manifest = manifest();
    let snapshot = manifest["snapshot"].as_table().unwrap();
    let taken = snapshot["date"].as_str().unwrap();
    let newest_listed = snapshot["newest-advisory"].as_str().unwrap();
    assert!(is_date(taken) && is_date(newest_listed), "{snapshot:?}");

    let mut records = BTreeSet::new();
    let mut newest = String::new();
    let crates = root().join(SNAPSHOT).join("crates");
    for dir in std::fs::read_dir(&crates).unwrap() {
        let dir = dir.unwrap().path();
        let package = dir.file_name().unwrap().to_string_lossy().into_owned();
        for file in std::fs::read_dir(&dir).unwrap() {
            let file = file.unwrap().path();
            let where_ = file.display().to_string();
            let text = std::fs::read_to_string(&file).unwrap();
            // RustSec's format: a ```toml front matter, then "# Title" and a description.
            let front = text
                .strip_prefix("```toml\n")
                .and_then(|t| t.split_once("\n```\n"))
                .unwrap_or_else(|| panic!("{where_}: no ```toml front matter"));
            let record: toml::Table = front.0.parse().unwrap_or_else(|e| panic!("{where_}: {e}"));
            assert!(front.1.trim_start().starts_with("# "), "{where_}: no title");
            let advisory = record["advisory"].as_table().unwrap();
            let field = |k: &str| {
                advisory
                    .get(k)
                    .and_then(|v| v.as_str())
                    .unwrap_or_else(|| panic!("{where_}: no {k}"))
                    .to_owned()
            };
            let (id, date) = (field("id"), field("date"));
            assert_eq!(
                format!("{id}.md"),
                file.file_name().unwrap().to_string_lossy()
            );
            assert_eq!(field("package"), package, "{where_}");
            assert!(
                id.starts_with("RUSTSEC-") && !id.starts_with("RUSTSEC-0000"),
                "{where_}"
            );
            assert!(
                is_date(&date) && date.as_str() <= taken,
                "{where_}: date {date}"
            );
            assert!(record.contains_key("versions"), "{where_}: no [versions]");
            newest = newest.max(date);
            records.insert((package.clone(), id));
        }
    }

    let listed: BTreeSet<(String, String)> = manifest["crates"]
        .as_table()
        .unwrap()
        .iter()
        .flat_map(|(name, ids)| {
            ids.as_array()
                .unwrap()
                .iter()
                .map(|id| (name.clone(), id.as_str().unwrap().to_owned()))
        })
        .collect();
    let unlisted: Vec<_> = records.difference(&listed).collect();
    let missing: Vec<_> = listed.difference(&records).collect();
    assert!(
        unlisted.is_empty() && missing.is_empty(),
        "records not in the manifest's [crates]: {unlisted:?}; listed without a record: {missing:?}"
    );
    assert_eq!(
        snapshot["advisories"].as_integer(),
        Some(records.len() as i64)
    );
    assert_eq!(newest, newest_listed);
}
