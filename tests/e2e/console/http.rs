//! The console over plain HTTP: its headers, the session cookie the login form sets, CSRF
//! refusals, and the API's own 403 for what a role may not do.

// The key page's chart over time.
mod usage;

use std::sync::Arc;

use kms_control::totp;
use kms_engine::clock::{Clock, ManualClock, Timestamp};
use serde_json::json;

use super::{Console, refusals};
use crate::people::{PASSWORD, enrolled_user, login, people_server};
use crate::support::*;

#[test]
fn console_pages_forbid_inline_code_and_framing_and_the_login_sets_a_strict_cookie() {
    let dir = tempfile::tempdir().unwrap();
    let (server, clock) = people_server(dir.path());
    let http = Http::new(&server);
    let secret = enrolled_user(&http, &clock, "kim", &["key_admin"]);
    let console = Console::new(&server.url(""));

    for path in [
        "/ui/login",
        "/ui/static/console.css",
        "/ui/nowhere",
        "/ui/keys",
    ] {
        let page = console.get(path);
        let csp = page.header("content-security-policy");
        for part in [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "frame-ancestors 'none'",
            "form-action 'self'",
        ] {
            assert!(csp.contains(part), "{path}: {csp}");
        }
        assert!(!csp.contains("unsafe"), "{path}: {csp}");
        assert_eq!(page.header("x-frame-options"), "DENY", "{path}");
        assert_eq!(page.header("x-content-type-options"), "nosniff", "{path}");
    }
    // Without a session, a page sends the person to the login form.
    let keys = console.get("/ui/keys");
    assert_eq!(keys.status, 303);
    assert_eq!(keys.header("location"), "/ui/login");
    let form = console.get("/ui/login");
    assert_eq!(form.status, 200);
    assert!(!form.body.contains("<script>") && !form.body.contains("style="));

    // A wrong code: the API's refusal, and no cookie.
    clock.advance_millis(totp::STEP_SECONDS * 1000);
    let code = totp::code(&secret, totp::step_at(clock.now().millis()));
    let wrong = console.submit(
        "/ui/login",
        &[("user", "kim"), ("password", PASSWORD), ("totp", "000000x")],
    );
    assert_eq!(wrong.status, 401, "{}", wrong.body);
    assert!(wrong.body.contains("invalid_credentials"));
    assert!(wrong.header("set-cookie").is_empty());
    // A login form posted from another site is refused before any password is checked.
    let foreign = console.post(
        "/ui/login",
        Some("https://evil.example"),
        &[("user", "kim"), ("password", PASSWORD), ("totp", &code)],
    );
    assert_eq!(foreign.status, 403, "{}", foreign.body);
    assert!(foreign.body.contains("csrf_refused"));

    let opened = console.submit(
        "/ui/login",
        &[("user", "kim"), ("password", PASSWORD), ("totp", &code)],
    );
    assert_eq!(opened.status, 303, "{}", opened.body);
    let cookie = opened.header("set-cookie");
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/ui"] {
        assert!(cookie.contains(flag), "{cookie}");
    }
    // Plain HTTP here: `Secure` is set on a TLS listener only.
    assert!(!cookie.contains("Secure"), "{cookie}");
    let token = cookie
        .strip_prefix("kms_console=")
        .and_then(|c| c.split(';').next())
        .unwrap();
    // The cookie is the API's session: it works there, as this person.
    let (status, _) = http.get("/v1/admin/keys", Some(token));
    assert_eq!(status, 200);

    let mut signed_in = Console::new(&server.url(""));
    signed_in.session = Some(token.to_owned());
    let home = signed_in.get("/ui");
    assert_eq!(home.status, 200);
    assert!(home.body.contains("user:kim"), "{}", home.body);
    // Logging out ends the API session too.
    let csrf = home.csrf();
    let out = signed_in.submit("/ui/logout", &[("csrf", &csrf)]);
    assert_eq!(out.status, 303);
    assert!(out.header("set-cookie").contains("Max-Age=0"));
    assert_error(
        &http.get("/v1/admin/keys", Some(token)),
        401,
        "invalid_token",
    );
}

