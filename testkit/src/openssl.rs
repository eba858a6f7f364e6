//! Certificates made at test time with the `openssl` command (scripts/deps.sh installs it), for
//! the TLS and client-certificate tests.

use std::path::Path;
use std::process::Command;

/// Runs `openssl <args>` in `dir`; panics with openssl's message if it fails. Returns stdout.
pub fn run(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl runs");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A self-signed P-256 certificate for `cn` (a CA, as `openssl req -x509` makes it), valid for two
/// days: `cert` and its unencrypted `key`, in `dir`.
pub fn self_signed(dir: &Path, cn: &str, key: &str, cert: &str) {
    let subject = format!("/CN={cn}");
    run(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "2",
            "-subj",
            &subject,
            "-keyout",
            key,
            "-out",
            cert,
        ],
    );
}

/// The certificate's SHA-256 fingerprint as `openssl x509 -fingerprint -sha256` prints it
/// (`AB:CD:...`).
pub fn fingerprint(dir: &Path, cert: &str) -> String {
    let out = run(
        dir,
        &["x509", "-in", cert, "-noout", "-fingerprint", "-sha256"],
    );
    out.trim().rsplit('=').next().unwrap().to_owned()
}
