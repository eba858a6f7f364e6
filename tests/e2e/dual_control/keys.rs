//! Findings 2, 3 and 4 (keys): one key administrator reaching data alone, approvers voting
//! blind, requests outliving their requester, results readable by everyone.

use serde_json::json;

use super::{Office, strings};
use crate::support::*;

const STAFF: &[(&str, &str)] = &[
    ("kate", "key_admin"),
    ("ken", "key_admin"),
    ("kim", "security_admin"),
    ("kira", "security_admin"),
    ("kit", "security_admin"),
    ("sam", "system_admin"),
    ("ada", "auditor"),
];

/// A key holding a card number that the app `payments` may decrypt (set up by the root token).
fn cards(office: &Office) -> (String, String) {
    let http = &office.http;
    http.create_key("cards");
    let payments = http.create_app("payments");
    http.grant("cards", "payments", &["encrypt", "decrypt"]);
    let ct = http.seal(&payments, "cards", b"4111111111111111", None);
    (payments, ct)
}

fn decrypts(http: &Http, token: &str, ct: &str) -> bool {
    http.post(
        "/v1/keys/cards/decrypt",
        Some(token),
        &json!({ "ciphertext": ct }),
    )
    .0 == 200
}

/// Finding 2: a key administrator creates an app of their own, grants it decrypt on a key, and
/// reads the data; or takes over an existing app by rotating its token.
#[test]
fn one_key_administrator_cannot_reach_data_alone() {
    let office = Office::open(STAFF);
    let (payments, ct) = cards(&office);
    let http = &office.http;
    let kate = office.t("kate");

    let (status, shadow) = http.post("/v1/admin/apps", Some(&kate), &json!({ "name": "shadow" }));
    assert_eq!(status, 201, "{shadow}");
    let shadow = shadow["token"].as_str().unwrap().to_owned();
    let granted = http.post(
        "/v1/admin/keys/cards/grants",
        Some(&kate),
        &json!({ "app": "shadow", "operations": ["decrypt"] }),
    );
    assert!(
        !decrypts(http, &shadow, &ct),
        "kate's own app decrypts the cards"
    );
    let grant = Office::pending(&granted);
    // Taking away is immediate.
    let (status, _) = http.post(
        "/v1/admin/keys/cards/grants",
        Some(&kate),
        &json!({ "app": "payments", "operations": ["encrypt", "decrypt"] }),
    );
    assert_eq!(status, 200, "the same grant again adds nothing");

    // Rotating another app's token: the new token is not handed to kate alone.
    let rotated = http.post(
        "/v1/admin/apps/payments/tokens",
        Some(&kate),
        &json!({ "overlap_seconds": 3600 }),
    );
    if let Some(token) = rotated.1["token"].as_str() {
        assert!(
            !decrypts(http, token, &ct),
            "kate took over the payments app"
        );
    }
    let rotation = Office::pending(&rotated);
    assert!(
        decrypts(http, &payments, &ct),
        "nothing changed for the app yet"
    );

    // With two other people's consent both run; the token goes to kate alone, once.
    assert_eq!(office.approve("ken", grant).0, 200);
    assert_eq!(office.approve("kim", grant).0, 200);
    assert!(decrypts(http, &shadow, &ct));
    assert_eq!(office.approve("ken", rotation).0, 200);
    let (status, done) = office.approve("kim", rotation);
    assert_eq!(status, 200, "{done}");
    assert!(done.get("for_you").is_none(), "{done}");
    let (_, seen) = http.get(
        &format!("/v1/admin/approvals/{rotation}"),
        Some(&office.t("ada")),
    );
    assert_eq!(seen["private_result_pending"], true, "{seen}");
    let (status, collected) = http.post(
        &format!("/v1/admin/approvals/{rotation}/collect"),
        Some(&kate),
        &json!({}),
    );
    assert_eq!(status, 200, "{collected}");
    let new_token = collected["token"].as_str().unwrap();
    assert!(!strings(&seen).iter().any(|s| s == new_token));
    assert!(decrypts(http, new_token, &ct));
    // The app sees its old token's overlap running out.
    let (status, me) = http.get("/v1/apps/self", Some(&payments));
    assert_eq!(status, 200, "{me}");
    let tokens = me["tokens"].as_array().unwrap();
    assert!(
        tokens
            .iter()
            .any(|t| t["state"] == "expiring" && t["expires_at"].is_string()),
        "{me}"
    );
}

