//! Approvals: a sensitive action asked for by a user runs only after a quorum of other users with
//! the right roles approve; self-approval, voting twice, the wrong role, expiry, rejection and
//! replay are all refused.

use serde_json::json;

use crate::people::{Staffed, create_user, enrolled_user, login, staffed};
use crate::support::*;

#[test]
fn a_destruction_waits_for_two_other_key_admins_and_runs_once() {
    let Staffed {
        dir: _dir,
        server: _server,
        clock,
        http,
        token,
    } = staffed(&[
        ("ka1", "key_admin"),
        ("ka2", "key_admin"),
        ("ka3", "key_admin"),
        ("ka4", "key_admin"),
        ("aud", "auditor"),
    ]);
    let t = |n: &str| token[n].clone();
    http.create_key("cards");
    for _ in 0..2 {
        let (s, _) = http.post(
            "/v1/admin/keys/cards/rotate",
            Some(&t("ka1")),
            &json!({ "reason": "r" }),
        );
        assert_eq!(s, 200);
    }
    let destroy = |who: &str, version: u32| {
        http.post(
            &format!("/v1/admin/keys/cards/versions/{version}/schedule-destruction"),
            Some(&t(who)),
            &json!({ "reason": "retired" }),
        )
    };
    let (status, pending) = destroy("ka1", 1);
    assert_eq!(status, 202, "{pending}");
    assert_eq!(pending["status"], "pending");
    assert_eq!(pending["quorum"], 2);
    let id = pending["id"].as_i64().unwrap();
    let vote = |who: &str, how: &str, id: i64| http.vote(&t(who), how, id);
    // Nothing happened yet.
    let (_, key) = http.get("/v1/admin/keys/cards", Some(ROOT));
    assert_eq!(key["versions"][0]["state"], "decrypt_only", "{key}");

    assert_error(&vote("ka1", "approve", id), 403, "self_approval");
    assert_error(&vote("aud", "approve", id), 403, "forbidden");
    // A system administrator may vote in general, but not on a key's destruction.
    let secret = enrolled_user(&http, &clock, "sys", &["system_admin"]);
    let sys = login(&http, &clock, "sys", &secret);
    assert_error(&http.vote(&sys, "approve", id), 403, "not_an_approver");
    let (status, after_one) = vote("ka2", "approve", id);
    assert_eq!(
        (status, &after_one["approvals"], &after_one["status"]),
        (200, &json!(1), &json!("pending"))
    );
    assert_error(&vote("ka2", "approve", id), 409, "already_voted");
    let (status, done) = vote("ka3", "approve", id);
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["status"], "executed", "{done}");
    assert_eq!(
        done["result"]["versions"][0]["state"], "scheduled_for_destruction",
        "{done}"
    );
    // Replay: the request ran once and takes no more votes.
    assert_error(&vote("ka4", "approve", id), 409, "approval_closed");
    let (_, shown) = http.get(&format!("/v1/admin/approvals/{id}"), Some(&t("aud")));
    assert_eq!(shown["votes"].as_array().unwrap().len(), 2);

    // A request expires (24 hours by default).
    let (_, second) = destroy("ka1", 2);
    let second = second["id"].as_i64().unwrap();
    clock.advance_millis(25 * 3600 * 1000);
    let secret = enrolled_user(&http, &clock, "late", &["key_admin"]);
    let late = login(&http, &clock, "late", &secret);
    assert_error(
        &http.vote(&late, "approve", second),
        409,
        "approval_expired",
    );
    let (_, listed) = http.get("/v1/admin/approvals", Some(&late));
    assert_eq!(listed["approvals"][0]["status"], "expired", "{listed}");

    // The root token (bootstrap) acts without approval.
    let (status, _) = http.post(
        "/v1/admin/keys/cards/versions/2/schedule-destruction",
        Some(ROOT),
        &json!({ "reason": "bootstrap" }),
    );
    assert_eq!(status, 200);
}

