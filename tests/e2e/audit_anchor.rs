//! The audit log's tail cannot be trimmed unseen. A database administrator
//! (write access to `kms.db`, nothing else) deletes the entries and seals after a seal and resets
//! the chain head in `store_meta`, so that the chain, the seals and the head agree again; `kms
//! audit verify` must still report the truncation, with the number of entries missing, from the
//! HSM's counter; and the sink file outside the database holds every sealed entry and names an
//! entry rewritten in the database.

use serde_json::{Value, json};
use sqlx::Row;

use std::path::Path;
use std::time::Duration;

use kms_testkit::softhsm::{MODULE, PIN, SoftHsm};

use crate::process::{Server, kms, write_config};
use crate::support::*;

fn verify(server: &Server) -> (bool, String) {
    let run = kms(
        &["audit", "verify"],
        &server.addr,
        "",
        &[("KMS_TOKEN", ROOT)],
    );
    (run.ok, format!("{}{}", run.stdout, run.stderr))
}

/// The database as its administrator reaches it: a connection to the SQLite file.
struct Db {
    rt: tokio::runtime::Runtime,
    pool: sqlx::SqlitePool,
}

impl Db {
    fn open(data_dir: &std::path::Path) -> Self {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let url = format!("sqlite://{}", data_dir.join("kms.db").display());
        let pool = rt.block_on(sqlx::SqlitePool::connect(&url)).unwrap();
        Self { rt, pool }
    }

    fn exec(&self, sql: &str) {
        self.rt
            .block_on(sqlx::query(sqlx::AssertSqlSafe(sql.to_owned())).execute(&self.pool))
            .unwrap();
    }

    fn int(&self, sql: &str) -> i64 {
        self.rt
            .block_on(sqlx::query(sqlx::AssertSqlSafe(sql.to_owned())).fetch_one(&self.pool))
            .unwrap()
            .get(0)
    }
}

/// Keys made, each followed by a seal, so the log has several sealed stretches and an unsealed
/// tail; returns the sealed entries, in order.
fn activity(http: &Http, rounds: usize) -> Vec<u64> {
    let mut sealed = Vec::new();
    for round in 0..rounds {
        for i in 0..3 {
            let (s, body) = http.post(
                "/v1/admin/keys",
                Some(ROOT),
                &json!({ "name": format!("k{round}-{i}") }),
            );
            assert_eq!(s, 201, "{body}");
        }
        let (s, seal) = http.post("/v1/admin/audit/seal", Some(ROOT), &json!({}));
        assert_eq!(s, 200, "{seal}");
        sealed.push(seal["seq"].as_u64().unwrap());
    }
    http.create_key("unsealed-tail");
    sealed
}

/// The administrator's attack on a running server whose data directory is `data`.
fn trim_back_to_the_first_seal(server: &Server, data: &Path) {
    let http = server.http();
    activity(&http, 3);
    let (ok, out) = verify(server);
    assert!(ok && out.contains("audit log OK"), "{out}");

    // The administrator's trim: back to the first seal, the later seals too, and the head reset
    // to that entry's hash, so chain, seals and head agree.
    let db = Db::open(data);
    let seals = db.int("SELECT COUNT(*) FROM audit_seals");
    let first = db.int("SELECT MIN(seq) FROM audit_seals");
    let last = db.int("SELECT MAX(seq) FROM audit_seals");
    assert!(seals >= 3 && last > first, "{seals} seals, {first}..{last}");
    db.exec(&format!("DELETE FROM audit WHERE seq > {first}"));
    db.exec(&format!("DELETE FROM audit_seals WHERE seq > {first}"));
    db.exec(&format!(
        "UPDATE store_meta SET audit_seq = {first}, \
         audit_head = (SELECT hash FROM audit WHERE seq = {first}) WHERE id = 1"
    ));

    let (ok, out) = verify(server);
    let missing = last - first;
    assert!(!ok, "the trimmed log verified:\n{out}");
    assert!(
        out.contains(&format!(
            "the chain ends at entry {first} but the HSM's counter records seal {seals} over \
             entry {last}: {missing} entries missing"
        )) && out.contains("audit_truncated"),
        "{out}"
    );
    let (s, report) = http.get("/v1/admin/audit/verify", Some(ROOT));
    assert_eq!(s, 200, "{report}");
    assert_eq!(report["ok"], false);
    assert_eq!(report["code"], "audit_truncated");
    assert_eq!(report["truncated"]["missing"], json!(missing));
    assert_eq!(report["truncated"]["chain_ends_at"], json!(first));
    assert_eq!(report["truncated"]["witness"], "hsm");

    // A new seal would paper over the trim: refused.
    assert_error(
        &http.post("/v1/admin/audit/seal", Some(ROOT), &json!({})),
        409,
        "audit_truncated",
    );
}