#[test]
fn a_console_form_from_another_origin_or_without_its_token_changes_nothing_and_is_audited() {
    let dir = tempfile::tempdir().unwrap();
    let (server, clock) = people_server(dir.path());
    let http = Http::new(&server);
    let secret = enrolled_user(&http, &clock, "kim", &["key_admin"]);
    let token = login(&http, &clock, "kim", &secret);
    http.create_key("cards");
    let console = Console::with_session(&server.url(""), &token);
    let page = console.get("/ui/keys/cards");
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains(r#"id="rotate""#));
    let csrf = page.csrf();
    let active = || http.get("/v1/admin/keys/cards", Some(ROOT)).1["active_version"].clone();

    // Another site's page posting with the person's cookie: a foreign Origin, even with the token.
    let forged = console.post(
        "/ui/keys/cards/rotate",
        Some("https://evil.example"),
        &[("csrf", &csrf), ("reason", "forged")],
    );
    assert_eq!(forged.status, 403, "{}", forged.body);
    assert!(forged.body.contains("csrf_refused"));
    // This origin, but no token (or another session's): refused too.
    for sent in ["", "00ff", &csrf[..csrf.len() - 1]] {
        let forged = console.submit(
            "/ui/keys/cards/rotate",
            &[("csrf", sent), ("reason", "forged")],
        );
        assert_eq!(forged.status, 403, "{sent}: {}", forged.body);
    }
    assert_eq!(active(), json!(1));
    let refused = refusals(
        &server,
        "user:kim",
        "console POST /ui/keys/cards/rotate",
        "csrf_refused",
    );
    assert_eq!(refused.len(), 4, "{refused:?}");

    // The page's own form works.
    let done = console.submit(
        "/ui/keys/cards/rotate",
        &[("csrf", &csrf), ("reason", "yearly")],
    );
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.body.contains(r#"data-state="ok""#), "{}", done.body);
    assert_eq!(active(), json!(2));
}

#[test]
fn an_operator_is_offered_no_admin_action_and_a_typed_url_gets_the_apis_audited_403() {
    let dir = tempfile::tempdir().unwrap();
    let (server, clock) = people_server(dir.path());
    let http = Http::new(&server);
    let secret = enrolled_user(&http, &clock, "otto", &["operator"]);
    let token = login(&http, &clock, "otto", &secret);
    http.create_key("cards");
    let console = Console::with_session(&server.url(""), &token);

    let keys = console.get("/ui/keys");
    assert_eq!(keys.status, 200);
    assert!(keys.body.contains(r#"data-key="cards""#), "{}", keys.body);
    assert!(!keys.body.contains("create-key"));
    assert!(!keys.body.contains(r#"href="/ui/audit""#));
    let key = console.get("/ui/keys/cards");
    assert_eq!(key.status, 200);
    assert!(!key.body.contains(r#"id="rotate""#));
    // The filter by a version's state: none decrypt-only until a rotation.
    let filtered = console.get("/ui/keys?state=decrypt_only");
    assert!(
        !filtered.body.contains(r#"data-key="cards""#),
        "{}",
        filtered.body
    );
    let (s, _) = http.post(
        "/v1/admin/keys/cards/rotate",
        Some(ROOT),
        &json!({ "reason": "r" }),
    );
    assert_eq!(s, 200);
    let filtered = console.get("/ui/keys?state=decrypt_only");
    assert!(
        filtered.body.contains(r#"data-key="cards""#),
        "{}",
        filtered.body
    );
    assert!(
        !console
            .get("/ui/keys?q=nomatch")
            .body
            .contains(r#"data-key="cards""#)
    );

    // Typed by hand: the API's 403, with its code and message, audited under the person.
    let audit = console.get("/ui/audit");
    assert_eq!(audit.status, 403, "{}", audit.body);
    assert!(
        audit.body.contains(r#"data-code="forbidden""#),
        "{}",
        audit.body
    );
    assert!(
        audit
            .body
            .contains("`read_audit` needs one of the roles: auditor")
    );
    assert_eq!(
        refusals(&server, "user:otto", "read_audit", "forbidden").len(),
        1
    );
    // A forged form with a valid token is still the API's decision.
    let csrf = key.csrf();
    let rotate = console.submit("/ui/keys/cards/rotate", &[("csrf", &csrf), ("reason", "x")]);
    assert_eq!(rotate.status, 403, "{}", rotate.body);
    assert!(rotate.body.contains(r#"data-code="forbidden""#));
    assert_eq!(
        refusals(&server, "user:otto", "rotate_key", "forbidden").len(),
        1
    );
    // Still version 2: the root token's rotation above, not the operator's.
    assert_eq!(
        http.get("/v1/admin/keys/cards", Some(ROOT)).1["active_version"],
        2
    );
}

#[test]
fn over_tls_the_console_session_cookie_is_also_secure() {
    let dir = tempfile::tempdir().unwrap();
    let pki_dir = tempfile::tempdir().unwrap();
    let pki = crate::tls::Pki::new(pki_dir.path());
    let clock = Arc::new(ManualClock::new(Timestamp::from_millis(1_800_000_000_000)));
    let c: Arc<dyn Clock> = clock.clone();
    let server = dev_server_with(dir.path(), |o| {
        o.clock = c;
        o.tls = Some(pki.files(false));
    });
    let base = format!("https://127.0.0.1:{}", server.addr.port());
    let http = pki.http_at(&base, None);
    let secret = enrolled_user(&http, &clock, "kim", &["key_admin"]);
    clock.advance_millis(totp::STEP_SECONDS * 1000);
    let code = totp::code(&secret, totp::step_at(clock.now().millis()));
    let console = Console::with_agent(pki.agent_without_redirects(), &base);
    let opened = console.submit(
        "/ui/login",
        &[("user", "kim"), ("password", PASSWORD), ("totp", &code)],
    );
    assert_eq!(opened.status, 303, "{}", opened.body);
    let cookie = opened.header("set-cookie");
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/ui", "Secure"] {
        assert!(cookie.contains(flag), "{cookie}");
    }
    assert_eq!(opened.header("x-frame-options"), "DENY");
}

#[test]
fn the_read_only_pages_show_each_role_what_the_api_shows_it() {
    let staff = crate::people::staffed(&[
        ("sam", "security_admin"),
        ("ada", "auditor"),
        ("kay", "key_admin"),
    ]);
    let (server, http, token) = (&staff.server, &staff.http, &staff.token);
    http.create_app("checkout");
    let page =
        |who: &str, path: &str| Console::with_session(&server.url(""), &token[who]).get(path);

    let hsm = page("sam", "/ui/hsm");
    assert_eq!(hsm.status, 200, "{}", hsm.body);
    assert!(hsm.body.contains("<h2>Master keys</h2>"), "{}", hsm.body);
    // A custodian sees the share ceremonies (none open here); an auditor is no custodian.
    assert!(hsm.body.contains("Rekey of the unseal shares in progress"));
    assert!(hsm.body.contains("None open."), "{}", hsm.body);
    let hsm = page("ada", "/ui/hsm");
    assert_eq!(hsm.status, 200, "{}", hsm.body);
    assert!(!hsm.body.contains("Rekey"));
    let hsm = page("kay", "/ui/hsm");
    assert_eq!(hsm.status, 403, "{}", hsm.body);
    assert!(hsm.body.contains("`hsm_status` needs one of the roles"));

    let apps = page("kay", "/ui/apps");
    assert_eq!(apps.status, 200);
    assert!(apps.body.contains("<td>checkout</td>"), "{}", apps.body);
    assert_eq!(page("sam", "/ui/apps").status, 403);
    assert_eq!(page("ada", "/ui/zones").status, 200);
    // Data is escaped: a key name cannot be markup (names are checked too, but the page does
    // not rely on it).
    let audit = page("ada", "/ui/audit?actor=%3Cscript%3E");
    assert_eq!(audit.status, 200);
    assert!(
        audit.body.contains("value=\"&lt;script&gt;\""),
        "{}",
        audit.body
    );
    assert!(!audit.body.contains("<script>"));
}

#[test]
fn the_inbox_offers_votes_to_approvers_only_and_the_requester_collects_their_result_once() {
    let staff = crate::people::staffed(&[
        ("kay", "key_admin"),
        ("kit", "key_admin"),
        ("sam", "security_admin"),
        ("syd", "system_admin"),
    ]);
    let (server, http, token) = (&staff.server, &staff.http, &staff.token);
    http.create_app("checkout");
    let (status, pending) = http.post(
        "/v1/admin/apps/checkout/tokens",
        Some(&token["kay"]),
        &json!({}),
    );
    assert_eq!(status, 202, "{pending}");
    let id = pending["id"].as_i64().unwrap();
    let console = |who: &str| Console::with_session(&server.url(""), &token[who]);
    let approve = format!(r#"id="approve-{id}""#);

    // A system administrator may vote in general, but not on an app's token: not offered.
    let inbox = console("syd").get("/ui/approvals");
    assert!(
        inbox.body.contains(&format!(r#"id="approval-{id}""#)),
        "{}",
        inbox.body
    );
    assert!(!inbox.body.contains(&approve));
    // Nor to the requester.
    assert!(!console("kay").get("/ui/approvals").body.contains(&approve));
    for who in ["sam", "kit"] {
        let c = console(who);
        let inbox = c.get("/ui/approvals");
        assert!(inbox.body.contains(&approve), "{who}: {}", inbox.body);
        let hash = pending["params_hash"].as_str().unwrap();
        let voted = c.submit(
            &format!("/ui/approvals/{id}/approve"),
            &[("csrf", &inbox.csrf()), ("params_hash", hash)],
        );
        assert_eq!(voted.status, 200, "{}", voted.body);
    }
    let (_, shown) = http.get(&format!("/v1/admin/approvals/{id}"), Some(ROOT));
    assert_eq!(shown["status"], "executed", "{shown}");

    // The requester collects the new token, once.
    let kay = console("kay");
    let inbox = kay.get("/ui/approvals?all=1");
    assert!(
        inbox.body.contains(&format!(r#"id="collect-{id}""#)),
        "{}",
        inbox.body
    );
    let path = format!("/ui/approvals/{id}/collect");
    let collected = kay.submit(&path, &[("csrf", &inbox.csrf())]);
    assert_eq!(collected.status, 200, "{}", collected.body);
    assert!(collected.body.contains(r#"<div id="collected">"#));
    assert!(collected.body.contains("token"), "{}", collected.body);
    let again = kay.submit(&path, &[("csrf", &inbox.csrf())]);
    assert_eq!(again.status, 409, "{}", again.body);
    assert!(again.body.contains("nothing_to_collect"));
}

#[test]
fn a_grant_set_on_the_console_waits_for_approval_as_over_the_api() {
    let staff = crate::people::staffed(&[("kay", "key_admin"), ("otto", "operator")]);
    let (server, http, token) = (&staff.server, &staff.http, &staff.token);
    http.create_key("cards");
    http.create_app("checkout");
    let kay = Console::with_session(&server.url(""), &token["kay"]);
    let page = kay.get("/ui/keys/cards");
    assert!(page.body.contains(r#"id="grant""#), "{}", page.body);
    let filed = kay.submit(
        "/ui/keys/cards/grants",
        &[
            ("csrf", &page.csrf()),
            ("app", "checkout"),
            ("operations", "encrypt, decrypt"),
        ],
    );
    assert_eq!(filed.status, 200, "{}", filed.body);
    assert!(
        filed.body.contains(r#"data-state="pending""#),
        "{}",
        filed.body
    );
    assert!(filed.body.contains("Filed as approval request #"));
    let (_, key) = http.get("/v1/admin/keys/cards", Some(ROOT));
    assert_eq!(key["grants"], json!([]), "{key}");
    let (_, waiting) = http.get("/v1/admin/approvals?pending=true", Some(ROOT));
    assert_eq!(waiting["approvals"][0]["action"], "grant", "{waiting}");
    assert_eq!(
        waiting["approvals"][0]["params"]["operations"],
        json!(["encrypt", "decrypt"])
    );
    // Not offered to an operator.
    let otto = Console::with_session(&server.url(""), &token["otto"]);
    assert!(!otto.get("/ui/keys/cards").body.contains(r#"id="grant""#));
}

#[test]
fn a_usage_policy_set_on_the_console_tightens_at_once_and_a_loosening_waits() {
    let staff = crate::people::staffed(&[("kay", "key_admin")]);
    let (server, http, token) = (&staff.server, &staff.http, &staff.token);
    http.create_key("cards");
    let kay = Console::with_session(&server.url(""), &token["kay"]);
    let page = kay.get("/ui/keys/cards");
    assert!(page.body.contains(r#"id="policy-json""#), "{}", page.body);
    let set = |policy: &str| {
        kay.submit(
            "/ui/keys/cards/policy",
            &[("csrf", &page.csrf()), ("policy", policy)],
        )
    };
    let tightened = set(r#"{"allowed_cidrs":["10.0.0.0/8"]}"#);
    assert_eq!(tightened.status, 200, "{}", tightened.body);
    assert!(tightened.body.contains("Policy set."), "{}", tightened.body);
    let (_, key) = http.get("/v1/admin/keys/cards", Some(ROOT));
    assert_eq!(
        key["policy"]["allowed_cidrs"],
        json!(["10.0.0.0/8"]),
        "{key}"
    );
    // Removing it loosens: an approval request, the policy stays.
    let loosened = set("{}");
    assert!(
        loosened.body.contains(r#"data-state="pending""#),
        "{}",
        loosened.body
    );
    let (_, key) = http.get("/v1/admin/keys/cards", Some(ROOT));
    assert_eq!(
        key["policy"]["allowed_cidrs"],
        json!(["10.0.0.0/8"]),
        "{key}"
    );
    // Not JSON: the API's 400.
    let bad = set("allow everything");
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert!(bad.body.contains("invalid_json"));
}

#[test]
fn the_audit_page_filters_pages_and_exports_the_trail() {
    let staff = crate::people::staffed(&[("ada", "auditor")]);
    let (server, http, token) = (&staff.server, &staff.http, &staff.token);
    // 230 refusals of an unknown token, audited as anonymous.
    for _ in 0..230 {
        assert_eq!(http.get("/v1/admin/keys", Some("no-such-token")).0, 401);
    }
    eventually(
        std::time::Duration::from_secs(20),
        "refusals audited",
        || {
            let (_, found) = http.get("/v1/admin/audit?actor=anonymous&limit=10000", Some(ROOT));
            found["entries"].as_array().is_some_and(|e| e.len() >= 230)
        },
    );
    let ada = Console::with_session(&server.url(""), &token["ada"]);
    let rows = |body: &str| body.matches("<tr><td>").count();
    let first = ada.get("/ui/audit?actor=anonymous");
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(rows(&first.body), 200);
    let at = first
        .body
        .find(r#"<a id="next" href=""#)
        .expect("a next page link");
    let rest = &first.body[at + r#"<a id="next" href=""#.len()..];
    let next = rest[..rest.find('"').unwrap()].replace("&amp;", "&");
    assert!(
        next.starts_with("/ui/audit?actor=anonymous&after="),
        "{next}"
    );
    let second = ada.get(&next);
    assert_eq!(rows(&second.body), 30, "{}", second.body);
    assert!(!second.body.contains(r#"id="next""#));

    let export = ada.get("/ui/audit/export?actor=anonymous");
    assert_eq!(export.status, 200);
    assert!(
        export
            .header("content-disposition")
            .starts_with("attachment")
    );
    let exported: serde_json::Value = serde_json::from_str(&export.body).unwrap();
    let entries = exported["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 230);
    assert!(entries.iter().all(|e| e["actor"] == "anonymous"));
}

#[test]
fn an_app_created_on_the_console_shows_its_token_once_and_it_works() {
    let staff = crate::people::staffed(&[("kay", "key_admin"), ("otto", "operator")]);
    let (server, http, token) = (&staff.server, &staff.http, &staff.token);
    let kay = Console::with_session(&server.url(""), &token["kay"]);
    let page = kay.get("/ui/apps");
    assert!(page.body.contains(r#"id="create-app""#));
    let created = kay.submit("/ui/apps", &[("csrf", &page.csrf()), ("name", "billing")]);
    assert_eq!(created.status, 200, "{}", created.body);
    let at = created.body.find(r#"<code id="new-app-token">"#).unwrap();
    let rest = &created.body[at + r#"<code id="new-app-token">"#.len()..];
    let app_token = &rest[..rest.find('<').unwrap()];
    let (status, me) = http.get("/v1/apps/self", Some(app_token));
    assert_eq!(status, 200, "{me}");
    // Listed with its one active token, never the token itself.
    let listed = kay.get("/ui/apps");
    assert!(listed.body.contains(r#"data-app="billing""#));
    assert!(listed.body.contains("1 active"), "{}", listed.body);
    assert!(!listed.body.contains(app_token));
    // An operator reads the list but is offered no creation.
    let otto = Console::with_session(&server.url(""), &token["otto"]);
    let read = otto.get("/ui/apps");
    assert_eq!(read.status, 200);
    assert!(!read.body.contains("create-app"));
}

#[test]
fn a_manage_node_serves_the_console_by_forwarding_it_to_the_store() {
    let cluster = crate::cluster::Cluster::new(None);
    let _store = cluster.start_store();
    let manage = cluster.start_manage("127.0.0.6");
    let http = manage.http();
    http.create_key("cards");
    // The root token as the cookie's session (what the login form would set).
    let console = Console::with_session(&manage.addr, ROOT);
    let page = console.get("/ui/keys/cards");
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains(r#"id="versions""#));
    assert!(
        page.header("content-security-policy")
            .contains("frame-ancestors 'none'")
    );
    assert_eq!(page.header("x-frame-options"), "DENY");
    // A form of the manage node's origin passes the store's CSRF check; another origin does not.
    let csrf = page.csrf();
    let forged = console.post(
        "/ui/keys/cards/rotate",
        Some("https://evil.example"),
        &[("csrf", &csrf), ("reason", "forged")],
    );
    assert_eq!(forged.status, 403, "{}", forged.body);
    let done = console.submit(
        "/ui/keys/cards/rotate",
        &[("csrf", &csrf), ("reason", "yearly")],
    );
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(
        http.get("/v1/admin/keys/cards", Some(ROOT)).1["active_version"],
        2
    );
    // Redirects and cookies come back as the store sent them (not followed by the manage node).
    let anonymous = Console::new(&manage.addr);
    let to_login = anonymous.get("/ui/keys");
    assert_eq!(to_login.status, 303);
    assert_eq!(to_login.header("location"), "/ui/login");
    let out = console.submit("/ui/logout", &[("csrf", &csrf)]);
    assert_eq!(out.status, 303, "{}", out.body);
    assert!(out.header("set-cookie").contains("Max-Age=0"));
}
