//! Running the `kms` binary as an operator does: a `kms.toml`, `kms serve` in its own process
//! (killed with SIGKILL when a test wants a crash), and CLI commands with their stdin.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::Http;

pub const KMS: &str = env!("CARGO_BIN_EXE_kms");

/// The custodians every test configuration lists: (name, role, password).
pub const CUSTODIANS: &[(&str, &str, &str)] = &[
    ("alice", "security_admin", "pw-alice"),
    ("bob", "security_admin", "pw-bob"),
    ("carol", "security_admin", "pw-carol"),
    ("dave", "operator", "pw-dave"),
    ("erin", "operator", "pw-erin"),
];

pub fn password(name: &str) -> &'static str {
    CUSTODIANS
        .iter()
        .find(|c| c.0 == name)
        .map(|c| c.2)
        .unwrap()
}

/// Writes `kms.toml` in `dir` with the custodians above, the default quorum (3 security_admin +
/// 1 operator), a data directory under `dir`, and `hsm` as the `[hsm]` section.
pub fn write_config(dir: &Path, hsm: &str) -> PathBuf {
    let mut text = format!(
        "data_dir = \"{}\"\nlisten = \"127.0.0.1:0\"\nhttp_workers = 2\ncrypto_workers = 2\n\n{hsm}\n",
        dir.join("data").display()
    );
    for (name, role, pw) in CUSTODIANS {
        let hash = kms_control::custodians::hash_password(pw).unwrap();
        text.push_str(&format!(
            "\n[[custodians]]\nname = \"{name}\"\nrole = \"{role}\"\npassword_hash = \"{hash}\"\n"
        ));
    }
    let path = dir.join("kms.toml");
    std::fs::write(&path, text).unwrap();
    path
}

pub struct Server {
    child: Child,
    pub addr: String,
    /// Everything the server printed (stdout and stderr) after its listening line.
    output: Arc<Mutex<Vec<u8>>>,
}

impl Server {
    /// Starts `kms serve --config`, or returns what it printed on stderr if it exits first.
    pub fn try_start(config: &Path, env: &[(&str, String)]) -> Result<Self, String> {
        let mut args: Vec<std::ffi::OsString> = vec!["serve".into(), "--config".into()];
        args.push(config.into());
        Self::spawn(&args, env)
    }

    /// `kms serve --dev` on `data_dir` with `root` as the root token.
    pub fn start_dev(data_dir: &Path, root: &str) -> Self {
        Self::start_dev_with(data_dir, root, &[], &[])
    }

    /// [`Server::start_dev`] with more flags and environment.
    pub fn start_dev_with(
        data_dir: &Path,
        root: &str,
        extra: &[&str],
        env: &[(&str, String)],
    ) -> Self {
        let mut args: Vec<std::ffi::OsString> = vec![
            "serve".into(),
            "--dev".into(),
            "--dev-root-token".into(),
            root.into(),
            "--listen".into(),
            "127.0.0.1:0".into(),
            "--data-dir".into(),
            data_dir.into(),
        ];
        args.extend(extra.iter().map(Into::into));
        Self::spawn(&args, env).unwrap_or_else(|e| panic!("kms serve --dev failed:\n{e}"))
    }