#[test]
fn a_tail_trimmed_back_to_a_seal_is_reported_with_the_entries_missing() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_dev(dir.path(), ROOT);
    trim_back_to_the_first_seal(&server, dir.path());
}

/// The same attack with the counter on a PKCS#11 token (SoftHSM2).
#[test]
fn a_trimmed_tail_is_reported_from_the_pkcs11_tokens_counter() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let softhsm = SoftHsm::create(&dir.path().join("softhsm"), &["kms-a"]);
    let config = write_config(
        dir.path(),
        &format!(
            "[hsm]\nbackend = \"pkcs11\"\n[hsm.pkcs11]\nmodule = \"{MODULE}\"\n\
             tokens = [ {{ label = \"kms-a\", pin_env = \"KMS_TEST_PIN\" }} ]\n"
        ),
    );
    let env = vec![
        ("SOFTHSM2_CONF", softhsm.conf().display().to_string()),
        ("KMS_TEST_PIN", PIN.to_owned()),
    ];
    let server = Server::start_dev_with(&data, ROOT, &["--config", config.to_str().unwrap()], &env);
    trim_back_to_the_first_seal(&server, &data);
}

/// Every line of the sink file, parsed.
fn sink_lines(data_dir: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(data_dir.join("audit.log"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn the_sink_file_holds_every_sealed_entry_and_names_a_rewritten_one() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_dev(dir.path(), ROOT);
    let http = server.http();
    let sealed = activity(&http, 2);
    let through = *sealed.last().unwrap();

    // Every sealed entry once, in order, with the database's hash; every seal after its entries.
    let lines = sink_lines(dir.path());
    let entries: Vec<&Value> = lines.iter().filter(|l| l["kind"] == "entry").collect();
    let seqs: Vec<u64> = entries.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, (1..=through).collect::<Vec<_>>());
    let seal_lines: Vec<&Value> = lines.iter().filter(|l| l["kind"] == "seal").collect();
    assert_eq!(
        seal_lines.last().unwrap()["seq"].as_u64(),
        Some(through),
        "{seal_lines:?}"
    );
    let db = Db::open(dir.path());
    for e in &entries {
        let seq = e["seq"].as_u64().unwrap();
        let hash: Vec<u8> = db
            .rt
            .block_on(
                sqlx::query("SELECT hash FROM audit WHERE seq = $1")
                    .bind(i64::try_from(seq).unwrap())
                    .fetch_one(&db.pool),
            )
            .unwrap()
            .get(0);
        assert_eq!(
            e["hash"].as_str().unwrap(),
            hex::encode(hash),
            "entry {seq}"
        );
    }
    assert!(verify(&server).0);

    // The administrator rewrites entry 2 and recomputes the chain after it, consistently.
    let victim = 2u64;
    let rows = db
        .rt
        .block_on(
            sqlx::query(
                "SELECT seq, at, actor, action, target, outcome, code, remote, detail, prev_hash \
                 FROM audit WHERE seq >= $1 ORDER BY seq",
            )
            .bind(i64::try_from(victim).unwrap())
            .fetch_all(&db.pool),
        )
        .unwrap();
    let mut prev: [u8; 32] = rows[0].get::<Vec<u8>, _>("prev_hash").try_into().unwrap();
    for row in &rows {
        let seq: i64 = row.get("seq");
        let mut event = kms_engine::audit::AuditEvent {
            at: kms_engine::clock::Timestamp::from_millis(row.get("at")),
            actor: row.get("actor"),
            action: row.get("action"),
            target: row.get("target"),
            outcome: kms_engine::audit::Outcome::from_code(row.get("outcome")).unwrap(),
            code: row.get("code"),
            remote: row.get("remote"),
            detail: row.get("detail"),
        };
        if seq == i64::try_from(victim).unwrap() {
            event.actor = "user:nobody".into();
        }
        let hash = kms_engine::audit::chain_hash(&prev, u64::try_from(seq).unwrap(), &event);
        db.rt
            .block_on(
                sqlx::query(
                    "UPDATE audit SET actor = $1, prev_hash = $2, hash = $3 WHERE seq = $4",
                )
                .bind(&event.actor)
                .bind(prev.to_vec())
                .bind(hash.to_vec())
                .bind(seq)
                .execute(&db.pool),
            )
            .unwrap();
        prev = hash;
    }
    db.rt
        .block_on(
            sqlx::query("UPDATE store_meta SET audit_head = $1 WHERE id = 1")
                .bind(prev.to_vec())
                .execute(&db.pool),
        )
        .unwrap();

    let (ok, out) = verify(&server);
    assert!(!ok, "{out}");
    assert!(
        out.contains(&format!(
            "audit log FAILED at entry {victim}: entry {victim} differs from its copy in the \
             audit sink"
        )),
        "{out}"
    );
    // The original is still in the sink.
    let original = sink_lines(dir.path())
        .into_iter()
        .find(|l| l["kind"] == "entry" && l["seq"] == victim)
        .unwrap();
    assert_ne!(original["actor"], "user:nobody");
}

/// Syslog as the only copy (`sink_file = "off"`): the lines the socket received, saved by the
/// operator, are what `kms audit verify --against` compares the database with.
#[test]
fn verify_against_the_syslog_copy_counts_a_trimmed_tail() {
    use std::os::unix::net::UnixDatagram;
    use std::sync::{Arc, Mutex};

    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("log.sock");
    let receiver = UnixDatagram::bind(&socket).unwrap();
    let received = Arc::new(Mutex::new(Vec::<String>::new()));
    let into = Arc::clone(&received);
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 65536];
        while let Ok(n) = receiver.recv(&mut buf) {
            into.lock()
                .unwrap()
                .push(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
    });
    let config = dir.path().join("kms.toml");
    std::fs::write(
        &config,
        format!(
            "[audit]\nsink_file = \"off\"\nsyslog = \"{}\"\n",
            socket.display()
        ),
    )
    .unwrap();
    let data = dir.path().join("data");
    let server = Server::start_dev_with(&data, ROOT, &["--config", config.to_str().unwrap()], &[]);
    let http = server.http();
    let sealed = activity(&http, 2);
    let last = *sealed.last().unwrap();
    assert!(!data.join("audit.log").exists());
    eventually(Duration::from_secs(10), "the last seal on syslog", || {
        received
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.contains("\"kind\":\"seal\"") && l.contains(&format!("\"seq\":{last},")))
    });
    let lines = received.lock().unwrap().clone();
    assert!(
        lines
            .iter()
            .all(|l| l.starts_with("<86>1 - - kms - audit - {")),
        "{lines:?}"
    );
    let copy = dir.path().join("syslog-copy.log");
    std::fs::write(&copy, lines.join("\n")).unwrap();
    let against = |server: &Server| {
        let run = kms(
            &["audit", "verify", "--against", copy.to_str().unwrap()],
            &server.addr,
            "",
            &[("KMS_TOKEN", ROOT)],
        );
        (run.ok, format!("{}{}", run.stdout, run.stderr))
    };
    let (ok, out) = against(&server);
    assert!(ok && out.contains("the database matches"), "{out}");

    // Trimmed back to the first seal, as in the attack above.
    let db = Db::open(&data);
    let first = sealed[0];
    db.exec(&format!("DELETE FROM audit WHERE seq > {first}"));
    db.exec(&format!("DELETE FROM audit_seals WHERE seq > {first}"));
    db.exec(&format!(
        "UPDATE store_meta SET audit_seq = {first}, \
         audit_head = (SELECT hash FROM audit WHERE seq = {first}) WHERE id = 1"
    ));
    let (ok, out) = against(&server);
    assert!(!ok, "{out}");
    assert!(
        out.contains(&format!(
            "the chain ends at entry {first} but {} holds entries up to {last}: {} entries \
             missing [audit_truncated]",
            copy.display(),
            last - first
        )),
        "{out}"
    );
}

