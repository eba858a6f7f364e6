//! A PostgreSQL store on a primary with a synchronous standby: every call that returned `Ok` is on
//! the standby after the primary is killed (SIGKILL) and the standby promoted. And a store rides
//! out its server's restart.
//!
//! The test runs two clusters of its own (initdb, pg_basebackup, pg_ctl from
//! `KMS_TEST_PG_BIN`, default `/usr/lib/postgresql/15/bin`) on free ports in a temporary
//! directory, as the `postgres` OS user when run as root (PostgreSQL refuses to run as root). It
//! fails, never skips, when the binaries are missing. The clusters are stopped in `Drop`, also
//! after a failure.
// Test helpers panic on failure by design.
#![allow(clippy::unwrap_used, clippy::cast_possible_truncation)]

mod fixtures;

use fixtures::{at, event};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kms_engine::algorithm::Algorithm;

use kms_engine::clock::SystemClock;
use kms_engine::ids::{KeyId, KeyName, KeyVersion, MasterKeyId};
use kms_engine::store::{AuditQuery, KeyStore, NewKey, Rotation, StoreError};
use kms_engine::wrap::WrappedKey;
use kms_store::PostgresStore;
use sqlx::Connection;
use sqlx::postgres::PgConnection;

const DEFAULT_BIN: &str = "/usr/lib/postgresql/15/bin";

fn bin_dir() -> PathBuf {
    let dir =
        PathBuf::from(std::env::var("KMS_TEST_PG_BIN").unwrap_or_else(|_| DEFAULT_BIN.into()));
    for tool in ["initdb", "pg_ctl", "pg_basebackup", "postgres"] {
        assert!(
            dir.join(tool).is_file(),
            "{} not found: install PostgreSQL's server binaries or set KMS_TEST_PG_BIN to their \
             directory",
            dir.join(tool).display()
        );
    }
    dir
}

fn running_as_root() -> bool {
    let out = Command::new("id").arg("-u").output().expect("run id -u");
    String::from_utf8_lossy(&out.stdout).trim() == "0"
}

