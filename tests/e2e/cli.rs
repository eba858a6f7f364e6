//! The `kms` binary as an operator uses it: a production-mode server initialised with 3-of-5
//! shares, unsealed by custodians through `kms unseal`, killed with SIGKILL and started again.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use serde_json::json;

use crate::support::*;

const KMS: &str = env!("CARGO_BIN_EXE_kms");

struct Server {
    child: Child,
    addr: String,
}

impl Server {
    /// Starts `kms serve` (not dev mode) and waits for its listening line.
    fn start(data_dir: &Path) -> Self {
        let mut child = Command::new(KMS)
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .env("KMS_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let addr = loop {
            let line = lines.next().expect("server printed its address").unwrap();
            if let Some(a) = line.strip_prefix("kms: listening on ") {
                break a.to_owned();
            }
        };
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Self { child, addr }
    }

    fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn kms(args: &[&str], addr: &str, stdin: &str) -> (bool, String, String) {
    let mut child = Command::new(KMS)
        .args(args)
        .args(["--addr", addr])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn field<'a>(text: &'a str, label: &str) -> Vec<&'a str> {
    text.lines()
        .filter_map(|l| l.strip_prefix(label))
        .map(|rest| rest.rsplit(' ').next().unwrap())
        .collect()
}

#[test]
fn init_unseal_kill_and_unseal_again_through_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let http = Http::at(&server.addr);
    let (_, status) = http.get("/v1/sys/seal-status", None);
    assert_eq!(status["initialized"], false);

    let (ok, out, err) = kms(
        &["init", "--shares", "5", "--threshold", "3"],
        &server.addr,
        "",
    );
    assert!(ok, "{err}");
    let shares = field(&out, "Unseal share ");
    let root = field(&out, "Root token:")[0].to_owned();
    assert_eq!(shares.len(), 5);
    // Initialisation works once.
    let (ok, _, err) = kms(&["init"], &server.addr, "");
    assert!(!ok && err.contains("already_initialized"), "{err}");

    // Sealed: nothing that needs the master key works yet.
    let create = || http.post("/v1/admin/keys", Some(&root), &json!({ "name": "cards" }));
    assert_error(&create(), 503, "sealed");

    // Two custodians are not enough; a mistyped share is refused without losing progress.
    let (ok, out, err) = kms(
        &["unseal"],
        &server.addr,
        &format!("{}\n{}\n", shares[0], shares[3]),
    );
    assert!(ok, "{err}");
    assert!(out.contains("2 of 3"), "{out}");
    let typo = format!("{}x", &shares[1][..shares[1].len() - 1]);
    let (ok, _, err) = kms(&["unseal"], &server.addr, &format!("{typo}\n"));
    assert!(!ok && err.contains("invalid_share"), "{err}");
    let (ok, out, _) = kms(&["unseal"], &server.addr, &format!("{}\n", shares[4]));
    assert!(ok && out.contains("Unsealed"), "{out}");

    let (s, b) = create();
    assert_eq!(s, 201, "{b}");
    let ct = http.seal(&root, "cards", b"5500000000000004", None);

    // Killed without warning: what was acknowledged is still there after a restart.
    server.kill();
    let server = Server::start(dir.path());
    let http = Http::at(&server.addr);
    let (ok, out, _) = kms(&["status"], &server.addr, "");
    assert!(ok && out.contains("Sealed:        true"), "{out}");
    assert_error(&http.decrypt(&root, "cards", &ct, None), 503, "sealed");
    // Shares of another set of three custodians unseal it as well.
    let (ok, out, err) = kms(
        &["unseal"],
        &server.addr,
        &format!("{}\n{}\n{}\n", shares[1], shares[2], shares[3]),
    );
    assert!(ok && out.contains("Unsealed"), "{out} {err}");
    assert_eq!(http.open(&root, "cards", &ct, None), b"5500000000000004");
    server.kill();
}
