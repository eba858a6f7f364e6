//! People: users with roles, TOTP at every login, sessions that expire, lockout after failed
//! logins, and revoking the bootstrap root token. Time is a manual clock, so TOTP codes are
//! computed for a fixed instant.

use std::sync::Arc;

use kms::testing::RunningServer;
use kms_control::totp;
use kms_engine::clock::{Clock, ManualClock, Timestamp};
use serde_json::{Value, json};

use crate::support::*;

pub const PASSWORD: &str = "correct horse battery";

/// A dev server on a manual clock.
pub fn people_server(dir: &std::path::Path) -> (RunningServer, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(Timestamp::from_millis(1_800_000_000_000)));
    let c: Arc<dyn Clock> = clock.clone();
    let server = dev_server_with(dir, |o| o.clock = c);
    (server, clock)
}

/// Creates a user with the root token (bootstrap: it gets the whole enrolment token); returns the
/// token, for a test whose person need not log in.
pub fn create_user(http: &Http, name: &str, roles: &[&str]) -> String {
    let (status, body) = http.post(
        "/v1/admin/users",
        Some(ROOT),
        &json!({ "name": name, "roles": roles }),
    );
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["user"]["enrolled"], false, "{body}");
    body["enrolment"]["token"].as_str().unwrap().to_owned()
}

