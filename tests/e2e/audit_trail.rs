//! The audit trail as an auditor sees it: filters, export as JSON lines, and `kms audit verify`
//! failing at the right entry when rows are changed, deleted or reordered directly in the
//! database, or a seal is forged.

use serde_json::{Value, json};
use sqlx::Row;

use crate::people::{enrolled_user, login, people_server};
use crate::process::kms;
use crate::support::*;

fn verify(addr: &str, token: &str) -> (bool, String) {
    let run = kms(&["audit", "verify"], addr, "", &[("KMS_TOKEN", token)]);
    (run.ok, format!("{}{}", run.stdout, run.stderr))
}

#[test]
fn auditors_filter_export_and_verify_the_chain_and_tampering_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let (server, clock) = people_server(dir.path());
    let http = Http::new(&server);
    let admin = enrolled_user(&http, &clock, "ka", &["key_admin"]);
    let auditor = enrolled_user(&http, &clock, "aud", &["auditor"]);
    let ka = login(&http, &clock, "ka", &admin);
    let aud = login(&http, &clock, "aud", &auditor);
    for name in ["cards", "ids"] {
        let (s, _) = http.post("/v1/admin/keys", Some(&ka), &json!({ "name": name }));
        assert_eq!(s, 201);
    }
    http.post(
        "/v1/admin/keys/cards/rotate",
        Some(&ka),
        &json!({ "reason": "test" }),
    );
    assert_error(&http.get("/v1/admin/users", Some(&ka)), 403, "forbidden");
    let addr = server.url("");
    let addr = addr.trim_end_matches('/');

    // Only auditors read the log.
    assert_error(&http.get("/v1/admin/audit", Some(&ka)), 403, "forbidden");
    let (s, all) = http.get("/v1/admin/audit", Some(&aud));
    assert_eq!(s, 200);
    let entries = all["entries"].as_array().unwrap();
    assert!(entries.len() >= 8, "{all}");
    let (_, by_actor) = http.get(
        "/v1/admin/audit?actor=user:ka&action=create_key",
        Some(&aud),
    );
    let by_actor = by_actor["entries"].as_array().unwrap();
    assert_eq!(by_actor.len(), 2);
    assert!(
        by_actor
            .iter()
            .all(|e| e["actor"] == "user:ka" && e["action"] == "create_key")
    );
    let (_, by_key) = http.get("/v1/admin/audit?key=cards", Some(&aud));
    let by_key = by_key["entries"].as_array().unwrap();
    assert!(by_key.iter().all(|e| e["target"] == "key:cards"));
    assert!(by_key.iter().any(|e| e["action"] == "rotate_key"));
    // The refusal is there too, with its code.
    let (_, refused) = http.get(
        "/v1/admin/audit?actor=user:ka&action=list_users",
        Some(&aud),
    );
    assert_eq!(refused["entries"][0]["outcome"], "denied", "{refused}");
    assert_eq!(refused["entries"][0]["code"], "forbidden");
    let (_, none) = http.get("/v1/admin/audit?until=2000-01-01T00:00:00Z", Some(&aud));
    assert_eq!(none["entries"], json!([]));
    assert_error(
        &http.get("/v1/admin/audit?since=yesterday", Some(&aud)),
        400,
        "invalid_request",
    );

    // Export: every entry, one JSON object per line.
    let file = dir.path().join("audit.jsonl");
    let run = kms(
        &["audit", "export", "--file", file.to_str().unwrap()],
        addr,
        "",
        &[("KMS_TOKEN", &aud)],
    );
    assert!(run.ok, "{}", run.stderr);
    let lines: Vec<Value> = std::fs::read_to_string(&file)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), entries.len());
    assert_eq!(lines[0]["seq"], 1);

    // Sealed and intact.
    let (s, seal) = http.post("/v1/admin/audit/seal", Some(&aud), &json!({}));
    assert_eq!(s, 200, "{seal}");
    let (ok, out) = verify(addr, &aud);
    assert!(ok, "{out}");
    assert!(out.contains("audit log OK"), "{out}");

    // Tamper with the database directly, as someone with file access would.
    let url = format!("sqlite://{}", dir.path().join("kms.db").display());
    let io = server.state.io.clone();
    let pool = io.block_on(sqlx::SqlitePool::connect(&url)).unwrap();
    let exec = |sql: &str| {
        io.block_on(sqlx::query(sqlx::AssertSqlSafe(sql.to_owned())).execute(&pool))
            .unwrap();
    };
    let detail: Option<String> = io
        .block_on(sqlx::query("SELECT detail FROM audit WHERE seq = 5").fetch_one(&pool))
        .unwrap()
        .get("detail");

    exec("UPDATE audit SET detail = 'nothing to see' WHERE seq = 5");
    let (ok, out) = verify(addr, &aud);
    assert!(!ok && out.contains("FAILED at entry 5"), "{out}");
    let restore = match &detail {
        Some(d) => format!(
            "UPDATE audit SET detail = '{}' WHERE seq = 5",
            d.replace('\'', "''")
        ),
        None => "UPDATE audit SET detail = NULL WHERE seq = 5".into(),
    };
    exec(&restore);
    assert!(verify(addr, &aud).0, "restored");

    exec("CREATE TABLE saved AS SELECT * FROM audit WHERE seq = 6");
    exec("DELETE FROM audit WHERE seq = 6");
    let (ok, out) = verify(addr, &aud);
    assert!(!ok && out.contains("FAILED at entry 6"), "{out}");
    exec("INSERT INTO audit SELECT * FROM saved");
    assert!(verify(addr, &aud).0, "restored");

    exec("UPDATE audit SET seq = -7 WHERE seq = 7");
    exec("UPDATE audit SET seq = 7 WHERE seq = 8");
    exec("UPDATE audit SET seq = 8 WHERE seq = -7");
    let (ok, out) = verify(addr, &aud);
    assert!(!ok && out.contains("FAILED at entry 7"), "{out}");
    exec("UPDATE audit SET seq = -8 WHERE seq = 8");
    exec("UPDATE audit SET seq = 8 WHERE seq = 7");
    exec("UPDATE audit SET seq = 7 WHERE seq = -8");
    assert!(verify(addr, &aud).0, "restored");

    // A forged seal.
    exec("UPDATE audit_seals SET mac = zeroblob(32)");
    let (ok, out) = verify(addr, &aud);
    assert!(!ok && out.contains("seal"), "{out}");
}
