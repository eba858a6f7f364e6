//! Dual control, tried as an attacker with an ordinary account would: each
//! test is the attack, and passes only if it fails. One person holding one role, and the accounts
//! they created, must not complete anything that needs a quorum, nor reach business data or a
//! credential that is not theirs.

mod keys;
mod logins;
mod people;
pub mod shares;
mod shares_cli;
mod shares_quorum;

use std::collections::HashMap;
use std::sync::Arc;

use kms::testing::RunningServer;
use kms_control::totp;
use kms_engine::clock::{Clock, ManualClock, Timestamp};
use serde_json::{Value, json};

use crate::support::*;

/// Everyone's password in these tests (each person chose it themselves, at enrolment).
pub fn password(name: &str) -> String {
    format!("{name}-chosen-password")
}

/// A server on a manual clock, and the people of an office: each created by the root token
/// (bootstrap) and enrolled by themselves; their TOTP secrets and sessions by name.
pub struct Office {
    pub dir: tempfile::TempDir,
    pub server: RunningServer,
    pub clock: Arc<ManualClock>,
    pub http: Http,
    pub secret: HashMap<String, Vec<u8>>,
    pub session: HashMap<String, String>,
}

/// Enrols `name` with an enrolment token, as the person does; returns their TOTP secret.
pub fn enrol(http: &Http, clock: &ManualClock, name: &str, token: &str) -> Vec<u8> {
    let (status, offered) = http.post(
        "/v1/auth/enrol/begin",
        None,
        &json!({ "user": name, "token": token }),
    );
    assert_eq!(status, 200, "{offered}");
    let secret = totp::from_base32(offered["totp_secret"].as_str().unwrap()).unwrap();
    let code = totp::code(&secret, totp::step_at(clock.now().millis()));
    let (status, body) = http.post(
        "/v1/auth/enrol/complete",
        None,
        &json!({ "user": name, "token": token, "password": password(name), "totp": code }),
    );
    assert_eq!(status, 204, "{body}");
    secret
}

impl Office {
    pub fn open(people: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::new(Timestamp::from_millis(1_800_000_000_000)));
        let c: Arc<dyn Clock> = clock.clone();
        let server = dev_server_with(dir.path(), |o| o.clock = c);
        let http = Http::new(&server);
        let mut office = Self {
            dir,
            server,
            clock,
            http,
            secret: HashMap::new(),
            session: HashMap::new(),
        };
        for (name, role) in people {
            let (status, made) = office.http.post(
                "/v1/admin/users",
                Some(ROOT),
                &json!({ "name": name, "roles": [role] }),
            );
            let secret =
                if status == 400 && made["error"]["message"].to_string().contains("password") {
                    // A server from before enrolment (the attacks below are run against it to see
                    // them succeed there): the creator chose the password and got the secret.
                    let (status, made) = office.http.post(
                        "/v1/admin/users",
                        Some(ROOT),
                        &json!({ "name": name, "roles": [role], "password": password(name) }),
                    );
                    assert_eq!(status, 201, "{made}");
                    totp::from_base32(made["totp_secret"].as_str().unwrap()).unwrap()
                } else {
                    assert_eq!(status, 201, "{made}");
                    let token = made["enrolment"]["token"].as_str().unwrap().to_owned();
                    enrol(&office.http, &office.clock, name, &token)
                };
            office.secret.insert((*name).to_owned(), secret);
            let session = office.login(name).expect("a new person logs in");
            office.session.insert((*name).to_owned(), session);
        }
        office
    }

    /// The session of `name`.
    pub fn t(&self, name: &str) -> String {
        self.session[name].clone()
    }

    /// Logs `name` in with their password and current code (a fresh step each time).
    pub fn login(&self, name: &str) -> Result<String, (u16, Value)> {
        self.clock.advance_millis(totp::STEP_SECONDS * 1000);
        let code = totp::code(&self.secret[name], totp::step_at(self.clock.now().millis()));
        let (status, body) = self.http.post(
            "/v1/auth/login",
            None,
            &json!({ "user": name, "password": password(name), "totp": code }),
        );
        if status == 200 {
            Ok(body["token"].as_str().unwrap().to_owned())
        } else {
            Err((status, body))
        }
    }

    /// Approves request `id` as `who`, naming the parameters hash the request shows them.
    pub fn approve(&self, who: &str, id: i64) -> (u16, Value) {
        let (status, shown) = self
            .http
            .get(&format!("/v1/admin/approvals/{id}"), Some(&self.t(who)));
        assert_eq!(status, 200, "{shown}");
        self.http.post(
            &format!("/v1/admin/approvals/{id}/approve"),
            Some(&self.t(who)),
            &json!({ "params_hash": shown["params_hash"] }),
        )
    }

    /// The id of a `202` answer's request.
    pub fn pending(answer: &(u16, Value)) -> i64 {
        assert_eq!(
            answer.0, 202,
            "expected a request waiting for approval: {}",
            answer.1
        );
        answer.1["id"].as_i64().unwrap()
    }
}

/// Every string anywhere in `v`.
pub fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a.iter().flat_map(strings).collect(),
        Value::Object(o) => o.values().flat_map(strings).collect(),
        _ => Vec::new(),
    }
}