/// The person enrols with their token: their own TOTP secret (returned) and [`PASSWORD`].
pub fn enrol(http: &Http, clock: &ManualClock, name: &str, token: &str) -> Vec<u8> {
    let (status, offered) = http.post(
        "/v1/auth/enrol/begin",
        None,
        &json!({ "user": name, "token": token }),
    );
    assert_eq!(status, 200, "{offered}");
    assert!(
        offered["totp_uri"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/kms:")
    );
    let secret = totp::from_base32(offered["totp_secret"].as_str().unwrap()).unwrap();
    let code = totp::code(&secret, totp::step_at(clock.now().millis()));
    let (status, body) = http.post(
        "/v1/auth/enrol/complete",
        None,
        &json!({ "user": name, "token": token, "password": PASSWORD, "totp": code }),
    );
    assert_eq!(status, 204, "{body}");
    secret
}

/// Creates a user with the root token and enrols them; returns their TOTP secret.
pub fn enrolled_user(http: &Http, clock: &ManualClock, name: &str, roles: &[&str]) -> Vec<u8> {
    let token = create_user(http, name, roles);
    enrol(http, clock, name, &token)
}

pub fn login_with(http: &Http, name: &str, password: &str, code: &str) -> (u16, Value) {
    http.post(
        "/v1/auth/login",
        None,
        &json!({ "user": name, "password": password, "totp": code }),
    )
}

/// Logs in with the current code (moving the clock a step on, so each login has a fresh code).
pub fn login(http: &Http, clock: &ManualClock, name: &str, secret: &[u8]) -> String {
    clock.advance_millis(totp::STEP_SECONDS * 1000);
    let code = totp::code(secret, totp::step_at(clock.now().millis()));
    let (status, body) = login_with(http, name, PASSWORD, &code);
    assert_eq!(status, 200, "{body}");
    body["token"].as_str().unwrap().to_owned()
}

/// Creates users with one role each and logs them in; returns their session tokens by name.
pub fn team(
    http: &Http,
    clock: &ManualClock,
    people: &[(&str, &str)],
) -> std::collections::HashMap<String, String> {
    people
        .iter()
        .map(|(name, role)| {
            let secret = enrolled_user(http, clock, name, &[role]);
            ((*name).to_owned(), login(http, clock, name, &secret))
        })
        .collect()
}

/// A dev server on a manual clock with `people` logged in.
pub struct Staffed {
    pub dir: tempfile::TempDir,
    pub server: RunningServer,
    pub clock: Arc<ManualClock>,
    pub http: Http,
    /// Session tokens by name.
    pub token: std::collections::HashMap<String, String>,
}

pub fn staffed(people: &[(&str, &str)]) -> Staffed {
    let dir = tempfile::tempdir().unwrap();
    let (server, clock) = people_server(dir.path());
    let http = Http::new(&server);
    let token = team(&http, &clock, people);
    Staffed {
        dir,
        server,
        clock,
        http,
        token,
    }
}

#[test]
fn a_login_needs_the_password_and_a_fresh_totp_code_and_opens_an_expiring_session() {
    let dir = tempfile::tempdir().unwrap();
    let (server, clock) = people_server(dir.path());
    let http = Http::new(&server);
    let secret = enrolled_user(&http, &clock, "ann", &["key_admin"]);
    // The enrolment used this step's code: a login needs the next one.
    clock.advance_millis(totp::STEP_SECONDS * 1000);
    let now = || clock.now().millis();
    let code = totp::code(&secret, totp::step_at(now()));

    assert_error(
        &login_with(&http, "ann", "wrong password!", &code),
        401,
        "invalid_credentials",
    );
    assert_error(
        &login_with(&http, "ann", PASSWORD, "123456x"),
        401,
        "invalid_credentials",
    );
    let long = "x".repeat(100_000);
    assert_error(
        &login_with(&http, &long, PASSWORD, &code),
        401,
        "invalid_credentials",
    );
    // A name no user could have is audited as anonymous, not copied into the log.
    let anonymous = crate::access::audit(&server, "anonymous");
    assert!(anonymous.iter().any(|r| r.event.action == "login"));
    assert!(
        crate::access::audit(&server, "")
            .iter()
            .all(|r| r.event.actor.len() < 200)
    );
    assert_error(
        &login_with(&http, "nobody", PASSWORD, &code),
        401,
        "invalid_credentials",
    );
    let (status, body) = login_with(&http, "ann", PASSWORD, &code);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["roles"], json!(["key_admin"]));
    let token = body["token"].as_str().unwrap().to_owned();
    // The same code twice is refused, even with the right password.
    assert_error(
        &login_with(&http, "ann", PASSWORD, &code),
        401,
        "invalid_credentials",
    );

    // The session works for what the role allows, and not for the rest.
    let (status, _) = http.post("/v1/admin/keys", Some(&token), &json!({ "name": "k1" }));
    assert_eq!(status, 201);
    assert_error(&http.get("/v1/admin/users", Some(&token)), 403, "forbidden");
    // Users never reach the data plane, nor Transit's key management (root token only).
    assert_error(
        &http.encrypt(&token, "k1", b"x", None),
        403,
        "operation_not_granted",
    );
    let (status, body) = http.post("/v1/transit/keys/t1", Some(&token), &json!({}));
    assert_eq!(status, 403, "{body}");

    // Sessions expire (30 minutes by default).
    clock.advance_millis(31 * 60 * 1000);
    assert_error(
        &http.get("/v1/admin/keys", Some(&token)),
        401,
        "session_expired",
    );

    // Logout ends a session at once.
    let token = login(&http, &clock, "ann", &secret);
    let (status, _) = http.post("/v1/auth/logout", Some(&token), &json!({}));
    assert_eq!(status, 204);
    assert_error(
        &http.get("/v1/admin/keys", Some(&token)),
        401,
        "invalid_token",
    );
}

#[test]
fn repeated_failures_lock_the_account_for_a_while() {
    let dir = tempfile::tempdir().unwrap();
    let (server, clock) = people_server(dir.path());
    let http = Http::new(&server);
    let secret = enrolled_user(&http, &clock, "bob", &["auditor"]);
    for _ in 0..5 {
        let code = totp::code(&secret, totp::step_at(clock.now().millis()));
        assert_error(
            &login_with(&http, "bob", "not the password", &code),
            401,
            "invalid_credentials",
        );
    }
    let code = totp::code(&secret, totp::step_at(clock.now().millis()));
    assert_error(
        &login_with(&http, "bob", PASSWORD, &code),
        423,
        "account_locked",
    );
    let (_, user) = http.get("/v1/admin/users/bob", Some(ROOT));
    assert!(user["locked_until"].is_string(), "{user}");
    // After the lockout (15 minutes by default) the right credentials work again.
    clock.advance_millis(16 * 60 * 1000);
    login(&http, &clock, "bob", &secret);

    // A disabled user cannot log in, and their sessions end.
    let token = login(&http, &clock, "bob", &secret);
    let (status, _) = http.post("/v1/admin/users/bob/disable", Some(ROOT), &json!({}));
    assert_eq!(status, 200);
    assert_error(
        &http.get("/v1/admin/audit", Some(&token)),
        401,
        "invalid_token",
    );
    clock.advance_millis(30_000);
    let code = totp::code(&secret, totp::step_at(clock.now().millis()));
    assert_error(
        &login_with(&http, "bob", PASSWORD, &code),
        403,
        "account_disabled",
    );
}