/// Finding 3: approvers vote blind; a request's parameters can be changed in the database
/// after the votes.
#[test]
fn approvers_see_and_bind_what_they_approve() {
    let office = Office::open(STAFF);
    let http = &office.http;
    http.create_key("cards");
    // Roles: current and requested.
    let roles = Office::pending(&http.post(
        "/v1/admin/users/ada/roles",
        Some(&office.t("sam")),
        &json!({ "roles": ["auditor", "security_admin"] }),
    ));
    let (_, shown) = http.get(
        &format!("/v1/admin/approvals/{roles}"),
        Some(&office.t("kim")),
    );
    assert_eq!(
        shown["details"]["current_roles"],
        json!(["auditor"]),
        "{shown}"
    );
    assert_eq!(
        shown["details"]["added"],
        json!(["security_admin"]),
        "{shown}"
    );
    assert_eq!(
        shown["params"]["roles"],
        json!(["security_admin", "auditor"]),
        "{shown}"
    );
    // A zone: its key's fingerprint.
    let dir = tempfile::tempdir().unwrap();
    let pem = zone_public_key(dir.path());
    let zone = Office::pending(&http.post(
        "/v1/admin/zones",
        Some(&office.t("kim")),
        &json!({ "name": "zone-a", "public_key": pem }),
    ));
    let (_, shown) = http.get(
        &format!("/v1/admin/approvals/{zone}"),
        Some(&office.t("kira")),
    );
    let fingerprint = shown["details"]["public_key_fingerprint"].as_str().unwrap();
    assert_eq!(fingerprint.len(), 64, "{shown}");
    // A policy: the one in force and the one requested.
    let (status, _) = http.post(
        "/v1/admin/keys/cards/policy",
        Some(ROOT),
        &json!({ "allowed_cidrs": ["10.0.0.0/8"] }),
    );
    assert_eq!(status, 200);
    let policy = Office::pending(&http.post(
        "/v1/admin/keys/cards/policy",
        Some(&office.t("kate")),
        &json!({}),
    ));
    let (_, shown) = http.get(
        &format!("/v1/admin/approvals/{policy}"),
        Some(&office.t("ken")),
    );
    assert_eq!(
        shown["details"]["current_policy"]["allowed_cidrs"],
        json!(["10.0.0.0/8"]),
        "{shown}"
    );

    // A vote must name what it saw.
    assert_error(
        &http.post(
            &format!("/v1/admin/approvals/{policy}/approve"),
            Some(&office.t("ken")),
            &json!({}),
        ),
        400,
        "params_hash_required",
    );
    assert_error(
        &http.post(
            &format!("/v1/admin/approvals/{policy}/approve"),
            Some(&office.t("ken")),
            &json!({ "params_hash": "00".repeat(32) }),
        ),
        409,
        "params_changed",
    );
    // One approval, then someone with the database rewrites the request to a policy of their
    // own; the second approval sees (and hashes) the rewritten request, but the run checks every
    // vote: the request is cancelled and nothing changes.
    assert_eq!(office.approve("ken", policy).0, 200);
    rewrite_params(
        &office,
        policy,
        r#"{"name":"cards","policy":{"allowed_cidrs":["0.0.0.0/0"],"time_windows":[],"rate_limit":null}}"#,
    );
    let (status, done) = office.approve("kim", policy);
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["status"], "cancelled", "{done}");
    assert_eq!(
        done["result"]["error"]["code"], "approval_cancelled",
        "{done}"
    );
    let (_, key) = http.get("/v1/admin/keys/cards", Some(ROOT));
    assert_eq!(
        key["policy"]["allowed_cidrs"],
        json!(["10.0.0.0/8"]),
        "{key}"
    );
    let audit = crate::access::audit(&office.server, "user:kate");
    assert!(audit.iter().any(|r| r.event.action == "cancel_approval"));
}

