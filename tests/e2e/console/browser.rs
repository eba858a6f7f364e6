//! People at work in headless Chromium: a key administrator enrols on the console (TOTP secret
//! shown by the page), signs in with password and code, creates and rotates a key and asks for a
//! version's destruction; in a second browser a security administrator and then a second key
//! administrator approve it; an auditor sees each step and verifies the chain; an operator is
//! offered no admin action and a typed URL shows the API's 403. With
//! `KMS_UPDATE_SCREENSHOTS=1`, the main pages are saved to docs/console/*.png.

use std::time::Duration;

use kms_control::totp;
use kms_engine::clock::{Clock, ManualClock};
use serde_json::json;

use crate::people::{PASSWORD, create_user, enrolled_user, people_server};
use crate::support::*;
use crate::webdriver::Browser;

/// Signs in on the console's form with the person's current code (the clock moves a step on, so
/// that each login has a fresh code).
fn sign_in(browser: &Browser, base: &str, clock: &ManualClock, name: &str, secret: &[u8]) {
    clock.advance_millis(totp::STEP_SECONDS * 1000);
    let code = totp::code(secret, totp::step_at(clock.now().millis()));
    browser.goto(&format!("{base}/ui/login"));
    browser.type_into("#user", name);
    browser.type_into("#password", PASSWORD);
    browser.type_into("#totp", &code);
    browser.click("#sign-in");
    wait(browser, "#welcome");
    assert!(browser.text("#who").contains(&format!("user:{name}")));
}

fn sign_out(browser: &Browser) {
    browser.click("#logout");
    wait(browser, "#login-form");
}

