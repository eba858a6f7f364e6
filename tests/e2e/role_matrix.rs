//! The role matrix, cell by cell: for every admin endpoint in the access table and every role, a
//! user holding only that role calls it. Allowed: a 2xx answer. Not allowed: 403 `forbidden`,
//! and the refusal is in the audit log. docs/access-control.md shows the same table.

use kms::testing::RunningServer;
use kms_control::access::{self, RULES, Rule};
use kms_engine::audit::Outcome;
use kms_engine::role::{Role, RoleSet};
use kms_engine::store::AuditQuery;
use serde_json::{Value, json};

use crate::docs::{read, routed_paths};
use crate::people::{create_user, enrolled_user, login, people_server};
use crate::support::*;

#[test]
fn the_documented_matrix_is_the_enforced_one_and_covers_every_admin_route() {
    let doc = read("docs/access-control.md");
    assert!(
        doc.contains(&access::markdown_table()),
        "docs/access-control.md does not show the table in control/src/access.rs:\n{}",
        access::markdown_table()
    );
    let routes = read("gateway/src/routes.rs");
    for path in routed_paths(&routes).filter(|p| p.starts_with("/v1/admin/")) {
        assert!(
            RULES.iter().any(|r| r.path == path),
            "{path} is routed but not in the access table"
        );
    }
}

