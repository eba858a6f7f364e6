//! A small W3C WebDriver client over HTTP (ureq), driving headless Chromium through a
//! chromedriver this process starts on a free port. Chromium missing is a failure that says what
//! to install, never a skipped test.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// The W3C element reference key.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

pub struct Browser {
    driver: Child,
    agent: ureq::Agent,
    /// `http://127.0.0.1:<port>/session/<id>`.
    session: String,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium session.
    pub fn start() -> Self {
        for (path, package) in [(CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")] {
            assert!(
                Path::new(path).exists(),
                "{path} is missing: the browser test needs the Debian packages chromium and \
                 chromium-driver (apt-get install chromium chromium-driver; .ci/run and \
                 scripts/deps.sh install them); missing: {package}"
            );
        }
        let port = crate::support::free_port("127.0.0.1");
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .new_agent();
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ready = agent
                .get(format!("{base}/status"))
                .call()
                .ok()
                .and_then(|mut r| r.body_mut().read_json::<Value>().ok())
                .is_some_and(|v| v["value"]["ready"] == true);
            if ready {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not become ready"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let profile = tempfile::tempdir().unwrap();
        let caps = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--no-first-run", format!("--user-data-dir={}", profile.path().display()),
                ],
            },
        }}});
        let mut browser = Browser {
            driver,
            agent,
            session: String::new(),
            _profile: profile,
        };
        let created = browser.call("POST", &format!("{base}/session"), Some(&caps));
        let id = created["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {created}"));
        browser.session = format!("{base}/session/{id}");
        browser
    }

    /// One WebDriver command; returns its `value`, panicking on a WebDriver error.
    fn call(&self, method: &str, url: &str, body: Option<&Value>) -> Value {
        let response = match (method, body) {
            ("GET", _) => self.agent.get(url).call(),
            ("DELETE", _) => self.agent.delete(url).call(),
            (_, body) => self.agent.post(url).send_json(body.unwrap_or(&json!({}))),
        };
        let mut response = response.unwrap_or_else(|e| panic!("WebDriver {method} {url}: {e}"));
        let status = response.status().as_u16();
        let body: Value = response.body_mut().read_json().unwrap();
        assert!(status < 300, "WebDriver {method} {url}: {status} {body}");
        body["value"].clone()
    }

    fn command(&self, method: &str, path: &str, body: Option<&Value>) -> Value {
        self.call(method, &format!("{}{path}", self.session), body)
    }

    pub fn goto(&self, url: &str) {
        self.command("POST", "/url", Some(&json!({ "url": url })));
    }

    fn element(&self, css: &str) -> String {
        let found = self.command(
            "POST",
            "/element",
            Some(&json!({ "using": "css selector", "value": css })),
        );
        found[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css}: {found}"))
            .to_owned()
    }

    /// Replaces an input's content with `text`, typed as keystrokes.
    pub fn type_into(&self, css: &str, text: &str) {
        let el = self.element(css);
        self.command("POST", &format!("/element/{el}/clear"), None);
        self.command(
            "POST",
            &format!("/element/{el}/value"),
            Some(&json!({ "text": text })),
        );
    }

    pub fn click(&self, css: &str) {
        let el = self.element(css);
        self.command("POST", &format!("/element/{el}/click"), None);
    }

    /// Runs `script` (a function body) in the page and returns what it returns.
    pub fn execute(&self, script: &str) -> Value {
        self.command(
            "POST",
            "/execute/sync",
            Some(&json!({ "script": script, "args": [] })),
        )
    }

    /// The text of the first element matching `css`.
    pub fn text(&self, css: &str) -> String {
        let el = self.element(css);
        let v = self.command("GET", &format!("/element/{el}/text"), None);
        v.as_str().unwrap_or_default().to_owned()
    }

    /// Whether some element matches `css`.
    pub fn exists(&self, css: &str) -> bool {
        let script = format!(
            "return document.querySelector({}) !== null;",
            serde_json::to_string(css).unwrap()
        );
        self.execute(&script) == json!(true)
    }

    /// The page's address.
    pub fn url(&self) -> String {
        self.command("GET", "/url", None)
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The whole page's text.
    pub fn page_text(&self) -> String {
        self.text("body")
    }

    /// Sets the window's size in CSS pixels.
    pub fn resize(&self, width: u32, height: u32) {
        self.command(
            "POST",
            "/window/rect",
            Some(&json!({ "width": width, "height": height })),
        );
    }

    /// A PNG of the visible page.
    pub fn screenshot(&self) -> Vec<u8> {
        use base64::Engine;
        let v = self.command("GET", "/screenshot", None);
        base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap_or_default())
            .unwrap()
    }

    /// Polls `script` until it returns something other than null or false.
    pub fn wait_for(&self, script: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let v = self.execute(script);
            if !v.is_null() && v != json!(false) {
                return v;
            }
            assert!(Instant::now() < deadline, "timed out waiting for: {script}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = self.agent.delete(&self.session).call();
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