/// Seals are chained, and the HSM counts them: removing a seal in the middle breaks the next
/// one's MAC, removing the last one leaves fewer seals than the counter.
#[test]
fn removing_a_seal_is_detected_by_the_chaining_and_the_counter() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_dev(dir.path(), ROOT);
    activity(&server.http(), 3);
    assert!(verify(&server).0);
    let db = Db::open(dir.path());
    let seals: Vec<i64> = db
        .rt
        .block_on(sqlx::query("SELECT seq FROM audit_seals ORDER BY seq").fetch_all(&db.pool))
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(seals.len() >= 3, "{seals:?}");
    db.exec("CREATE TABLE saved AS SELECT * FROM audit_seals");

    db.exec(&format!("DELETE FROM audit_seals WHERE seq = {}", seals[1]));
    let (ok, out) = verify(&server);
    assert!(
        !ok && out.contains(&format!(
            "seal 2 (at entry {}) does not verify: forged or altered, or a seal before it was \
             removed [audit_tampered]",
            seals[2]
        )),
        "{out}"
    );
    db.exec("DELETE FROM audit_seals");
    db.exec("INSERT INTO audit_seals SELECT * FROM saved");
    assert!(verify(&server).0, "restored");

    db.exec(&format!(
        "DELETE FROM audit_seals WHERE seq = {}",
        seals.last().unwrap()
    ));
    let (ok, out) = verify(&server);
    assert!(
        !ok && out.contains(&format!(
            "the database holds {} seals but the HSM's counter records {}: the last seals were \
             removed [audit_truncated]",
            seals.len() - 1,
            seals.len()
        )),
        "{out}"
    );
}
