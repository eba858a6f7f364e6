//! Helpers: start a server, speak HTTP to it.

use std::net::TcpListener;
use std::path::Path;
use std::time::{Duration, Instant};

use kms::options::ServeOptions;
use kms::testing::RunningServer;
use serde_json::{Value, json};

pub const ROOT: &str = "e2e-root-token";

/// Options for a dev server on an ephemeral port with the given data directory.
pub fn dev_options(dir: &Path) -> ServeOptions {
    let mut o = ServeOptions::new(dir.to_owned());
    o.dev = true;
    o.listen = "127.0.0.1:0".parse().unwrap();
    o.dev_root_token = Some(ROOT.into());
    o.http_workers = 2;
    o.pool.workers = 2;
    o
}

pub fn dev_server(dir: &Path) -> RunningServer {
    RunningServer::start(dev_options(dir)).expect("server starts")
}

/// A dev server whose options `adjust` changes first (a manual clock, webhooks, ...).
pub fn dev_server_with(dir: &Path, adjust: impl FnOnce(&mut ServeOptions)) -> RunningServer {
    let mut o = dev_options(dir);
    adjust(&mut o);
    RunningServer::start(o).expect("server starts")
}

/// A client for one server.
pub struct Http {
    agent: ureq::Agent,
    base: String,
}

impl Http {
    pub fn new(server: &RunningServer) -> Self {
        Self::at(&server.url(""))
    }