#[test]
fn users_are_validated_and_the_root_token_can_be_revoked() {
    let dir = tempfile::tempdir().unwrap();
    let (server, clock) = people_server(dir.path());
    let http = Http::new(&server);
    let body = |name: &str, roles: Value| json!({ "name": name, "roles": roles });
    let post = |b: &Value| http.post("/v1/admin/users", Some(ROOT), b);
    // The creator sets no password: the person does, at enrolment, and not a short one.
    assert_error(
        &post(&json!({ "name": "eve", "password": PASSWORD, "roles": [] })),
        400,
        "invalid_json",
    );
    let eve = create_user(&http, "eve", &[]);
    let (status, _) = http.post(
        "/v1/auth/enrol/begin",
        None,
        &json!({ "user": "eve", "token": eve }),
    );
    assert_eq!(status, 200);
    assert_error(
        &http.post(
            "/v1/auth/enrol/complete",
            None,
            &json!({ "user": "eve", "token": eve, "password": "short", "totp": "000000" }),
        ),
        400,
        "weak_password",
    );
    assert_error(
        &post(&body("eve2", json!(["root"]))),
        400,
        "invalid_request",
    );
    assert_error(&post(&body("a b", json!([]))), 400, "invalid_name");
    let admin = enrolled_user(&http, &clock, "sam", &["system_admin"]);
    assert_error(&post(&body("sam", json!([]))), 409, "user_exists");

    // A system administrator's new account waits for approval (kms_control::approvals).
    let token = login(&http, &clock, "sam", &admin);
    let (status, _) = http.post(
        "/v1/admin/users",
        Some(&token),
        &body("kim", json!(["key_admin"])),
    );
    assert_eq!(status, 202);
    // The TOTP secret is not stored in the clear.
    let mut db = std::fs::read(dir.path().join("kms.db")).unwrap();
    db.extend(std::fs::read(dir.path().join("kms.db-wal")).unwrap_or_default());
    let secret_b32 = totp::base32(&admin);
    assert!(!db.windows(admin.len()).any(|w| w == admin.as_slice()));
    assert!(
        !db.windows(secret_b32.len())
            .any(|w| w == secret_b32.as_bytes())
    );

    // The KMS's own keys (TOTP and audit seal keys, made on first use) are out of reach, even
    // for the root token, on every API.
    for (path, status, code) in [
        ("/v1/admin/keys/kms-system.totp", 404, "key_not_found"),
        ("/v1/keys/kms-system.totp/encrypt", 404, "key_not_found"),
        // Transit answers any call on a missing key but a read with 400, as Vault does.
        ("/v1/transit/keys/kms-system.audit-seal", 400, ""),
    ] {
        let got = if path.starts_with("/v1/admin") {
            http.get(path, Some(ROOT))
        } else {
            http.post(path, Some(ROOT), &json!({ "plaintext": "AA==" }))
        };
        assert_eq!(got.0, status, "{path}: {}", got.1);
        if !code.is_empty() {
            assert_eq!(got.1["error"]["code"], code, "{path}");
        }
    }
    assert_error(
        &http.post(
            "/v1/admin/keys",
            Some(ROOT),
            &json!({ "name": "kms-system.mine" }),
        ),
        400,
        "reserved_name",
    );
    for path in ["/v1/admin/keys", "/v1/transit/keys?list=true"] {
        let (_, keys) = http.get(path, Some(ROOT));
        assert!(!keys.to_string().contains("kms-system."), "{path}: {keys}");
    }

    let (status, body) = http.post("/v1/admin/root-tokens/revoke", Some(&token), &json!({}));
    assert_eq!((status, &body["revoked"]), (200, &json!(1)), "{body}");
    assert_error(
        &http.get("/v1/admin/keys", Some(ROOT)),
        401,
        "invalid_token",
    );
}