/// Waits for an element matching `css`, failing with the page's address and text.
fn wait(browser: &Browser, css: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !browser.exists(css) {
        assert!(
            std::time::Instant::now() < deadline,
            "no {css} on {}: {}",
            browser.url(),
            browser.page_text()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Saves the page as docs/console/{name}.png when asked to.
fn screenshot(browser: &Browser, name: &str) {
    if std::env::var("KMS_UPDATE_SCREENSHOTS").as_deref() != Ok("1") {
        return;
    }
    let png = browser.screenshot();
    assert!(png.starts_with(b"\x89PNG"));
    let dir = format!("{}/../docs/console", env!("CARGO_MANIFEST_DIR"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(format!("{dir}/{name}.png"), png).unwrap();
}

/// Submits the form `css` after typing `reason` into its `reason` field; waits for the notice.
fn submit_with_reason(browser: &Browser, css: &str, reason: &str) -> String {
    browser.type_into(&format!("{css} input[name=reason]"), reason);
    // The page's current notice goes first, so that the wait sees the next page's.
    browser.execute("const n = document.getElementById('notice'); if (n) { n.remove(); }");
    browser.click(&format!("{css} button"));
    wait(browser, "#notice");
    browser.text("#notice")
}

fn version_state(browser: &Browser, version: u32) -> String {
    browser.text(&format!("tr[data-version='{version}'] td.state"))
}

#[test]
fn people_run_a_key_through_the_console_in_two_browsers_and_the_auditor_verifies_the_chain() {
    let dir = tempfile::tempdir().unwrap();
    let (server, clock) = people_server(dir.path());
    let http = Http::new(&server);
    let base = server.url("");
    let sec = enrolled_user(&http, &clock, "sam", &["security_admin"]);
    let ka2 = enrolled_user(&http, &clock, "kit", &["key_admin"]);
    let aud = enrolled_user(&http, &clock, "ada", &["auditor"]);
    let op = enrolled_user(&http, &clock, "otto", &["operator"]);
    let first = create_user(&http, "kay", &["key_admin"]);

    let a = Browser::start();
    a.resize(1200, 900);
    // Kay's first login: the enrolment page shows the TOTP secret, the first code sets it up.
    a.goto(&format!("{base}/ui/enrol"));
    a.type_into("#user", "kay");
    a.type_into("#token", &first);
    a.click("#begin");
    wait(&a, "#totp-secret");
    assert!(a.text("#totp-uri").starts_with("otpauth://totp/kms:"));
    assert!(a.exists("svg#totp-qr path"));
    let kay = totp::from_base32(&a.text("#totp-secret")).unwrap();
    screenshot(&a, "enrol");
    let code = totp::code(&kay, totp::step_at(clock.now().millis()));
    a.type_into("#password", PASSWORD);
    a.type_into("#totp", &code);
    a.click("#complete");
    wait(&a, "#to-login");

    a.goto(&format!("{base}/ui/login"));
    screenshot(&a, "login");
    sign_in(&a, &base, &clock, "kay", &kay);
    // A key administrator's pages: keys and approvals, no audit.
    assert!(a.exists("nav a[href='/ui/keys']"));
    assert!(!a.exists("nav a[href='/ui/audit']"));

    // Create and rotate a key.
    a.goto(&format!("{base}/ui/keys"));
    a.type_into("#new-key-name", "payments");
    a.click("#create");
    wait(&a, "#versions");
    assert_eq!(a.text("#algorithm"), "aes-256-gcm");
    let shown = submit_with_reason(&a, "#rotate", "yearly rotation");
    assert_eq!(shown, "Rotated.");
    assert_eq!(a.text("#active-version"), "2");
    // A bad new version: roll back, then rotate again.
    assert_eq!(
        submit_with_reason(&a, "#rollback", "bad version"),
        "Rolled back."
    );
    assert_eq!(a.text("#active-version"), "1");
    assert_eq!(
        submit_with_reason(&a, "#rotate", "yearly rotation"),
        "Rotated."
    );
    assert_eq!(a.text("#active-version"), "3");
    assert_eq!(version_state(&a, 1), "decrypt_only");
    // Some use of each version, for the chart.
    let shop = http.create_app("shop");
    http.grant("payments", "shop", &["encrypt"]);
    for _ in 0..3 {
        http.seal(&shop, "payments", b"4111", None);
    }
    eventually(Duration::from_secs(30), "usage recorded", || {
        let (_, key) = http.get("/v1/admin/keys/payments", Some(ROOT));
        key["usage"].as_array().is_some_and(|u| !u.is_empty())
    });
    a.goto(&format!("{base}/ui/keys/payments"));
    assert!(a.exists("svg#usage-chart rect"));
    // The use over time: a line per version, drawn under the page's CSP.
    assert!(a.exists("svg#usage-series polyline.series"));
    screenshot(&a, "key");

    // Ask for version 1's destruction: it waits for approval.
    let shown = submit_with_reason(&a, "#v1-schedule-destruction", "retired after rotation");
    assert!(shown.starts_with("Filed as approval request #"), "{shown}");
    let id: i64 = shown["Filed as approval request #".len()..]
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(version_state(&a, 1), "decrypt_only");
    a.goto(&format!("{base}/ui/keys"));
    assert_eq!(a.text("tr[data-key='payments'] td.state"), "active");
    screenshot(&a, "keys");
    // The requester is offered no vote on their own request.
    a.goto(&format!("{base}/ui/approvals"));
    assert!(a.exists(&format!("#approval-{id}")));
    assert!(!a.exists(&format!("#approve-{id}")));

    // Another person, in another browser: the security administrator sees the full request.
    let b = Browser::start();
    b.resize(1200, 900);
    sign_in(&b, &base, &clock, "sam", &sec);
    b.goto(&format!("{base}/ui/approvals"));
    let card = b.text(&format!("#approval-{id}"));
    for expected in [
        "schedule_destruction_version",
        "key:payments",
        "user:kay",
        "retired after rotation",
    ] {
        assert!(card.contains(expected), "{expected} not in {card}");
    }
    screenshot(&b, "approvals");
    b.click(&format!("#approve-{id} button"));
    wait(&b, "#notice");
    assert!(
        b.text("#notice").contains("now pending (1 of 2)"),
        "{}",
        b.text("#notice")
    );
    sign_out(&b);
    // A second approver completes the quorum: the destruction is scheduled.
    sign_in(&b, &base, &clock, "kit", &ka2);
    b.goto(&format!("{base}/ui/approvals"));
    b.click(&format!("#approve-{id} button"));
    wait(&b, "#notice");
    let voted = b.text(&format!("#approval-{id}"));
    assert!(
        voted.contains("sam approve") && voted.contains("kit approve"),
        "{voted}"
    );
    a.goto(&format!("{base}/ui/keys/payments"));
    assert_eq!(version_state(&a, 1), "scheduled_for_destruction");
    sign_out(&a);

    // The auditor sees each step and verifies the chain.
    sign_in(&a, &base, &clock, "ada", &aud);
    a.goto(&format!("{base}/ui/audit?key=payments"));
    let trail = a.text("#audit");
    for step in ["create_key", "rotate_key", "schedule_destruction_version"] {
        assert!(
            trail.contains(step),
            "{step} not in the audit page: {trail}"
        );
    }
    a.goto(&format!("{base}/ui/audit?actor=user:kit"));
    assert!(a.text("#audit").contains("approve"));
    a.click("#verify");
    wait(&a, "#verify-result");
    assert_eq!(
        a.execute("return document.getElementById('verify-result').dataset.ok;"),
        json!("true")
    );
    assert!(a.text("#notice").starts_with("The chain verifies"));
    screenshot(&a, "audit");
    sign_out(&a);

    // The operator reads keys but is offered no action; a typed URL shows the API's 403.
    sign_in(&a, &base, &clock, "otto", &op);
    a.goto(&format!("{base}/ui/keys/payments"));
    assert!(!a.exists("#rotate") && !a.exists("form[id^='v1-']"));
    assert!(!a.exists("nav a[href='/ui/audit']"));
    a.goto(&format!("{base}/ui/audit"));
    assert_eq!(
        a.execute("return document.getElementById('refusal').dataset.code;"),
        json!("forbidden")
    );
    assert!(a.page_text().contains("403 forbidden"));
    assert_eq!(
        super::refusals(&server, "user:otto", "read_audit", "forbidden").len(),
        1
    );
}
