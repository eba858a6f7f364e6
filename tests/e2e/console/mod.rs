//! The web console (`/ui`): over plain HTTP (headers, cookie flags, CSRF, the API's refusals
//! shown and audited), and in headless Chromium through WebDriver (people at work, two browsers).

mod browser;
mod edit;
mod http;

use kms_engine::audit::{AuditRecord, Outcome};

/// A console client: forms and pages as a browser would send them, redirects not followed.
pub struct Console {
    agent: ureq::Agent,
    pub base: String,
    /// The session cookie's value.
    pub session: Option<String>,
}

/// An answer: status, headers, body.
pub struct Answer {
    pub status: u16,
    pub headers: ureq::http::HeaderMap,
    pub body: String,
}

impl Answer {
    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    }

    /// The value of the first hidden `csrf` field.
    pub fn csrf(&self) -> String {
        let at = self
            .body
            .find(r#"name="csrf" value=""#)
            .unwrap_or_else(|| panic!("no CSRF field in {}", self.body));
        let rest = &self.body[at + r#"name="csrf" value=""#.len()..];
        rest[..rest.find('"').unwrap()].to_owned()
    }
}

/// `application/x-www-form-urlencoded`.
pub fn form(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| {
            let enc: String = v
                .bytes()
                .map(|b| {
                    if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                        char::from(b).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect();
            format!("{k}={enc}")
        })
        .collect::<Vec<_>>()
        .join("&")
}

impl Console {
    pub fn new(base: &str) -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .build()
            .new_agent();
        Self {
            agent,
            base: base.to_owned(),
            session: None,
        }
    }

    /// A client over `agent` (HTTPS: tests/e2e/tls.rs).
    pub fn with_agent(agent: ureq::Agent, base: &str) -> Self {
        Self {
            agent,
            base: base.to_owned(),
            session: None,
        }
    }

    /// A client whose cookie holds `token` (an API session token: what the login form sets).
    pub fn with_session(base: &str, token: &str) -> Self {
        let mut c = Self::new(base);
        c.session = Some(token.to_owned());
        c
    }

    fn answer(r: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Answer {
        let mut r = r.expect("transport works");
        Answer {
            status: r.status().as_u16(),
            headers: r.headers().clone(),
            body: r.body_mut().read_to_string().unwrap(),
        }
    }

    pub fn get(&self, path: &str) -> Answer {
        let mut req = self.agent.get(format!("{}{path}", self.base));
        if let Some(s) = &self.session {
            req = req.header("Cookie", &format!("kms_console={s}"));
        }
        Self::answer(req.call())
    }

    /// A form posted with `origin` as its `Origin` header (`None`: none sent).
    pub fn post(&self, path: &str, origin: Option<&str>, fields: &[(&str, &str)]) -> Answer {
        let mut req = self
            .agent
            .post(format!("{}{path}", self.base))
            .header("Content-Type", "application/x-www-form-urlencoded");
        if let Some(s) = &self.session {
            req = req.header("Cookie", &format!("kms_console={s}"));
        }
        if let Some(o) = origin {
            req = req.header("Origin", o);
        }
        Self::answer(req.send(form(fields)))
    }

    /// A form posted from the console's own origin.
    pub fn submit(&self, path: &str, fields: &[(&str, &str)]) -> Answer {
        let origin = self.base.clone();
        self.post(path, Some(&origin), fields)
    }
}

/// Audit records of `actor` refused with `code` for `action` (the sink writes asynchronously).
pub fn refusals(
    server: &kms::testing::RunningServer,
    actor: &str,
    action: &str,
    code: &str,
) -> Vec<AuditRecord> {
    let mut found = Vec::new();
    for _ in 0..100 {
        found = crate::access::audit(server, actor)
            .into_iter()
            .filter(|r| {
                r.event.outcome == Outcome::Denied
                    && r.event.action == action
                    && r.event.code.as_deref() == Some(code)
            })
            .collect();
        if !found.is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    found
}