    pub fn spawn(args: &[std::ffi::OsString], env: &[(&str, String)]) -> Result<Self, String> {
        let mut cmd = Command::new(KMS);
        cmd.args(args)
            .env("KMS_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut stderr = child.stderr.take().unwrap();
        let addr = loop {
            match lines.next() {
                Some(Ok(line)) => {
                    if let Some(a) = line.strip_prefix("kms: listening on ") {
                        break a.to_owned();
                    }
                }
                _ => {
                    let mut err = String::new();
                    let _ = stderr.read_to_string(&mut err);
                    let _ = child.wait();
                    return Err(err);
                }
            }
        };
        // Keep draining both pipes so the server never blocks on a full one, and keep what they
        // say for tests that search the server's output.
        let output = Arc::new(Mutex::new(Vec::new()));
        let out = Arc::clone(&output);
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                let mut o = out.lock().unwrap();
                o.extend_from_slice(line.as_bytes());
                o.push(b'\n');
            }
        });
        let err = Arc::clone(&output);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stderr.read(&mut buf) {
                if n == 0 {
                    break;
                }
                err.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        Ok(Self {
            child,
            addr,
            output,
        })
    }

    pub fn start(config: &Path, env: &[(&str, String)]) -> Self {
        Self::try_start(config, env).unwrap_or_else(|e| panic!("kms serve failed:\n{e}"))
    }

    /// The server process's id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What the server has printed so far.
    pub fn output(&self) -> Vec<u8> {
        self.output.lock().unwrap().clone()
    }

    pub fn http(&self) -> Http {
        Http::at(&self.addr)
    }

    /// SIGKILL: no shutdown, no flush.
    pub fn kill(mut self) {
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

pub struct Run {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `kms <args> --addr <addr>` with `stdin` and extra environment.
pub fn kms(args: &[&str], addr: &str, stdin: &str, env: &[(&str, &str)]) -> Run {
    let mut all = args.to_vec();
    all.extend_from_slice(&["--addr", addr]);
    kms_offline(&all, stdin, env)
}

/// Runs `kms <args>` without a server address (an offline command such as `kms restore`).
pub fn kms_offline(args: &[&str], stdin: &str, env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new(KMS);
    cmd.args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let mut stderr = String::from_utf8(out.stderr).unwrap();
    if !out.status.success() {
        // A failure's message says how the process ended (a signal leaves stderr empty).
        stderr.push_str(&format!("\n[kms {}: {}]", args.join(" "), out.status));
    }
    Run {
        ok: out.status.success(),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr,
    }
}

/// The values printed after `label` on each line that starts with it.
pub fn field<'a>(text: &'a str, label: &str) -> Vec<&'a str> {
    text.lines()
        .filter_map(|l| l.strip_prefix(label))
        .map(|rest| rest.rsplit(' ').next().unwrap())
        .collect()
}

/// `kms hsm ceremony approve` as `who` (with a component, if given). Returns the run.
pub fn approve(addr: &str, id: &str, who: &str, component: Option<&str>) -> Run {
    let mut args = vec!["hsm", "ceremony", "approve", id, "--custodian", who];
    let mut stdin = format!("{}\n", password(who));
    if let Some(c) = component {
        args.push("--with-component");
        stdin.push_str(c);
        stdin.push('\n');
    }
    kms(&args, addr, &stdin, &[])
}

/// Starts a ceremony as alice and has alice, bob, carol (security admins) and dave (operator)
/// approve it; returns the last approval's output.
pub fn ceremony(addr: &str, start: &[&str]) -> String {
    let mut args = vec!["hsm", "ceremony", "start"];
    args.extend_from_slice(start);
    args.extend_from_slice(&["--custodian", "alice"]);
    let run = kms(&args, addr, "pw-alice\n", &[]);
    assert!(run.ok, "{}", run.stderr);
    let id = field(&run.stdout, "Ceremony:")[0].to_owned();
    for who in ["alice", "bob", "carol"] {
        let r = approve(addr, &id, who, None);
        assert!(r.ok, "{who}: {}", r.stderr);
        assert!(
            !r.stdout.contains("Done."),
            "executed before the quorum: {}",
            r.stdout
        );
    }
    let last = approve(addr, &id, "dave", None);
    assert!(
        last.ok && last.stdout.contains("Done."),
        "{}{}",
        last.stdout,
        last.stderr
    );
    last.stdout
}

/// Polls `GET /v1/hsm/rotations` until `done` says so (or panics after `limit`).
pub fn wait_rotations(
    http: &Http,
    root: &str,
    limit: Duration,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let start = Instant::now();
    loop {
        let (s, body) = http.get("/v1/hsm/rotations", Some(root));
        assert_eq!(s, 200, "{body}");
        if done(&body) {
            return body;
        }
        assert!(start.elapsed() < limit, "rotation did not progress: {body}");
        std::thread::sleep(Duration::from_millis(25));
    }
}
