//! The console's editing forms: people, app tokens, a key's configuration and a custodian's
//! ceremony step. Each form does what the API does (through the API's handler, so approvals and
//! self-approval refusals are the API's), a role without the right is offered no form and gets
//! the API's audited refusal when it posts anyway, and a form without its CSRF token changes
//! nothing.

use serde_json::{Value, json};

use super::{Answer, Console, refusals};
use crate::people::{enrol, staffed};
use crate::support::*;

/// The text of `<code id="{id}">…</code>`.
fn code(page: &Answer, id: &str) -> String {
    let open = format!(r#"<code id="{id}">"#);
    let at = page
        .body
        .find(&open)
        .unwrap_or_else(|| panic!("no {id} in {}", page.body));
    let rest = &page.body[at + open.len()..];
    rest[..rest.find('<').unwrap()].to_owned()
}

/// The string value of `field` in the escaped JSON shown in the element with `id`.
fn shown_field(page: &Answer, id: &str, field: &str) -> String {
    let at = page
        .body
        .find(&format!(r#"id="{id}""#))
        .unwrap_or_else(|| panic!("no {id} in {}", page.body));
    let key = format!("&quot;{field}&quot;: &quot;");
    let rest = &page.body[at..];
    let rest = &rest[rest
        .find(&key)
        .unwrap_or_else(|| panic!("no {field}: {rest}"))
        + key.len()..];
    rest[..rest.find("&quot;").unwrap()].to_owned()
}

fn user(http: &Http, name: &str) -> (u16, Value) {
    http.get(&format!("/v1/admin/users/{name}"), Some(ROOT))
}

/// The one pending approval request (the API's view).
fn pending(http: &Http) -> Value {
    let (_, waiting) = http.get("/v1/admin/approvals?pending=true", Some(ROOT));
    let all = waiting["approvals"].as_array().unwrap();
    assert_eq!(all.len(), 1, "{waiting}");
    all[0].clone()
}

fn csrf_refused(answer: &Answer) {
    assert_eq!(answer.status, 403, "{}", answer.body);
    assert!(answer.body.contains("csrf_refused"), "{}", answer.body);
}

#[test]
fn people_are_created_given_roles_and_disabled_on_the_console_through_the_apis_approvals() {
    let staff = staffed(&[
        ("syd", "system_admin"),
        ("sol", "system_admin"),
        ("sam", "security_admin"),
        ("ada", "auditor"),
        // Enough people approving key changes that disabling one leaves a quorum.
        ("kay", "key_admin"),
        ("kit", "key_admin"),
    ]);
    let (server, http, token) = (&staff.server, &staff.http, &staff.token);
    let console = |who: &str| Console::with_session(&server.url(""), &token[who]);
    let syd = console("syd");
    let page = syd.get("/ui/people");
    assert_eq!(page.status, 200, "{}", page.body);
    for shown in [
        r#"data-person="ada""#,
        r#"id="create-person""#,
        r#"id="roles-ada""#,
        r#"id="disable-ada""#,
        r#"href="/ui/people""#,
    ] {
        assert!(page.body.contains(shown), "{shown}: {}", page.body);
    }
    let csrf = page.csrf();

    // Without the CSRF token: refused, nobody created.
    let forged = syd.submit("/ui/people", &[("name", "nia"), ("role_key_admin", "on")]);
    csrf_refused(&forged);
    assert_eq!(user(http, "nia").0, 404);

    // A person's creation is filed for approval, as over the API.
    let fields = [
        ("csrf", csrf.as_str()),
        ("name", "nia"),
        ("role_key_admin", "on"),
    ];
    let filed = syd.submit("/ui/people", &fields);
    assert_eq!(filed.status, 200, "{}", filed.body);
    assert!(
        filed.body.contains(r#"data-state="pending""#),
        "{}",
        filed.body
    );
    assert!(filed.body.contains(r#"id="to-inbox""#), "{}", filed.body);
    assert!(filed.body.contains("first half of the enrolment token"));
    assert_eq!(user(http, "nia").0, 404);
    let request = pending(http);
    assert_eq!(request["action"], "create_user", "{request}");
    assert_eq!(
        request["params"]["roles"],
        json!(["key_admin"]),
        "{request}"
    );
    let id = request["id"].as_i64().unwrap();
    let hash = request["params_hash"].as_str().unwrap().to_owned();

    // The requester is offered no vote, and a vote posted anyway is the API's self_approval.
    let approve = format!("/ui/approvals/{id}/approve");
    assert!(
        !syd.get("/ui/approvals")
            .body
            .contains(&format!(r#"id="approve-{id}""#))
    );
    let own = syd.submit(&approve, &[("csrf", &csrf), ("params_hash", &hash)]);
    assert_eq!(own.status, 403, "{}", own.body);
    assert!(
        own.body.contains(r#"data-code="self_approval""#),
        "{}",
        own.body
    );
    // Two other people administrators approve; the vote that runs it shows its approver the
    // second half of the enrolment token, once.
    let sol = console("sol").submit(
        &approve,
        &[("csrf", &csrf_of(&console("sol"))), ("params_hash", &hash)],
    );
    assert_eq!(sol.status, 200, "{}", sol.body);
    assert!(!sol.body.contains(r#"id="for-you""#));
    let sam = console("sam");
    let ran = sam.submit(
        &approve,
        &[("csrf", &csrf_of(&sam)), ("params_hash", &hash)],
    );
    assert_eq!(ran.status, 200, "{}", ran.body);
    assert!(ran.body.contains("second_half"), "{}", ran.body);
    let second = shown_field(&ran, "for-you", "token");
    // The requester collects the first half in the inbox; with both halves the person enrols.
    let collected = syd.submit(&format!("/ui/approvals/{id}/collect"), &[("csrf", &csrf)]);
    assert_eq!(collected.status, 200, "{}", collected.body);
    let first = shown_field(&collected, "collected", "token");
    enrol(http, &staff.clock, "nia", &format!("{first}{second}"));
    assert_eq!(user(http, "nia").1["enrolled"], true);

    // Adding auditor runs at once; taking a role away is filed and changes nothing yet.
    let page = syd.get("/ui/people");
    assert!(page.body.contains(r#"id="roles-nia""#), "{}", page.body);
    let added = syd.submit(
        "/ui/people/nia/roles",
        &[
            ("csrf", &csrf),
            ("role_key_admin", "on"),
            ("role_auditor", "on"),
        ],
    );
    assert_eq!(added.status, 200, "{}", added.body);
    assert!(added.body.contains(r#"data-state="ok""#), "{}", added.body);
    assert_eq!(
        user(http, "nia").1["roles"],
        json!(["key_admin", "auditor"])
    );
    let removed = syd.submit(
        "/ui/people/nia/roles",
        &[("csrf", &csrf), ("role_auditor", "on")],
    );
    assert!(
        removed.body.contains(r#"data-state="pending""#),
        "{}",
        removed.body
    );
    assert_eq!(
        user(http, "nia").1["roles"],
        json!(["key_admin", "auditor"])
    );
    assert_eq!(pending(http)["action"], "set_user_roles");

    // The root token disables at once (no approval for it); a people administrator enables.
    let root = Console::with_session(&server.url(""), ROOT);
    let off = root.submit("/ui/people/nia/disable", &[("csrf", &csrf_of(&root))]);
    assert_eq!(off.status, 200, "{}", off.body);
    assert_eq!(user(http, "nia").1["disabled"], true);
    assert!(syd.get("/ui/people").body.contains(r#"id="enable-nia""#));
    let on = syd.submit("/ui/people/nia/enable", &[("csrf", &csrf)]);
    assert_eq!(on.status, 200, "{}", on.body);
    assert_eq!(user(http, "nia").1["disabled"], false);
    // The root token's creation answers the whole enrolment token, shown once.
    let made = root.submit(
        "/ui/people",
        &[
            ("csrf", &csrf_of(&root)),
            ("name", "kai"),
            ("role_operator", "on"),
        ],
    );
    assert_eq!(made.status, 200, "{}", made.body);
    enrol(http, &staff.clock, "kai", &code(&made, "enrolment-token"));

    // An auditor reads the people, is offered no change, and a forced form is the API's 403.
    let ada = console("ada");
    let read = ada.get("/ui/people");
    assert_eq!(read.status, 200, "{}", read.body);
    assert!(read.body.contains(r#"data-person="nia""#));
    for absent in ["create-person", "roles-nia", "disable-nia", "reset-nia"] {
        assert!(!read.body.contains(absent), "{absent}: {}", read.body);
    }
    let forced = ada.submit("/ui/people", &[("csrf", &read.csrf()), ("name", "mallory")]);
    assert_eq!(forced.status, 403, "{}", forced.body);
    assert!(
        forced.body.contains(r#"data-code="forbidden""#),
        "{}",
        forced.body
    );
    assert_eq!(
        refusals(server, "user:ada", "create_user", "forbidden").len(),
        1
    );
    assert_eq!(user(http, "mallory").0, 404);
    // A security administrator may vote on people but not list them: no link, the API's 403.
    assert!(!sam.get("/ui").body.contains(r#"href="/ui/people""#));
    assert_eq!(sam.get("/ui/people").status, 403);
}

/// The CSRF token of a page of `console`'s session.
fn csrf_of(console: &Console) -> String {
    console.get("/ui").csrf()
}

#[test]
fn an_apps_token_is_rotated_and_revoked_on_the_console_and_a_persons_new_token_is_collected() {
    let staff = staffed(&[
        ("kay", "key_admin"),
        ("kit", "key_admin"),
        ("sam", "security_admin"),
        ("otto", "operator"),
    ]);
    let (server, http, token) = (&staff.server, &staff.http, &staff.token);
    let first = http.create_app("checkout");
    let kay = Console::with_session(&server.url(""), &token["kay"]);
    let page = kay.get("/ui/apps");
    for shown in [r#"id="rotate-token-checkout""#, r#"id="revoke-checkout""#] {
        assert!(page.body.contains(shown), "{shown}: {}", page.body);
    }
    let csrf = page.csrf();
    let works = |t: &str| http.get("/v1/apps/self", Some(t)).0 == 200;

    let forged = kay.submit("/ui/apps/checkout/revoke", &[]);
    csrf_refused(&forged);
    assert!(works(&first));

    // A person's rotation waits for approval; the token then goes to them alone, in the inbox.
    let filed = kay.submit(
        "/ui/apps/checkout/rotate-token",
        &[("csrf", &csrf), ("overlap_seconds", "")],
    );
    assert_eq!(filed.status, 200, "{}", filed.body);
    assert!(
        filed.body.contains(r#"data-state="pending""#),
        "{}",
        filed.body
    );
    assert!(
        filed
            .body
            .contains("collect the new token in the approvals inbox"),
        "{}",
        filed.body
    );
    let id = pending(http)["id"].as_i64().unwrap();
    assert_eq!(pending(http)["action"], "rotate_app_token");
    for who in ["kit", "sam"] {
        assert_eq!(http.vote(&token[who], "approve", id).0, 200);
    }
    let collected = kay.submit(&format!("/ui/approvals/{id}/collect"), &[("csrf", &csrf)]);
    assert_eq!(collected.status, 200, "{}", collected.body);
    let second = shown_field(&collected, "collected", "token");
    assert!(
        works(&second) && works(&first),
        "the default overlap keeps the old token"
    );

    // The root token's rotation is shown at once; with no overlap the earlier tokens stop.
    let root = Console::with_session(&server.url(""), ROOT);
    let rotated = root.submit(
        "/ui/apps/checkout/rotate-token",
        &[("csrf", &csrf_of(&root)), ("overlap_seconds", "0")],
    );
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    let third = code(&rotated, "new-app-token");
    assert!(works(&third));
    assert!(!works(&first) && !works(&second));

    // Revoked: every token stops at once.
    let revoked = kay.submit("/ui/apps/checkout/revoke", &[("csrf", &csrf)]);
    assert_eq!(revoked.status, 200, "{}", revoked.body);
    assert!(
        revoked.body.contains(r#"data-state="ok""#),
        "{}",
        revoked.body
    );
    assert!(!works(&third));

    // An operator reads the apps, is offered neither form, and a forced one is the API's 403.
    let otto = Console::with_session(&server.url(""), &token["otto"]);
    let read = otto.get("/ui/apps");
    assert_eq!(read.status, 200);
    assert!(!read.body.contains("rotate-token-") && !read.body.contains("revoke-"));
    let forced = otto.submit("/ui/apps/checkout/rotate-token", &[("csrf", &read.csrf())]);
    assert_eq!(forced.status, 403, "{}", forced.body);
    assert!(forced.body.contains(r#"data-code="forbidden""#));
    assert_eq!(
        refusals(server, "user:otto", "rotate_app_token", "forbidden").len(),
        1
    );
}

#[test]
fn a_keys_configuration_is_changed_on_its_page_by_key_administrators_only() {
    let staff = staffed(&[("kay", "key_admin"), ("otto", "operator")]);
    let (server, http, token) = (&staff.server, &staff.http, &staff.token);
    http.create_key("cards");
    for _ in 0..2 {
        let (s, b) = http.post(
            "/v1/admin/keys/cards/rotate",
            Some(ROOT),
            &json!({ "reason": "r" }),
        );
        assert_eq!(s, 200, "{b}");
    }
    let key = || http.get("/v1/admin/keys/cards", Some(ROOT)).1;
    let kay = Console::with_session(&server.url(""), &token["kay"]);
    let page = kay.get("/ui/keys/cards");
    assert!(page.body.contains(r#"id="configure""#), "{}", page.body);
    assert!(
        page.body.contains(r#"id="min-decryption-version">1<"#),
        "{}",
        page.body
    );
    let csrf = page.csrf();
    let config = |fields: &[(&str, &str)]| {
        let mut all = vec![("csrf", csrf.as_str()), ("reason", "yearly review")];
        all.extend_from_slice(fields);
        kay.submit("/ui/keys/cards/config", &all)
    };

    let forged = kay.submit(
        "/ui/keys/cards/config",
        &[("reason", "x"), ("min_decryption_version", "3")],
    );
    csrf_refused(&forged);
    assert_eq!(key()["min_decryption_version"], 1);

    let saved = config(&[
        ("min_decryption_version", "2"),
        ("rotation_period", "30d"),
        ("notice_period", "21d"),
    ]);
    assert_eq!(saved.status, 200, "{}", saved.body);
    assert!(
        saved.body.contains("Configuration saved."),
        "{}",
        saved.body
    );
    let after = key();
    assert_eq!(after["min_decryption_version"], 2, "{after}");
    assert!(!after["rotation_period"].is_null(), "{after}");
    assert!(!after["next_rotation_at"].is_null(), "{after}");
    assert_ne!(after["notice_period"], page_notice(&page), "{after}");
    assert!(saved.body.contains(r#"id="min-decryption-version">2<"#));
    // Scheduled rotation off; an empty field stays as it is.
    let off = config(&[("no_rotation", "on"), ("min_decryption_version", "")]);
    assert_eq!(off.status, 200, "{}", off.body);
    let after = key();
    assert!(after["rotation_period"].is_null(), "{after}");
    assert_eq!(after["min_decryption_version"], 2, "{after}");
    // The API's own checks: a minimum above the active version is refused.
    let bad = config(&[("min_decryption_version", "9")]);
    assert_eq!(bad.status, 409, "{}", bad.body);
    assert_eq!(key()["min_decryption_version"], 2);

    // An operator sees the configuration, is offered no form, and a forced one is the API's 403.
    let otto = Console::with_session(&server.url(""), &token["otto"]);
    let read = otto.get("/ui/keys/cards");
    assert!(read.body.contains(r#"id="config""#), "{}", read.body);
    assert!(!read.body.contains(r#"id="configure""#));
    let forced = otto.submit(
        "/ui/keys/cards/config",
        &[
            ("csrf", &read.csrf()),
            ("reason", "x"),
            ("min_decryption_version", "3"),
        ],
    );
    assert_eq!(forced.status, 403, "{}", forced.body);
    assert!(forced.body.contains(r#"data-code="forbidden""#));
    assert_eq!(
        refusals(server, "user:otto", "configure_key", "forbidden").len(),
        1
    );
    assert_eq!(key()["min_decryption_version"], 2);
}

/// The notice period the page showed.
fn page_notice(page: &Answer) -> Value {
    let open = r#"id="notice-period">"#;
    let at = page.body.find(open).unwrap() + open.len();
    let rest = &page.body[at..];
    json!(&rest[..rest.find('<').unwrap()])
}

#[test]
fn a_ceremony_step_is_approved_on_the_hsm_page_by_custodians_only() {
    let staff = staffed(&[
        ("sa1", "security_admin"),
        ("sa2", "security_admin"),
        ("sa3", "security_admin"),
        ("op1", "operator"),
        ("ada", "auditor"),
    ]);
    let (server, http, token) = (&staff.server, &staff.http, &staff.token);
    let master_keys = || {
        let (_, status) = http.get("/v1/hsm/status", Some(ROOT));
        status["tokens"][0]["master_keys"].as_array().unwrap().len()
    };
    let before = master_keys();
    let (status, started) = http.post(
        "/v1/hsm/ceremonies",
        Some(&token["sa1"]),
        &json!({ "operation": "rotate" }),
    );
    assert_eq!(status, 201, "{started}");
    let id = started["id"].as_str().unwrap().to_owned();
    let approvals = || {
        let (_, c) = http.get(&format!("/v1/hsm/ceremonies/{id}"), Some(&token["sa1"]));
        c["approvals"].as_array().unwrap().len()
    };
    // The API lists it to custodians.
    let (status, listed) = http.get("/v1/hsm/ceremonies", Some(&token["op1"]));
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed["ceremonies"][0]["id"], json!(id), "{listed}");
    assert_error(
        &http.get("/v1/hsm/ceremonies", Some(&token["ada"])),
        403,
        "not_a_custodian",
    );

    let console = |who: &str| Console::with_session(&server.url(""), &token[who]);
    let card = format!(r#"id="ceremony-{id}""#);
    let form = format!(r#"id="approve-{id}""#);
    let path = format!("/ui/hsm/ceremonies/{id}/approve");
    let sa1 = console("sa1");
    let page = sa1.get("/ui/hsm");
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains(&card) && page.body.contains(&form),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains(r#"<dd class="needed">1 operator, 3 security_admin</dd>"#),
        "{}",
        page.body
    );

    csrf_refused(&sa1.submit(&path, &[]));
    assert_eq!(approvals(), 0);

    // An auditor reads the HSM page without the ceremonies; a forced step is the API's 403.
    let ada = console("ada");
    let read = ada.get("/ui/hsm");
    assert_eq!(read.status, 200, "{}", read.body);
    assert!(!read.body.contains(&card));
    let forced = ada.submit(&path, &[("csrf", &read.csrf())]);
    assert_eq!(forced.status, 403, "{}", forced.body);
    assert!(
        forced.body.contains(r#"data-code="not_a_custodian""#),
        "{}",
        forced.body
    );
    assert_eq!(
        refusals(server, "user:ada", "ceremony_approve", "not_a_custodian").len(),
        1
    );
    assert_eq!(approvals(), 0);

    // Each custodian approves from their page; who approved and what is still needed follow.
    let done = sa1.submit(&path, &[("csrf", &page.csrf())]);
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.body.contains(r#"data-state="ok""#), "{}", done.body);
    assert!(!done.body.contains(&form), "offered twice: {}", done.body);
    assert!(done.body.contains("<td>user:sa1</td>"), "{}", done.body);
    assert!(
        done.body
            .contains(r#"<dd class="needed">1 operator, 2 security_admin</dd>"#)
    );
    assert_eq!(approvals(), 1);
    let again = sa1.submit(&path, &[("csrf", &page.csrf())]);
    assert_eq!(again.status, 409, "{}", again.body);
    assert!(again.body.contains("already_approved"));
    for who in ["sa2", "op1"] {
        let c = console(who);
        let done = c.submit(&path, &[("csrf", &csrf_of(&c))]);
        assert_eq!(done.status, 200, "{who}: {}", done.body);
    }
    assert_eq!(master_keys(), before);
    // The approval that meets the quorum runs it and shows its answer to that approver.
    let sa3 = console("sa3");
    let ran = sa3.submit(&path, &[("csrf", &csrf_of(&sa3))]);
    assert_eq!(ran.status, 200, "{}", ran.body);
    assert!(
        ran.body.contains(r#"<div id="step-answer">"#),
        "{}",
        ran.body
    );
    assert!(ran.body.contains("&quot;result&quot;"), "{}", ran.body);
    assert_eq!(master_keys(), before + 1);
    let after = sa1.get("/ui/hsm");
    assert!(!after.body.contains(&card), "{}", after.body);
    assert!(
        after.body.contains(r#"id="ended-ceremonies""#),
        "{}",
        after.body
    );
    assert!(after.body.contains("<td>done</td>"), "{}", after.body);
}