/// Finding 4: a request runs after its requester left or lost the role; an export's result is
/// readable by everyone.
#[test]
fn requests_die_with_their_requester_and_exports_go_to_the_requester_once() {
    let office = Office::open(STAFF);
    let http = &office.http;
    let (status, _) = http.post(
        "/v1/admin/keys",
        Some(ROOT),
        &json!({ "name": "payroll", "exportable": true }),
    );
    assert_eq!(status, 201);
    http.create_key("cards");
    let (status, _) = http.post(
        "/v1/admin/keys/cards/rotate",
        Some(ROOT),
        &json!({ "reason": "r" }),
    );
    assert_eq!(status, 200);
    // Kate asks for a destruction, then loses her role: the request does not run.
    let destroy = Office::pending(&http.post(
        "/v1/admin/keys/cards/versions/1/schedule-destruction",
        Some(&office.t("kate")),
        &json!({ "reason": "retired" }),
    ));
    let (status, _) = http.post(
        "/v1/admin/users/kate/roles",
        Some(ROOT),
        &json!({ "roles": ["auditor"] }),
    );
    assert_eq!(status, 200);
    assert_eq!(office.approve("ken", destroy).0, 200);
    let (_, done) = office.approve("kim", destroy);
    assert_eq!(done["status"], "cancelled", "{done}");
    let (_, key) = http.get("/v1/admin/keys/cards", Some(ROOT));
    assert_eq!(key["versions"][0]["state"], "decrypt_only", "{key}");

    // Ken exports; the approvers and an auditor see what was exported, never the export.
    let public = rsa_public_key();
    let export = Office::pending(&http.post(
        "/v1/admin/keys/payroll/export",
        Some(&office.t("ken")),
        &json!({ "public_key": public }),
    ));
    assert_eq!(office.approve("kim", export).0, 200);
    let (_, done) = office.approve("kira", export);
    assert_eq!(done["status"], "executed", "{done}");
    for who in ["kira", "ada"] {
        let (_, seen) = http.get(
            &format!("/v1/admin/approvals/{export}"),
            Some(&office.t(who)),
        );
        assert!(seen["result"].get("wrapped_key").is_none(), "{seen}");
        assert_eq!(seen["result"]["key"], "payroll");
    }
    assert!(done["result"].get("wrapped_key").is_none(), "{done}");
    let (status, mine) = http.post(
        &format!("/v1/admin/approvals/{export}/collect"),
        Some(&office.t("ken")),
        &json!({}),
    );
    assert_eq!(status, 200, "{mine}");
    assert!(mine["wrapped_key"].is_string());
    assert_error(
        &http.post(
            &format!("/v1/admin/approvals/{export}/collect"),
            Some(&office.t("ken")),
            &json!({}),
        ),
        409,
        "nothing_to_collect",
    );
}

/// An RSA-3072 zone public key made with openssl, as PEM.
fn zone_public_key(dir: &std::path::Path) -> String {
    let key = dir.join("zone.pem");
    let status = std::process::Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:3072",
            "-out",
        ])
        .arg(&key)
        .status()
        .unwrap();
    assert!(status.success());
    let out = std::process::Command::new("openssl")
        .args(["pkey", "-pubout", "-in"])
        .arg(&key)
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap()
}

fn rsa_public_key() -> String {
    use rsa::pkcs8::{EncodePublicKey, LineEnding};
    let private = rsa::PrivateKey::new(&mut rand::rng(), 2048).unwrap();
    rsa::PublicKey::from(&private)
        .to_public_key_pem(LineEnding::LF)
        .unwrap()
}

/// What someone with write access to the database does: changes a request's parameters.
fn rewrite_params(office: &Office, id: i64, params: &str) {
    let url = format!("sqlite://{}", office.dir.path().join("kms.db").display());
    let io = &office.server.state.io;
    let pool = io.block_on(sqlx::SqlitePool::connect(&url)).unwrap();
    io.block_on(
        sqlx::query("UPDATE approvals SET params = $1 WHERE id = $2")
            .bind(params)
            .bind(id)
            .execute(&pool),
    )
    .unwrap();
    io.block_on(pool.close());
}