#[test]
fn adding_an_administrator_needs_approval_and_a_rejection_ends_the_request() {
    let Staffed {
        dir: _dir,
        server: _server,
        clock: _clock,
        http,
        token,
    } = staffed(&[
        ("sys1", "system_admin"),
        ("sys2", "system_admin"),
        ("sys3", "system_admin"),
    ]);
    create_user(&http, "newbie", &["operator"]);
    let t = |n: &str| token[n].clone();
    let ask = || {
        http.post(
            "/v1/admin/users/newbie/roles",
            Some(&t("sys1")),
            &json!({ "roles": ["operator", "key_admin"] }),
        )
    };
    let vote = |who: &str, how: &str, id: i64| http.vote(&t(who), how, id);
    // Non-administrator roles need no approval.
    let (status, _) = http.post(
        "/v1/admin/users/newbie/roles",
        Some(&t("sys1")),
        &json!({ "roles": ["operator", "auditor"] }),
    );
    assert_eq!(status, 200);

    let (status, first) = ask();
    assert_eq!(status, 202);
    let first = first["id"].as_i64().unwrap();
    let (status, rejected) = vote("sys2", "reject", first);
    assert_eq!((status, &rejected["status"]), (200, &json!("rejected")));
    assert_error(&vote("sys3", "approve", first), 409, "approval_closed");
    let (_, user) = http.get("/v1/admin/users/newbie", Some(ROOT));
    assert_eq!(user["roles"], json!(["auditor", "operator"]));

    let (_, second) = ask();
    let second = second["id"].as_i64().unwrap();
    vote("sys2", "approve", second);
    let (status, done) = vote("sys3", "approve", second);
    assert_eq!(
        (status, &done["status"]),
        (200, &json!("executed")),
        "{done}"
    );
    let (_, user) = http.get("/v1/admin/users/newbie", Some(ROOT));
    assert_eq!(user["roles"], json!(["key_admin", "operator"]));
    // The root token is no approver.
    let (_, third) = http.post(
        "/v1/admin/users/sys1/roles",
        Some(&t("sys2")),
        &json!({ "roles": ["system_admin", "security_admin"] }),
    );
    let third = third["id"].as_i64().unwrap();
    assert_error(&http.vote(ROOT, "approve", third), 403, "not_an_approver");
}

#[test]
fn an_exportable_key_leaves_wrapped_to_the_requester_after_two_approvals() {
    use base64::Engine as _;
    use hmac::{KeyInit, Mac};
    use kms_engine::algorithm::Algorithm;
    use kms_engine::crypto::aead::AeadKey;
    use kms_engine::secret::KeyMaterial;
    use rsa::pkcs8::{DecodePrivateKey, EncodePublicKey, LineEnding};

    let Staffed {
        dir: _dir,
        server: _server,
        clock: _clock,
        http,
        token,
    } = staffed(&[
        ("ka1", "key_admin"),
        ("ka2", "key_admin"),
        ("sec", "security_admin"),
    ]);
    let t = |n: &str| token[n].clone();
    let create = |name: &str, exportable: bool| {
        http.post(
            "/v1/admin/keys",
            Some(&t("ka1")),
            &json!({ "name": name, "algorithm": "hmac-sha256", "exportable": exportable }),
        )
    };
    assert_eq!(create("tokens", true).0, 201);
    assert_eq!(create("sealed", false).0, 201);
    let der = kms_engine::crypto::generate_key_pair(Algorithm::Rsa2048).unwrap();
    let private = rsa::PrivateKey::from_pkcs8_der(der.expose()).unwrap();
    let pem = private
        .to_public_key()
        .to_public_key_pem(LineEnding::LF)
        .unwrap();
    let export = |key: &str, public_key: &str| {
        http.post(
            &format!("/v1/admin/keys/{key}/export"),
            Some(&t("ka1")),
            &json!({ "public_key": public_key }),
        )
    };
    assert_error(&export("sealed", &pem), 400, "not_exportable");
    let (status, pending) = export("tokens", &pem);
    assert_eq!(status, 202, "{pending}");
    let id = pending["id"].as_i64().unwrap();
    let vote = |who: &str| http.vote(&t(who), "approve", id);
    assert_eq!(vote("ka2").1["status"], "pending");
    let (status, done) = vote("sec");
    assert_eq!(
        (status, &done["status"]),
        (200, &json!("executed")),
        "{done}"
    );
    // The material goes to the requester alone, once; the request shows what was exported.
    assert!(done["result"].get("wrapped_key").is_none(), "{done}");
    let (status, mut out) = http.post(
        &format!("/v1/admin/approvals/{id}/collect"),
        Some(&t("ka1")),
        &json!({}),
    );
    assert_eq!(status, 200, "{out}");
    out["aad"] = done["result"]["aad"].clone();

    // The requester unwraps it with their private key...
    let bytes = |v: &serde_json::Value| unb64(v.as_str().unwrap());
    let transport = private
        .decrypt_blinded(
            &mut rand::rng(),
            rsa::Oaep::<rsa::sha2::Sha256>::new(),
            &bytes(&out["wrapped_key"]),
        )
        .unwrap();
    let aead = AeadKey::new(Algorithm::Aes256Gcm, false, &KeyMaterial::new(transport)).unwrap();
    let material = aead
        .open(
            out["aad"].as_str().unwrap().as_bytes(),
            bytes(&out["ciphertext"]),
        )
        .unwrap();
    // ...and it is the key: an HMAC computed with it matches the KMS's.
    let app = http.create_app("signer");
    http.grant("tokens", "signer", &["hmac"]);
    let (_, mac) = http.post(
        "/v1/keys/tokens/hmac",
        Some(&app),
        &json!({ "input": b64(b"pan-4111") }),
    );
    let theirs = mac["hmac"]
        .as_str()
        .unwrap()
        .rsplit(':')
        .next()
        .unwrap()
        .to_owned();
    let mut ours = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(&material).unwrap();
    ours.update(b"pan-4111");
    let ours = base64::engine::general_purpose::STANDARD.encode(ours.finalize().into_bytes());
    assert_eq!(theirs.trim_end_matches('='), ours.trim_end_matches('='));

    // A weak or malformed public key is refused when the export runs (root runs it at once).
    let (_, small) = http.post(
        "/v1/admin/keys/tokens/export",
        Some(ROOT),
        &json!({ "public_key": "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----" }),
    );
    assert_eq!(small["error"]["code"], "invalid_request", "{small}");
}