/// Denied audit records of `actor` for `action`; the audit sink writes refusals asynchronously.
fn denied(server: &RunningServer, actor: &str, action: &str) -> usize {
    let store = server.state.control.store.clone();
    let query = AuditQuery {
        actor: Some(actor.into()),
        action: Some(action.into()),
        ..Default::default()
    };
    for _ in 0..100 {
        let q = query.clone();
        let s = store.clone();
        let n = server
            .state
            .io
            .block_on(async move { s.audit_log(&q).await })
            .unwrap()
            .iter()
            .filter(|r| {
                r.event.outcome == Outcome::Denied && r.event.code.as_deref() == Some("forbidden")
            })
            .count();
        if n > 0 {
            return n;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    0
}

struct World {
    http: Http,
    /// A fresh approval request id for a role's vote.
    next: std::cell::Cell<u32>,
    requester_ka: String,
    requester_sys: String,
    /// Where exports are wrapped to.
    public_key: String,
    /// An RSA-3072 zone public key.
    zone_key: String,
}

impl World {
    fn fresh(&self) -> u32 {
        let n = self.next.get() + 1;
        self.next.set(n);
        n
    }

    /// A pending request that `role` may vote on.
    fn approval_for(&self, role: Role) -> i64 {
        let n = self.fresh();
        let (status, body) = if role == Role::SystemAdmin {
            let name = format!("target{n}");
            create_user(&self.http, &name, &[]);
            self.http.post(
                &format!("/v1/admin/users/{name}/roles"),
                Some(&self.requester_sys),
                &json!({ "roles": ["key_admin"] }),
            )
        } else {
            let key = format!("doomed{n}");
            self.http.create_key(&key);
            self.http.post(
                &format!("/v1/admin/keys/{key}/rotate"),
                Some(ROOT),
                &json!({ "reason": "r" }),
            );
            self.http.post(
                &format!("/v1/admin/keys/{key}/versions/1/schedule-destruction"),
                Some(&self.requester_ka),
                &json!({ "reason": "r" }),
            )
        };
        assert_eq!(status, 202, "{body}");
        body["id"].as_i64().unwrap()
    }

    /// A key in the state `action` applies to.
    fn key_for(&self, action: &str) -> String {
        let key = format!("k{}", self.fresh());
        let (s, b) = self.http.post(
            "/v1/admin/keys",
            Some(ROOT),
            &json!({ "name": key, "exportable": action == "export_key" }),
        );
        assert_eq!(s, 201, "{b}");
        for _ in 0..2 {
            self.http.post(
                &format!("/v1/admin/keys/{key}/rotate"),
                Some(ROOT),
                &json!({ "reason": "r" }),
            );
        }
        let setup = match action {
            "enable_version" => Some("disable"),
            "cancel_destruction_version" => Some("schedule-destruction"),
            _ => None,
        };
        if let Some(step) = setup {
            let (s, b) = self.http.post(
                &format!("/v1/admin/keys/{key}/versions/1/{step}"),
                Some(ROOT),
                &json!({ "reason": "setup" }),
            );
            assert_eq!(s, 200, "{b}");
        }
        key
    }

    fn call(&self, rule: &Rule, role: Role, token: &str) -> (u16, Value) {
        let http = &self.http;
        let n = self.fresh();
        let mut path = rule.path.replace("{version}", "1");
        let body = match rule.action {
            "create_key" => json!({ "name": format!("new{n}") }),
            "create_app" => json!({ "name": format!("app{n}") }),
            "create_user" => json!({ "name": format!("person{n}"), "roles": [] }),
            "set_user_roles" => json!({ "roles": ["operator"] }),
            "grant" => json!({ "app": "app0", "operations": ["encrypt"] }),
            "configure_key" => json!({ "rotation_period": "90d", "reason": "r" }),
            "export_key" => json!({ "public_key": self.public_key }),
            // Users' requests wait for approval, so one key serves every call.
            "register_zone" => json!({ "name": format!("zone{n}"), "public_key": self.zone_key }),
            "set_key_policy" => json!({ "rate_limit": { "per_second": 100 } }),
            "rotate_app_token" => json!({ "overlap_seconds": 0 }),
            // A fingerprint of its own per call: a certificate is bound once.
            "bind_app_certificate" => json!({ "fingerprint": format!("{n:064x}") }),
            _ => json!({ "reason": "r" }),
        };
        if path.contains("/v1/admin/keys/{name}") {
            let key = if rule.method == "GET" {
                "base".to_owned()
            } else {
                self.key_for(rule.action)
            };
            path = path.replace("{name}", &key);
        }
        if path.contains("/v1/admin/apps/{name}") {
            let app = format!("app{n}");
            http.create_app(&app);
            path = path.replace("{name}", &app);
        }
        if path.contains("/v1/admin/users/{name}") {
            let user = format!("subject{n}");
            create_user(http, &user, &["operator"]);
            if rule.action == "enable_user" {
                http.post(
                    &format!("/v1/admin/users/{user}/disable"),
                    Some(ROOT),
                    &json!({}),
                );
            }
            path = path.replace("{name}", &user);
        }
        if path.contains("{id}") {
            let id = if matches!(rule.action, "approve" | "reject")
                && RoleSet::of(rule.roles).contains(role)
            {
                self.approval_for(role)
            } else {
                self.approval_for(Role::KeyAdmin)
            };
            path = path.replace("{id}", &id.to_string());
        }
        if rule.action == "backup" {
            // A user's backup waits for approval (dual_control.rs takes one); a refusal is JSON.
            let (status, got) = http.post_for_bytes(&path, Some(token));
            return match got {
                Ok(_) => (status, Value::Null),
                Err(error) => (status, error),
            };
        }
        if rule.action == "approve" {
            return http.vote(token, "approve", id_in(&path));
        }
        match rule.method {
            "GET" => http.get(&path, Some(token)),
            _ => http.post(&path, Some(token), &body),
        }
    }
}

#[test]
fn every_cell_of_the_role_matrix_is_enforced_and_refusals_are_audited() {
    let dir = tempfile::tempdir().unwrap();
    let (server, clock) = people_server(dir.path());
    let http = Http::new(&server);
    http.create_key("base");
    http.create_app("app0");
    let mut tokens = Vec::new();
    for role in Role::ALL {
        let name = format!("only-{role}").replace('_', "-");
        let secret = enrolled_user(&http, &clock, &name, &[role.name()]);
        tokens.push((
            role,
            format!("user:{name}"),
            login(&http, &clock, &name, &secret),
        ));
    }
    let ka = enrolled_user(&http, &clock, "requester-ka", &["key_admin"]);
    let sys = enrolled_user(&http, &clock, "requester-sys", &["system_admin"]);
    let world = World {
        requester_ka: login(&http, &clock, "requester-ka", &ka),
        requester_sys: login(&http, &clock, "requester-sys", &sys),
        http: Http::new(&server),
        next: std::cell::Cell::new(0),
        public_key: public_key_pem(),
        zone_key: kms_engine::zone::ZonePrivateKey::generate()
            .unwrap()
            .public()
            .to_pem(),
    };
    // Revoking the root token ends the setup's credential: that cell goes last.
    let mut rules: Vec<&Rule> = RULES.iter().collect();
    rules.sort_by_key(|r| r.action == "revoke_root_tokens");
    let mut cells = 0;
    for rule in rules {
        let allowed = RoleSet::of(rule.roles);
        // Refusals first (they change nothing), then the allowed calls.
        let mut order = tokens.iter().collect::<Vec<_>>();
        order.sort_by_key(|(role, _, _)| allowed.contains(*role));
        for (role, actor, token) in order {
            let got = world.call(rule, *role, token);
            if allowed.contains(*role) && rule.action == "collect_approval_result" {
                // Only a request's requester collects, once: the table let the call through.
                assert_ne!(got.1["error"]["code"], "forbidden", "{role}: {}", got.1);
            } else if allowed.contains(*role) {
                assert!(
                    (200..300).contains(&got.0),
                    "{} {} as {role}: expected success, got {} {}",
                    rule.method,
                    rule.path,
                    got.0,
                    got.1
                );
            } else {
                assert_eq!(
                    (got.0, got.1["error"]["code"].as_str()),
                    (403, Some("forbidden")),
                    "{} {} as {role}: {}",
                    rule.method,
                    rule.path,
                    got.1
                );
                assert!(
                    denied(&server, actor, rule.action) > 0,
                    "{role} refused {} but the refusal is not audited",
                    rule.action
                );
            }
            cells += 1;
        }
    }
    assert_eq!(cells, RULES.len() * Role::ALL.len());
}

/// The request id in `/v1/admin/approvals/{id}/...`.
fn id_in(path: &str) -> i64 {
    path.split('/').nth(4).unwrap().parse().unwrap()
}

fn public_key_pem() -> String {
    use rsa::pkcs8::{DecodePrivateKey, EncodePublicKey, LineEnding};
    let der =
        kms_engine::crypto::generate_key_pair(kms_engine::algorithm::Algorithm::Rsa2048).unwrap();
    rsa::PrivateKey::from_pkcs8_der(der.expose())
        .unwrap()
        .to_public_key()
        .to_public_key_pem(LineEnding::LF)
        .unwrap()
}