/// Runs a PostgreSQL tool, as the `postgres` user when we are root; panics with its output if it
/// fails.
fn pg(bin: &Path, tool: &str, args: &[&str]) -> Output {
    let program = bin.join(tool);
    let mut cmd = if running_as_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(&program);
        c
    } else {
        Command::new(&program)
    };
    let out = cmd
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {tool}: {e}"));
    assert!(
        out.status.success(),
        "{tool} {args:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn append(path: &Path, text: &str) {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

/// One cluster: its data directory and port. Stopped (immediate) when dropped.
struct Cluster {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
}

impl Cluster {
    fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    fn start(&self) {
        let log = self.data.with_extension("log");
        pg(
            &self.bin,
            "pg_ctl",
            &[
                "-D",
                self.data.to_str().unwrap(),
                "-l",
                log.to_str().unwrap(),
                "-w",
                "-t",
                "60",
                "start",
            ],
        );
    }

    /// The postmaster's pid, from the first line of postmaster.pid.
    fn postmaster_pid(&self) -> Option<String> {
        let text = std::fs::read_to_string(self.data.join("postmaster.pid")).ok()?;
        text.lines().next().map(str::to_owned)
    }

    fn stop_immediately(&self) {
        pg(
            &self.bin,
            "pg_ctl",
            &[
                "-D",
                self.data.to_str().unwrap(),
                "-m",
                "immediate",
                "-w",
                "stop",
            ],
        );
    }

    fn kill_9(&self) {
        let pid = self.postmaster_pid().expect("the primary is running");
        let status = Command::new("kill").args(["-9", &pid]).status().unwrap();
        assert!(status.success(), "kill -9 {pid}");
        // Its backends notice the postmaster's death and exit; wait until the port is free.
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
            assert!(
                Instant::now() < deadline,
                "the killed primary still accepts connections"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let program = self.bin.join("pg_ctl");
        let data = self.data.to_str().unwrap_or_default().to_owned();
        let args = ["-D", data.as_str(), "-m", "immediate", "-w", "stop"];
        let status = if running_as_root() {
            Command::new("runuser")
                .args(["-u", "postgres", "--"])
                .arg(&program)
                .args(args)
                .output()
        } else {
            Command::new(&program).args(args).output()
        };
        // A cluster already killed has nothing to stop; anything else is worth a line.
        if let Ok(out) = status
            && !out.status.success()
            && self.postmaster_pid().is_some()
        {
            eprintln!(
                "pg_ctl stop {}: {}",
                self.data.display(),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

/// A primary with `synchronous_standby_names = 'standby1'` and its standby.
struct Pair {
    // Dropped first (fields drop in declaration order): the clusters stop before the directory
    // goes.
    standby: Cluster,
    primary: Cluster,
    _dir: tempfile::TempDir,
}

/// A temporary directory the `postgres` user owns (when we are root).
fn cluster_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    if running_as_root() {
        let status = Command::new("chown")
            .args(["-R", "postgres:", dir.path().to_str().unwrap()])
            .status()
            .unwrap();
        assert!(status.success(), "chown the test directory to postgres");
    }
    dir
}

/// A new cluster in `dir/name` on a free port, not started; `conf` is added to its
/// postgresql.conf.
fn init_cluster(dir: &Path, name: &str, conf: &str) -> Cluster {
    let bin = bin_dir();
    let cluster = Cluster {
        bin: bin.clone(),
        data: dir.join(name),
        port: free_port(),
    };
    pg(
        &bin,
        "initdb",
        &[
            "-D",
            cluster.data.to_str().unwrap(),
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
        ],
    );
    append(
        &cluster.data.join("postgresql.conf"),
        &format!(
            "\nport = {}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{}'\n{conf}",
            cluster.port,
            dir.display()
        ),
    );
    cluster
}

impl Pair {
    fn start() -> Self {
        let dir = cluster_dir();
        let primary = init_cluster(
            dir.path(),
            "primary",
            "wal_level = replica\nmax_wal_senders = 5\n\
             synchronous_standby_names = 'standby1'\nsynchronous_commit = on\n",
        );
        let bin = primary.bin.clone();
        append(
            &primary.data.join("pg_hba.conf"),
            "\nhost replication all 127.0.0.1/32 trust\n",
        );
        primary.start();

        let standby = Cluster {
            bin: bin.clone(),
            data: dir.path().join("standby"),
            port: free_port(),
        };
        pg(
            &bin,
            "pg_basebackup",
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &primary.port.to_string(),
                "-U",
                "postgres",
                "-D",
                standby.data.to_str().unwrap(),
                "-R",
                "-X",
                "stream",
            ],
        );
        // -R wrote standby.signal and a primary_conninfo; this one names the standby as the
        // primary's synchronous_standby_names expects (the last setting wins).
        append(
            &standby.data.join("postgresql.auto.conf"),
            &format!(
                "\nprimary_conninfo = 'host=127.0.0.1 port={} user=postgres \
                 application_name=standby1'\n",
                primary.port
            ),
        );
        // The primary's postgresql.conf came along; once promoted, this server has no standby of
        // its own to wait for.
        append(
            &standby.data.join("postgresql.conf"),
            &format!(
                "\nport = {}\nsynchronous_standby_names = ''\n",
                standby.port
            ),
        );
        standby.start();
        Self {
            standby,
            primary,
            _dir: dir,
        }
    }

    /// Waits until the primary reports standby1 as its synchronous standby.
    async fn wait_for_sync(&self) {
        let mut conn = PgConnection::connect(&self.primary.url("postgres"))
            .await
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let state: Option<String> = sqlx::query_scalar(
                "SELECT sync_state FROM pg_stat_replication WHERE application_name = 'standby1'",
            )
            .fetch_optional(&mut conn)
            .await
            .unwrap();
            if state.as_deref() == Some("sync") {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "standby1 never became synchronous (state {state:?})"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        conn.close().await.unwrap();
    }
}

fn material(key: KeyId, version: u32) -> WrappedKey {
    let mut blob = key.as_bytes().to_vec();
    blob.extend_from_slice(&version.to_be_bytes());
    WrappedKey {
        master_key: MasterKeyId::new("mk-repl").unwrap(),
        blob,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn committed_versions_survive_the_primary_killed_and_the_standby_promoted() {
    let pair = Pair::start();
    // A commit waiting for a standby that never answers would hang forever: fail instead (the
    // clusters are stopped by `pair`'s Drop either way).
    tokio::time::timeout(Duration::from_secs(300), fail_over(&pair))
        .await
        .expect("the failover test took more than 5 minutes");
}

async fn fail_over(pair: &Pair) {
    pair.wait_for_sync().await;
    {
        let mut conn = PgConnection::connect(&pair.primary.url("postgres"))
            .await
            .unwrap();
        sqlx::raw_sql("CREATE DATABASE kms")
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
    }

    let store = PostgresStore::open(&pair.primary.url("kms"), Arc::new(SystemClock))
        .await
        .unwrap();
    fixtures::initialize(&store, "mk-repl").await;
    // Every (key, version) whose call returned Ok: committed, so on the synchronous standby.
    let mut committed: Vec<(KeyId, u32)> = Vec::new();
    for k in 0..10u32 {
        let (id, _) = create_key(&store, &format!("repl-{k}")).await;
        committed.push((id, 1));
        for version in 2..=(1 + k % 4) {
            store
                .rotate_key(
                    &Rotation {
                        key: id,
                        new_version: KeyVersion::new(version).unwrap(),
                        wrapped: material(id, version),
                        at: at(i64::from(version)),
                        actor: "root:test".into(),
                        reason: "replication test".into(),
                    },
                    &event("rotate_key"),
                )
                .await
                .unwrap();
            committed.push((id, version));
        }
    }
    let revision = store.revision().await.unwrap();
    let head = store.audit_head().await.unwrap();

    pair.primary.kill_9();
    drop(store);
    pg(
        &pair.standby.bin,
        "pg_ctl",
        &[
            "-D",
            pair.standby.data.to_str().unwrap(),
            "-w",
            "-t",
            "60",
            "promote",
        ],
    );

    let promoted = PostgresStore::open(&pair.standby.url("kms"), Arc::new(SystemClock))
        .await
        .unwrap();
    for (id, version) in &committed {
        let key = promoted
            .load_key(*id)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("key {id} lost"));
        let v = key
            .version(KeyVersion::new(*version).unwrap())
            .unwrap_or_else(|| panic!("key {id} version {version} lost"));
        assert_eq!(v.wrapped.as_ref(), Some(&material(*id, *version)));
    }
    assert_eq!(promoted.revision().await.unwrap(), revision);
    assert_eq!(promoted.audit_head().await.unwrap(), head);
    let log = promoted
        .audit_log(&AuditQuery {
            limit: 10_000,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(log.len() as u64, head.0);
    // The promoted standby takes writes: a rotation of a replicated key commits.
    let (id, version) = committed[committed.len() - 1];
    promoted
        .rotate_key(
            &Rotation {
                key: id,
                new_version: KeyVersion::new(version + 1).unwrap(),
                wrapped: material(id, version + 1),
                at: at(100),
                actor: "root:test".into(),
                reason: "after failover".into(),
            },
            &event("rotate_key"),
        )
        .await
        .unwrap();
    promoted.close().await;
}

async fn create_key(store: &PostgresStore, name: &str) -> (KeyId, kms_engine::store::Revision) {
    let id = KeyId::random();
    let revision = store
        .create_key(
            &NewKey {
                id,
                name: KeyName::new(name).unwrap(),
                algorithm: Algorithm::Aes256Gcm,
                settings: Default::default(),
                wrapped: material(id, 1),
                at: at(1),
                actor: "root:test".into(),
            },
            &event("create_key"),
        )
        .await
        .unwrap();
    (id, revision)
}

/// While the server is down the store's calls fail as `Unavailable` (what key sync and the
/// handlers treat as an outage); once it is back, the same store handles read and write again and
/// its change-feed listener reconnects by itself: a waiter whose poll is an hour away is woken by
/// another store's commit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_comes_back_after_the_server_restarts() {
    let dir = cluster_dir();
    let cluster = init_cluster(dir.path(), "main", "");
    cluster.start();
    tokio::time::timeout(Duration::from_secs(300), restart(&cluster))
        .await
        .expect("the restart test took more than 5 minutes");
}

async fn restart(cluster: &Cluster) {
    {
        let mut conn = PgConnection::connect(&cluster.url("postgres"))
            .await
            .unwrap();
        sqlx::raw_sql("CREATE DATABASE kms")
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
    }
    let writer = PostgresStore::open(&cluster.url("kms"), Arc::new(SystemClock))
        .await
        .unwrap();
    let reader = Arc::new(
        PostgresStore::open(&cluster.url("kms"), Arc::new(SystemClock))
            .await
            .unwrap()
            .with_poll_interval(Duration::from_secs(3600)),
    );
    fixtures::initialize(&writer, "mk-repl").await;
    let (before, _) = create_key(&writer, "before").await;

    cluster.stop_immediately();
    assert!(matches!(
        writer.revision().await,
        Err(StoreError::Unavailable(_))
    ));
    assert!(matches!(
        writer.load_key(before).await,
        Err(StoreError::Unavailable(_))
    ));

    cluster.start();
    let (after, revision) = create_key(&writer, "after").await;
    assert!(writer.load_key(before).await.unwrap().is_some());
    assert!(reader.load_key(after).await.unwrap().is_some());
    let waiter = {
        let reader = Arc::clone(&reader);
        tokio::spawn(async move {
            let t = Instant::now();
            let r = reader
                .wait_for_change(revision, Duration::from_secs(60))
                .await
                .unwrap();
            (r, t.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (_, committed) = create_key(&writer, "woken").await;
    let (r, waited) = waiter.await.unwrap();
    assert_eq!(r, committed);
    assert!(waited < Duration::from_secs(30), "waited {waited:?}");
    writer.close().await;
    reader.close().await;
}
