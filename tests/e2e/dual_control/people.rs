//! Findings 1, 4 (people), 7 and 8 (backup): credentials belong to their person, people
//! operations wait for others, quorums keep their pools, a backup needs a quorum.

use serde_json::json;

use super::{Office, enrol, password, strings};
use crate::support::*;

const STAFF: &[(&str, &str)] = &[
    ("sam", "system_admin"),
    ("kim", "security_admin"),
    ("kira", "security_admin"),
    ("kit", "security_admin"),
    ("ada", "auditor"),
];

/// Finding 1: a system administrator creates an operator and tries to become them. Before
/// enrolment existed, the creator chose the password and received the TOTP secret.
#[test]
fn whoever_creates_an_account_cannot_log_in_as_it() {
    let office = Office::open(STAFF);
    let http = &office.http;
    let sam = office.t("sam");
    // Sam chooses the new person's password: refused (the person sets it).
    let (status, chosen) = http.post(
        "/v1/admin/users",
        Some(&sam),
        &json!({ "name": "puppet", "roles": ["operator"], "password": "sams-puppet-password" }),
    );
    if status == 201 {
        // The attack as it worked: log in as the new account with what the creator was given.
        let secret = kms_control::totp::from_base32(chosen["totp_secret"].as_str().unwrap());
        let code = kms_control::totp::code(
            &secret.unwrap(),
            kms_control::totp::step_at(
                kms_engine::clock::Clock::now(office.clock.as_ref()).millis(),
            ),
        );
        let (login, _) = http.post(
            "/v1/auth/login",
            None,
            &json!({ "user": "puppet", "password": "sams-puppet-password", "totp": code }),
        );
        assert_ne!(
            login, 200,
            "the creator logged in as the account they created"
        );
    }
    assert_eq!(status, 400, "{chosen}");
    assert!(!strings(&chosen).iter().any(|s| s.contains("otpauth")));

    // Without a password: a request, which two other people approve.
    let id = Office::pending(&http.post(
        "/v1/admin/users",
        Some(&sam),
        &json!({ "name": "puppet", "roles": ["operator"] }),
    ));
    let (s, shown) = http.get(&format!("/v1/admin/approvals/{id}"), Some(&sam));
    assert_eq!(s, 200);
    assert_eq!(shown["details"]["roles"], json!(["operator"]), "{shown}");
    assert_error(
        &http.post(
            &format!("/v1/admin/approvals/{id}/approve"),
            Some(&sam),
            &json!({ "params_hash": shown["params_hash"] }),
        ),
        403,
        "self_approval",
    );
    assert_eq!(office.approve("kim", id).0, 200);
    let (status, done) = office.approve("kira", id);
    assert_eq!(
        (status, &done["status"]),
        (200, &json!("executed")),
        "{done}"
    );
    // The approver whose vote ran it holds the second half; the request shows no token to
    // anyone; the requester collects the first half, once.
    let second = done["for_you"]["enrolment"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, listed) = http.get(&format!("/v1/admin/approvals/{id}"), Some(&office.t("kit")));
    assert!(!strings(&listed).contains(&second), "{listed}");
    assert_error(
        &http.post(
            &format!("/v1/admin/approvals/{id}/collect"),
            Some(&office.t("kim")),
            &json!({}),
        ),
        403,
        "not_the_requester",
    );
    let (status, collected) = http.post(
        &format!("/v1/admin/approvals/{id}/collect"),
        Some(&sam),
        &json!({}),
    );
    assert_eq!(status, 200, "{collected}");
    let first = collected["enrolment"]["token"].as_str().unwrap().to_owned();
    assert_eq!(collected["enrolment"]["part"], "first_half");
    assert_error(
        &http.post(
            &format!("/v1/admin/approvals/{id}/collect"),
            Some(&sam),
            &json!({}),
        ),
        409,
        "nothing_to_collect",
    );
    // Sam with his half alone cannot enrol as the new person, nor can kira with hers.
    for half in [&first, &second] {
        assert_error(
            &http.post(
                "/v1/auth/enrol/begin",
                None,
                &json!({ "user": "puppet", "token": half }),
            ),
            401,
            "invalid_enrolment",
        );
    }
    // Nobody can log in as an account nobody enrolled.
    let (login, _) = http.post(
        "/v1/auth/login",
        None,
        &json!({ "user": "puppet", "password": "sams-puppet-password", "totp": "000000" }),
    );
    assert_eq!(login, 401);
    // The person, given both halves, enrols and logs in; the token is then used up.
    let whole = format!("{first}{second}");
    enrol(http, &office.clock, "puppet", &whole);
    assert_error(
        &http.post(
            "/v1/auth/enrol/begin",
            None,
            &json!({ "user": "puppet", "token": whole }),
        ),
        401,
        "invalid_enrolment",
    );
}

