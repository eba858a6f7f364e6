//! Administration through the `kms` binary: apps listed, their tokens rotated and revoked (and
//! the old tokens refused), a key's usage policy set and shown, a session logged out; and the
//! help of every command, walked from `kms --help`.

use serde_json::{Value, json};

use crate::cli_data::{cli, fails, ok, ok_json};
use crate::people::{enrolled_user, login, people_server};
use crate::support::*;

#[test]
fn apps_are_listed_shown_rotated_and_revoked_and_old_tokens_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = dev_server(dir.path());
    let addr = server.url("");
    let http = Http::new(&server);
    http.create_key("orders");
    let root = Some(ROOT);

    let created: Value = ok_json(
        &addr,
        root,
        &["app", "create", "checkout", "--output", "json"],
    );
    let first = created["token"].as_str().unwrap().to_owned();
    ok(
        &addr,
        root,
        &["grant", "orders", "checkout", "--operation", "encrypt"],
        b"",
    );
    let encrypt = |token: &str| cli(&addr, Some(token), &["encrypt", "--key", "orders"], b"x");
    assert!(encrypt(&first).ok);

    let list = ok(&addr, root, &["app", "list"], b"").text();
    let row = list.lines().find(|l| l.starts_with("checkout")).unwrap();
    assert!(row.contains("1 active"), "{list}");
    let listed: Value = ok_json(&addr, root, &["app", "list", "--output", "json"]);
    assert_eq!(listed["apps"][0]["name"], "checkout");

    // Rotation without overlap: the new token (printed alone on stdout) works, the old one stops.
    let rotated = ok(
        &addr,
        root,
        &["app", "rotate-token", "checkout", "--overlap-seconds", "0"],
        b"",
    );
    let second = rotated.text().trim().to_owned();
    assert!(!second.is_empty() && second != first, "{}", rotated.text());
    assert!(rotated.stderr.contains("shown once"), "{}", rotated.stderr);
    let refused = encrypt(&first);
    assert!(
        !refused.ok && refused.stderr.contains("401 invalid_token"),
        "{}",
        refused.stderr
    );
    assert!(encrypt(&second).ok);

    let shown = ok(&addr, root, &["app", "show", "checkout"], b"").text();
    assert!(shown.contains("App:      checkout"), "{shown}");
    assert_eq!(shown.matches("tok_").count(), 2, "{shown}");
    assert!(shown.contains("active"), "{shown}");

    // Revocation ends every token at once.
    let revoked: Value = ok_json(
        &addr,
        root,
        &["app", "revoke", "checkout", "--output", "json"],
    );
    assert_eq!(revoked["revoked_tokens"], 1, "{revoked}");
    let refused = encrypt(&second);
    assert!(
        !refused.ok && refused.stderr.contains("401 invalid_token"),
        "{}",
        refused.stderr
    );
    let list = ok(&addr, root, &["app", "list"], b"").text();
    assert!(
        list.contains("revoked") && !list.contains("active"),
        "{list}"
    );
    fails(
        &addr,
        root,
        &["app", "show", "nobody"],
        b"",
        "404 app_not_found",
    );
}

#[test]
fn a_usage_policy_is_set_shown_enforced_and_cleared_through_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let server = dev_server(dir.path());
    let addr = server.url("");
    let http = Http::new(&server);
    http.create_key("cards");
    let app = http.create_app("checkout");
    http.grant("cards", "checkout", &["encrypt"]);
    let root = Some(ROOT);

    assert_eq!(
        ok(&addr, root, &["key", "policy", "show", "cards"], b"").text(),
        "none\n"
    );
    let set = ok(
        &addr,
        root,
        &[
            "key",
            "policy",
            "set",
            "cards",
            "--allow-cidr",
            "10.0.0.0/8",
            "--window",
            "mon,tue,wed,thu,fri,sat,sun 00:00-24:00",
            "--rate-per-second",
            "100",
            "--rate-burst",
            "200",
        ],
        b"",
    )
    .text();
    assert!(set.contains("Sources:      10.0.0.0/8"), "{set}");
    let shown: Value = ok_json(
        &addr,
        root,
        &["key", "policy", "show", "cards", "--output", "json"],
    );
    assert_eq!(shown["allowed_cidrs"], json!(["10.0.0.0/8"]), "{shown}");
    assert_eq!(shown["rate_limit"]["burst"], 200, "{shown}");
    assert_eq!(shown["time_windows"][0]["end"], "24:00", "{shown}");
    // The test calls from 127.0.0.1: outside the range.
    fails(
        &addr,
        Some(&app),
        &["encrypt", "--key", "cards"],
        b"x",
        "403 source_not_allowed",
    );
    // A malformed window is refused before anything is sent; the server names bad parts.
    fails(
        &addr,
        root,
        &["key", "policy", "set", "cards", "--window", "mon"],
        b"",
        "HH:MM-HH:MM",
    );
    fails(
        &addr,
        root,
        &[
            "key",
            "policy",
            "set",
            "cards",
            "--allow-cidr",
            "10.1.2.3/8",
        ],
        b"",
        "invalid_policy",
    );

    ok(
        &addr,
        root,
        &["key", "policy", "set", "cards", "--clear"],
        b"",
    );
    assert_eq!(
        ok(&addr, root, &["key", "policy", "show", "cards"], b"").text(),
        "none\n"
    );
    ok(&addr, Some(&app), &["encrypt", "--key", "cards"], b"x");
}