    pub fn at(base: &str) -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .new_agent();
        Self::with_agent(agent, base)
    }

    /// A client with its own agent (tests/e2e/tls.rs: trusted CAs, a client certificate).
    pub fn with_agent(agent: ureq::Agent, base: &str) -> Self {
        Self {
            agent,
            base: base.to_owned(),
        }
    }

    /// A POST whose transport may fail (a refused TLS handshake): `Err` then.
    pub fn try_post(
        &self,
        path: &str,
        token: Option<&str>,
        body: &Value,
    ) -> Result<(u16, Value), ureq::Error> {
        let mut req = self.agent.post(format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.header("Authorization", &format!("Bearer {t}"));
        }
        req.send_json(body).map(|r| Self::answer(Ok(r)))
    }

    /// The status and the JSON body (`null` when empty) of an answer.
    pub fn answer(r: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> (u16, Value) {
        let mut r = r.expect("transport works");
        let status = r.status().as_u16();
        let text = r.body_mut().read_to_string().unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
        };
        (status, body)
    }

    /// A POST with extra headers (`X-Forwarded-For`, `X-Kms-Forwarded-For`, `X-Vault-Token`).
    pub fn post_with(&self, path: &str, headers: &[(&str, &str)], body: &Value) -> (u16, Value) {
        let mut req = self.agent.post(format!("{}{path}", self.base));
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        Self::answer(req.send_json(body))
    }

    pub fn post(&self, path: &str, token: Option<&str>, body: &Value) -> (u16, Value) {
        let mut req = self.agent.post(format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.header("Authorization", &format!("Bearer {t}"));
        }
        Self::answer(req.send_json(body))
    }

    pub fn post_raw(
        &self,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        body: Vec<u8>,
    ) -> (u16, Value, Option<String>) {
        let mut req = self
            .agent
            .post(format!("{}{path}", self.base))
            .header("Content-Type", content_type);
        if let Some(t) = token {
            req = req.header("Authorization", &format!("Bearer {t}"));
        }
        let r = req.send(&body[..]).expect("transport works");
        let retry = r
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_owned());
        let (status, body) = Self::answer(Ok(r));
        (status, body, retry)
    }

    /// Votes `how` (`approve` or `reject`) on approval request `id` as the holder of `token`,
    /// naming the parameters hash the request shows them (as the CLI does).
    pub fn vote(&self, token: &str, how: &str, id: i64) -> (u16, Value) {
        let (_, shown) = self.get(&format!("/v1/admin/approvals/{id}"), Some(token));
        let body = match shown["params_hash"].as_str() {
            Some(hash) => json!({ "params_hash": hash }),
            None => json!({}),
        };
        self.post(
            &format!("/v1/admin/approvals/{id}/{how}"),
            Some(token),
            &body,
        )
    }

    /// A bodiless POST whose success is bytes (a backup archive); an error is JSON.
    pub fn post_for_bytes(&self, path: &str, token: Option<&str>) -> (u16, Result<Vec<u8>, Value>) {
        self.post_json_for_bytes(path, token, None)
    }

    /// [`Http::post_for_bytes`] with a JSON body.
    pub fn post_json_for_bytes(
        &self,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> (u16, Result<Vec<u8>, Value>) {
        let mut req = self.agent.post(format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.header("Authorization", &format!("Bearer {t}"));
        }
        let mut r = match body {
            Some(b) => req.send_json(b),
            None => req.send_empty(),
        }
        .expect("transport works");
        let status = r.status().as_u16();
        let bytes = r
            .body_mut()
            .with_config()
            .limit(u64::MAX)
            .read_to_vec()
            .unwrap();
        if (200..300).contains(&status) {
            (status, Ok(bytes))
        } else {
            (status, Err(serde_json::from_slice(&bytes).unwrap()))
        }
    }

    /// A GET with extra headers.
    pub fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> (u16, Value) {
        let mut req = self.agent.get(format!("{}{path}", self.base));
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        Self::answer(req.call())
    }

    pub fn get(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        let mut req = self.agent.get(format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.header("Authorization", &format!("Bearer {t}"));
        }
        Self::answer(req.call())
    }

    // ---- the walkthrough's steps ----

    pub fn create_key(&self, name: &str) -> Value {
        let (s, b) = self.post(
            "/v1/admin/keys",
            Some(ROOT),
            &serde_json::json!({ "name": name }),
        );
        assert_eq!(s, 201, "{b}");
        b
    }

    /// Creates an app and returns its token.
    pub fn create_app(&self, name: &str) -> String {
        let (s, b) = self.post(
            "/v1/admin/apps",
            Some(ROOT),
            &serde_json::json!({ "name": name }),
        );
        assert_eq!(s, 201, "{b}");
        b["token"].as_str().unwrap().to_owned()
    }

    pub fn grant(&self, key: &str, app: &str, ops: &[&str]) {
        let (s, b) = self.post(
            &format!("/v1/admin/keys/{key}/grants"),
            Some(ROOT),
            &serde_json::json!({ "app": app, "operations": ops }),
        );
        assert_eq!(s, 200, "{b}");
    }

    pub fn encrypt(
        &self,
        token: &str,
        key: &str,
        plaintext: &[u8],
        context: Option<&[u8]>,
    ) -> (u16, Value) {
        let mut body = serde_json::json!({ "plaintext": b64(plaintext) });
        if let Some(c) = context {
            body["context"] = b64(c).into();
        }
        self.post(&format!("/v1/keys/{key}/encrypt"), Some(token), &body)
    }

    /// Encrypts and returns the ciphertext, asserting success.
    pub fn seal(&self, token: &str, key: &str, plaintext: &[u8], context: Option<&[u8]>) -> String {
        let (s, b) = self.encrypt(token, key, plaintext, context);
        assert_eq!(s, 200, "{b}");
        b["ciphertext"].as_str().unwrap().to_owned()
    }

    pub fn decrypt(
        &self,
        token: &str,
        key: &str,
        ciphertext: &str,
        context: Option<&[u8]>,
    ) -> (u16, Value) {
        let mut body = serde_json::json!({ "ciphertext": ciphertext });
        if let Some(c) = context {
            body["context"] = b64(c).into();
        }
        self.post(&format!("/v1/keys/{key}/decrypt"), Some(token), &body)
    }

    /// Decrypts with an optional token (a client certificate may stand for the app), asserting
    /// success.
    pub fn open_with(&self, token: Option<&str>, key: &str, ciphertext: &str) -> Vec<u8> {
        let body = serde_json::json!({ "ciphertext": ciphertext });
        let (s, b) = self.post(&format!("/v1/keys/{key}/decrypt"), token, &body);
        assert_eq!(s, 200, "{b}");
        unb64(b["plaintext"].as_str().unwrap())
    }

    /// Decrypts and returns the plaintext, asserting success.
    pub fn open(
        &self,
        token: &str,
        key: &str,
        ciphertext: &str,
        context: Option<&[u8]>,
    ) -> Vec<u8> {
        let (s, b) = self.decrypt(token, key, ciphertext, context);
        assert_eq!(s, 200, "{b}");
        unb64(b["plaintext"].as_str().unwrap())
    }
}

pub fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

pub fn unb64(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap()
}

/// Asserts an error response: status, code, and the `{"error":{"code","message"}}` shape.
#[track_caller]
pub fn assert_error(got: &(u16, Value), status: u16, code: &str) {
    assert_eq!(got.0, status, "{}", got.1);
    assert_eq!(got.1["error"]["code"], code, "{}", got.1);
    assert!(
        got.1["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{}",
        got.1
    );
}

/// A port free on `ip` right now (for a listener whose address must be known before it starts).
pub fn free_port(ip: &str) -> u16 {
    TcpListener::bind((ip, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Retries `f` every 20 ms until it returns `Some` (at most `limit`, a guard against hanging, not
/// a measurement).
pub fn eventually_some<T>(limit: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(start.elapsed() < limit, "gave up waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits until `check` holds (as [`eventually_some`]); returns how long it took.
pub fn eventually(limit: Duration, what: &str, mut check: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    eventually_some(limit, what, || check().then_some(()));
    start.elapsed()
}
