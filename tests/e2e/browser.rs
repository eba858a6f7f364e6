//! The password flow in a real browser: headless Chromium loads `/demo/login` from the `kms`
//! binary (dev mode, `--demo-key`), whose script encrypts the typed password with WebCrypto.
//! Sign-up, login with the right and a wrong password, a replayed capture; then the plaintext
//! password must be nowhere in the data directory (the KMS's and the demo application's SQLite
//! files, WAL included) nor in the server's output at debug level.

use serde_json::{Value, json};

use crate::process::Server;
use crate::support::Http;
use crate::webdriver::Browser;

const ROOT: &str = "browser-root";

/// Fills the form, presses `button` and checks the page's verdict: its state and its text.
#[track_caller]
fn submit(browser: &Browser, username: &str, password: &str, button: &str, expect: (&str, &str)) {
    browser.type_into("#username", username);
    browser.type_into("#password", password);
    browser.click(button);
    let state = browser.wait_for(
        "const r = document.getElementById('result'); \
         return ['ok', 'refused', 'error'].includes(r.dataset.state) ? r.dataset.state : null;",
    );
    let text = browser.execute("return document.getElementById('result').textContent;");
    let (state, text) = (
        state.as_str().unwrap().to_owned(),
        text.as_str().unwrap().to_owned(),
    );
    // Ready for the next submission.
    browser.execute("document.getElementById('result').dataset.state = 'idle';");
    assert_eq!((state.as_str(), text.as_str()), expect);
}

/// Every file under `dir`, recursively.
fn files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            out.push(path);
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn login_page_in_headless_chromium_never_lets_the_password_out() {
    let browser = Browser::start();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start_dev_with(
        &data,
        ROOT,
        &["--demo-key", "demo-login"],
        &[("KMS_LOG", "debug".to_owned())],
    );
    let http = Http::at(&server.addr);
    let (s, b) = http.post(
        "/v1/admin/keys",
        Some(ROOT),
        &json!({ "name": "demo-login", "purpose": "password" }),
    );
    assert_eq!(s, 201, "{b}");

    // A password unlike anything else on the machine, so that finding it means a leak.
    let password = format!("Tr0ub4dor&3-{}", uuid::Uuid::new_v4().simple());
    browser.goto(&format!("{}/demo/login", server.addr));
    let title = browser.execute("return document.title;");
    assert_eq!(title, "KMS password demo");

    submit(
        &browser,
        "alice",
        &password,
        "#signup",
        ("ok", "Signed up as alice"),
    );

    submit(
        &browser,
        "alice",
        &password,
        "#login",
        ("ok", "Logged in as alice"),
    );
    // What an attacker on the wire would have captured: the accepted login's request body.
    let captured: Value = browser.execute("return window.lastSubmission;");
    assert_eq!(captured["action"], "login");
    let blob = captured["body"]["encrypted_password"].as_str().unwrap();
    assert!(!blob.contains(&password));

    submit(
        &browser,
        "alice",
        &format!("{password}x"),
        "#login",
        ("refused", "Refused: login_failed"),
    );
    submit(
        &browser,
        "mallory",
        &password,
        "#login",
        ("refused", "Refused: login_failed"),
    );

    // Replaying the captured body is refused: its challenge is spent.
    let replay = http.post("/demo/api/login", None, &captured["body"]);
    assert_eq!(replay.0, 409, "{}", replay.1);
    assert_eq!(replay.1["error"]["code"], "challenge_reused");
    // The demo's database holds a protected value for alice, never the password.
    submit(
        &browser,
        "alice",
        &password,
        "#login",
        ("ok", "Logged in as alice"),
    );

    let needles = [
        password.as_bytes().to_vec(),
        crate::support::b64(password.as_bytes()).into_bytes(),
        hex::encode(password.as_bytes()).into_bytes(),
    ];
    // Every file of the data directory, while running and after the server stopped.
    let searched = |what: &str| {
        let mut all = Vec::new();
        for file in files(&data) {
            let bytes = std::fs::read(&file).unwrap();
            for needle in &needles {
                assert!(
                    !contains(&bytes, needle),
                    "{what}: the password is in {}",
                    file.display()
                );
            }
            all.extend_from_slice(&bytes);
        }
        // The search covered the demo application's user row (SQLite main file or WAL).
        assert!(
            contains(&all, b"alice"),
            "{what}: alice's row was not searched"
        );
    };
    searched("while running");
    assert!(files(&data).iter().any(|f| f.ends_with("demo-app.db")));
    let output = server.output();
    assert!(
        !output.is_empty(),
        "the server's debug output was not captured"
    );
    for needle in &needles {
        assert!(
            !contains(&output, needle),
            "the password is in the server's output"
        );
    }
    server.kill();
    searched("after the server stopped");
}