#[test]
fn tightening_a_usage_policy_is_immediate_and_loosening_it_waits_for_approval() {
    let Staffed {
        dir: _dir,
        server: _server,
        clock: _clock,
        http,
        token,
    } = staffed(&[
        ("ka1", "key_admin"),
        ("ka2", "key_admin"),
        ("sec", "security_admin"),
    ]);
    http.create_key("cards");
    let set = |policy: serde_json::Value| {
        http.post("/v1/admin/keys/cards/policy", Some(&token["ka1"]), &policy)
    };
    let (status, body) =
        set(json!({ "allowed_cidrs": ["10.0.0.0/8"], "rate_limit": { "per_second": 100 } }));
    assert_eq!(status, 200, "{body}");
    let (status, _) =
        set(json!({ "allowed_cidrs": ["10.1.0.0/16"], "rate_limit": { "per_second": 10 } }));
    assert_eq!(status, 200, "narrower is immediate");
    let (status, pending) = set(json!({}));
    assert_eq!(status, 202, "removing waits: {pending}");
    let id = pending["id"].as_i64().unwrap();
    let (_, key) = http.get("/v1/admin/keys/cards", Some(ROOT));
    assert_eq!(
        key["policy"]["allowed_cidrs"],
        json!(["10.1.0.0/16"]),
        "{key}"
    );
    for who in ["ka2", "sec"] {
        http.vote(&token[who], "approve", id);
    }
    let (_, key) = http.get("/v1/admin/keys/cards", Some(ROOT));
    assert_eq!(key["policy"], json!(null), "{key}");
}

#[test]
fn people_holding_security_admin_and_operator_run_a_master_key_ceremony() {
    let Staffed {
        dir: _dir,
        server: _server,
        clock: _clock,
        http,
        token,
    } = staffed(&[
        ("sa1", "security_admin"),
        ("sa2", "security_admin"),
        ("sa3", "security_admin"),
        ("op1", "operator"),
        ("ka", "key_admin"),
    ]);
    let (_, before) = http.get("/v1/hsm/status", Some(ROOT));
    let keys =
        |status: &serde_json::Value| status["tokens"][0]["master_keys"].as_array().unwrap().len();
    let rotate = json!({ "operation": "rotate" });
    // Only custodians start ceremonies: neither a key administrator nor the root token is one.
    assert_error(
        &http.post("/v1/hsm/ceremonies", Some(&token["ka"]), &rotate),
        403,
        "not_a_custodian",
    );
    assert_error(
        &http.post("/v1/hsm/ceremonies", Some(ROOT), &rotate),
        403,
        "not_a_custodian",
    );
    let (status, started) = http.post("/v1/hsm/ceremonies", Some(&token["sa1"]), &rotate);
    assert_eq!(status, 201, "{started}");
    let id = started["id"].as_str().unwrap().to_owned();
    let approve = |who: &str| {
        http.post(
            &format!("/v1/hsm/ceremonies/{id}/approve"),
            Some(&token[who]),
            &json!({}),
        )
    };
    for who in ["sa1", "sa2", "op1"] {
        let (status, body) = approve(who);
        assert_eq!(status, 200, "{body}");
        assert!(body["result"].is_null(), "ran before the quorum: {body}");
    }
    assert_error(&approve("sa2"), 409, "already_approved");
    // The third security administrator completes 3 security_admin + 1 operator.
    let (status, done) = approve("sa3");
    assert_eq!(status, 200, "{done}");
    assert!(!done["result"].is_null(), "{done}");
    let (_, after) = http.get("/v1/hsm/status", Some(ROOT));
    assert_eq!(keys(&after), keys(&before) + 1, "{after}");
}