/// Finding 1, continued: a person changes their own credentials; an administrator can only end
/// them (a reset), which takes a quorum and ends the person's sessions.
#[test]
fn people_renew_their_own_credentials_and_administrators_can_only_reset_them() {
    let mut office = Office::open(STAFF);
    let ada = office.t("ada");
    // Renewing needs the current password and code.
    office.clock.advance_millis(30_000);
    let code = kms_control::totp::code(
        &office.secret["ada"],
        kms_control::totp::step_at(kms_engine::clock::Clock::now(office.clock.as_ref()).millis()),
    );
    assert_error(
        &office.http.post(
            "/v1/auth/renew",
            None,
            &json!({ "user": "ada", "password": "not her password", "totp": code }),
        ),
        401,
        "invalid_credentials",
    );
    let (status, renewed) = office.http.post(
        "/v1/auth/renew",
        None,
        &json!({ "user": "ada", "password": password("ada"), "totp": code }),
    );
    assert_eq!(status, 200, "{renewed}");
    let token = renewed["enrolment"]["token"].as_str().unwrap().to_owned();
    let old_secret = office.secret["ada"].clone();
    let new_secret = enrol(&office.http, &office.clock, "ada", &token);
    assert_ne!(old_secret, new_secret);
    office.secret.insert("ada".into(), new_secret);
    assert!(office.login("ada").is_ok());

    // A reset by a system administrator waits for two others, then ends the session.
    let id = Office::pending(&office.http.post(
        "/v1/admin/users/ada/reset",
        Some(&office.t("sam")),
        &json!({}),
    ));
    assert_eq!(office.approve("kim", id).0, 200);
    assert_eq!(office.approve("kira", id).0, 200);
    let (status, _) = office.http.get("/v1/admin/audit/verify", Some(&ada));
    assert_eq!(status, 401, "the reset ends the person's sessions");
    assert!(office.login("ada").is_err(), "and their credentials");
}

/// Finding 7: one system administrator strips or disables every other administrator, and
/// fills custodian slots with accounts of their own, at once.
#[test]
fn one_system_administrator_cannot_strip_disable_or_add_people_alone() {
    let office = Office::open(STAFF);
    let http = &office.http;
    let sam = office.t("sam");
    for who in ["kim", "kira", "kit"] {
        let stripped = http.post(
            &format!("/v1/admin/users/{who}/roles"),
            Some(&sam),
            &json!({ "roles": [] }),
        );
        Office::pending(&stripped);
        let disabled = http.post(
            &format!("/v1/admin/users/{who}/disable"),
            Some(&sam),
            &json!({}),
        );
        Office::pending(&disabled);
    }
    let (_, kim) = http.get("/v1/admin/users/kim", Some(&sam));
    assert_eq!(
        (&kim["roles"], &kim["disabled"]),
        (&json!(["security_admin"]), &json!(false))
    );
    // An operator account (a custodian slot) waits for approval too.
    Office::pending(&http.post(
        "/v1/admin/users",
        Some(&sam),
        &json!({ "name": "oscar", "roles": ["operator"] }),
    ));
    // Adding the auditor role alone changes nobody's power: it runs at once.
    let (status, _) = http.post(
        "/v1/admin/users/ada/roles",
        Some(&sam),
        &json!({ "roles": ["auditor"] }),
    );
    assert_eq!(status, 200);
    // Even the bootstrap root token cannot leave fewer security administrators than the master
    // key's ceremonies need (3 by default).
    assert_error(
        &http.post(
            "/v1/admin/users/kit/roles",
            Some(ROOT),
            &json!({ "roles": ["auditor"] }),
        ),
        409,
        "quorum_floor",
    );
    assert_error(
        &http.post("/v1/admin/users/kit/disable", Some(ROOT), &json!({})),
        409,
        "quorum_floor",
    );
}

/// Finding 8 (backups): one security administrator alone takes a copy of the whole store.
#[test]
fn a_backup_needs_a_quorum_and_is_taken_once() {
    let office = Office::open(STAFF);
    let http = &office.http;
    let kim = office.t("kim");
    let (status, alone) = http.post_for_bytes("/v1/admin/backup", Some(&kim));
    assert_eq!(
        status,
        202,
        "a backup taken alone: {} bytes",
        alone.map_or(0, |b| b.len())
    );
    let (_, listed) = http.get("/v1/admin/approvals?pending=true", Some(&kim));
    let id = listed["approvals"][0]["id"].as_i64().unwrap();
    assert_eq!(listed["approvals"][0]["action"], "backup");
    assert_eq!(office.approve("kira", id).0, 200);
    assert_eq!(office.approve("kit", id).0, 200);
    // Another security administrator cannot use kim's approval.
    assert_error(
        &http.post(
            "/v1/admin/backup",
            Some(&office.t("kit")),
            &json!({ "approval": id }),
        ),
        403,
        "not_the_requester",
    );
    let (status, archive) = http.post_json_for_bytes(
        "/v1/admin/backup",
        Some(&kim),
        Some(&json!({ "approval": id })),
    );
    assert_eq!(status, 200);
    assert!(archive.unwrap().len() > 100);
    assert_error(
        &http.post("/v1/admin/backup", Some(&kim), &json!({ "approval": id })),
        409,
        "nothing_to_collect",
    );
}
