//! SoftHSM2 fixtures: a configuration file and token directory per test, tokens initialised with
//! `softhsm2-util`, and a way to make a token disappear as a failed device would.
//!
//! SoftHSM reads SOFTHSM2_CONF once, at C_Initialize, and the KMS initialises PKCS#11 once per
//! process; so a test that loads the module in-process runs in a child process of its test binary
//! ([`in_own_process`]), and the end-to-end tests give each `kms` process its own SOFTHSM2_CONF.

use std::path::{Path, PathBuf};
use std::process::Command;

pub const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
pub const PIN: &str = "user-pin-1234";
pub const SO_PIN: &str = "so-pin-5678";
const CHILD: &str = "KMS_TEST_SOFTHSM_DIR";

/// A SoftHSM configuration and token directory.
pub struct SoftHsm {
    pub root: PathBuf,
}

impl SoftHsm {
    pub fn conf(&self) -> PathBuf {
        self.root.join("softhsm2.conf")
    }

    pub fn tokens_dir(&self) -> PathBuf {
        self.root.join("tokens")
    }

    /// Creates the configuration in `root` and initialises one token per label, in order.
    pub fn create(root: &Path, labels: &[&str]) -> Self {
        let hsm = SoftHsm {
            root: root.to_owned(),
        };
        std::fs::create_dir_all(hsm.tokens_dir()).unwrap();
        std::fs::write(
            hsm.conf(),
            format!(
                "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
                hsm.tokens_dir().display()
            ),
        )
        .unwrap();
        for label in labels {
            let before = hsm.token_dirs();
            let out = Command::new("softhsm2-util")
                .args(["--init-token", "--free", "--label", label])
                .args(["--so-pin", SO_PIN, "--pin", PIN])
                .env("SOFTHSM2_CONF", hsm.conf())
                .output()
                .expect("softhsm2-util runs (apt-get install softhsm2)");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let after = hsm.token_dirs();
            let new: Vec<_> = after.iter().filter(|d| !before.contains(d)).collect();
            assert_eq!(new.len(), 1);
            std::fs::write(root.join(format!("{label}.dir")), new[0].to_str().unwrap()).unwrap();
        }
        hsm
    }

    fn token_dirs(&self) -> Vec<PathBuf> {
        let mut dirs: Vec<_> = std::fs::read_dir(self.tokens_dir())
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        dirs.sort();
        dirs
    }

    /// The directory that holds the token `label`'s objects.
    pub fn token_dir(&self, label: &str) -> PathBuf {
        PathBuf::from(std::fs::read_to_string(self.root.join(format!("{label}.dir"))).unwrap())
    }

    /// Makes a token disappear, as a failed device would (and `restore` brings it back).
    pub fn pull(&self, label: &str) {
        let dir = self.token_dir(label);
        std::fs::rename(&dir, dir.with_extension("pulled")).unwrap();
    }

    pub fn restore(&self, label: &str) {
        let dir = self.token_dir(label);
        std::fs::rename(dir.with_extension("pulled"), &dir).unwrap();
    }
}

/// Runs `body` in a child process with its own SoftHSM token directory holding `labels`.
/// `name` is the test's path as libtest names it (`module::function`).
pub fn in_own_process(name: &str, labels: &[&str], body: impl FnOnce(&SoftHsm)) {
    if let Ok(root) = std::env::var(CHILD) {
        body(&SoftHsm {
            root: PathBuf::from(root),
        });
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let hsm = SoftHsm::create(dir.path(), labels);
    let out = Command::new(std::env::current_exe().unwrap())
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, dir.path())
        .env("SOFTHSM2_CONF", hsm.conf())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "child {name} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The child really ran the test (a filter typo would run nothing and pass).
    assert!(
        stdout.contains("1 passed"),
        "child {name} ran no test:\n{stdout}"
    );
}

/// The test's libtest name from `module_path!()` and the function name (the crate's own name,
/// the first segment, is not part of it).
#[macro_export]
macro_rules! test_name {
    ($f:literal) => {{
        let path = module_path!();
        let rest = path.split_once("::").map_or("", |(_, r)| r);
        if rest.is_empty() {
            $f.to_owned()
        } else {
            format!("{rest}::{}", $f)
        }
    }};
}