#[test]
fn logout_ends_the_session_on_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let (server, clock) = people_server(dir.path());
    let addr = server.url("");
    let http = Http::new(&server);
    let secret = enrolled_user(&http, &clock, "kate", &["key_admin"]);
    let session = login(&http, &clock, "kate", &secret);
    ok(&addr, Some(&session), &["key", "list"], b"");

    let out = ok(&addr, Some(&session), &["logout"], b"");
    assert_eq!(out.text(), "unset KMS_TOKEN\n");
    let refused = cli(&addr, Some(&session), &["key", "list"], b"");
    assert!(
        !refused.ok && refused.stderr.contains("401"),
        "{}",
        refused.stderr
    );
    // An app's token is not a session: said so, non-zero.
    let app = http.create_app("checkout");
    fails(
        &addr,
        Some(&app),
        &["logout"],
        b"",
        "not a person's session",
    );
}

/// The subcommands a help text lists under `Commands:` (but `help`). A command's line is indented
/// by two spaces; a description wrapped to the terminal's width continues on lines indented further.
fn subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter(|l| !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_command_s_help_describes_it() {
    let top = ok("http://127.0.0.1:1", None, &["--help"], b"").text();
    for var in ["KMS_ADDR", "KMS_TOKEN", "KMS_CACERT"] {
        assert!(top.contains(var), "{var} not in kms --help:\n{top}");
    }
    let mut queue: Vec<Vec<String>> = subcommands(&top).into_iter().map(|c| vec![c]).collect();
    let mut seen = 0;
    for data in [
        "encrypt", "decrypt", "rewrap", "datakey", "sign", "verify", "hmac", "random", "logout",
    ] {
        assert!(queue.iter().any(|c| c[0] == data), "{data} missing:\n{top}");
    }
    while let Some(path) = queue.pop() {
        seen += 1;
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        // The short help: one line per option, its help on the same line.
        args.push("-h");
        let help = ok("http://127.0.0.1:1", None, &args, b"").text();
        let description = help.lines().next().unwrap_or_default();
        assert!(
            !description.trim().is_empty() && !description.starts_with("Usage:"),
            "kms {} has no description:\n{help}",
            path.join(" ")
        );
        // Every option is explained: on its line, or (a long name) on the next one.
        let lines: Vec<&str> = help.lines().collect();
        for (n, line) in lines.iter().enumerate() {
            let trimmed = line.trim_start();
            if !(trimmed.starts_with("--") || trimmed.starts_with("-h")) {
                continue;
            }
            let next = lines.get(n + 1).map_or("", |l| l.trim());
            assert!(
                trimmed.contains("  ") || (!next.is_empty() && !next.starts_with('-')),
                "kms {}: option without help: {line}",
                path.join(" ")
            );
        }
        for sub in subcommands(&help) {
            let mut next = path.clone();
            next.push(sub);
            queue.push(next);
        }
    }
    assert!(seen > 60, "walked only {seen} commands");
}

#[test]
fn an_address_that_cannot_work_says_what_to_change() {
    let dir = tempfile::tempdir().unwrap();
    let server = dev_server(dir.path());
    let app = Http::new(&server).create_app("checkout");
    let bare = server.addr.to_string();
    let out = cli(&bare, Some(&app), &["random"], b"");
    assert!(
        !out.ok
            && out.stderr.contains("has no scheme")
            && out.stderr.contains(&format!("http://{bare}")),
        "{}",
        out.stderr
    );
    fails(
        &format!("https://{bare}"),
        Some(&app),
        &["random"],
        b"",
        &format!("the server speaks plain HTTP, not TLS: use http://{bare}"),
    );
}

/// `kms audit list | head -1`: the reader goes away before the listing is written. The command
/// stops quietly, as `ls | head` does (status 141, what a shell reports for SIGPIPE), instead of
/// panicking with a backtrace.
#[test]
fn a_reader_that_goes_away_stops_the_listing_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let server = dev_server(dir.path());
    let mut child = std::process::Command::new(crate::process::KMS)
        .args(["audit", "list", "--limit", "500"])
        .env("KMS_ADDR", format!("http://{}", server.addr))
        .env("KMS_TOKEN", ROOT)
        .env_remove("KMS_CACERT")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Close the read end before the answer arrives: every write then meets a broken pipe.
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(141), "{stderr}");
}
