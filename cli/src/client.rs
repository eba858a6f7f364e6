//! A small blocking HTTP client for the CLI commands that talk to a running server.

use std::io::{BufRead, IsTerminal};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;
use ureq::tls::{PemItem, RootCerts, TlsConfig};

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{status} {code}: {message}")]
    Api {
        status: u16,
        code: String,
        message: String,
    },
    #[error("cannot reach {addr}: {reason}")]
    Transport { addr: String, reason: String },
    #[error("{0}")]
    Input(String),
}

/// How a request authenticates.
pub enum Auth<'a> {
    None,
    /// An administrator's or app's bearer token.
    Bearer(&'a str),
    /// A custodian's name and password.
    Custodian(&'a str, &'a str),
}

/// The environment variable naming a CA file to trust for an `https://` server.
pub const CA_CERT_ENV: &str = "KMS_CACERT";

pub struct Client {
    agent: ureq::Agent,
    addr: String,
}

impl Client {
    /// A client for `addr`. An `https://` server is verified against the system's roots, or
    /// against the CA certificates (PEM) in the file `KMS_CACERT` names (as `VAULT_CACERT`).
    pub fn new(addr: &str) -> Result<Self, CliError> {
        if !(addr.starts_with("http://") || addr.starts_with("https://")) {
            return Err(CliError::Input(format!(
                "the server address `{addr}` (--addr or KMS_ADDR) has no scheme: write \
                 http://{addr} or https://{addr}"
            )));
        }
        let mut config = ureq::Agent::config_builder().http_status_as_error(false);
        if let Some(path) = std::env::var_os(CA_CERT_ENV) {
            config = config.tls_config(Self::trusting(std::path::Path::new(&path))?);
        }
        Ok(Self {
            agent: config.build().new_agent(),
            addr: addr.trim_end_matches('/').to_owned(),
        })
    }

    fn trusting(path: &std::path::Path) -> Result<TlsConfig, CliError> {
        let bad = |m: String| CliError::Input(format!("{CA_CERT_ENV}={}: {m}", path.display()));
        let pem = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
        let roots = ureq::tls::parse_pem(&pem)
            .filter_map(|item| match item {
                Ok(PemItem::Certificate(c)) => Some(Ok(c)),
                Ok(_) => None,
                Err(e) => Some(Err(e)),
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| bad(e.to_string()))?;
        if roots.is_empty() {
            return Err(bad("no PEM CERTIFICATE in the file".into()));
        }
        Ok(TlsConfig::builder()
            .root_certs(RootCerts::Specific(std::sync::Arc::new(roots)))
            .build())
    }

    fn transport(&self, e: &ureq::Error) -> CliError {
        let reason = if self.addr.starts_with("https://") && plain_http_answered(e) {
            format!(
                "the server speaks plain HTTP, not TLS: use {} (or give the server [tls] in \
                 kms.toml)",
                self.addr.replacen("https://", "http://", 1)
            )
        } else {
            e.to_string()
        };
        CliError::Transport {
            addr: self.addr.clone(),
            reason,
        }
    }

    fn header(auth: &Auth<'_>) -> Option<String> {
        match auth {
            Auth::None => None,
            Auth::Bearer(t) => Some(format!("Bearer {t}")),
            Auth::Custodian(name, password) => Some(format!(
                "Basic {}",
                STANDARD.encode(format!("{name}:{password}"))
            )),
        }
    }

    fn answer(
        &self,
        response: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<Value, CliError> {
        let mut response = response.map_err(|e| self.transport(&e))?;
        let status = response.status().as_u16();
        if status == 204 {
            // No content (e.g. a completed enrolment): nothing to parse.
            return Ok(Value::Null);
        }
        let body: Value = response
            .body_mut()
            .read_json()
            .map_err(|e| self.transport(&e))?;
        if (200..300).contains(&status) {
            return Ok(body);
        }
        let field = |f: &str| body["error"][f].as_str().unwrap_or_default().to_owned();
        // `/readyz` answers 503 with `{"status":"sealed"}` rather than an error object.
        let code = match field("code") {
            c if c.is_empty() => body["status"].as_str().unwrap_or_default().to_owned(),
            c => c,
        };
        Err(CliError::Api {
            status,
            code,
            message: field("message"),
        })
    }

    pub fn get(&self, path: &str, auth: &Auth<'_>) -> Result<Value, CliError> {
        let mut req = self.agent.get(format!("{}{path}", self.addr));
        if let Some(h) = Self::header(auth) {
            req = req.header("Authorization", &h);
        }
        self.answer(req.call())
    }

    pub fn post(&self, path: &str, auth: &Auth<'_>, body: &Value) -> Result<Value, CliError> {
        let mut req = self.agent.post(format!("{}{path}", self.addr));
        if let Some(h) = Self::header(auth) {
            req = req.header("Authorization", &h);
        }
        self.answer(req.send_json(body))
    }

    /// A POST whose successful answer is bytes, not JSON (a backup archive), with its status (a
    /// `202` is JSON: the request it became); an error answer is the usual JSON error.
    pub fn post_for_bytes(
        &self,
        path: &str,
        auth: &Auth<'_>,
        body: &Value,
    ) -> Result<(u16, Vec<u8>), CliError> {
        let mut req = self.agent.post(format!("{}{path}", self.addr));
        if let Some(h) = Self::header(auth) {
            req = req.header("Authorization", &h);
        }
        let response = req.send_json(body);
        let ok = matches!(&response, Ok(r) if r.status().is_success());
        if !ok {
            return self
                .answer(response)
                .and_then(|_| Err(CliError::Input("the server answered without a body".into())));
        }
        let mut response = response.map_err(|e| self.transport(&e))?;
        let status = response.status().as_u16();
        let bytes = response
            .body_mut()
            .with_config()
            .limit(u64::MAX)
            .read_to_vec()
            .map_err(|e| self.transport(&e))?;
        Ok((status, bytes))
    }
}

/// Whether a TLS handshake failed because the server answered in plain HTTP: its first bytes
/// (`HTTP/1.1 400`) are not a TLS record, which rustls reports as an invalid content type.
fn plain_http_answered(e: &ureq::Error) -> bool {
    let not_tls = |r: &rustls::Error| {
        matches!(
            r,
            rustls::Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType)
        )
    };
    match e {
        ureq::Error::Rustls(r) => not_tls(r),
        ureq::Error::Io(io) => io
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
            .is_some_and(not_tls),
        _ => false,
    }
}

/// Reads one secret line: from the terminal without echo, or from standard input when it is a
/// pipe (scripts, tests). Secrets are never taken from the command line.
pub fn read_secret(prompt: &str, lines: &mut impl BufRead) -> Result<String, CliError> {
    if std::io::stdin().is_terminal() {
        return rpassword::prompt_password(prompt).map_err(|e| CliError::Input(e.to_string()));
    }
    let mut line = String::new();
    lines
        .read_line(&mut line)
        .map_err(|e| CliError::Input(e.to_string()))?;
    let line = line.trim_end_matches(['\n', '\r']).to_owned();
    if line.is_empty() {
        return Err(CliError::Input(format!(
            "{} expected on standard input",
            prompt.trim_end_matches([':', ' '])
        )));
    }
    Ok(line)
}
