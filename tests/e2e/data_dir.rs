//! The data directory as an attacker on the same machine, or a careless second start, meets it:
//! every file in it private to the KMS's user, and one process at a time.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use serde_json::json;

use crate::process::*;
use crate::support::{ROOT, assert_error};

/// Root tokens not revoked in the data directory's store, read with SQLite directly.
fn live_root_tokens(data: &Path) -> i64 {
    let io = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let url = format!("sqlite://{}?mode=ro", data.join("kms.db").display());
    io.block_on(async {
        let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
        let n =
            sqlx::query_scalar("SELECT COUNT(*) FROM tokens WHERE kind = 2 AND revoked_at IS NULL")
                .fetch_one(&pool)
                .await
                .unwrap();
        pool.close().await;
        n
    })
}

/// Every file and folder under `dir` with its permission bits.
fn modes(dir: &Path, out: &mut Vec<(String, u32, bool)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let meta = std::fs::symlink_metadata(entry.path()).unwrap();
        let mode = meta.permissions().mode() & 0o777;
        out.push((entry.path().display().to_string(), mode, meta.is_dir()));
        if meta.is_dir() {
            modes(&entry.path(), out);
        }
    }
}

/// Another local user lists and reads what they can of a dev server's data directory after it
/// has done some work (keys, encryption, a backup written into the directory, a restart):
/// nothing, because every file is 0600 and every folder 0700, SQLite's `-wal` and `-shm` too. The
/// test runs the binary under the umask the test runner has (typically 0022), as an operator's
/// shell would.
#[test]
fn every_file_in_the_data_directory_is_0600_and_every_folder_0700() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start_dev(&data, ROOT);
    let http = server.http();
    http.create_key("cards");
    let app = http.create_app("payments");
    http.grant("cards", "payments", &["encrypt", "decrypt"]);
    let ct = http.seal(&app, "cards", b"4111 1111 1111 1111", None);
    let backup = data.join("nightly.kmsbak");
    let run = kms(
        &["backup", "--out", backup.to_str().unwrap()],
        &server.addr,
        "",
        &[("KMS_TOKEN", ROOT)],
    );
    assert!(run.ok, "{}", run.stderr);
    let mut seen = Vec::new();
    modes(&data, &mut seen);
    drop(server);
    let server = Server::start_dev(&data, ROOT);
    assert_eq!(
        server.http().open(&app, "cards", &ct, None),
        b"4111 1111 1111 1111"
    );
    modes(&data, &mut seen);
    let names: Vec<&str> = seen.iter().map(|(p, _, _)| p.as_str()).collect();
    for expected in [
        "kms.db",
        "kms.db-wal",
        "kms.db-shm",
        "sealed.json",
        "dev-unseal-share",
    ] {
        assert!(
            names.iter().any(|n| n.ends_with(expected)),
            "{expected} not in {names:?}"
        );
    }
    let loose: Vec<_> = seen
        .iter()
        .filter(|(_, mode, is_dir)| *mode != if *is_dir { 0o700 } else { 0o600 })
        .map(|(p, mode, _)| format!("{p} {mode:o}"))
        .collect();
    assert!(loose.is_empty(), "readable by others: {loose:?}");
    let data_mode = std::fs::metadata(&data).unwrap().permissions().mode() & 0o777;
    assert_eq!(data_mode, 0o700);
}

/// An operator starts a second `kms serve --dev` on a data directory a running server uses. It
/// used to re-enable the dev root token the first server's administrators had revoked, even
/// though it then failed to bind. Now it stops before it touches anything, naming the lock; the
/// revoked token stays revoked, and `kms restore` is kept out the same way.
#[test]
fn a_second_process_on_the_same_data_directory_is_refused_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start_dev(&data, ROOT);
    let http = server.http();
    let (s, b) = http.post("/v1/admin/root-tokens/revoke", Some(ROOT), &json!({}));
    assert_eq!(s, 200, "{b}");
    assert_error(
        &http.get("/v1/admin/keys", Some(ROOT)),
        401,
        "invalid_token",
    );

    // The same port (it cannot bind) and another port (it could).
    let port = server.addr.rsplit(':').next().unwrap().to_owned();
    for listen in [format!("127.0.0.1:{port}"), "127.0.0.1:0".to_owned()] {
        let args: Vec<std::ffi::OsString> = vec![
            "serve".into(),
            "--dev".into(),
            "--dev-root-token".into(),
            ROOT.into(),
            "--listen".into(),
            listen.clone().into(),
            "--data-dir".into(),
            data.clone().into(),
        ];
        let err = match Server::spawn(&args, &[]) {
            Ok(_) => panic!("a second server started on {listen}"),
            Err(stderr) => stderr,
        };
        assert!(
            err.contains("kms.lock") && err.contains("in use by another kms process"),
            "{err}"
        );
        // Read from the store itself (the running server would only see a change once its
        // key sync polls the file): no root token is live again.
        assert_eq!(
            live_root_tokens(&data),
            0,
            "the second start re-enabled a root token"
        );
        assert_error(
            &http.get("/v1/admin/keys", Some(ROOT)),
            401,
            "invalid_token",
        );
    }
    let restore = kms_offline(
        &[
            "restore",
            "--in",
            "/nonexistent.kmsbak",
            "--data-dir",
            data.to_str().unwrap(),
        ],
        "",
        &[],
    );
    assert!(
        !restore.ok && restore.stderr.contains("kms.lock"),
        "{}",
        restore.stderr
    );
}
